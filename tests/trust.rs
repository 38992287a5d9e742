//! Regressions of the defects that made results untrustworthy (each failed before its fix):
//! internal errors on valid scripts, numbers that wrapped, `every` attrition counting entries,
//! a definition that meant something else than its expression, two person-time definitions,
//! lab units that silently lost results and a manifest recorded without checking the files.
//! Each is run end to end on hand-built data. (A raised threshold announced for every output
//! is tested with the disclosure attacks, on data large enough to publish.)

use std::collections::BTreeSet;
use std::path::Path;

use arrow::array::{Array, Date32Array, Int64Array};

use crate::common::{mid, mid_run};
use crate::e2e::{compile, persons, run};
use crate::fixture::{Cdm, d};

const X: &str = "243200100000";
const ANC: &str = "9Z001000000000000";
const HBA1C: &str = "3D046000000000000";
const GLUCOSE: &str = "3D010000002227101";

/// Twelve patients at two hospitals, first prescribed x on 2020-07-01 (index); some have a
/// stay around index, labs in units spelled as hospitals write them, and second prescriptions.
/// The values of an Int64 column of a result.
fn ints(b: &arrow::array::RecordBatch, col: &str) -> Vec<i64> {
    let a = b
        .column_by_name(col)
        .expect(col)
        .as_any()
        .downcast_ref::<Int64Array>()
        .expect("an Int64 column");
    (0..a.len()).map(|i| a.value(i)).collect()
}

fn data() -> &'static Path {
    static DATA: std::sync::OnceLock<std::path::PathBuf> = std::sync::OnceLock::new();
    DATA.get_or_init(|| {
        let x = d("2020-07-01");
        let mut c = Cdm::default();
        for (h, id, sex) in [
            ("H01", 1, "F"),
            ("H01", 2, "M"),
            ("H01", 3, "F"),
            ("H01", 4, "M"),
            ("H01", 5, "U"),
            ("H01", 6, "F"),
            ("H02", 1, "F"),
            ("H02", 2, "M"),
            ("H02", 3, "F"),
            ("H02", 4, "M"),
            ("H02", 5, "F"),
            ("H02", 6, "M"),
        ] {
            c.patient(h, id, sex, "1960-02-29", "2019-01-01", "2021-12-31");
            c.drugs
                .push((h, id, "prescription", "outpatient", x, 28, Some(X)));
            // Every patient a second course 100 days later (two entries with `every`).
            c.drugs
                .push((h, id, "prescription", "outpatient", x + 100, 28, Some(X)));
        }
        // Stays containing index at H01 for patients 1 and 2.
        for id in [1, 2] {
            c.visits
                .push(("H01", id, 100 + id, "inpatient", "internal", x - 2, x + 5));
        }
        // Platelets-like baseline: creatinine-free; ANC results for the baseline tests.
        c.labs
            .push(("H01", 1, x - 10, Some(ANC), Some(4000.0), Some("/uL"), None));
        c.labs
            .push(("H01", 1, x + 20, Some(ANC), Some(1000.0), Some("/uL"), None));
        // HbA1c: NGSP % at H01, IFCC mmol/mol at H02 (53 mmol/mol = 7.0 %).
        c.labs
            .push(("H01", 3, x - 5, Some(HBA1C), Some(7.0), Some("%"), None));
        c.labs.push((
            "H02",
            3,
            x - 5,
            Some(HBA1C),
            Some(53.0),
            Some("mmol/mol"),
            None,
        ));
        // Glucose: mg/dL at H01, full-width `mg／dL` at H02, an unknown unit at H02.
        c.labs.push((
            "H01",
            4,
            x - 5,
            Some(GLUCOSE),
            Some(250.0),
            Some("mg/dL"),
            None,
        ));
        c.labs.push((
            "H02",
            4,
            x - 5,
            Some(GLUCOSE),
            Some(250.0),
            Some("mg／dL"),
            None,
        ));
        c.labs.push((
            "H02",
            5,
            x - 5,
            Some(GLUCOSE),
            Some(250.0),
            Some("furlongs"),
            None,
        ));
        // An outcome for H01/6 on day 40, and again on day 140 (after its second course).
        c.diagnoses
            .push(("H01", 6, "claim", x + 40, Some("I210"), false, true, None));
        c.diagnoses
            .push(("H01", 6, "claim", x + 140, Some("I210"), false, true, None));
        c.write()
    })
}

