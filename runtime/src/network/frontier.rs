//! What a request returns (runtime, network): the tables that leave a hospital after its
//! officer approves them. Aggregates (attrition tables, reports) are disclosure-controlled;
//! the analysis data set is patient-level and pseudonymised: the exports, and every relation
//! and CDM table the aggregate plans read, so that the data center can compute the network's
//! attrition and reports from the pooled data with the same plans.

use std::collections::{BTreeMap, BTreeSet};

use datafusion::common::tree_node::TreeNodeRecursion;
use datafusion::logical_expr::LogicalPlan;
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

/// The tables a plan scans, by name.
pub fn scans(plan: &LogicalPlan) -> BTreeMap<String, BTreeSet<String>> {
    let mut out: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let _ = plan.apply_with_subqueries(|p| {
        if let LogicalPlan::TableScan(s) = p {
            let cols = out.entry(s.table_name.to_string()).or_default();
            cols.extend(s.projected_schema.fields().iter().map(|f| f.name().clone()));
        }
        Ok(TreeNodeRecursion::Continue)
    });
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

/// What a request of these plans returns, aggregates first, each table once.
pub fn returns(plans: &[NamedPlan]) -> Vec<Returned> {
    let by_name: BTreeMap<&str, &NamedPlan> = plans.iter().map(|p| (p.name.as_str(), p)).collect();
    let mut aggregate = Vec::new();
    let mut patient: BTreeMap<String, Returned> = BTreeMap::new();
    let mut cdm: BTreeMap<String, (BTreeSet<String>, BTreeSet<String>)> = BTreeMap::new();
    for p in plans {
        let what = match &p.kind {
            PlanKind::Attrition { cohort, .. } => format!("the attrition table of `{cohort}`"),
            PlanKind::Report { report, .. } => format!("the report `{report}`"),
            PlanKind::Export { cohort } => {
                patient.insert(
                    p.name.clone(),
                    Returned {
                        table: p.name.clone(),
                        level: Level::Patient,
                        columns: columns(&p.plan),
                        why: format!("the analysis data set the script exports for `{cohort}`"),
                    },
                );
                continue;
            }
            _ => continue,
        };
        aggregate.push(Returned {
            table: p.name.clone(),
            level: Level::Aggregate,
            columns: columns(&p.plan),
            why: what,
        });
        for (table, cols) in scans(&p.plan) {
            match by_name.get(table.as_str()) {
                Some(read) => {
                    let r = patient.entry(table.clone()).or_insert_with(|| Returned {
                        table: table.clone(),
                        level: Level::Patient,
                        columns: columns(&read.plan),
                        why: String::new(),
                    });
                    if r.why.is_empty() {
                        r.why = format!("read by `{}` to compute it for the network", p.name);
                    }
                }
                None => {
                    let e = cdm.entry(table).or_default();
                    e.0.extend(cols);
                    e.1.insert(p.name.clone());
                }
            }
        }
    }
    for (table, (cols, readers)) in cdm {
        let keys = ["hospital_id", "patient_id"];
        let mut columns: Vec<String> = keys.into_iter().map(String::from).collect();
        columns.extend(cols.into_iter().filter(|c| !keys.contains(&c.as_str())));
        let readers: Vec<String> = readers.into_iter().map(|r| format!("`{r}`")).collect();
        patient.insert(
            table.clone(),
            Returned {
                table: table.clone(),
                level: Level::Patient,
                columns,
                why: format!(
                    "the rows of the request's patients, read by {} to compute it for the network",
                    readers.join(", ")
                ),
            },
        );
    }
    aggregate.extend(patient.into_values());
    aggregate
}
