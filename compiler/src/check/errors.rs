//! The checker's errors (stage: AST → HIR): data only, turned into diagnostics in one place.

use mid_grammar::ast::Span;

use crate::diagnostics::{Diagnostic, Label};
use crate::source::FileId;
use crate::types::Type;

/// Where something is: a file and a byte span.
pub type At = (FileId, Span);

#[derive(Debug, Clone)]
pub enum CheckError {
    UnknownName {
        at: At,
        name: String,
        suggestion: Option<String>,
    },
    UnknownModule {
        at: At,
        name: String,
        suggestion: Option<String>,
        available: Vec<String>,
    },
    NotInModule {
        at: At,
        module: String,
        name: String,
        suggestion: Option<String>,
    },
    Duplicate {
        at: At,
        name: String,
        first: At,
    },
    Cycle {
        at: At,
        name: String,
    },
    UnknownField {
        at: At,
        table: &'static str,
        name: String,
        suggestion: Option<String>,
        fields: Vec<&'static str>,
    },
    UnknownValue {
        at: At,
        column: String,
        value: String,
        suggestion: Option<String>,
        values: Vec<&'static str>,
    },
    Mismatch {
        at: At,
        expected: String,
        found: Type,
        context: String,
        help: Option<String>,
    },
    WrongDomain {
        at: At,
        expected: String,
        found: String,
        context: String,
    },
    BadCode {
        at: At,
        system: &'static str,
        code: String,
        shape: &'static str,
    },
    UnknownSystem {
        at: At,
        name: String,
        suggestion: Option<String>,
    },
    SystemNotInDomain {
        at: At,
        system: &'static str,
        domain: &'static str,
        allowed: Vec<&'static str>,
    },
    AmbiguousSystem {
        at: At,
        system: &'static str,
    },
    Units {
        at: At,
        expected: String,
        found: String,
        context: String,
    },
    UnknownUnit {
        at: At,
        unit: String,
        suggestion: Option<String>,
    },
    MissingUnit {
        at: At,
        dimension: String,
        example: String,
    },
    Arity {
        at: At,
        name: String,
        expected: String,
        found: usize,
        def: Option<At>,
    },
    MissingStatement {
        at: At,
        cohort: String,
        what: &'static str,
        help: &'static str,
    },
    DuplicateStatement {
        at: At,
        what: &'static str,
        first: At,
    },
    NoContext {
        at: At,
        anchor: String,
        help: &'static str,
    },
    Invalid {
        at: At,
        message: String,
        label: String,
        help: Option<String>,
    },
    SuppressTooLow {
        at: At,
        value: u32,
    },
    NeedsSelector {
        at: At,
        what: &'static str,
    },
    NotGraded {
        at: At,
        grading: String,
        lab: String,
        graded: Vec<String>,
    },
}

fn did_you_mean(d: Diagnostic, suggestion: &Option<String>) -> Diagnostic {
    match suggestion {
        Some(s) => d.with_help(format!("did you mean `{s}`?")),
        None => d,
    }
}

