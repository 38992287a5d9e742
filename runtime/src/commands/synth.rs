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
    /// Write one data set per hospital (`OUT/H01`, `OUT/H02`, ...), as the hospitals of a
    /// network hold their data, instead of one pooled data set.
    #[arg(long)]
    pub split: bool,
}

pub fn run(args: &SynthArgs) -> Result<ExitCode> {
    let options = Options {
        patients: args.patients,
        hospitals: args.hospitals,
        seed: args.seed,
        start: args.start.clone(),
        end: args.end.clone(),
        progress: true,
        split: args.split,
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
    let sites: usize = s.manifests.iter().map(|m| m.sites.len()).sum();
    if s.manifests.len() > 1 {
        crate::outln!(
            "wrote {} ({sites} hospitals, one data set each: {})",
            out.display(),
            s.manifests
                .iter()
                .flat_map(|m| m.sites.iter().map(String::as_str))
                .collect::<Vec<_>>()
                .join(", ")
        );
    } else {
        crate::outln!("wrote {} ({sites} hospitals)", out.display());
    }
    let sum = |rows: &dyn Fn(&mid_cdm::manifest::Manifest) -> Option<u64>| {
        s.manifests.iter().map(rows).sum::<Option<u64>>()
    };
    for t in Table::ALL {
        if let Some(rows) = sum(&|m| m.tables.get(t.name()).map(|e| e.rows)) {
            crate::outln!("  {:<10} {:>14} rows", t.name(), group_thousands(rows));
        }
    }
    if let Some(rows) = sum(&|m| m.truth.as_ref().map(|t| t.rows)) {
        crate::outln!("  {:<10} {:>14} rows", "truth", group_thousands(rows));
    }
    let patients = s
        .manifests
        .first()
        .and_then(|m| m.arguments.as_ref())
        .map_or(0, |a| a.patients);
    crate::outln!(
        "  {:.1} s, {} patients/min, {:.1} MB on disk",
        s.seconds,
        group_thousands((patients as f64 / s.seconds.max(1e-9) * 60.0) as u64),
        s.bytes as f64 / 1e6
    );
}
