//! `mid-fuzz`: a fuzzing campaign from the command line (docs/reliability.md has the commands
//! and the figures). Writes `summary.json` and one reproducer file per distinct failure into
//! `--out`; exits 1 when anything failed.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;
use mid_fuzz::{Target, campaign};

#[derive(Parser)]
#[command(
    name = "mid-fuzz",
    about = "Fuzz mid's check, compile and run on stable Rust"
)]
struct Args {
    /// check, compile or run.
    #[arg(long)]
    target: String,
    /// How many inputs.
    #[arg(long, default_value_t = 100_000)]
    inputs: u64,
    /// The campaign's seed (input i of seed s is always the same input).
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Worker threads.
    #[arg(long, default_value_t = 2)]
    jobs: usize,
    /// Where to write the summary and the reproducers.
    #[arg(long, default_value = "fuzz-results")]
    out: PathBuf,
    /// Only print input number N of the campaign (to reproduce a failure).
    #[arg(long)]
    show: Option<u64>,
}

fn main() -> ExitCode {
    let args = Args::parse();
    let Some(target) = Target::parse(&args.target) else {
        eprintln!("error: --target must be check, compile or run");
        return ExitCode::from(2);
    };
    if let Some(i) = args.show {
        let corpus = mid_fuzz::corpus(&mid_fuzz::repo());
        let input = mid_fuzz::input(target, args.seed, i, &corpus);
        println!("{}", String::from_utf8_lossy(&input));
        return ExitCode::SUCCESS;
    }
    // The tiny network `run` executes on: 200 patients at 2 hospitals.
    let data = args.out.join("network");
    if !data.join("manifest.json").exists() {
        let options = mid_runtime::synth::Options {
            patients: 200,
            hospitals: 2,
            seed: 7,
            start: mid_runtime::synth::DEFAULT_START.into(),
            end: mid_runtime::synth::DEFAULT_END.into(),
            progress: false,
            split: false,
        };
        if let Err(e) = mid_runtime::synth::generate(&options, &data) {
            eprintln!("error: cannot generate the network: {e}");
            return ExitCode::from(1);
        }
    }
    let progress = |done: u64, distinct: usize| {
        eprintln!("{done} inputs, {distinct} distinct failure(s)");
    };
    // Panics are caught and counted; their default report would flood the terminal.
    std::panic::set_hook(Box::new(|_| {}));
    let summary = campaign(target, args.seed, args.inputs, args.jobs, &data, &progress);
    for (signature, (n, f)) in &summary.failures {
        let name = format!("{:?}-{}.mid", summary.target, f.index).to_lowercase();
        if let Err(e) = std::fs::write(args.out.join(&name), &f.input) {
            eprintln!("error: cannot write {name}: {e}");
        }
        eprintln!("{n:>8} × {signature}  (input {}: {name})", f.index);
    }
    let json = serde_json::to_string_pretty(&summary).unwrap_or_default();
    if let Err(e) = std::fs::write(args.out.join("summary.json"), json + "\n") {
        eprintln!("error: cannot write the summary: {e}");
        return ExitCode::from(1);
    }
    println!(
        "{:?}: {} inputs in {:.0} s ({:.0}/s), {} checked clean, {} distinct failure(s)",
        summary.target,
        summary.inputs,
        summary.seconds,
        summary.inputs as f64 / summary.seconds.max(1e-9),
        summary.clean,
        summary.failures.len()
    );
    if summary.failures.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    }
}
