//! A CDM data set's `manifest.json`: what the data set is (contract version, sites, data
//! period, generator and seed when synthetic) and how to check it (rows and a content
//! fingerprint per table, and one for the whole data set).

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// What the generator drew for one hospital of a synthetic network.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct HospitalSummary {
    pub id: String,
    pub patients: u64,
    pub platelet_unit: String,
    pub wbc_unit: String,
    pub neutrophil_reporting: String,
    pub neutrophil_unit: Option<String>,
    pub unmapped_lab_share: f64,
    pub unmapped_drug_share: f64,
    pub unmapped_diagnosis_share: f64,
    pub generic_name_share: f64,
    pub crp_below_0_1_as_text: bool,
}

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
    /// Each file's size in bytes, in the order of `files` (absent in older manifests): with the
    /// row counts in the files' footers, a cheap check that the files are the ones fingerprinted.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub bytes: Vec<u64>,
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
    /// Reads `dir/manifest.json`; the error names the file and what is wrong.
    pub fn read(dir: &Path) -> Result<Manifest, String> {
        let path = dir.join("manifest.json");
        let text = std::fs::read_to_string(&path)
            .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        serde_json::from_str(&text)
            .map_err(|e| format!("{} is not a valid manifest: {e}", path.display()))
    }

    /// The manifest as written: pretty JSON, keys in field order, a final newline.
    pub fn to_json(&self) -> String {
        let mut text = serde_json::to_string_pretty(self).expect("a manifest serialises");
        text.push('\n');
        text
    }
}

fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write;
    bytes
        .iter()
        .fold(String::with_capacity(bytes.len() * 2), |mut s, b| {
            let _ = write!(s, "{b:02x}");
            s
        })
}

/// Table fingerprint: SHA-256 over each file's path and SHA-256, in file-name order.
/// Computed from per-file digests, so a reader can verify it by streaming each file once.
pub fn table_fingerprint(files: &[(String, Vec<u8>)]) -> String {
    let mut h = Sha256::new();
    for (relative, digest) in files {
        h.update(relative.as_bytes());
        h.update(b"\n");
        h.update(hex(digest).as_bytes());
        h.update(b"\n");
    }
    hex(&h.finalize())
}

/// The data set's fingerprint: one digest over the table fingerprints in contract order.
pub fn dataset_fingerprint(tables: &[(&str, &str)]) -> String {
    let mut h = Sha256::new();
    for (name, fp) in tables {
        h.update(name.as_bytes());
        h.update(b":");
        h.update(fp.as_bytes());
        h.update(b"\n");
    }
    hex(&h.finalize())
}
