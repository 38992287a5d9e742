//! The `mid` command: the runtime's front door. Parses the command line and hands each
//! subcommand to its module in the runtime library.

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// mid: typed cohort scripts for drug-safety studies on hospital data.
///
/// Scripts (`.mid`) are checked, compiled to DataFusion plans and run over a common data
/// model (CDM) held as Parquet. Commands that need data use a small built-in synthetic demo
/// network when no `--data` is given.
#[derive(Parser)]
#[command(name = "mid", version, about, long_about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Check scripts: syntax, names, types, codes and units. Exit 0 when clean, 1 on errors.
    Check(mid_runtime::commands::check::CheckArgs),
    /// Compile a script and print one stage: ast, hir, cir, plan or plan-optimized.
    Compile(mid_runtime::commands::compile::CompileArgs),
    /// Run a script over a data set (the demo network by default) and write its results.
    Run(mid_runtime::commands::run::RunArgs),
    /// What changed between two versions of a study (scripts or request packages): cohorts,
    /// steps, windows, codes and outputs; `--plans` also the plans. Exit 0 when equal, 1 when
    /// different, 2 when a side cannot be read or compiled.
    Diff(mid_runtime::commands::diff::DiffArgs),
    /// Lay scripts out in the one canonical layout, in place; `--check` lists the files it
    /// would change and exits 1 if there are any.
    Fmt(mid_runtime::commands::fmt::FmtArgs),
    /// Why one patient is in or out of each cohort of a script: the entry, each step with the
    /// events it was decided on, the end of follow-up, the outcomes (site-only detail).
    Why(mid_runtime::commands::why::WhyArgs),
    /// A language server over standard input and output, for editors: diagnostics, hover,
    /// go to definition, completion, symbols, formatting.
    Lsp(mid_runtime::commands::lsp::LspArgs),
    /// Explain a diagnostic code, e.g. `mid explain E0201`.
    Explain(mid_runtime::commands::explain::ExplainArgs),
    /// Generate a synthetic MID-NET-like hospital network in the CDM layout.
    Synth(mid_runtime::commands::synth::SynthArgs),
    /// Summarise a CDM data set and validate it against the data contract.
    Inspect(mid_runtime::commands::inspect::InspectArgs),
    /// Package a script as an execution request for the hospitals of a network, or show one.
    Package(mid_runtime::commands::package::PackageArgs),
    /// A hospital's side of the network: make its key, run a request, approve the extraction.
    Site(mid_runtime::commands::site::SiteArgs),
    /// The data center: pool approved extractions, run analyses over the pooled data.
    Center(mid_runtime::commands::center::CenterArgs),
    /// Check a network audit trail: `mid audit verify LOG`.
    Audit(mid_runtime::commands::audit::AuditArgs),
    /// Aggregate counts for judging a study's feasibility (集計情報): persons and records per
    /// drug, condition and lab item by quarter, age band and sex, per hospital and network.
    Feasibility(mid_runtime::commands::feasibility::FeasibilityArgs),
    /// The processes of a Ballista cluster for `mid run --engine ballista`: a scheduler and
    /// executors (a build with the `ballista` feature).
    Cluster(mid_runtime::commands::cluster::ClusterArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Check(args) => mid_runtime::commands::check::check(&args),
        Command::Compile(args) => mid_runtime::commands::compile::compile(&args),
        Command::Run(args) => mid_runtime::commands::run::run(&args),
        Command::Diff(args) => mid_runtime::commands::diff::diff(&args),
        Command::Fmt(args) => mid_runtime::commands::fmt::fmt(&args),
        Command::Lsp(args) => mid_runtime::commands::lsp::lsp(&args),
        Command::Why(args) => mid_runtime::commands::why::why(&args),
        Command::Explain(args) => mid_runtime::commands::explain::explain(&args),
        Command::Synth(args) => mid_runtime::commands::synth::run(&args),
        Command::Inspect(args) => mid_runtime::commands::inspect::run(&args),
        Command::Package(args) => mid_runtime::commands::package::package(&args),
        Command::Site(args) => mid_runtime::commands::site::site(&args),
        Command::Center(args) => mid_runtime::commands::center::center(&args),
        Command::Audit(args) => mid_runtime::commands::audit::audit(&args),
        Command::Feasibility(args) => mid_runtime::commands::feasibility::feasibility(&args),
        Command::Cluster(args) => mid_runtime::commands::cluster::cluster(&args),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            mid_runtime::errln!("error: {e}");
            ExitCode::from(e.exit_code())
        }
    }
}
