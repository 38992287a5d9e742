//! Code generation (stage: CIR → DataFusion `LogicalPlan`s), built from the CDM schemas
//! alone: a mechanical walk of the cohort IR. Dates are day numbers (`*_day`, Int32 days since
//! 1970-01-01) so every window reads as plain integer bounds.
//!
//! A script becomes an ordered list of named plans. Each reads CDM tables and the results of
//! earlier plans by name (`steps_<cohort>`, `cohort_<cohort>`, `outcome_<name>`); the runtime
//! executes them in order and registers each result under its name. The modules follow what
//! they generate: cohorts, events, labs, conditions and dates, outputs, shared scans, small
//! expression helpers, the names the runtime also reads, and the plan text.

mod build;
mod cohort;
mod conditions;
mod coverage;
mod events;
mod expr;
pub mod feasibility;
mod labs;
pub mod names;
mod outputs;
mod shared;
pub mod text;
pub mod why;

use std::collections::BTreeMap;
use std::sync::Arc;

use arrow_schema::SchemaRef;
use datafusion_expr::logical_plan::builder::LogicalTableSource;
use datafusion_expr::{Expr, LogicalPlan, LogicalPlanBuilder, TableSource};

use crate::cdm::Table;
use crate::cir;
use crate::diag::Internal;
use build::Build;
use expr::*;
use shared::{Seen, shared_later, shares};

pub(crate) type Result<T, E = Internal> = std::result::Result<T, E>;

impl From<datafusion_common::DataFusionError> for Internal {
    fn from(e: datafusion_common::DataFusionError) -> Self {
        Internal::new("code generation", e.to_string())
    }
}

/// An internal error of code generation.
fn internal(what: impl Into<String>) -> Internal {
    Internal::new("code generation", what)
}

impl Gen {
    /// Starts the plan `name`: its generated names restart, and it has no intermediates yet.
    pub(super) fn begin(&mut self, name: &str) {
        self.current = name.to_string();
        self.counter = 0;
    }

    /// Computes `plan` once as an intermediate of the current plan and returns a scan of it.
    pub(super) fn intermediate(&mut self, alias: &str, plan: LogicalPlan) -> Result<LogicalPlan> {
        // The same relation wanted again (an outcome's events with their conditions, for
        // each of ten cohorts) is the result already computed: the plans are equal, so are
        // their rows.
        if let Some((_, name)) = self.computed.iter().find(|(p, _)| *p == plan) {
            return Ok(self.scan(&name.clone())?.build()?);
        }
        // `tmp_` starts no other plan's name; an alias made in a naming scope of its own
        // (`having`) may repeat one of the plan's, so the name gets a number.
        let mut name = format!("tmp_{}_{alias}", self.current);
        let mut n = 1;
        while self.tables.contains_key(&name) {
            n += 1;
            name = format!("tmp_{}_{alias}_{n}", self.current);
        }
        self.computed.push((plan.clone(), name.clone()));
        let of = self.current.clone();
        let kept = self.kept(name.clone(), PlanKind::Intermediate { of }, plan);
        self.intermediates.push(kept);
        Ok(self.scan(&name)?.build()?)
    }

    /// `plan` as a plan of its own named `name`, registered for the plans after it to read.
    pub(super) fn kept(&mut self, name: String, kind: PlanKind, plan: LogicalPlan) -> NamedPlan {
        self.register(&name, plan.schema().inner().clone());
        NamedPlan { name, kind, plan }
    }

    pub(super) fn register(&mut self, name: &str, schema: SchemaRef) {
        self.tables.insert(name.to_string(), schema);
    }

    pub(super) fn fresh(&mut self, base: &str) -> String {
        self.counter += 1;
        format!("{base}_{}", self.counter)
    }

    pub(super) fn scan_cdm(&self, table: Table) -> Result<LogicalPlanBuilder> {
        Ok(LogicalPlanBuilder::scan(
            table.name(),
            table_source(table.scan_schema()),
            None,
        )?)
    }

    /// The patient table, or its shared read when the plans join it more than once.
    pub(super) fn scan_patient(&mut self) -> Result<LogicalPlanBuilder> {
        self.patient_reads += 1;
        match self.shared_patient.clone() {
            Some(name) => self.scan(&name),
            None => self.scan_cdm(Table::Patient),
        }
    }

