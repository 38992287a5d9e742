//! `mid fmt`: the stdlib, the examples and the benchmark scripts are in the canonical layout
//! (CI's `mid fmt --check`); over every script in the repository formatting is idempotent and
//! keeps the meaning (the same HIR and the same diagnostics); the command writes, checks and
//! refuses what does not parse.

use std::path::{Path, PathBuf};

use crate::common::mid;

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .canonicalize()
        .expect("the repository")
}

/// Every `.mid` file under a directory of the repository, sorted.
fn scripts(dir: &str) -> Vec<PathBuf> {
    fn walk(d: &Path, out: &mut Vec<PathBuf>) {
        let mut entries: Vec<PathBuf> = std::fs::read_dir(d)
            .expect("a directory")
            .map(|e| e.expect("an entry").path())
            .collect();
        entries.sort();
        for p in entries {
            if p.is_dir() {
                walk(&p, out);
            } else if p.extension().is_some_and(|e| e == "mid") {
                out.push(p);
            }
        }
    }
    let mut out = Vec::new();
    walk(&repo().join(dir), &mut out);
    out
}

#[test]
fn the_stdlib_examples_and_benchmarks_are_formatted() {
    let files: Vec<String> = ["stdlib", "examples", "bench/scripts"]
        .iter()
        .flat_map(|d| scripts(d))
        .map(|p| p.display().to_string())
        .collect();
    assert!(files.len() >= 15, "{files:?}");
    let mut args = vec!["fmt", "--check"];
    args.extend(files.iter().map(String::as_str));
    let o = mid(&args);
    assert_eq!(
        o.status.code(),
        Some(0),
        "not formatted (run `mid fmt` on them):\n{}",
        String::from_utf8_lossy(&o.stdout)
    );
}

/// The HIR and the diagnostic codes: what a script means, without positions.
fn meaning(name: &str, text: &str) -> (String, Vec<String>) {
    let c = mid_compiler::check_file(name, text.as_bytes());
    let codes = c
        .diagnostics
        .iter()
        .map(|d| d.code.as_str().to_string())
        .collect();
    (mid_compiler::hir::print(&c.hir), codes)
}

#[test]
fn formatting_is_idempotent_and_keeps_the_meaning_of_every_script() {
    let mut formatted = 0;
    for dir in [
        "stdlib",
        "examples",
        "bench/scripts",
        "tests/cases",
        "tests/parser",
    ] {
        for path in scripts(dir) {
            let bytes = std::fs::read(&path).expect("a script");
            let Ok(text) = String::from_utf8(bytes) else {
                continue; // the not-UTF-8 case file
            };
            let name = path.display().to_string();
            match mid_grammar::format::format(&text) {
                Ok(once) => {
                    formatted += 1;
                    let twice = mid_grammar::format::format(&once).expect("formats again");
                    assert_eq!(twice, once, "{name}: not idempotent");
                    assert_eq!(meaning(&name, &once), meaning(&name, &text), "{name}");
                }
                Err(mid_grammar::format::FormatError::Syntax) => assert!(
                    !mid_grammar::source_to_ast(&text).errors.is_empty(),
                    "{name} parses but was refused"
                ),
                Err(e) => panic!("{name}: {e:?}"),
            }
        }
    }
    assert!(formatted >= 100, "{formatted} scripts formatted");
}

#[test]
fn fmt_writes_checks_and_refuses_what_does_not_parse() {
    let dir = tempfile::tempdir().expect("tempdir");
    let messy = dir.path().join("messy.mid");
    std::fs::write(
        &messy,
        "codes x : drug = yj \"2432001\"\ncohort c {\n      index = first drug x\n}\n",
    )
    .expect("write");
    let name = messy.display().to_string();
    let check = mid(&["fmt", "--check", &name]);
    assert_eq!(check.status.code(), Some(1));
    assert_eq!(String::from_utf8_lossy(&check.stdout), format!("{name}\n"));
    assert!(
        std::fs::read_to_string(&messy)
            .expect("read")
            .contains("x : drug"),
        "--check writes nothing"
    );

    let write = mid(&["fmt", &name]);
    assert_eq!(write.status.code(), Some(0));
    assert_eq!(
        std::fs::read_to_string(&messy).expect("read"),
        "codes x: drug = yj \"2432001\"\ncohort c {\n  index = first drug x\n}\n"
    );
    assert_eq!(mid(&["fmt", "--check", &name]).status.code(), Some(0));

    let broken = dir.path().join("broken.mid");
    std::fs::write(&broken, "cohort c {\n  index = \n").expect("write");
    let o = mid(&["fmt", &broken.display().to_string(), "--color", "never"]);
    assert_eq!(o.status.code(), Some(1));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("does not parse") && err.contains("E000"),
        "{err}"
    );
    assert_eq!(
        std::fs::read_to_string(&broken).expect("read"),
        "cohort c {\n  index = \n",
        "left as it is"
    );
}
