//! End-to-end semantics on hand-built data: each patient is placed at a window boundary (day
//! −1, 0, +1), on the same day as another event, outside observation, with duplicated or
//! unmapped rows, other units, or the same id at another hospital; the expected persons and
//! outcome dates are written by hand.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use arrow::array::{Array, Date32Array, Int32Array, Int64Array, RecordBatch};
use arrow::compute::concat_batches;
use mid_runtime::engine::{self, Engine};

use crate::fixture::{Cdm, d};

/// Compiles and runs a script over a data set; returns every result by plan name.
pub fn run(src: &str, data: &Path) -> BTreeMap<String, RecordBatch> {
    let compiled = compile(src);
    let needs = mid_compiler::requirements::requirements(&compiled.cir);
    let problems = mid_runtime::dataset::contract::check_requirements(data, &needs);
    assert!(problems.is_empty(), "{problems:?}");
    let rt = mid_runtime::runtime().expect("a runtime");
    let results = rt.block_on(async {
        let e = Engine::open(data).await.expect("the data set opens");
        engine::run_all(&e, &compiled.plans, false, |_, _| {})
            .await
            .expect("the plans run")
    });
    results
        .into_iter()
        .map(|(k, (schema, batches))| (k, concat_batches(&schema, &batches).expect("concat")))
        .collect()
}

/// Compiles a script (it must compile).
pub fn compile(src: &str) -> mid_compiler::Compiled {
    match mid_compiler::compile_file("test.mid", src.as_bytes(), &Default::default()) {
        Ok(c) => c,
        Err(mid_compiler::CompileError::Diagnostics(c)) => panic!(
            "the script does not compile:\n{}",
            mid_compiler::diag::render_human(&c.diagnostics, &c.sources, Default::default())
        ),
        Err(mid_compiler::CompileError::Internal(_, e)) => panic!("{e}"),
    }
}

/// (hospital, patient) of every row of a result.
pub fn persons(b: &RecordBatch) -> BTreeSet<(String, i64)> {
    let h = crate::common::text(b.column_by_name("hospital_id").expect("hospital_id"));
    let p = b
        .column_by_name("patient_id")
        .expect("patient_id")
        .as_any()
        .downcast_ref::<Int64Array>()
        .expect("int");
    (0..b.num_rows())
        .map(|i| (h.value(i).to_string(), p.value(i)))
        .collect()
}

/// (hospital, patient) → a day column's value.
pub fn days(b: &RecordBatch, column: &str) -> BTreeMap<(String, i64), i32> {
    let h = crate::common::text(b.column_by_name("hospital_id").expect("hospital_id"));
    let p = b
        .column_by_name("patient_id")
        .expect("patient_id")
        .as_any()
        .downcast_ref::<Int64Array>()
        .expect("int");
    let col = b
        .column_by_name(column)
        .unwrap_or_else(|| panic!("no column {column}"));
    let mut out = BTreeMap::new();
    for i in 0..b.num_rows() {
        if col.is_null(i) {
            continue;
        }
        let v = if let Some(a) = col.as_any().downcast_ref::<Int32Array>() {
            a.value(i)
        } else if let Some(a) = col.as_any().downcast_ref::<Date32Array>() {
            a.value(i)
        } else {
            panic!("{column} is not a day")
        };
        out.insert((h.value(i).to_string(), p.value(i)), v);
    }
    out
}

fn key(h: &str, p: i64) -> (String, i64) {
    (h.to_string(), p)
}

const THIAMAZOLE: &str = "2432001F1033";
const PTU: &str = "2432002F1046";
const ANC: &str = "9Z001000001930151";
const WBC: &str = "2A010000001930101";
const NEUT_PCT: &str = "2A160000001930151";

const SCRIPT: &str = r#"
study boundaries
import labs.{neutrophil_count}
codes thiamazole: drug = yj "2432001"
codes ptu: drug = yj "2432002"
codes hyperthyroidism: diagnosis = icd10 "E05"

cohort new_users {
  index = first drug thiamazole
  require observed 180 days before index
  exclude "prior use" drug (thiamazole or ptu) within 180 days before index
  require diagnosis hyperthyroidism where not suspected within 30 days around index
  require age at index >= 15
  exclude lab neutrophil_count <= 1500 /uL within 180 days before index
  end = earliest(index + 140 days, end of observation)
}

