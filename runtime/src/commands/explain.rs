//! `mid explain`: the long explanation of a diagnostic code.

use std::process::ExitCode;

use crate::error::{Error, Result};

/// Arguments of `mid explain`.
#[derive(Debug, Clone, clap::Args)]
pub struct ExplainArgs {
    /// A diagnostic code, e.g. E0201.
    pub code: String,
}

pub fn explain(args: &ExplainArgs) -> Result<ExitCode> {
    match mid_compiler::diag::explain(&args.code) {
        Some((title, text)) => {
            crate::outln!(
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
