//! Diagnostics: the one shape every phase's errors are turned into, and the one place that
//! renders them (ariadne for people, JSON for tools). Spans are byte offsets throughout.

use std::fmt::Write as _;

use ariadne::{CharSet, Config, IndexType, Label as ALabel, Report, ReportKind};
use mid_grammar::ast::Span;
use serde::Serialize;

use crate::source::{FileId, SourceMap};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Error,
    Warning,
}

/// A place in a file with what is there.
#[derive(Debug, Clone, PartialEq)]
pub struct Label {
    pub file: FileId,
    pub span: Span,
    pub message: String,
}

impl Label {
    pub fn new(file: FileId, span: Span, message: impl Into<String>) -> Label {
        Label {
            file,
            span,
            message: message.into(),
        }
    }
}

/// One finding of the compiler.
#[derive(Debug, Clone, PartialEq)]
pub struct Diagnostic {
    /// A stable code, `E0101`; `mid explain E0101` explains it.
    pub code: &'static str,
    pub severity: Severity,
    /// Short, lowercase.
    pub message: String,
    /// What is at the place of the error.
    pub primary: Label,
    /// Other places that explain it (a definition, an earlier declaration).
    pub secondary: Vec<Label>,
    pub notes: Vec<String>,
    /// What to do about it.
    pub help: Option<String>,
}

impl Diagnostic {
    pub fn error(code: &'static str, message: impl Into<String>, primary: Label) -> Diagnostic {
        Diagnostic {
            code,
            severity: Severity::Error,
            message: message.into(),
            primary,
            secondary: vec![],
            notes: vec![],
            help: None,
        }
    }

    pub fn warning(code: &'static str, message: impl Into<String>, primary: Label) -> Diagnostic {
        Diagnostic {
            severity: Severity::Warning,
            ..Diagnostic::error(code, message, primary)
        }
    }

    pub fn with_label(mut self, label: Label) -> Diagnostic {
        self.secondary.push(label);
        self
    }

    pub fn with_note(mut self, note: impl Into<String>) -> Diagnostic {
        self.notes.push(note.into());
        self
    }

    pub fn with_help(mut self, help: impl Into<String>) -> Diagnostic {
        self.help = Some(help.into());
        self
    }

    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }
}

/// Puts diagnostics in reading order (file, position, code) and drops exact repeats, e.g. one
/// finding reached through two imports.
pub fn normalise(diags: &mut Vec<Diagnostic>) {
    diags.sort_by(|a, b| {
        (
            a.primary.file,
            a.primary.span.start,
            a.primary.span.end,
            a.code,
            &a.message,
        )
            .cmp(&(
                b.primary.file,
                b.primary.span.start,
                b.primary.span.end,
                b.code,
                &b.message,
            ))
    });
    diags.dedup_by(|a, b| {
        a.primary.file == b.primary.file
            && a.primary.span == b.primary.span
            && a.code == b.code
            && a.message == b.message
    });
}

/// Options for rendering for people.
#[derive(Debug, Clone, Copy, Default)]
pub struct RenderOptions {
    pub color: bool,
}

/// Renders diagnostics for people, one ariadne report each.
pub fn render_human(diags: &[Diagnostic], sources: &SourceMap, opts: RenderOptions) -> String {
    let mut out = String::new();
    for d in diags {
        out.push_str(&render_one(d, sources, opts));
    }
    out
}

fn render_one(d: &Diagnostic, sources: &SourceMap, opts: RenderOptions) -> String {
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
        .with_code(d.code)
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
    let cache = ariadne::sources(
        sources
            .iter()
            .map(|(_, f)| (f.name.clone(), f.text.to_string())),
    );
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
    start: usize,
    end: usize,
    message: String,
}

#[derive(Serialize)]
struct JsonDiagnostic {
    code: &'static str,
    severity: Severity,
    message: String,
    primary: JsonLabel,
    secondary: Vec<JsonLabel>,
    notes: Vec<String>,
    help: Option<String>,
}

/// Renders diagnostics as a JSON array for tools.
pub fn render_json(diags: &[Diagnostic], sources: &SourceMap) -> String {
    let label = |l: &Label| {
        let (line, column) = sources.line_col(l.file, l.span.start);
        JsonLabel {
            file: sources.get(l.file).name.clone(),
            line,
            column,
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
