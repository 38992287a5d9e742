//! Extractions (runtime, network): what a hospital's `mid site run` writes for its officer to
//! approve and the data center to pool. A directory whose `manifest.json` lists every other
//! file with its SHA-256; the extraction's identity is the SHA-256 of `manifest.json`. The
//! officer's decision (`approval.json`) names that identity, so changing, adding or removing
//! any file after approval is found.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::audit::Head;
use crate::error::{Error, Result};
use crate::output::record::sha256;

/// The format an extraction's manifest declares.
pub const FORMAT: &str = "mid-extraction/1";
/// The format of an officer's decision.
pub const APPROVAL_FORMAT: &str = "mid-approval/1";
pub const MANIFEST: &str = "manifest.json";
pub const APPROVAL: &str = "approval.json";
/// The largest manifest or approval mid reads.
const MAX_JSON: u64 = 64 * 1024 * 1024;

/// `manifest.json` of an extraction.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    pub format: String,
    /// The request package's ID.
    pub package: String,
    pub study: String,
    pub hospital: String,
    /// The fingerprint of the site key the pseudonyms were made with (not the key).
    pub key: String,
    pub mid: String,
    /// The hospital's data: its manifest's fingerprint and data period.
    pub data: DataOrigin,
    pub files: Vec<FileEntry>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DataOrigin {
    pub fingerprint: String,
    pub start: String,
    pub end: String,
}

/// One file of an extraction.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileEntry {
    /// Relative to the extraction, `/`-separated.
    pub path: String,
    /// `patient`, `aggregate` or `summary` (for the officer; it also leaves).
    pub level: String,
    pub bytes: u64,
    pub sha256: String,
}

/// `approval.json`: the officer's decision on one extraction.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Approval {
    pub format: String,
    pub package: String,
    pub hospital: String,
    /// SHA-256 of the extraction's `manifest.json`: exactly what was decided on.
    pub extraction: String,
    /// `approved` or `rejected`.
    pub decision: String,
    pub officer: String,
    pub time: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// The site's audit trail after the decision was recorded.
    pub audit: Head,
}

impl Approval {
    pub fn approved(&self) -> bool {
        self.decision == "approved"
    }
}

/// A pretty JSON file's text with a final newline.
pub fn json_text<T: Serialize>(v: &T) -> String {
    let mut s = serde_json::to_string_pretty(v).expect("serialises");
    s.push('\n');
    s
}

fn read_json_file(path: &Path, what: &str) -> Result<(Vec<u8>, serde_json::Value)> {
    use std::io::Read;
    let mut bytes = Vec::new();
    std::fs::File::open(path)
        .and_then(|f| f.take(MAX_JSON + 1).read_to_end(&mut bytes))
        .map_err(|e| Error::new(format!("cannot read {}: {e}", path.display())))?;
    if bytes.len() as u64 > MAX_JSON {
        return Err(Error::new(format!(
            "{} is too large to be {what}",
            path.display()
        )));
    }
    let v = serde_json::from_slice(&bytes)
        .map_err(|e| Error::new(format!("{} is not {what} (not JSON: {e})", path.display())))?;
    Ok((bytes, v))
}

fn check_format(path: &Path, v: &serde_json::Value, want: &str, what: &str) -> Result<()> {
    match v.get("format").and_then(|f| f.as_str()) {
        Some(f) if f == want => Ok(()),
        Some(f) => Err(Error::new(format!(
            "{} is `{f}`; this mid reads {what} of format `{want}`",
            path.display()
        ))),
        None => Err(Error::new(format!("{} is not {what}", path.display()))),
    }
}

/// Every file under `dir` (relative, `/`-separated, sorted); directories are walked, links
/// are refused.
pub fn list_files(dir: &Path) -> Result<Vec<String>> {
    fn walk(root: &Path, dir: &Path, out: &mut Vec<String>) -> Result<()> {
        let entries = std::fs::read_dir(dir)
            .map_err(|e| Error::new(format!("cannot list {}: {e}", dir.display())))?;
        for e in entries {
            let e = e.map_err(|e| Error::new(format!("cannot list {}: {e}", dir.display())))?;
            let path = e.path();
            let ty = e
                .file_type()
                .map_err(|e| Error::new(format!("cannot read {}: {e}", path.display())))?;
            if ty.is_dir() {
                walk(root, &path, out)?;
            } else if ty.is_file() {
                let rel = path.strip_prefix(root).unwrap_or(&path);
                let parts: Vec<String> = rel
                    .components()
                    .map(|c| c.as_os_str().to_string_lossy().into_owned())
                    .collect();
                out.push(parts.join("/"));
            } else {
                return Err(Error::new(format!(
                    "{} is neither a file nor a directory",
                    path.display()
                )));
            }
        }
        Ok(())
    }
    let mut out = Vec::new();
    walk(dir, dir, &mut out)?;
    out.sort();
    Ok(out)
}

/// The SHA-256 (hex) of a file.
pub fn file_sha256(path: &Path) -> Result<String> {
    let d = crate::dataset::fingerprint::file_digest(path)?;
    Ok(d.iter().map(|b| format!("{b:02x}")).collect())
}

/// The entries of files already written in `dir`, in path order, each with its level.
pub fn entries(dir: &Path, files: &[(String, &str)]) -> Result<Vec<FileEntry>> {
    let mut out = Vec::new();
    for (path, level) in files {
        let full = dir.join(path);
        let bytes = std::fs::metadata(&full)
            .map_err(|e| Error::new(format!("cannot read {}: {e}", full.display())))?
            .len();
        out.push(FileEntry {
            path: path.clone(),
            level: level.to_string(),
            bytes,
            sha256: file_sha256(&full)?,
        });
    }
    out.sort_by(|a, b| a.path.cmp(&b.path));
    Ok(out)
}

