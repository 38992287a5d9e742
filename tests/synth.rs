//! `mid synth`: arguments, determinism, realism statistics and planted truth.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::Path;
use std::process::Command;

use mid_runtime::synth::calendar;

use crate::common::{self, Key, by_patient, loaded, manifest, mid, network};

fn synth_cmd(out: &Path, extra: &[&str]) -> std::process::Output {
    let mut args = vec!["synth", "--out", out.to_str().expect("utf-8 path")];
    args.extend_from_slice(extra);
    mid(&args)
}

#[test]
fn bad_arguments_exit_2_and_write_nothing() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let cases: &[&[&str]] = &[
        &["--patients", "0", "--hospitals", "2", "--seed", "1"],
        &["--patients", "10", "--hospitals", "0", "--seed", "1"],
        &["--patients", "10", "--hospitals", "100", "--seed", "1"],
        &[
            "--patients",
            "10",
            "--hospitals",
            "2",
            "--seed",
            "1",
            "--start",
            "2020-01-01",
            "--end",
            "2019-01-01",
        ],
        &[
            "--patients",
            "10",
            "--hospitals",
            "2",
            "--seed",
            "1",
            "--start",
            "2020-02-30",
        ],
        &["--patients", "ten", "--hospitals", "2", "--seed", "1"],
    ];
    for (i, args) in cases.iter().enumerate() {
        let out = tmp.path().join(format!("out{i}"));
        let o = synth_cmd(&out, args);
        assert_eq!(
            o.status.code(),
            Some(2),
            "{args:?}: {}",
            String::from_utf8_lossy(&o.stderr)
        );
        assert!(!String::from_utf8_lossy(&o.stderr).is_empty());
        assert!(!out.exists(), "{args:?} left {}", out.display());
    }
    let leftovers: Vec<_> = std::fs::read_dir(tmp.path()).expect("list").collect();
    assert!(leftovers.is_empty(), "nothing partial is left behind");
}

#[test]
fn non_empty_out_dir_is_refused_and_left_alone() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let out = tmp.path().join("busy");
    std::fs::create_dir(&out).expect("mkdir");
    std::fs::write(out.join("keep.txt"), "mine").expect("write");
    let o = synth_cmd(
        &out,
        &["--patients", "50", "--hospitals", "2", "--seed", "1"],
    );
    assert_eq!(o.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("not empty"),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let names: Vec<String> = std::fs::read_dir(tmp.path())
        .expect("list")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(
        names,
        vec!["busy".to_string()],
        "no temporary directory is left"
    );
    assert_eq!(
        std::fs::read_to_string(out.join("keep.txt")).expect("read"),
        "mine"
    );
    // An existing empty directory is fine.
    let empty = tmp.path().join("empty");
    std::fs::create_dir(&empty).expect("mkdir");
    let o = synth_cmd(
        &empty,
        &["--patients", "50", "--hospitals", "2", "--seed", "1"],
    );
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(empty.join("manifest.json").is_file());
}

#[test]
fn same_arguments_same_bytes_any_thread_count_and_seed_matters() {
    let a = common::generate(3_000, 3, 11);
    let tmp = tempfile::tempdir().expect("tempdir");
    let b = tmp.path().join("b");
    let o = Command::new(env!("CARGO_BIN_EXE_mid"))
        .args([
            "synth",
            "--patients",
            "3000",
            "--hospitals",
            "3",
            "--seed",
            "11",
            "--out",
        ])
        .arg(&b)
        .env("RAYON_NUM_THREADS", "1")
        .output()
        .expect("runs");
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let (ma, mb) = (manifest(&a), manifest(&b));
    assert_eq!(ma, mb);
    for files in ma.tables.values() {
        for f in &files.files {
            assert_eq!(
                std::fs::read(a.join(f)).expect("a"),
                std::fs::read(b.join(f)).expect("b"),
                "{f}"
            );
        }
    }
    let c = common::generate(3_000, 3, 12);
    let mc = manifest(&c);
    assert_ne!(ma.fingerprint, mc.fingerprint);
    for (t, e) in &ma.tables {
        assert_ne!(e.fingerprint, mc.tables[t].fingerprint, "{t}");
    }
    assert_eq!(ma.cdm_version, mid_compiler::cdm::CDM_VERSION);
    let args = ma.arguments.expect("arguments");
    assert_eq!((args.patients, args.hospitals, args.seed), (3_000, 3, 11));
    assert_eq!(ma.sites, vec!["H01", "H02", "H03"]);
}

