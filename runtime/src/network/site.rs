//! A request at a hospital (runtime, network: `mid site run`): checks what the hospital's
//! data can answer, runs the packaged plans without compiling anything, and writes the
//! extraction its officer reviews: the analysis data set (pseudonymised), the hospital's own
//! attrition tables and reports (disclosure-controlled), a capability summary, the officer's
//! summary (text and HTML) and a manifest with every file's hash.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

use arrow::array::RecordBatch;
use arrow::compute::{SortColumn, concat_batches, lexsort_to_indices, take_record_batch};
use mid_cdm::Table;
use mid_compiler::outputs::Output;
use mid_compiler::{NamedPlan, OutputKind, PlanKind};
use serde::Serialize;

use super::extraction::{self, DataOrigin};
use super::frontier::{self, Level};
use super::package::Package;
use super::pseudonym::{Key, Pseudonymiser};
use super::summary::{self, TableSummary};
use crate::dataset::content::{self, Policy};
use crate::dataset::files::{file_schema, parquet_files};
use crate::disclosure;
use crate::engine::{self, Engine};
use crate::error::{Error, Result};
use crate::output::{self, Results};

/// `capability.json`: what the hospital's data holds for the request. Counts are shown as
/// every count that leaves: 0, `<10` or rounded to 10.
#[derive(Debug, Clone, Serialize)]
pub struct Capability {
    pub hospital: String,
    /// Each code set and lab item the request tests, and the rows it matches here.
    pub sources: Vec<SourceMatch>,
    /// What deserves the officer's look, in words.
    pub flags: Vec<String>,
    /// What the data checks found (rows set aside, values read as missing), without counts.
    pub data_checks: Vec<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct SourceMatch {
    pub table: String,
    pub source: String,
    pub rows: String,
}

/// What `extract` made.
pub struct Made {
    pub manifest: extraction::Manifest,
    pub capability: Capability,
    pub warnings: Vec<String>,
}

/// The hospital a data set holds: its manifest must name exactly one.
pub fn hospital_of(data: &Path) -> Result<(String, DataOrigin)> {
    let m = crate::dataset::Manifest::read(data).map_err(|e| {
        Error::new(format!(
            "{e}: a hospital's data set needs its manifest.json to run a request"
        ))
    })?;
    match m.sites.as_slice() {
        [one] => Ok((
            one.clone(),
            DataOrigin {
                fingerprint: m.fingerprint.clone(),
                start: m.data_period.start.clone(),
                end: m.data_period.end.clone(),
            },
        )),
        many => Err(Error::new(format!(
            "{} holds {} hospitals ({}); a request runs at one hospital, on its own data (`mid synth --split` writes one data set per hospital)",
            data.display(),
            many.len(),
            many.join(", ")
        ))),
    }
}

/// The tables and columns the package reads that the data set lacks or holds with another
/// type: each a line naming the table, column and file.
pub fn missing(data: &Path, package: &Package) -> Vec<String> {
    let mut problems = Vec::new();
    for (table, cols) in &package.requirements.tables {
        let Some(t) = Table::from_name(table) else {
            problems.push(format!(
                "the request reads a table `{table}` the CDM does not have"
            ));
            continue;
        };
        let files = match parquet_files(&data.join(t.name())) {
            Ok(f) if !f.is_empty() => f,
            _ => {
                problems.push(format!(
                    "table `{table}`: no Parquet files in {}",
                    data.join(t.name()).display()
                ));
                continue;
            }
        };
        for f in files {
            let schema = match file_schema(&f) {
                Ok(s) => s,
                Err(e) => {
                    problems.push(format!("{}: {e}", f.display()));
                    continue;
                }
            };
            for c in cols {
                let Some(col) = t.column(c) else {
                    problems.push(format!(
                        "the request reads a column `{table}.{c}` the CDM does not have"
                    ));
                    continue;
                };
                match crate::dataset::contract::check_column(schema.field_with_name(c).ok(), col) {
                    None => {}
                    Some(crate::dataset::contract::ColumnProblem::Missing) => problems.push(
                        format!("table `{table}` has no column `{c}` in {}", f.display()),
                    ),
                    Some(crate::dataset::contract::ColumnProblem::WrongType { found }) => problems
                        .push(format!(
                            "column `{table}.{c}` is {} in {}; the contract says {}",
                            crate::dataset::contract::type_word(&found),
                            f.display(),
                            crate::dataset::contract::column_word(col.ty)
                        )),
                }
            }
        }
    }
    problems
}

/// The columns the data checks read: those the request reads, by table.
fn check_columns(package: &Package) -> BTreeMap<Table, Vec<&'static str>> {
    let mut out: BTreeMap<Table, Vec<&'static str>> = BTreeMap::new();
    out.entry(Table::Patient).or_default();
    for (table, cols) in &package.requirements.tables {
        if let Some(t) = Table::from_name(table) {
            let e = out.entry(t).or_default();
            e.extend(cols.iter().filter_map(|c| t.column(c).map(|c| c.name)));
        }
    }
    out
}

