//! `mid synth`: a deterministic synthetic MID-NET-like hospital network in the CDM layout.

use std::path::PathBuf;
use std::process::ExitCode;

use crate::error::Result;

/// Arguments of `mid synth`.
#[derive(Debug, Clone, clap::Args)]
pub struct SynthArgs {
    /// Number of patients across the whole network.
    #[arg(long)]
    pub patients: u64,
    /// Number of hospitals.
    #[arg(long)]
    pub hospitals: u32,
    /// Seed: the same arguments give the same data, on any machine.
    #[arg(long)]
    pub seed: u64,
    /// Directory to write the data set into (must not exist or be empty).
    #[arg(long)]
    pub out: PathBuf,
}

pub fn run(_args: &SynthArgs) -> Result<ExitCode> {
    Err(crate::Error::new("mid synth is not built yet"))
}
