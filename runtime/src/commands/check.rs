//! `mid check`: checks scripts (syntax, names, types, codes, units and cohort rules) and
//! prints every diagnostic, for people or as one JSON array for tools.

use std::path::PathBuf;
use std::process::ExitCode;

use mid_compiler::diag;

use super::{Color, Format, print_diagnostics, read_script};
use crate::error::Result;

/// Arguments of `mid check`.
#[derive(Debug, Clone, clap::Args)]
pub struct CheckArgs {
    /// Scripts to check (`-` reads one from standard input).
    #[arg(required = true)]
    pub files: Vec<PathBuf>,
    /// How to print diagnostics.
    #[arg(long, value_enum, default_value_t = Format::Human)]
    pub format: Format,
    /// Colour diagnostics.
    #[arg(long, value_enum, default_value_t = Color::Auto)]
    pub color: Color,
    /// `--deny warnings`: fail (exit 1) on warnings too, as CI should.
    #[arg(long, value_enum)]
    pub deny: Option<Deny>,
}

/// What `--deny` turns into errors.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Deny {
    Warnings,
}

pub fn check(args: &CheckArgs) -> Result<ExitCode> {
    let mut all_json = Vec::new();
    let mut errors = 0usize;
    let mut warnings = 0usize;
    for path in &args.files {
        let bytes = read_script(path)?;
        // Standard input is named as such in diagnostics.
        let name = if path.as_os_str() == "-" {
            "<stdin>".to_string()
        } else {
            path.display().to_string()
        };
        let checked = mid_compiler::check_file(&name, &bytes);
        let diags = &checked.diagnostics;
        errors += diags.iter().filter(|d| d.is_error()).count();
        warnings += diags.iter().filter(|d| !d.is_error()).count();
        match args.format {
            Format::Human => print_diagnostics(diags, &checked.sources, args.color),
            Format::Json => all_json.push(diag::render_json(diags, &checked.sources)),
        }
    }
    if args.format == Format::Json {
        // One array over every file.
        let merged: Vec<serde_json::Value> = all_json
            .iter()
            .flat_map(|j| serde_json::from_str::<Vec<serde_json::Value>>(j).unwrap_or_default())
            .collect();
        crate::outln!(
            "{}",
            serde_json::to_string_pretty(&merged).unwrap_or_else(|_| "[]".into())
        );
    }
    let plural = |n: usize, w: &str| {
        if n == 1 {
            format!("1 {w}")
        } else {
            format!("{n} {w}s")
        }
    };
    let mut summary = format!(
        "checked {}: {}",
        plural(args.files.len(), "file"),
        plural(errors, "error")
    );
    if warnings > 0 {
        summary.push_str(&format!(", {}", plural(warnings, "warning")));
    }
    crate::errln!("{summary}");
    let denied = args.deny == Some(Deny::Warnings) && warnings > 0;
    Ok(if errors > 0 || denied {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}
