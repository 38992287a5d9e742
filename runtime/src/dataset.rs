//! CDM data sets on disk: the manifest, content fingerprints, opening a data set, and the
//! built-in demo network generated on first use into a cache directory.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::error::{Error, Result};
use crate::synth::hospitals::HospitalSummary;

/// Arguments of the built-in demo network.
pub const DEMO_PATIENTS: u64 = 50_000;
pub const DEMO_HOSPITALS: u32 = 8;
pub const DEMO_SEED: u64 = 1;

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Generator {
    pub name: String,
    pub version: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Arguments {
    pub patients: u64,
    pub hospitals: u32,
    pub seed: u64,
    pub start: String,
    pub end: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Period {
    pub start: String,
    pub end: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct TableEntry {
    pub rows: u64,
    pub files: Vec<String>,
    pub fingerprint: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct TruthEntry {
    pub rows: u64,
    pub file: String,
    pub fingerprint: String,
}

/// Rates the generator used, so tests and users can compare the data with them.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Synthetic {
    pub hospitals: Vec<HospitalSummary>,
    /// Per-patient rate of each planted episode, by name.
    pub episode_rates: BTreeMap<String, f64>,
    pub incomplete_evidence_share: f64,
    /// Every unit spelling the generator can write in `lab.unit`.
    pub unit_spellings: Vec<String>,
}

/// `manifest.json`: what the data set is and how to check it. Field order is the file's
/// key order.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Manifest {
    pub cdm_version: String,
    pub generator: Generator,
    pub seed: Option<u64>,
    pub arguments: Option<Arguments>,
    pub data_period: Period,
    pub sites: Vec<String>,
    pub tables: BTreeMap<String, TableEntry>,
    pub truth: Option<TruthEntry>,
    pub fingerprint: String,
    pub synthetic: Option<Synthetic>,
}

impl Manifest {
    pub fn read(dir: &Path) -> Result<Manifest> {
        let path = dir.join("manifest.json");
        let text = std::fs::read_to_string(&path)
            .map_err(|e| Error::context(format!("cannot read {}", path.display()), e))?;
        serde_json::from_str(&text)
            .map_err(|e| Error::context(format!("{} is not a valid manifest", path.display()), e))
    }

    pub fn write(&self, dir: &Path) -> Result<()> {
        let path = dir.join("manifest.json");
        let mut text = serde_json::to_string_pretty(self)
            .map_err(|e| Error::context("cannot serialise the manifest", e))?;
        text.push('\n');
        std::fs::write(&path, text)
            .map_err(|e| Error::context(format!("cannot write {}", path.display()), e))
    }
}

/// SHA-256 of a file, streamed.
pub fn file_digest(path: &Path) -> Result<Vec<u8>> {
    let mut f = File::open(path)
        .map_err(|e| Error::context(format!("cannot open {}", path.display()), e))?;
    let mut h = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = f
            .read(&mut buf)
            .map_err(|e| Error::context(format!("cannot read {}", path.display()), e))?;
        if n == 0 {
            break;
        }
        h.update(&buf[..n]);
    }
    Ok(h.finalize().to_vec())
}

/// The fingerprint of a table's files (relative paths under `dir`, in name order), as
/// `mid synth` computes it while writing.
pub fn fingerprint_files(dir: &Path, files: &[String]) -> Result<String> {
    let mut digests = Vec::with_capacity(files.len());
    for f in files {
        digests.push((f.clone(), file_digest(&dir.join(f))?));
    }
    Ok(crate::synth::writer::table_fingerprint(&digests))
}

/// The cache directory: `$MID_CACHE_DIR`, else `$XDG_CACHE_HOME/mid`, else `$HOME/.cache/mid`.
/// A new temporary directory beside `out` (same file system), for writing a whole output
/// there and renaming it into place: no partial output is ever left at `out`.
pub fn temp_dir_beside(out: &Path, prefix: &str) -> Result<tempfile::TempDir> {
    let parent = out
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    std::fs::create_dir_all(parent)
        .map_err(|e| Error::context(format!("cannot create {}", parent.display()), e))?;
    tempfile::Builder::new()
        .prefix(prefix)
        .tempdir_in(parent)
        .map_err(|e| {
            Error::context(
                format!(
                    "cannot create a temporary directory in {}",
                    parent.display()
                ),
                e,
            )
        })
}

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

/// The demo network's directory name: contract version, generator version and source
/// fingerprint, and arguments, so a changed generator or contract never reuses an old network.
pub fn demo_name() -> String {
    format!(
        "demo-cdm{}-synth{}-{}-p{}-h{}-s{}",
        mid_compiler::cdm::CDM_VERSION,
        env!("CARGO_PKG_VERSION"),
        env!("MID_GENERATOR_HASH"),
        DEMO_PATIENTS,
        DEMO_HOSPITALS,
        DEMO_SEED
    )
}

/// The data directory a command should use: the one given, or the demo network,
/// generated on first use (safe when several processes race: the loser uses the
/// winner's network).
pub fn resolve_data(arg: Option<&Path>) -> Result<PathBuf> {
    if let Some(dir) = arg {
        return Ok(dir.to_path_buf());
    }
    let dir = cache_dir()?.join(demo_name());
    if dir.join("manifest.json").is_file() {
        return Ok(dir);
    }
    eprintln!(
        "generating the demo network ({} patients) into {} …",
        group_thousands(DEMO_PATIENTS),
        dir.display()
    );
    let options = crate::synth::Options {
        patients: DEMO_PATIENTS,
        hospitals: DEMO_HOSPITALS,
        seed: DEMO_SEED,
        start: crate::synth::DEFAULT_START.to_string(),
        end: crate::synth::DEFAULT_END.to_string(),
        progress: false,
    };
    match crate::synth::generate(&options, &dir) {
        Ok(_) => Ok(dir),
        // Another process finished first: its network is identical, use it.
        Err(_) if dir.join("manifest.json").is_file() => Ok(dir),
        Err(e) => Err(e),
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
