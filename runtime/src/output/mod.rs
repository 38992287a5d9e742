//! The outputs of a run (runtime): every aggregate table built once on disclosure control
//! (`tables`), written as files (`write`), the record of the run (`record`: `run.json` and
//! each report's `about.json`) and the console summary (`summary`). What is written follows
//! the compiled script's typed list of outputs; nothing is looked up by name.

mod record;
mod summary;
mod tables;
mod write;

use std::collections::BTreeMap;
use std::fs;
use std::path::Path;
use std::sync::Arc;

use arrow::array::RecordBatch;
use arrow::compute::concat_batches;
use arrow::datatypes::SchemaRef;
use mid_compiler::{Compiled, OutputKind};
use serde::Serialize;

pub use record::{RunFacts, RunRecord};
pub use summary::print_summary;
pub use write::temp_dir_beside;

use crate::error::{Error, Result};

/// The results of a run's plans, by plan name.
pub type Results = BTreeMap<String, (SchemaRef, Vec<RecordBatch>)>;

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

/// Writes every output of a compiled script into `dir`: attrition tables and reports
/// (aggregate, suppressed) under `reports/`, exports (patient-level) under `exports/`.
pub fn write_outputs(
    dir: &Path,
    compiled: &Compiled,
    results: &Results,
    csv: bool,
) -> Result<Vec<Written>> {
    let mut written = Vec::new();
    fs::create_dir_all(dir.join("reports"))
        .map_err(|e| Error::context("cannot create reports/", e))?;
    for o in &compiled.outputs {
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
            }
            OutputKind::Report {
                report,
                strata,
                counts,
                threshold,
                ..
            } => {
                let table =
                    tables::report_table(&batch(results, &o.plan)?, strata, counts, *threshold)?;
                // What the counts are, and the validation of every outcome definition they use:
                // in the Parquet file itself (key `mid.about`) and beside it as JSON.
                let about = record::ReportAbout::of(&o.kind);
                let json = serde_json::to_string_pretty(&about)
                    .map_err(|e| Error::context("cannot describe the report", e))?;
                let schema = table.schema().as_ref().clone().with_metadata(
                    [("mid.about".to_string(), json.clone())]
                        .into_iter()
                        .collect(),
                );
                let table = table
                    .with_schema(Arc::new(schema))
                    .map_err(|e| Error::context("report table", e))?;
                written.push(write::write_output(
                    dir,
                    "reports",
                    report,
                    &table,
                    csv,
                    (report.clone(), "report", true),
                )?);
                let about_path = dir.join("reports").join(format!("{report}.about.json"));
                fs::write(&about_path, json + "\n").map_err(|e| {
                    Error::context(format!("cannot write {}", about_path.display()), e)
                })?;
            }
            OutputKind::Export { cohort, file } => {
                fs::create_dir_all(dir.join("exports"))
                    .map_err(|e| Error::context("cannot create exports/", e))?;
                let b = write::with_contract_text(batch(results, &o.plan)?)?;
                written.push(write::write_output(
                    dir,
                    "exports",
                    file,
                    &b,
                    csv,
                    (format!("export of {cohort}"), "export", false),
                )?);
            }
        }
    }
    Ok(written)
}
