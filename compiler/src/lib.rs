//! The .mid compiler: from source text to checked, typed programs and DataFusion plans.
//! Pure: it reads no files and executes nothing; plans are built from the CDM schemas alone.
//!
//! Stages, each one public function: `source_to_ast` (in `mid_grammar`), `ast_to_hir`,
//! `hir_to_cir`, `cir_to_plan`. The front door, `check_file` and `compile_file`, takes a
//! file's bytes, decodes them once and chains the stages.

pub use mid_cdm as cdm;
pub mod check;
pub mod cir;
pub mod codebook;
pub mod codegen;
pub mod codes;
pub mod dates;
pub mod diag;
pub mod diff;
pub mod feasibility;
pub mod hir;
pub mod ide;
pub mod lower;
pub mod outputs;
pub mod requirements;
pub mod robustness;
pub mod source;
#[cfg(test)]
mod testing;
pub mod types;
pub mod units;
pub mod validation;

use std::collections::BTreeSet;

use mid_grammar::ast;
use sha2::{Digest, Sha256};

pub use check::ast_to_hir;
pub use codegen::{NamedPlan, PlanKind, cir_to_plan};
use diag::{Code, Diagnostic, Internal, syntax_diagnostic};
pub use lower::hir_to_cir;
pub use outputs::{Output, OutputKind};
use source::{FileId, SourceMap};

/// A script after the front end: its sources, tree, HIR and every diagnostic.
pub struct Checked {
    pub sources: SourceMap,
    pub file: FileId,
    /// SHA-256 of the script's bytes, as read (hex).
    pub source_sha256: String,
    pub ast: ast::File,
    pub hir: hir::Hir,
    pub diagnostics: Vec<Diagnostic>,
}

impl Checked {
    pub fn has_errors(&self) -> bool {
        self.diagnostics.iter().any(Diagnostic::is_error)
    }
}

/// A script compiled to plans.
pub struct Compiled {
    pub checked: Checked,
    pub cir: cir::Program,
    pub plans: Vec<NamedPlan>,
    /// What the plans produce for people: attrition tables, reports and exports, each with
    /// what the runtime needs to write it (no lookup by name).
    pub outputs: Vec<Output>,
}

impl Compiled {
    /// The plans as reviewers read them (`--emit plan`, `run.json`'s plan hash, snapshots).
    pub fn plans_text(&self) -> String {
        codegen::text::plans_text(&self.plans, None)
    }
}

/// Why compiling stopped: the script's diagnostics, or a bug of mid (an internal error).
pub enum CompileError {
    Diagnostics(Box<Checked>),
    Internal(Box<Checked>, Internal),
}

/// How far `compile_file` goes.
#[derive(Debug, Clone, Copy)]
pub struct CompileOptions {
    /// Build the DataFusion plans; without them, compilation stops at the cohort IR.
    pub plans: bool,
}

impl Default for CompileOptions {
    fn default() -> Self {
        CompileOptions { plans: true }
    }
}

/// The stack compilation runs on: the stages recurse over expression trees up to
/// `mid_grammar::parse::MAX_DEPTH` deep, more than a default thread's stack allows.
pub(crate) const STACK: usize = 256 * 1024 * 1024;

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

/// Parses and checks one script file (with the stdlib it imports): every diagnostic the
/// user can act on. Bytes that are not UTF-8 are a diagnostic, not a failure.
pub fn check_file(name: &str, bytes: &[u8]) -> Checked {
    on_big_stack(|| check_here(name, bytes))
}

/// Checks, lowers and (with `options.plans`) builds the plans of one script file.
pub fn compile_file(
    name: &str,
    bytes: &[u8],
    options: &CompileOptions,
) -> Result<Compiled, CompileError> {
    on_big_stack(|| {
        let checked = check_here(name, bytes);
        if checked.has_errors() {
            return Err(CompileError::Diagnostics(Box::new(checked)));
        }
        let program = match hir_to_cir(&checked.hir) {
            Ok(p) => p,
            Err(e) => return Err(CompileError::Internal(Box::new(checked), e)),
        };
        let plans = if options.plans {
            match cir_to_plan(&program) {
                Ok(p) => p,
                Err(e) => return Err(CompileError::Internal(Box::new(checked), e)),
            }
        } else {
            Vec::new()
        };
        let docs = outputs::Docs {
            exports: codebook::export_columns(&program, &checked.hir, &checked.sources),
            table1s: codebook::table1_rows(&program, &checked.hir, &checked.sources),
            reports: codebook::report_columns(
                &program,
                &checked.hir,
                &checked.sources,
                checked.file,
            ),
        };
        let outputs = outputs::outputs(&program, &plans, docs);
        Ok(Compiled {
            checked,
            cir: program,
            plans,
            outputs,
        })
    })
}

fn sha256_hex(bytes: &[u8]) -> String {
    use std::fmt::Write;
    Sha256::digest(bytes)
        .iter()
        .fold(String::new(), |mut s, b| {
            let _ = write!(s, "{b:02x}");
            s
        })
}

fn check_here(name: &str, bytes: &[u8]) -> Checked {
    let source_sha256 = sha256_hex(bytes);
    let mut sources = SourceMap::new();
    let text = match mid_grammar::parse::decode(bytes) {
        Ok(text) => text,
        Err(e) => {
            // Show the file with each byte that is not UTF-8 as `?`, so byte offsets (and the
            // label) stay where they were.
            let mut shown = String::with_capacity(bytes.len());
            for chunk in bytes.utf8_chunks() {
                shown.push_str(chunk.valid());
                shown.extend(std::iter::repeat_n('?', chunk.invalid().len()));
            }
            let file = sources.add(name, shown, false);
            return Checked {
                sources,
                file,
                source_sha256,
                ast: ast::File::default(),
                hir: hir::Hir::default(),
                diagnostics: vec![syntax_diagnostic(&e, file)],
            };
        }
    };
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
    let error_lines: BTreeSet<usize> = diagnostics
        .iter()
        .map(|d| sources.line_col(file, d.primary.span.start).0)
        .collect();
    // Nor can it say what is unused: the uses may be in the text it skipped.
    let syntax_errors = !diagnostics.is_empty();
    more.retain(|d| {
        let unused = matches!(d.code, Code::UnusedImport | Code::UnusedDefinition);
        !(syntax_errors && unused)
            && (d.primary.file != file
                || !error_lines.contains(&sources.line_col(file, d.primary.span.start).0))
    });
    diagnostics.append(&mut more);
    diag::normalise(&mut diagnostics);
    diag::cap(&mut diagnostics);
    Checked {
        sources,
        file,
        source_sha256,
        ast: parsed.file,
        hir,
        diagnostics,
    }
}
