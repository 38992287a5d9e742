//! Output side of the generator: Arrow builders for one chunk of patients, and Parquet
//! writers with reproducible bytes that hash what they write (no second read).

use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow::array::{
    Array, ArrayRef, BooleanBuilder, Date32Builder, Float64Builder, Int32Builder, Int64Builder,
    RecordBatch, StringBuilder,
};
use arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use mid_cdm::Table;
use parquet::arrow::ArrowWriter;
use parquet::basic::Compression;
use parquet::file::properties::{EnabledStatistics, WriterProperties, WriterVersion};
use sha2::{Digest, Sha256};

use crate::{Error, Result};

/// Rows per Parquet row group: bounded so a writer's buffer stays small whatever N is.
pub const ROW_GROUP_ROWS: usize = 256 * 1024;

/// The schema of `truth/truth.parquet` (outside the six CDM tables).
pub fn truth_schema() -> SchemaRef {
    Arc::new(Schema::new(vec![
        Field::new("hospital_id", DataType::Utf8, false),
        Field::new("patient_id", DataType::Int64, false),
        Field::new("outcome", DataType::Utf8, false),
        Field::new("role", DataType::Utf8, false),
        Field::new("kind", DataType::Utf8, false),
        Field::new("date", DataType::Date32, false),
    ]))
}

/// Rows per data page of a clustered table (the Arrow C++ writer's default): small enough
/// that a code's rows fill few pages of each column, so a reader skips the others.
pub const PAGE_ROWS: usize = 20_000;

/// The column a table's rows are clustered by within each row group, when it has one: the
/// code the scripts select rows by. A read of one lab item (or drug, or diagnosis) then
/// finds its rows in a few pages of each row group, which the page index lets the Parquet
/// reader skip to; in patient order they were spread over every page (q1 on the 1 M
/// network: 3.5 s → 1.5 s). The row groups themselves keep their patients, so their
/// statistics still narrow a read to the patients it needs.
pub fn cluster_column(table: Table) -> Option<&'static str> {
    match table {
        Table::Lab => Some("analyte"),
        Table::Drug => Some("yj_code"),
        Table::Diagnosis => Some("icd10"),
        Table::Patient | Table::Visit | Table::Procedure => None,
    }
}

/// Writer properties fixed explicitly so the same rows give the same bytes everywhere; a
/// clustered table also gets page statistics (the page index) and bounded pages.
pub fn writer_properties(clustered: bool) -> WriterProperties {
    let b = WriterProperties::builder()
        .set_writer_version(WriterVersion::PARQUET_1_0)
        .set_compression(Compression::SNAPPY)
        .set_dictionary_enabled(true)
        .set_statistics_enabled(EnabledStatistics::Chunk)
        .set_max_row_group_row_count(Some(ROW_GROUP_ROWS))
        .set_max_row_group_bytes(None)
        .set_data_page_size_limit(1024 * 1024)
        .set_write_batch_size(1024)
        .set_created_by(format!("mid synth {}", env!("CARGO_PKG_VERSION")));
    let b = if clustered {
        b.set_statistics_enabled(EnabledStatistics::Page)
            .set_data_page_row_count_limit(PAGE_ROWS)
    } else {
        b
    };
    b.build()
}

/// The first `n` rows of `batches` (in order) ordered by `column` (nulls last), built
/// straight from them: a stable sort, so rows of one code keep their patient order and the
/// same rows give the same order everywhere.
pub fn clustered(batches: &[RecordBatch], n: usize, column: &str) -> Result<RecordBatch> {
    let codes = batches
        .iter()
        .map(|b| {
            b.column_by_name(column)
                .and_then(|a| a.as_any().downcast_ref::<arrow::array::StringArray>())
                .ok_or_else(|| {
                    Error::new(format!("internal: no text column `{column}` to cluster by"))
                })
        })
        .collect::<Result<Vec<_>>>()?;
    let mut order: Vec<(usize, usize)> = batches
        .iter()
        .enumerate()
        .flat_map(|(b, batch)| (0..batch.num_rows()).map(move |r| (b, r)))
        .take(n)
        .collect();
    let key = |&(b, r): &(usize, usize)| {
        let codes = codes[b];
        (codes.is_null(r), codes.is_valid(r).then(|| codes.value(r)))
    };
    order.sort_by(|x, y| key(x).cmp(&key(y)));
    let refs: Vec<&RecordBatch> = batches.iter().collect();
    arrow::compute::interleave_record_batch(&refs, &order)
        .map_err(|e| Error::new(format!("internal: cannot order rows by `{column}`: {e}")))
}

