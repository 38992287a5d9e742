//! Whether a data set's files are still the ones its manifest describes (runtime). Every run
//! checks cheaply — the tables' file lists, the row counts in the Parquet footers and the file
//! sizes against `manifest.json` — and `--verify` recomputes every file's SHA-256 against the
//! manifest's fingerprints. Only a data set that passed is recorded in `run.json` under its
//! manifest's fingerprint.

use std::path::Path;

use mid_cdm::Table;
use mid_cdm::manifest::Manifest;
use parquet::file::reader::{FileReader, SerializedFileReader};

use super::files::parquet_files;
use super::fingerprint::fingerprint_files;

/// How far the files were checked against the manifest.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub enum Checked {
    /// File lists, footer row counts and sizes match (a change inside a file's pages that
    /// keeps its size is not seen: `--verify` sees it).
    #[serde(rename = "file_lists_sizes_and_row_counts")]
    Cheaply,
    /// And every file's SHA-256 matches the fingerprints.
    #[serde(rename = "sha256_of_every_file")]
    Fully,
}

/// Checks the files of `tables` against the manifest; every mismatch is a message naming the
/// table and file.
pub fn verify(
    dir: &Path,
    manifest: &Manifest,
    tables: &[Table],
    full: bool,
) -> Result<Checked, Vec<String>> {
    let mut problems = Vec::new();
    for t in tables {
        let Some(entry) = manifest.tables.get(t.name()) else {
            problems.push(format!("manifest.json lists no table `{t}`"));
            continue;
        };
        let on_disk: Vec<String> = match parquet_files(&dir.join(t.name())) {
            Ok(files) => files
                .iter()
                .filter_map(|p| p.file_name()?.to_str().map(|n| format!("{t}/{n}")))
                .collect(),
            Err(e) => {
                problems.push(format!("cannot list {t}/: {e}"));
                continue;
            }
        };
        if on_disk != entry.files {
            problems.push(format!(
                "table `{t}`: the files are {:?}, manifest.json lists {:?}",
                on_disk, entry.files
            ));
            continue;
        }
        let mut rows = 0u64;
        for (i, f) in entry.files.iter().enumerate() {
            let path = dir.join(f);
            let size = std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0);
            if let Some(want) = entry.bytes.get(i)
                && *want != size
            {
                problems.push(format!(
                    "{f}: {size} bytes, manifest.json says {want}: the file changed since the manifest was written"
                ));
            }
            match std::fs::File::open(&path)
                .map_err(|e| e.to_string())
                .and_then(|file| SerializedFileReader::new(file).map_err(|e| e.to_string()))
            {
                Ok(r) => rows += r.metadata().file_metadata().num_rows().max(0) as u64,
                Err(e) => problems.push(format!("{f}: not a readable Parquet file ({e})")),
            }
        }
        if rows != entry.rows {
            problems.push(format!(
                "table `{t}`: {rows} rows in the files, manifest.json says {}: the data changed since the manifest was written",
                entry.rows
            ));
        }
        if full && problems.is_empty() {
            match fingerprint_files(dir, &entry.files) {
                Ok(fp) if fp == entry.fingerprint => {}
                Ok(_) => problems.push(format!(
                    "table `{t}`: the files' SHA-256 differ from manifest.json's fingerprint: the data changed since the manifest was written"
                )),
                Err(e) => problems.push(e.to_string()),
            }
        }
    }
    if problems.is_empty() {
        Ok(if full {
            Checked::Fully
        } else {
            Checked::Cheaply
        })
    } else {
        Err(problems)
    }
}
