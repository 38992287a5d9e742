//! The `mid` subcommands (runtime): each reads its arguments, calls the compiler, the data
//! sets, the engine and the outputs, and prints. Shared here: reading a script and printing
//! its diagnostics through the compiler's one renderer.

pub mod audit;
pub mod center;
pub mod check;
pub mod cluster;
pub mod compile;
pub mod diff;
pub mod explain;
pub mod feasibility;
pub mod fmt;
pub mod inspect;
pub mod lsp;
pub mod package;
pub mod run;
pub mod site;
pub mod synth;
pub mod why;

use std::io::IsTerminal;
use std::path::Path;

use mid_compiler::diag::{self, Diagnostic, RenderOptions};
use mid_compiler::source::SourceMap;
use mid_compiler::{CompileError, CompileOptions, Compiled};

use crate::error::{Error, Result};

/// How diagnostics are printed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// Rendered for people, with the source.
    Human,
    /// A JSON array, for editors and tools.
    Json,
}

/// When to colour output.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Color {
    Auto,
    Always,
    Never,
}

pub(crate) fn color_on(c: Color) -> bool {
    match c {
        Color::Always => true,
        Color::Never => false,
        Color::Auto => std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none(),
    }
}

/// The largest script mid reads (16 MiB): far beyond any study, and a bound on the work a
/// mistaken path (`/dev/zero`) can cause.
pub const MAX_SCRIPT_BYTES: u64 = 16 * 1024 * 1024;

/// Reads a script file (`-`: standard input); a missing, unreadable or oversized file is a
/// usage error.
pub(crate) fn read_script(path: &Path) -> Result<Vec<u8>> {
    use std::io::Read;
    let cannot = |e: std::io::Error| Error::usage(format!("cannot read {}: {e}", path.display()));
    let mut bytes = Vec::new();
    if path == Path::new("-") {
        std::io::stdin()
            .take(MAX_SCRIPT_BYTES + 1)
            .read_to_end(&mut bytes)
            .map_err(cannot)?;
    } else {
        let file = std::fs::File::open(path).map_err(cannot)?;
        file.take(MAX_SCRIPT_BYTES + 1)
            .read_to_end(&mut bytes)
            .map_err(cannot)?;
    }
    if bytes.len() as u64 > MAX_SCRIPT_BYTES {
        return Err(Error::usage(format!(
            "{} is larger than 16 MiB: not a script",
            path.display()
        )));
    }
    Ok(bytes)
}

/// Prints diagnostics for people on stderr.
pub(crate) fn print_diagnostics(diags: &[Diagnostic], sources: &SourceMap, color: Color) {
    if !diags.is_empty() {
        crate::err!(
            "{}",
            diag::render_human(
                diags,
                sources,
                RenderOptions {
                    color: color_on(color)
                }
            )
        );
    }
}

/// Compiles one script file, printing its diagnostics; any failure is an error naming it.
pub(crate) fn compile_script(
    path: &Path,
    color: Color,
    options: &CompileOptions,
) -> Result<Compiled> {
    let bytes = read_script(path)?;
    compile_source(&path.display().to_string(), &bytes, color, options, true)
}

/// Compiles a script's text named `name`, printing its errors (and its warnings when asked);
/// any failure is an error naming it.
pub(crate) fn compile_source(
    name: &str,
    bytes: &[u8],
    color: Color,
    options: &CompileOptions,
    warnings: bool,
) -> Result<Compiled> {
    match mid_compiler::compile_file(name, bytes, options) {
        Ok(c) => {
            if warnings {
                print_diagnostics(&c.checked.diagnostics, &c.checked.sources, color);
            }
            Ok(c)
        }
        Err(CompileError::Diagnostics(checked)) => {
            print_diagnostics(&checked.diagnostics, &checked.sources, color);
            Err(Error::new(format!(
                "{name}: {}",
                diag::summary(&checked.diagnostics)
            )))
        }
        Err(CompileError::Internal(_, e)) => Err(Error::new(format!("{name}: {e}"))),
    }
}