#[test]
fn reports_by_hospital_and_having_about_index_run() {
    let r = run(
        r#"codes x: drug = yj "2432001"
cohort c {
  index = first drug x
  require visit inpatient having index during it
}
report c by hospital"#,
        data(),
    );
    let want: BTreeSet<(String, i64)> = [("H01".to_string(), 1), ("H01".to_string(), 2)]
        .into_iter()
        .collect();
    assert_eq!(persons(&r["cohort_c"]), want);
    assert_eq!(r["report_c"].num_rows(), 1);
}

#[test]
fn a_baseline_inside_having_is_the_entry_baseline() {
    let r = run(
        r#"import labs.{neutrophil_count}
codes x: drug = yj "2432001"
cohort c {
  index = first drug x
  require visit inpatient having lab neutrophil_count < 0.5 x baseline within 30 days after it
}"#,
        data(),
    );
    // H01/1: baseline 4000 at index − 10, 1000 (< 2000) 20 days after; the stay starts at −2.
    let want: BTreeSet<(String, i64)> = [("H01".to_string(), 1)].into_iter().collect();
    assert_eq!(persons(&r["cohort_c"]), want);
}

#[test]
fn two_having_clauses_on_one_query_run() {
    let r = run(
        r#"codes x: drug = yj "2432001"
cohort c {
  index = first drug x
  require (visit inpatient having drug x during it) having index during it
}"#,
        data(),
    );
    assert_eq!(persons(&r["cohort_c"]).len(), 2);
}

#[test]
fn every_cohort_attrition_counts_persons() {
    let r = run(
        r#"codes x: drug = yj "2432001"
cohort c {
  index = every drug x
  exclude sex = U
}"#,
        data(),
    );
    let col = |n: &str| ints(&r["attrition_c"], n)[0];
    // 12 persons with 24 entries; the one of sex U goes.
    assert_eq!((col("persons_0"), col("persons_1")), (12, 11));
    assert_eq!((col("entries_0"), col("entries_1")), (24, 22));
}

#[test]
fn every_cohort_reports_count_persons_with_the_outcome_once() {
    let r = run(
        r#"codes x: drug = yj "2432001"
codes mi: diagnosis = icd10 "I21"
cohort c {
  index = every drug x
  periods of 30 days from index + 1 day until index + 60 days
}
outcome o in c = diagnosis mi
report c with o
report c with o by period"#,
        data(),
    );
    let first = |b: &str, n: &str| ints(&r[b], n);
    // H01/6 has the outcome after both of its entries: one person, not two.
    assert_eq!(first("report_c_with_o", "persons"), vec![12]);
    assert_eq!(first("report_c_with_o", "o_persons"), vec![1]);
    // By period: days 31–60 hold both outcomes (days 40 and 140 − 100); 12 persons at risk.
    assert_eq!(first("report_c_with_o_2", "o_persons"), vec![0, 1]);
    assert_eq!(first("report_c_with_o_2", "o_at_risk"), vec![12, 12]);
}

/// Two code sets that share a code: a row both match is one record, not two.
#[test]
fn a_record_two_code_sets_match_is_counted_once() {
    let script = |n: u32| {
        format!(
            r#"codes x: drug = yj "2432001"
codes mi: diagnosis = icd10 "I21"
codes mi0: diagnosis = icd10 "I210"
cohort c {{
  index = first drug x
  require at least {n} records of (diagnosis mi or diagnosis mi0) within 365 days after index
}}"#
        )
    };
    // H01/6 has two I210 records after index (days 40 and 140).
    let h01_6: BTreeSet<(String, i64)> = [("H01".to_string(), 6)].into_iter().collect();
    assert_eq!(persons(&run(&script(2), data())["cohort_c"]), h01_6);
    assert!(persons(&run(&script(3), data())["cohort_c"]).is_empty());
}

#[test]
fn a_defined_selection_is_what_its_expression_is() {
    let r = run(
        r#"codes x: drug = yj "2432001"
define second_course = first drug x after index
cohort c { index = first drug x }
export c with second_course, first drug x after index"#,
        data(),
    );
    let e = &r["export_c"];
    for col in ["second_course", "first_drug_x_after_index"] {
        let dates = e
            .column_by_name(col)
            .expect(col)
            .as_any()
            .downcast_ref::<Date32Array>()
            .unwrap_or_else(|| panic!("{col} is a date"))
            .clone();
        assert!((0..dates.len()).all(|i| dates.value(i) == d("2020-07-01") + 100));
    }
}

