//! The .mid compiler: from source text to checked, typed programs and DataFusion plans.
//! Pure: it reads no files and executes nothing; plans are built from the CDM schemas alone.
//!
//! Stages, each one public function: `source_to_ast` (in `mid_grammar`), `ast_to_hir`,
//! `hir_to_cir`, `cir_to_plan`; `check` and `compile` chain them.

pub mod cdm;
pub mod check;
pub mod cir;
pub mod codes;
pub mod dates;
pub mod diagnostics;
pub mod explain;
pub mod hir;
pub mod lower;
pub mod plan;
pub mod requirements;
pub mod robustness;
pub mod source;
pub mod types;
pub mod units;

use mid_grammar::ast;
use mid_grammar::{SyntaxError, SyntaxErrorKind};

pub use check::ast_to_hir;
use diagnostics::{Diagnostic, Label};
pub use lower::hir_to_cir;
pub use plan::{NamedPlan, PlanKind, cir_to_plan};
use source::{FileId, SourceMap};

/// A script after the front end: its sources, tree, HIR and every diagnostic.
pub struct Checked {
    pub sources: SourceMap,
    pub file: FileId,
    pub ast: ast::File,
    pub hir: hir::Hir,
    pub diagnostics: Vec<Diagnostic>,
}

impl Checked {
    pub fn has_errors(&self) -> bool {
        self.diagnostics.iter().any(Diagnostic::is_error)
    }
}

/// The stack compilation runs on: the stages recurse over expression trees up to
/// `mid_grammar::parse::MAX_DEPTH` deep, more than a default thread's stack allows.
const STACK: usize = 256 * 1024 * 1024;

/// Runs `f` on a thread with a large stack (only the pages used are committed).
fn on_big_stack<T: Send>(f: impl FnOnce() -> T + Send) -> T {
    std::thread::scope(|s| {
        std::thread::Builder::new()
            .name("mid-compile".into())
            .stack_size(STACK)
            .spawn_scoped(s, f)
            .expect("a compiler thread starts")
            .join()
            .unwrap_or_else(|p| std::panic::resume_unwind(p))
    })
}

/// Parses and checks one script (with the stdlib it imports).
pub fn check(name: &str, text: &str) -> Checked {
    on_big_stack(|| check_here(name, text))
}

fn check_here(name: &str, text: &str) -> Checked {
    let mut sources = SourceMap::new();
    let file = sources.add(name, text, false);
    let parsed = mid_grammar::source_to_ast(text);
    let mut diagnostics: Vec<Diagnostic> = parsed
        .errors
        .iter()
        .map(|e| syntax_diagnostic(e, file))
        .collect();
    let (hir, mut more) = ast_to_hir(&parsed.file, file, &mut sources);
    // What the parser recovered from a syntax error is incomplete: a semantic error on the
    // same line would only repeat it.
    let error_lines: std::collections::BTreeSet<usize> = diagnostics
        .iter()
        .map(|d| sources.line_col(file, d.primary.span.start).0)
        .collect();
    more.retain(|d| {
        d.primary.file != file
            || !error_lines.contains(&sources.line_col(file, d.primary.span.start).0)
    });
    diagnostics.append(&mut more);
    diagnostics::normalise(&mut diagnostics);
    Checked {
        sources,
        file,
        ast: parsed.file,
        hir,
        diagnostics,
    }
}

/// Checks a file given as bytes: bytes that are not UTF-8 are a diagnostic, not a failure.
pub fn check_bytes(name: &str, bytes: &[u8]) -> Checked {
    match mid_grammar::parse::decode(bytes) {
        Ok(text) => check(name, text),
        Err(e) => {
            let mut sources = SourceMap::new();
            // Show the file with each byte that is not UTF-8 as `?`, so byte offsets (and the
            // label) stay where they were.
            let mut shown = String::with_capacity(bytes.len());
            for chunk in bytes.utf8_chunks() {
                shown.push_str(chunk.valid());
                shown.extend(std::iter::repeat_n('?', chunk.invalid().len()));
            }
            let file = sources.add(name, shown, false);
            Checked {
                sources,
                file,
                ast: ast::File::default(),
                hir: hir::Hir::default(),
                diagnostics: vec![syntax_diagnostic(&e, file)],
            }
        }
    }
}

