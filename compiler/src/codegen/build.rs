//! Projections, filters and aggregates onto a builder without its walk of the whole input plan per
//! unqualified column (`LogicalPlanBuilder::normalize` looks for `USING` joins each time):
//! with the dozens of columns of each step over plans hundreds of nodes deep, that walk was
//! most of `mid compile`. A projection's and an aggregate's schema are derived without
//! naming every subexpression (see [`projection_schema`]), and a join's keys are placed
//! without DataFusion's failed lookups (see [`Build::joined`]).

use std::sync::Arc;

use arrow_schema::{DataType, Field, FieldRef};
use datafusion_common::datatype::FieldExt;
use datafusion_common::tree_node::{Transformed, TransformedResult, TreeNode};
use datafusion_common::{
    Column, DFSchema, DFSchemaRef, ExprSchema, JoinType, NullEquality, TableReference,
};
use datafusion_expr::expr::{
    AggregateFunction, AggregateFunctionParams, Alias, Cast, ScalarFunction,
};
use datafusion_expr::expr_rewriter::normalize_col_with_schemas_and_ambiguity_check;
use datafusion_expr::type_coercion::functions::fields_with_udf;
use datafusion_expr::utils::columnize_expr;
use datafusion_expr::{
    Aggregate, BinaryExpr, Expr, ExprSchemable, Filter, Join, JoinConstraint, LogicalPlan,
    LogicalPlanBuilder, Projection, ReturnFieldArgs, binary::BinaryTypeCoercer,
};

use super::Result;

/// What `LogicalPlanBuilder::project`, `filter` and `aggregate` do, for plans without `USING`
/// joins (code generation makes none) and builders without implicit groupings (the default):
/// each column resolved against the input's schemas once.
pub(super) trait Build: Sized {
    /// The builder's `project`.
    fn projected(self, exprs: impl IntoIterator<Item = Expr>) -> Result<LogicalPlanBuilder>;
    /// The builder's `filter`.
    fn filtered(self, pred: Expr) -> Result<LogicalPlanBuilder>;
    /// The builder's `aggregate`.
    fn aggregated(self, group: Vec<Expr>, aggr: Vec<Expr>) -> Result<LogicalPlanBuilder>;
    /// The builder's `join`, for keys qualified by their inputs' names.
    fn joined(
        self,
        right: LogicalPlan,
        join_type: JoinType,
        keys: (Vec<Column>, Vec<Column>),
        filter: Option<Expr>,
    ) -> Result<LogicalPlanBuilder>;
}

impl Build for LogicalPlanBuilder {
    fn projected(self, exprs: impl IntoIterator<Item = Expr>) -> Result<LogicalPlanBuilder> {
        let input = self.build()?;
        let exprs = exprs
            .into_iter()
            .map(|e| Ok(columnize_expr(resolved(e, &input)?, &input)?))
            .collect::<Result<Vec<_>>>()?;
        let schema = projection_schema(&exprs, &input)?;
        debug_assert_eq!(
            schema,
            datafusion_expr::logical_plan::projection_schema(&input, &exprs)?,
            "the projection's schema differs from DataFusion's"
        );
        let projection = Projection::try_new_with_schema(exprs, Arc::new(input), schema)?;
        Ok(LogicalPlanBuilder::from(LogicalPlan::Projection(
            projection,
        )))
    }

    fn filtered(self, pred: Expr) -> Result<LogicalPlanBuilder> {
        let input = self.build()?;
        let filter = Filter::try_new(resolved(pred, &input)?, Arc::new(input))?;
        Ok(LogicalPlanBuilder::from(LogicalPlan::Filter(filter)))
    }

    fn aggregated(self, group: Vec<Expr>, aggr: Vec<Expr>) -> Result<LogicalPlanBuilder> {
        let input = self.build()?;
        let resolve = |es: Vec<Expr>| -> Result<Vec<Expr>> {
            es.into_iter().map(|e| resolved(e, &input)).collect()
        };
        let (group, aggr) = (resolve(group)?, resolve(aggr)?);
        // Grouping sets (never generated) add a column: DataFusion's own schema for them.
        if group.iter().any(|e| matches!(e, Expr::GroupingSet(_))) {
            let aggregate = Aggregate::try_new(Arc::new(input), group, aggr)?;
            return Ok(LogicalPlanBuilder::from(LogicalPlan::Aggregate(aggregate)));
        }
        let schema = input.schema();
        let fields = named_fields(group.iter().chain(&aggr), schema.as_ref())?;
        let schema = DFSchema::new_with_metadata(fields, DFSchema::metadata(schema).clone())?;
        let aggregate =
            Aggregate::try_new_with_schema(Arc::new(input), group, aggr, Arc::new(schema))?;
        debug_assert_eq!(
            aggregate,
            Aggregate::try_new(
                Arc::clone(&aggregate.input),
                aggregate.group_expr.clone(),
                aggregate.aggr_expr.clone()
            )?,
            "the aggregate's schema differs from DataFusion's"
        );
        Ok(LogicalPlanBuilder::from(LogicalPlan::Aggregate(aggregate)))
    }