#[test]
fn manifest_counts_match_the_files() {
    let m = manifest(network());
    let net = loaded();
    assert_eq!(m.tables["patient"].rows, net.patient.rows() as u64);
    assert_eq!(m.tables["lab"].rows, net.lab.rows() as u64);
    assert_eq!(
        m.truth.as_ref().expect("truth").rows,
        net.truth.rows() as u64
    );
    assert_eq!(net.patient.rows() as u64, common::PATIENTS);
    let text = std::fs::read_to_string(network().join("manifest.json")).expect("manifest");
    let keys = [
        "\"cdm_version\"",
        "\"generator\"",
        "\"seed\"",
        "\"arguments\"",
        "\"data_period\"",
        "\"sites\"",
        "\"tables\"",
        "\"truth\"",
        "\"fingerprint\"",
        "\"synthetic\"",
    ];
    let pos: Vec<usize> = keys
        .iter()
        .map(|k| text.find(&format!("\n  {k}")).expect(k))
        .collect();
    assert!(
        pos.windows(2).all(|w| w[0] < w[1]),
        "manifest keys in the fixed order"
    );
}

#[test]
fn sex_and_age_look_like_japanese_hospital_patients() {
    let p = &loaded().patient;
    let sex = p.str("sex");
    let n = sex.len() as f64;
    let share = |s: &str| sex.iter().filter(|x| x.as_deref() == Some(s)).count() as f64 / n;
    assert!((share("M") - 0.47).abs() < 0.015, "male {}", share("M"));
    assert!((share("F") - 0.527).abs() < 0.015, "female {}", share("F"));
    assert!(
        share("U") > 0.0 && share("U") < 0.01,
        "unknown {}",
        share("U")
    );
    let ages: Vec<i32> = p
        .date("birth_date")
        .into_iter()
        .zip(p.date("first_record_date"))
        .map(|(b, f)| calendar::years_between(b.expect("birth"), f.expect("first")))
        .collect();
    let old = ages.iter().filter(|&&a| (60..90).contains(&a)).count() as f64 / n;
    assert!((0.45..0.62).contains(&old), "60–89: {old}");
    let children = ages.iter().filter(|&&a| a < 20).count() as f64 / n;
    assert!((0.05..0.13).contains(&children), "under 20: {children}");
    assert!(ages.iter().all(|&a| (0..=110).contains(&a)));
}

#[test]
fn patient_ids_overlap_across_hospitals_and_visit_ids_are_unique_per_hospital() {
    let net = loaded();
    let mut per: BTreeMap<String, HashSet<i64>> = BTreeMap::new();
    for (h, p) in net.patient.keys() {
        assert!(
            per.entry(h).or_default().insert(p),
            "patient ids unique within a hospital"
        );
    }
    for ids in per.values() {
        assert!(
            ids.contains(&1_000_001),
            "every hospital numbers from 1000001"
        );
    }
    let mut seen = HashSet::new();
    for (k, v) in net.visit.keys().into_iter().zip(net.visit.i64("visit_id")) {
        assert!(
            seen.insert((k.0, v.expect("visit id"))),
            "visit_id unique within a hospital"
        );
    }
}

#[test]
fn observability_dates_match_the_records_and_deaths_are_in_hospital() {
    let net = loaded();
    let mut span: HashMap<Key, (i32, i32)> = HashMap::new();
    let mut add = |keys: Vec<Key>, dates: Vec<Option<i32>>| {
        for (k, d) in keys.into_iter().zip(dates) {
            let d = d.expect("dates are never null");
            let e = span.entry(k).or_insert((d, d));
            e.0 = e.0.min(d);
            e.1 = e.1.max(d);
        }
    };
    add(net.visit.keys(), net.visit.date("start_date"));
    add(net.visit.keys(), net.visit.date("end_date"));
    add(net.diagnosis.keys(), net.diagnosis.date("date"));
    add(net.drug.keys(), net.drug.date("date"));
    add(net.lab.keys(), net.lab.date("date"));
    add(net.procedure.keys(), net.procedure.date("date"));
    let period = (
        calendar::parse("2009-01-01").expect("date"),
        calendar::parse("2024-12-31").expect("date"),
    );
    let died: HashMap<Key, i32> = net
        .visit
        .keys()
        .into_iter()
        .zip(net.visit.str("discharge_status"))
        .zip(net.visit.date("end_date"))
        .filter(|((_, s), _)| s.as_deref() == Some("died"))
        .map(|((k, _), d)| (k, d.expect("end")))
        .collect();
    let keys = net.patient.keys();
    let first = net.patient.date("first_record_date");
    let last = net.patient.date("last_record_date");
    let death = net.patient.date("death_date");
    let mut deaths = 0;
    for (i, k) in keys.iter().enumerate() {
        let (a, b) = span[k];
        assert_eq!((first[i], last[i]), (Some(a), Some(b)), "{k:?}");
        assert!(
            a >= period.0 && b <= period.1,
            "{k:?} inside the data period"
        );
        match death[i] {
            Some(d) => {
                deaths += 1;
                assert_eq!(
                    died.get(k),
                    Some(&d),
                    "{k:?}: death only as an in-hospital death"
                );
                assert_eq!(Some(d), last[i], "{k:?}: nothing after death");
            }
            None => assert!(
                !died.contains_key(k),
                "{k:?} died in hospital without a death_date"
            ),
        }
    }
    assert!(deaths > 20, "some in-hospital deaths: {deaths}");
    // Stays have realistic lengths: median 10–14 days, a long tail.
    let kinds = net.visit.str("kind");
    let mut los: Vec<i32> = kinds
        .iter()
        .zip(
            net.visit
                .date("start_date")
                .into_iter()
                .zip(net.visit.date("end_date")),
        )
        .filter(|(k, _)| k.as_deref() == Some("inpatient"))
        .map(|(_, (s, e))| e.expect("end") - s.expect("start"))
        .filter(|&d| d > 1)
        .collect();
    los.sort_unstable();
    let median = los[los.len() / 2];
    assert!((9..=15).contains(&median), "median length of stay {median}");
    assert!(
        los[los.len() * 95 / 100] > 28,
        "long tail: {}",
        los[los.len() * 95 / 100]
    );
}

