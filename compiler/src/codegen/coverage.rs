//! Data coverage (stage: CIR → plans): what the script's code sets and lab items match at
//! each hospital, so a hospital where one matches nothing, or whose lab units mid cannot
//! convert, is reported rather than silently counted as zero. One plan per CDM table the
//! script tests codes in (`coverage_<table>`: rows, rows without a standard code, rows each
//! source matches, by hospital) and one for lab units (`coverage_lab_units`: rows of each lab
//! item with a value in a unit its catalogue entry cannot convert, by hospital and unit as
//! written). Their results are site-only.

use std::collections::{BTreeMap, BTreeSet};

use datafusion_expr::{Expr, ExprFunctionExt, LogicalPlan, LogicalPlanBuilder, lit, when};
use datafusion_functions_aggregate::expr_fn::{count, sum};

use super::expr::*;
use super::labs::{unit_factor, unit_key};
use super::*;
use crate::cir::visit::{self, Visitor};
use crate::cir::{Events, LabSpec, Source};

/// What one coverage column counts: a source's label, its test on the table's rows, and
/// that test's code part (`codes_pred`).
struct Counted {
    label: String,
    pred: Expr,
    codes: Expr,
}

/// The sources of a program, by table, each once (by label): each source's whole test
/// and its code part.
#[derive(Default)]
pub(super) struct Sources {
    pub(super) by_table: BTreeMap<Table, BTreeMap<String, (Expr, Expr)>>,
    labs: BTreeMap<String, LabSpec>,
}

impl Visitor for Sources {
    fn events(&mut self, e: &Events) {
        visit::walk_events(self, e)
    }

    fn source(&mut self, s: &Source) {
        let table = s.domain.table();
        if let Some(lab) = &s.lab {
            self.lab(lab);
            return;
        }
        let Some(codes) = &s.codes else {
            return;
        };
        let code = codes_pred(codes);
        let mut pred = code.clone();
        for f in &s.filters {
            pred = pred.and(filter_pred(f));
        }
        let label = format!("{} {}", s.domain.name(), s.text);
        self.by_table
            .entry(table)
            .or_default()
            .entry(label)
            .or_insert((pred, code));
    }
}

impl Sources {
    fn lab(&mut self, lab: &LabSpec) {
        if let Some(codes) = &lab.codes {
            self.by_table
                .entry(Table::Lab)
                .or_default()
                .entry(format!("lab {}", lab.item))
                .or_insert_with(|| {
                    let test = codes_pred(codes);
                    (test.clone(), test)
                });
            self.labs
                .entry(lab.item.clone())
                .or_insert_with(|| lab.clone());
        }
        if let Some((factors, _)) = &lab.derived {
            for f in factors {
                self.lab(f);
            }
        }
    }
}

/// The column of a table that holds its standard code (null where a hospital's own code
/// is unmapped).
fn standard_code(table: Table) -> Option<Expr> {
    match table {
        Table::Diagnosis => Some(c("icd10").is_null()),
        Table::Drug => Some(c("yj_code").is_null()),
        // `analyte` is null exactly when `jlac10` is (the data checks set other rows aside),
        // and reading it does not decode the 17-character code over the whole table.
        Table::Lab => Some(c("analyte").is_null()),
        Table::Procedure => Some(c("code_system").eq(lit("local"))),
        Table::Patient | Table::Visit => None,
    }
}

impl Gen {
    /// The coverage plans of a program, in table order.
    pub(super) fn coverage(&mut self, p: &cir::Program) -> Result<Vec<NamedPlan>> {
        let mut sources = Sources::default();
        visit::walk_program(&mut sources, p);
        let mut out = Vec::new();
        // The lab rows of the items, made once (with `coverage_lab`) for both lab plans.
        let mut lab_items = None;
        for (table, counted) in &sources.by_table {
            let counted: Vec<Counted> = counted
                .iter()
                .map(|(label, (pred, codes))| Counted {
                    label: label.clone(),
                    pred: pred.clone(),
                    codes: codes.clone(),
                })
                .collect();
            let name = names::coverage_plan(table.name());
            self.begin(&name);
            let plan = if *table == Table::Lab {
                let preds: Vec<Expr> = counted.iter().map(|s| s.pred.clone()).collect();
                let items = self.lab_item_rows(&preds)?;
                lab_items = Some(items.clone());
                self.coverage_lab(&counted, items)?
            } else {
                self.coverage_table(*table, &counted)?
            };
            out.append(&mut self.intermediates);
            out.push(NamedPlan {
                name,
                kind: PlanKind::Coverage {
                    table: table.name().to_string(),
                    sources: counted.iter().map(|c| c.label.clone()).collect(),
                },
                plan,
            });
        }
        if !sources.labs.is_empty() {
            let name = names::coverage_plan("lab_units");
            self.begin(&name);
            let plan = self.lab_units(&sources.labs, lab_items)?;
            out.append(&mut self.intermediates);
            out.push(NamedPlan {
                name,
                kind: PlanKind::LabUnits,
                plan,
            });
        }
        Ok(out)
    }

