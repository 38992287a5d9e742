//! The outputs of a compiled script (stage: CIR + plans → outputs): each attrition table,
//! report and export, typed, with what the runtime needs to write it — the plan it comes
//! from, its suppression threshold, strata and the validation metadata of the outcome
//! definitions it counts — so the runtime never looks a report up by name.

use crate::cir::{self, Stratum, Validation};
use crate::codebook::ColumnDoc;
use crate::codegen::names;
use crate::codegen::{NamedPlan, PlanKind};

/// One output of a script.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Output {
    /// The plan whose result it is.
    pub plan: String,
    pub kind: OutputKind,
}

#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum OutputKind {
    /// Persons before the steps and after each, of one cohort. Aggregate.
    Attrition {
        cohort: String,
        /// The entry's text, then each step's label.
        labels: Vec<String>,
        /// Counts below it are suppressed.
        threshold: u32,
    },
    /// Counts by strata. Aggregate.
    Report {
        report: String,
        cohorts: Vec<String>,
        outcomes: Vec<String>,
        strata: Vec<StratumColumn>,
        /// The count columns, in order.
        counts: Vec<String>,
        threshold: u32,
        /// The validation metadata of every outcome definition the report counts.
        definitions: Vec<DefinitionUse>,
        /// What each compiled column means (the codebook's, before the runtime's derived
        /// columns).
        columns: Vec<ColumnDoc>,
    },
    /// Patient-level rows; they stay at the site.
    Export {
        cohort: String,
        /// The file name (without extension).
        file: String,
        /// What each column means (the codebook).
        columns: Vec<ColumnDoc>,
        /// The validation metadata of every outcome definition its columns use.
        definitions: Vec<DefinitionUse>,
    },
    /// Baseline characteristics by cohort (aggregate): the runtime summarises each cohort's
    /// rows (`plans`, one per cohort, in order) and compares each cohort with the first.
    Table1 {
        table: String,
        cohorts: Vec<String>,
        plans: Vec<String>,
        rows: Vec<Table1Row>,
        threshold: u32,
    },
    /// What the script's sources match at each hospital (site-only; flags are printed).
    Coverage { table: String, sources: Vec<String> },
    /// Lab rows in units mid cannot convert (site-only; flags are printed).
    LabUnits,
}

/// One row of a Table 1: a characteristic, how it is summarised and what it means.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Table1Row {
    pub name: String,
    pub summary: Summary,
    /// What it is, its unit and where the script says so (the codebook's terms).
    pub doc: ColumnDoc,
    /// The levels a text row always lists, found or not (`F`, `M`, `U` for sex).
    pub levels: Vec<String>,
}

/// How a Table 1 row is summarised per cohort.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Summary {
    /// Yes/no: persons with it, n and %.
    Binary,
    /// Text: persons at each level, n and %.
    Categorical,
    /// A number: persons with a value, mean and SD, median and quartiles.
    Continuous,
}

impl Summary {
    /// How a value of the cohort IR is summarised.
    pub fn of(v: &cir::Value) -> Summary {
        use cir::Value as V;
        match v {
            V::Cond(_) | V::Bool(_) | V::Date(_) | V::Outcome(_) => Summary::Binary,
            V::Sex
            | V::Hospital
            | V::Text(_)
            | V::Censoring
            | V::IndexDrug
            | V::LabGrade { .. } => Summary::Categorical,
            V::Age(_)
            | V::Number(_)
            | V::LabValue(_)
            | V::LabMax(_)
            | V::LabMin(_)
            | V::Count(_)
            | V::Records(_)
            | V::DaysBetween(..) => Summary::Continuous,
        }
    }
}

/// A report's stratum as a column.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct StratumColumn {
    pub column: String,
    /// For age bands, the band width in years (the column holds the lower bound).
    pub age_band: Option<i64>,
}

/// An outcome's use of a (validated or provisional) definition.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct DefinitionUse {
    pub outcome: String,
    pub definition: String,
    pub validation: Validation,
}

/// The validation metadata of every outcome definition `outcomes` use.
pub fn definitions(p: &cir::Program, outcomes: &[String]) -> Vec<DefinitionUse> {
    let mut out = Vec::new();
    for o in p.outcomes.iter().filter(|o| outcomes.contains(&o.name)) {
        for (name, v) in &o.definitions {
            out.push(DefinitionUse {
                outcome: o.name.clone(),
                definition: name.clone(),
                validation: v.clone(),
            });
        }
    }
    out
}

/// The codebook columns of each export and report, in the program's order.
#[derive(Debug, Clone, Default)]
pub struct Docs {
    pub exports: Vec<Vec<ColumnDoc>>,
    pub reports: Vec<Vec<ColumnDoc>>,
    pub table1s: Vec<Vec<ColumnDoc>>,
}