    pub(super) fn scan(&self, name: &str) -> Result<LogicalPlanBuilder> {
        let schema = self
            .tables
            .get(name)
            .ok_or_else(|| internal(format!("no table {name}")))?;
        Ok(LogicalPlanBuilder::scan(
            name,
            table_source(schema.clone()),
            None,
        )?)
    }

    /// Projects every column of a plan (unqualified) plus `extra`.
    pub(super) fn keep_all(
        plan: &LogicalPlan,
        alias: &str,
        extra: Vec<Expr>,
        skip: &[&str],
    ) -> Vec<Expr> {
        let mut out: Vec<Expr> = plan
            .schema()
            .fields()
            .iter()
            .filter(|f| !skip.contains(&f.name().as_str()))
            .map(|f| qc(alias, f.name()).alias(f.name()))
            .collect();
        out.extend(extra);
        out
    }
}

/// One plan of a compiled script.
#[derive(Debug, Clone)]
pub struct NamedPlan {
    /// The table the result is registered as (`steps_new_users`, `report_new_users`).
    pub name: String,
    pub kind: PlanKind,
    pub plan: LogicalPlan,
}

#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum PlanKind {
    /// A cohort's entry events: patient, index day, attributes and eras.
    Entries { cohort: String },
    /// Every entry of a cohort with one yes/no column per step (`step_1` …).
    Steps { cohort: String, steps: usize },
    /// Persons (and entries) left after each step, one row.
    Attrition { cohort: String, labels: Vec<String> },
    /// The entries that pass every step: the cohort.
    Cohort { cohort: String },
    /// One row per cohort entry with an outcome: its date.
    Outcome { outcome: String, cohort: String },
    /// Patient-level rows that stay at the site.
    Export { cohort: String },
    /// A relation a later plan reads several times (the events a `having` tests), computed
    /// once and kept for it: the engine does not share common subplans by itself.
    Intermediate { of: String },
    /// The rows of a CDM table that the script's code sets select (and only the columns its
    /// tests read), read from the data once for every plan that tests them; `entered`: the
    /// rows later plans test, of the patients the cohorts entered.
    Shared {
        table: String,
        #[serde(default)]
        entered: bool,
    },
    /// One cohort's rows of a Table 1 (a value per entry and row); the runtime summarises
    /// them per cohort (patient-level, never written).
    Table1 { table: String, cohort: String },
    /// Counts by strata; the runtime suppresses small cells before writing.
    Report {
        report: String,
        strata: Vec<String>,
        counts: Vec<String>,
    },
    /// Rows of a CDM table by hospital: all, without a standard code, and matched by each of
    /// the script's sources (`source_1` … in the order of `sources`). Site-only.
    Coverage { table: String, sources: Vec<String> },
    /// Lab rows in units mid cannot convert, by hospital, item and unit. Site-only.
    LabUnits,
    /// A CDM table's rows by hospital, and its rows without a standard code: what the data
    /// hold whatever the script, so the runtime reuses the counts while the table's files
    /// are unchanged, as it does the data checks' (a pass over every row: 0.3–0.5 s for the
    /// 59 M lab rows of the 1 M-patient network). Site-only; the coverage plan reads it.
    Totals { table: String },
    /// A feasibility request's counts (exact; the runtime applies disclosure control).
    Feasibility,
}

/// Unions of unions as one union of all their inputs (`UNION ALL` is associative): a
/// cohort's steps are branches side by side, so adding one adds a branch and moves no other
/// (datafusion-proto decodes a union as nested pairs, and the runtime flattens it the same
/// way before it compares the plans with the reviewed ones).
pub fn flatten_unions(plan: LogicalPlan) -> datafusion_common::Result<LogicalPlan> {
    use datafusion_common::tree_node::{Transformed, TreeNode};
    plan.transform_up(|p| {
        let LogicalPlan::Union(u) = &p else {
            return Ok(Transformed::no(p));
        };
        if !u
            .inputs
            .iter()
            .any(|i| matches!(i.as_ref(), LogicalPlan::Union(_)))
        {
            return Ok(Transformed::no(p));
        }
        let mut inputs = Vec::new();
        for i in &u.inputs {
            match i.as_ref() {
                LogicalPlan::Union(inner) => inputs.extend(inner.inputs.iter().cloned()),
                _ => inputs.push(i.clone()),
            }
        }
        match datafusion_expr::Union::try_new(inputs) {
            Ok(flat) => Ok(Transformed::yes(LogicalPlan::Union(flat))),
            Err(_) => Ok(Transformed::no(p)),
        }
    })
    .map(|t| t.data)
}