outcome granulocytopenia in new_users =
  first lab neutrophil_count <= 1500 /uL between index + 1 day and end

export new_users with granulocytopenia, age at index, sex
"#;

/// The boundary network written once per test process.
pub fn boundary_data() -> &'static Path {
    static DATA: std::sync::OnceLock<std::path::PathBuf> = std::sync::OnceLock::new();
    DATA.get_or_init(|| boundary_cdm().write())
}

/// The boundary network: index (first thiamazole) is 2020-07-01 unless said otherwise.
fn boundary_cdm() -> Cdm {
    let x = d("2020-07-01");
    let mut c = Cdm::default();
    let date = |n: i32| x + n;
    // Everyone: observed 2019-01-01..2021-12-31, born 1960, Graves' disease (not suspected)
    // 6 days before index, thiamazole on index day.
    // Thiamazole for 28 days from the index day.
    let on_index = |c: &mut Cdm, h: &'static str, id: i64| {
        c.drugs
            .push((h, id, "prescription", "outpatient", x, 28, Some(THIAMAZOLE)));
    };
    let standard = |c: &mut Cdm, h: &'static str, id: i64| {
        c.patient(h, id, "M", "1960-01-01", "2019-01-01", "2021-12-31");
        c.diagnoses
            .push((h, id, "claim", date(-6), Some("E050"), false, true, None));
        on_index(c, h, id);
    };
    // 1: included; ANC 1200 on 2020-08-15 is the outcome.
    standard(&mut c, "H01", 1);
    c.labs.push((
        "H01",
        1,
        d("2020-08-15"),
        Some(ANC),
        Some(1200.0),
        Some("/uL"),
        Some(7500.0),
    ));
    // 2: PTU at index - 180 (inside the washout): excluded at step 2.
    standard(&mut c, "H01", 2);
    c.drugs.push((
        "H01",
        2,
        "prescription",
        "outpatient",
        date(-180),
        14,
        Some(PTU),
    ));
    // 3: PTU at index - 181 (just outside): kept.
    standard(&mut c, "H01", 3);
    c.drugs.push((
        "H01",
        3,
        "prescription",
        "outpatient",
        date(-181),
        14,
        Some(PTU),
    ));
    // 4: PTU on the index day (not before index): kept.
    standard(&mut c, "H01", 4);
    c.drugs
        .push(("H01", 4, "prescription", "outpatient", x, 14, Some(PTU)));
    // 5: Graves' only at index + 30: kept. 6: only at index + 31: excluded at step 3.
    c.patient("H01", 5, "F", "1960-01-01", "2019-01-01", "2021-12-31");
    c.diagnoses
        .push(("H01", 5, "claim", date(30), Some("E050"), false, true, None));
    on_index(&mut c, "H01", 5);
    c.patient("H01", 6, "F", "1960-01-01", "2019-01-01", "2021-12-31");
    c.diagnoses
        .push(("H01", 6, "claim", date(31), Some("E050"), false, true, None));
    on_index(&mut c, "H01", 6);
    // 7: Graves' suspected only: excluded at step 3.
    c.patient("H01", 7, "F", "1960-01-01", "2019-01-01", "2021-12-31");
    c.diagnoses
        .push(("H01", 7, "ehr", date(-6), Some("E050"), true, false, None));
    on_index(&mut c, "H01", 7);
    // 8: observed from index - 180: kept. 9: from index - 179: excluded at step 1.
    c.patient(
        "H01",
        8,
        "M",
        "1960-01-01",
        &mid_compiler::dates::format(date(-180)),
        "2021-12-31",
    );
    c.diagnoses
        .push(("H01", 8, "claim", date(-6), Some("E050"), false, true, None));
    on_index(&mut c, "H01", 8);
    c.patient(
        "H01",
        9,
        "M",
        "1960-01-01",
        &mid_compiler::dates::format(date(-179)),
        "2021-12-31",
    );
    c.diagnoses
        .push(("H01", 9, "claim", date(-6), Some("E050"), false, true, None));
    on_index(&mut c, "H01", 9);
    // 10: 15th birthday the day after index (14 at index): excluded at step 4.
    // 11: 15th birthday on the index day: kept.
    for (id, birth) in [(10, "2005-07-02"), (11, "2005-07-01")] {
        c.patient("H01", id, "F", birth, "2019-01-01", "2021-12-31");
        c.diagnoses.push((
            "H01",
            id,
            "claim",
            date(-6),
            Some("E050"),
            false,
            true,
            None,
        ));
        on_index(&mut c, "H01", id);
    }
    // 12: ANC 1400 the day before index: excluded at step 5.
    standard(&mut c, "H01", 12);
    c.labs.push((
        "H01",
        12,
        date(-1),
        Some(ANC),
        Some(1400.0),
        Some("/uL"),
        None,
    ));
    // 13: ANC 1400 on the index day: kept (not before index), and not an outcome (not after).
    standard(&mut c, "H01", 13);
    c.labs
        .push(("H01", 13, x, Some(ANC), Some(1400.0), Some("/uL"), None));
    // 14: neutrophils as % only: WBC 3.0 x10^3/uL × 40 % = 1,200/uL on 2020-09-01 (outcome);
    // the WBC spelled with a Greek mu.
    standard(&mut c, "H01", 14);
    c.labs.push((
        "H01",
        14,
        d("2020-09-01"),
        Some(WBC),
        Some(3000.0),
        Some("/μL"),
        None,
    ));
    c.labs.push((
        "H01",
        14,
        d("2020-09-01"),
        Some(NEUT_PCT),
        Some(40.0),
        Some("%"),
        None,
    ));
    // 15: ANC 1000 on index + 140 (the last day of follow-up): outcome.
    // 16: ANC 1000 on index + 141 (after the end): no outcome.
    standard(&mut c, "H01", 15);
    c.labs.push((
        "H01",
        15,
        date(140),
        Some(ANC),
        Some(1.0),
        Some("10^3/uL"),
        None,
    ));
    standard(&mut c, "H01", 16);
    c.labs.push((
        "H01",
        16,
        date(141),
        Some(ANC),
        Some(1000.0),
        Some("/uL"),
        None,
    ));
    // 17: Graves' recorded twice the same day (duplicated claim rows): kept once.
    standard(&mut c, "H01", 17);
    c.diagnoses.push((
        "H01",
        17,
        "claim",
        date(-6),
        Some("E050"),
        false,
        true,
        None,
    ));
    // 18: Graves' only unmapped (local code, no ICD-10): excluded at step 3.
    c.patient("H01", 18, "F", "1960-01-01", "2019-01-01", "2021-12-31");
    c.diagnoses
        .push(("H01", 18, "ehr", date(-6), None, false, true, None));
    on_index(&mut c, "H01", 18);
    // 19: first thiamazole before the hospital's first record: no entry at all.
    c.patient("H01", 19, "M", "1960-01-01", "2019-01-01", "2021-12-31");
    c.drugs.push((
        "H01",
        19,
        "prescription",
        "outpatient",
        d("2018-06-01"),
        28,
        Some(THIAMAZOLE),
    ));
    // 20: ANC 500 in a unit no catalogue knows: no value, so no outcome.
    standard(&mut c, "H01", 20);
    c.labs.push((
        "H01",
        20,
        d("2020-08-01"),
        Some(ANC),
        Some(500.0),
        Some("cells"),
        None,
    ));
    // 21: no thiamazole at all: never enters.
    c.patient("H01", 21, "M", "1960-01-01", "2019-01-01", "2021-12-31");
    // H02/1 has the same id as H01/1 but is another person: suspected Graves' only, excluded.
    c.patient("H02", 1, "F", "1970-01-01", "2019-01-01", "2021-12-31");
    c.diagnoses
        .push(("H02", 1, "ehr", date(-6), Some("E050"), true, false, None));
    c.drugs.push((
        "H02",
        1,
        "prescription",
        "outpatient",
        x + 9,
        28,
        Some(THIAMAZOLE),
    ));
    // 22: end of observation 2020-09-30 before index + 140: follow-up ends there; ANC low
    // on 2020-10-05 is after the end: no outcome.
    c.patient("H01", 22, "M", "1960-01-01", "2019-01-01", "2020-09-30");
    c.diagnoses.push((
        "H01",
        22,
        "claim",
        date(-6),
        Some("E050"),
        false,
        true,
        None,
    ));
    on_index(&mut c, "H01", 22);
    c.labs.push((
        "H01",
        22,
        d("2020-10-05"),
        Some(ANC),
        Some(900.0),
        Some("/uL"),
        None,
    ));
    c
}

