//! Names shared by code generation and the runtime (stage: CIR → plans): the plan names,
//! key columns and count columns the runtime reads from results. They are made here only,
//! so the plans and what reads their results cannot drift apart.

use crate::cir::Stratum;

/// The columns that identify a patient (ids are per hospital).
pub const PERSON: [&str; 2] = ["hospital_id", "patient_id"];

/// The event columns every source projects to, in this order.
pub const EV_COLUMNS: [&str; 6] = [
    "ev_day",
    "ev_end_day",
    "ev_value",
    "ev_ref_low",
    "ev_ref_high",
    "ev_visit",
];

/// The code set a drug row belongs to, added to event rows only for `index_drug`.
pub const MEMBER: &str = "ev_member";

/// The helper column beside an export's lab value column: how many results were behind it
/// (the runtime tells an empty value's reasons apart by it, then drops it).
pub fn results_helper(column: &str) -> String {
    format!("{column}__results")
}

/// A cohort entry: a patient and an index day.
pub fn cohort_keys() -> Vec<String> {
    vec![
        "hospital_id".into(),
        "patient_id".into(),
        "index_day".into(),
    ]
}

pub fn entries_plan(cohort: &str) -> String {
    format!("entries_{cohort}")
}

pub fn steps_plan(cohort: &str) -> String {
    format!("steps_{cohort}")
}

pub fn attrition_plan(cohort: &str) -> String {
    format!("attrition_{cohort}")
}

pub fn cohort_plan(cohort: &str) -> String {
    format!("cohort_{cohort}")
}

/// The plan of an outcome's first events in one of its cohorts: `outcome_<o>`, or
/// `outcome_<o>_in_<cohort>` when it is an outcome of several.
pub fn outcome_plan(outcome: &crate::cir::Outcome, cohort: &str) -> String {
    if outcome.cohorts.len() > 1 {
        format!("outcome_{}_in_{cohort}", outcome.name)
    } else {
        format!("outcome_{}", outcome.name)
    }
}

/// The totals of a table that its coverage plan reads (`tmp_totals_drug`).
pub fn totals_plan(table: &str) -> String {
    format!("tmp_totals_{table}")
}

/// A coverage plan of a table (`coverage_drug`) or of lab units (`coverage_lab_units`).
pub fn coverage_plan(what: &str) -> String {
    format!("coverage_{what}")
}

/// Whether `plan` is a coverage plan: no other plan's name starts so (`entries_`,
/// `steps_`, `report_`, …).
pub fn is_coverage_plan(plan: &str) -> bool {
    plan.starts_with("coverage_")
}

/// The plan (and file) name of each export: `export_<name>` for a named one, else
/// `export_<cohort>`, numbered (`export_<cohort>_<n>`, n its place among all exports) when
/// a cohort has several without a name. Each export is `(its name, its cohort)`.
pub fn export_plans(exports: &[(Option<&str>, &str)]) -> Vec<String> {
    exports
        .iter()
        .enumerate()
        .map(|(i, (name, cohort))| match name {
            Some(n) => format!("export_{n}"),
            None if exports
                .iter()
                .filter(|(n, c)| n.is_none() && c == cohort)
                .count()
                > 1 =>
            {
                format!("export_{cohort}_{}", i + 1)
            }
            None => format!("export_{cohort}"),
        })
        .collect()
}

pub fn report_plan(report: &str) -> String {
    format!("report_{report}")
}

/// Attrition: persons left after step `i` (0: every entry's person, before the steps).
pub fn persons_after(i: usize) -> String {
    format!("persons_{i}")
}

/// Attrition: entries left after step `i`.
pub fn entries_after(i: usize) -> String {
    format!("entries_{i}")
}

/// The outcome plans' date column.
pub const OUTCOME_DAY: &str = "outcome_day";

/// Report counts: distinct persons in the stratum.
pub const PERSONS: &str = "persons";

/// Report counts of an outcome: persons with it, person-days at risk, persons at risk (by
/// period).
pub fn outcome_persons(outcome: &str) -> String {
    format!("{outcome}_persons")
}

pub fn outcome_person_days(outcome: &str) -> String {
    format!("{outcome}_person_days")
}

pub fn outcome_at_risk(outcome: &str) -> String {
    format!("{outcome}_at_risk")
}

/// The column a report stratum becomes.
pub fn stratum_column(s: &Stratum) -> String {
    match s {
        Stratum::Sex => "sex".into(),
        Stratum::Hospital => "hospital_id".into(),
        Stratum::AgeBand(_) => "age_band".into(),
        Stratum::Year => "index_year".into(),
        Stratum::Month => "index_month".into(),
        Stratum::Quarter => "index_quarter".into(),
        Stratum::FiscalYear => "index_fiscal_year".into(),
        Stratum::Period => "period".into(),
        Stratum::Cohort => "cohort".into(),
        Stratum::IndexDrug => "index_drug".into(),
        Stratum::Grade { name, .. } => name.clone(),
        Stratum::TestingHistory(_) => "tested_before".into(),
        Stratum::Condition { name, .. } => name.clone(),
    }
}

/// The plan of one cohort's rows of a Table 1.
pub fn table1_plan(table: &str, cohort: &str) -> String {
    format!("table1_{table}_{cohort}")
}
