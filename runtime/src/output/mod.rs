//! The outputs of a run (runtime): every aggregate table built once on disclosure control
//! (`tables`), written as files (`write`), the record of the run (`record`: `run.json` and
//! each report's `about.json`) and the console summary (`summary`). What is written follows
//! the compiled script's typed list of outputs; nothing is looked up by name.

mod codebook;
mod coverage;
pub mod feasibility;
pub mod html;
pub mod place;
pub mod rates;
pub(crate) mod record;
mod summary;
pub mod table1;
pub mod tables;
mod write;

use std::collections::BTreeMap;
use std::fs;
use std::path::Path;
use std::sync::Arc;

use arrow::array::RecordBatch;
use arrow::compute::concat_batches;
use arrow::datatypes::SchemaRef;
use mid_compiler::OutputKind;
use mid_compiler::outputs::Output;
use serde::Serialize;

pub use coverage::{Coverage, coverage};
pub use record::{RunFacts, RunRecord, SiteRecord};
pub use summary::print_summary;
pub(crate) use write::{with_contract_text, write_batches, write_table};

use crate::error::{Error, Result};

/// The results of a run's plans, by plan name.
pub type Results = BTreeMap<String, (SchemaRef, Vec<RecordBatch>)>;

/// The directory under `--out` for what never leaves the site: exports (patient-level) and
/// the site's record of exact counts.
pub const SITE_ONLY: &str = "site-only";

/// A report not written because it would describe individuals.
#[derive(Debug, Clone, Serialize)]
pub struct Withheld {
    pub report: String,
    pub reason: String,
}

/// One file written.
#[derive(Debug, Clone, Serialize)]
pub struct Written {
    pub name: String,
    pub kind: &'static str,
    pub path: String,
    pub rows: usize,
    /// Aggregate outputs may leave the site after review; exports never do.
    pub leaves_site: bool,
}

/// One plan's result as one batch.
pub fn batch(results: &Results, name: &str) -> Result<RecordBatch> {
    let (schema, batches) = results
        .get(name)
        .ok_or_else(|| Error::new(format!("no result `{name}`")))?;
    concat_batches(schema, batches).map_err(|e| Error::context(format!("result `{name}`"), e))
}

/// A column of a result as text (nulls kept).
pub(crate) fn text_column(b: &RecordBatch, name: &str) -> Result<Vec<Option<String>>> {
    let col = b
        .column_by_name(name)
        .ok_or_else(|| Error::new(format!("internal error: no column {name}")))?;
    let col = arrow::compute::cast(col, &arrow::datatypes::DataType::Utf8)
        .map_err(|e| Error::context(name, e))?;
    let a = col
        .as_any()
        .downcast_ref::<arrow::array::StringArray>()
        .ok_or_else(|| Error::new(format!("internal error: {name} is not text")))?;
    Ok(a.iter().map(|s| s.map(str::to_string)).collect())
}

/// Writes an aggregate table under `reports/` with its description — what the counts are,
/// and the validation of every outcome definition they use — in the Parquet file itself
/// (key `mid.about`) and beside it as `<name>.about.json`; the table as written.
fn write_described(
    dir: &Path,
    name: &str,
    kind: &'static str,
    table: RecordBatch,
    output: &OutputKind,
    csv: bool,
) -> Result<(RecordBatch, Written)> {
    let about = record::ReportAbout::of(output);
    let json = serde_json::to_string_pretty(&about)
        .map_err(|e| Error::context(format!("cannot describe {name}"), e))?;
    let mut meta = table.schema().metadata().clone();
    meta.insert("mid.about".to_string(), json.clone());
    let schema = table.schema().as_ref().clone().with_metadata(meta);
    let table = table
        .with_schema(Arc::new(schema))
        .map_err(|e| Error::context(name, e))?;
    let w = write::write_output(
        dir,
        "reports",
        name,
        &table,
        csv,
        (name.to_string(), kind, true),
    )?;
    let about_path = dir.join("reports").join(format!("{name}.about.json"));
    fs::write(&about_path, json + "\n")
        .map_err(|e| Error::context(format!("cannot write {}", about_path.display()), e))?;
    Ok((table, w))
}