/// A `Write` that forwards to a file and feeds every byte to a file digest and a
/// table digest (the table digest runs over all files of the table in name order).
pub struct HashingFile {
    inner: BufWriter<File>,
    file_hash: Sha256,
    bytes: u64,
}

impl Write for HashingFile {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.file_hash.update(&buf[..n]);
        self.bytes += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

pub fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push(DIGITS[usize::from(b >> 4)] as char);
        s.push(DIGITS[usize::from(b & 15)] as char);
    }
    s
}

/// What one written file contributed.
pub struct WrittenFile {
    pub relative: String,
    pub rows: u64,
    pub bytes: u64,
    pub digest: Vec<u8>,
}

/// One Parquet file being written.
pub struct ParquetFile {
    writer: ArrowWriter<HashingFile>,
    relative: String,
    path: PathBuf,
    rows: u64,
    /// The column rows are clustered by within a row group, and the rows of the row group
    /// not yet written.
    cluster: Option<(&'static str, Vec<RecordBatch>, usize)>,
}

impl ParquetFile {
    /// A file of `schema` at `root/relative`, its rows clustered by `cluster` within each
    /// row group when given.
    pub fn create(
        root: &Path,
        relative: &str,
        schema: SchemaRef,
        cluster: Option<&'static str>,
    ) -> Result<ParquetFile> {
        let path = root.join(relative);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)
                .map_err(|e| Error::context(format!("cannot create {}", parent.display()), e))?;
        }
        let file = File::create(&path)
            .map_err(|e| Error::context(format!("cannot create {}", path.display()), e))?;
        let sink = HashingFile {
            inner: BufWriter::with_capacity(1 << 20, file),
            file_hash: Sha256::new(),
            bytes: 0,
        };
        let props = writer_properties(cluster.is_some());
        let writer = ArrowWriter::try_new(sink, schema, Some(props))
            .map_err(|e| Error::context(format!("cannot write {}", path.display()), e))?;
        Ok(ParquetFile {
            writer,
            relative: relative.to_string(),
            path,
            rows: 0,
            cluster: cluster.map(|c| (c, Vec::new(), 0)),
        })
    }

    pub fn write(&mut self, batch: &RecordBatch) -> Result<()> {
        self.rows += batch.num_rows() as u64;
        let Some((column, pending, rows)) = self.cluster.as_mut() else {
            return self.put(batch);
        };
        pending.push(batch.clone());
        *rows += batch.num_rows();
        // Whole row groups: each one's rows ordered by the column and written as exactly
        // one group (the writer closes a group at ROW_GROUP_ROWS rows); the rest waits, as
        // slices of the batches it came in.
        let column = *column;
        let mut groups = Vec::new();
        while *rows >= ROW_GROUP_ROWS {
            groups.push(clustered(pending, ROW_GROUP_ROWS, column)?);
            let mut skip = ROW_GROUP_ROWS;
            let mut rest = Vec::new();
            for b in pending.drain(..) {
                if skip >= b.num_rows() {
                    skip -= b.num_rows();
                } else {
                    rest.push(b.slice(skip, b.num_rows() - skip));
                    skip = 0;
                }
            }
            *pending = rest;
            *rows -= ROW_GROUP_ROWS;
        }
        for g in &groups {
            self.put(g)?;
        }
        Ok(())
    }

    fn put(&mut self, batch: &RecordBatch) -> Result<()> {
        self.writer
            .write(batch)
            .map_err(|e| Error::context(format!("cannot write {}", self.path.display()), e))
    }

    pub fn finish(mut self) -> Result<WrittenFile> {
        if let Some((column, pending, rows)) = self.cluster.take()
            && rows > 0
        {
            self.put(&clustered(&pending, rows, column)?)?;
        }
        let path = self.path;
        let sink = self
            .writer
            .into_inner()
            .map_err(|e| Error::context(format!("cannot finish {}", path.display()), e))?;
        let HashingFile {
            inner,
            file_hash,
            bytes,
        } = sink;
        let file = inner
            .into_inner()
            .map_err(|e| Error::context(format!("cannot flush {}", path.display()), e.error()))?;
        file.sync_all()
            .map_err(|e| Error::context(format!("cannot sync {}", path.display()), e))?;
        Ok(WrittenFile {
            relative: self.relative,
            rows: self.rows,
            bytes,
            digest: file_hash.finalize().to_vec(),
        })
    }
}