#[test]
fn window_boundaries_steps_and_outcomes() {
    let r = run(SCRIPT, boundary_data());
    let x = d("2020-07-01");

    let steps = &r["steps_new_users"];
    let entered = persons(steps);
    let mut want_entered: BTreeSet<(String, i64)> = (1..=22)
        .filter(|i| ![19, 21].contains(i))
        .map(|i| key("H01", i))
        .collect();
    want_entered.insert(key("H02", 1));
    assert_eq!(
        entered, want_entered,
        "entries: index inside observation only"
    );

    let members = persons(&r["cohort_new_users"]);
    let want: BTreeSet<(String, i64)> = [1, 3, 4, 5, 8, 11, 13, 14, 15, 16, 17, 20, 22]
        .iter()
        .map(|i| key("H01", *i))
        .collect();
    assert_eq!(members, want);

    let outcomes = days(&r["outcome_granulocytopenia"], "outcome_day");
    let want_outcomes: BTreeMap<(String, i64), i32> = [
        (key("H01", 1), d("2020-08-15")),
        (key("H01", 14), d("2020-09-01")),
        (key("H01", 15), x + 140),
    ]
    .into_iter()
    .collect();
    assert_eq!(outcomes, want_outcomes);

    // End of follow-up: index + 140, or the end of observation when earlier.
    let ends = days(&r["cohort_new_users"], "end_day");
    assert_eq!(ends[&key("H01", 1)], x + 140);
    assert_eq!(ends[&key("H01", 22)], d("2020-09-30"));

    // Attrition: persons after the entry and each step.
    let a = &r["attrition_new_users"];
    let counts: Vec<i64> = (0..=5)
        .map(|i| {
            a.column_by_name(&format!("persons_{i}"))
                .expect("count")
                .as_any()
                .downcast_ref::<Int64Array>()
                .expect("int")
                .value(0)
        })
        .collect();
    // 21 entries; step 1 removes 9; step 2 removes 2; step 3 removes 6, 7, 18 and H02/1;
    // step 4 removes 10; step 5 removes 12.
    assert_eq!(counts, vec![21, 20, 19, 15, 14, 13]);

    // The export: one row per member, the outcome date where there is one.
    let e = &r["export_new_users"];
    assert_eq!(persons(e), want);
    let exported = days(e, "granulocytopenia");
    assert_eq!(exported, want_outcomes);
}