/// Every plan with its unions flattened (`flatten_unions`).
fn flattened(plans: Vec<NamedPlan>) -> Result<Vec<NamedPlan>> {
    plans
        .into_iter()
        .map(|p| {
            Ok(NamedPlan {
                plan: flatten_unions(p.plan)?,
                ..p
            })
        })
        .collect()
}

/// Builds every plan of a program, in execution order.
pub fn cir_to_plan(p: &cir::Program) -> Result<Vec<NamedPlan>> {
    flattened(program_plans(p)?)
}

fn program_plans(p: &cir::Program) -> Result<Vec<NamedPlan>> {
    // A first pass finds the code-set scans of cohort entries in each CDM table. A table
    // scanned that way more than once is read once, as a shared plan, and those scans read
    // that instead: the engine does not share scans between plans by itself (six drug
    // classes, one drug scan). Only entry scans: they read the whole table anyway, where a
    // step's or outcome's scan is narrowed to the cohort's patients by the join it feeds (a
    // dynamic filter), which sharing would lose (measured: 0.80 s -> 0.95 s, 2x memory).
    // The scans outside the entries (steps, outcomes, reports, exports) of a table read
    // more than once are read once, narrowed to the patients of every cohort's entries:
    // each read decodes the whole table (the thiamazole example read the lab table 26
    // times, the antidepressant example the diagnosis table once per cohort).
    let mut probe = Gen::default();
    let mut first = plans(&mut probe, p)?;
    let later = shared_later(&probe, &first);
    let shared: Vec<Table> = probe
        .seen
        .iter()
        .filter(|(t, seen)| shares(**t, seen))
        .map(|(t, _)| *t)
        .collect();
    if later.is_empty() && shared.is_empty() {
        // Nothing to share: the first pass is the program.
        first.append(&mut probe.coverage(p)?);
        return Ok(first);
    }
    // The patient table joined by several plans (each cohort's entries, a `having` on the
    // patient's attributes) is read once, for the patients of the shared entry reads: each
    // join read it whole, decoding every patient's keys to find its rows (q3's six cohorts:
    // six reads of the patient table). Only when every entry reads its events from those
    // reads, so no patient outside them can enter a cohort and every later plan's rows
    // meet the entries; otherwise each join reads the table (a whole copy of the table in
    // memory would be 0.5 GB on the 8.3 M-patient network).
    //
    // The first pass's entries read the tables themselves, so whether the second's would
    // all be shared is seen from them: a script that cannot share the patients costs no
    // third pass. The check after the second pass stays, for any read left unshared.
    let entries_tables = first
        .iter()
        .filter(|np| of_entries(np))
        .flat_map(|np| cdm_tables(&np.plan))
        .filter(|t| *t != Table::Patient)
        .collect::<std::collections::BTreeSet<Table>>();
    if probe.patient_reads >= 2
        && !shared.is_empty()
        && entries_tables.iter().all(|t| shared.contains(t))
    {
        let out = second_pass(&probe, p, &shared, &later, true)?;
        if !out.iter().any(|np| of_entries(np) && reads_cdm(&np.plan)) {
            return Ok(out);
        }
    }
    second_pass(&probe, p, &shared, &later, false)
}

/// The program with the shared reads the first pass found (`shared`: of the entries;
/// `later`: after them), and with `patients`, the patient table read once for the patients
/// of the entries' shared reads.
fn second_pass(
    probe: &Gen,
    p: &cir::Program,
    shared: &[Table],
    later: &[Table],
    patients: bool,
) -> Result<Vec<NamedPlan>> {
    let mut g = Gen::default();
    let mut out = Vec::new();
    let shared_read = |table: Table| PlanKind::Shared {
        table: table.name().to_string(),
        entered: false,
    };
    for table in shared {
        let name = format!("tmp_shared_{table}");
        let plan = g.shared_scan(*table, &probe.seen[table])?;
        g.shared
            .insert(*table, (name.clone(), probe.seen[table].clone()));
        out.push(g.kept(name, shared_read(*table), plan));
    }
    if patients {
        let name = format!("tmp_shared_{}", Table::Patient);
        let plan = g.candidate_patients(shared)?;
        g.shared_patient = Some(name.clone());
        out.push(g.kept(name, shared_read(Table::Patient), plan));
    }
    for table in later {
        if let Some(seen) = probe.later_seen.get(table) {
            g.later_seen.insert(*table, seen.clone());
        }
    }
    out.append(&mut plans(&mut g, p)?);
    out.append(&mut g.coverage(p)?);
    Ok(out)
}

