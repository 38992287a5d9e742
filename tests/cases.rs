//! Case files `tests/cases/**/*.mid`, one snapshot each showing the source, then the
//! diagnostics, and for scripts that compile the cohort IR, the plans and the result tables
//! on the hand-built boundary data set — input and output in one diff.

use std::collections::BTreeSet;
use std::fmt::Write;
use std::path::Path;

use mid_compiler::diagnostics::{self, RenderOptions};

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
    let text = match mid_grammar::parse::decode(&bytes) {
        Ok(t) => t.to_string(),
        Err(_) => {
            let c = mid_compiler::check_bytes(&name, &bytes);
            let _ = writeln!(
                out,
                "\n## diagnostics\n{}",
                diagnostics::render_human(&c.diagnostics, &c.sources, RenderOptions::default())
                    .trim_end()
            );
            return out;
        }
    };
    match mid_compiler::compile(&name, &text) {
        Err(mid_compiler::CompileError::Diagnostics(c)) => {
            let _ = writeln!(
                out,
                "\n## diagnostics\n{}",
                diagnostics::render_human(&c.diagnostics, &c.sources, RenderOptions::default())
                    .trim_end()
            );
        }
        Err(mid_compiler::CompileError::Plan(_, e)) => {
            let _ = writeln!(out, "\n## internal error\n{e}");
        }
        Ok(c) => {
            let _ = writeln!(out, "\n## diagnostics\n(none)");
            let _ = writeln!(
                out,
                "\n## cohort IR\n{}",
                mid_compiler::cir::print(&c.cir).trim()
            );
            for p in &c.plans {
                let _ = writeln!(out, "\n## plan {}\n{}", p.name, p.plan.display_indent());
            }
            let results = run(&text, boundary_data());
            for p in &c.plans {
                if matches!(
                    p.kind,
                    mid_compiler::PlanKind::Export { .. }
                        | mid_compiler::PlanKind::Report { .. }
                        | mid_compiler::PlanKind::Attrition { .. }
                ) {
                    let b = &results[&p.name];
                    let table = arrow::util::pretty::pretty_format_batches(std::slice::from_ref(b))
                        .map(|t| t.to_string())
                        .unwrap_or_default();
                    let _ = writeln!(
                        out,
                        "\n## result {} (raw, before suppression)\n{table}",
                        p.name
                    );
                }
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

/// Every diagnostic code has an explanation and a case file, and every case file is named
/// after a code that exists.
#[test]
fn every_code_has_an_explanation_and_a_case() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/cases/diagnostics");
    let cased: BTreeSet<String> = std::fs::read_dir(&dir)
        .expect("the diagnostics cases")
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy()[..5].to_string())
        .collect();
    let codes: BTreeSet<String> = mid_compiler::explain::CODES
        .iter()
        .map(|(c, _, _)| c.to_string())
        .collect();
    assert_eq!(cased, codes, "case files and explained codes differ");
    for code in &codes {
        let path = std::fs::read_dir(&dir)
            .expect("dir")
            .filter_map(|e| e.ok())
            .find(|e| e.file_name().to_string_lossy().starts_with(code.as_str()))
            .expect("a case")
            .path();
        let bytes = std::fs::read(&path).expect("read");
        let name = path.display().to_string();
        let checked = match mid_grammar::parse::decode(&bytes) {
            Ok(t) => match mid_compiler::compile(&name, t) {
                Err(mid_compiler::CompileError::Diagnostics(c)) => c.diagnostics,
                _ => vec![],
            },
            Err(_) => mid_compiler::check_bytes(&name, &bytes).diagnostics,
        };
        assert!(
            checked.iter().any(|d| d.code == code),
            "{} does not produce {code}: {:?}",
            path.display(),
            checked.iter().map(|d| d.code).collect::<Vec<_>>()
        );
    }
}
