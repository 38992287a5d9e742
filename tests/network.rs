//! The network (docs/network.md): request packages round-trip every example's plans and run
//! them to the same results; the same script gives the same package byte for byte; a changed,
//! foreign or damaged package is refused with a message naming it; the audit trail command.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use arrow::array::RecordBatch;
use arrow::compute::concat_batches;
use mid_runtime::engine::{self, Engine};
use mid_runtime::network::audit;
use mid_runtime::network::frontier::Level;
use mid_runtime::network::package::{Package, sha256};

use crate::common::{fails, mid, ok, small_network};
use crate::e2e::compile;

fn examples() -> Vec<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples");
    let mut out: Vec<PathBuf> = std::fs::read_dir(&root)
        .expect("examples")
        .map(|e| e.expect("entry").path().join("study.mid"))
        .filter(|p| p.exists())
        .collect();
    out.sort();
    assert_eq!(out.len(), 5, "five examples");
    out
}

fn package_of(script: &Path) -> (mid_compiler::Compiled, Package) {
    let compiled = compile(&std::fs::read_to_string(script).expect("script"));
    let p = Package::build(&compiled, "study.mid").expect("a package");
    (compiled, p)
}

fn results(data: &Path, plans: &[mid_compiler::NamedPlan]) -> BTreeMap<String, RecordBatch> {
    let rt = mid_runtime::runtime().expect("a runtime");
    rt.block_on(async {
        let e = Engine::open(data).await.expect("the data set opens");
        engine::run_all(&e, plans, false, |_, _| {})
            .await
            .expect("the plans run")
    })
    .into_iter()
    .map(|(k, (schema, batches))| (k, concat_batches(&schema, &batches).expect("concat")))
    .collect()
}

/// The hospital runs the plans in the package, not a recompilation: for every example they
/// read back as the reviewed plans (text and hash) and give the same results.
#[test]
fn every_examples_plans_round_trip_through_a_package_and_run_the_same() {
    let task = Engine::without_data().expect("engine").ctx.task_ctx();
    for script in examples() {
        let (compiled, p) = package_of(&script);
        let plans = p
            .plans(&task)
            .unwrap_or_else(|e| panic!("{}: {e}", script.display()));
        assert_eq!(
            mid_compiler::codegen::text::plans_text(&plans, None),
            compiled.plans_text(),
            "{}",
            script.display()
        );
        let want = results(small_network(), &compiled.plans);
        let got = results(small_network(), &plans);
        // Plans the runtime does not order (intermediates) may give their rows in any order:
        // compare the rows as sets of lines, and the ordered outputs exactly.
        let lines = |b: &RecordBatch| {
            let text = arrow::util::pretty::pretty_format_batches(std::slice::from_ref(b))
                .expect("format")
                .to_string();
            let mut l: Vec<String> = text.lines().map(String::from).collect();
            l.sort();
            l
        };
        for (name, batch) in &want {
            let other = got.get(name).unwrap_or_else(|| panic!("{name} missing"));
            assert_eq!(lines(other), lines(batch), "{}: {name}", script.display());
        }
        assert_eq!(got.len(), want.len());
        assert!(
            want.values().any(|b| b.num_rows() > 0),
            "{}",
            script.display()
        );
    }
}

/// What the package says will leave: aggregates for attrition and reports, the exports, and
/// the request's patients' rows of the CDM tables the plans read, only the columns they read.
#[test]
fn a_package_says_what_leaves() {
    let script = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../examples/thiamazole_granulocytopenia/study.mid");
    let (_, p) = package_of(&script);
    let level = |t: &str| p.returns.iter().find(|r| r.table == t).map(|r| r.level);
    assert_eq!(level("attrition_thiamazole_users"), Some(Level::Aggregate));
    assert_eq!(level("report_by_period"), Some(Level::Aggregate));
    assert_eq!(level("export_thiamazole_users"), Some(Level::Patient));
    // Intermediate relations do not leave: the data center recomputes them.
    assert_eq!(level("steps_thiamazole_users"), None);
    assert_eq!(level("cohort_thiamazole_users"), None);
    for t in ["patient", "drug", "lab"] {
        let r = p.returns.iter().find(|r| r.table == t).expect(t);
        assert_eq!(r.level, Level::Patient);
        assert!(
            r.columns
                .starts_with(&["hospital_id".into(), "patient_id".into()]),
            "{t}: {:?}",
            r.columns
        );
        // Every column the script reads, and nothing it does not.
        for c in &p.requirements.tables[t] {
            assert!(r.columns.contains(c), "{t}.{c}");
        }
    }
    let drug = p.returns.iter().find(|r| r.table == "drug").expect("drug");
    assert!(
        drug.columns.len() < mid_cdm::Table::Drug.columns().len(),
        "only the columns read leave: {:?}",
        drug.columns
    );
    // Site-only results never leave.
    assert!(!p.returns.iter().any(|r| r.table.starts_with("coverage_")));
    assert!(p.requirements.tables["lab"].contains(&"jlac10".to_string()));
    assert!(p.requirements.sources.contains_key("drug"));
}

