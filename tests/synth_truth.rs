//! The synthetic network's planted truth: each planted outcome is in the data exactly as the
//! truth table says, look-alikes are not outcomes, and the planted rates are the documented
//! ones.

use std::collections::{HashMap, HashSet};

use crate::common::{self, Key, by_patient, loaded, manifest, network};

/// Absolute neutrophil counts per (patient, day) in /uL: reported, or WBC × % / 100.
fn anc(net: &common::Net) -> HashMap<(Key, i32), f64> {
    let l = &net.lab;
    let keys = l.keys();
    let (date, analyte, value, unit) = (
        l.date("date"),
        l.str("analyte"),
        l.f64("value"),
        l.str("unit"),
    );
    let per_ul = |v: f64, u: &str| if u.starts_with('/') { v } else { v * 1000.0 };
    let mut wbc: HashMap<(Key, i32), f64> = HashMap::new();
    let mut pct: HashMap<(Key, i32), f64> = HashMap::new();
    let mut out: HashMap<(Key, i32), f64> = HashMap::new();
    for i in 0..l.rows() {
        let (Some(a), Some(v)) = (&analyte[i], value[i]) else {
            continue;
        };
        let k = (keys[i].clone(), date[i].expect("date"));
        let u = unit[i].clone().unwrap_or_default();
        match a.as_str() {
            "9Z001" => {
                out.insert(k, per_ul(v, &u));
            }
            "2A010" => {
                wbc.insert(k, per_ul(v, &u));
            }
            "2A160" => {
                pct.insert(k, v);
            }
            _ => {}
        }
    }
    for (k, w) in wbc {
        if let Some(p) = pct.get(&k) {
            out.entry(k).or_insert(w * p / 100.0);
        }
    }
    out
}

#[test]
fn neutropenia_in_the_data_is_exactly_the_planted_cases() {
    let net = loaded();
    let low: HashSet<Key> = anc(net)
        .into_iter()
        .filter(|(_, v)| *v <= 1500.0)
        .map(|((k, _), _)| k)
        .collect();
    let t = &net.truth;
    let (outcome, role, kind) = (t.str("outcome"), t.str("role"), t.str("kind"));
    let keys = t.keys();
    let mut cases = HashSet::new();
    let mut lookalikes = HashSet::new();
    let mut signal = 0;
    for i in 0..t.rows() {
        if outcome[i].as_deref() == Some("neutropenia") {
            if role[i].as_deref() == Some("case") {
                cases.insert(keys[i].clone());
                signal += usize::from(kind[i].as_deref() == Some("drug_signal"));
            } else {
                lookalikes.insert(keys[i].clone());
            }
        }
    }
    assert_eq!(
        low, cases,
        "every ANC ≤ 1,500/uL is a planted case and every case has one"
    );
    assert!(lookalikes.is_disjoint(&low));
    assert!(
        lookalikes.len() >= 20 && signal >= 10,
        "{} look-alikes, {signal} drug-signal cases",
        lookalikes.len()
    );
}

/// Stay-level evidence: for each stay, its DPC main (category 11) non-suspected codes,
/// drug ingredients (7 characters), procedure codes and lab results.
struct Stays {
    stays: HashMap<Key, Vec<(i64, i32, i32)>>,
    dpc_main: HashMap<i64, Vec<String>>,
}

fn stays(net: &common::Net) -> Stays {
    let v = &net.visit;
    let mut stays: HashMap<Key, Vec<(i64, i32, i32)>> = HashMap::new();
    let (kind, id, s, e) = (
        v.str("kind"),
        v.i64("visit_id"),
        v.date("start_date"),
        v.date("end_date"),
    );
    for (i, k) in v.keys().into_iter().enumerate() {
        if kind[i].as_deref() == Some("inpatient") {
            stays.entry(k).or_default().push((
                id[i].expect("id"),
                s[i].expect("s"),
                e[i].expect("e"),
            ));
        }
    }
    let d = &net.diagnosis;
    let mut dpc_main: HashMap<i64, Vec<String>> = HashMap::new();
    let (cat, icd, susp, vid) = (
        d.str("dpc_category"),
        d.str("icd10"),
        d.bool("suspected"),
        d.i64("visit_id"),
    );
    for i in 0..d.rows() {
        if cat[i].as_deref() == Some("11")
            && susp[i] == Some(false)
            && let (Some(c), Some(v)) = (&icd[i], vid[i])
        {
            dpc_main.entry(v).or_default().push(c.clone());
        }
    }
    Stays { stays, dpc_main }
}

