//! Results never cost data: `--out` is replaced only when mid made it, never the data set or
//! a script's directory; a second run into a locked `--out` is refused; a run killed at every
//! step of the swap leaves the old results or the new ones (and the next run tidies up); a
//! failed swap keeps the old results and leaves no temporary directory. And no subcommand
//! panics when its output is a closed pipe or a full device.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use crate::common::small_network;

const SCRIPT: &str =
    "codes x: drug = yj \"2432001\"\ncohort c { index = first drug x }\nreport c by sex\n";

fn tmp() -> PathBuf {
    tempfile::tempdir().expect("tmp").keep()
}

fn script_in(dir: &Path) -> PathBuf {
    std::fs::create_dir_all(dir).expect("mkdir");
    let s = dir.join("s.mid");
    std::fs::write(&s, SCRIPT).expect("script");
    s
}

fn run_with(script: &Path, data: &Path, out: &Path, fault: Option<&str>) -> std::process::Output {
    let mut c = Command::new(env!("CARGO_BIN_EXE_mid"));
    c.args([
        "run",
        &script.display().to_string(),
        "--data",
        &data.display().to_string(),
        "--out",
        &out.display().to_string(),
    ]);
    match fault {
        Some(f) => c.env("MID_FAULT", f),
        None => c.env_remove("MID_FAULT"),
    };
    c.output().expect("mid runs")
}

/// Every file under `dir` with its bytes (what must survive intact).
fn snapshot(dir: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    crate::common::files_under(dir)
        .into_iter()
        .map(|f| {
            let p = dir.join(f);
            let bytes = std::fs::read(&p).expect("read");
            (p, bytes)
        })
        .collect()
}

/// What runs leave beside `--out` besides it: temporary, set-aside and lock files.
fn leftovers(out: &Path) -> Vec<String> {
    let name = out.file_name().unwrap().to_string_lossy().to_string();
    std::fs::read_dir(out.parent().unwrap())
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().to_string())
        .filter(|n| n.starts_with(&format!(".{name}.")))
        .collect()
}

#[test]
fn out_never_replaces_data_scripts_or_foreign_files() {
    let base = tmp();
    let data = base.join("data");
    crate::common::copy_dir(small_network(), &data);
    let before = snapshot(&data);
    let script = script_in(&base.join("scripts"));
    for (out, why) in [
        (data.clone(), "replace the data set"),
        (base.clone(), "replace the data set"),
        (data.join("results"), "write into the data set"),
        (base.join("scripts"), "replace the directory of the script"),
    ] {
        let r = run_with(&script, &data, &out, None);
        let e = String::from_utf8_lossy(&r.stderr);
        assert_ne!(r.status.code(), Some(0), "--out {}", out.display());
        assert!(e.contains(why), "{e}");
    }
    // `--out .` names no directory of its own.
    let r = Command::new(env!("CARGO_BIN_EXE_mid"))
        .current_dir(&base)
        .args(["run", "scripts/s.mid", "--data", "data", "--out", "."])
        .output()
        .unwrap();
    assert_ne!(r.status.code(), Some(0));
    // A directory of someone else's files.
    let foreign = base.join("mine");
    std::fs::create_dir_all(&foreign).unwrap();
    std::fs::write(foreign.join("thesis.docx"), "precious").unwrap();
    std::fs::write(foreign.join("run.json"), "{}").unwrap();
    let r = run_with(&script, &data, &foreign, None);
    assert_ne!(r.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&r.stderr).contains("not mid results"));
    assert_eq!(
        std::fs::read_to_string(foreign.join("thesis.docx")).unwrap(),
        "precious"
    );
    assert_eq!(snapshot(&data), before, "the data set is untouched");
    assert!(script.exists());
}