/// The outputs of a program, in plan order.
pub fn outputs(p: &cir::Program, plans: &[NamedPlan], docs: Docs) -> Vec<Output> {
    // A cohort's attrition table hides what its reports hide: the highest threshold a report
    // of the cohort asks for (the network's 10 at least). Other cohorts keep 10.
    let attrition_threshold = |cohort: &str| {
        p.reports
            .iter()
            .filter(|r| r.cohorts.iter().any(|c| c == cohort))
            .map(|r| r.suppress_below)
            .max()
            .unwrap_or(10)
            .max(10)
    };
    let mut out = Vec::new();
    let mut exports_seen = 0;
    for plan in plans {
        let kind = match &plan.kind {
            PlanKind::Attrition { cohort, labels } => OutputKind::Attrition {
                cohort: cohort.clone(),
                labels: labels.clone(),
                threshold: attrition_threshold(cohort),
            },
            PlanKind::Report { report, counts, .. } => {
                let Some(i) = p.reports.iter().position(|r| &r.name == report) else {
                    continue;
                };
                let r = &p.reports[i];
                OutputKind::Report {
                    report: report.clone(),
                    cohorts: r.cohorts.clone(),
                    outcomes: r.outcomes.clone(),
                    strata: r
                        .strata
                        .iter()
                        .map(|s| StratumColumn {
                            column: names::stratum_column(s),
                            age_band: match s {
                                Stratum::AgeBand(w) => Some(*w),
                                Stratum::Sex
                                | Stratum::IndexDrug
                                | Stratum::Grade { .. }
                                | Stratum::Hospital
                                | Stratum::Year
                                | Stratum::Month
                                | Stratum::Quarter
                                | Stratum::FiscalYear
                                | Stratum::Period
                                | Stratum::Cohort
                                | Stratum::TestingHistory(_)
                                | Stratum::Condition { .. } => None,
                            },
                        })
                        .collect(),
                    counts: counts.clone(),
                    threshold: r.suppress_below,
                    definitions: definitions(p, &r.outcomes),
                    columns: docs.reports.get(i).cloned().unwrap_or_default(),
                }
            }
            PlanKind::Export { cohort } => {
                // Export plans come in the program's order of exports.
                let i = exports_seen;
                exports_seen += 1;
                let used: Vec<String> = p
                    .exports
                    .get(i)
                    .map(|e| {
                        e.columns
                            .iter()
                            .filter_map(|(_, v)| match v {
                                cir::Value::Outcome(o) => Some(o.clone()),
                                _ => None,
                            })
                            .collect()
                    })
                    .unwrap_or_default();
                OutputKind::Export {
                    cohort: cohort.clone(),
                    file: plan.name.trim_start_matches("export_").to_string(),
                    columns: docs.exports.get(i).cloned().unwrap_or_default(),
                    definitions: definitions(p, &used),
                }
            }
            PlanKind::Table1 { table, cohort } => {
                let Some(i) = p.table1s.iter().position(|t| &t.name == table) else {
                    continue;
                };
                let t = &p.table1s[i];
                // One output, at the plan of its last cohort.
                if t.cohorts.last() != Some(cohort) {
                    continue;
                }
                let docs = docs.table1s.get(i).cloned().unwrap_or_default();
                OutputKind::Table1 {
                    table: table.clone(),
                    cohorts: t.cohorts.clone(),
                    plans: t
                        .cohorts
                        .iter()
                        .map(|c| names::table1_plan(table, c))
                        .collect(),
                    rows: t
                        .rows
                        .iter()
                        .zip(docs)
                        .map(|((name, v), doc)| Table1Row {
                            name: name.clone(),
                            summary: Summary::of(v),
                            doc,
                            levels: match v {
                                cir::Value::Sex => ["F", "M", "U"].map(String::from).to_vec(),
                                _ => Vec::new(),
                            },
                        })
                        .collect(),
                    threshold: 10,
                }
            }
            PlanKind::Coverage { table, sources } => OutputKind::Coverage {
                table: table.clone(),
                sources: sources.clone(),
            },
            PlanKind::LabUnits => OutputKind::LabUnits,
            PlanKind::Entries { .. }
            | PlanKind::Feasibility
            | PlanKind::Steps { .. }
            | PlanKind::Cohort { .. }
            | PlanKind::Outcome { .. }
            | PlanKind::Intermediate { .. }
            | PlanKind::Totals { .. }
            | PlanKind::Shared { .. } => continue,
        };
        out.push(Output {
            plan: plan.name.clone(),
            kind,
        });
    }
    out
}
