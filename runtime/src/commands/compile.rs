//! `mid compile`: prints one stage of a compiled script — the syntax tree, the HIR, the
//! cohort IR, the plans, or the plans after the engine's optimiser — as the deterministic text
//! reviewers diff.

use std::path::PathBuf;
use std::process::ExitCode;

use mid_compiler::CompileOptions;

use super::{Color, compile_script};
use crate::engine::Engine;
use crate::error::Result;

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
    /// The plans after the optimiser of the engine `mid run` uses.
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

pub fn compile(args: &CompileArgs) -> Result<ExitCode> {
    let options = CompileOptions {
        plans: matches!(args.emit, Emit::Plan | Emit::PlanOptimized),
    };
    let compiled = compile_script(&args.file, args.color, &options)?;
    let text = match args.emit {
        Emit::Ast => mid_grammar::pretty::file(&compiled.checked.ast),
        Emit::Hir => mid_compiler::hir::print(&compiled.checked.hir),
        Emit::Cir => mid_compiler::cir::print(&compiled.cir),
        Emit::Plan => compiled.plans_text(),
        Emit::PlanOptimized => {
            // The same session configuration `mid run` executes with; no data is needed.
            let engine = Engine::without_data()?;
            let optimized = compiled
                .plans
                .iter()
                .map(|p| engine.optimize(&p.plan))
                .collect::<Result<Vec<_>>>()?;
            mid_compiler::codegen::text::plans_text(&compiled.plans, Some(&optimized))
        }
    };
    crate::out!("{text}");
    // The process ends here: freeing hundreds of plans node by node would be a tenth of
    // the command's time for nothing.
    std::mem::forget(compiled);
    Ok(ExitCode::SUCCESS)
}
