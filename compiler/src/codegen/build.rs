//! Projections, filters and aggregates onto a builder without its walk of the whole input plan per
//! unqualified column (`LogicalPlanBuilder::normalize` looks for `USING` joins each time):
//! with the dozens of columns of each step over plans hundreds of nodes deep, that walk was
//! most of `mid compile`. A projection's schema is derived without naming every
//! subexpression (see [`projection_schema`]).

use std::sync::Arc;

use arrow_schema::{DataType, Field, FieldRef};
use datafusion_common::datatype::FieldExt;
use datafusion_common::tree_node::{Transformed, TransformedResult, TreeNode};
use datafusion_common::{DFSchema, DFSchemaRef, ExprSchema};
use datafusion_expr::expr::{Alias, Cast, ScalarFunction};
use datafusion_expr::type_coercion::functions::fields_with_udf;
use datafusion_expr::utils::columnize_expr;
use datafusion_expr::{
    Aggregate, BinaryExpr, Expr, ExprSchemable, Filter, LogicalPlan, LogicalPlanBuilder,
    Projection, ReturnFieldArgs, binary::BinaryTypeCoercer,
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
        let aggregate = Aggregate::try_new(Arc::new(input), group, aggr)?;
        Ok(LogicalPlanBuilder::from(LogicalPlan::Aggregate(aggregate)))
    }
}

/// `e` with each unqualified column qualified as the builder's `normalize_col` would, with no
/// `USING` columns to consider.
fn resolved(e: Expr, input: &LogicalPlan) -> Result<Expr> {
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
    let fields = exprs
        .iter()
        .map(|e| {
            let (relation, name) = e.qualified_name();
            Ok((relation, field_of(e, schema.as_ref())?.renamed(&name)))
        })
        .collect::<Result<Vec<_>>>()?;
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
        _ => exact()?,
    })
}