/// Builders of the patient table.
#[derive(Default)]
pub struct PatientRows {
    pub hospital_id: StringBuilder,
    pub patient_id: Int64Builder,
    pub sex: StringBuilder,
    pub birth_date: Date32Builder,
    pub first_record_date: Date32Builder,
    pub last_record_date: Date32Builder,
    pub death_date: Date32Builder,
}

#[derive(Default)]
pub struct VisitRows {
    pub hospital_id: StringBuilder,
    pub patient_id: Int64Builder,
    pub visit_id: Int64Builder,
    pub kind: StringBuilder,
    pub department: StringBuilder,
    pub start_date: Date32Builder,
    pub end_date: Date32Builder,
    pub discharge_status: StringBuilder,
}

#[derive(Default)]
pub struct DiagnosisRows {
    pub hospital_id: StringBuilder,
    pub patient_id: Int64Builder,
    pub source: StringBuilder,
    pub date: Date32Builder,
    pub icd10: StringBuilder,
    pub medis_code: StringBuilder,
    pub local_code: StringBuilder,
    pub suspected: BooleanBuilder,
    pub main: BooleanBuilder,
    pub dpc_category: StringBuilder,
    pub visit_id: Int64Builder,
    pub claim_month: Int32Builder,
}

#[derive(Default)]
pub struct DrugRows {
    pub hospital_id: StringBuilder,
    pub patient_id: Int64Builder,
    pub kind: StringBuilder,
    pub record: StringBuilder,
    pub setting: StringBuilder,
    pub date: Date32Builder,
    pub days_supply: Int32Builder,
    pub end_date: Date32Builder,
    pub yj_code: StringBuilder,
    pub hot9: StringBuilder,
    pub receipt_code: StringBuilder,
    pub local_code: StringBuilder,
    pub generic_name_only: BooleanBuilder,
    pub product_kind: StringBuilder,
    pub dose: Float64Builder,
    pub dose_unit: StringBuilder,
    pub visit_id: Int64Builder,
}

#[derive(Default)]
pub struct LabRows {
    pub hospital_id: StringBuilder,
    pub patient_id: Int64Builder,
    pub date: Date32Builder,
    pub jlac10: StringBuilder,
    pub analyte: StringBuilder,
    pub specimen: StringBuilder,
    pub local_code: StringBuilder,
    pub value: Float64Builder,
    pub value_text: StringBuilder,
    pub unit: StringBuilder,
    pub ref_low: Float64Builder,
    pub ref_high: Float64Builder,
    pub flag: StringBuilder,
    pub setting: StringBuilder,
}

#[derive(Default)]
pub struct ProcedureRows {
    pub hospital_id: StringBuilder,
    pub patient_id: Int64Builder,
    pub source: StringBuilder,
    pub category: StringBuilder,
    pub code_system: StringBuilder,
    pub code: StringBuilder,
    pub date: Date32Builder,
    pub visit_id: Int64Builder,
}

