//! An optimiser rule of mid's own: a filter's tests of the lab `analyte` column come first.
//!
//! A lab condition reads one analyte of hundreds, so its analyte test passes a small share
//! of the rows, and the Parquet reader decodes each later test's columns only for the rows
//! the tests before it kept. DataFusion's `push_down_filter` moves tests that are not a
//! column compared with a literal (an `IN` list of blood specimens, a unit conversion)
//! before those that are (`analyte = '4Z271'`), which decoded the specimen column of every
//! lab row (q2 spent 2.5 s in one read). This rule runs after DataFusion's own and puts
//! the tests that read only `analyte` first again, keeping the order of the others.

use datafusion::common::Result;
use datafusion::common::tree_node::Transformed;
use datafusion::logical_expr::utils::{conjunction, split_conjunction_owned};
use datafusion::logical_expr::{Expr, Filter, LogicalPlan};
use datafusion::optimizer::optimizer::ApplyOrder;
use datafusion::optimizer::{OptimizerConfig, OptimizerRule};

/// See the module documentation.
#[derive(Debug, Default)]
pub struct AnalyteFirst;

/// Whether `e` reads the `analyte` column and no other.
fn analyte_only(e: &Expr) -> bool {
    let columns = e.column_refs();
    !columns.is_empty() && columns.iter().all(|c| c.name == "analyte")
}

/// `tests` with the analyte-only ones first (each part in its order), or `None` when they
/// already are (or a test is volatile: reordering could change how often it runs).
fn analyte_first(tests: &[Expr]) -> Option<Vec<Expr>> {
    let first_other = tests.iter().position(|e| !analyte_only(e))?;
    if !tests[first_other..].iter().any(analyte_only) || tests.iter().any(Expr::is_volatile) {
        return None;
    }
    let (mut lead, rest): (Vec<Expr>, Vec<Expr>) = tests.iter().cloned().partition(analyte_only);
    lead.extend(rest);
    Some(lead)
}

impl OptimizerRule for AnalyteFirst {
    fn name(&self) -> &str {
        "analyte_first"
    }

    fn apply_order(&self) -> Option<ApplyOrder> {
        Some(ApplyOrder::TopDown)
    }

    fn supports_rewrite(&self) -> bool {
        true
    }

    fn rewrite(
        &self,
        plan: LogicalPlan,
        _config: &dyn OptimizerConfig,
    ) -> Result<Transformed<LogicalPlan>> {
        match plan {
            LogicalPlan::TableScan(mut scan) => match analyte_first(&scan.filters) {
                Some(filters) => {
                    scan.filters = filters;
                    Ok(Transformed::yes(LogicalPlan::TableScan(scan)))
                }
                None => Ok(Transformed::no(LogicalPlan::TableScan(scan))),
            },
            LogicalPlan::Filter(filter) => {
                let tests = split_conjunction_owned(filter.predicate.clone());
                match analyte_first(&tests).and_then(conjunction) {
                    Some(predicate) => Ok(Transformed::yes(LogicalPlan::Filter(Filter::try_new(
                        predicate,
                        filter.input,
                    )?))),
                    None => Ok(Transformed::no(LogicalPlan::Filter(filter))),
                }
            }
            other => Ok(Transformed::no(other)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use datafusion::prelude::{col, in_list, lit};

    #[test]
    fn analyte_tests_lead_and_the_others_keep_their_order() {
        let specimen = in_list(col("specimen"), vec![lit("019"), lit("023")], false);
        let value = col("value").gt(lit(1.0));
        let analyte = col("analyte").eq(lit("4Z271"));
        let out = analyte_first(&[specimen.clone(), value.clone(), analyte.clone()]);
        assert_eq!(
            out,
            Some(vec![analyte.clone(), specimen.clone(), value.clone()])
        );
        // Already first, or no analyte test: unchanged.
        assert_eq!(analyte_first(&[analyte, specimen.clone()]), None);
        assert_eq!(analyte_first(&[specimen, value]), None);
    }
}
