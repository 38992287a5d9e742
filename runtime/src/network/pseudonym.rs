//! Keyed pseudonyms (runtime, network): at a hospital, every `patient_id` and `visit_id` that
//! leaves is replaced by HMAC-SHA-256 under the site's secret key, a key that never leaves the
//! site. The same key gives the same pseudonym for the same patient in every table of an
//! extraction (so the data center can join them), and nobody without the key can link a
//! pseudonym to a patient or a patient across hospitals. Only the key's fingerprint (an HMAC
//! of a fixed text) leaves, so the data center can see two hospitals using one key.

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;

use arrow::array::{Array, ArrayRef, Int64Array, RecordBatch, StringArray};
use arrow::datatypes::DataType;
use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

use crate::error::{Error, Result};

/// The bytes of a site key.
const KEY_BYTES: usize = 32;
/// The columns replaced by pseudonyms: the identifiers of patients and of visits.
pub const ID_COLUMNS: [&str; 2] = ["patient_id", "visit_id"];

/// A site's secret key.
pub struct Key {
    bytes: Vec<u8>,
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

impl Key {
    /// Writes a new key of OS randomness to `path` (64 hex digits), readable only by its
    /// owner; an existing file is never replaced.
    pub fn generate(path: &Path) -> Result<()> {
        use std::io::Write;
        let mut bytes = [0u8; KEY_BYTES];
        getrandom::fill(&mut bytes)
            .map_err(|e| Error::new(format!("cannot draw a random key: {e}")))?;
        let mut open = std::fs::OpenOptions::new();
        open.write(true).create_new(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            open.mode(0o600);
        }
        let mut f = open.open(path).map_err(|e| {
            Error::new(format!(
                "cannot create the key file {}: {e}{}",
                path.display(),
                if e.kind() == std::io::ErrorKind::AlreadyExists {
                    " (mid never replaces a key: pseudonyms made with it could no longer be matched)"
                } else {
                    ""
                }
            ))
        })?;
        writeln!(f, "{}", hex(&bytes))
            .and_then(|_| f.sync_all())
            .map_err(|e| Error::context(format!("cannot write {}", path.display()), e))
    }

    /// Reads a key file: 64 or more hex digits.
    pub fn read(path: &Path) -> Result<Key> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| Error::new(format!("cannot read the site key {}: {e}", path.display())))?;
        let t = text.trim();
        let bad = || {
            Error::new(format!(
                "{} is not a site key (64 hex digits; `mid site key --out FILE` makes one)",
                path.display()
            ))
        };
        if t.len() < 2 * KEY_BYTES || t.len() % 2 != 0 || t.len() > 1024 {
            return Err(bad());
        }
        let bytes = (0..t.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&t[i..i + 2], 16))
            .collect::<std::result::Result<Vec<u8>, _>>()
            .map_err(|_| bad())?;
        Ok(Key { bytes })
    }

    fn mac(&self) -> Hmac<Sha256> {
        <Hmac<Sha256> as KeyInit>::new_from_slice(&self.bytes).expect("HMAC takes any key length")
    }

    /// What identifies the key without revealing it: HMAC of a fixed text, hex.
    pub fn fingerprint(&self) -> String {
        let mut m = self.mac();
        m.update(b"mid site key fingerprint v1");
        hex(&m.finalize().into_bytes())
    }

    /// The pseudonym of one identifier: a non-negative Int64 from the HMAC of the column,
    /// the hospital and the identifier.
    pub fn pseudonym(&self, column: &str, hospital: &str, id: i64) -> i64 {
        let mut m = self.mac();
        m.update(column.as_bytes());
        m.update(b"\0");
        m.update(hospital.as_bytes());
        m.update(b"\0");
        m.update(&id.to_le_bytes());
        let out = m.finalize().into_bytes();
        let mut first = [0u8; 8];
        first.copy_from_slice(&out[..8]);
        (u64::from_le_bytes(first) >> 1) as i64
    }
}

/// Replaces identifiers by pseudonyms across all the tables of one extraction, checking that
/// no two identifiers share a pseudonym.
pub struct Pseudonymiser<'k> {
    key: &'k Key,
    /// Per column, each pseudonym and the identifier it stands for.
    seen: HashMap<(&'static str, String), HashMap<i64, i64>>,
}

impl<'k> Pseudonymiser<'k> {
    pub fn new(key: &'k Key) -> Self {
        Pseudonymiser {
            key,
            seen: HashMap::new(),
        }
    }