#[test]
fn person_days_are_one_definition_with_and_without_periods() {
    let src = r#"codes x: drug = yj "2432001"
codes mi: diagnosis = icd10 "I21"
cohort c {
  index = first drug x
  end = index + 90 days
  periods of 30 days from index + 1 day until index + 90 days
}
outcome o in c = diagnosis mi
export c with o
report c with o
report c with o by period"#;
    let r = run(src, data());
    let sum = |b: &arrow::array::RecordBatch, col: &str| ints(b, col).iter().sum::<i64>();
    let whole = sum(&r["report_c_with_o"], "o_person_days");
    let by_period = sum(&r["report_c_with_o_2"], "o_person_days");
    // 11 entries followed days 1–90 (90 days each); H01/6 has the outcome on day 40.
    assert_eq!(whole, 11 * 90 + 40);
    assert_eq!(by_period, whole);
}

/// `until` is the last day of the periods: the last period ends there, not a full length
/// later (docs/language.md, *Follow-up periods*).
#[test]
fn the_last_period_is_cut_at_its_bound() {
    let r = run(
        r#"codes x: drug = yj "2432001"
codes mi: diagnosis = icd10 "I21"
cohort c {
  index = first drug x
  end = index + 90 days
  periods of 30 days from index + 1 day until index + 45 days
}
outcome o in c = diagnosis mi
report c with o by period"#,
        data(),
    );
    let col = |n: &str| ints(&r["report_c_with_o"], n);
    // 12 entries: period 1 is days 1–30, period 2 days 31–45 (not 31–60). H01/6's outcome
    // on day 40 ends its time there.
    assert_eq!(col("o_person_days"), vec![12 * 30, 11 * 15 + 10]);
    assert_eq!(col("o_persons"), vec![0, 1]);
}

#[test]
fn lab_units_as_hospitals_write_them_are_converted_or_reported() {
    let r = run(
        r#"import labs.{hba1c, glucose}
codes x: drug = yj "2432001"
cohort high_a1c {
  index = first drug x
  require lab hba1c >= 6.5 % within 30 days before index
}
cohort high_glucose {
  index = first drug x
  require lab glucose >= 200 mg/dL within 30 days before index
}"#,
        data(),
    );
    let a1c: BTreeSet<(String, i64)> = [("H01".to_string(), 3), ("H02".to_string(), 3)]
        .into_iter()
        .collect();
    assert_eq!(
        persons(&r["cohort_high_a1c"]),
        a1c,
        "IFCC mmol/mol converted"
    );
    let glucose: BTreeSet<(String, i64)> = [("H01".to_string(), 4), ("H02".to_string(), 4)]
        .into_iter()
        .collect();
    assert_eq!(
        persons(&r["cohort_high_glucose"]),
        glucose,
        "full-width mg／dL read"
    );
    // The unit mid cannot convert is counted, not dropped without a word.
    let units = &r["coverage_lab_units"];
    assert_eq!(units.num_rows(), 1);
    let text = crate::common::text(units.column_by_name("unit").expect("unit"));
    assert_eq!(text.value(0), "furlongs");
}

