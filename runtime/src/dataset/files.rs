//! Finding a CDM table's files (runtime): the Parquet files of a table directory, in name
//! order, and a file's schema read from its footer.

use std::collections::BTreeMap;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow::datatypes::SchemaRef;
use mid_cdm::Table;
use parquet::arrow::parquet_to_arrow_schema;
use parquet::file::reader::{FileReader, SerializedFileReader};

/// The Parquet files of a table directory, in name order.
pub fn parquet_files(dir: &Path) -> std::io::Result<Vec<PathBuf>> {
    let mut out: Vec<PathBuf> = std::fs::read_dir(dir)?
        .filter_map(|e| e.ok())
        .map(|e| e.path())
        .filter(|p| p.is_file() && p.extension().is_some_and(|x| x == "parquet"))
        .collect();
    out.sort();
    Ok(out)
}

/// A Parquet file's Arrow schema, from its footer.
pub fn file_schema(path: &Path) -> Result<SchemaRef, String> {
    let file = File::open(path).map_err(|e| e.to_string())?;
    let reader = SerializedFileReader::new(file)
        .map_err(|e| format!("not a readable Parquet file ({e})"))?;
    let meta = reader.metadata().file_metadata();
    let schema = parquet_to_arrow_schema(meta.schema_descr(), meta.key_value_metadata())
        .map_err(|e| e.to_string())?;
    Ok(Arc::new(schema))
}

/// The least and greatest hospital id of a file's rows, as bytes (Parquet's order).
type Range = (Vec<u8>, Vec<u8>);

/// Each CDM table's files with the hospitals their rows can be of, from the row groups'
/// statistics of `hospital_id` in the footers: a hospital's rows are in the files whose
/// range holds it, and a session for one hospital need not open the others (the feasibility
/// request opens one per hospital).
#[derive(Debug, Default)]
pub struct HospitalFiles {
    /// Per table, each file with the least and greatest hospital id of its rows; `None`
    /// when a row group has no statistics for it (the file may hold any hospital).
    tables: BTreeMap<Table, Vec<(PathBuf, Option<Range>)>>,
}

impl HospitalFiles {
    /// Reads the footers of every table's files under `dir`.
    pub fn read(dir: &Path) -> Result<HospitalFiles, String> {
        let mut tables = BTreeMap::new();
        for t in Table::ALL {
            let tdir = dir.join(t.name());
            let Ok(files) = parquet_files(&tdir) else {
                continue;
            };
            let mut ranged = Vec::new();
            for f in files {
                let range = hospital_range(&f).map_err(|e| format!("{}: {e}", f.display()))?;
                ranged.push((f, range));
            }
            tables.insert(t, ranged);
        }
        Ok(HospitalFiles { tables })
    }

    /// Each table's files that can hold rows of `hospital`.
    pub fn of(&self, hospital: &str) -> BTreeMap<Table, Vec<PathBuf>> {
        let h = hospital.as_bytes();
        self.tables
            .iter()
            .map(|(t, files)| {
                let kept = files
                    .iter()
                    .filter(|(_, range)| {
                        range
                            .as_ref()
                            .is_none_or(|(lo, hi)| lo.as_slice() <= h && h <= hi.as_slice())
                    })
                    .map(|(f, _)| f.clone())
                    .collect();
                (*t, kept)
            })
            .collect()
    }
}

/// The least and greatest `hospital_id` of a file's rows, from its row groups' statistics
/// (bounds, so truncated values still hold every id); `None` when a row group with rows has
/// none, or the file has no such column. A row group of nulls only holds no hospital.
fn hospital_range(path: &Path) -> Result<Option<Range>, String> {
    let file = File::open(path).map_err(|e| e.to_string())?;
    let reader = SerializedFileReader::new(file)
        .map_err(|e| format!("not a readable Parquet file ({e})"))?;
    let meta = reader.metadata();
    let Some(i) = meta
        .file_metadata()
        .schema_descr()
        .columns()
        .iter()
        .position(|c| c.path().string() == "hospital_id")
    else {
        return Ok(None);
    };
    let mut range: Option<Range> = None;
    for rg in meta.row_groups() {
        let stats = rg.column(i).statistics();
        let bounds = stats.and_then(|s| Some((s.min_bytes_opt()?, s.max_bytes_opt()?)));
        match bounds {
            Some((lo, hi)) => {
                range = Some(match range {
                    None => (lo.to_vec(), hi.to_vec()),
                    Some((a, b)) => (a.min(lo.to_vec()), b.max(hi.to_vec())),
                });
            }
            None if stats.and_then(|s| s.null_count_opt()) == Some(rg.num_rows() as u64) => {}
            None => return Ok(None),
        }
    }
    // No row holds a hospital: an empty range.
    Ok(Some(range.unwrap_or_else(|| (vec![0xff], vec![]))))
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow::array::{Int64Array, RecordBatch, StringArray};
    use arrow::datatypes::{DataType, Field, Schema};
    use parquet::arrow::ArrowWriter;
    use parquet::file::properties::{EnabledStatistics, WriterProperties};

    fn write(path: &Path, hospitals: &[Option<&str>], statistics: bool) {
        let schema = Arc::new(Schema::new(vec![
            Field::new("hospital_id", DataType::Utf8, true),
            Field::new("patient_id", DataType::Int64, false),
        ]));
        let batch = RecordBatch::try_new(
            schema.clone(),
            vec![
                Arc::new(StringArray::from(hospitals.to_vec())),
                Arc::new(Int64Array::from_iter_values(0..hospitals.len() as i64)),
            ],
        )
        .unwrap();
        let props = WriterProperties::builder()
            .set_statistics_enabled(if statistics {
                EnabledStatistics::Chunk
            } else {
                EnabledStatistics::None
            })
            .set_max_row_group_row_count(Some(2))
            .build();
        let mut w = ArrowWriter::try_new(File::create(path).unwrap(), schema, Some(props)).unwrap();
        w.write(&batch).unwrap();
        w.close().unwrap();
    }

    #[test]
    fn a_hospital_is_in_the_files_whose_statistics_hold_it() {
        let dir = tempfile::tempdir().unwrap();
        let lab = dir.path().join("lab");
        std::fs::create_dir(&lab).unwrap();
        // Row groups of two rows: H01..H02, H04, and one of nulls only.
        write(
            &lab.join("a.parquet"),
            &[
                Some("H01"),
                Some("H02"),
                Some("H04"),
                Some("H04"),
                None,
                None,
            ],
            true,
        );
        write(&lab.join("b.parquet"), &[Some("H03")], true);
        write(&lab.join("c.parquet"), &[Some("H09")], false);
        write(&lab.join("d.parquet"), &[None], true);
        let index = HospitalFiles::read(dir.path()).unwrap();
        let names = |h: &str| -> Vec<String> {
            index.of(h)[&Table::Lab]
                .iter()
                .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
                .collect()
        };
        // H03 is inside a's range (H01..H04): a range, not a list, so a is read.
        assert_eq!(names("H03"), ["a.parquet", "b.parquet", "c.parquet"]);
        assert_eq!(names("H01"), ["a.parquet", "c.parquet"]);
        assert_eq!(names("H05"), ["c.parquet"]);
        assert!(!index.of("H01").contains_key(&Table::Drug));
    }
}
