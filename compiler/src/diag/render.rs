//! The one renderer of diagnostics: ariadne reports for people, a JSON array for tools.

use std::fmt::Write as _;

use ariadne::{CharSet, Config, IndexType, Label as ALabel, Report, ReportKind};
use mid_grammar::ast::Span;
use serde::Serialize;

use super::{Code, Diagnostic, Label, Severity};
use crate::source::{FileId, SourceMap};

/// Options for rendering for people.
#[derive(Debug, Clone, Copy, Default)]
pub struct RenderOptions {
    pub color: bool,
}

/// Renders diagnostics for people, one ariadne report each.
pub fn render_human(diags: &[Diagnostic], sources: &SourceMap, opts: RenderOptions) -> String {
    // Only the files the labels point into, each split into lines once for all the
    // diagnostics: ariadne splits every file it is given, and the whole stdlib is in the map
    // (a third of `mid check`'s time went on it); once per diagnostic, a large script's
    // warnings took longer than checking it.
    let wanted: Vec<FileId> = diags
        .iter()
        .flat_map(|d| std::iter::once(d.primary.file).chain(d.secondary.iter().map(|l| l.file)))
        .collect();
    let mut cache = ariadne::sources(
        sources
            .iter()
            .filter(|(id, _)| wanted.contains(id))
            .map(|(_, f)| (f.name.clone(), f.text.to_string())),
    );
    let mut out = String::new();
    for d in diags {
        out.push_str(&render_one(d, sources, opts, &mut cache));
    }
    out
}

fn render_one(
    d: &Diagnostic,
    sources: &SourceMap,
    opts: RenderOptions,
    cache: &mut impl ariadne::Cache<String>,
) -> String {
    let name = |f: FileId| sources.get(f).name.clone();
    // Spans are byte offsets; keep them inside the text and on character boundaries.
    let clamp = |f: FileId, s: Span| {
        let text = &sources.get(f).text;
        let len = text.len();
        let mut start = s.start.min(len);
        while !text.is_char_boundary(start) {
            start -= 1;
        }
        let mut end = s.end.min(len).max(start);
        while !text.is_char_boundary(end) {
            end += 1;
        }
        start..end
    };
    let kind = match d.severity {
        Severity::Error => ReportKind::Error,
        Severity::Warning => ReportKind::Warning,
    };
    let config = Config::default()
        .with_color(opts.color)
        .with_index_type(IndexType::Byte)
        .with_char_set(CharSet::Unicode);
    let primary_span = (name(d.primary.file), clamp(d.primary.file, d.primary.span));
    let mut report = Report::build(kind, primary_span.clone())
        .with_config(config)
        .with_code(d.code.as_str())
        .with_message(&d.message)
        .with_label(
            ALabel::new(primary_span)
                .with_message(&d.primary.message)
                .with_order(0),
        );
    for (i, l) in d.secondary.iter().enumerate() {
        report = report.with_label(
            ALabel::new((name(l.file), clamp(l.file, l.span)))
                .with_message(&l.message)
                .with_order(i as i32 + 1),
        );
    }
    for n in &d.notes {
        report = report.with_note(n);
    }
    if let Some(h) = &d.help {
        report = report.with_help(h);
    }
    let mut buf = Vec::new();
    if report.finish().write(cache, &mut buf).is_err() {
        // Rendering only fails if a file is missing from the map; fall back to one line.
        let (line, col) = sources.line_col(d.primary.file, d.primary.span.start);
        return format!(
            "error[{}]: {} at {}:{line}:{col}\n",
            d.code,
            d.message,
            name(d.primary.file)
        );
    }
    String::from_utf8_lossy(&buf).into_owned()
}

#[derive(Serialize)]
struct JsonLabel {
    file: String,
    line: usize,
    column: usize,
    end_line: usize,
    end_column: usize,
    start: usize,
    end: usize,
    message: String,
}

#[derive(Serialize)]
struct JsonDiagnostic {
    code: Code,
    severity: Severity,
    message: String,
    primary: JsonLabel,
    secondary: Vec<JsonLabel>,
    notes: Vec<String>,
    help: Option<String>,
    /// Edits a tool may apply: the place (as a label) and the text to put there.
    fixes: Vec<JsonFix>,
}

#[derive(serde::Serialize)]
struct JsonFix {
    #[serde(flatten)]
    at: JsonLabel,
    replacement: String,
}

/// Renders diagnostics as a JSON array for tools.
pub fn render_json(diags: &[Diagnostic], sources: &SourceMap) -> String {
    let label = |l: &Label| {
        let (line, column) = sources.line_col(l.file, l.span.start);
        let (end_line, end_column) = sources.line_col(l.file, l.span.end);
        JsonLabel {
            file: sources.get(l.file).name.clone(),
            line,
            column,
            end_line,
            end_column,
            start: l.span.start,
            end: l.span.end,
            message: l.message.clone(),
        }
    };
    let items: Vec<JsonDiagnostic> = diags
        .iter()
        .map(|d| JsonDiagnostic {
            code: d.code,
            severity: d.severity,
            message: d.message.clone(),
            primary: label(&d.primary),
            secondary: d.secondary.iter().map(label).collect(),
            notes: d.notes.clone(),
            help: d.help.clone(),
            fixes: d
                .fixes
                .iter()
                .map(|f| JsonFix {
                    at: label(&f.at),
                    replacement: f.replacement.clone(),
                })
                .collect(),
        })
        .collect();
    serde_json::to_string_pretty(&items).expect("diagnostics serialise")
}

/// `2 errors, 1 warning` style summary.
pub fn summary(diags: &[Diagnostic]) -> String {
    let errors = diags.iter().filter(|d| d.is_error()).count();
    let warnings = diags.len() - errors;
    let mut s = String::new();
    let plural = |n: usize, w: &str| {
        if n == 1 {
            format!("1 {w}")
        } else {
            format!("{n} {w}s")
        }
    };
    let _ = write!(s, "{}", plural(errors, "error"));
    if warnings > 0 {
        let _ = write!(s, ", {}", plural(warnings, "warning"));
    }
    s
}