#[test]
fn numbers_beyond_their_place_are_refused_not_wrapped() {
    for (src, code) in [
        ("within 4294967306 days before index", "E0228"),
        ("within 4294967296 days before index", "E0228"),
        ("within 9223372036854775807 days before index", "E0228"),
        ("within 200 years before index", "W0003"),
    ] {
        let script = format!(
            "codes x: drug = yj \"2432001\"\ncohort c {{\n  index = first drug x\n  exclude drug x {src}\n}}\nreport c by sex\n"
        );
        let c = mid_compiler::check_file("t.mid", script.as_bytes());
        assert!(
            c.diagnostics.iter().any(|d| d.code.as_str() == code),
            "{src}: {:?}",
            c.diagnostics
                .iter()
                .map(|d| d.code.as_str())
                .collect::<Vec<_>>()
        );
    }
    for (src, code) in [
        (
            "periods of 9223372036854775807 days from index until index + 10 days",
            "E0228",
        ),
        (
            "periods of 1 day from index + 1 day until index + 100000000 days",
            "E0228",
        ),
        (
            "periods of 1 day from index + 1 day until index + 5000 days",
            "E0318",
        ),
    ] {
        let script = format!(
            "codes x: drug = yj \"2432001\"\ncohort c {{\n  index = first drug x\n  {src}\n}}\n"
        );
        let c = mid_compiler::check_file("t.mid", script.as_bytes());
        assert!(
            c.diagnostics.iter().any(|d| d.code.as_str() == code),
            "{src}: {:?}",
            c.diagnostics
                .iter()
                .map(|d| d.code.as_str())
                .collect::<Vec<_>>()
        );
    }
    // At the limits themselves the meaning is exact.
    let c = compile(
        "codes x: drug = yj \"2432001\"\ncohort c {\n  index = first drug x\n  exclude drug x within 73050 days before index\n  exclude at least 1000000 drug x within 1 day before index\n}\n",
    );
    assert!(mid_compiler::cir::print(&c.cir).contains("index - 73050"));
}

