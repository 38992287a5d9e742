//! `mid inspect`: summarise a CDM data set and validate it against the contract.

use std::path::PathBuf;
use std::process::ExitCode;

use crate::error::Result;

/// Arguments of `mid inspect`.
#[derive(Debug, Clone, clap::Args)]
pub struct InspectArgs {
    /// The data set directory; the built-in demo network when absent.
    #[arg(long)]
    pub data: Option<PathBuf>,
}

pub fn run(_args: &InspectArgs) -> Result<ExitCode> {
    Err(crate::Error::new("mid inspect is not built yet"))
}