#[test]
fn prescriptions_and_codes_are_well_formed() {
    let net = loaded();
    let d = &net.drug;
    let (date, days, end) = (d.date("date"), d.i32("days_supply"), d.date("end_date"));
    let kind = d.str("kind");
    let setting = d.str("setting");
    for i in 0..d.rows() {
        let (a, n, b) = (
            date[i].expect("date"),
            days[i].expect("days"),
            end[i].expect("end"),
        );
        assert!(n >= 1);
        assert_eq!(b, a + n - 1, "end_date = date + days_supply - 1");
        if kind[i].as_deref() == Some("injection") {
            assert_eq!(n, 1);
        }
        if kind[i].as_deref() == Some("prescription") && setting[i].as_deref() == Some("outpatient")
        {
            assert!((14..=90).contains(&n), "outpatient supply {n}");
        }
    }
    for yj in d.str("yj_code").into_iter().flatten() {
        assert_eq!(yj.len(), 12, "{yj}");
    }
    for r in d.str("receipt_code").into_iter().flatten() {
        assert!(r.len() == 9 && r.bytes().all(|b| b.is_ascii_digit()), "{r}");
    }
    let l = &net.lab;
    for (j, a) in l.str("jlac10").into_iter().zip(l.str("analyte")) {
        match (j, a) {
            (Some(j), Some(a)) => {
                assert_eq!(j.len(), 17, "{j}");
                assert_eq!(a, j[..5], "analyte = first 5 characters of jlac10");
            }
            (None, None) => {}
            other => panic!("jlac10 and analyte are mapped together: {other:?}"),
        }
    }
    for (v, t) in l.f64("value").into_iter().zip(l.str("value_text")) {
        assert!(
            v.is_some() != t.is_some(),
            "each result is either numeric or text"
        );
    }
    let dx = &net.diagnosis;
    let (src, icd, local, month, ddate) = (
        dx.str("source"),
        dx.str("icd10"),
        dx.str("local_code"),
        dx.i32("claim_month"),
        dx.date("date"),
    );
    for i in 0..dx.rows() {
        if let Some(c) = &icd[i] {
            assert!(
                !c.contains('.') && c.to_uppercase() == *c && (3..=5).contains(&c.len()),
                "{c}"
            );
        }
        match src[i].as_deref() {
            Some("ehr") => assert!(local[i].is_some(), "ehr rows always have a local code"),
            Some("claim") => assert_eq!(
                month[i],
                Some(calendar::year_month(ddate[i].expect("date")))
            ),
            _ => assert_eq!(month[i], None),
        }
    }
    let sources: HashSet<String> = src.into_iter().flatten().collect();
    assert_eq!(sources.len(), 4, "{sources:?}");
    let suspected = dx
        .bool("suspected")
        .into_iter()
        .filter(|s| *s == Some(true))
        .count();
    assert!(suspected > 0);
    let categories: HashSet<String> = dx.str("dpc_category").into_iter().flatten().collect();
    for c in ["11", "21", "01", "41"] {
        assert!(categories.contains(c), "dpc category {c}");
    }
    let systems: HashSet<String> = net
        .procedure
        .str("code_system")
        .into_iter()
        .flatten()
        .collect();
    assert_eq!(systems.len(), 3, "{systems:?}");
}