    /// DataFusion's `join` looks each qualified key up in both inputs to see which side it
    /// names, building a not-found error (with every column of the schema) for the two
    /// lookups that fail. Here the same choice is made by lookups that build no error;
    /// anything unexpected is left to DataFusion's `join`, for its errors.
    fn joined(
        self,
        right: LogicalPlan,
        join_type: JoinType,
        keys: (Vec<Column>, Vec<Column>),
        filter: Option<Expr>,
    ) -> Result<LogicalPlanBuilder> {
        let left = self.build()?;
        let has = |plan: &LogicalPlan, c: &Column| match &c.relation {
            Some(q) => plan.schema().has_column_with_qualified_name(q, &c.name),
            None => false,
        };
        let mut on = Vec::with_capacity(keys.0.len());
        for (l, r) in keys.0.iter().zip(&keys.1) {
            // In DataFusion's order: a pair written right to left is swapped first.
            let pair = if has(&right, l) && has(&left, r) {
                (r, l)
            } else if has(&left, l) && has(&right, r) {
                (l, r)
            } else {
                return fallback_join(left, right, join_type, keys, filter);
            };
            on.push((Expr::Column(pair.0.clone()), Expr::Column(pair.1.clone())));
        }
        if keys.0.len() != keys.1.len() || (join_type != JoinType::Inner && on.is_empty()) {
            return fallback_join(left, right, join_type, keys, filter);
        }
        let filter = filter
            .map(|f| {
                normalize_col_with_schemas_and_ambiguity_check(
                    f,
                    &[&[left.schema(), right.schema()]],
                    &[],
                )
            })
            .transpose()?;
        let join = Join::try_new(
            Arc::new(left),
            Arc::new(right),
            on,
            filter,
            join_type,
            JoinConstraint::On,
            NullEquality::NullEqualsNothing,
            false,
        )?;
        debug_assert_eq!(
            LogicalPlan::Join(join.clone()),
            fallback_join(
                join.left.as_ref().clone(),
                join.right.as_ref().clone(),
                join_type,
                keys,
                join.filter.clone()
            )?
            .build()?,
            "the join differs from DataFusion's"
        );
        Ok(LogicalPlanBuilder::from(LogicalPlan::Join(join)))
    }
}

/// DataFusion's own `join`.
fn fallback_join(
    left: LogicalPlan,
    right: LogicalPlan,
    join_type: JoinType,
    keys: (Vec<Column>, Vec<Column>),
    filter: Option<Expr>,
) -> Result<LogicalPlanBuilder> {
    Ok(LogicalPlanBuilder::from(left).join(right, join_type, keys, filter)?)
}

/// `e` with each unqualified column qualified as the builder's `normalize_col` would, with no
/// `USING` columns to consider.
fn resolved(e: Expr, input: &LogicalPlan) -> Result<Expr> {
    // Most of our expressions name their columns' tables already: looking costs less than
    // rebuilding the tree (5 % of `mid compile`).
    let unqualified = e
        .exists(|e| Ok(matches!(e, Expr::Column(c) if c.relation.is_none())))
        .unwrap_or(true);
    if !unqualified {
        return Ok(e);
    }
    let schema = input.schema();
    let fallback = input.fallback_normalize_schemas();
    Ok(e.transform(|e| match e {
        Expr::Column(c) if c.relation.is_none() => Ok(Transformed::yes(Expr::Column(
            c.normalize_with_schemas_and_ambiguity_check(&[&[schema.as_ref()], &fallback], &[])?,
        ))),
        other => Ok(Transformed::no(other)),
    })
    .data()?)
}

