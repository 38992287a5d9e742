//! The wording of syntax errors (stage: source → AST).

use mid_grammar::{SyntaxError, SyntaxErrorKind};

use super::{Code, Diagnostic, Label};
use crate::source::FileId;

/// Turns a syntax error into a diagnostic.
pub fn syntax_diagnostic(e: &SyntaxError, file: FileId) -> Diagnostic {
    let label = |msg: &str| Label::new(file, e.span, msg);
    match &e.kind {
        SyntaxErrorKind::InvalidCharacter { text } => {
            let d = Diagnostic::new(
                Code::InvalidCharacter,
                format!("unexpected character `{text}`"),
                label("not part of any word of the language"),
            );
            if !text.is_ascii() {
                d.with_help("names use ASCII letters, digits and `_`; Japanese text belongs in quotes or comments")
            } else {
                d
            }
        }
        SyntaxErrorKind::SlashDate { text } => {
            let parts: Vec<&str> = text.split('/').collect();
            let fixed = format!("{}-{:0>2}-{:0>2}", parts[0], parts[1], parts[2]);
            Diagnostic::new(
                Code::SlashDate,
                format!("the date `{text}` is written with slashes"),
                label("a date with slashes"),
            )
            .with_help(format!("write it `{fixed}` (year-month-day, with hyphens)"))
            .with_fix(fixed)
        }
        SyntaxErrorKind::NegativeDuration { text } => {
            let positive = text.trim_start_matches('-').trim_start().to_string();
            Diagnostic::new(
                Code::NegativeDuration,
                format!("a duration cannot be negative: `{text}`"),
                label("a duration with a minus sign"),
            )
            .with_help(format!(
                "say the direction in words: `within {positive} before index`, `index - {positive}`"
            ))
        }
        SyntaxErrorKind::UnterminatedString => Diagnostic::new(
            Code::UnterminatedText,
            "text without its closing quote",
            label("this text is not closed on its line"),
        )
        .with_help("add the closing `\"`"),
        SyntaxErrorKind::InvalidEscape { text } => Diagnostic::new(
            Code::InvalidEscape,
            format!("unknown escape `{text}` in text"),
            label("not an escape"),
        )
        .with_help("escapes are \\\" \\\\ \\n \\t"),
        SyntaxErrorKind::UnexpectedToken { found, expected } => {
            let d = Diagnostic::new(
                Code::UnexpectedToken,
                format!("unexpected {found}"),
                label("not expected here"),
            );
            let d = if expected.is_empty() {
                d
            } else {
                d.with_note(format!("expected {}", one_of(expected)))
            };
            // An event's date where a date is wanted: `before first drug x after index` would
            // be ambiguous (whose window is `after index`?), so it takes parentheses.
            let selector = ["`first`", "`last`", "`nth`"].contains(&found.as_str());
            let word = found
                .strip_prefix('`')
                .and_then(|f| f.strip_suffix('`'))
                .filter(|w| {
                    !w.is_empty() && w.chars().all(|c| c.is_ascii_alphabetic() || c == '_')
                });
            // A declaration where a block's `}` could still come: the block above is not
            // closed (the parser goes on with the declaration, so nothing cascades).
            let declaration = [
                "`cohort`",
                "`outcome`",
                "`export`",
                "`report`",
                "`table1`",
                "`codes`",
                "`define`",
                "`import`",
                "`grading`",
            ]
            .contains(&found.as_str());
            if declaration && expected.iter().any(|e| e == "`}`") {
                d.with_help(format!(
                    "a `}}` is missing before {found}: close the block above"
                ))
            } else if selector && expected.iter().any(|e| e == "`index`") {
                d.with_help("an event's date goes in parentheses here: `before (first drug x after index)`, `age at (first drug x)`")
            } else if let Some(word) = word
                && expected.iter().any(|e| e == "a name")
            {
                d.with_help(format!(
                    "`{word}` is a word of the language and cannot name anything; choose another name, e.g. `{word}_cohort` or `my_{word}`"
                ))
            } else {
                d
            }
        }
        SyntaxErrorKind::UnexpectedEnd { expected } => {
            let d = Diagnostic::new(
                Code::UnexpectedEnd,
                "the file ends too early",
                label("ends here"),
            );
            if expected.is_empty() {
                d
            } else {
                d.with_note(format!("expected {}", one_of(expected)))
            }
        }
        SyntaxErrorKind::TooLong { limit } => Diagnostic::new(
            Code::TooDeep,
            format!("more than {limit} terms in one expression"),
            label("too long"),
        )
        .with_help("split the expression into named definitions"),
        SyntaxErrorKind::TooDeep { limit } => Diagnostic::new(
            Code::TooDeep,
            format!("nested more than {limit} levels deep"),
            label("too deep"),
        )
        .with_help("split the expression into named definitions"),
        SyntaxErrorKind::NotUtf8 => Diagnostic::new(
            Code::NotUtf8,
            "the file is not UTF-8 text",
            label("this byte is not UTF-8"),
        )
        .with_help("save the file as UTF-8"),
    }
}

fn one_of(items: &[String]) -> String {
    const MAX: usize = 8;
    if items.len() == 1 {
        return items[0].clone();
    }
    if items.len() > MAX {
        return format!("one of {}, …", items[..MAX].join(", "));
    }
    format!("one of {}", items.join(", "))
}
