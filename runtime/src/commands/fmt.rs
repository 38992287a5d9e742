//! `mid fmt [--check] FILE…`: lays scripts out in the one canonical layout (the grammar's
//! formatter), in place; `--check` only says which files it would change. A file that does
//! not parse is reported with its syntax errors and left as it is.

use std::path::PathBuf;
use std::process::ExitCode;

use mid_grammar::format::{FormatError, format};

use super::{Color, print_diagnostics, read_script};
use crate::error::{Error, Result};

/// Arguments of `mid fmt`.
#[derive(Debug, Clone, clap::Args)]
pub struct FmtArgs {
    /// The scripts to format.
    #[arg(required = true)]
    pub files: Vec<PathBuf>,
    /// Change nothing: list the files that are not formatted, and exit 1 if there are any.
    #[arg(long)]
    pub check: bool,
    /// Colour diagnostics.
    #[arg(long, value_enum, default_value_t = Color::Auto)]
    pub color: Color,
}

pub fn fmt(args: &FmtArgs) -> Result<ExitCode> {
    let mut unformatted = Vec::new();
    let mut failed = 0usize;
    for path in &args.files {
        let bytes = read_script(path)?;
        let name = path.display().to_string();
        let Ok(text) = std::str::from_utf8(&bytes) else {
            crate::errln!("error: {name} is not UTF-8 text");
            failed += 1;
            continue;
        };
        match format(text) {
            Ok(out) if out == text => {}
            Ok(out) => {
                if args.check {
                    crate::outln!("{name}");
                } else {
                    std::fs::write(path, &out)
                        .map_err(|e| Error::new(format!("cannot write {name}: {e}")))?;
                    crate::errln!("formatted {name}");
                }
                unformatted.push(name);
            }
            Err(FormatError::Syntax) => {
                // The checker's diagnostics say what does not parse, and where.
                if let Err(mid_compiler::CompileError::Diagnostics(c)) =
                    mid_compiler::compile_file(&name, &bytes, &Default::default())
                {
                    print_diagnostics(&c.diagnostics, &c.sources, args.color);
                }
                crate::errln!("error: {name} does not parse: not formatted");
                failed += 1;
            }
            Err(FormatError::Changed) => {
                crate::errln!(
                    "internal error: formatting {name} would change its tokens; the file is left as it is"
                );
                failed += 1;
            }
        }
    }
    if failed > 0 {
        return Err(Error::new(format!(
            "{failed} file{} not formatted",
            if failed == 1 { "" } else { "s" }
        )));
    }
    if args.check && !unformatted.is_empty() {
        crate::errln!(
            "{} of {} file{} not formatted (run `mid fmt` on {})",
            unformatted.len(),
            args.files.len(),
            if args.files.len() == 1 { "" } else { "s" },
            if unformatted.len() == 1 { "it" } else { "them" }
        );
        return Ok(ExitCode::from(1));
    }
    Ok(ExitCode::SUCCESS)
}
