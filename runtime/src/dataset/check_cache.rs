//! Reusing the data checks' counts while a table's files are unchanged (runtime). A hospital
//! runs many scripts on one load of its data, and the checks' pass over the lab table is the
//! largest part of a short run (1.9 s of 6.2 s on the 1 M-patient network). The counts of a
//! check query are kept in the cache directory under a key of everything they depend on:
//! mid's and DataFusion's versions, the query's text, and each file of the table — its
//! path, size, modification and change times (nanoseconds), inode and device, and a SHA-256
//! of its last 64 KiB (a Parquet file's footer: row counts, column sizes and statistics). Any
//! rewrite of a file changes its change time, which no tool can set back, so a changed table
//! is checked again. A table's totals by hospital (rows, rows without a standard code: the
//! same for every script, `PlanKind::Totals`) are kept the same way, under a key that also
//! holds how the run reads the table (the rows the checks set aside). `MID_CHECK_CACHE=off`
//! turns the reuse off.

use std::io::{Read, Seek, SeekFrom};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

/// How many bytes of each file's end the key hashes.
const TAIL: u64 = 64 * 1024;

/// Whether reuse is on (`MID_CHECK_CACHE=off` turns it off).
fn enabled() -> bool {
    std::env::var("MID_CHECK_CACHE").map_or(true, |v| v != "off")
}

/// Every file under `source` (a directory, recursively, or one file), in path order.
fn files(source: &Path) -> std::io::Result<Vec<PathBuf>> {
    if source.is_file() {
        return Ok(vec![source.to_path_buf()]);
    }
    let mut out = Vec::new();
    for entry in std::fs::read_dir(source)? {
        let path = entry?.path();
        if path.is_dir() {
            out.extend(files(&path)?);
        } else {
            out.push(path);
        }
    }
    out.sort();
    Ok(out)
}

/// What identifies one file's bytes, fed to `h`.
fn identify(path: &Path, h: &mut Sha256) -> std::io::Result<()> {
    let mut f = std::fs::File::open(path)?;
    let m = f.metadata()?;
    h.update(path.as_os_str().as_encoded_bytes());
    for n in [
        m.len(),
        m.ino(),
        m.dev(),
        m.mtime() as u64,
        m.mtime_nsec() as u64,
        m.ctime() as u64,
        m.ctime_nsec() as u64,
    ] {
        h.update(n.to_le_bytes());
    }
    let tail = m.len().min(TAIL);
    f.seek(SeekFrom::End(-(tail as i64)))?;
    let mut buf = Vec::with_capacity(tail as usize);
    f.take(tail).read_to_end(&mut buf)?;
    h.update(&buf);
    Ok(())
}

/// The state of the files of the table whose rows are at `source`, read once per table and
/// shared by its queries' keys; `None` when reuse is off or a file cannot be read (the
/// queries then run).
pub fn files_state(source: &Path) -> Option<Vec<u8>> {
    if !enabled() {
        return None;
    }
    let source = std::path::absolute(source).ok()?;
    let files = files(&source).ok()?;
    let mut h = Sha256::new();
    h.update((files.len() as u64).to_le_bytes());
    for f in &files {
        identify(f, &mut h).ok()?;
    }
    Some(h.finalize().to_vec())
}

/// The key of a check query on a table whose files are in `state` (`files_state`).
pub fn key(state: &[u8], table: &str, sql: &str) -> String {
    let mut h = Sha256::new();
    h.update(b"mid data checks v1\0");
    for part in [
        env!("CARGO_PKG_VERSION"),
        datafusion::DATAFUSION_VERSION,
        table,
        sql,
    ] {
        h.update(part.as_bytes());
        h.update(b"\0");
    }
    h.update(state);
    h.finalize().iter().map(|b| format!("{b:02x}")).collect()
}

/// The directory the counts are kept in.
fn cache() -> Option<PathBuf> {
    Some(crate::dataset::demo::cache_dir().ok()?.join("checks"))
}

