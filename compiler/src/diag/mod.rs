//! Diagnostics (every stage): the one shape every phase's findings take, each phase's
//! errors worded in one place (`syntax`, `check`, `data`), and the one renderer (`render`:
//! ariadne for people, JSON for tools). Spans are byte offsets throughout.

mod check;
mod code;
mod data;
mod internal;
pub mod render;
mod syntax;

use mid_grammar::ast::Span;
use serde::Serialize;

use crate::source::FileId;

pub use code::{Code, RETIRED};
pub use data::DataError;
pub use internal::Internal;
pub use render::{RenderOptions, render_human, render_json, summary};
pub use syntax::syntax_diagnostic;

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

/// One finding of the compiler or of the data checks.
#[derive(Debug, Clone, PartialEq)]
pub struct Diagnostic {
    /// A stable code; `mid explain E0101` explains it.
    pub code: Code,
    pub severity: Severity,
    /// Short, lowercase.
    pub message: String,
    /// What is at the place of the finding.
    pub primary: Label,
    /// Other places that explain it (a definition, an earlier declaration).
    pub secondary: Vec<Label>,
    pub notes: Vec<String>,
    /// What to do about it.
    pub help: Option<String>,
    /// Edits a tool may apply as they are: replace the text of each label's span.
    pub fixes: Vec<Fix>,
}

/// A machine-applicable fix: the text to put in place of a span.
#[derive(Debug, Clone, PartialEq)]
pub struct Fix {
    pub at: Label,
    pub replacement: String,
}

impl Diagnostic {
    /// A finding of `code`, with the code's severity.
    pub fn new(code: Code, message: impl Into<String>, primary: Label) -> Diagnostic {
        Diagnostic {
            code,
            severity: code.severity(),
            message: message.into(),
            primary,
            secondary: vec![],
            notes: vec![],
            help: None,
            fixes: vec![],
        }
    }

    /// Adds a fix: `replacement` in place of the primary label's span.
    pub fn with_fix(mut self, replacement: impl Into<String>) -> Diagnostic {
        self.fixes.push(Fix {
            at: self.primary.clone(),
            replacement: replacement.into(),
        });
        self
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

    /// Adds `help` when there is one.
    pub fn with_help_opt(self, help: Option<impl Into<String>>) -> Diagnostic {
        match help {
            Some(h) => self.with_help(h),
            None => self,
        }
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

/// The most diagnostics reported for one file: past this, more say nothing new, and their
/// rendering would only grow with the input.
pub const MAX_DIAGNOSTICS: usize = 100;

/// Keeps `MAX_DIAGNOSTICS` diagnostics, errors before warnings (an error at the end of a
/// file full of warnings is still shown), in reading order, and says how many more there were.
pub fn cap(diags: &mut Vec<Diagnostic>) {
    if diags.len() <= MAX_DIAGNOSTICS {
        return;
    }
    let more = diags.len() - MAX_DIAGNOSTICS;
    let total_errors = diags.iter().filter(|d| d.is_error()).count();
    let kept_errors = total_errors.min(MAX_DIAGNOSTICS);
    let mut room_for_warnings = MAX_DIAGNOSTICS - kept_errors;
    let mut errors_left = kept_errors;
    let mut first_dropped = None;
    let mut keep = Vec::with_capacity(MAX_DIAGNOSTICS);
    for d in diags.drain(..) {
        let room = if d.is_error() {
            &mut errors_left
        } else {
            &mut room_for_warnings
        };
        if *room > 0 {
            *room -= 1;
            keep.push(d);
        } else if first_dropped.is_none() {
            first_dropped = Some((d.primary.file, d.primary.span));
        }
    }
    *diags = keep;
    let Some((file, at)) = first_dropped else {
        return;
    };
    let errors = total_errors - kept_errors;
    let mut d = Diagnostic::new(
        Code::TooManyDiagnostics,
        format!("{more} more diagnostics ({errors} errors) not shown"),
        Label::new(file, Span::new(at.start, at.start), "the first not shown"),
    )
    .with_help("fix the ones above first: later ones often follow from them");
    // An error only when errors were left out.
    d.severity = if errors > 0 {
        Severity::Error
    } else {
        Severity::Warning
    };
    diags.push(d);
}

/// The explanation of a code (`mid explain`): its title and text, or for a retired code what
/// replaced it.
pub fn explain(code: &str) -> Option<(String, &'static str)> {
    if let Some(c) = Code::parse(code) {
        return Some((c.title().to_string(), c.explanation()));
    }
    let code = code.trim().to_ascii_uppercase();
    RETIRED
        .iter()
        .find(|(c, _)| *c == code)
        .map(|(_, text)| ("retired".to_string(), *text))
}