    /// Rows, rows without a standard code, and rows each source matches, by hospital: the
    /// table's totals (`totals`), and each source's rows counted among the rows some source
    /// selects, so each source's test runs on those rows, not on every row of the table.
    /// Those rows come from the entries' shared read of the table when it holds every row
    /// each source can select (each source's code test is one of its scans', and it keeps
    /// the columns the sources test): the table is then not read again (q3: 0.10 s).
    fn coverage_table(&mut self, table: Table, counted: &[Counted]) -> Result<LogicalPlan> {
        let totals = self.totals(table)?;
        let preds: Vec<Expr> = counted.iter().map(|s| s.pred.clone()).collect();
        let mut aggs = Vec::new();
        for (i, s) in counted.iter().enumerate() {
            aggs.push(
                count(lit(1))
                    .filter(s.pred.clone())
                    .build()?
                    .alias(format!("source_{}", i + 1)),
            );
        }
        let rows = match self.shared_holding(table, counted) {
            Some(name) => self.scan(&name)?,
            None => self.scan_cdm(table)?,
        };
        let matched = rows
            .filtered(super::shared::selecting_any(&preds))?
            .aggregated(vec![c("hospital_id")], aggs)?
            .build()?;
        by_hospital(table, totals, matched, counted.len())
    }

    /// The entries' shared read of `table`, when it holds every row of `table` that the
    /// sources `counted` select, with the columns their tests read.
    fn shared_holding(&self, table: Table, counted: &[Counted]) -> Option<String> {
        let (name, seen) = self.shared.get(&table)?;
        counted
            .iter()
            .all(|s| seen.holds(&s.codes, &s.pred))
            .then(|| name.clone())
    }

    /// A table's rows by hospital, and its rows without a standard code: an intermediate of
    /// its own kind (`PlanKind::Totals`), the same in every script, which the runtime reuses
    /// while the table's files are unchanged.
    fn totals(&mut self, table: Table) -> Result<LogicalPlan> {
        let mut aggs = vec![count(lit(1)).alias("rows")];
        if let Some(unmapped) = standard_code(table) {
            aggs.push(count(lit(1)).filter(unmapped).build()?.alias("unmapped"));
        }
        let plan = self
            .scan_cdm(table)?
            .aggregated(vec![c("hospital_id")], aggs)?
            .build()?;
        let name = names::totals_plan(table.name());
        let kind = PlanKind::Totals {
            table: table.name().to_string(),
        };
        let kept = self.kept(name.clone(), kind, plan);
        self.intermediates.push(kept);
        Ok(self.scan(&name)?.build()?)
    }

    /// The lab rows of the script's items counted by hospital, by the columns their tests
    /// read (`analyte`, `jlac10`, …), by unit as written and by whether they have a value:
    /// a few thousand rows that both lab coverage plans read (an intermediate), so the items
    /// are tested per group, not per row, and the lab table is read once for both (their two
    /// passes over 59 M rows took 2.1 s and 1.3 s, the totals and this one 0.6 s and 1.0 s).
    fn lab_item_rows(&mut self, preds: &[Expr]) -> Result<LogicalPlan> {
        let mut read = BTreeSet::new();
        for p in preds {
            for col in p.column_refs() {
                if !matches!(col.name.as_str(), "hospital_id" | "unit") {
                    read.insert(col.name.clone());
                }
            }
        }
        let mut keys = vec![c("hospital_id")];
        keys.extend(read.iter().map(|n| c(n)));
        keys.push(c("unit"));
        keys.push(c("value").is_not_null().alias("has_value"));
        let of_items = preds
            .iter()
            .cloned()
            .reduce(Expr::or)
            .unwrap_or_else(|| lit(false));
        let plan = self
            .scan_cdm(Table::Lab)?
            .filtered(analyte_guarded(of_items))?
            .aggregated(keys, vec![count(lit(1)).alias("rows")])?
            .build()?;
        self.intermediate("item_rows", plan)
    }

    /// The lab table's coverage: its totals (`totals`), and the rows each item matches,
    /// summed over the item rows.
    fn coverage_lab(&mut self, counted: &[Counted], items: LogicalPlan) -> Result<LogicalPlan> {
        let totals = self.totals(Table::Lab)?;
        let mut aggs = Vec::new();
        for (i, s) in counted.iter().enumerate() {
            aggs.push(
                sum(c("rows"))
                    .filter(s.pred.clone())
                    .build()?
                    .alias(format!("source_{}", i + 1)),
            );
        }
        let matched = LogicalPlanBuilder::from(items)
            .aggregated(vec![c("hospital_id")], aggs)?
            .build()?;
        by_hospital(Table::Lab, totals, matched, counted.len())
    }

