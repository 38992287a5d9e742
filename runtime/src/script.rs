//! `mid check`, `mid compile` and `mid explain`: the compiler's front door. Reads script files,
//! prints diagnostics (for people or as JSON) and the intermediate forms reviewers diff.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use mid_compiler::diagnostics::{self, Diagnostic, RenderOptions};
use mid_compiler::source::SourceMap;
use mid_compiler::{CompileError, Compiled};

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

/// Arguments of `mid check`.
#[derive(Debug, Clone, clap::Args)]
pub struct CheckArgs {
    /// Scripts to check.
    #[arg(required = true)]
    pub files: Vec<PathBuf>,
    /// How to print diagnostics.
    #[arg(long, value_enum, default_value_t = Format::Human)]
    pub format: Format,
    /// Colour diagnostics.
    #[arg(long, value_enum, default_value_t = Color::Auto)]
    pub color: Color,
}

/// What `mid compile` prints.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Emit {
    /// The syntax tree.
    Ast,
    /// Names resolved and types.
    Hir,
    /// The cohort IR: the semantics made explicit.
    Cir,
    /// The DataFusion logical plans, as compiled (what reviewers diff).
    Plan,
    /// The plans after DataFusion's optimiser.
    PlanOptimized,
}

/// Arguments of `mid compile`.
#[derive(Debug, Clone, clap::Args)]
pub struct CompileArgs {
    /// The script.
    pub file: PathBuf,
    /// Which stage to print.
    #[arg(long, value_enum, default_value_t = Emit::Plan)]
    pub emit: Emit,
    /// Colour diagnostics.
    #[arg(long, value_enum, default_value_t = Color::Auto)]
    pub color: Color,
}

/// Arguments of `mid explain`.
#[derive(Debug, Clone, clap::Args)]
pub struct ExplainArgs {
    /// A diagnostic code, e.g. E0201.
    pub code: String,
}

pub(crate) fn color_on(c: Color) -> bool {
    match c {
        Color::Always => true,
        Color::Never => false,
        Color::Auto => std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none(),
    }
}

/// Reads a script file; a missing or unreadable file is a usage error.
pub(crate) fn read_script(path: &Path) -> std::result::Result<Vec<u8>, Error> {
    std::fs::read(path).map_err(|e| Error::usage(format!("cannot read {}: {e}", path.display())))
}

pub(crate) fn print_diagnostics(diags: &[Diagnostic], sources: &SourceMap, color: Color) {
    if !diags.is_empty() {
        eprint!(
            "{}",
            diagnostics::render_human(
                diags,
                sources,
                RenderOptions {
                    color: color_on(color)
                }
            )
        );
    }
}

/// Compiles one file (bytes), turning every failure into printed diagnostics.
pub(crate) fn compile_file(path: &Path, color: Color) -> std::result::Result<Compiled, Error> {
    let bytes = read_script(path)?;
    let name = path.display().to_string();
    let text = match mid_grammar::parse::decode(&bytes) {
        Ok(t) => t.to_string(),
        Err(_) => {
            let checked = mid_compiler::check_bytes(&name, &bytes);
            print_diagnostics(&checked.diagnostics, &checked.sources, color);
            return Err(Error::new(format!(
                "{name}: {}",
                diagnostics::summary(&checked.diagnostics)
            )));
        }
    };
    match mid_compiler::compile(&name, &text) {
        Ok(c) => {
            print_diagnostics(&c.checked.diagnostics, &c.checked.sources, color);
            Ok(c)
        }
        Err(CompileError::Diagnostics(checked)) => {
            print_diagnostics(&checked.diagnostics, &checked.sources, color);
            Err(Error::new(format!(
                "{name}: {}",
                diagnostics::summary(&checked.diagnostics)
            )))
        }
        Err(CompileError::Plan(_, e)) => {
            Err(Error::new(format!("{name}: internal compiler error: {e}")))
        }
    }
}

