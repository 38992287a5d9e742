//! Case files `tests/cases/**/*.mid`, one snapshot each showing the source, then the
//! diagnostics, and for scripts that compile the cohort IR, the plans and the result tables
//! on the hand-built boundary data set — input and output in one diff.

use std::collections::BTreeSet;
use std::fmt::Write;
use std::path::Path;

use mid_compiler::diag::{self, Code, RenderOptions};

use crate::e2e::{boundary_data, run};

fn render(path: &Path) -> String {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../tests/cases")
        .canonicalize()
        .expect("the cases directory");
    let path = path.canonicalize().unwrap_or_else(|_| path.to_path_buf());
    let path = path.as_path();
    let name = path
        .strip_prefix(&root)
        .unwrap_or(path)
        .display()
        .to_string();
    let bytes = std::fs::read(path).expect("a case file");
    let mut out = String::new();
    let _ = writeln!(
        out,
        "## source\n{}",
        String::from_utf8_lossy(&bytes).trim_end()
    );
    match mid_compiler::compile_file(&name, &bytes, &Default::default()) {
        Err(mid_compiler::CompileError::Diagnostics(c)) => {
            let _ = writeln!(
                out,
                "\n## diagnostics\n{}",
                diag::render_human(&c.diagnostics, &c.sources, RenderOptions::default()).trim_end()
            );
        }
        Err(mid_compiler::CompileError::Internal(_, e)) => {
            let _ = writeln!(out, "\n## internal error\n{e}");
        }
        Ok(c) => {
            let diags = if c.checked.diagnostics.is_empty() {
                "(none)".to_string()
            } else {
                diag::render_human(
                    &c.checked.diagnostics,
                    &c.checked.sources,
                    RenderOptions::default(),
                )
                .trim_end()
                .to_string()
            };
            let _ = writeln!(out, "\n## diagnostics\n{diags}");
            let _ = writeln!(
                out,
                "\n## cohort IR\n{}",
                mid_compiler::cir::print(&c.cir).trim()
            );
            // The one plan text (`mid compile --emit plan`, `run.json`'s plan hash).
            let _ = writeln!(out, "\n## plans\n{}", c.plans_text().trim_end());
            let text = String::from_utf8_lossy(&bytes);
            let results = run(&text, boundary_data());
            // A Table 1's rows come from one plan per cohort.
            let plans = c.outputs.iter().flat_map(|o| match &o.kind {
                mid_compiler::OutputKind::Table1 { plans, .. } => plans.clone(),
                _ => vec![o.plan.clone()],
            });
            for plan in plans {
                let b = &results[&plan];
                let table = arrow::util::pretty::pretty_format_batches(std::slice::from_ref(b))
                    .map(|t| t.to_string())
                    .unwrap_or_default();
                let _ = writeln!(out, "\n## result {plan} (raw, before suppression)\n{table}");
            }
        }
    }
    out
}

#[test]
fn case_files() {
    insta::glob!("cases/**/*.mid", |path| {
        insta::assert_snapshot!(render(path));
    });
}

/// Every code of a script's mistakes (E, W) has a case file named after it, and every case
/// file is named after a code that exists and produces it. (Data codes, D, need data: the CLI
/// tests produce each.)
#[test]
fn every_code_has_an_explanation_and_a_case() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/cases/diagnostics");
    let cased: BTreeSet<String> = std::fs::read_dir(&dir)
        .expect("the diagnostics cases")
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy()[..5].to_string())
        .collect();
    let codes: BTreeSet<String> = Code::ALL
        .iter()
        // Data codes come from data, F codes from items files (`feasibility` tests).
        .filter(|c| !c.as_str().starts_with('D') && !c.as_str().starts_with('F'))
        .map(|c| c.as_str().to_string())
        .collect();
    assert_eq!(cased, codes, "case files and codes differ");
    for entry in std::fs::read_dir(&dir).expect("dir").filter_map(|e| e.ok()) {
        let path = entry.path();
        let code = entry.file_name().to_string_lossy()[..5].to_string();
        let bytes = std::fs::read(&path).expect("read");
        let name = path.display().to_string();
        let diags = mid_compiler::check_file(&name, &bytes).diagnostics;
        assert!(
            diags.iter().any(|d| d.code.as_str() == code),
            "{} does not produce {code}: {:?}",
            path.display(),
            diags.iter().map(|d| d.code.as_str()).collect::<Vec<_>>()
        );
    }
}
