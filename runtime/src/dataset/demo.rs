//! The built-in demo network (runtime): a small synthetic network generated on first use into
//! a cache directory named after everything that shapes its data, so a changed generator or
//! contract never reuses an old network.

use std::path::PathBuf;

use crate::error::{Error, Result};

/// Arguments of the built-in demo network.
pub const DEMO_PATIENTS: u64 = 50_000;
pub const DEMO_HOSPITALS: u32 = 8;
pub const DEMO_SEED: u64 = 1;

/// The cache directory: `$MID_CACHE_DIR`, else `$XDG_CACHE_HOME/mid`, else `$HOME/.cache/mid`.
pub fn cache_dir() -> Result<PathBuf> {
    let non_empty = |k: &str| std::env::var_os(k).filter(|v| !v.is_empty());
    if let Some(d) = non_empty("MID_CACHE_DIR") {
        return Ok(PathBuf::from(d));
    }
    if let Some(d) = non_empty("XDG_CACHE_HOME") {
        return Ok(PathBuf::from(d).join("mid"));
    }
    if let Some(d) = non_empty("HOME") {
        return Ok(PathBuf::from(d).join(".cache").join("mid"));
    }
    Err(Error::new(
        "no cache directory for the demo network: set MID_CACHE_DIR (or HOME), or pass --data",
    ))
}

/// The demo network's directory name: contract version, generator version and the
/// fingerprint of every file that shapes the data, and the arguments.
pub fn demo_name() -> String {
    format!(
        "demo-cdm{}-synth{}-{}-p{}-h{}-s{}",
        mid_cdm::CDM_VERSION,
        env!("CARGO_PKG_VERSION"),
        mid_synth::GENERATOR_HASH,
        DEMO_PATIENTS,
        DEMO_HOSPITALS,
        DEMO_SEED
    )
}

/// The demo network, generated on first use (safe when several processes race: the loser
/// uses the winner's network).
pub fn demo_network() -> Result<PathBuf> {
    let dir = cache_dir()?.join(demo_name());
    if dir.join("manifest.json").is_file() {
        return Ok(dir);
    }
    crate::errln!(
        "generating the demo network ({} patients) into {} …",
        super::group_thousands(DEMO_PATIENTS),
        dir.display()
    );
    let options = mid_synth::Options {
        patients: DEMO_PATIENTS,
        hospitals: DEMO_HOSPITALS,
        seed: DEMO_SEED,
        start: mid_synth::DEFAULT_START.to_string(),
        end: mid_synth::DEFAULT_END.to_string(),
        progress: false,
        split: false,
    };
    match mid_synth::generate(&options, &dir) {
        Ok(_) => Ok(dir),
        // Another process finished first: its network is identical, use it.
        Err(_) if dir.join("manifest.json").is_file() => Ok(dir),
        Err(e) => Err(Error::new(e.to_string())),
    }
}
