//! CDM data sets on disk (runtime): finding a table's files (`files`), the one validator of
//! the data contract that `run` and `inspect` share (`contract` for schemas, `content` for
//! rows, whose counts are reused while the files are unchanged: `check_cache`), the manifest
//! check (`verify`), fingerprints of a data set (`fingerprint`), and the built-in demo
//! network generated on first use (`demo`).

pub mod check_cache;
pub mod content;
pub mod contract;
pub mod demo;
pub mod files;
pub mod fingerprint;
pub mod verify;

use std::path::{Path, PathBuf};

pub use mid_cdm::manifest::Manifest;

use crate::error::Result;

/// The data directory a command should use: the one given, or the demo network, generated
/// on first use.
pub fn resolve_data(arg: Option<&Path>) -> Result<PathBuf> {
    match arg {
        Some(dir) => Ok(dir.to_path_buf()),
        None => demo::demo_network(),
    }
}

/// `50000` → `50,000`.
pub fn group_thousands(n: u64) -> String {
    let s = n.to_string();
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}
