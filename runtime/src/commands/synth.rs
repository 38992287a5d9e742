//! `mid synth`: the command front of the synthetic network generator (`mid-synth`).

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use mid_cdm::Table;
use mid_synth::{DEFAULT_END, DEFAULT_START, Options, Summary};

use crate::dataset::group_thousands;
use crate::error::{Error, Result};

/// Arguments of `mid synth`.
#[derive(Debug, Clone, clap::Args)]
pub struct SynthArgs {
    /// Number of patients across the whole network (at least 1).
    #[arg(long)]
    pub patients: u64,
    /// Number of hospitals (1 to 99).
    #[arg(long)]
    pub hospitals: u32,
    /// Seed: the same arguments give the same data, byte for byte, on any machine.
    #[arg(long)]
    pub seed: u64,
    /// Directory to write the data set into (must not exist, or be empty).
    #[arg(long)]
    pub out: PathBuf,
    /// First day of the data period (YYYY-MM-DD).
    #[arg(long, default_value = DEFAULT_START)]
    pub start: String,
    /// Last day of the data period (YYYY-MM-DD).
    #[arg(long, default_value = DEFAULT_END)]
    pub end: String,
}

pub fn run(args: &SynthArgs) -> Result<ExitCode> {
    let options = Options {
        patients: args.patients,
        hospitals: args.hospitals,
        seed: args.seed,
        start: args.start.clone(),
        end: args.end.clone(),
        progress: true,
    };
    if let Err(message) = mid_synth::validate(&options) {
        crate::errln!("error: {message}");
        return Ok(ExitCode::from(2));
    }
    let summary =
        mid_synth::generate(&options, &args.out).map_err(|e| Error::new(e.to_string()))?;
    print_summary(&summary, &args.out);
    Ok(ExitCode::SUCCESS)
}

fn print_summary(s: &Summary, out: &Path) {
    let m = &s.manifest;
    crate::outln!("wrote {} ({} hospitals)", out.display(), m.sites.len());
    for t in Table::ALL {
        if let Some(e) = m.tables.get(t.name()) {
            crate::outln!("  {:<10} {:>14} rows", t.name(), group_thousands(e.rows));
        }
    }
    if let Some(t) = &m.truth {
        crate::outln!("  {:<10} {:>14} rows", "truth", group_thousands(t.rows));
    }
    let patients = m.arguments.as_ref().map_or(0, |a| a.patients);
    crate::outln!(
        "  {:.1} s, {} patients/min, {:.1} MB on disk",
        s.seconds,
        group_thousands((patients as f64 / s.seconds.max(1e-9) * 60.0) as u64),
        s.bytes as f64 / 1e6
    );
}
