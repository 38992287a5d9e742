//! Writing output files (runtime): Parquet with fixed writer properties (the same results
//! give the same bytes) or CSV, text columns in the contract's encoding, and a temporary
//! directory beside the output for renaming a whole result into place.

use std::fs;
use std::path::Path;
use std::sync::Arc;

use arrow::array::RecordBatch;
use arrow::datatypes::{DataType, Schema};
use parquet::arrow::ArrowWriter;
use parquet::file::properties::WriterProperties;

use super::Written;
use crate::error::{Error, Result};

/// `Utf8`, so what a site exports reads like its CDM.
pub fn with_contract_text(b: RecordBatch) -> Result<RecordBatch> {
    let mut fields = Vec::new();
    let mut cols = Vec::new();
    for (f, col) in b.schema().fields().iter().zip(b.columns()) {
        if f.data_type() == &DataType::Utf8View {
            fields.push(f.as_ref().clone().with_data_type(DataType::Utf8));
            cols.push(
                arrow::compute::cast(col, &DataType::Utf8)
                    .map_err(|e| Error::context(f.name(), e))?,
            );
        } else {
            fields.push(f.as_ref().clone());
            cols.push(col.clone());
        }
    }
    let schema = Schema::new(fields).with_metadata(b.schema().metadata().clone());
    RecordBatch::try_new(Arc::new(schema), cols).map_err(|e| Error::context("export", e))
}

/// Writes one output table as `<dir>/<sub>/<file>.parquet` (or `.csv`) and describes it.
pub fn write_output(
    dir: &Path,
    sub: &str,
    file: &str,
    table: &RecordBatch,
    csv: bool,
    (name, kind, leaves_site): (String, &'static str, bool),
) -> Result<Written> {
    let path = dir
        .join(sub)
        .join(format!("{file}.{}", if csv { "csv" } else { "parquet" }));
    write_table(&path, table, csv)?;
    Ok(Written {
        name,
        kind,
        path: rel(dir, &path),
        rows: table.num_rows(),
        leaves_site,
    })
}

fn rel(dir: &Path, p: &Path) -> String {
    p.strip_prefix(dir).unwrap_or(p).display().to_string()
}

pub fn write_table(path: &Path, b: &RecordBatch, csv: bool) -> Result<()> {
    write_batches(path, b.schema(), std::slice::from_ref(b), csv)
}

/// As `write_table`, for a result in several batches (no copy into one).
pub fn write_batches(
    path: &Path,
    schema: arrow::datatypes::SchemaRef,
    batches: &[RecordBatch],
    csv: bool,
) -> Result<()> {
    let cannot =
        |e: &dyn std::fmt::Display| Error::context(format!("cannot write {}", path.display()), e);
    let file = fs::File::create(path)
        .map_err(|e| Error::context(format!("cannot create {}", path.display()), e))?;
    if csv {
        let mut w = arrow::csv::WriterBuilder::new()
            .with_header(true)
            .build(file);
        for b in batches {
            w.write(b).map_err(|e| cannot(&e))?;
        }
        return Ok(());
    }
    // Fixed writer properties: the same results give the same bytes.
    let props = WriterProperties::builder()
        .set_created_by("mid".to_string())
        .build();
    let mut w = ArrowWriter::try_new(file, schema, Some(props)).map_err(|e| cannot(&e))?;
    for b in batches {
        w.write(b).map_err(|e| cannot(&e))?;
    }
    w.close().map_err(|e| cannot(&e))?;
    Ok(())
}