fn package_cmd(script: &Path, out: &Path) -> std::process::Output {
    mid(&[
        "package",
        script.to_str().expect("utf-8"),
        "--out",
        out.to_str().expect("utf-8"),
    ])
}

/// The same script gives a byte-identical package, whatever the directory it is in, and its
/// ID is the hash of its content.
#[test]
fn the_same_script_gives_the_same_package() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/statins_liver/study.mid");
    let elsewhere = tmp.path().join("copy");
    std::fs::create_dir(&elsewhere).expect("dir");
    std::fs::copy(&script, elsewhere.join("study.mid")).expect("copy");
    let (a, b) = (tmp.path().join("a.midpkg"), tmp.path().join("b.midpkg"));
    for (s, out) in [(script.clone(), &a), (elsewhere.join("study.mid"), &b)] {
        let o = package_cmd(&s, out);
        assert_eq!(
            o.status.code(),
            Some(0),
            "{}",
            String::from_utf8_lossy(&o.stderr)
        );
    }
    let bytes = std::fs::read(&a).expect("a");
    assert_eq!(bytes, std::fs::read(&b).expect("b"));
    let p = Package::read(&a).expect("it verifies");
    assert_eq!(p.id, p.digest());
    assert_eq!(
        p.script.sha256,
        sha256(&std::fs::read(&script).expect("script"))
    );
    assert!(
        p.modules.iter().any(|m| m.name == "stdlib/labs.mid"),
        "{:?}",
        p.modules.iter().map(|m| &m.name).collect::<Vec<_>>()
    );
    let show = mid(&["package", "--show", a.to_str().expect("utf-8")]);
    let text = String::from_utf8_lossy(&show.stdout);
    assert_eq!(show.status.code(), Some(0));
    assert!(
        text.starts_with(&format!("request package {}\n", p.id)),
        "{text}"
    );
    assert!(text.contains("What will leave the hospital"), "{text}");
    assert!(text.contains("attrition_brand_users"), "{text}");
}

fn edited(path: &Path, out: &Path, f: impl FnOnce(&mut serde_json::Value)) {
    let mut v: serde_json::Value =
        serde_json::from_slice(&std::fs::read(path).expect("package")).expect("json");
    f(&mut v);
    std::fs::write(out, serde_json::to_string_pretty(&v).expect("json")).expect("write");
}

