//! Shared scans (stage: CIR → plans): a CDM table that the entries of several cohorts test
//! is read once, with the rows any of them selects (a first pass finds them).

use datafusion_expr::{Expr, LogicalPlan, LogicalPlanBuilder, in_list, lit};

use super::expr::*;
use super::*;
use crate::cdm::Table;

impl Gen {
    /// The rows of `table` that any of the script's code-set scans selects, with the
    /// columns those scans read (in contract order).
    pub(super) fn shared_scan(&self, table: Table, seen: &Seen) -> Result<LogicalPlan> {
        // Each scan's code test, split at its ORs; IN lists over the same expression (the
        // same prefix length of one code column) merge into one list.
        let mut tests: Vec<Expr> = Vec::new();
        let mut lists: Vec<(Expr, Vec<Expr>)> = Vec::new();
        for p in &seen.preds {
            for t in disjuncts(p) {
                match t {
                    Expr::InList(l) if !l.negated => {
                        let at = match lists.iter().position(|(e, _)| e == l.expr.as_ref()) {
                            Some(at) => at,
                            None => {
                                lists.push((l.expr.as_ref().clone(), Vec::new()));
                                lists.len() - 1
                            }
                        };
                        for v in &l.list {
                            if !lists[at].1.contains(v) {
                                lists[at].1.push(v.clone());
                            }
                        }
                    }
                    other if !tests.iter().any(|x| x == other) => tests.push(other.clone()),
                    _ => {}
                }
            }
        }
        tests.extend(lists.into_iter().map(|(e, l)| in_list(e, l, false)));
        let any = tests
            .into_iter()
            .reduce(Expr::or)
            .unwrap_or_else(|| lit(false));
        let keep: Vec<Expr> = table
            .columns()
            .iter()
            .filter(|col| seen.columns.contains(col.name))
            .map(|col| c(col.name))
            .collect();
        Ok(self.scan_cdm(table)?.filter(any)?.project(keep)?.build()?)
    }

    /// A scan of `table` for a code-set test. For a cohort's entry events: records what it
    /// tests and reads (for the shared scans), and reads the shared plan when there is one.
    pub(super) fn code_scan(
        &mut self,
        table: Table,
        codes: Expr,
        preds: &[Expr],
        columns: &[Expr],
    ) -> Result<LogicalPlanBuilder> {
        if !self.in_entry {
            return self.scan_cdm(table);
        }
        let seen = self.seen.entry(table).or_default();
        seen.preds.push(codes);
        for e in preds.iter().chain(columns) {
            seen.columns
                .extend(e.column_refs().into_iter().map(|c| c.name.clone()));
        }
        match self.shared.get(&table).cloned() {
            Some(name) => self.scan(&name),
            None => self.scan_cdm(table),
        }
    }
}

/// The code-set scans of one CDM table: their code tests (one per scan) and every column
/// the scans read.
#[derive(Default)]
pub(super) struct Seen {
    preds: Vec<Expr>,
    columns: std::collections::BTreeSet<String>,
}

/// Whether the entry scans of `table` are read once, shared: two or more, and not the lab
/// table (one item's results are millions of rows: sharing the ALT scans of the lab
/// benchmark took it from 1.7 s to 3.1 s).
pub(super) fn shares(table: Table, seen: &Seen) -> bool {
    seen.preds.len() >= 2 && table != Table::Lab
}

#[cfg(test)]
mod tests {
    use crate::testing::plan;

    #[test]
    fn entries_of_two_cohorts_share_one_drug_scan() {
        insta::assert_snapshot!(plan(
            r#"codes x: drug = yj "2432001"
codes y: drug = yj "2432002"
cohort a { index = first drug x }
cohort b { index = first drug y }"#,
            "tmp_shared_drug"
        ), @r#"
        Projection: drug.hospital_id, drug.patient_id, drug.date, drug.end_date, drug.yj_code, drug.visit_id
          Filter: drug.yj_code LIKE Utf8("2432001%") OR drug.yj_code LIKE Utf8("2432002%")
            TableScan: drug
        "#);
    }
}
