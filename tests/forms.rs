//! Every documented form, compiled and run end to end on the boundary data: every report
//! stratum alone and in pairs, every anchor, every window form and every selector. A valid
//! script never ends in an internal error or an engine error.

use crate::e2e::{boundary_data, compile, run};
use crate::fixture::{Cdm, d};

const STRATA: &[&str] = &[
    "sex",
    "hospital",
    "age band 10 years",
    "year",
    "fiscal year",
    "quarter",
    "month",
    "period",
    "tested(lab neutrophil_count)",
    "cohort",
    "drug ptu within 30 days after index",
];

const WINDOWS: &[&str] = &[
    "within 30 days before index",
    "within 30 days after index",
    "within 30 days around index",
    "within 30 days on or before index",
    "within 30 days on or after index",
    "between index - 10 days and index + 10 days",
    "before index",
    "after index",
    "on or before index",
    "on or after index",
    "on index",
    "same day as index",
    "same month as index",
    "same year as index",
    "same stay as index",
    "within 30 days before end",
    "within 10 days after start of exposure",
    "on or before end of exposure",
    "within 30 days before end of observation",
    "after start of observation",
    "within 30 days before (first drug ptu after index)",
    "between earliest(index + 1 day, end) and latest(index + 30 days, end)",
    "within 30 days after death",
];

const CONDITIONS: &[&str] = &[
    "drug ptu WINDOW",
    "no drug ptu WINDOW",
    "at least 2 drug ptu WINDOW",
    "at least 2 days of drug ptu WINDOW",
    "at most 1 visits of drug ptu WINDOW",
    "exactly 1 records of drug ptu WINDOW",
    "(first drug ptu WINDOW) within 400 days after index",
    "(last drug ptu WINDOW) within 400 days after index",
    "(nth(2) drug ptu WINDOW) within 400 days after index",
    "visit inpatient having drug ptu during it",
    "visit any having index during it",
    "lab neutrophil_count <= 1500 /uL WINDOW",
    "lab neutrophil_count < 0.5 x baseline WINDOW",
    "lab neutrophil_count < 1 x LLN WINDOW",
    "lab neutrophil_count < 1 x site_LLN WINDOW",
    "ctcae_grade(lab neutrophil_count) >= 2 WINDOW",
    "age at index >= 15",
    "age at (first drug ptu after index) < 90",
    "sex = F",
    "hospital = \"H01\"",
    "observed 180 days before index",
    "observed 30 days after index",
    "index between 2020-01-01 and 2020-12-31",
    "(first drug ptu after index) + 30 days <= end",
];

fn script(step: &str, strata: &str) -> String {
    format!(
        r#"import labs.{{neutrophil_count}}
import grades.{{ctcae_grade}}
codes thiamazole: drug = yj "2432001"
codes ptu: drug = yj "2432002"
cohort c {{
  index = first drug thiamazole
  require {step}
  era exposure = drug thiamazole gap 30 days grace 7 days
  end = earliest(end of exposure, index + 140 days)
  periods of 14 days from index + 1 day until index + 140 days then until end
}}
cohort d {{
  index = first drug thiamazole
  era exposure = drug thiamazole gap 30 days grace 7 days
  end = earliest(end of exposure, index + 140 days)
  periods of 14 days from index + 1 day until index + 140 days then until end
}}
outcome low in c = lab neutrophil_count <= 1500 /uL
outcome low_d in d = lab neutrophil_count <= 1500 /uL
export c with low, age at index, sex, end of exposure, {step}
report c, d with low, low_d by {strata}
"#
    )
}