const STAY_OUTCOMES: &[(&str, &[&str])] = &[
    ("heart_failure", &["I50"]),
    ("cerebral_infarction", &["I63"]),
    ("cerebral_haemorrhage", &["I61"]),
    ("gi_perforation", &["K251", "K265", "K631", "K572"]),
    ("acute_coronary_syndrome", &["I21", "I200", "I24"]),
    ("pulmonary_embolism", &["I26"]),
    ("ketoacidosis", &["E101", "E111", "E131", "E141"]),
    ("acute_pancreatitis", &["K85"]),
    ("bowel_obstruction", &["K56"]),
    ("arterial_dissection", &["I710"]),
];

#[test]
fn inpatient_outcomes_have_their_stay_and_lookalikes_do_not() {
    let net = loaded();
    let st = stays(net);
    let t = &net.truth;
    let (outcome, role, kind, date) = (
        t.str("outcome"),
        t.str("role"),
        t.str("kind"),
        t.date("date"),
    );
    let keys = t.keys();
    // Patients with a stay whose DPC main diagnosis is an outcome code, per outcome.
    for (name, codes) in STAY_OUTCOMES {
        let matches = |code: &str| codes.iter().any(|c| code.starts_with(c));
        let mut qualifying: HashSet<Key> = HashSet::new();
        for (k, list) in &st.stays {
            for (v, _, _) in list {
                if st
                    .dpc_main
                    .get(v)
                    .is_some_and(|c| c.iter().any(|c| matches(c)))
                {
                    qualifying.insert(k.clone());
                }
            }
        }
        let mut cases = 0;
        let mut lookalikes = 0;
        for i in 0..t.rows() {
            if outcome[i].as_deref() != Some(name) {
                continue;
            }
            let k = &keys[i];
            if role[i].as_deref() == Some("case") {
                cases += 1;
                let d = date[i].expect("date");
                let stay = st
                    .stays
                    .get(k)
                    .and_then(|l| l.iter().find(|(_, s, _)| *s == d));
                let (v, _, _) = stay.unwrap_or_else(|| {
                    panic!(
                        "{name} case {k:?} ({}) has a stay starting {d}",
                        kind[i].clone().unwrap_or_default()
                    )
                });
                assert!(
                    st.dpc_main
                        .get(v)
                        .is_some_and(|c| c.iter().any(|c| matches(c))),
                    "{name} case {k:?}: DPC main code"
                );
            } else {
                lookalikes += 1;
                assert!(
                    !qualifying.contains(k),
                    "{name} look-alike {k:?} ({:?}) has no stay with the outcome as DPC main",
                    kind[i]
                );
            }
        }
        // Nothing outside the truth table has such a stay.
        let truth_keys: HashSet<&Key> = (0..t.rows())
            .filter(|&i| outcome[i].as_deref() == Some(name))
            .map(|i| &keys[i])
            .collect();
        for k in &qualifying {
            assert!(
                truth_keys.contains(k),
                "{name}: {k:?} has a qualifying stay but is not in the truth table"
            );
        }
        assert!(
            cases >= 15 && lookalikes >= 15,
            "{name}: {cases} cases, {lookalikes} look-alikes"
        );
    }
}