fn refused(path: &Path) -> String {
    let o = mid(&["package", "--show", path.to_str().expect("utf-8")]);
    assert_eq!(
        o.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&o.stdout)
    );
    assert!(o.stdout.is_empty(), "nothing shown for a refused package");
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// A package changed after it was made, made by another mid, damaged or foreign is refused
/// with a message naming the file and the problem.
#[test]
fn changed_foreign_and_damaged_packages_are_refused() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let script =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/vegf_dissection/study.mid");
    let good = tmp.path().join("good.midpkg");
    assert_eq!(package_cmd(&script, &good).status.code(), Some(0));
    let bad = tmp.path().join("bad.midpkg");
    let name = bad.display().to_string();

    edited(&good, &bad, |v| {
        let text = v["script"]["text"].as_str().expect("text");
        let t = text.replace("+ 30 days", "+ 3 days");
        assert_ne!(t, text, "the edit changes the script");
        v["script"]["text"] = t.into();
    });
    let e = refused(&bad);
    assert!(e.contains(&name) && e.contains("does not verify"), "{e}");

    // Plans swapped, with the ID recomputed to match: the plans no longer read back as the
    // reviewed ones.
    edited(&good, &bad, |v| {
        let plans = v["plans"].as_array_mut().expect("plans");
        let first = plans[0]["proto"].clone();
        plans[0]["proto"] = plans[1]["proto"].clone();
        plans[1]["proto"] = first;
    });
    let mut p: Package = serde_json::from_slice(&std::fs::read(&bad).expect("bad")).expect("p");
    p.id = p.digest();
    std::fs::write(&bad, p.to_json()).expect("write");
    let task = Engine::without_data().expect("engine").ctx.task_ctx();
    let e = Package::read(&bad)
        .expect("its hashes agree")
        .plans(&task)
        .expect_err("swapped");
    assert!(e.to_string().contains("do not read back"), "{e}");

    edited(&good, &bad, |v| v["versions"]["datafusion"] = "54".into());
    let e = refused(&bad);
    assert!(e.contains("cannot be run here"), "{e}");

    edited(&good, &bad, |v| v["format"] = "mid-request/9".into());
    let e = refused(&bad);
    assert!(e.contains("is a `mid-request/9` package"), "{e}");

    let bytes = std::fs::read(&good).expect("good");
    std::fs::write(&bad, &bytes[..bytes.len() / 2]).expect("write");
    let e = refused(&bad);
    assert!(
        e.contains(&name) && e.contains("not a request package"),
        "{e}"
    );

    let manifest = small_network().join("manifest.json");
    let e = refused(&manifest);
    assert!(e.contains("not a request package (no `format`)"), "{e}");

    // `--out` that is not a package is never replaced.
    let notes = tmp.path().join("notes.txt");
    std::fs::write(&notes, "keep me").expect("write");
    let o = package_cmd(&script, &notes);
    assert_eq!(o.status.code(), Some(2));
    assert_eq!(std::fs::read_to_string(&notes).expect("notes"), "keep me");
}

/// `mid audit verify` passes an intact log and names the entry that was edited or deleted,
/// also one cut from the end when given the head recorded elsewhere.
#[test]
fn audit_verify_names_the_damaged_entry() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let log = tmp.path().join("audit.jsonl");
    let mut heads = Vec::new();
    for action in ["site run", "site approve", "center combine"] {
        let event = audit::Event {
            actor: "officer".into(),
            place: "site H01".into(),
            action: action.into(),
            ..Default::default()
        };
        heads.push(audit::append(&log, event).expect("append"));
    }
    let path = log.to_str().expect("utf-8");
    let ok = mid(&["audit", "verify", path]);
    assert_eq!(
        ok.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&ok.stderr)
    );
    assert!(String::from_utf8_lossy(&ok.stdout).contains("3 entries, intact"));

    let text = std::fs::read_to_string(&log).expect("log");
    let lines: Vec<&str> = text.lines().collect();
    std::fs::write(&log, format!("{}\n{}\n", lines[0], lines[2])).expect("write");
    let o = mid(&["audit", "verify", path]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("entry 2 was deleted"),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );

    std::fs::write(&log, format!("{}\n{}\n", lines[0], lines[1])).expect("write");
    let head = format!("--head={}:{}", heads[2].seq, heads[2].hash);
    let o = mid(&["audit", "verify", path, &head]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("deleted from its end"),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
}

/// One hospital's side of the flow, as its officer would run it.
struct Site {
    name: String,
    data: PathBuf,
    key: PathBuf,
    log: PathBuf,
    out: PathBuf,
}

fn s(p: &Path) -> &str {
    p.to_str().expect("utf-8")
}

fn site_run(site: &Site, package: &Path, key: &Path, out: &Path) -> std::process::Output {
    mid(&[
        "site",
        "run",
        s(package),
        "--data",
        s(&site.data),
        "--key",
        s(key),
        "--audit",
        s(&site.log),
        "--out",
        s(out),
        "--operator",
        "test",
    ])
}

fn combine(package: &Path, log: &Path, out: &Path, dirs: &[&Path]) -> std::process::Output {
    let mut args = vec![
        "center",
        "combine",
        "--package",
        s(package),
        "--audit",
        s(log),
        "--out",
        s(out),
        "--expect",
        "H01,H02,H03,H04,H05",
    ];
    args.extend(dirs.iter().map(|d| s(d)));
    mid(&args)
}