/// Writes every output of a compiled script into `dir`: attrition tables and reports
/// (aggregate, through disclosure control) under `reports/`, exports (patient-level) under
/// `site-only/exports/`. A report too fine to leave is withheld, not written.
pub fn write_outputs(
    dir: &Path,
    outputs: &[Output],
    results: &Results,
    csv: bool,
) -> Result<(Vec<Written>, Vec<Withheld>)> {
    let mut written = Vec::new();
    let mut withheld = Vec::new();
    fs::create_dir_all(dir.join("reports"))
        .map_err(|e| Error::context("cannot create reports/", e))?;
    for o in outputs {
        match &o.kind {
            OutputKind::Attrition {
                cohort,
                labels,
                threshold,
            } => {
                let table = tables::attrition_table(&batch(results, &o.plan)?, labels, *threshold)?;
                let name = format!("attrition_{cohort}");
                written.push(write::write_output(
                    dir,
                    "reports",
                    &name,
                    &table,
                    csv,
                    (name.clone(), "attrition", true),
                )?);
                let book = codebook::codebook(
                    &name,
                    "attrition",
                    format!("the entry of cohort `{cohort}`, then one row per step, in order"),
                    &table,
                    &mid_compiler::codebook::attrition_columns(),
                    &[],
                )?;
                codebook::write(&dir.join("reports"), &name, &book)?;
            }
            OutputKind::Report {
                report,
                cohorts,
                strata,
                counts,
                threshold,
                definitions,
                columns,
                ..
            } => {
                let raw = batch(results, &o.plan)?;
                if tables::report_too_fine(&raw, *threshold)? {
                    withheld.push(Withheld {
                        report: report.clone(),
                        reason: format!(
                            "more than half of its non-empty cells describe fewer than {threshold} persons: its rows would describe individuals; report it by coarser strata"
                        ),
                    });
                    continue;
                }
                let table = tables::report_table(&raw, strata, counts, *threshold, cohorts)?;
                let (table, w) = write_described(dir, report, "report", table, &o.kind, csv)?;
                written.push(w);
                let by: Vec<&str> = strata.iter().map(|s| s.column.as_str()).collect();
                let book = codebook::codebook(
                    report,
                    "report",
                    if by.is_empty() {
                        "one row: the whole report".to_string()
                    } else {
                        format!(
                            "one row per combination of {} that has patients (none for empty strata)",
                            by.join(", ")
                        )
                    },
                    &table,
                    columns,
                    definitions,
                )?;
                codebook::write(&dir.join("reports"), report, &book)?;
            }
            OutputKind::Table1 {
                table,
                cohorts,
                plans,
                rows,
                threshold,
            } => {
                let t = table1::from_results(results, cohorts, plans, rows, *threshold)?;
                let (t, w) = write_described(dir, table, "table1", t, &o.kind, csv)?;
                written.push(w);
                let mut book = codebook::codebook(
                    table,
                    "table1",
                    format!(
                        "one row per cohort ({}) and characteristic (a text one: per level), the cohort's persons first",
                        cohorts.join(", ")
                    ),
                    &t,
                    &table1::column_docs(cohorts),
                    &[],
                )?;
                book.characteristics = rows
                    .iter()
                    .map(|r| {
                        codebook::Entry::characteristic(
                            r.doc.clone(),
                            table1::summary_word(r.summary),
                        )
                    })
                    .collect();
                codebook::write(&dir.join("reports"), table, &book)?;
            }
            // Site-only, written with the run's records.
            OutputKind::Coverage { .. } | OutputKind::LabUnits => {}
            OutputKind::Export {
                cohort,
                file,
                columns,
                definitions,
            } => {
                let sub = format!("{SITE_ONLY}/exports");
                fs::create_dir_all(dir.join(&sub))
                    .map_err(|e| Error::context(format!("cannot create {sub}/"), e))?;
                let full = write::with_contract_text(batch(results, &o.plan)?)?;
                let b = codebook::without_helpers(&full, columns)?;
                written.push(write::write_output(
                    dir,
                    &sub,
                    file,
                    &b,
                    csv,
                    (format!("export of {cohort}"), "export", false),
                )?);
                let book = codebook::codebook(
                    file,
                    "export",
                    format!("one row per entry of cohort `{cohort}`"),
                    &full,
                    columns,
                    definitions,
                )?;
                codebook::write(&dir.join(&sub), file, &book)?;
            }
        }
    }
    Ok((written, withheld))
}
