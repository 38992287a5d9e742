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

use crate::common::{mid, small_network};
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

/// What the package says will leave: aggregates for attrition and reports, and the
/// patient-level tables the network's reports are computed from.
#[test]
fn a_package_says_what_leaves() {
    let script = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../examples/thiamazole_granulocytopenia/study.mid");
    let (_, p) = package_of(&script);
    let level = |t: &str| {
        p.returns
            .iter()
            .find(|r| r.table == t)
            .unwrap_or_else(|| panic!("{t} returned"))
            .level
    };
    assert_eq!(level("attrition_thiamazole_users"), Level::Aggregate);
    assert_eq!(
        level("report_thiamazole_users_with_granulocytopenia_mmi"),
        Level::Aggregate
    );
    assert_eq!(level("steps_thiamazole_users"), Level::Patient);
    assert_eq!(level("cohort_thiamazole_users"), Level::Patient);
    assert_eq!(level("outcome_granulocytopenia_mmi"), Level::Patient);
    assert_eq!(level("export_thiamazole_users"), Level::Patient);
    // The period reports test lab results: the request's patients' lab rows leave.
    let lab = p.returns.iter().find(|r| r.table == "lab").expect("lab");
    assert_eq!(lab.level, Level::Patient);
    assert!(
        lab.columns
            .starts_with(&["hospital_id".into(), "patient_id".into()])
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
        let t = v["script"]["text"]
            .as_str()
            .expect("text")
            .replace("180 days", "18 days");
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