#[derive(Default)]
pub struct TruthRows {
    pub hospital_id: StringBuilder,
    pub patient_id: Int64Builder,
    pub outcome: StringBuilder,
    pub role: StringBuilder,
    pub kind: StringBuilder,
    pub date: Date32Builder,
}

/// All rows generated for one chunk of patients.
#[derive(Default)]
pub struct ChunkRows {
    pub patient: PatientRows,
    pub visit: VisitRows,
    pub diagnosis: DiagnosisRows,
    pub drug: DrugRows,
    pub lab: LabRows,
    pub procedure: ProcedureRows,
    pub truth: TruthRows,
}

fn batch(schema: SchemaRef, columns: Vec<ArrayRef>) -> RecordBatch {
    RecordBatch::try_new(schema, columns)
        .expect("the generator's builders follow the contract schema column for column")
}

macro_rules! finish {
    ($($b:expr),+) => { vec![$(Arc::new($b.finish()) as ArrayRef),+] };
}

/// Finished batches of one chunk: six CDM tables in contract order, then the truth table.
pub struct ChunkBatches {
    pub tables: [RecordBatch; 6],
    pub truth: RecordBatch,
    pub patients: u64,
}

impl ChunkRows {
    pub fn finish(mut self, patients: u64) -> ChunkBatches {
        let p = &mut self.patient;
        let patient = batch(
            Table::Patient.schema(),
            finish!(
                p.hospital_id,
                p.patient_id,
                p.sex,
                p.birth_date,
                p.first_record_date,
                p.last_record_date,
                p.death_date
            ),
        );
        let v = &mut self.visit;
        let visit = batch(
            Table::Visit.schema(),
            finish!(
                v.hospital_id,
                v.patient_id,
                v.visit_id,
                v.kind,
                v.department,
                v.start_date,
                v.end_date,
                v.discharge_status
            ),
        );
        let d = &mut self.diagnosis;
        let diagnosis = batch(
            Table::Diagnosis.schema(),
            finish!(
                d.hospital_id,
                d.patient_id,
                d.source,
                d.date,
                d.icd10,
                d.medis_code,
                d.local_code,
                d.suspected,
                d.main,
                d.dpc_category,
                d.visit_id,
                d.claim_month
            ),
        );
        let r = &mut self.drug;
        let drug = batch(
            Table::Drug.schema(),
            finish!(
                r.hospital_id,
                r.patient_id,
                r.kind,
                r.record,
                r.setting,
                r.date,
                r.days_supply,
                r.end_date,
                r.yj_code,
                r.hot9,
                r.receipt_code,
                r.local_code,
                r.generic_name_only,
                r.product_kind,
                r.dose,
                r.dose_unit,
                r.visit_id
            ),
        );
        let l = &mut self.lab;
        let lab = batch(
            Table::Lab.schema(),
            finish!(
                l.hospital_id,
                l.patient_id,
                l.date,
                l.jlac10,
                l.analyte,
                l.specimen,
                l.local_code,
                l.value,
                l.value_text,
                l.unit,
                l.ref_low,
                l.ref_high,
                l.flag,
                l.setting
            ),
        );
        let q = &mut self.procedure;
        let procedure = batch(
            Table::Procedure.schema(),
            finish!(
                q.hospital_id,
                q.patient_id,
                q.source,
                q.category,
                q.code_system,
                q.code,
                q.date,
                q.visit_id
            ),
        );
        let t = &mut self.truth;
        let truth = batch(
            truth_schema(),
            finish!(
                t.hospital_id,
                t.patient_id,
                t.outcome,
                t.role,
                t.kind,
                t.date
            ),
        );
        ChunkBatches {
            tables: [patient, visit, diagnosis, drug, lab, procedure],
            truth,
            patients,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow::array::{AsArray, Int64Array, StringArray};
    use arrow::datatypes::Int64Type;
    use parquet::arrow::arrow_reader::{ArrowReaderOptions, ParquetRecordBatchReaderBuilder};

    /// Rows of (code, patient): codes cycling through `c`, `a`, null, `b`, patients rising.
    fn batch(from: i64, n: i64) -> RecordBatch {
        let codes = ["c", "a", "", "b"];
        let schema = Arc::new(Schema::new(vec![
            Field::new("analyte", DataType::Utf8, true),
            Field::new("patient_id", DataType::Int64, false),
        ]));
        let code: StringArray = (from..from + n)
            .map(|i| Some(codes[(i % 4) as usize]).filter(|c| !c.is_empty()))
            .collect();
        let patient = Int64Array::from_iter_values(from..from + n);
        RecordBatch::try_new(schema, vec![Arc::new(code), Arc::new(patient)]).unwrap()
    }

    #[test]
    fn a_clustered_file_orders_each_row_group_by_its_code_with_a_page_index() {
        let dir = tempfile::tempdir().unwrap();
        let total = ROW_GROUP_ROWS as i64 + 1000;
        let mut f = ParquetFile::create(
            dir.path(),
            "lab/H01.parquet",
            batch(0, 1).schema(),
            Some("analyte"),
        )
        .unwrap();
        // Batches that do not line up with the row groups.
        let mut at = 0;
        while at < total {
            let n = 70_001.min(total - at);
            f.write(&batch(at, n)).unwrap();
            at += n;
        }
        let written = f.finish().unwrap();
        assert_eq!(written.rows, total as u64);

        let file = File::open(dir.path().join("lab/H01.parquet")).unwrap();
        let options = ArrowReaderOptions::new()
            .with_page_index_policy(parquet::file::metadata::PageIndexPolicy::Required);
        let reader = ParquetRecordBatchReaderBuilder::try_new_with_options(file, options).unwrap();
        let meta = reader.metadata().clone();
        assert!(meta.column_index().is_some(), "page statistics are written");
        let sizes: Vec<i64> = meta.row_groups().iter().map(|g| g.num_rows()).collect();
        assert_eq!(sizes, vec![ROW_GROUP_ROWS as i64, 1000]);
        let mut start = 0usize;
        let rows: Vec<(Option<String>, i64)> = reader
            .build()
            .unwrap()
            .flat_map(|b| {
                let b = b.unwrap();
                let code = b.column(0).as_string::<i32>().clone();
                let p = b.column(1).as_primitive::<Int64Type>().clone();
                (0..b.num_rows())
                    .map(|i| {
                        (
                            code.is_valid(i).then(|| code.value(i).to_string()),
                            p.value(i),
                        )
                    })
                    .collect::<Vec<_>>()
            })
            .collect();
        for size in sizes {
            let group = &rows[start..start + size as usize];
            // Codes in order, nulls last; within a code, the patients in their order.
            let key = |r: &(Option<String>, i64)| (r.0.is_none(), r.0.clone(), r.1);
            assert!(group.windows(2).all(|w| key(&w[0]) < key(&w[1])));
            // Each group holds the rows it was given, no others.
            let mut ps: Vec<i64> = group.iter().map(|r| r.1).collect();
            ps.sort();
            assert_eq!(ps, (start as i64..start as i64 + size).collect::<Vec<_>>());
            start += size as usize;
        }
        assert_eq!(start as i64, total);
    }

    #[test]
    fn an_unclustered_file_keeps_the_rows_order() {
        let dir = tempfile::tempdir().unwrap();
        let mut f =
            ParquetFile::create(dir.path(), "t.parquet", batch(0, 1).schema(), None).unwrap();
        f.write(&batch(0, 10)).unwrap();
        f.finish().unwrap();
        let file = File::open(dir.path().join("t.parquet")).unwrap();
        let b = ParquetRecordBatchReaderBuilder::try_new(file)
            .unwrap()
            .build()
            .unwrap()
            .next()
            .unwrap()
            .unwrap();
        assert_eq!(b, batch(0, 10));
    }
}