/// A split network of four hospitals runs the whole flow: package, run at every hospital,
/// approve three and reject one, combine, a researcher's run at the center. The network's
/// attrition tables and reports are byte for byte those of one `mid run` over the three
/// approved hospitals' data; patient identifiers never leave; every tamper case is refused
/// with a message naming the hospital or file and the problem.
#[test]
fn the_network_flow_runs_end_to_end_and_refuses_tampering() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let t = tmp.path();
    let net = t.join("net");
    ok(&mid(&[
        "synth",
        "--patients",
        "4000",
        "--hospitals",
        "4",
        "--seed",
        "11",
        "--out",
        s(&net),
        "--split",
    ]));
    let script = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../examples/thiamazole_granulocytopenia/study.mid");
    let pkg = t.join("request.midpkg");
    ok(&package_cmd(&script, &pkg));

    let sites: Vec<Site> = ["H01", "H02", "H03", "H04"]
        .iter()
        .map(|h| Site {
            name: h.to_string(),
            data: net.join(h),
            key: t.join(format!("{h}.key")),
            log: t.join(format!("{h}-audit.jsonl")),
            out: t.join(format!("extract-{h}")),
        })
        .collect();
    for site in &sites {
        ok(&mid(&["site", "key", "--out", s(&site.key)]));
        let out = ok(&site_run(site, &pkg, &site.key, &site.out));
        assert!(out.contains(&format!("for {}", site.name)), "{out}");
        // What the officer reads, and what leaves: no patient id of the hospital.
        let summary = std::fs::read_to_string(site.out.join("summary.txt")).expect("summary");
        assert!(summary.contains("analysis/lab.parquet"), "{summary}");
        if site.name == "H01" {
            officer_page_renders(&site.out);
        }
        let real: std::collections::HashSet<i64> = crate::common::Tab::load(&site.data, "patient")
            .i64("patient_id")
            .into_iter()
            .flatten()
            .collect();
        for f in ["patient", "drug", "lab", "export_thiamazole_users"] {
            let b = crate::common::read_batches(&site.out.join(format!("analysis/{f}.parquet")));
            for batch in &b {
                let ids = batch
                    .column_by_name("patient_id")
                    .expect("patient_id")
                    .as_any()
                    .downcast_ref::<arrow::array::Int64Array>()
                    .expect("Int64");
                assert!(
                    ids.iter().flatten().all(|id| !real.contains(&id)),
                    "{}: {f} carries real patient ids",
                    site.name
                );
            }
        }
    }
    // The same request on the same data with the same key gives the same extraction.
    let again = t.join("extract-H01-again");
    ok(&site_run(&sites[0], &pkg, &sites[0].key, &again));
    for f in ["manifest.json", "analysis/lab.parquet", "summary.html"] {
        assert_eq!(
            std::fs::read(again.join(f)).expect("again"),
            std::fs::read(sites[0].out.join(f)).expect("first"),
            "{f}"
        );
    }
    std::fs::remove_dir_all(&again).expect("rm");

    // Before approval nothing is pooled.
    let center_log = t.join("center-audit.jsonl");
    let e = fails(&combine(
        &pkg,
        &center_log,
        &t.join("early"),
        &[&sites[0].out],
    ));
    assert!(e.contains("no officer's decision"), "{e}");
    assert!(!t.join("early").exists());

    for site in &sites[..3] {
        ok(&mid(&[
            "site",
            "approve",
            s(&site.out),
            "--officer",
            "Sato",
            "--audit",
            s(&site.log),
        ]));
    }
    ok(&mid(&[
        "site",
        "approve",
        s(&sites[3].out),
        "--officer",
        "Suzuki",
        "--audit",
        s(&sites[3].log),
        "--reject",
        "--reason",
        "study period not covered by our contract",
    ]));
    for site in &sites {
        let v = ok(&mid(&["audit", "verify", s(&site.log)]));
        // Runs and decisions; H01 ran the request twice.
        let n = if site.name == "H01" { 3 } else { 2 };
        assert!(v.contains(&format!("{n} entries, intact")), "{v}");
    }

    let pooled = t.join("pooled");
    let dirs: Vec<&Path> = sites.iter().map(|s| s.out.as_path()).collect();
    let out = ok(&combine(&pkg, &center_log, &pooled, &dirs));
    assert!(out.contains("H01, H02, H03"), "{out}");
    assert!(out.contains("rejected at H04 by Suzuki"), "{out}");
    assert!(out.contains("did not return: H05"), "{out}");

    // One `mid run` over the approved hospitals' own data gives the same tables, byte for byte.
    let merged = t.join("merged");
    for site in &sites[..3] {
        for table in mid_cdm::Table::ALL {
            let from = site.data.join(table.name());
            let Ok(files) = std::fs::read_dir(&from) else {
                continue;
            };
            std::fs::create_dir_all(merged.join(table.name())).expect("mkdir");
            for f in files {
                let f = f.expect("file").path();
                let name = format!(
                    "{}-{}",
                    site.name,
                    f.file_name().expect("name").to_string_lossy()
                );
                std::fs::copy(&f, merged.join(table.name()).join(name)).expect("copy");
            }
        }
    }
    let single = t.join("single");
    ok(&crate::common::mid_run(&script, &merged, &single, &[]));
    let mut compared = 0;
    for f in std::fs::read_dir(single.join("reports")).expect("reports") {
        let f = f.expect("file").path();
        let name = f.file_name().expect("name").to_owned();
        let network = pooled.join("network/reports").join(&name);
        assert_eq!(
            std::fs::read(&network).unwrap_or_default(),
            std::fs::read(&f).expect("single"),
            "{}",
            name.to_string_lossy()
        );
        compared += 1;
    }
    assert!(compared >= 4, "{compared} tables compared");
    // The attrition is not empty: the comparison would fail if the outcome vanished.
    let attrition = crate::common::Tab {
        batches: crate::common::read_batches(
            &pooled.join("network/reports/attrition_thiamazole_users.parquet"),
        ),
    };
    assert!(
        attrition
            .i64("remaining")
            .iter()
            .flatten()
            .any(|v| *v >= 10),
        "the pooled cohort has persons"
    );
    for h in ["H01", "H02", "H03"] {
        assert!(pooled.join("by-hospital").join(h).join("reports").is_dir());
    }
    assert!(!pooled.join("by-hospital/H04").exists());

    // The researcher's own script runs over the pooled analysis data set.
    let results = t.join("center-results");
    let out = ok(&mid(&[
        "center",
        "run",
        s(&script),
        "--data",
        s(&pooled),
        "--out",
        s(&results),
        "--audit",
        s(&center_log),
    ]));
    assert!(out.contains("audit trail"), "{out}");
    assert_eq!(
        std::fs::read(results.join("reports/attrition_thiamazole_users.parquet")).expect("a"),
        std::fs::read(single.join("reports/attrition_thiamazole_users.parquet")).expect("b")
    );

    // The release: every table checked together; the attacker below fails.
    let release = t.join("release");
    let out = ok(&mid(&[
        "center",
        "release",
        s(&pooled),
        "--out",
        s(&release),
        "--audit",
        s(&center_log),
        "--by-hospital",
    ]));
    assert!(out.contains("released"), "{out}");
    attack_release(&pooled, &release);
    let v = ok(&mid(&["audit", "verify", s(&center_log)]));
    assert!(v.contains("3 entries, intact"), "{v}");
    // A patient-level table or an exact count among the results is not released.
    let bad = t.join("bad-results");
    crate::common::copy_dir(&results, &bad);
    std::fs::copy(
        pooled.join("data/patient/H01.parquet"),
        bad.join("reports/patients.parquet"),
    )
    .expect("copy");
    let e = fails(&mid(&[
        "center",
        "release",
        s(&bad),
        "--out",
        s(&t.join("r2")),
        "--audit",
        s(&center_log),
    ]));
    assert!(
        e.contains("reports/patients.parquet") && e.contains("patient-level"),
        "{e}"
    );
    std::fs::remove_file(bad.join("reports/patients.parquet")).expect("rm");
    write_attrition(&bad.join("reports/attrition_thiamazole_users.parquet"), 7);
    let e = fails(&mid(&[
        "center",
        "release",
        s(&bad),
        "--out",
        s(&t.join("r2")),
        "--audit",
        s(&center_log),
    ]));
    assert!(e.contains("7 is an exact count"), "{e}");
    assert!(!t.join("r2").exists());

    // Tampering. A replayed extraction:
    let e = fails(&combine(&pkg, &center_log, &t.join("again"), &dirs[..3]));
    assert!(e.contains("already pooled") && e.contains("H01"), "{e}");
    let fresh_log = t.join("center2.jsonl");
    // The same extraction twice, and two of one hospital:
    let copy = t.join("extract-H01-copy");
    crate::common::copy_dir(&sites[0].out, &copy);
    let e = fails(&combine(&pkg, &fresh_log, &t.join("x"), &[dirs[0], &copy]));
    assert!(e.contains("same extraction of H01"), "{e}");
    // A file changed after approval:
    let edited_dir = t.join("extract-H02-edited");
    crate::common::copy_dir(&sites[1].out, &edited_dir);
    let f = edited_dir.join("capability.json");
    let mut text = std::fs::read_to_string(&f).expect("capability");
    text.push(' ');
    std::fs::write(&f, text).expect("write");
    let e = fails(&combine(&pkg, &fresh_log, &t.join("x"), &[&edited_dir]));
    assert!(e.contains("capability.json was changed"), "{e}");
    // A file added after approval:
    let added = t.join("extract-H03-added");
    crate::common::copy_dir(&sites[2].out, &added);
    std::fs::write(added.join("analysis/notes.csv"), "x").expect("write");
    let e = fails(&combine(&pkg, &fresh_log, &t.join("x"), &[&added]));
    assert!(e.contains("analysis/notes.csv was added"), "{e}");
    // Another request's package:
    let other = t.join("other.midpkg");
    ok(&package_cmd(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/statins_liver/study.mid"),
        &other,
    ));
    let e = fails(&combine(&other, &fresh_log, &t.join("x"), &[dirs[0]]));
    assert!(e.contains("(H01) is an extraction for request"), "{e}");
    // One key at two hospitals:
    let reused = t.join("extract-H02-reused");
    ok(&site_run(&sites[1], &pkg, &sites[0].key, &reused));
    ok(&mid(&[
        "site",
        "approve",
        s(&reused),
        "--officer",
        "Sato",
        "--audit",
        s(&sites[1].log),
    ]));
    let e = fails(&combine(
        &pkg,
        &fresh_log,
        &t.join("x"),
        &[dirs[0], &reused],
    ));
    assert!(e.contains("same key"), "{e}");
    assert!(
        !t.join("x").exists(),
        "nothing written by a refused combine"
    );
    // An edited audit entry is named:
    let log_text = std::fs::read_to_string(&sites[0].log).expect("log");
    std::fs::write(&sites[0].log, log_text.replacen("Sato", "Tanaka", 1)).expect("write");
    let e = fails(&mid(&["audit", "verify", s(&sites[0].log)]));
    assert!(e.contains("entry 3") && e.contains("was edited"), "{e}");
    // A package changed after it was made is refused at the hospital, nothing written:
    let bad = t.join("bad.midpkg");
    edited(&pkg, &bad, |v| v["study"] = "other".into());
    let e = fails(&site_run(&sites[2], &bad, &sites[2].key, &t.join("never")));
    assert!(e.contains("does not verify"), "{e}");
    assert!(!t.join("never").exists());
    // A pooled data set is not a hospital's: a request runs on one hospital's data.
    let both = Site {
        name: "all".into(),
        data: t.join("net-pooled"),
        key: sites[2].key.clone(),
        log: t.join("x.jsonl"),
        out: t.join("never"),
    };
    ok(&mid(&[
        "synth",
        "--patients",
        "400",
        "--hospitals",
        "2",
        "--seed",
        "3",
        "--out",
        s(&both.data),
    ]));
    let e = fails(&site_run(&both, &pkg, &both.key, &both.out));
    assert!(e.contains("holds 2 hospitals"), "{e}");
    assert!(!both.out.exists());
}