#[test]
fn a_run_killed_at_any_step_leaves_old_or_new_results() {
    let base = tmp();
    let script = script_in(&base);
    let data = small_network();
    let out = base.join("out");
    let first = run_with(&script, data, &out, None);
    assert_eq!(
        first.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&first.stderr)
    );
    let old = std::fs::read(out.join("run.json")).unwrap();

    for step in ["before-swap", "old-aside", "new-in-place"] {
        let current = std::fs::read(out.join("run.json")).unwrap();
        // Each run's script differs (so does its hash in run.json): new results are told
        // from old ones even within one second.
        std::fs::write(&script, format!("{SCRIPT}// {step}\n")).unwrap();
        let r = run_with(&script, data, &out, Some(step));
        assert_eq!(r.status.code(), Some(137), "{step}");
        match step {
            // Killed before anything moved: the results are the previous ones.
            "before-swap" => assert_eq!(std::fs::read(out.join("run.json")).unwrap(), current),
            // Killed with the old results set aside: they are not lost.
            "old-aside" => {
                assert!(!out.exists());
                assert!(leftovers(&out).iter().any(|l| l.ends_with("mid-previous")));
            }
            // Killed after the swap: the new results are in place.
            _ => assert_ne!(std::fs::read(out.join("run.json")).unwrap(), current),
        }
        // The next run finds what was left, puts the old results back or drops them, and
        // finishes cleanly with nothing left beside `--out`.
        let next = run_with(&script, data, &out, None);
        assert_eq!(
            next.status.code(),
            Some(0),
            "{step}: {}",
            String::from_utf8_lossy(&next.stderr)
        );
        assert!(out.join("run.json").exists());
        assert!(out.join(".mid-results").exists());
        assert_eq!(leftovers(&out), Vec::<String>::new(), "{step}");
    }

    // A run that fails after a killed one still gives the old results back.
    let r = run_with(&script, data, &out, Some("old-aside"));
    assert_eq!(r.status.code(), Some(137));
    let bad = base.join("bad.mid");
    std::fs::write(
        &bad,
        "codes x: drug = yj \"2432001\"\ncohort c { index = first drug x }\nreport c by sex\n",
    )
    .unwrap();
    let broken_data = base.join("broken");
    crate::common::copy_dir(data, &broken_data);
    std::fs::remove_file(broken_data.join("manifest.json")).unwrap();
    std::fs::write(broken_data.join("manifest.json"), "{").unwrap();
    let failed = run_with(&bad, &broken_data, &out, None);
    assert_eq!(failed.status.code(), Some(1));
    assert!(
        out.join("run.json").exists(),
        "the set-aside results are back"
    );
    assert_ne!(std::fs::read(out.join("run.json")).unwrap(), old);
}

#[test]
fn a_swap_that_fails_keeps_the_old_results_and_no_temporary_directory() {
    let base = tmp();
    let script = script_in(&base);
    let out = base.join("out");
    assert_eq!(
        run_with(&script, small_network(), &out, None).status.code(),
        Some(0)
    );
    let before = snapshot(&out);
    let r = run_with(&script, small_network(), &out, Some("swap-fails"));
    assert_eq!(r.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&r.stderr).contains("cannot move the results"));
    assert_eq!(snapshot(&out), before);
    assert_eq!(leftovers(&out), Vec::<String>::new());
}

#[test]
fn a_second_run_into_a_locked_out_is_refused() {
    let base = tmp();
    let script = script_in(&base);
    let out = base.join("out");
    // A lock held by a live process (this test).
    let lock = base.join(".out.mid-lock");
    std::fs::write(&lock, format!("{}\n", std::process::id())).unwrap();
    let r = run_with(&script, small_network(), &out, None);
    assert_eq!(r.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&r.stderr).contains("another mid run"));
    assert!(!out.exists());
    // A lock left by a killed run (its process is gone) is taken over.
    std::fs::write(&lock, "4000000000\n").unwrap();
    let r = run_with(&script, small_network(), &out, None);
    assert_eq!(
        r.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&r.stderr)
    );
    assert!(!lock.exists());
}