    /// Rows of each lab item with a value in a unit mid cannot convert, by hospital, item
    /// and the unit as the hospital wrote it, from the item rows (`lab_item_rows`; none when
    /// no item has codes): the unit normalisation (a
    /// dozen string functions) runs once per group, not once per row. A row whose codes two
    /// items share is counted under the first item, by name.
    fn lab_units(
        &mut self,
        labs: &BTreeMap<String, LabSpec>,
        items: Option<LogicalPlan>,
    ) -> Result<LogicalPlan> {
        let mut item = None::<datafusion_expr::conditional_expressions::CaseBuilder>;
        let mut unconvertible = Vec::new();
        for (name, lab) in labs {
            let Some(codes) = &lab.codes else { continue };
            if lab.unit.is_none() {
                continue;
            }
            item = Some(match item {
                None => when(codes_pred(codes), lit(name.clone())),
                Some(mut b) => b.when(codes_pred(codes), lit(name.clone())),
            });
            unconvertible.push(
                c("item")
                    .eq(lit(name.clone()))
                    .and(unit_factor(lab, c("unit_key")).is_null()),
            );
        }
        let (Some(mut item), Some(unconvertible), Some(items)) =
            (item, unconvertible.into_iter().reduce(Expr::or), items)
        else {
            return Ok(self.scan_cdm(Table::Lab)?.filtered(lit(false))?.build()?);
        };
        let item = item.otherwise(lit(datafusion_common::ScalarValue::Utf8(None)))?;
        Ok(LogicalPlanBuilder::from(items)
            .filtered(c("has_value"))?
            .projected(vec![
                c("hospital_id"),
                item.alias("item"),
                c("unit"),
                c("rows"),
            ])?
            .aggregated(
                vec![c("hospital_id"), c("item"), c("unit")],
                vec![sum(c("rows")).alias("rows")],
            )?
            // The unit's normalised spelling once, for every item's test of it.
            .projected(vec![
                c("hospital_id"),
                c("item"),
                c("unit"),
                c("rows"),
                unit_key().alias("unit_key"),
            ])?
            .filtered(unconvertible)?
            .projected(vec![c("hospital_id"), c("item"), c("unit"), c("rows")])?
            .sort(vec![
                c("hospital_id").sort(true, false),
                c("item").sort(true, false),
                c("unit").sort(true, true),
            ])?
            .build()?)
    }
}

/// A table's totals by hospital beside the rows each source matched there (`source_1` …),
/// 0 where a source matched nothing (a hospital without a matching row has no row in
/// `matched`), in hospital order. The two are stacked and summed by hospital, not joined: a
/// join would send the hospitals of the totals into the scan under `matched` as a filter
/// tested on every row (DataFusion's dynamic filters), which prunes nothing here.
fn by_hospital(
    table: Table,
    totals: LogicalPlan,
    matched: LogicalPlan,
    sources: usize,
) -> Result<LogicalPlan> {
    let zero = || lit(0i64);
    let mut totals_cols = vec![c("hospital_id"), c("rows")];
    let mut matched_cols = vec![c("hospital_id"), zero().alias("rows")];
    let mut sums = vec![sum(c("rows")).alias("rows")];
    if standard_code(table).is_some() {
        totals_cols.push(c("unmapped"));
        matched_cols.push(zero().alias("unmapped"));
        sums.push(sum(c("unmapped")).alias("unmapped"));
    }
    for i in 0..sources {
        let name = format!("source_{}", i + 1);
        totals_cols.push(zero().alias(&name));
        matched_cols.push(c(&name));
        sums.push(sum(c(&name)).alias(name));
    }
    Ok(LogicalPlanBuilder::from(totals)
        .projected(totals_cols)?
        .union(
            LogicalPlanBuilder::from(matched)
                .projected(matched_cols)?
                .build()?,
        )?
        .aggregated(vec![c("hospital_id")], sums)?
        .sort(vec![c("hospital_id").sort(true, false)])?
        .build()?)
}

#[cfg(test)]
mod tests {
    use crate::testing::plan;

    /// The scans of the table `coverage_drug` reads (CDM tables and other plans).
    fn reads(src: &str) -> Vec<String> {
        plan(src, "coverage_drug")
            .lines()
            .filter_map(|l| l.trim().strip_prefix("TableScan: "))
            .map(str::to_string)
            .collect()
    }

    #[test]
    fn the_coverage_counts_the_entries_shared_read_when_it_holds_every_source() {
        let src = r#"codes x: drug = yj "2432001"
codes y: drug = yj "2432002"
cohort a { index = first drug x where setting = outpatient }
cohort b { index = first drug y }"#;
        assert_eq!(reads(src), ["tmp_totals_drug", "tmp_shared_drug"]);
    }

    #[test]
    fn a_source_outside_the_entries_sends_the_coverage_to_the_table() {
        let src = r#"codes x: drug = yj "2432001"
codes y: drug = yj "2432002"
codes z: drug = yj "2432003"
cohort a { index = first drug x
  exclude drug z within 30 days before index }
cohort b { index = first drug y }"#;
        assert_eq!(reads(src), ["tmp_totals_drug", "drug"]);
    }
}