#[test]
fn compiled_plans_need_no_data_and_are_deterministic() {
    let (a, b) = (compile(SCRIPT), compile(SCRIPT));
    assert_eq!(a.plans_text(), b.plans_text());
    assert!(a.plans_text().contains("TableScan: drug"));
}

#[test]
fn baselines_and_hospital_reference_ranges() {
    const CRE: &str = "3C015000002327101";
    let x = d("2021-03-01");
    let mut c = Cdm::default();
    for id in 1..=4 {
        c.patient("H01", id, "M", "1950-01-01", "2019-01-01", "2022-12-31");
        c.drugs.push((
            "H01",
            id,
            "prescription",
            "outpatient",
            x,
            28,
            Some(THIAMAZOLE),
        ));
    }
    // 1: baseline 1.0 (the last value up to index); 1.4 on day 3 (< 1.5 x), 1.6 on day 5.
    c.labs.push((
        "H01",
        1,
        x - 40,
        Some(CRE),
        Some(2.0),
        Some("mg/dL"),
        Some(1.07),
    ));
    c.labs.push((
        "H01",
        1,
        x - 10,
        Some(CRE),
        Some(1.0),
        Some("mg/dL"),
        Some(1.07),
    ));
    c.labs.push((
        "H01",
        1,
        x + 3,
        Some(CRE),
        Some(1.4),
        Some("mg/dL"),
        Some(1.07),
    ));
    c.labs.push((
        "H01",
        1,
        x + 5,
        Some(CRE),
        Some(1.6),
        Some("mg/dL"),
        Some(1.07),
    ));
    // 2: no value in the 180 days up to index: no baseline, no outcome.
    c.labs.push((
        "H01",
        2,
        x - 200,
        Some(CRE),
        Some(0.5),
        Some("mg/dL"),
        Some(1.07),
    ));
    c.labs.push((
        "H01",
        2,
        x + 5,
        Some(CRE),
        Some(3.0),
        Some("mg/dL"),
        Some(1.07),
    ));
    // 3: baseline on the index day itself (90 umol/L = 1.02 mg/dL); 150 umol/L after.
    c.labs.push((
        "H01",
        3,
        x,
        Some(CRE),
        Some(90.0),
        Some("umol/L"),
        Some(95.0),
    ));
    c.labs.push((
        "H01",
        3,
        x + 7,
        Some(CRE),
        Some(150.0),
        Some("umol/L"),
        Some(95.0),
    ));
    // 4: 1.2 mg/dL against this hospital's upper limit 1.0 (site_ULN) but under the standard
    // male ULN 1.07 x 1.5.
    c.labs.push((
        "H01",
        4,
        x + 2,
        Some(CRE),
        Some(1.2),
        Some("mg/dL"),
        Some(1.0),
    ));
    let data = c.write();
    let script = r#"
import labs.{creatinine}
codes thiamazole: drug = yj "2432001"
cohort c { index = first drug thiamazole }
outcome rise in c = first lab creatinine >= 1.5 x baseline
outcome above_site in c = first lab creatinine > 1.1 x site_ULN
outcome above_standard in c = first lab creatinine > 1.5 x ULN
"#;
    let r = run(script, &data);
    let rise = days(&r["outcome_rise"], "outcome_day");
    assert_eq!(
        rise,
        [(key("H01", 1), x + 5), (key("H01", 3), x + 7)]
            .into_iter()
            .collect()
    );
    let site = days(&r["outcome_above_site"], "outcome_day");
    assert_eq!(
        site,
        [
            (key("H01", 1), x + 3),
            (key("H01", 2), x + 5),
            (key("H01", 3), x + 7),
            (key("H01", 4), x + 2)
        ]
        .into_iter()
        .collect()
    );
    // 1.5 x 1.07 = 1.605: only 3.0 and 150 umol/L (1.70 mg/dL) are above.
    let standard = days(&r["outcome_above_standard"], "outcome_day");
    assert_eq!(
        standard,
        [(key("H01", 2), x + 5), (key("H01", 3), x + 7)]
            .into_iter()
            .collect()
    );
}