/// Compiles and runs a script; `Err` names what failed.
fn check(src: &str) -> Result<(), String> {
    let compiled =
        match mid_compiler::compile_file("forms.mid", src.as_bytes(), &Default::default()) {
            Ok(c) => c,
            Err(mid_compiler::CompileError::Diagnostics(c)) => {
                return Err(mid_compiler::diag::render_human(
                    &c.diagnostics,
                    &c.sources,
                    Default::default(),
                ));
            }
            Err(mid_compiler::CompileError::Internal(_, e)) => return Err(e.to_string()),
        };
    let rt = mid_runtime::runtime().map_err(|e| e.to_string())?;
    rt.block_on(async {
        let e = mid_runtime::engine::Engine::open(boundary_data()).await?;
        mid_runtime::engine::run_all(&e, &compiled.plans, false, |_, _| {}).await
    })
    .map(|_| ())
    .map_err(|e| e.to_string())
}

#[test]
fn every_stratum_alone_and_in_pairs() {
    let mut failures = Vec::new();
    for (i, a) in STRATA.iter().enumerate() {
        let src = script("drug ptu within 400 days after index", a);
        if let Err(e) = check(&src) {
            failures.push(format!("by {a}: {e}"));
        }
        for b in &STRATA[i + 1..] {
            let src = script("drug ptu within 400 days after index", &format!("{a}, {b}"));
            if let Err(e) = check(&src) {
                failures.push(format!("by {a}, {b}: {e}"));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

#[test]
fn every_window_anchor_and_selector() {
    let mut failures = Vec::new();
    for c in CONDITIONS {
        let windows: Vec<&str> = if c.contains("WINDOW") {
            WINDOWS.to_vec()
        } else {
            vec![""]
        };
        for w in windows {
            let step = c.replace("WINDOW", w);
            let src = script(&step, "sex");
            if let Err(e) = check(&src) {
                failures.push(format!("require {step}: {e}"));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
    // The forms are what the language reference documents: the script checks clean.
    let _ = compile(&script("drug ptu within 30 days before index", "sex"));
}

/// Calendar strata are cut where the calendar is: a quarter's last and next first day fall in
/// different quarters, and the fiscal year (年度) turns on 1 April, not 1 January.
#[test]
fn calendar_strata_turn_on_their_first_days() {
    let days = [
        "2020-01-01",
        "2020-03-31",
        "2020-04-01",
        "2020-06-30",
        "2020-07-01",
        "2020-09-30",
        "2020-10-01",
        "2020-12-31",
        "2021-01-01",
        "2021-03-31",
        "2021-04-01",
    ];
    let mut c = Cdm::default();
    for (i, day) in days.iter().enumerate() {
        let id = i as i64 + 1;
        c.patient("H01", id, "F", "1960-01-01", "2019-01-01", "2022-12-31");
        c.drugs.push((
            "H01",
            id,
            "prescription",
            "outpatient",
            d(day),
            7,
            Some("243200100000"),
        ));
    }
    let data = c.write();
    let r = run(
        r#"codes x: drug = yj "2432001"
cohort c { index = first drug x }
report c by quarter
report c by fiscal year
report c by fiscal year, quarter"#,
        &data,
    );
    let column = |report: &str, col: &str| -> Vec<String> {
        let a = crate::common::text(r[report].column_by_name(col).expect(col));
        a.iter()
            .map(|v| v.unwrap_or_default().to_string())
            .collect()
    };
    let persons = |report: &str| -> Vec<String> { column(report, "persons") };
    assert_eq!(
        column("report_c", "index_quarter"),
        ["2020Q1", "2020Q2", "2020Q3", "2020Q4", "2021Q1", "2021Q2"]
    );
    assert_eq!(persons("report_c"), ["2", "2", "2", "2", "2", "1"]);
    assert_eq!(
        column("report_c_2", "index_fiscal_year"),
        ["2019", "2020", "2021"]
    );
    assert_eq!(persons("report_c_2"), ["2", "8", "1"]);
    // Fiscal 2019 is 2020Q1; fiscal 2020 runs from 2020Q2 to 2021Q1.
    assert_eq!(
        column("report_c_3", "index_fiscal_year"),
        ["2019", "2020", "2020", "2020", "2020", "2021"]
    );
    assert_eq!(
        column("report_c_3", "index_quarter"),
        ["2020Q1", "2020Q2", "2020Q3", "2020Q4", "2021Q1", "2021Q2"]
    );
}
