//! What a request returns (runtime, network): the tables that leave a hospital after its
//! officer approves them. Aggregates (attrition tables, reports) are disclosure-controlled.
//! The analysis data set is patient-level and pseudonymised: the script's exports, and the
//! rows of the request's patients (those with an entry event of a cohort) of every CDM table
//! the plans read, only the columns they read. That is what the data center needs to compute
//! the network's attrition and reports with the same plans, and no more.

use std::collections::{BTreeMap, BTreeSet};

use datafusion::common::tree_node::TreeNodeRecursion;
use datafusion::logical_expr::LogicalPlan;
use mid_cdm::Table;
use mid_compiler::{NamedPlan, PlanKind};
use serde::{Deserialize, Serialize};

/// How a returned table may leave.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Level {
    /// Counts, disclosure-controlled (no cell of 1–9 persons).
    Aggregate,
    /// One row per patient or record; patient ids replaced by a keyed pseudonym.
    Patient,
    /// Exact counts of a feasibility request: the data center adds the hospitals' and applies
    /// disclosure control to the network's whole cube; never released as they are.
    Counts,
}

/// One table a request returns.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Returned {
    pub table: String,
    pub level: Level,
    pub columns: Vec<String>,
    /// Why it leaves, for the officer.
    pub why: String,
}

/// Whether a plan's result is kept at the hospital (what a source matched there).
pub fn site_only(kind: &PlanKind) -> bool {
    match kind {
        PlanKind::Coverage { .. } | PlanKind::LabUnits | PlanKind::Totals { .. } => true,
        // What the coverage plans read (the lab rows of the items by code and unit) runs
        // with them.
        PlanKind::Intermediate { of } => mid_compiler::codegen::names::is_coverage_plan(of),
        _ => false,
    }
}

/// The columns of CDM tables that optimised plans read: each scan's projected columns and
/// the columns of the tests pushed into it.
pub fn cdm_reads<'a>(
    plans: impl IntoIterator<Item = &'a LogicalPlan>,
) -> BTreeMap<Table, BTreeSet<String>> {
    let mut out: BTreeMap<Table, BTreeSet<String>> = BTreeMap::new();
    for plan in plans {
        let _ = plan.apply_with_subqueries(|p| {
            if let LogicalPlan::TableScan(s) = p
                && let Some(t) = Table::from_name(s.table_name.table())
            {
                let cols = out.entry(t).or_default();
                cols.extend(s.projected_schema.fields().iter().map(|f| f.name().clone()));
                for f in &s.filters {
                    cols.extend(f.column_refs().into_iter().map(|c| c.name.clone()));
                }
            }
            Ok(TreeNodeRecursion::Continue)
        });
    }
    out
}

/// The columns of a plan's result.
fn columns(plan: &LogicalPlan) -> Vec<String> {
    plan.schema()
        .fields()
        .iter()
        .map(|f| f.name().clone())
        .collect()
}

/// What a request of these plans returns, aggregates first, each table once. `optimized`
/// holds the plans as the engine optimises them (in the same order): what they read;
/// `required` the columns the script reads by the compiler's account (`requirements`), so
/// that the script itself can run over the pooled data.
pub fn returns(
    plans: &[NamedPlan],
    optimized: &[LogicalPlan],
    required: &BTreeMap<String, Vec<String>>,
) -> Vec<Returned> {
    let mut out = Vec::new();
    let mut exports = Vec::new();
    for p in plans {
        let (level, why) = match &p.kind {
            PlanKind::Attrition { cohort, .. } => (
                Level::Aggregate,
                format!("the attrition table of `{cohort}`"),
            ),
            PlanKind::Report { report, .. } => (Level::Aggregate, format!("the report `{report}`")),
            // The Table 1 leaves, not its patient-level rows: one entry per table.
            PlanKind::Table1 { table, .. } => {
                if !out.iter().any(|r: &Returned| r.table == *table) {
                    out.push(Returned {
                        table: table.clone(),
                        level: Level::Aggregate,
                        columns: crate::output::table1::KEYS
                            .iter()
                            .chain(&[
                                crate::output::table1::KIND,
                                crate::output::table1::UNIT,
                                "n",
                            ])
                            .chain(&crate::output::table1::STATISTICS)
                            .map(|c| c.to_string())
                            .collect(),
                        why: format!("the Table 1 `{table}`"),
                    });
                }
                continue;
            }
            PlanKind::Export { cohort } => (
                Level::Patient,
                format!("the analysis data set the script exports for `{cohort}`"),
            ),
            _ => continue,
        };
        let r = Returned {
            table: p.name.clone(),
            level,
            columns: columns(&p.plan),
            why,
        };
        if level == Level::Patient {
            exports.push(r);
        } else {
            out.push(r);
        }
    }
    out.extend(exports);
    let mut read = cdm_reads(
        plans
            .iter()
            .zip(optimized)
            .filter(|(p, _)| !site_only(&p.kind))
            .map(|(_, o)| o),
    );
    for (table, cols) in required {
        if let Some(t) = Table::from_name(table) {
            read.entry(t).or_default().extend(cols.iter().cloned());
        }
    }
    for (table, cols) in read {
        let keys = ["hospital_id", "patient_id"];
        let mut columns: Vec<String> = keys.into_iter().map(String::from).collect();
        // In the contract's column order, as the hospital's own files.
        columns.extend(
            table
                .columns()
                .iter()
                .map(|c| c.name.to_string())
                .filter(|c| cols.contains(c) && !keys.contains(&c.as_str())),
        );
        out.push(Returned {
            table: table.name().to_string(),
            level: Level::Patient,
            columns,
            why: "the rows of the request's patients (those with an entry event), only the columns the plans read: the data center computes the network's results from them".into(),
        });
    }
    out
}