#[test]
fn heart_failure_definition_finds_the_cases_and_not_the_lookalikes() {
    let net = loaded();
    let st = stays(net);
    // Evidence per stay (visit_id) from drugs, procedures and labs.
    let mut iv: HashSet<i64> = HashSet::new();
    let d = &net.drug;
    for (yj, v) in d.str("yj_code").into_iter().zip(d.i64("visit_id")) {
        if let (Some(yj), Some(v)) = (yj, v)
            && (yj.starts_with("2139401") || yj.starts_with("2179400"))
        {
            iv.insert(v);
        }
    }
    let mut surgery: HashSet<i64> = HashSet::new();
    let p = &net.procedure;
    for (c, v) in p.str("code").into_iter().zip(p.i64("visit_id")) {
        if let (Some(c), Some(v)) = (c, v) {
            if c == "J038" || c == "140038099" {
                iv.insert(v);
            }
            if ["K552", "K555", "150552099", "150555099"].contains(&c.as_str()) {
                surgery.insert(v);
            }
        }
    }
    let l = &net.lab;
    let lk = l.keys();
    let (ld, la, lv) = (l.date("date"), l.str("analyte"), l.f64("value"));
    let mut natriuretic: HashMap<Key, Vec<i32>> = HashMap::new();
    for i in 0..l.rows() {
        let hit = match (la[i].as_deref(), lv[i]) {
            (Some("4Z271"), Some(v)) => v >= 100.0,
            (Some("4Z272"), Some(v)) => v >= 400.0,
            _ => false,
        };
        if hit {
            natriuretic
                .entry(lk[i].clone())
                .or_default()
                .push(ld[i].expect("date"));
        }
    }
    let mut found: HashSet<Key> = HashSet::new();
    for (k, list) in &st.stays {
        for (v, s, e) in list {
            let hf = st
                .dpc_main
                .get(v)
                .is_some_and(|c| c.iter().any(|c| c.starts_with("I50")));
            let lab = natriuretic
                .get(k)
                .is_some_and(|ds| ds.iter().any(|d| d >= s && d <= e));
            if hf && iv.contains(v) && lab && !surgery.contains(v) {
                found.insert(k.clone());
            }
        }
    }
    let t = &net.truth;
    let (outcome, role, kind) = (t.str("outcome"), t.str("role"), t.str("kind"));
    let keys = t.keys();
    let cases: Vec<&Key> = (0..t.rows())
        .filter(|&i| {
            outcome[i].as_deref() == Some("heart_failure") && role[i].as_deref() == Some("case")
        })
        .map(|i| &keys[i])
        .collect();
    let complete: Vec<&Key> = (0..t.rows())
        .filter(|&i| {
            outcome[i].as_deref() == Some("heart_failure")
                && kind[i].as_deref() == Some("inpatient_case")
        })
        .map(|i| &keys[i])
        .collect();
    for k in &complete {
        assert!(
            found.contains(*k),
            "complete heart-failure case {k:?} meets the definition"
        );
    }
    let sensitivity =
        cases.iter().filter(|k| found.contains(**k)).count() as f64 / cases.len() as f64;
    assert!(sensitivity >= 0.9, "sensitivity {sensitivity}");
    let case_set: HashSet<&Key> = cases.into_iter().collect();
    for k in &found {
        assert!(
            case_set.contains(k),
            "{k:?} meets the definition but is not a planted case"
        );
    }
    let elective = (0..t.rows())
        .filter(|&i| kind[i].as_deref() == Some("elective_cardiac_surgery"))
        .count();
    assert!(elective > 0);
}

#[test]
fn planted_rates_are_close_to_the_documented_ones() {
    let net = loaded();
    let m = manifest(network()).synthetic.expect("synthetic");
    let t = &net.truth;
    let (outcome, role) = (t.str("outcome"), t.str("role"));
    let n = common::PATIENTS as f64;
    let count = |o: &str, r: &str| {
        (0..t.rows())
            .filter(|&i| outcome[i].as_deref() == Some(o) && role[i].as_deref() == Some(r))
            .count() as f64
    };
    // Cases of each stay outcome: planted at CASE_RATE (one row per case episode).
    let case_rate = m.episode_rates["HfCase"];
    for (name, _) in STAY_OUTCOMES
        .iter()
        .filter(|(n, _)| *n != "arterial_dissection")
    {
        let expected = n * case_rate;
        let got = count(name, "case");
        assert!(
            (got - expected).abs() <= 4.0 * expected.sqrt() + 2.0,
            "{name}: {got} cases, expected {expected}"
        );
    }
    let hf_lookalikes = n
        * (m.episode_rates["HfChronic"]
            + m.episode_rates["HfTestJustification"]
            + m.episode_rates["HfElectiveSurgery"]);
    let got = count("heart_failure", "lookalike");
    assert!(
        (got - hf_lookalikes).abs() <= 4.0 * hf_lookalikes.sqrt() + 2.0,
        "{got} vs {hf_lookalikes}"
    );
    // Incomplete evidence: about 5 % of cases, never so many that sensitivity falls below 90 %.
    let kind = t.str("kind");
    let cases = (0..t.rows())
        .filter(|&i| role[i].as_deref() == Some("case"))
        .count() as f64;
    let incomplete = kind
        .iter()
        .filter(|k| k.as_deref() == Some("incomplete_evidence"))
        .count() as f64;
    assert!(
        incomplete > 0.0 && incomplete / cases < 0.08,
        "{incomplete} of {cases}"
    );
    // Thiamazole/PTU: raised early neutropenia.
    let thyro = n * m.episode_rates["Antithyroid"];
    let signal = (0..t.rows())
        .filter(|&i| {
            outcome[i].as_deref() == Some("neutropenia")
                && kind[i].as_deref() == Some("drug_signal")
        })
        .count() as f64;
    assert!(
        signal / thyro > 0.04 && signal / thyro < 0.12,
        "{signal} of {thyro}"
    );
    let statin = count("statin_alt_rise", "case") / (n * m.episode_rates["Statin"]);
    assert!(statin > 0.01 && statin < 0.06, "statin ALT rise {statin}");
}

