//! The stdlib's outcome definitions against the generator's truth: on the demo network each
//! must find at least 90 % of its planted true cases and at most 10 % of its planted
//! look-alikes. The measured table is printed (and recorded in docs/outcomes.md).

use std::collections::{BTreeMap, BTreeSet};

use arrow::array::{Array, Int64Array, StringArray};

use crate::common;
use crate::e2e::run;

/// Stdlib definition → the truth table's outcome names it should find.
const OUTCOMES: &[(&str, &[&str])] = &[
    ("heart_failure", &["heart_failure"]),
    ("cerebral_infarction", &["cerebral_infarction"]),
    ("cerebral_haemorrhage", &["cerebral_haemorrhage"]),
    ("stroke", &["cerebral_infarction", "cerebral_haemorrhage"]),
    ("gi_perforation", &["gi_perforation"]),
    ("interstitial_pneumonia", &["interstitial_pneumonia"]),
    ("acute_coronary_syndrome", &["acute_coronary_syndrome"]),
    ("pulmonary_embolism", &["pulmonary_embolism"]),
    ("ketoacidosis", &["ketoacidosis"]),
    ("hypothyroidism", &["hypothyroidism"]),
    ("neutropenia", &["neutropenia"]),
    ("acute_pancreatitis", &["acute_pancreatitis"]),
    ("bowel_obstruction", &["bowel_obstruction"]),
    ("arterial_dissection", &["arterial_dissection"]),
    ("malignancy", &["malignancy"]),
];

/// Every outcome definition of the stdlib is run against the generator's truth: one added to
/// `stdlib/outcomes.mid` without a row above (and planted cases in the generator) fails here.
#[test]
fn every_stdlib_outcome_is_measured_against_planted_truth() {
    let module = mid_compiler::source::stdlib()
        .iter()
        .find(|m| m.name == "outcomes")
        .expect("the outcomes module");
    let defined: BTreeSet<&str> = module
        .text
        .lines()
        .filter_map(|l| l.strip_prefix("define "))
        .filter_map(|l| l.split([':', ' ', '(']).next())
        .collect();
    let measured: BTreeSet<&str> = OUTCOMES.iter().map(|(n, _)| *n).collect();
    assert!(defined.len() >= 15, "{defined:?}");
    assert_eq!(defined, measured);
}

fn script() -> String {
    let mut s = String::from(
        "study outcome_validation\nimport outcomes.*\ncohort everyone { index = first visit any }\n",
    );
    for (name, _) in OUTCOMES {
        s.push_str(&format!(
            "outcome found_{name} in everyone = first {name} on or after start of observation\n"
        ));
    }
    let cols: Vec<String> = OUTCOMES.iter().map(|(n, _)| format!("found_{n}")).collect();
    s.push_str(&format!("export everyone with {}\n", cols.join(", ")));
    s
}

#[derive(Default)]
struct Truth {
    /// outcome → (hospital, patient) of true cases and of look-alikes
    cases: BTreeMap<String, BTreeSet<(String, i64)>>,
    lookalikes: BTreeMap<String, BTreeSet<(String, i64)>>,
}

fn truth(dir: &std::path::Path) -> Truth {
    let mut t = Truth::default();
    for b in common::read_batches(&dir.join("truth").join("truth.parquet")) {
        let s = |n: &str| {
            b.column_by_name(n)
                .expect(n)
                .as_any()
                .downcast_ref::<StringArray>()
                .expect("text")
                .clone()
        };
        let (h, o, role) = (s("hospital_id"), s("outcome"), s("role"));
        let p = b
            .column_by_name("patient_id")
            .expect("patient_id")
            .as_any()
            .downcast_ref::<Int64Array>()
            .expect("int")
            .clone();
        for i in 0..b.num_rows() {
            let key = (h.value(i).to_string(), p.value(i));
            let map = if role.value(i) == "case" {
                &mut t.cases
            } else {
                &mut t.lookalikes
            };
            map.entry(o.value(i).to_string()).or_default().insert(key);
        }
    }
    t
}

