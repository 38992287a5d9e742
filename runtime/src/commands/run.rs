//! `mid run`: compiles a script, checks the data has what it needs (every problem reported
//! at the place in the script that needs the data), executes the plans and writes the
//! outputs and `run.json`. Output goes to a temporary directory renamed into place at the
//! end, so a failed run leaves nothing behind.

use std::fs;
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Instant, SystemTime};

use mid_compiler::CompileOptions;
use mid_compiler::diag::Diagnostic;

use super::{Color, compile_script, print_diagnostics};
use crate::dataset::contract;
use crate::engine::{self, Engine};
use crate::error::{Error, Result};
use crate::output::{self, RunRecord};

/// Arguments of `mid run`.
#[derive(Debug, Clone, clap::Args)]
pub struct RunArgs {
    /// The script.
    pub file: PathBuf,
    /// The CDM data set; the built-in demo network when absent.
    #[arg(long)]
    pub data: Option<PathBuf>,
    /// Where to write the results (replaced if it holds an earlier run's results).
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Write CSV instead of Parquet.
    #[arg(long)]
    pub csv: bool,
    /// Colour diagnostics.
    #[arg(long, value_enum, default_value_t = Color::Auto)]
    pub color: Color,
    /// Print each plan's time and its physical plan with per-operator rows and times to
    /// stderr (where a slow script spends its time).
    #[arg(long)]
    pub profile: bool,
}

pub fn run(args: &RunArgs) -> Result<ExitCode> {
    let started = SystemTime::now();
    let clock = Instant::now();
    let compiled = compile_script(&args.file, args.color, &CompileOptions::default())?;
    let data = crate::dataset::resolve_data(args.data.as_deref())?;
    let problems = contract::check_requirements(
        &data,
        &mid_compiler::requirements::requirements(&compiled.cir),
    );
    if !problems.is_empty() {
        let diags: Vec<Diagnostic> = problems.iter().map(|p| p.to_diagnostic()).collect();
        print_diagnostics(&diags, &compiled.checked.sources, args.color);
        return Err(Error::new(format!(
            "the data set in {} does not have what the script needs ({} problem{})",
            data.display(),
            problems.len(),
            if problems.len() == 1 { "" } else { "s" }
        )));
    }
    let out = match &args.out {
        Some(o) => o.clone(),
        None => PathBuf::from("out").join(
            args.file
                .file_stem()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_else(|| "run".into()),
        ),
    };
    check_out_dir(&out)?;
    let rt = crate::runtime()?;
    let results = rt.block_on(async {
        let engine = Engine::open(&data).await?;
        let bar = progress(compiled.plans.len() as u64);
        let r = engine::run_all(&engine, &compiled.plans, args.profile, |i, name| {
            if let Some(b) = &bar {
                b.set_position(i as u64);
                b.set_message(name.to_string());
            }
        })
        .await;
        if let Some(b) = bar {
            b.finish_and_clear();
        }
        r
    })?;
    let tmp = output::temp_dir_beside(&out, ".mid-run-")?.keep();
    let written = match output::write_outputs(&tmp, &compiled, &results, args.csv) {
        Ok(w) => w,
        Err(e) => {
            let _ = fs::remove_dir_all(&tmp);
            return Err(e);
        }
    };
    let record = RunRecord::new(&output::RunFacts {
        script: &args.file,
        compiled: &compiled,
        data: &data,
        results: &results,
        written: &written,
        started,
        finished: SystemTime::now(),
    });
    let json = serde_json::to_string_pretty(&record)
        .map_err(|e| Error::context("cannot write run.json", e))?;
    if let Err(e) = fs::write(tmp.join("run.json"), json + "\n") {
        let _ = fs::remove_dir_all(&tmp);
        return Err(Error::context(
            format!("cannot write {}", tmp.join("run.json").display()),
            e,
        ));
    }
    replace_dir(&tmp, &out)?;
    output::print_summary(
        &compiled,
        &results,
        &written,
        &out,
        clock.elapsed().as_secs_f64(),
    );
    Ok(ExitCode::SUCCESS)
}

fn progress(steps: u64) -> Option<indicatif::ProgressBar> {
    if !std::io::stderr().is_terminal() {
        return None;
    }
    let bar = indicatif::ProgressBar::new(steps);
    if let Ok(style) =
        indicatif::ProgressStyle::with_template("{spinner} [{elapsed}] {bar:30} {pos}/{len} {msg}")
    {
        bar.set_style(style);
    }
    bar.enable_steady_tick(std::time::Duration::from_millis(120));
    Some(bar)
}

/// The output directory may be new, empty, or an earlier run's results; anything else is
/// refused so a typo cannot overwrite unrelated files.
fn check_out_dir(out: &Path) -> Result<()> {
    if !out.exists() {
        return Ok(());
    }
    if !out.is_dir() {
        return Err(Error::usage(format!(
            "--out {} is a file, not a directory",
            out.display()
        )));
    }
    let empty = fs::read_dir(out)
        .map(|mut d| d.next().is_none())
        .unwrap_or(false);
    if empty || out.join("run.json").exists() {
        return Ok(());
    }
    Err(Error::usage(format!(
        "--out {} holds files that are not mid results; choose another directory",
        out.display()
    )))
}

/// Puts the finished results in place of `out`.
fn replace_dir(tmp: &Path, out: &Path) -> Result<()> {
    if out.exists() {
        fs::remove_dir_all(out)
            .map_err(|e| Error::context(format!("cannot replace {}", out.display()), e))?;
    }
    fs::rename(tmp, out)
        .map_err(|e| Error::context(format!("cannot move results to {}", out.display()), e))
}