/// Whether a plan is a cohort's entries or computed for them.
pub(super) fn of_entries(np: &NamedPlan) -> bool {
    match &np.kind {
        PlanKind::Entries { .. } => true,
        PlanKind::Intermediate { of } => of.starts_with("entries_"),
        _ => false,
    }
}

/// Whether a plan reads a CDM table itself (not a shared read of it).
fn reads_cdm(plan: &LogicalPlan) -> bool {
    !cdm_tables(plan).is_empty()
}

/// The CDM tables a plan reads itself.
fn cdm_tables(plan: &LogicalPlan) -> Vec<Table> {
    scanned(plan)
        .iter()
        .filter_map(|name| Table::from_name(name))
        .collect()
}

/// The name of every table a plan scans (CDM tables, other plans' results), in plan order.
pub fn scanned(plan: &LogicalPlan) -> Vec<String> {
    use datafusion_common::tree_node::TreeNodeRecursion;
    let mut found = Vec::new();
    let _ = plan.apply_with_subqueries(|node| {
        if let LogicalPlan::TableScan(scan) = node {
            found.push(scan.table_name.table().to_string());
        }
        Ok(TreeNodeRecursion::Continue)
    });
    found
}

impl Gen {
    /// A cohort's entries plan (and its intermediates).
    fn entries_plan(&mut self, c: &cir::Cohort, out: &mut Vec<NamedPlan>) -> Result<()> {
        self.begin(&format!("entries_{}", c.name));
        let entries = self.cohort_entries(c)?;
        out.append(&mut self.intermediates);
        self.register(
            &format!("entries_{}", c.name),
            entries.schema().inner().clone(),
        );
        out.push(NamedPlan {
            name: format!("entries_{}", c.name),
            kind: PlanKind::Entries {
                cohort: c.name.clone(),
            },
            plan: entries,
        });
        Ok(())
    }

    /// A cohort's steps, attrition and members plans (and their intermediates).
    fn cohort_plans(&mut self, c: &cir::Cohort, out: &mut Vec<NamedPlan>) -> Result<()> {
        self.begin(&format!("steps_{}", c.name));
        let steps = self.cohort_steps(c)?;
        out.append(&mut self.intermediates);
        let steps_schema = steps.schema().inner().clone();
        out.push(NamedPlan {
            name: format!("steps_{}", c.name),
            kind: PlanKind::Steps {
                cohort: c.name.clone(),
                steps: c.steps.len(),
            },
            plan: steps,
        });
        self.register(&format!("steps_{}", c.name), steps_schema.clone());
        self.begin(&format!("attrition_{}", c.name));
        let attrition = self.attrition(c)?;
        out.append(&mut self.intermediates);
        let mut labels = vec![format!(
            "entry: {}",
            c.entry.text.trim_start_matches("index = ").trim()
        )];
        labels.extend(c.steps.iter().map(|s| s.label.clone()));
        out.push(NamedPlan {
            name: format!("attrition_{}", c.name),
            kind: PlanKind::Attrition {
                cohort: c.name.clone(),
                labels,
            },
            plan: attrition,
        });
        self.begin(&format!("cohort_{}", c.name));
        let members = self.members(c)?;
        out.append(&mut self.intermediates);
        self.register(
            &format!("cohort_{}", c.name),
            members.schema().inner().clone(),
        );
        out.push(NamedPlan {
            name: format!("cohort_{}", c.name),
            kind: PlanKind::Cohort {
                cohort: c.name.clone(),
            },
            plan: members,
        });
        Ok(())
    }
}