/// The README's network walkthrough runs as written (with this build's `mid`, on a smaller
/// network).
#[test]
fn the_readme_network_walkthrough_runs() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let work = tmp.path().join("network");
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/network/walkthrough.sh");
    let o = std::process::Command::new("sh")
        .arg(&script)
        .env("MID", env!("CARGO_BIN_EXE_mid"))
        .env("WORK", &work)
        .env("PATIENTS", "4000")
        .output()
        .expect("sh runs");
    let out = ok(&o);
    assert!(out.contains("rejected at H08 by Suzuki"), "{out}");
    assert!(out.contains("H01, H02, H03, H04, H05, H06, H07"), "{out}");
    assert!(out.contains("4 entries, intact"), "{out}");
    assert!(
        work.join("pooled/network/reports/attrition_thiamazole_users.parquet")
            .is_file()
    );
    assert!(work.join("results/run.json").is_file());
}

/// An attrition table whose last count is `remaining` (as a run types it: numbers, flags).
fn write_attrition(path: &Path, remaining: i64) {
    use arrow::array::{BooleanArray, Int64Array, StringArray};
    use arrow::datatypes::{DataType, Field, Schema};
    let mut fields = vec![
        Field::new("step", DataType::Int64, false),
        Field::new("label", DataType::Utf8, false),
    ];
    for c in ["persons_before", "removed", "remaining"] {
        fields.push(Field::new(c, DataType::Int64, true));
        fields.push(Field::new(
            format!("{c}_suppressed"),
            DataType::Boolean,
            false,
        ));
    }
    let schema = std::sync::Arc::new(Schema::new(fields));
    let none = || std::sync::Arc::new(Int64Array::from(vec![None::<i64>]));
    let no = || std::sync::Arc::new(BooleanArray::from(vec![false]));
    let b = RecordBatch::try_new(
        schema.clone(),
        vec![
            std::sync::Arc::new(Int64Array::from(vec![0])),
            std::sync::Arc::new(StringArray::from(vec!["entry"])),
            none(),
            no(),
            none(),
            no(),
            std::sync::Arc::new(Int64Array::from(vec![remaining])),
            no(),
        ],
    )
    .expect("batch");
    let f = std::fs::File::create(path).expect("create");
    let mut w = parquet::arrow::ArrowWriter::try_new(f, schema, None).expect("writer");
    w.write(&b).expect("write");
    w.close().expect("close");
}