/// Turns a syntax error into a diagnostic.
pub fn syntax_diagnostic(e: &SyntaxError, file: FileId) -> Diagnostic {
    let label = |msg: &str| Label::new(file, e.span, msg);
    match &e.kind {
        SyntaxErrorKind::InvalidCharacter { text } => {
            let d = Diagnostic::error(
                "E0003",
                format!("unexpected character `{text}`"),
                label("not part of any word of the language"),
            );
            if !text.is_ascii() {
                d.with_help("names use ASCII letters, digits and `_`; Japanese text belongs in quotes or comments")
            } else {
                d
            }
        }
        SyntaxErrorKind::UnterminatedString => Diagnostic::error(
            "E0004",
            "text without its closing quote",
            label("this text is not closed on its line"),
        )
        .with_help("add the closing `\"`"),
        SyntaxErrorKind::InvalidEscape { text } => Diagnostic::error(
            "E0005",
            format!("unknown escape `{text}` in text"),
            label("not an escape"),
        )
        .with_help("escapes are \\\" \\\\ \\n \\t"),
        SyntaxErrorKind::UnexpectedToken { found, expected } => {
            let d = Diagnostic::error(
                "E0001",
                format!("unexpected {found}"),
                label("not expected here"),
            );
            if expected.is_empty() {
                d
            } else {
                d.with_note(format!("expected {}", one_of(expected)))
            }
        }
        SyntaxErrorKind::UnexpectedEnd { expected } => {
            let d = Diagnostic::error("E0002", "the file ends too early", label("ends here"));
            if expected.is_empty() {
                d
            } else {
                d.with_note(format!("expected {}", one_of(expected)))
            }
        }
        SyntaxErrorKind::TooDeep { limit } => Diagnostic::error(
            "E0006",
            format!("nested more than {limit} levels deep"),
            label("too deep"),
        )
        .with_help("split the expression into named definitions"),
        SyntaxErrorKind::NotUtf8 => Diagnostic::error(
            "E0007",
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

/// A script compiled to plans.
pub struct Compiled {
    pub checked: Checked,
    pub cir: cir::Program,
    pub plans: Vec<NamedPlan>,
}

/// Why compiling stopped: the script's diagnostics, or a plan the engine refused (a bug).
pub enum CompileError {
    Diagnostics(Box<Checked>),
    Plan(Box<Checked>, plan::PlanError),
}

/// Checks a script as `mid check` does: every diagnostic the user can act on (syntax, names,
/// types, codes, units, and cohort semantics found when lowering), without building plans.
pub fn check_all(name: &str, text: &str) -> Checked {
    on_big_stack(|| {
        let mut checked = check_here(name, text);
        if !checked.has_errors() {
            let (_, mut more) = hir_to_cir(&checked.hir);
            checked.diagnostics.append(&mut more);
            diagnostics::normalise(&mut checked.diagnostics);
        }
        checked
    })
}

/// Checks, lowers and builds the plans of one script.
pub fn compile(name: &str, text: &str) -> Result<Compiled, CompileError> {
    on_big_stack(|| compile_here(name, text))
}

fn compile_here(name: &str, text: &str) -> Result<Compiled, CompileError> {
    let mut checked = check_here(name, text);
    if checked.has_errors() {
        return Err(CompileError::Diagnostics(Box::new(checked)));
    }
    let (program, mut more) = hir_to_cir(&checked.hir);
    if more.iter().any(Diagnostic::is_error) {
        checked.diagnostics.append(&mut more);
        diagnostics::normalise(&mut checked.diagnostics);
        return Err(CompileError::Diagnostics(Box::new(checked)));
    }
    match cir_to_plan(&program) {
        Ok(plans) => Ok(Compiled {
            checked,
            cir: program,
            plans,
        }),
        Err(e) => Err(CompileError::Plan(Box::new(checked), e)),
    }
}