/// Every plan of the script, in the order they run.
fn plans(g: &mut Gen, p: &cir::Program) -> Result<Vec<NamedPlan>> {
    let mut out = Vec::new();
    g.ends = p
        .cohorts
        .iter()
        .map(|c| (c.name.clone(), c.end.clone()))
        .collect();
    g.entries = p
        .cohorts
        .iter()
        .map(|c| (c.name.clone(), c.entry.events.clone()))
        .collect();
    // With shared reads after the entries, every cohort's entries come first: the reads
    // are narrowed to their patients.
    let later: Vec<Table> = g.later_seen.keys().copied().collect();
    for c in &p.cohorts {
        g.entries_plan(c, &mut out)?;
        if later.is_empty() {
            g.cohort_plans(c, &mut out)?;
        }
    }
    if !later.is_empty() {
        g.entered_patients = Some(g.entered(p)?);
        for table in later {
            let name = format!("tmp_entered_{table}");
            let plan = g.entered_scan(table)?;
            g.register(&name, plan.schema().inner().clone());
            g.later_shared.insert(table, name.clone());
            out.push(NamedPlan {
                name,
                kind: PlanKind::Shared {
                    table: table.name().to_string(),
                    entered: true,
                },
                plan,
            });
        }
        for c in &p.cohorts {
            g.cohort_plans(c, &mut out)?;
        }
    }
    for o in &p.outcomes {
        for cohort in &o.cohorts {
            let name = names::outcome_plan(o, cohort);
            g.begin(&name);
            let plan = g.outcome(o, cohort)?;
            out.append(&mut g.intermediates);
            g.register(&name, plan.schema().inner().clone());
            g.outcome_plans
                .insert((o.name.clone(), cohort.clone()), name.clone());
            out.push(NamedPlan {
                name,
                kind: PlanKind::Outcome {
                    outcome: o.name.clone(),
                    cohort: cohort.clone(),
                },
                plan,
            });
        }
    }
    let export_names = names::export_plans(
        &p.exports
            .iter()
            .map(|e| (e.name.as_deref(), e.cohort.as_str()))
            .collect::<Vec<_>>(),
    );
    for (e, name) in p.exports.iter().zip(export_names) {
        let cohort = p
            .cohort(&e.cohort)
            .ok_or_else(|| internal(format!("no cohort {}", e.cohort)))?;
        g.begin(&name);
        let plan = g.export(e, cohort, true)?;
        out.append(&mut g.intermediates);
        out.push(NamedPlan {
            name,
            kind: PlanKind::Export {
                cohort: e.cohort.clone(),
            },
            plan,
        });
    }
    for r in &p.reports {
        g.begin(&format!("report_{}", r.name));
        let (plan, strata, counts) = g.report(r, p)?;
        out.append(&mut g.intermediates);
        out.push(NamedPlan {
            name: format!("report_{}", r.name),
            kind: PlanKind::Report {
                report: r.name.clone(),
                strata,
                counts,
            },
            plan,
        });
    }
    for t in &p.table1s {
        for cohort_name in &t.cohorts {
            let cohort = p
                .cohort(cohort_name)
                .ok_or_else(|| internal(format!("no cohort {cohort_name}")))?;
            let name = names::table1_plan(&t.name, cohort_name);
            g.begin(&name);
            // The rows are columns of a patient-level table, summarised by the runtime.
            let rows = cir::Export {
                name: None,
                cohort: cohort_name.clone(),
                columns: t.rows.clone(),
                by_period: false,
                tested: Vec::new(),
            };
            let plan = g.export(&rows, cohort, false)?;
            out.append(&mut g.intermediates);
            out.push(NamedPlan {
                name,
                kind: PlanKind::Table1 {
                    table: t.name.clone(),
                    cohort: cohort_name.clone(),
                },
                plan,
            });
        }
    }
    Ok(out)
}

/// The schema-only table sources plans are built from; the runtime swaps in real providers.
pub fn table_source(schema: SchemaRef) -> Arc<dyn TableSource> {
    Arc::new(LogicalTableSource::new(schema))
}

/// A relation every condition and window is evaluated against: cohort entries (keyed by
/// patient and index day) or the events a `having` is about.
#[derive(Clone)]
struct Ctx {
    /// The context with every column computed so far.
    plan: LogicalPlan,
    /// What events are joined to: the context's anchors without its flags. Kept apart so a
    /// condition's subtree does not repeat every earlier condition.
    base: LogicalPlan,
    keys: Vec<String>,
    /// The alias this context is joined under in plans.
    alias: String,
}

impl Ctx {
    fn has(&self, column: &str) -> bool {
        self.plan
            .schema()
            .fields()
            .iter()
            .any(|f| f.name() == column)
    }
}

/// A stream of event rows: per patient, or per context row (carrying the context's columns).
#[derive(Clone)]
struct Rel {
    plan: LogicalPlan,
    /// Rows carry the context's columns and keys.
    ctx_level: bool,
}