/// Rows sorted by every column: an extraction's files do not depend on the order the engine
/// produced rows in, nor on the order of the hospital's own identifiers.
fn sorted(b: &RecordBatch) -> Result<RecordBatch> {
    if b.num_rows() < 2 {
        return Ok(b.clone());
    }
    let cols: Vec<SortColumn> = b
        .columns()
        .iter()
        .map(|c| SortColumn {
            values: c.clone(),
            options: None,
        })
        .collect();
    let idx = lexsort_to_indices(&cols, None).map_err(|e| Error::context("sorting rows", e))?;
    take_record_batch(b, &idx).map_err(|e| Error::context("sorting rows", e))
}

/// The request's patients: everyone with an entry event of a cohort.
fn persons(plans: &[NamedPlan], results: &Results) -> Result<RecordBatch> {
    let mut parts = Vec::new();
    for p in plans {
        if !matches!(p.kind, PlanKind::Entries { .. }) {
            continue;
        }
        let b = output::batch(results, &p.name)?;
        let cols = ["hospital_id", "patient_id"]
            .iter()
            .map(|c| {
                let a = b
                    .column_by_name(c)
                    .ok_or_else(|| Error::new(format!("`{}` has no {c}", p.name)))?;
                let want = if *c == "hospital_id" {
                    arrow::datatypes::DataType::Utf8
                } else {
                    arrow::datatypes::DataType::Int64
                };
                arrow::compute::cast(a, &want).map_err(|e| Error::context(c.to_string(), e))
            })
            .collect::<Result<Vec<_>>>()?;
        parts.push(cols);
    }
    let schema = Arc::new(arrow::datatypes::Schema::new(vec![
        arrow::datatypes::Field::new("__h", arrow::datatypes::DataType::Utf8, true),
        arrow::datatypes::Field::new("__p", arrow::datatypes::DataType::Int64, true),
    ]));
    let batches = parts
        .into_iter()
        .map(|c| RecordBatch::try_new(schema.clone(), c))
        .collect::<std::result::Result<Vec<_>, _>>()
        .map_err(|e| Error::context("the request's patients", e))?;
    concat_batches(&schema, &batches).map_err(|e| Error::context("the request's patients", e))
}

/// The officer's view of one table that leaves.
fn describe(path: &str, level: &str, b: &RecordBatch) -> TableSummary {
    summary::describe_table(path, level, b)
}