#[test]
fn validated_outcomes_find_planted_cases_and_few_lookalikes() {
    let data = mid_runtime::dataset::resolve_data(None).expect("the demo network");
    let truth = truth(&data);
    let results = run(&script(), &data);
    let export = &results["export_everyone"];
    let hosp = crate::common::text(export.column_by_name("hospital_id").expect("h"));
    let pat = export
        .column_by_name("patient_id")
        .expect("p")
        .as_any()
        .downcast_ref::<Int64Array>()
        .expect("int");

    let mut table = String::from(
        "| definition | true cases | found | sensitivity | look-alikes | found | look-alike rate | flagged | PPV |\n|---|---|---|---|---|---|---|---|---|\n",
    );
    let mut failures = Vec::new();
    for (name, truth_names) in OUTCOMES {
        let col = export
            .column_by_name(&format!("found_{name}"))
            .expect("an outcome column");
        let found: BTreeSet<(String, i64)> = (0..export.num_rows())
            .filter(|i| !col.is_null(*i))
            .map(|i| (hosp.value(i).to_string(), pat.value(i)))
            .collect();
        let cases: BTreeSet<_> = truth_names
            .iter()
            .flat_map(|n| truth.cases.get(*n).cloned().unwrap_or_default())
            .collect();
        let looks: BTreeSet<_> = truth_names
            .iter()
            .flat_map(|n| truth.lookalikes.get(*n).cloned().unwrap_or_default())
            .collect();
        let hit = found.intersection(&cases).count();
        let false_hit = found.intersection(&looks).count();
        let sensitivity = hit as f64 / cases.len().max(1) as f64;
        let lookalike_rate = false_hit as f64 / looks.len().max(1) as f64;
        let ppv = hit as f64 / found.len().max(1) as f64;
        table.push_str(&format!(
            "| {name} | {} | {hit} | {:.1} % | {} | {false_hit} | {:.1} % | {} | {:.1} % |\n",
            cases.len(),
            sensitivity * 100.0,
            looks.len(),
            lookalike_rate * 100.0,
            found.len(),
            ppv * 100.0
        ));
        if cases.len() < 40 || looks.len() < 40 {
            failures.push(format!(
                "{name}: too few planted episodes ({} cases, {} look-alikes)",
                cases.len(),
                looks.len()
            ));
        }
        if sensitivity < 0.90 {
            failures.push(format!(
                "{name}: sensitivity {:.1} % < 90 %",
                sensitivity * 100.0
            ));
        }
        if lookalike_rate > 0.10 {
            failures.push(format!(
                "{name}: finds {:.1} % of look-alikes > 10 %",
                lookalike_rate * 100.0
            ));
        }
    }
    println!("{table}");
    assert!(failures.is_empty(), "{}\n{table}", failures.join("\n"));
}

/// What the published algorithms exclude, on hand-made patients (the generator plants none of
/// these look-alikes): cerebral infarction only as a main DPC diagnosis, not as a comorbidity
/// recorded in a stay for something else; heart failure not in a stay with great-vessel
/// surgery; interstitial pneumonia from the drug-induced codes too, but not with radiation
/// pneumonitis. Each excluded patient has a twin, alike but for that, who is found.
#[test]
fn published_exclusions_hold_on_hand_made_patients() {
    use crate::e2e::persons;
    use crate::fixture::{Cdm, d};
    let mut c = Cdm::default();
    let day = d("2020-03-02");
    for id in 1..=7 {
        c.patient("H01", id, "M", "1950-01-01", "2018-01-01", "2021-12-31");
    }
    let stay = |c: &mut Cdm, id: i64| {
        c.visits
            .push(("H01", id, 1000 + id, "inpatient", "internal", day, day + 10));
    };
    // Cerebral infarction with head CT and an antiplatelet in the stay: 1 as the main DPC
    // diagnosis (found), 2 as a comorbidity present at admission (not).
    for (id, category) in [(1, "11"), (2, "41")] {
        stay(&mut c, id);
        c.diagnoses.push((
            "H01",
            id,
            "dpc",
            day,
            Some("I639"),
            false,
            category == "11",
            Some(category),
        ));
        c.procedures.push(("H01", id, "kcode", "E200", day));
        c.drugs.push((
            "H01",
            id,
            "prescription",
            "inpatient",
            day + 1,
            7,
            Some("3399008F1025"),
        ));
    }
    // Heart failure with IV furosemide and BNP 500 pg/mL in the stay: 3 found, 4 with an
    // aortic repair in the same stay not.
    for id in [3, 4] {
        stay(&mut c, id);
        c.diagnoses
            .push(("H01", id, "dpc", day, Some("I500"), false, true, Some("11")));
        c.drugs.push((
            "H01",
            id,
            "injection",
            "inpatient",
            day,
            3,
            Some("2139401A1024"),
        ));
        c.labs.push((
            "H01",
            id,
            day,
            Some("4Z271000002399101"),
            Some(500.0),
            Some("pg/mL"),
            None,
        ));
    }
    c.procedures.push(("H01", 4, "kcode", "K560", day + 1));
    // Interstitial pneumonia with KL-6 800 U/mL and a steroid started: 5 drug-induced (J70.2,
    // found), 6 J84.1 with radiation pneumonitis (J70.1) a week later (not), 7 J84.1 (found).
    for (id, icd10) in [(5, "J702"), (6, "J841"), (7, "J841")] {
        c.diagnoses
            .push(("H01", id, "claim", day, Some(icd10), false, true, None));
        c.labs.push((
            "H01",
            id,
            day + 2,
            Some("5C210000002306101"),
            Some(800.0),
            Some("U/mL"),
            None,
        ));
        c.drugs.push((
            "H01",
            id,
            "prescription",
            "outpatient",
            day + 3,
            14,
            Some("2456001F1020"),
        ));
    }
    c.diagnoses
        .push(("H01", 6, "claim", day + 7, Some("J701"), false, true, None));
    let data = c.write();
    let r = run(
        "import outcomes.{cerebral_infarction, heart_failure, interstitial_pneumonia}
cohort ci { index = first cerebral_infarction }
cohort hf { index = first heart_failure }
cohort ild { index = first interstitial_pneumonia }",
        &data,
    );
    let found = |cohort: &str| -> BTreeSet<i64> {
        persons(&r[&format!("cohort_{cohort}")])
            .into_iter()
            .map(|(_, p)| p)
            .collect()
    };
    assert_eq!(found("ci"), BTreeSet::from([1]));
    assert_eq!(found("hf"), BTreeSet::from([3]));
    assert_eq!(found("ild"), BTreeSet::from([5, 7]));
}