impl CheckError {
    pub fn to_diagnostic(&self) -> Diagnostic {
        let label = |at: &At, msg: &str| Label::new(at.0, at.1, msg);
        match self {
            CheckError::UnknownName {
                at,
                name,
                suggestion,
            } => did_you_mean(
                Diagnostic::error(
                    "E0101",
                    format!("unknown name `{name}`"),
                    label(at, "not defined or imported"),
                ),
                suggestion,
            ),
            CheckError::UnknownModule {
                at,
                name,
                suggestion,
                available,
            } => {
                let d = Diagnostic::error(
                    "E0102",
                    format!("no module `{name}`"),
                    label(at, "not a stdlib module"),
                )
                .with_note(format!("the stdlib has: {}", available.join(", ")));
                did_you_mean(d, suggestion)
            }
            CheckError::NotInModule {
                at,
                module,
                name,
                suggestion,
            } => did_you_mean(
                Diagnostic::error(
                    "E0103",
                    format!("`{name}` is not defined in module `{module}`"),
                    label(at, &format!("not in `{module}`")),
                ),
                suggestion,
            ),
            CheckError::Duplicate { at, name, first } => Diagnostic::error(
                "E0104",
                format!("`{name}` is defined twice"),
                label(at, "defined again here"),
            )
            .with_label(label(first, "first defined here"))
            .with_help("give one of them another name"),
            CheckError::Cycle { at, name } => Diagnostic::error(
                "E0105",
                format!("`{name}` is defined in terms of itself"),
                label(at, "used inside its own definition"),
            )
            .with_help("definitions cannot refer to themselves, directly or through others"),
            CheckError::UnknownField {
                at,
                table,
                name,
                suggestion,
                fields,
            } => did_you_mean(
                Diagnostic::error(
                    "E0106",
                    format!("the {table} table has no column `{name}`"),
                    label(at, "unknown column"),
                )
                .with_note(format!("{table} columns: {}", fields.join(", "))),
                suggestion,
            ),
            CheckError::UnknownValue {
                at,
                column,
                value,
                suggestion,
                values,
            } => did_you_mean(
                Diagnostic::error(
                    "E0107",
                    format!("`{value}` is not a value of `{column}`"),
                    label(at, "unknown value"),
                )
                .with_note(format!("`{column}` is one of: {}", values.join(", "))),
                suggestion,
            ),
            CheckError::Mismatch {
                at,
                expected,
                found,
                context,
                help,
            } => {
                let d = Diagnostic::error(
                    "E0201",
                    format!("{context} needs {expected}, found {found}"),
                    label(at, &format!("this is {found}")),
                );
                match help {
                    Some(h) => d.with_help(h.clone()),
                    None => d,
                }
            }
            CheckError::WrongDomain {
                at,
                expected,
                found,
                context,
            } => Diagnostic::error(
                "E0202",
                format!("{context} needs {expected}, found {found}"),
                label(at, &format!("this is {found}")),
            )
            .with_help("code sets are typed by domain: a drug code set cannot stand for diagnoses"),
            CheckError::BadCode {
                at,
                system,
                code,
                shape,
            } => Diagnostic::error(
                "E0203",
                format!("\"{code}\" cannot be a {system} code"),
                label(at, &format!("not a {system} code")),
            )
            .with_note(format!("a {system} code is {shape}")),
            CheckError::UnknownSystem {
                at,
                name,
                suggestion,
            } => did_you_mean(
                Diagnostic::error(
                    "E0204",
                    format!("unknown code system `{name}`"),
                    label(at, "not a code system"),
                )
                .with_note(
                    "code systems: icd10, medis, local (diagnosis); yj, hot9, receipt (drug); jlac10, analyte, local (lab); receipt, kcode, local (procedure)",
                ),
                suggestion,
            ),
            CheckError::SystemNotInDomain {
                at,
                system,
                domain,
                allowed,
            } => Diagnostic::error(
                "E0204",
                format!("`{system}` codes are not {domain} codes"),
                label(at, &format!("{system} is not a {domain} code system")),
            )
            .with_note(format!("{domain} codes are: {}", allowed.join(", "))),
            CheckError::AmbiguousSystem { at, system } => Diagnostic::error(
                "E0209",
                format!("`{system}` codes exist in several domains"),
                label(at, "which domain?"),
            )
            .with_help(format!(
                "declare the domain: `codes name: procedure = {system} \"…\"`, or use the codes directly in `drug …`/`procedure …`"
            )),
            CheckError::Units {
                at,
                expected,
                found,
                context,
            } => Diagnostic::error(
                "E0205",
                format!("{context}: cannot compare {found} with {expected}"),
                label(at, &format!("this is {found}")),
            )
            .with_help(format!("write the value in a unit of {expected}")),
            CheckError::UnknownUnit {
                at,
                unit,
                suggestion,
            } => did_you_mean(
                Diagnostic::error(
                    "E0206",
                    format!("unknown unit `{unit}`"),
                    label(at, "not a unit mid knows"),
                )
                .with_note("`mid explain E0206` lists the units"),
                suggestion,
            ),
            CheckError::MissingUnit {
                at,
                dimension,
                example,
            } => Diagnostic::error(
                "E0208",
                "a lab value is compared with a number without a unit",
                label(at, "no unit"),
            )
            .with_note(format!("the lab item is measured as {dimension}"))
            .with_help(format!("write the unit, e.g. `{example}`")),
            CheckError::Arity {
                at,
                name,
                expected,
                found,
                def,
            } => {
                let d = Diagnostic::error(
                    "E0207",
                    format!("`{name}` takes {expected}, given {found}"),
                    label(at, "wrong number of arguments"),
                );
                match def {
                    Some(def) => d.with_label(label(def, "defined here")),
                    None => d,
                }
            }
            CheckError::MissingStatement {
                at,
                cohort,
                what,
                help,
            } => Diagnostic::error(
                "E0301",
                format!("cohort `{cohort}` has no {what}"),
                label(at, &format!("no {what}")),
            )
            .with_help(*help),
            CheckError::DuplicateStatement { at, what, first } => Diagnostic::error(
                "E0302",
                format!("a cohort has one {what}"),
                label(at, "second one here"),
            )
            .with_label(label(first, "first one here")),
            CheckError::NoContext { at, anchor, help } => Diagnostic::error(
                "E0304",
                format!("`{anchor}` has no meaning here"),
                label(at, &format!("no `{anchor}` here")),
            )
            .with_help(*help),
            CheckError::Invalid {
                at,
                message,
                label: l,
                help,
            } => {
                let d = Diagnostic::error("E0303", message.clone(), label(at, l));
                match help {
                    Some(h) => d.with_help(h.clone()),
                    None => d,
                }
            }
            CheckError::SuppressTooLow { at, value } => Diagnostic::error(
                "E0308",
                format!("counts below {value} would be shown"),
                label(at, "must be 10 or more"),
            )
            .with_note("the network never shows a count below 10")
            .with_help("remove the clause (10 is the default) or raise it"),
            CheckError::NeedsSelector { at, what } => Diagnostic::error(
                "E0305",
                format!("{what} needs one event per patient"),
                label(at, "which of the events?"),
            )
            .with_help("say which: `first …`, `last …`, `nth(2) …` or `every …`"),
            CheckError::NotGraded {
                at,
                grading,
                lab,
                graded,
            } => Diagnostic::error(
                "E0310",
                format!("`{grading}` has no grades for `{lab}`"),
                label(at, "not graded by this scale"),
            )
            .with_note(format!("`{grading}` grades: {}", graded.join(", "))),
        }
    }
}