/// Runs the request on the hospital's data and writes the extraction into `dir` (a new,
/// empty directory). Nothing is written when the request cannot run here.
pub async fn extract(
    package: &Package,
    data: &Path,
    key: &Key,
    dir: &Path,
    allow_empty: bool,
) -> Result<Made> {
    let (hospital, origin) = hospital_of(data)?;
    let problems = missing(data, package);
    if !problems.is_empty() {
        for p in &problems {
            crate::errln!("error: {p}");
        }
        return Err(Error::new(format!(
            "{hospital}'s data set in {} does not have what the request reads ({} problem{}); nothing was run",
            data.display(),
            problems.len(),
            if problems.len() == 1 { "" } else { "s" }
        )));
    }
    let engine = Engine::open(data).await?;
    let plans = package.plans(&engine.ctx.task_ctx())?;
    let content = content::check(&engine.ctx, &engine.sources, check_columns(package)).await?;
    let refused: Vec<String> = content.refused().map(|f| f.describe()).collect();
    if !refused.is_empty() {
        for r in &refused {
            crate::errln!("error: {r}");
        }
        return Err(Error::new(format!(
            "{hospital}'s data set in {} breaks the CDM contract; nothing was run",
            data.display()
        )));
    }
    let mut warnings: Vec<String> = content
        .findings
        .iter()
        .filter(|f| f.policy != Policy::Refused)
        .map(|f| f.describe())
        .collect();
    engine.apply(&content).await?;

    // What the request's code sets and lab items match here, before anything else runs.
    let (probe, rest): (Vec<NamedPlan>, Vec<NamedPlan>) = plans
        .iter()
        .cloned()
        .partition(|p| frontier::site_only(&p.kind));
    let mut results = engine::run_all(&engine, &probe, false, |_, _| {}).await?;
    let site_outputs: Vec<Output> = package
        .outputs
        .iter()
        .filter(|o| matches!(o.kind, OutputKind::Coverage { .. } | OutputKind::LabUnits))
        .cloned()
        .collect();
    let coverage = output::coverage(&site_outputs, &results)?;
    let mut capability = Capability {
        hospital: hospital.clone(),
        sources: Vec::new(),
        flags: coverage.flags.clone(),
        data_checks: content
            .findings
            .iter()
            .filter(|f| f.policy != Policy::Refused)
            .map(|f| {
                format!(
                    "{}{}: {}",
                    f.table,
                    f.column
                        .as_ref()
                        .map(|c| format!(".{c}"))
                        .unwrap_or_default(),
                    f.problem
                )
            })
            .collect(),
    };
    let mut matched_any = false;
    for (table, rows) in &coverage.tables {
        for r in rows.iter().filter(|r| r.hospital == hospital) {
            for (source, n) in &r.matched {
                // One that matches nothing is flagged by the coverage already.
                let n = (*n).max(0) as u64;
                matched_any |= n > 0;
                capability.sources.push(SourceMatch {
                    table: table.clone(),
                    source: source.clone(),
                    rows: disclosure::persons(n, disclosure::THRESHOLD).text(disclosure::THRESHOLD),
                });
            }
        }
    }
    if !capability.sources.is_empty() && !matched_any && !allow_empty {
        return Err(Error::new(format!(
            "the request would read nothing at {hospital}: none of its {} code sets and lab items matches a row of this hospital's data; nothing was written (run with --allow-empty to return an empty extraction)",
            capability.sources.len()
        )));
    }
    warnings.extend(capability.flags.iter().cloned());

    let main = engine::run_all(&engine, &rest, false, |_, _| {}).await?;
    results.extend(main);

    let mut files: Vec<(String, &str)> = Vec::new();
    let mut tables: Vec<TableSummary> = Vec::new();
    // Aggregates, as `mid run` writes them.
    let aggregate = package.aggregate_outputs();
    // A feasibility request has no attrition table or report: no empty `reports/` either.
    let (written, withheld) = if aggregate.is_empty() {
        (Vec::new(), Vec::new())
    } else {
        output::write_outputs(dir, &aggregate, &results, false)?
    };
    for w in &withheld {
        warnings.push(format!("report `{}` withheld: {}", w.report, w.reason));
    }
    for w in &written {
        let b = read_parquet(&dir.join(&w.path))?;
        tables.push(describe(&w.path, "aggregate", &b));
        files.push((w.path.clone(), "aggregate"));
    }
    let reports = dir.join("reports");
    for f in if reports.is_dir() {
        extraction::list_files(&reports)?
    } else {
        Vec::new()
    } {
        if super::release::DESCRIPTIONS.iter().any(|d| f.ends_with(d)) {
            files.push((format!("reports/{f}"), "aggregate"));
        }
    }

    // A feasibility request's exact counts: this hospital's rows only.
    if package.feasibility.is_some() {
        let b = output::batch(&results, "feasibility")?;
        let own = arrow::compute::cast(
            b.column_by_name("hospital")
                .ok_or_else(|| Error::new("the counts have no hospital column"))?,
            &arrow::datatypes::DataType::Utf8,
        )
        .map_err(|e| Error::context("hospital", e))?;
        let own = arrow::compute::kernels::cmp::eq(
            &own,
            &arrow::array::StringArray::new_scalar(hospital.as_str()),
        )
        .map_err(|e| Error::context("hospital", e))?;
        let b = arrow::compute::filter_record_batch(&b, &own)
            .map_err(|e| Error::context("the counts", e))?;
        let rel = "counts/feasibility.parquet";
        std::fs::create_dir_all(dir.join("counts"))
            .map_err(|e| Error::context("cannot create counts/", e))?;
        output::write_table(&dir.join(rel), &b, false)?;
        tables.push(describe(rel, "counts", &b));
        files.push((rel.into(), "counts"));
    }

    // The analysis data set: exports and the request's patients' CDM rows, pseudonymised.
    let mut pseudo = Pseudonymiser::new(key);
    let who = persons(&plans, &results)?;
    engine
        .register("__mid_persons", who.schema(), vec![who])
        .await?;
    if package.returns.iter().any(|r| r.level == Level::Patient) {
        std::fs::create_dir_all(dir.join("analysis"))
            .map_err(|e| Error::context("cannot create analysis/", e))?;
    }
    for r in package.returns.iter().filter(|r| r.level == Level::Patient) {
        let batch = if let Some(t) = Table::from_name(&r.table) {
            let cols: Vec<String> = r.columns.iter().map(|c| format!("t.\"{c}\"")).collect();
            let sql = format!(
                "SELECT {} FROM \"{}\" t WHERE EXISTS (SELECT 1 FROM __mid_persons p WHERE p.__h = t.hospital_id AND p.__p = t.patient_id)",
                cols.join(", "),
                t.name()
            );
            let df = engine
                .ctx
                .sql(&sql)
                .await
                .map_err(|e| Error::context(format!("extracting `{}`", r.table), e))?;
            let schema = Arc::new(df.schema().as_arrow().clone());
            let batches = df
                .collect()
                .await
                .map_err(|e| Error::context(format!("extracting `{}`", r.table), e))?;
            concat_batches(&schema, &batches)
                .map_err(|e| Error::context(format!("extracting `{}`", r.table), e))?
        } else {
            output::batch(&results, &r.table)?
        };
        let b = output::with_contract_text(batch)?;
        let b = sorted(&pseudo.apply(&r.table, &b)?)?;
        let rel = format!("analysis/{}.parquet", r.table);
        output::write_table(&dir.join(&rel), &b, false)?;
        tables.push(describe(&rel, "patient", &b));
        files.push((rel, "patient"));
    }

    std::fs::write(
        dir.join("capability.json"),
        extraction::json_text(&capability),
    )
    .map_err(|e| Error::context("cannot write capability.json", e))?;
    files.push(("capability.json".into(), "summary"));
    let (text, html) = summary::officer_summary(package, &hospital, &capability, &tables);
    for (name, body) in [("summary.txt", text), ("summary.html", html)] {
        std::fs::write(dir.join(name), body)
            .map_err(|e| Error::context(format!("cannot write {name}"), e))?;
        files.push((name.into(), "summary"));
    }
    let manifest = extraction::Manifest {
        format: extraction::FORMAT.into(),
        package: package.id.clone(),
        study: package.study.clone(),
        hospital,
        key: key.fingerprint(),
        mid: env!("CARGO_PKG_VERSION").into(),
        data: origin,
        files: extraction::entries(dir, &files)?,
    };
    std::fs::write(
        dir.join(extraction::MANIFEST),
        extraction::json_text(&manifest),
    )
    .map_err(|e| Error::context("cannot write manifest.json", e))?;
    Ok(Made {
        manifest,
        capability,
        warnings,
    })
}

/// A Parquet file's rows as one batch.
pub fn read_parquet(path: &Path) -> Result<RecordBatch> {
    let f = std::fs::File::open(path)
        .map_err(|e| Error::new(format!("cannot read {}: {e}", path.display())))?;
    let bad = |e: parquet::errors::ParquetError| {
        Error::new(format!(
            "{}: not a readable Parquet file ({e})",
            path.display()
        ))
    };
    let builder =
        parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(f).map_err(bad)?;
    let schema = builder.schema().clone();
    let reader = builder.build().map_err(bad)?;
    let batches = reader
        .collect::<std::result::Result<Vec<_>, _>>()
        .map_err(|e| {
            Error::new(format!(
                "{}: not a readable Parquet file ({e})",
                path.display()
            ))
        })?;
    concat_batches(&schema, &batches).map_err(|e| Error::context(path.display().to_string(), e))
}