/// The counts kept under `key`, if any (an unreadable entry is no entry).
pub fn load(key: &str) -> Option<Vec<u64>> {
    load_in(&cache()?, key)
}

/// Keeps `counts` under `key`; a failure only costs the reuse.
pub fn store(key: &str, counts: &[u64]) {
    if let Some(dir) = cache() {
        store_in(&dir, key, &counts);
    }
}

/// The rows of a table's totals (`PlanKind::Totals`) kept under `key`, if any.
pub fn load_totals(key: &str) -> Option<Totals> {
    load_in(&cache()?, key)
}

/// Keeps a table's totals under `key`; a failure only costs the reuse.
pub fn store_totals(key: &str, totals: &Totals) {
    if let Some(dir) = cache() {
        store_in(&dir, key, totals);
    }
}

/// A table's totals by hospital as kept: each hospital and its counts, in the plan's
/// column order.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Totals {
    pub rows: Vec<(String, Vec<i64>)>,
}

fn load_in<T: serde::de::DeserializeOwned>(dir: &Path, key: &str) -> Option<T> {
    let text = std::fs::read_to_string(dir.join(format!("{key}.json"))).ok()?;
    serde_json::from_str(&text).ok()
}

/// Writes the entry whole or not at all (a temporary file renamed into place), so a
/// process that stops midway or runs alongside never leaves half an entry.
fn store_in<T: serde::Serialize + ?Sized>(dir: &Path, key: &str, value: &T) {
    use std::io::Write;
    if std::fs::create_dir_all(dir).is_err() {
        return;
    }
    let Ok(text) = serde_json::to_string(value) else {
        return;
    };
    if let Ok(mut tmp) = tempfile::NamedTempFile::new_in(dir)
        && tmp.write_all(text.as_bytes()).is_ok()
    {
        let _ = tmp.persist(dir.join(format!("{key}.json")));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_key_changes_with_the_query_and_with_any_rewrite_of_a_file() {
        let dir = tempfile::tempdir().expect("tmp");
        let table = dir.path().join("lab");
        std::fs::create_dir_all(table.join("sub")).expect("mkdir");
        std::fs::write(table.join("H01.parquet"), b"abc").expect("write");
        std::fs::write(table.join("sub").join("H02.parquet"), b"def").expect("write");
        let key_of = |sql: &str, name: &str| key(&files_state(&table).expect("state"), name, sql);
        let k = key_of("SELECT 1", "lab");
        assert_eq!(key_of("SELECT 1", "lab"), k);
        assert_ne!(key_of("SELECT 2", "lab"), k);
        assert_ne!(key_of("SELECT 1", "drug"), k);
        // The same bytes written again (same size, same content): the change time moves.
        std::thread::sleep(std::time::Duration::from_millis(20));
        std::fs::write(table.join("sub").join("H02.parquet"), b"def").expect("write");
        let k2 = key_of("SELECT 1", "lab");
        assert_ne!(k2, k);
        // A new file in the table.
        std::fs::write(table.join("H03.parquet"), b"").expect("write");
        assert_ne!(key_of("SELECT 1", "lab"), k2);
    }

    #[test]
    fn counts_are_kept_and_read_back() {
        let dir = tempfile::tempdir().expect("tmp");
        let checks = dir.path().join("checks");
        store_in(&checks, "k1", &[3u64, 0, 7]);
        assert_eq!(load_in::<Vec<u64>>(&checks, "k1"), Some(vec![3, 0, 7]));
        assert_eq!(load_in::<Vec<u64>>(&checks, "k2"), None);
        std::fs::write(checks.join("k3.json"), "[1,").expect("write");
        assert_eq!(load_in::<Vec<u64>>(&checks, "k3"), None);
        let totals = Totals {
            rows: vec![("H01".into(), vec![12, 0]), ("H02".into(), vec![30, 4])],
        };
        store_in(&checks, "t1", &totals);
        assert_eq!(load_in::<Totals>(&checks, "t1"), Some(totals));
    }
}