/// What a released count tells the attacker: an interval (rounded to 10, `<10` is 1–9).
fn shown_interval(t: &str) -> Option<(f64, f64)> {
    match t {
        "" => None,
        "0" => Some((0.0, 0.0)),
        "<10" => Some((1.0, 9.0)),
        "suppressed" => Some((0.0, f64::INFINITY)),
        n => n
            .parse::<f64>()
            .ok()
            .map(|n| ((n - 5.0).max(10.0), n + 4.0)),
    }
}

/// The attacker: for every table released for the network and for each hospital, and each
/// count a hospital's table hides, the network's count less the other hospitals' bounds it;
/// a linear program finds the tightest bounds. None may be pinned to one value.
fn attack_release(pooled: &Path, release: &Path) {
    use microlp::{ComparisonOp, OptimizationDirection, Problem};
    let groups: Vec<String> = std::fs::read_dir(release)
        .expect("release")
        .filter_map(|e| e.ok())
        .filter(|e| e.path().is_dir() && e.file_name() != "network")
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    assert!(groups.len() >= 3, "{groups:?}");
    let mut attacked = 0;
    for f in std::fs::read_dir(release.join("network")).expect("network") {
        let f = f.expect("file").path();
        if f.extension().is_none_or(|e| e != "parquet") {
            continue;
        }
        let name = f.file_name().expect("name").to_owned();
        let table = |p: &Path| -> Vec<BTreeMap<String, String>> {
            crate::common::read_batches(p)
                .iter()
                .map(|b| mid_runtime::output::tables::text_view(b, false).expect("typed"))
                .flat_map(|b| {
                    (0..b.num_rows())
                        .map(|r| {
                            b.schema()
                                .fields()
                                .iter()
                                .enumerate()
                                .map(|(i, fd)| {
                                    let v =
                                        arrow::util::display::array_value_to_string(b.column(i), r)
                                            .expect("value");
                                    (fd.name().clone(), v)
                                })
                                .collect()
                        })
                        .collect::<Vec<_>>()
                })
                .collect()
        };
        // The strongest attacker knows which hidden counts are small (`<10` before the
        // release) and which the release hid as complements (any value).
        let released = |group_dir: &Path, before: &Path| -> Vec<BTreeMap<String, String>> {
            let mut rows = table(&group_dir.join(&name));
            let before = table(&before.join(&name));
            for (row, was) in rows.iter_mut().zip(&before) {
                for (col, v) in row.iter_mut() {
                    if v.starts_with('<') && !was[col].starts_with('<') {
                        *v = "suppressed".into();
                    }
                }
            }
            rows
        };
        let net = released(&release.join("network"), &pooled.join("network/reports"));
        assert!(!net.is_empty() || name.to_string_lossy().starts_with("attrition"));
        // A hospital whose table was withheld tells the attacker nothing: its cells are open.
        let parts: Vec<Vec<BTreeMap<String, String>>> = groups
            .iter()
            .map(|g| {
                let p = release.join(g).join(&name);
                if p.exists() {
                    released(
                        &release.join(g),
                        &pooled.join("by-hospital").join(g).join("reports"),
                    )
                } else {
                    net.iter()
                        .map(|r| {
                            r.keys()
                                .map(|k| (k.clone(), "suppressed".to_string()))
                                .collect()
                        })
                        .collect()
                }
            })
            .collect();
        for (row, cells) in net.iter().enumerate() {
            for (col, shown) in cells {
                let Some(net_range) = shown_interval(shown) else {
                    continue;
                };
                if parts.iter().any(|p| p.len() != net.len()) {
                    continue;
                }
                for target in 0..parts.len() {
                    if parts[target][row].get(col).map(String::as_str) != Some("<10") {
                        continue;
                    }
                    let solve = |dir| {
                        let mut p = Problem::new(dir);
                        let n = p.add_var(0.0, net_range);
                        let mut terms = vec![(n, 1.0)];
                        for (h, part) in parts.iter().enumerate() {
                            let range = if h == target {
                                (0.0, f64::INFINITY)
                            } else {
                                shown_interval(&part[row][col]).unwrap_or((0.0, 0.0))
                            };
                            let v = p.add_var(if h == target { 1.0 } else { 0.0 }, range);
                            terms.push((v, -1.0));
                        }
                        p.add_constraint(terms.as_slice(), ComparisonOp::Eq, 0.0);
                        match p.solve() {
                            Err(microlp::Error::Unbounded) => f64::INFINITY,
                            o => o
                                .expect("the released counts are consistent")
                                .into_solution()
                                .expect("solved")
                                .objective(),
                        }
                    };
                    let lo = solve(OptimizationDirection::Minimize);
                    let hi = solve(OptimizationDirection::Maximize);
                    assert!(
                        hi - lo >= 1.0,
                        "{}: row {row}, {col}: hospital {} pinned to {lo}..{hi}",
                        name.to_string_lossy(),
                        groups[target]
                    );
                    attacked += 1;
                }
            }
        }
    }
    assert!(attacked > 0, "the attacker had hidden counts to try");
}

