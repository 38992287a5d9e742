//! Projections, filters and aggregates onto a builder without its walk of the whole input plan per
//! unqualified column (`LogicalPlanBuilder::normalize` looks for `USING` joins each time):
//! with the dozens of columns of each step over plans hundreds of nodes deep, that walk was
//! most of `mid compile`.

use std::sync::Arc;

use datafusion_common::tree_node::{Transformed, TransformedResult, TreeNode};
use datafusion_expr::utils::columnize_expr;
use datafusion_expr::{Aggregate, Expr, Filter, LogicalPlan, LogicalPlanBuilder, Projection};

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
        let projection = Projection::try_new(exprs, Arc::new(input))?;
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
