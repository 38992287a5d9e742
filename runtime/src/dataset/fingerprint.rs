//! Fingerprints of a data set's files (runtime), computed as `mid synth` computes them
//! while writing (`mid_cdm::manifest`), so a reader can verify a manifest.

use std::fs::File;
use std::io::Read;
use std::path::Path;

use sha2::{Digest, Sha256};

use crate::error::{Error, Result};

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

/// The fingerprint of a table's files (relative paths under `dir`, in name order).
pub fn fingerprint_files(dir: &Path, files: &[String]) -> Result<String> {
    let mut digests = Vec::with_capacity(files.len());
    for f in files {
        digests.push((f.clone(), file_digest(&dir.join(f))?));
    }
    Ok(mid_cdm::manifest::table_fingerprint(&digests))
}
