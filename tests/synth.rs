//! `mid synth`: arguments, determinism and realism statistics (the planted truth is in
//! `synth_truth`).

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::Path;
use std::process::Command;

use mid_runtime::synth::calendar;

use crate::common::{self, Key, loaded, manifest, mid, network};

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

/// `--split` writes the network as its hospitals hold it: one data set per hospital, each
/// valid on its own, with the same bytes as the pooled data set's files of that hospital.
#[test]
fn split_writes_one_valid_data_set_per_hospital_with_the_pooled_bytes() {
    let pooled = common::generate(3_000, 3, 11);
    let tmp = tempfile::tempdir().expect("tempdir");
    let split = tmp.path().join("split");
    let o = synth_cmd(
        &split,
        &[
            "--patients",
            "3000",
            "--hospitals",
            "3",
            "--seed",
            "11",
            "--split",
        ],
    );
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(
        stdout.contains("one data set each: H01, H02, H03"),
        "{stdout}"
    );
    let mut names: Vec<String> = std::fs::read_dir(&split)
        .expect("split dir")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(names, ["H01", "H02", "H03"]);
    let mp = manifest(&pooled);
    let mut patients = 0;
    for site in &names {
        let dir = split.join(site);
        let m = manifest(&dir);
        assert_eq!(m.sites, vec![site.clone()]);
        for (t, e) in &m.tables {
            assert_eq!(e.files, vec![format!("{t}/{site}.parquet")]);
            assert_eq!(
                std::fs::read(dir.join(&e.files[0])).expect("split file"),
                std::fs::read(pooled.join(&e.files[0])).expect("pooled file"),
                "{site} {t}"
            );
        }
        patients += m.tables["patient"].rows;
        let inspect = mid(&["inspect", "--data", dir.to_str().expect("utf-8 path")]);
        assert_eq!(
            inspect.status.code(),
            Some(0),
            "{site}: {}",
            String::from_utf8_lossy(&inspect.stdout)
        );
    }
    assert_eq!(patients, mp.tables["patient"].rows);
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
    let yj = d.str("yj_code");
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
            // Refills of chronic drugs run to the next visit; an antibiotic course (only
            // levofloxacin here) is a week.
            let course = n == 7 && yj[i].as_deref().is_none_or(|c| c.starts_with("6241013"));
            assert!((14..=90).contains(&n) || course, "outpatient supply {n}");
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

/// ALP by the JSCC method (values and ranges about three times the IFCC ones) before each
/// hospital's change, which falls between 2020-04-01 and 2021-03-31; the same hospital
/// reports IFCC ranges after it.
#[test]
fn alp_changes_from_the_jscc_to_the_ifcc_method_once_per_hospital() {
    let n = loaded();
    let (analyte, date, high, hospital) = (
        n.lab.str("analyte"),
        n.lab.date("date"),
        n.lab.f64("ref_high"),
        n.lab.str("hospital_id"),
    );
    // hospital -> (last JSCC day, first IFCC day)
    let mut seen: BTreeMap<String, (i32, i32)> = BTreeMap::new();
    let mut rows = 0;
    for i in 0..analyte.len() {
        if analyte[i].as_deref() != Some("3B070") {
            continue;
        }
        let (Some(d), Some(h)) = (date[i], high[i]) else {
            continue;
        };
        rows += 1;
        let e = seen
            .entry(hospital[i].clone().expect("hospital"))
            .or_insert((i32::MIN, i32::MAX));
        if h > 250.0 {
            assert!(h < 400.0, "a JSCC upper limit: {h}");
            e.0 = e.0.max(d);
        } else {
            assert!((90.0..140.0).contains(&h), "an IFCC upper limit: {h}");
            e.1 = e.1.min(d);
        }
    }
    assert!(rows > 1000, "ALP rows: {rows}");
    let (from, to) = (
        calendar::parse("2020-04-01").expect("date"),
        calendar::parse("2021-03-31").expect("date"),
    );
    assert_eq!(seen.len(), common::HOSPITALS as usize);
    for (h, (last_jscc, first_ifcc)) in seen {
        assert!(last_jscc < first_ifcc, "{h}: one change");
        assert!(
            first_ifcc >= from && last_jscc <= to,
            "{h}: JSCC until {}, IFCC from {}",
            calendar::format(last_jscc),
            calendar::format(first_ifcc)
        );
    }
}
