//! Output side of the generator: Arrow builders for one chunk of patients, and Parquet
//! writers with reproducible bytes that hash what they write (no second read).

use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow::array::{
    ArrayRef, BooleanBuilder, Date32Builder, Float64Builder, Int32Builder, Int64Builder,
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

/// Writer properties fixed explicitly so the same rows give the same bytes everywhere.
pub fn writer_properties() -> WriterProperties {
    WriterProperties::builder()
        .set_writer_version(WriterVersion::PARQUET_1_0)
        .set_compression(Compression::SNAPPY)
        .set_dictionary_enabled(true)
        .set_statistics_enabled(EnabledStatistics::Chunk)
        .set_max_row_group_row_count(Some(ROW_GROUP_ROWS))
        .set_max_row_group_bytes(None)
        .set_data_page_size_limit(1024 * 1024)
        .set_write_batch_size(1024)
        .set_created_by(format!("mid synth {}", env!("CARGO_PKG_VERSION")))
        .build()
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
}

impl ParquetFile {
    pub fn create(root: &Path, relative: &str, schema: SchemaRef) -> Result<ParquetFile> {
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
        let writer = ArrowWriter::try_new(sink, schema, Some(writer_properties()))
            .map_err(|e| Error::context(format!("cannot write {}", path.display()), e))?;
        Ok(ParquetFile {
            writer,
            relative: relative.to_string(),
            path,
            rows: 0,
        })
    }

    pub fn write(&mut self, batch: &RecordBatch) -> Result<()> {
        self.rows += batch.num_rows() as u64;
        self.writer
            .write(batch)
            .map_err(|e| Error::context(format!("cannot write {}", self.path.display()), e))
    }

    pub fn finish(self) -> Result<WrittenFile> {
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
