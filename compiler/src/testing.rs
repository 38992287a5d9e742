//! Helpers of the compiler's unit tests: each stage's output for a small script, as the text
//! the tests snapshot inline (the diagnostics one per line, the HIR, the CIR, the plans).

use crate::{CompileError, CompileOptions};

/// The diagnostics of a script, one per line: `E0101 3:5 unknown name `x` (not defined or
/// imported) help: …`.
fn diagnostics(c: &crate::Checked) -> String {
    let mut out = String::new();
    for d in &c.diagnostics {
        let (line, col) = c.sources.line_col(d.primary.file, d.primary.span.start);
        let file = &c.sources.get(d.primary.file).name;
        let at = if file == "test.mid" {
            format!("{line}:{col}")
        } else {
            format!("{file}:{line}:{col}")
        };
        out.push_str(&format!(
            "{} {at} {} ({})",
            d.code, d.message, d.primary.message
        ));
        if let Some(h) = &d.help {
            out.push_str(&format!(" help: {h}"));
        }
        out.push('\n');
    }
    out
}

/// Checks a script: its HIR, then its diagnostics (if any) after `--`.
pub fn check(src: &str) -> String {
    let c = crate::check_file("test.mid", src.as_bytes());
    let mut out = crate::hir::print(&c.hir);
    if !c.diagnostics.is_empty() {
        out.push_str("--\n");
        out.push_str(&diagnostics(&c));
    }
    out
}

/// Only the diagnostics of a script (empty when it checks clean).
pub fn errors(src: &str) -> String {
    diagnostics(&crate::check_file("test.mid", src.as_bytes()))
}

/// Lowers a script: its cohort IR, or its diagnostics.
pub fn lower(src: &str) -> String {
    let options = CompileOptions { plans: false };
    match crate::compile_file("test.mid", src.as_bytes(), &options) {
        Ok(c) => crate::cir::print(&c.cir),
        Err(CompileError::Diagnostics(c)) => diagnostics(&c),
        Err(CompileError::Internal(_, e)) => e.to_string(),
    }
}

/// Compiles a script: the text of its plans, or its diagnostics.
pub fn plans(src: &str) -> String {
    match crate::compile_file("test.mid", src.as_bytes(), &CompileOptions::default()) {
        Ok(c) => c.plans_text(),
        Err(CompileError::Diagnostics(c)) => diagnostics(&c),
        Err(CompileError::Internal(_, e)) => e.to_string(),
    }
}

/// The text of one named plan of a script.
pub fn plan(src: &str, name: &str) -> String {
    match crate::compile_file("test.mid", src.as_bytes(), &CompileOptions::default()) {
        Ok(c) => c
            .plans
            .iter()
            .find(|p| p.name == name)
            .map(|p| format!("{}", p.plan.display_indent()))
            .unwrap_or_else(|| format!("no plan {name}")),
        Err(CompileError::Diagnostics(c)) => diagnostics(&c),
        Err(CompileError::Internal(_, e)) => e.to_string(),
    }
}