/// Every place a number is written, with numbers at and beyond every integer limit: each
/// script is refused with an error, or it compiles to exactly the number written (never a
/// wrapped or truncated one) and runs.
#[test]
fn numbers_at_every_limit_in_every_place() {
    // (statement, the meaning the CIR must show for N, with `{N}` and `{7N}` for N weeks)
    const PLACES: &[(&str, &str)] = &[
        ("exclude drug x within {N} days before index", "index - {N}"),
        (
            "exclude drug x within {N} weeks before index",
            "index - {7N}",
        ),
        ("require age at index >= {N}", "age at index >= {N}"),
        (
            "exclude at least {N} drug x within 30 days before index",
            "at least {N} days",
        ),
        (
            "exclude (nth({N}) drug x) within 30 days after index",
            "nth({N})",
        ),
        (
            "require lab platelets < {N} 10^3/uL within 30 days before index",
            "value < {N} 10^3/uL",
        ),
        (
            "require lab platelets < {N} x LLN within 30 days before index",
            "value < {N} x LLN",
        ),
        ("require observed {N} days before index", "index - {N}"),
        (
            "require ctcae_grade(lab neutrophil_count) >= {N} within 30 days after index",
            "ctcae_grade >= {N}",
        ),
        (
            "era exposure = drug x gap {N} days grace 7 days",
            "gap {N} days",
        ),
        (
            "periods of {N} days from index + 1 day until index + 30 days",
            "of {N} days",
        ),
    ];
    const REPORTS: &[(&str, &str)] = &[
        ("report c by age band {N} years", "age band {N} years"),
        (
            "report c by sex, suppress below {N}",
            "counts below {N} suppressed",
        ),
    ];
    const NUMBERS: &[&str] = &[
        "0",
        "1",
        "1.5",
        "-1",
        "127",
        "255",
        "32768",
        "65536",
        "2147483647",
        "2147483648",
        "4294967296",
        "4294967306",
        "9223372036854775807",
        "9223372036854775808",
        "18446744073709551616",
        "99999999999999999999999999999999999999999",
    ];
    let mut failures = Vec::new();
    let mut compiled = 0;
    for n in NUMBERS {
        let weeks = n
            .parse::<i128>()
            .map(|w| (w * 7).to_string())
            .unwrap_or_default();
        let fill = |t: &str| t.replace("{N}", n).replace("{7N}", &weeks);
        let cases = PLACES
            .iter()
            .map(|(stmt, meaning)| {
                let stmt = fill(stmt);
                let src = format!(
                    "import labs.{{platelets, neutrophil_count}}\nimport grades.{{ctcae_grade}}\ncodes x: drug = yj \"2432001\"\ncohort c {{\n  index = first drug x\n  {stmt}\n}}\nreport c by sex\n"
                );
                (stmt, fill(meaning), src)
            })
            .chain(REPORTS.iter().map(|(stmt, meaning)| {
                let stmt = fill(stmt);
                let src = format!(
                    "codes x: drug = yj \"2432001\"\ncohort c {{\n  index = first drug x\n}}\n{stmt}\n"
                );
                (stmt, fill(meaning), src)
            }));
        for (stmt, meaning, src) in cases {
            match mid_compiler::compile_file("n.mid", src.as_bytes(), &Default::default()) {
                Err(mid_compiler::CompileError::Diagnostics(c)) => {
                    if !c.has_errors() {
                        failures.push(format!("{stmt}: refused without an error"));
                    }
                }
                Err(mid_compiler::CompileError::Internal(_, e)) => {
                    failures.push(format!("{stmt}: internal error {e}"))
                }
                Ok(c) => {
                    compiled += 1;
                    // The meaning, not the statement's own text quoted in the CIR.
                    let cir = mid_compiler::cir::print(&c.cir).replace(&stmt, "");
                    // A window of no day (`within 0 days`) is said with W0002, a condition
                    // nothing meets (`age at index >= 127`) with W0004, a threshold far
                    // outside an item's range with W0005.
                    let warned = c
                        .checked
                        .diagnostics
                        .iter()
                        .any(|d| ["W0002", "W0004", "W0005"].contains(&d.code.as_str()));
                    if !warned && !cir.contains(&meaning) {
                        failures.push(format!("{stmt}: compiled to\n{cir}"));
                        continue;
                    }
                    let needs = mid_compiler::requirements::requirements(&c.cir);
                    assert!(
                        mid_runtime::dataset::contract::check_requirements(data(), &needs)
                            .is_empty()
                    );
                    let rt = mid_runtime::runtime().expect("runtime");
                    let ran = rt.block_on(async {
                        let e = mid_runtime::engine::Engine::open(data()).await?;
                        mid_runtime::engine::run_all(&e, &c.plans, false, |_, _| {}).await
                    });
                    if let Err(e) = ran {
                        failures.push(format!("{stmt}: the run failed: {e}"));
                    }
                }
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    // The places accept ordinary numbers: the test runs what it checks.
    assert!(compiled >= 40, "only {compiled} scripts compiled");
}

#[test]
fn a_baseline_in_the_index_statement_is_refused() {
    let c = mid_compiler::check_file(
        "t.mid",
        b"import labs.{platelets}\ncohort c { index = first lab platelets < 0.5 x baseline }\n",
    );
    assert!(
        c.diagnostics.iter().any(|d| d.code.as_str() == "E0304"),
        "{:?}",
        c.diagnostics
            .iter()
            .map(|d| d.code.as_str())
            .collect::<Vec<_>>()
    );
}

/// A copy of the data set with a manifest (as `mid synth` writes one).
fn with_manifest() -> std::path::PathBuf {
    let dir = tempfile::tempdir().expect("tmp").keep().join("net");
    let r = mid(&[
        "synth",
        "--patients",
        "300",
        "--hospitals",
        "2",
        "--seed",
        "5",
        "--out",
        &dir.display().to_string(),
    ]);
    assert_eq!(r.status.code(), Some(0));
    dir
}

#[test]
fn the_manifest_is_checked_before_it_is_recorded() {
    let net = with_manifest();
    let tmp = tempfile::tempdir().expect("tmp").keep();
    let script = tmp.join("s.mid");
    std::fs::write(
        &script,
        "codes x: drug = yj \"2432001\"\ncohort c { index = first drug x }\nreport c by sex\n",
    )
    .expect("script");
    let run_it = |out: &str, extra: &[&str]| mid_run(&script, &net, &tmp.join(out), extra);
    let ok = run_it("ok", &["--verify"]);
    assert_eq!(
        ok.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&ok.stderr)
    );
    let record: serde_json::Value =
        serde_json::from_slice(&std::fs::read(tmp.join("ok/run.json")).expect("run.json"))
            .expect("JSON");
    assert_eq!(record["data"]["verified"], "sha256_of_every_file");
    assert!(record["data"]["manifest_fingerprint"].is_string());
    // A drug file rewritten with one row fewer: every run notices.
    let file = std::fs::read_dir(net.join("drug"))
        .expect("drug")
        .next()
        .expect("a file")
        .expect("entry")
        .path();
    let mut b = crate::common::read_batches(&file);
    let first = b.remove(0);
    let shorter = first.slice(0, first.num_rows() - 1);
    crate::fixture::write_parquet(&file, &shorter);
    let bad = run_it("bad", &[]);
    assert_eq!(bad.status.code(), Some(1));
    let e = String::from_utf8_lossy(&bad.stderr);
    assert!(e.contains("manifest.json") && e.contains("drug"), "{e}");
    assert!(!tmp.join("bad").exists());
}