/// The officer's page, as a real browser reads it: self-contained (nothing fetched), every
/// file that would leave listed with its columns.
fn officer_page_renders(extraction: &Path) {
    let page = extraction.join("summary.html");
    let source = std::fs::read_to_string(&page).expect("summary.html");
    for external in ["http:", "https:", "src=", "<link", "@import"] {
        assert!(
            !source.contains(external),
            "the page loads something: {external}"
        );
    }
    let dom = crate::common::browser_dom(&page);
    assert!(
        dom.contains("<h1>Extraction for study thiamazole_granulocytopenia</h1>"),
        "{dom}"
    );
    let manifest: serde_json::Value =
        serde_json::from_slice(&std::fs::read(extraction.join("manifest.json")).expect("manifest"))
            .expect("json");
    let mut tables = 0;
    for f in manifest["files"].as_array().expect("files") {
        let path = f["path"].as_str().expect("path");
        if path.ends_with(".parquet") {
            assert!(
                dom.contains(&format!("<h3>{path} <small>")),
                "{path} not shown"
            );
            tables += 1;
        }
    }
    assert!(tables >= 5, "{tables}");
    // Columns with their values in words, e.g. the pseudonymised ids.
    assert!(
        dom.contains("<td>patient_id</td><td>Int64</td><td>pseudonyms,"),
        "{dom}"
    );
}