#[test]
fn first_and_last_entries_are_the_earliest_and_latest_event_inside_observation() {
    // Expected from the fixture itself: per patient, the earliest and the latest
    // thiamazole/PTU prescription day; an entry only if that day is observed.
    let cdm = boundary_cdm();
    let mut span: BTreeMap<(String, i64), (i32, i32)> = BTreeMap::new();
    for r in &cdm.drugs {
        let (h, id, day, code) = (r.0, r.1, r.4, r.6);
        if code.is_some_and(|c| c.starts_with("2432001") || c.starts_with("2432002")) {
            let e = span.entry(key(h, id)).or_insert((day, day));
            e.0 = e.0.min(day);
            e.1 = e.1.max(day);
        }
    }
    let observed = |k: &(String, i64), day: i32| {
        cdm.patients
            .iter()
            .any(|p| p.hospital == k.0 && p.id == k.1 && p.first <= day && day <= p.last)
    };
    let want = |pick: fn(&(i32, i32)) -> i32| -> BTreeMap<(String, i64), i32> {
        span.iter()
            .map(|(k, v)| (k.clone(), pick(v)))
            .filter(|(k, day)| observed(k, *day))
            .collect()
    };
    let r = run(
        "codes antithyroid: drug = yj \"2432001\" or yj \"2432002\"\n\
         cohort firsts { index = first drug antithyroid }\n\
         cohort lasts { index = last drug antithyroid }\n",
        boundary_data(),
    );
    let firsts = days(&r["cohort_firsts"], "index_day");
    let lasts = days(&r["cohort_lasts"], "index_day");
    assert_eq!(firsts, want(|v| v.0));
    assert_eq!(lasts, want(|v| v.1));
    // The fixture has patients whose first and last prescriptions differ.
    assert!(
        firsts
            .iter()
            .any(|(k, d)| lasts.get(k).is_some_and(|l| l != d))
    );
}