#[test]
fn every_patient_has_rows_in_its_own_hospital_only() {
    let net = loaded();
    let patients: HashSet<Key> = net.patient.keys().into_iter().collect();
    for (name, t) in [
        ("visit", &net.visit),
        ("diagnosis", &net.diagnosis),
        ("drug", &net.drug),
        ("lab", &net.lab),
        ("procedure", &net.procedure),
        ("truth", &net.truth),
    ] {
        for k in by_patient(t).keys() {
            assert!(patients.contains(k), "{name} row of unknown patient {k:?}");
        }
    }
}

/// A lab result: (date, analyte, value, ref_high, value_text).
type LabResult = (i32, String, Option<f64>, Option<f64>, Option<String>);

/// Per patient: (date, code, suspected) of diagnoses, (date, yj) of drugs, (date, code) of
/// procedures, (date, analyte, value, ref_high, text) of labs.
#[derive(Default)]
struct Record {
    dx: Vec<(i32, String, bool)>,
    drugs: Vec<(i32, String)>,
    procs: Vec<(i32, String)>,
    labs: Vec<LabResult>,
}

fn records(net: &common::Net) -> HashMap<Key, Record> {
    let mut m: HashMap<Key, Record> = HashMap::new();
    let d = &net.diagnosis;
    for ((k, day), (code, s)) in d
        .keys()
        .into_iter()
        .zip(d.date("date"))
        .zip(d.str("icd10").into_iter().zip(d.bool("suspected")))
    {
        if let Some(code) = code {
            m.entry(k)
                .or_default()
                .dx
                .push((day.expect("date"), code, s == Some(true)));
        }
    }
    let r = &net.drug;
    for ((k, day), yj) in r
        .keys()
        .into_iter()
        .zip(r.date("date"))
        .zip(r.str("yj_code"))
    {
        if let Some(yj) = yj {
            m.entry(k).or_default().drugs.push((day.expect("date"), yj));
        }
    }
    let p = &net.procedure;
    for ((k, day), code) in p.keys().into_iter().zip(p.date("date")).zip(p.str("code")) {
        m.entry(k)
            .or_default()
            .procs
            .push((day.expect("date"), code.expect("code")));
    }
    let l = &net.lab;
    let (ld, la, lv, lh, lt) = (
        l.date("date"),
        l.str("analyte"),
        l.f64("value"),
        l.f64("ref_high"),
        l.str("value_text"),
    );
    for (i, k) in l.keys().into_iter().enumerate() {
        if let Some(a) = &la[i] {
            m.entry(k).or_default().labs.push((
                ld[i].expect("date"),
                a.clone(),
                lv[i],
                lh[i],
                lt[i].clone(),
            ));
        }
    }
    m
}

fn first_records(net: &common::Net) -> HashMap<Key, i32> {
    net.patient
        .keys()
        .into_iter()
        .zip(net.patient.date("first_record_date"))
        .map(|(k, d)| (k, d.expect("first")))
        .collect()
}