    /// The batch with every identifier column replaced; `hospital_id` is kept (and needed).
    pub fn apply(&mut self, table: &str, b: &RecordBatch) -> Result<RecordBatch> {
        let schema = b.schema();
        let mut columns: Vec<ArrayRef> = b.columns().to_vec();
        let ids: Vec<usize> = schema
            .fields()
            .iter()
            .enumerate()
            .filter(|(_, f)| ID_COLUMNS.contains(&f.name().as_str()))
            .map(|(i, _)| i)
            .collect();
        if ids.is_empty() {
            return Ok(b.clone());
        }
        let hospital = b.column_by_name("hospital_id").ok_or_else(|| {
            Error::new(format!("`{table}` has no hospital_id to pseudonymise by"))
        })?;
        let hospital = arrow::compute::cast(hospital, &DataType::Utf8)
            .map_err(|e| Error::context(format!("`{table}`.hospital_id"), e))?;
        let hospital = hospital
            .as_any()
            .downcast_ref::<StringArray>()
            .ok_or_else(|| Error::new(format!("`{table}`.hospital_id is not text")))?;
        for i in ids {
            let column: &'static str = ID_COLUMNS
                .iter()
                .find(|c| **c == schema.field(i).name())
                .copied()
                .unwrap_or("patient_id");
            let ids = arrow::compute::cast(&columns[i], &DataType::Int64)
                .map_err(|e| Error::context(format!("`{table}`.{column}"), e))?;
            let ids = ids
                .as_any()
                .downcast_ref::<Int64Array>()
                .ok_or_else(|| Error::new(format!("`{table}`.{column} is not a number")))?;
            let mut out = Vec::with_capacity(ids.len());
            for r in 0..ids.len() {
                if ids.is_null(r) {
                    out.push(None);
                    continue;
                }
                if hospital.is_null(r) {
                    return Err(Error::new(format!(
                        "`{table}` has a row without hospital_id: it cannot be pseudonymised"
                    )));
                }
                let (h, id) = (hospital.value(r), ids.value(r));
                let p = self.key.pseudonym(column, h, id);
                let seen = self.seen.entry((column, h.to_string())).or_default();
                match seen.insert(p, id) {
                    Some(other) if other != id => {
                        return Err(Error::new(format!(
                            "two {column}s of {h} have the same pseudonym; this key cannot be used (make a new one with `mid site key`)"
                        )));
                    }
                    _ => {}
                }
                out.push(Some(p));
            }
            columns[i] = Arc::new(Int64Array::from(out));
        }
        let fields: Vec<_> = schema
            .fields()
            .iter()
            .zip(&columns)
            .map(|(f, c)| f.as_ref().clone().with_data_type(c.data_type().clone()))
            .collect();
        RecordBatch::try_new(
            Arc::new(
                arrow::datatypes::Schema::new(fields).with_metadata(schema.metadata().clone()),
            ),
            columns,
        )
        .map_err(|e| Error::context(format!("pseudonymising `{table}`"), e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(byte: u8) -> Key {
        Key {
            bytes: vec![byte; KEY_BYTES],
        }
    }

    #[test]
    fn pseudonyms_depend_on_key_hospital_and_column() {
        let (a, b) = (key(1), key(2));
        let p = a.pseudonym("patient_id", "H01", 42);
        assert_eq!(p, a.pseudonym("patient_id", "H01", 42));
        assert!(p >= 0);
        assert_ne!(p, b.pseudonym("patient_id", "H01", 42));
        assert_ne!(p, a.pseudonym("patient_id", "H02", 42));
        assert_ne!(p, a.pseudonym("visit_id", "H01", 42));
        assert_ne!(p, a.pseudonym("patient_id", "H01", 43));
        assert_ne!(a.fingerprint(), b.fingerprint());
        assert_eq!(a.fingerprint(), key(1).fingerprint());
    }

    #[test]
    fn a_batch_is_pseudonymised_consistently_and_keeps_the_hospital() {
        let k = key(7);
        let schema = Arc::new(arrow::datatypes::Schema::new(vec![
            arrow::datatypes::Field::new("hospital_id", DataType::Utf8, false),
            arrow::datatypes::Field::new("patient_id", DataType::Int64, false),
            arrow::datatypes::Field::new("value", DataType::Int64, true),
        ]));
        let b = RecordBatch::try_new(
            schema,
            vec![
                Arc::new(StringArray::from(vec!["H01", "H01", "H01"])),
                Arc::new(Int64Array::from(vec![5, 6, 5])),
                Arc::new(Int64Array::from(vec![1, 2, 3])),
            ],
        )
        .unwrap();
        let mut p = Pseudonymiser::new(&k);
        let out = p.apply("t", &b).unwrap();
        let ids = out.column(1).as_any().downcast_ref::<Int64Array>().unwrap();
        assert_eq!(ids.value(0), ids.value(2));
        assert_ne!(ids.value(0), ids.value(1));
        assert_ne!(ids.value(0), 5);
        assert_eq!(out.column(0), b.column(0));
        assert_eq!(out.column(2), b.column(2));
    }

    #[test]
    fn key_files_are_checked() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("site.key");
        Key::generate(&path).unwrap();
        let k = Key::read(&path).unwrap();
        assert_eq!(k.bytes.len(), KEY_BYTES);
        assert!(Key::generate(&path).is_err(), "a key is never replaced");
        std::fs::write(&path, "abc\n").unwrap();
        assert!(Key::read(&path).is_err());
    }
}