/// An extraction read and checked: its manifest, its identity and its directory.
#[derive(Debug, Clone)]
pub struct Extraction {
    pub dir: PathBuf,
    pub manifest: Manifest,
    /// SHA-256 of `manifest.json`.
    pub id: String,
}

impl Extraction {
    /// Reads `dir` and checks that its files are exactly those its manifest lists, byte for
    /// byte; `approval.json` is the one file the manifest cannot list. The error names the
    /// extraction, the file and the problem.
    pub fn open(dir: &Path) -> Result<Extraction> {
        let name = dir.display();
        if !dir.is_dir() {
            return Err(Error::new(format!("{name} is not an extraction directory")));
        }
        let path = dir.join(MANIFEST);
        if !path.exists() {
            return Err(Error::new(format!(
                "{name} is not an extraction (no {MANIFEST})"
            )));
        }
        let (bytes, v) = read_json_file(&path, "an extraction manifest")?;
        check_format(&path, &v, FORMAT, "extractions")?;
        let manifest: Manifest = serde_json::from_value(v)
            .map_err(|e| Error::new(format!("{} is damaged: {e}", path.display())))?;
        let on_disk: Vec<String> = list_files(dir)?
            .into_iter()
            .filter(|f| f != MANIFEST && f != APPROVAL)
            .collect();
        let listed: BTreeMap<&str, &FileEntry> = manifest
            .files
            .iter()
            .map(|f| (f.path.as_str(), f))
            .collect();
        for f in &on_disk {
            if !listed.contains_key(f.as_str()) {
                return Err(Error::new(format!(
                    "{name}: {f} was added after the extraction was made (its manifest does not list it)"
                )));
            }
        }
        for (p, entry) in &listed {
            let full = dir.join(p);
            if !on_disk.iter().any(|f| f == p) {
                return Err(Error::new(format!(
                    "{name}: {p} was removed after the extraction was made"
                )));
            }
            let size = std::fs::metadata(&full).map(|m| m.len()).unwrap_or(0);
            if size != entry.bytes || file_sha256(&full)? != entry.sha256 {
                return Err(Error::new(format!(
                    "{name}: {p} was changed after the extraction was made (its SHA-256 differs from the manifest's)"
                )));
            }
        }
        Ok(Extraction {
            dir: dir.to_path_buf(),
            id: sha256(&bytes),
            manifest,
        })
    }

    /// The officer's decision, if one was recorded; it must be on exactly this extraction.
    pub fn approval(&self) -> Result<Option<Approval>> {
        let path = self.dir.join(APPROVAL);
        if !path.exists() {
            return Ok(None);
        }
        let (_, v) = read_json_file(&path, "an approval")?;
        check_format(&path, &v, APPROVAL_FORMAT, "approvals")?;
        let a: Approval = serde_json::from_value(v)
            .map_err(|e| Error::new(format!("{} is damaged: {e}", path.display())))?;
        if a.extraction != self.id || a.package != self.manifest.package {
            return Err(Error::new(format!(
                "{}: the approval is for another extraction (the files changed after the decision, or the approval was copied from elsewhere)",
                self.dir.display()
            )));
        }
        if a.hospital != self.manifest.hospital {
            return Err(Error::new(format!(
                "{}: the approval names hospital {}, the extraction {}",
                self.dir.display(),
                a.hospital,
                self.manifest.hospital
            )));
        }
        Ok(Some(a))
    }

    /// A patient-level or aggregate file's full path.
    pub fn path(&self, rel: &str) -> PathBuf {
        self.dir.join(rel)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn made(dir: &Path) -> Manifest {
        std::fs::create_dir_all(dir.join("analysis")).unwrap();
        std::fs::write(dir.join("analysis/a.txt"), "rows").unwrap();
        let m = Manifest {
            format: FORMAT.into(),
            package: "p".into(),
            study: "s".into(),
            hospital: "H01".into(),
            key: "k".into(),
            mid: "0".into(),
            data: DataOrigin {
                fingerprint: "f".into(),
                start: "2019-01-01".into(),
                end: "2019-12-31".into(),
            },
            files: entries(dir, &[("analysis/a.txt".into(), "patient")]).unwrap(),
        };
        std::fs::write(dir.join(MANIFEST), json_text(&m)).unwrap();
        m
    }

    #[test]
    fn an_extraction_verifies_and_any_change_is_named() {
        let d = tempfile::tempdir().unwrap();
        made(d.path());
        assert!(Extraction::open(d.path()).is_ok());
        std::fs::write(d.path().join("analysis/a.txt"), "ROWS").unwrap();
        let e = Extraction::open(d.path()).unwrap_err().to_string();
        assert!(e.contains("analysis/a.txt was changed"), "{e}");
        std::fs::write(d.path().join("analysis/a.txt"), "rows").unwrap();
        std::fs::write(d.path().join("extra.csv"), "x").unwrap();
        let e = Extraction::open(d.path()).unwrap_err().to_string();
        assert!(e.contains("extra.csv was added"), "{e}");
        std::fs::remove_file(d.path().join("extra.csv")).unwrap();
        std::fs::remove_file(d.path().join("analysis/a.txt")).unwrap();
        let e = Extraction::open(d.path()).unwrap_err().to_string();
        assert!(e.contains("analysis/a.txt was removed"), "{e}");
    }
}