#[derive(Default)]
struct Gen {
    /// Intermediate tables by name.
    tables: BTreeMap<String, SchemaRef>,
    /// Counter for generated column and alias names, reset per plan so plans read the same
    /// whatever else the script contains.
    counter: usize,
    /// The plan being built (intermediate plans are named after it).
    current: String,
    /// Intermediate plans the current plan reads, in the order they must run.
    intermediates: Vec<NamedPlan>,
    /// Every intermediate's plan so far, and its name (an equal one is read, not redone).
    computed: Vec<(LogicalPlan, String)>,
    /// The code-set scans made of each CDM table (what a shared scan must select).
    seen: BTreeMap<Table, Seen>,
    /// CDM tables read through a shared plan: its name, and the scans it was made for
    /// (what its rows hold).
    shared: BTreeMap<Table, (String, Seen)>,
    /// Building a cohort's entry events (the scans that may be shared).
    in_entry: bool,
    /// The cohort whose entries an export or report is reading (its outcomes' plans).
    cohort: String,
    /// Each outcome's plan per cohort.
    outcome_plans: BTreeMap<(String, String), String>,
    /// Each cohort's end of follow-up (what `censoring` reads).
    ends: BTreeMap<String, cir::Date>,
    /// Each cohort's entry events (what `index_drug` reads).
    entries: BTreeMap<String, cir::Events>,
    /// Drug sources add `ev_member`, the code set each row belongs to (`index_drug`).
    members: bool,
    /// The code-set scans outside cohort entries (steps, outcomes, exports, reports) of
    /// each CDM table: what a shared read after the entries must select.
    later_seen: BTreeMap<Table, Seen>,
    /// CDM tables read after the entries through a shared plan narrowed to the patients of
    /// every cohort's entries, and its name.
    later_shared: BTreeMap<Table, String>,
    /// The patients some cohort entered, when every cohort's entries run first (with the
    /// shared reads after them): what the reads after the entries are narrowed to.
    entered_patients: Option<LogicalPlan>,
    /// Each source's rows built so far, and the scans building them noted (replayed when the
    /// same source is read again).
    sources: BTreeMap<String, (LogicalPlan, Vec<shared::Note>)>,
    /// The scans noted while a source is built.
    noting: Option<Vec<shared::Note>>,
    /// How many times the plans join the patient table (`scan_patient`).
    patient_reads: usize,
    /// The patient table's shared read, when the plans join it more than once.
    shared_patient: Option<String>,
}

#[cfg(test)]
mod tests {
    use crate::testing::plans;