/// Checks a patient-level definition against the truth of `outcome`: every complete case
/// is found, sensitivity ≥ 90 %, and nothing else (no look-alike, no background) is found.
fn check_definition(outcome: &str, found: &HashSet<Key>) {
    let t = &loaded().truth;
    let (o, role, kind) = (t.str("outcome"), t.str("role"), t.str("kind"));
    let keys = t.keys();
    let mut cases = HashSet::new();
    for i in 0..t.rows() {
        if o[i].as_deref() != Some(outcome) {
            continue;
        }
        if role[i].as_deref() == Some("case") {
            cases.insert(keys[i].clone());
            if kind[i].as_deref() != Some("incomplete_evidence") {
                assert!(
                    found.contains(&keys[i]),
                    "{outcome}: complete case {:?} ({:?}) is found",
                    keys[i],
                    kind[i]
                );
            }
        }
    }
    for k in found {
        assert!(
            cases.contains(k),
            "{outcome}: {k:?} meets the definition but is not a planted case"
        );
    }
    let sensitivity =
        cases.iter().filter(|k| found.contains(*k)).count() as f64 / cases.len() as f64;
    assert!(
        sensitivity >= 0.9 && cases.len() >= 15,
        "{outcome}: sensitivity {sensitivity} of {}",
        cases.len()
    );
}

/// First non-suspected diagnosis with `prefixes`, observed ≥ 180 days before with no such code.
fn clean_first(r: &Record, first: i32, prefixes: &[&str]) -> Option<i32> {
    let hit = |c: &str| prefixes.iter().any(|p| c.starts_with(p));
    let d0 =
        r.dx.iter()
            .filter(|(_, c, s)| !s && hit(c))
            .map(|(d, _, _)| *d)
            .min()?;
    let earlier =
        r.dx.iter()
            .any(|(d, c, _)| hit(c) && *d < d0 && *d >= d0 - 180);
    (first <= d0 - 180 && !earlier).then_some(d0)
}

#[test]
fn interstitial_pneumonia_and_hypothyroidism_definitions() {
    let net = loaded();
    let recs = records(net);
    let firsts = first_records(net);
    let steroids = [
        "2456001", "2456400", "2456405", "2454002", "2454405", "2452002", "2452400",
    ];
    let mut ild = HashSet::new();
    let mut hypo = HashSet::new();
    for (k, r) in &recs {
        let first = firsts[k];
        if let Some(d0) = clean_first(r, first, &["J841", "J849"]) {
            let marker = r.labs.iter().any(|(d, a, v, _, _)| {
                (d - d0).abs() <= 30
                    && v.is_some_and(|v| {
                        (a == "5C210" && v >= 500.0) || (a == "3F253" && v >= 110.0)
                    })
            });
            let steroid = r.drugs.iter().any(|(d, y)| {
                *d >= d0 && *d <= d0 + 30 && steroids.iter().any(|s| y.starts_with(s))
            });
            if marker && steroid {
                ild.insert(k.clone());
            }
        }
        if let Some(d0) = clean_first(r, first, &["E03"]) {
            let tsh = r.labs.iter().any(|(d, a, v, h, _)| {
                (d - d0).abs() <= 30
                    && a == "4A055"
                    && matches!((v, h), (Some(v), Some(h)) if v > h)
            });
            let first_lt4 = r
                .drugs
                .iter()
                .filter(|(_, y)| y.starts_with("2431004"))
                .map(|(d, _)| *d)
                .min();
            if tsh && first_lt4.is_some_and(|d| d >= d0 && d <= d0 + 30) {
                hypo.insert(k.clone());
            }
        }
    }
    check_definition("interstitial_pneumonia", &ild);
    check_definition("hypothyroidism", &hypo);
}

#[test]
fn malignancy_definition() {
    let net = loaded();
    let recs = records(net);
    let anticancer = [
        "4291401", "4291403", "4240406", "4291410", "4223401", "4291413", "4291429",
    ];
    let treatment_codes = [
        "M001",
        "180001099",
        "K655",
        "150655099",
        "K719",
        "150719099",
    ];
    let mut found = HashSet::new();
    for (k, r) in &recs {
        let mut days: Vec<i32> =
            r.dx.iter()
                .filter(|(_, c, s)| !s && c.starts_with('C'))
                .map(|(d, _, _)| *d)
                .collect();
        days.sort_unstable();
        days.dedup();
        let Some(d0) = days.windows(2).find(|w| w[1] - w[0] <= 90).map(|w| w[0]) else {
            continue;
        };
        let drug = r.drugs.iter().any(|(d, y)| {
            *d >= d0 && *d <= d0 + 180 && anticancer.iter().any(|a| y.starts_with(a))
        });
        let act = r
            .procs
            .iter()
            .any(|(d, c)| *d >= d0 && *d <= d0 + 180 && treatment_codes.contains(&c.as_str()));
        if drug || act {
            found.insert(k.clone());
        }
    }
    check_definition("malignancy", &found);
}