#[test]
fn hospitals_differ_as_their_profiles_say() {
    let net = loaded();
    let profiles = manifest(network()).synthetic.expect("synthetic").hospitals;
    let spellings: HashSet<String> = manifest(network())
        .synthetic
        .expect("synthetic")
        .unit_spellings
        .into_iter()
        .collect();
    let l = &net.lab;
    let (hosp, analyte, jlac, unit) = (
        l.str("hospital_id"),
        l.str("analyte"),
        l.str("jlac10"),
        l.str("unit"),
    );
    let d = &net.drug;
    let (dh, yj) = (d.str("hospital_id"), d.str("yj_code"));
    for p in &profiles {
        let rows: Vec<usize> = (0..l.rows())
            .filter(|&i| hosp[i].as_deref() == Some(p.id.as_str()))
            .collect();
        let unmapped =
            rows.iter().filter(|&&i| jlac[i].is_none()).count() as f64 / rows.len() as f64;
        assert!(
            (0.05..=0.40).contains(&unmapped),
            "{} lab unmapped {unmapped}",
            p.id
        );
        assert!(
            (unmapped - p.unmapped_lab_share).abs() < 0.02,
            "{} lab {unmapped} vs {}",
            p.id,
            p.unmapped_lab_share
        );
        let drows: Vec<usize> = (0..d.rows())
            .filter(|&i| dh[i].as_deref() == Some(p.id.as_str()))
            .collect();
        let dun = drows.iter().filter(|&&i| yj[i].is_none()).count() as f64 / drows.len() as f64;
        assert!((0.05..=0.40).contains(&dun), "{} drug unmapped {dun}", p.id);
        assert!(
            (dun - p.unmapped_drug_share).abs() < 0.03,
            "{} drug {dun} vs {}",
            p.id,
            p.unmapped_drug_share
        );
        let units_of = |a: &str| -> HashSet<String> {
            rows.iter()
                .filter(|&&i| analyte[i].as_deref() == Some(a))
                .filter_map(|&i| unit[i].clone())
                .collect()
        };
        assert_eq!(
            units_of("2A050"),
            HashSet::from([p.platelet_unit.clone()]),
            "{} platelets",
            p.id
        );
        assert_eq!(
            units_of("2A010"),
            HashSet::from([p.wbc_unit.clone()]),
            "{} wbc",
            p.id
        );
        let counts = units_of("9Z001");
        match p.neutrophil_reporting.as_str() {
            "percent_only" => assert!(counts.is_empty(), "{} reports only %", p.id),
            _ => assert_eq!(
                Some(&counts),
                p.neutrophil_unit
                    .as_ref()
                    .map(|u| HashSet::from([u.clone()]))
                    .as_ref(),
                "{}",
                p.id
            ),
        }
        assert!(
            !units_of("2A160").is_empty(),
            "{} reports neutrophil %",
            p.id
        );
        for u in rows.iter().filter_map(|&i| unit[i].as_ref()) {
            assert!(
                spellings.contains(u),
                "unit {u:?} is in the documented list"
            );
        }
    }
    let plt: HashSet<&str> = profiles
        .iter()
        .map(|p| {
            if p.platelet_unit.contains('4') {
                "10^4"
            } else {
                "10^3"
            }
        })
        .collect();
    assert_eq!(plt.len(), 2, "both platelet conventions appear");
    let modes: HashSet<&str> = profiles
        .iter()
        .map(|p| p.neutrophil_reporting.as_str())
        .collect();
    assert!(modes.contains("percent_only") && modes.len() >= 2);
    // The 28 MID-NET items and the outcome analytes are all reported.
    let analytes: HashSet<String> = analyte.into_iter().flatten().collect();
    for a in [
        "2A020", "2A010", "2A030", "2A040", "2A050", "9Z007", "2B030", "3A015", "3B010", "3B035",
        "3B045", "3B050", "3B070", "3B090", "3C015", "3C025", "3D010", "3D046", "3F015", "3F050",
        "3F070", "3F077", "3H010", "3H015", "3H020", "3H030", "3J010", "3J015", "2A160", "9Z001",
        "4A055", "4B035", "4Z271", "4Z272", "5C210", "3F253", "3B160", "3B180", "2B140", "5C093",
        "5C070", "3H080", "9Z005", "1A990",
    ] {
        assert!(analytes.contains(a), "analyte {a} appears");
    }
}

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