pub fn check(args: &CheckArgs) -> Result<ExitCode> {
    let mut all_json = Vec::new();
    let mut errors = 0usize;
    let mut warnings = 0usize;
    for path in &args.files {
        let bytes = read_script(path)?;
        let name = path.display().to_string();
        let checked = match mid_grammar::parse::decode(&bytes) {
            Ok(text) => {
                // Everything the user can act on, without building plans.
                let c = mid_compiler::check_all(&name, text);
                (c.diagnostics, c.sources)
            }
            Err(_) => {
                let c = mid_compiler::check_bytes(&name, &bytes);
                (c.diagnostics, c.sources)
            }
        };
        let (diags, sources) = checked;
        errors += diags.iter().filter(|d| d.is_error()).count();
        warnings += diags.iter().filter(|d| !d.is_error()).count();
        match args.format {
            Format::Human => print_diagnostics(&diags, &sources, args.color),
            Format::Json => all_json.push(diagnostics::render_json(&diags, &sources)),
        }
    }
    if args.format == Format::Json {
        // One array over every file.
        let merged: Vec<serde_json::Value> = all_json
            .iter()
            .flat_map(|j| serde_json::from_str::<Vec<serde_json::Value>>(j).unwrap_or_default())
            .collect();
        println!(
            "{}",
            serde_json::to_string_pretty(&merged).unwrap_or_else(|_| "[]".into())
        );
    }
    let files = args.files.len();
    let plural = |n: usize, w: &str| {
        if n == 1 {
            format!("1 {w}")
        } else {
            format!("{n} {w}s")
        }
    };
    let mut summary = format!(
        "checked {}: {}",
        plural(files, "file"),
        plural(errors, "error")
    );
    if warnings > 0 {
        summary.push_str(&format!(", {}", plural(warnings, "warning")));
    }
    eprintln!("{summary}");
    Ok(if errors > 0 {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

pub fn compile(args: &CompileArgs) -> Result<ExitCode> {
    let compiled = compile_file(&args.file, args.color)?;
    let text = match args.emit {
        Emit::Ast => mid_grammar::pretty::file(&compiled.checked.ast),
        Emit::Hir => mid_compiler::hir::print(&compiled.checked.hir),
        Emit::Cir => mid_compiler::cir::print(&compiled.cir),
        Emit::Plan => plans_text(&compiled, None)?,
        Emit::PlanOptimized => {
            let rt = crate::runtime()?;
            rt.block_on(optimized_text(&compiled))?
        }
    };
    print!("{text}");
    Ok(ExitCode::SUCCESS)
}

/// Every plan, under a header naming it, in execution order.
pub fn plans_text(
    compiled: &Compiled,
    optimized: Option<&[datafusion::logical_expr::LogicalPlan]>,
) -> Result<String> {
    use std::fmt::Write;
    let mut out = String::new();
    for (i, p) in compiled.plans.iter().enumerate() {
        let plan = optimized.map(|o| &o[i]).unwrap_or(&p.plan);
        let _ = writeln!(out, "-- {} ({})", p.name, kind_word(&p.kind));
        let _ = writeln!(out, "{}", plan.display_indent());
        out.push('\n');
    }
    Ok(out)
}

fn kind_word(k: &mid_compiler::PlanKind) -> &'static str {
    use mid_compiler::PlanKind as K;
    match k {
        K::Entries { .. } => "cohort entries",
        K::Steps { .. } => "cohort steps",
        K::Attrition { .. } => "attrition",
        K::Cohort { .. } => "cohort",
        K::Outcome { .. } => "outcome",
        K::Export { .. } => "export, patient-level, stays at the site",
        K::Report { .. } => "report, aggregate",
        K::Intermediate { .. } => "intermediate, computed once for the plan after it",
        K::Shared { .. } => "shared scan, read once for every plan that tests these codes",
    }
}

/// Optimises every plan with DataFusion's default rules. Needs no data: later plans see the
/// schemas of earlier results.
async fn optimized_text(compiled: &Compiled) -> Result<String> {
    use datafusion::prelude::SessionContext;
    let ctx = SessionContext::new();
    let mut optimized = Vec::new();
    for p in &compiled.plans {
        let o = ctx
            .state()
            .optimize(&p.plan)
            .map_err(|e| Error::context(format!("cannot optimise `{}`", p.name), e))?;
        optimized.push(o);
    }
    plans_text(compiled, Some(&optimized))
}

pub fn explain(args: &ExplainArgs) -> Result<ExitCode> {
    match mid_compiler::explain::explain(&args.code) {
        Some((title, text)) => {
            println!(
                "{}: {title}\n\n{text}",
                args.code.trim().to_ascii_uppercase()
            );
            Ok(ExitCode::SUCCESS)
        }
        None => Err(Error::usage(format!(
            "no diagnostic code `{}`; codes look like E0201",
            args.code
        ))),
    }
}