/// The schema DataFusion's `projection_schema` gives a projection of `exprs` over `input`,
/// without its cost: `Expr::to_field` names every subexpression on the way down (formatting
/// it whole, then dropping the name), and the functional dependencies are looked for by
/// formatting every expression, so a deep expression was formatted once per level. That was
/// a fifth of `mid compile`. The types come from the same rules; anything but the common
/// cases is left to `to_field` itself. Debug builds (the tests) check every projection
/// against DataFusion's own schema.
fn projection_schema(exprs: &[Expr], input: &LogicalPlan) -> Result<DFSchemaRef> {
    let schema = input.schema();
    let fields = named_fields(exprs, schema.as_ref())?;
    let mut out = DFSchema::new_with_metadata(fields, DFSchema::metadata(schema).clone())?;
    let deps = schema.functional_dependencies();
    if !deps.is_empty() {
        // As DataFusion finds them: each output that is an input column by its flat name.
        let names = schema.field_names();
        let at = |name: String| names.iter().position(|n| *n == name).unwrap_or(usize::MAX);
        let indices: Vec<usize> = exprs
            .iter()
            .map(|e| match e {
                Expr::Alias(a) => at(format!("{}", a.expr)),
                other => at(format!("{other}")),
            })
            .collect();
        out = out.with_functional_dependencies(
            deps.project_functional_dependencies(&indices, exprs.len()),
        )?;
    }
    Ok(Arc::new(out))
}

/// Each expression's qualifier and field, as `Expr::to_field` gives them.
fn named_fields<'a>(
    exprs: impl IntoIterator<Item = &'a Expr>,
    schema: &dyn ExprSchema,
) -> Result<Vec<(Option<TableReference>, FieldRef)>> {
    exprs
        .into_iter()
        .map(|e| {
            let (relation, name) = e.qualified_name();
            Ok((relation, field_of(e, schema)?.renamed(&name)))
        })
        .collect()
}

/// An expression's field as `Expr::to_field` makes it, less its name (the caller names
/// the projection's outputs; the names of inner fields are never read).
fn field_of(e: &Expr, schema: &dyn ExprSchema) -> Result<FieldRef> {
    let exact = || -> Result<FieldRef> { Ok(e.to_field(schema)?.1) };
    let unnamed = |data_type: DataType, nullable: bool| -> FieldRef {
        Arc::new(Field::new("", data_type, nullable))
    };
    Ok(match e {
        Expr::Column(c) => Arc::clone(schema.field_from_column(c)?),
        Expr::Alias(Alias {
            expr,
            metadata: None,
            ..
        }) => {
            let inner = field_of(expr, schema)?;
            if !inner.metadata().is_empty() {
                return exact();
            }
            inner
        }
        Expr::Literal(value, None) => unnamed(value.data_type(), value.is_null()),
        Expr::IsNull(_) | Expr::IsNotNull(_) => unnamed(DataType::Boolean, false),
        Expr::Cast(Cast { expr, field }) => {
            let source = field_of(expr, schema)?;
            let type_only =
                field.name().is_empty() && field.is_nullable() && field.metadata().is_empty();
            if !type_only || !source.metadata().is_empty() {
                return exact();
            }
            Arc::new(
                source
                    .as_ref()
                    .clone()
                    .with_data_type(field.data_type().clone()),
            )
        }
        Expr::BinaryExpr(BinaryExpr { left, op, right }) => {
            let (l, r) = (field_of(left, schema)?, field_of(right, schema)?);
            match BinaryTypeCoercer::new(l.data_type(), op, r.data_type()).get_result_type() {
                Ok(t) => unnamed(t, l.is_nullable() || r.is_nullable()),
                // The error as DataFusion words it.
                Err(_) => return exact(),
            }
        }
        Expr::ScalarFunction(ScalarFunction { func, args }) => {
            let fields = args
                .iter()
                .map(|a| field_of(a, schema))
                .collect::<Result<Vec<_>>>()?;
            let Ok(fields) = fields_with_udf(&fields, func.as_ref()) else {
                return exact();
            };
            let scalars: Vec<_> = args
                .iter()
                .map(|a| match a {
                    Expr::Literal(v, _) => Some(v),
                    _ => None,
                })
                .collect();
            func.return_field_from_args(ReturnFieldArgs {
                arg_fields: &fields,
                scalar_arguments: &scalars,
            })?
        }
        Expr::AggregateFunction(AggregateFunction {
            func,
            params: AggregateFunctionParams { args, .. },
        }) => {
            let fields = args
                .iter()
                .map(|a| field_of(a, schema))
                .collect::<Result<Vec<_>>>()?;
            let Ok(fields) = fields_with_udf(&fields, func.as_ref()) else {
                return exact();
            };
            func.return_field(&fields)?
        }
        _ => exact()?,
    })
}