/// Each subcommand, its standard output a closed pipe and then a full device: a message and
/// exit code 1 (or success when it had nothing to say), never a panic.
#[test]
fn no_subcommand_panics_on_a_closed_pipe_or_a_full_device() {
    let base = tmp();
    let script = script_in(&base);
    let s = script.display().to_string();
    let data = small_network().display().to_string();
    let out = base.join("out").display().to_string();
    let synth_out = base.join("synth").display().to_string();
    let pkg = base.join("study.midpkg").display().to_string();
    let log = base.join("audit.jsonl");
    std::fs::write(&log, "").unwrap();
    let log = log.display().to_string();
    let commands: Vec<Vec<&str>> = vec![
        vec!["--help"],
        vec!["check", &s],
        vec!["check", &s, "--format", "json"],
        vec!["compile", &s],
        vec!["compile", &s, "--emit", "cir"],
        vec!["explain", "E0201"],
        vec!["run", &s, "--data", &data, "--out", &out],
        vec!["inspect", "--data", &data],
        vec!["package", &s, "--out", &pkg],
        vec!["package", "--show", &pkg],
        vec!["audit", "verify", &log],
        vec![
            "synth",
            "--patients",
            "50",
            "--hospitals",
            "1",
            "--seed",
            "1",
            "--out",
            &synth_out,
        ],
    ];
    for args in &commands {
        for target in ["pipe", "full"] {
            // synth refuses a directory that is not empty: each try starts from none.
            let _ = std::fs::remove_dir_all(&synth_out);
            let mut c = Command::new(env!("CARGO_BIN_EXE_mid"));
            c.args(args).stderr(Stdio::piped());
            let output = if target == "pipe" {
                let mut child = c.stdout(Stdio::piped()).spawn().unwrap();
                drop(child.stdout.take()); // the reader goes away at once
                child.wait_with_output().unwrap()
            } else {
                let full = std::fs::OpenOptions::new()
                    .write(true)
                    .open("/dev/full")
                    .unwrap();
                c.stdout(full).output().unwrap()
            };
            let e = String::from_utf8_lossy(&output.stderr);
            assert!(!e.contains("panicked"), "{args:?} into a {target}: {e}");
            let code = output.status.code();
            assert!(
                code == Some(0) || code == Some(1),
                "{args:?} into a {target}: exit {code:?}: {e}"
            );
            if code == Some(1) {
                assert!(
                    e.contains("cannot write to standard output"),
                    "{args:?} {target}: {e}"
                );
            }
        }
    }
}

/// Execution held to a memory limit spills or stops with a message naming the limit; the
/// environment variable DataFusion users know is honoured, not silently ignored.
#[test]
fn a_memory_limit_is_kept_or_said() {
    let base = tmp();
    let script = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../examples/thiamazole_granulocytopenia/study.mid");
    let data = small_network();
    let go = |extra: &[&str], env: Option<&str>| {
        let mut c = Command::new(env!("CARGO_BIN_EXE_mid"));
        c.args(["run", &script.display().to_string(), "--data"])
            .arg(data)
            .arg("--out")
            .arg(base.join(format!("out{}", extra.len())))
            .args(extra);
        match env {
            Some(v) => c.env("DATAFUSION_RUNTIME_MEMORY_LIMIT", v),
            None => c.env_remove("DATAFUSION_RUNTIME_MEMORY_LIMIT"),
        };
        c.output().unwrap()
    };
    let flag = go(&["--memory-limit", "64K"], None);
    let env = go(&[], Some("64K"));
    for r in [&flag, &env] {
        let e = String::from_utf8_lossy(&r.stderr);
        assert!(!e.contains("panicked"), "{e}");
        match r.status.code() {
            Some(0) => {}
            Some(1) => assert!(e.contains("needs more memory than the limit"), "{e}"),
            other => panic!("exit {other:?}: {e}"),
        }
    }
    assert_eq!(flag.status.code(), env.status.code());
    let bad = go(&["--memory-limit", "lots"], None);
    assert_eq!(bad.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("not a size"));
}