/// ALP changed from the JSCC to the IFCC method in 2020–21 (values about 0.35 times): each
/// result is graded against its own method's limit, told by the hospital's reported upper
/// limit, or by the date when none was reported.
#[test]
fn alp_is_graded_against_the_limit_of_the_method_that_measured_it() {
    const ALP: &str = "3B070000002327501";
    let mut c = Cdm::default();
    // (patient, date, value U/L, reported upper limit)
    let rows: [(i64, &str, f64, Option<f64>); 6] = [
        // 1: JSCC 2019, 400 against 322 (1.2x): not above 2.5x ULN (against IFCC it would be 3.5x).
        (1, "2019-06-01", 400.0, Some(322.0)),
        // 2: IFCC 2022, 300 against 113 (2.65x): above.
        (2, "2022-06-01", 300.0, Some(113.0)),
        // 3: no range, 2019: JSCC by the date; 400 is 1.2x.
        (3, "2019-06-01", 400.0, None),
        // 4: no range, after 2020-03-31: IFCC; 300 is 2.65x.
        (4, "2020-06-01", 300.0, None),
        // 5: 2020-06 with a JSCC range (a hospital that changed late): the range wins; 400 is 1.2x.
        (5, "2020-06-01", 400.0, Some(330.0)),
        // 6: JSCC 2019, 900 against 322 (2.8x): above.
        (6, "2019-06-01", 900.0, Some(322.0)),
    ];
    for (id, date, value, high) in rows {
        c.patient("H01", id, "F", "1950-01-01", "2018-01-01", "2023-12-31");
        c.labs.push((
            "H01",
            id,
            d(date),
            Some(ALP),
            Some(value),
            Some("U/L"),
            high,
        ));
    }
    let data = c.write();
    let src = r#"
import labs.{alp}
import grades.{ctcae_grade}
cohort high { index = first lab alp > 2.5 x ULN }
cohort g2 { index = first ctcae_grade(lab alp) >= 2 }
cohort site_high { index = first lab alp > 2.5 x site_ULN }
"#;
    let r = run(src, &data);
    let want: BTreeSet<(String, i64)> = [key("H01", 2), key("H01", 4), key("H01", 6)].into();
    assert_eq!(persons(&r["cohort_high"]), want);
    // CTCAE v5.0 ALP grade 2 is > 2.5-5.0 x ULN: the same results.
    assert_eq!(persons(&r["cohort_g2"]), want);
    // The hospital's own limit where reported, else the standard limit of the result's method.
    assert_eq!(persons(&r["cohort_site_high"]), want);
}

/// Blood items match blood specimens only (JLAC10 characters 10-12): a urine creatinine of
/// 100 mg/dL shares the analyte code 3C015 with serum creatinine but is not a serum value.
#[test]
fn a_urine_result_is_not_a_blood_result_of_the_same_analyte() {
    let mut c = Cdm::default();
    let x = d("2021-03-01");
    // (patient, JLAC10 code, value mg/dL)
    let rows = [
        (1, "3C015000000127101", 100.0), // spot urine
        (2, "3C015000000427101", 80.0),  // 24-hour urine
        (3, "3C015000002327101", 3.0),   // serum
        (4, "3C015000002227101", 2.5),   // plasma
        (5, "3C015000004127101", 5.0),   // cerebrospinal fluid
    ];
    for (id, code, value) in rows {
        c.patient("H01", id, "M", "1950-01-01", "2019-01-01", "2022-12-31");
        c.labs
            .push(("H01", id, x, Some(code), Some(value), Some("mg/dL"), None));
    }
    let data = c.write();
    let r = run(
        "import labs.{creatinine}\ncohort high { index = first lab creatinine > 2 mg/dL }\n",
        &data,
    );
    let want: BTreeSet<(String, i64)> = [key("H01", 3), key("H01", 4)].into();
    assert_eq!(persons(&r["cohort_high"]), want);
}