    #[test]
    fn a_cohort_is_four_plans() {
        insta::assert_snapshot!(plans(
            r#"codes x: drug = yj "2432001"
cohort c {
  index = first drug x
  exclude drug x within 180 days before index
}"#
        ), @r#"
            -- entries_c (cohort entries)
            Sort: c.hospital_id ASC NULLS LAST, c.patient_id ASC NULLS LAST, c.index_day ASC NULLS LAST
              SubqueryAlias: c
                Filter: index_day BETWEEN obs_start_day AND obs_end_day
                  Projection:
                      entry.hospital_id AS hospital_id,
                      entry.patient_id AS patient_id,
                      CAST(entry.index_day AS Date32) AS index_date,
                      entry.index_day AS index_day,
                      patient.sex AS sex,
                      patient.birth_date AS birth_date,
                      CAST(patient.first_record_date AS Int32) AS obs_start_day,
                      CAST(patient.last_record_date AS Int32) AS obs_end_day,
                      CAST(patient.death_date AS Int32) AS death_day
                    Inner Join: entry.hospital_id = patient.hospital_id, entry.patient_id = patient.patient_id
                      SubqueryAlias: entry
                        Projection: drug_x.hospital_id, drug_x.patient_id, ev_day AS index_day
                          Aggregate:
                              groupBy=[[drug_x.hospital_id, drug_x.patient_id]],
                              aggr=[[min(drug_x.ev_day) AS ev_day]]
                            SubqueryAlias: drug_x
                              Projection:
                                  drug.hospital_id,
                                  drug.patient_id,
                                  CAST(drug.date AS Int32) AS ev_day,
                                  CAST(drug.end_date AS Int32) AS ev_end_day,
                                  Float64(NULL) AS ev_value,
                                  Float64(NULL) AS ev_ref_low,
                                  Float64(NULL) AS ev_ref_high,
                                  drug.visit_id AS ev_visit
                                Filter: drug.yj_code LIKE Utf8("2432001%")
                                  TableScan: drug
                      SubqueryAlias: patient
                        TableScan: patient

            -- tmp_steps_c_entries (intermediate, computed once for the plan after it)
            SubqueryAlias: c
              Projection:
                  hospital_id,
                  patient_id,
                  index_date,
                  index_day,
                  sex,
                  birth_date,
                  obs_start_day,
                  obs_end_day,
                  death_day,
                  end_day
                Projection:
                    c.hospital_id AS hospital_id,
                    c.patient_id AS patient_id,
                    c.index_date AS index_date,
                    c.index_day AS index_day,
                    c.sex AS sex,
                    c.birth_date AS birth_date,
                    c.obs_start_day AS obs_start_day,
                    c.obs_end_day AS obs_end_day,
                    c.death_day AS death_day,
                    least(c.obs_end_day, c.death_day) AS end_day
                  SubqueryAlias: c
                    TableScan: entries_c

            -- tmp_steps_c_step_exclude_drug_x_within_180_days_before_index (intermediate, computed once for the plan after it)
            Projection:
                c.hospital_id,
                c.patient_id,
                c.index_day,
                CASE WHEN NOT c.cond_2 THEN Boolean(true) END AS passed
              SubqueryAlias: c
                Projection:
                    c.hospital_id AS hospital_id,
                    c.patient_id AS patient_id,
                    c.index_date AS index_date,
                    c.index_day AS index_day,
                    c.sex AS sex,
                    c.birth_date AS birth_date,
                    c.obs_start_day AS obs_start_day,
                    c.obs_end_day AS obs_end_day,
                    c.death_day AS death_day,
                    c.end_day AS end_day,
                    cond_2.mark AS cond_2
                  LeftMark Join:
                      c.hospital_id = cond_2.hospital_id,
                      c.patient_id = cond_2.patient_id,
                      c.index_day = cond_2.index_day
                    SubqueryAlias: c
                      TableScan: tmp_steps_c_entries
                    SubqueryAlias: cond_2
                      Distinct:
                        Projection: hospital_id, patient_id, index_day
                          Filter: ev_day >= index_day + Int32(-180) AND ev_day <= index_day + Int32(-1)
                            Projection:
                                c.hospital_id AS hospital_id,
                                c.patient_id AS patient_id,
                                c.index_date AS index_date,
                                c.index_day AS index_day,
                                c.sex AS sex,
                                c.birth_date AS birth_date,
                                c.obs_start_day AS obs_start_day,
                                c.obs_end_day AS obs_end_day,
                                c.death_day AS death_day,
                                c.end_day AS end_day,
                                ev_1.ev_day AS ev_day,
                                ev_1.ev_end_day AS ev_end_day,
                                ev_1.ev_value AS ev_value,
                                ev_1.ev_ref_low AS ev_ref_low,
                                ev_1.ev_ref_high AS ev_ref_high,
                                ev_1.ev_visit AS ev_visit
                              Inner Join:
                                   Filter: c.hospital_id = ev_1.hospital_id AND c.patient_id = ev_1.patient_id
                                SubqueryAlias: c
                                  TableScan: tmp_steps_c_entries
                                SubqueryAlias: ev_1
                                  SubqueryAlias: drug_x
                                    Projection:
                                        drug.hospital_id,
                                        drug.patient_id,
                                        CAST(drug.date AS Int32) AS ev_day,
                                        CAST(drug.end_date AS Int32) AS ev_end_day,
                                        Float64(NULL) AS ev_value,
                                        Float64(NULL) AS ev_ref_low,
                                        Float64(NULL) AS ev_ref_high,
                                        drug.visit_id AS ev_visit
                                      Filter: drug.yj_code LIKE Utf8("2432001%")
                                        TableScan: drug

            -- steps_c (cohort steps)
            Sort: c.hospital_id ASC NULLS LAST, c.patient_id ASC NULLS LAST, c.index_day ASC NULLS LAST
              SubqueryAlias: c
                Projection:
                    c.hospital_id AS hospital_id,
                    c.patient_id AS patient_id,
                    c.index_date AS index_date,
                    c.index_day AS index_day,
                    c.sex AS sex,
                    c.birth_date AS birth_date,
                    c.obs_start_day AS obs_start_day,
                    c.obs_end_day AS obs_end_day,
                    c.death_day AS death_day,
                    c.end_day AS end_day,
                    coalesce(steps.step_exclude_drug_x_within_180_days_before_index, Boolean(false)) AS step_exclude_drug_x_within_180_days_before_index
                  Left Join:
                      c.hospital_id = steps.hospital_id,
                      c.patient_id = steps.patient_id,
                      c.index_day = steps.index_day
                    SubqueryAlias: c
                      TableScan: tmp_steps_c_entries
                    SubqueryAlias: steps
                      Aggregate:
                          groupBy=[[
                              tmp_steps_c_step_exclude_drug_x_within_180_days_before_index.hospital_id,
                              tmp_steps_c_step_exclude_drug_x_within_180_days_before_index.patient_id,
                              tmp_steps_c_step_exclude_drug_x_within_180_days_before_index.index_day
                          ]],
                          aggr=[[
                              bool_or(tmp_steps_c_step_exclude_drug_x_within_180_days_before_index.passed) FILTER (WHERE step = Utf8("step_exclude_drug_x_within_180_days_before_index")) AS step_exclude_drug_x_within_180_days_before_index
                          ]]
                        Projection:
                            tmp_steps_c_step_exclude_drug_x_within_180_days_before_index.hospital_id,
                            tmp_steps_c_step_exclude_drug_x_within_180_days_before_index.patient_id,
                            tmp_steps_c_step_exclude_drug_x_within_180_days_before_index.index_day,
                            Utf8("step_exclude_drug_x_within_180_days_before_index") AS step,
                            tmp_steps_c_step_exclude_drug_x_within_180_days_before_index.passed
                          TableScan: tmp_steps_c_step_exclude_drug_x_within_180_days_before_index

            -- attrition_c (attrition)
            Aggregate:
                groupBy=[[]],
                aggr=[[
                    count(DISTINCT concat(steps_c.hospital_id, Utf8("/"), CAST(steps_c.patient_id AS Utf8))) AS persons_0,
                    count(Int32(1)) AS entries_0,
                    count(DISTINCT concat(steps_c.hospital_id, Utf8("/"), CAST(steps_c.patient_id AS Utf8))) FILTER (WHERE steps_c.step_exclude_drug_x_within_180_days_before_index) AS persons_1,
                    count(Int32(1)) FILTER (WHERE steps_c.step_exclude_drug_x_within_180_days_before_index) AS entries_1
                ]]
              TableScan: steps_c

            -- cohort_c (cohort)
            Projection:
                steps_c.hospital_id,
                steps_c.patient_id,
                steps_c.index_date,
                steps_c.index_day,
                steps_c.sex,
                steps_c.birth_date,
                steps_c.obs_start_day,
                steps_c.obs_end_day,
                steps_c.death_day,
                steps_c.end_day
              Filter: steps_c.step_exclude_drug_x_within_180_days_before_index
                TableScan: steps_c

            -- tmp_totals_drug (a table's rows by hospital, the same for every script: reused while its files are unchanged, site-only)
            Aggregate:
                groupBy=[[drug.hospital_id]],
                aggr=[[
                    count(Int32(1)) AS rows,
                    count(Int32(1)) FILTER (WHERE drug.yj_code IS NULL) AS unmapped
                ]]
              TableScan: drug

            -- coverage_drug (data coverage by hospital, site-only)
            Sort: hospital_id ASC NULLS LAST
              Aggregate:
                  groupBy=[[hospital_id]],
                  aggr=[[sum(rows) AS rows, sum(unmapped) AS unmapped, sum(source_1) AS source_1]]
                Union
                  Projection:
                      tmp_totals_drug.hospital_id,
                      tmp_totals_drug.rows,
                      tmp_totals_drug.unmapped,
                      Int64(0) AS source_1
                    TableScan: tmp_totals_drug
                  Projection: drug.hospital_id, Int64(0) AS rows, Int64(0) AS unmapped, source_1
                    Aggregate:
                        groupBy=[[drug.hospital_id]],
                        aggr=[[count(Int32(1)) FILTER (WHERE drug.yj_code LIKE Utf8("2432001%")) AS source_1]]
                      Filter: drug.yj_code LIKE Utf8("2432001%")
                        TableScan: drug
        "#);
    }
}
