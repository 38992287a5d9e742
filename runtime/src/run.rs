//! `mid run`: compiles a script, checks the data has what it needs, executes the plans and
//! writes exports (patient-level, for the site), attrition tables and reports (aggregate,
//! small counts suppressed) and `run.json`, the record of the run. Output goes to a temporary
//! directory renamed into place at the end, so a failed run leaves nothing behind.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::fs;
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use arrow::array::{Array, ArrayRef, BooleanArray, Int64Array, RecordBatch, StringArray};
use arrow::compute::concat_batches;
use arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use arrow::util::display::{ArrayFormatter, FormatOptions};
use mid_compiler::{Compiled, PlanKind};
use parquet::arrow::ArrowWriter;
use parquet::file::properties::WriterProperties;
use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::disclosure::{self, Shown};
use crate::engine::{self, Engine};
use crate::error::{Error, Result};
use crate::script::{self, Color};

/// Arguments of `mid run`.
#[derive(Debug, Clone, clap::Args)]
pub struct RunArgs {
    /// The script.
    pub file: PathBuf,
    /// The CDM data set; the built-in demo network when absent.
    #[arg(long)]
    pub data: Option<PathBuf>,
    /// Where to write the results (replaced if it holds an earlier run's results).
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Write CSV instead of Parquet.
    #[arg(long)]
    pub csv: bool,
    /// Colour diagnostics.
    #[arg(long, value_enum, default_value_t = Color::Auto)]
    pub color: Color,
    /// Print each plan's time and its physical plan with per-operator rows and times to
    /// stderr (where a slow script spends its time).
    #[arg(long)]
    pub profile: bool,
}

pub fn run(args: &RunArgs) -> Result<ExitCode> {
    let started = SystemTime::now();
    let clock = Instant::now();
    let compiled = script::compile_file(&args.file, args.color)?;
    let data = crate::dataset::resolve_data(args.data.as_deref())?;
    let problems = engine::check_data(
        &data,
        &mid_compiler::requirements::requirements(&compiled.cir),
        &compiled.checked.sources,
    );
    if !problems.is_empty() {
        for p in &problems {
            eprintln!("error: {}", p.message);
        }
        return Err(Error::new(format!(
            "the data set in {} does not have what the script needs ({} problem{})",
            data.display(),
            problems.len(),
            if problems.len() == 1 { "" } else { "s" }
        )));
    }
    let out = match &args.out {
        Some(o) => o.clone(),
        None => PathBuf::from("out").join(
            args.file
                .file_stem()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_else(|| "run".into()),
        ),
    };
    check_out_dir(&out)?;
    let rt = crate::runtime()?;
    let results = rt.block_on(async {
        let engine = Engine::open(&data).await?;
        let bar = progress(compiled.plans.len() as u64);
        let r = engine::run_all(&engine, &compiled.plans, args.profile, |i, name| {
            if let Some(b) = &bar {
                b.set_position(i as u64);
                b.set_message(name.to_string());
            }
        })
        .await;
        if let Some(b) = bar {
            b.finish_and_clear();
        }
        r
    })?;
    let tmp = crate::dataset::temp_dir_beside(&out, ".mid-run-")?.keep();
    let written = write_outputs(&tmp, &compiled, &results, args.csv);
    let written = match written {
        Ok(w) => w,
        Err(e) => {
            let _ = fs::remove_dir_all(&tmp);
            return Err(e);
        }
    };
    let record = RunRecord::new(
        args,
        &compiled,
        &data,
        &results,
        &written,
        started,
        SystemTime::now(),
    );
    let json = serde_json::to_string_pretty(&record)
        .map_err(|e| Error::context("cannot write run.json", e))?;
    if let Err(e) = fs::write(tmp.join("run.json"), json + "\n") {
        let _ = fs::remove_dir_all(&tmp);
        return Err(Error::context(
            format!("cannot write {}", tmp.join("run.json").display()),
            e,
        ));
    }
    replace_dir(&tmp, &out)?;
    print_summary(
        &compiled,
        &results,
        &written,
        &out,
        clock.elapsed().as_secs_f64(),
    );
    Ok(ExitCode::SUCCESS)
}

fn progress(steps: u64) -> Option<indicatif::ProgressBar> {
    if !std::io::stderr().is_terminal() {
        return None;
    }
    let bar = indicatif::ProgressBar::new(steps);
    if let Ok(style) =
        indicatif::ProgressStyle::with_template("{spinner} [{elapsed}] {bar:30} {pos}/{len} {msg}")
    {
        bar.set_style(style);
    }
    bar.enable_steady_tick(std::time::Duration::from_millis(120));
    Some(bar)
}

/// The output directory may be new, empty, or an earlier run's results; anything else is
/// refused so a typo cannot overwrite unrelated files.
fn check_out_dir(out: &Path) -> Result<()> {
    if !out.exists() {
        return Ok(());
    }
    if !out.is_dir() {
        return Err(Error::usage(format!(
            "--out {} is a file, not a directory",
            out.display()
        )));
    }
    let empty = fs::read_dir(out)
        .map(|mut d| d.next().is_none())
        .unwrap_or(false);
    if empty || out.join("run.json").exists() {
        return Ok(());
    }
    Err(Error::usage(format!(
        "--out {} holds files that are not mid results; choose another directory",
        out.display()
    )))
}

fn replace_dir(tmp: &Path, out: &Path) -> Result<()> {
    if out.exists() {
        fs::remove_dir_all(out)
            .map_err(|e| Error::context(format!("cannot replace {}", out.display()), e))?;
    }
    fs::rename(tmp, out)
        .map_err(|e| Error::context(format!("cannot move results to {}", out.display()), e))
}

/// One file written.
#[derive(Debug, Clone, Serialize)]
struct Written {
    name: String,
    kind: &'static str,
    path: String,
    rows: usize,
    /// Aggregate outputs may leave the site after review; exports never do.
    leaves_site: bool,
}

type Results = BTreeMap<String, (SchemaRef, Vec<RecordBatch>)>;

fn batch(results: &Results, name: &str) -> Result<RecordBatch> {
    let (schema, batches) = results
        .get(name)
        .ok_or_else(|| Error::new(format!("no result `{name}`")))?;
    concat_batches(schema, batches).map_err(|e| Error::context(format!("result `{name}`"), e))
}

/// Plans read text as `Utf8View` (`Table::scan_schema`); exported files keep the contract's
/// `Utf8`, so what a site exports reads like its CDM.
fn with_contract_text(b: RecordBatch) -> Result<RecordBatch> {
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
fn write_output(
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

fn write_outputs(
    dir: &Path,
    compiled: &Compiled,
    results: &Results,
    csv: bool,
) -> Result<Vec<Written>> {
    let mut written = Vec::new();
    fs::create_dir_all(dir.join("reports"))
        .map_err(|e| Error::context("cannot create reports/", e))?;
    for p in &compiled.plans {
        match &p.kind {
            PlanKind::Attrition { cohort, labels } => {
                let b = batch(results, &p.name)?;
                let table = attrition_table(&b, labels, suppress_threshold(compiled))?;
                let name = format!("attrition_{cohort}");
                written.push(write_output(
                    dir,
                    "reports",
                    &name,
                    &table,
                    csv,
                    (name.clone(), "attrition", true),
                )?);
            }
            PlanKind::Report {
                report,
                strata,
                counts,
            } => {
                let threshold = compiled
                    .cir
                    .reports
                    .iter()
                    .find(|r| &r.name == report)
                    .map(|r| r.suppress_below)
                    .unwrap_or(10);
                let b = batch(results, &p.name)?;
                let table =
                    report_table(&b, strata, counts, age_band(compiled, report), threshold)?;
                // What the counts are, and the validation of every outcome definition they use:
                // in the Parquet file itself (key `mid.about`) and beside it as JSON.
                let about = report_about(compiled, report, threshold);
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
                written.push(write_output(
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
            PlanKind::Export { cohort } => {
                fs::create_dir_all(dir.join("exports"))
                    .map_err(|e| Error::context("cannot create exports/", e))?;
                let b = with_contract_text(batch(results, &p.name)?)?;
                written.push(write_output(
                    dir,
                    "exports",
                    p.name.trim_start_matches("export_"),
                    &b,
                    csv,
                    (format!("export of {cohort}"), "export", false),
                )?);
            }
            _ => {}
        }
    }
    Ok(written)
}

/// The width of a report's age bands, if it has them.
fn age_band(compiled: &Compiled, report: &str) -> Option<i64> {
    compiled
        .cir
        .reports
        .iter()
        .find(|r| r.name == report)?
        .strata
        .iter()
        .find_map(|s| match s {
            mid_compiler::cir::Stratum::AgeBand(w) => Some(*w),
            _ => None,
        })
}

fn suppress_threshold(compiled: &Compiled) -> u32 {
    compiled
        .cir
        .reports
        .iter()
        .map(|r| r.suppress_below)
        .max()
        .unwrap_or(10)
        .max(10)
}

fn rel(dir: &Path, p: &Path) -> String {
    p.strip_prefix(dir).unwrap_or(p).display().to_string()
}

fn i64_col(b: &RecordBatch, name: &str) -> Result<Vec<i64>> {
    Ok(opt_i64_col(b, name)?
        .into_iter()
        .map(|v| v.unwrap_or(0))
        .collect())
}

/// A count column; null where it does not apply (another cohort's outcome).
fn opt_i64_col(b: &RecordBatch, name: &str) -> Result<Vec<Option<i64>>> {
    let col = b
        .column_by_name(name)
        .ok_or_else(|| Error::new(format!("missing column {name}")))?;
    let col = arrow::compute::cast(col, &DataType::Int64).map_err(|e| Error::context(name, e))?;
    let a = col
        .as_any()
        .downcast_ref::<Int64Array>()
        .ok_or_else(|| Error::new(format!("column {name} is not a number")))?;
    Ok((0..a.len())
        .map(|i| if a.is_null(i) { None } else { Some(a.value(i)) })
        .collect())
}

/// The suppressed attrition table: step, label, persons before, removed, remaining.
fn attrition_table(b: &RecordBatch, labels: &[String], threshold: u32) -> Result<RecordBatch> {
    let mut remaining = Vec::new();
    for i in 0..labels.len() {
        let v = i64_col(b, &format!("persons_{i}"))?;
        remaining.push(v.first().copied().unwrap_or(0).max(0) as u64);
    }
    let (rem, removed, rounded) = disclosure::attrition(&remaining, threshold);
    let n = labels.len();
    // Row i shows step i's figures; the entry row (0) has none.
    let by_step = |v: &[Shown]| -> Vec<Option<String>> {
        (0..n)
            .map(|i| i.checked_sub(1).map(|j| v[j].text(threshold)))
            .collect()
    };
    let before = by_step(&rem);
    let removed_t = by_step(&removed);
    let remaining_t: Vec<String> = rem.iter().map(|s| s.text(threshold)).collect();
    let schema = Arc::new(Schema::new(vec![
        Field::new("step", DataType::Int64, false),
        Field::new("label", DataType::Utf8, false),
        Field::new("persons_before", DataType::Utf8, true),
        Field::new("removed", DataType::Utf8, true),
        Field::new("remaining", DataType::Utf8, false),
        Field::new("rounded", DataType::Boolean, false),
    ]));
    let cols: Vec<ArrayRef> = vec![
        Arc::new(Int64Array::from((0..n as i64).collect::<Vec<_>>())),
        Arc::new(StringArray::from(labels.to_vec())),
        Arc::new(StringArray::from(before)),
        Arc::new(StringArray::from(removed_t)),
        Arc::new(StringArray::from(remaining_t)),
        Arc::new(BooleanArray::from(vec![rounded; n])),
    ];
    RecordBatch::try_new(schema, cols).map_err(|e| Error::context("attrition table", e))
}

/// The suppressed report: strata as text, counts as text (`<10` where hidden).
fn report_table(
    b: &RecordBatch,
    strata: &[String],
    counts: &[String],
    age_band: Option<i64>,
    threshold: u32,
) -> Result<RecordBatch> {
    let mut fields = Vec::new();
    let mut cols: Vec<ArrayRef> = Vec::new();
    let fmt = FormatOptions::default().with_null("");
    for s in strata {
        let col = b
            .column_by_name(s)
            .ok_or_else(|| Error::new(format!("missing stratum {s}")))?;
        let f = ArrayFormatter::try_new(col.as_ref(), &fmt).map_err(|e| Error::context(s, e))?;
        let mut v: Vec<String> = (0..col.len()).map(|i| f.value(i).to_string()).collect();
        if let (Some(w), "age_band") = (age_band, s.as_str()) {
            // Bands are grouped by their lower bound (so they sort by age) and shown as `60-69`.
            v = v
                .into_iter()
                .map(|lo| {
                    lo.parse::<i64>()
                        .map(|lo| format!("{lo}-{}", lo + w - 1))
                        .unwrap_or(lo)
                })
                .collect();
        }
        fields.push(Field::new(s, DataType::Utf8, false));
        cols.push(Arc::new(StringArray::from(v)));
    }
    let persons = i64_col(b, "persons")?;
    let persons_shown = disclosure::suppress_column(
        &persons.iter().map(|&x| x.max(0) as u64).collect::<Vec<_>>(),
        threshold,
    );
    for name in counts {
        let v = opt_i64_col(b, name)?;
        let applies: Vec<bool> = v.iter().map(Option::is_some).collect();
        let values: Vec<u64> = v.iter().map(|x| x.unwrap_or(0).max(0) as u64).collect();
        let shown = if name == "persons" {
            persons_shown.clone()
        } else {
            disclosure::suppress_column(&values, threshold)
        };
        // A cell of another cohort's outcome does not apply: left empty.
        let text = |i: usize, s: &Shown| {
            if applies[i] {
                s.text(threshold)
            } else {
                String::new()
            }
        };
        fields.push(Field::new(name, DataType::Utf8, false));
        cols.push(Arc::new(StringArray::from(
            shown
                .iter()
                .enumerate()
                .map(|(i, s)| text(i, s))
                .collect::<Vec<_>>(),
        )));
        if name.ends_with("_persons") {
            // Person-time goes with the persons it counts.
            let days_name = name.replace("_persons", "_person_days");
            if let Ok(days) = opt_i64_col(b, &days_name) {
                let t: Vec<String> = days
                    .iter()
                    .zip(&persons_shown)
                    .map(|(d, p)| match d {
                        None => String::new(),
                        Some(_) if p.is_hidden() => "suppressed".to_string(),
                        Some(d) => d.to_string(),
                    })
                    .collect();
                fields.push(Field::new(&days_name, DataType::Utf8, false));
                cols.push(Arc::new(StringArray::from(t)));
            }
        }
    }
    RecordBatch::try_new(Arc::new(Schema::new(fields)), cols)
        .map_err(|e| Error::context("report table", e))
}

fn write_table(path: &Path, b: &RecordBatch, csv: bool) -> Result<()> {
    let file = fs::File::create(path)
        .map_err(|e| Error::context(format!("cannot create {}", path.display()), e))?;
    if csv {
        let mut w = arrow::csv::WriterBuilder::new()
            .with_header(true)
            .build(file);
        w.write(b)
            .map_err(|e| Error::context(format!("cannot write {}", path.display()), e))?;
        return Ok(());
    }
    // Fixed writer properties: the same results give the same bytes.
    let props = WriterProperties::builder()
        .set_created_by("mid".to_string())
        .build();
    let mut w = ArrowWriter::try_new(file, b.schema(), Some(props))
        .map_err(|e| Error::context(format!("cannot write {}", path.display()), e))?;
    w.write(b)
        .map_err(|e| Error::context(format!("cannot write {}", path.display()), e))?;
    w.close()
        .map_err(|e| Error::context(format!("cannot write {}", path.display()), e))?;
    Ok(())
}

/// `<report>.about.json`: what a report counts and the validation of the outcome
/// definitions it uses, kept next to the counts.
#[derive(Serialize)]
struct ReportAbout {
    report: String,
    cohorts: Vec<String>,
    outcomes: Vec<String>,
    strata: Vec<String>,
    suppression: String,
    outcome_definitions: Vec<DefinitionRecord>,
}

fn report_about(c: &Compiled, report: &str, threshold: u32) -> ReportAbout {
    let r = c.cir.reports.iter().find(|r| r.name == report);
    let outcomes: Vec<String> = r.map(|r| r.outcomes.clone()).unwrap_or_default();
    let mut definitions = Vec::new();
    for o in c.cir.outcomes.iter().filter(|o| outcomes.contains(&o.name)) {
        for (name, v) in &o.definitions {
            definitions.push(DefinitionRecord {
                outcome: o.name.clone(),
                definition: name.clone(),
                validation: v.clone(),
            });
        }
    }
    ReportAbout {
        report: report.to_string(),
        cohorts: r.map(|r| r.cohorts.clone()).unwrap_or_default(),
        outcomes,
        strata: r
            .map(|r| {
                r.strata
                    .iter()
                    .map(mid_compiler::cir::Stratum::column)
                    .collect()
            })
            .unwrap_or_default(),
        suppression: format!(
            "counts of 1 to {} persons are shown as <{threshold}; when a column has exactly one such cell its smallest other non-zero cell is hidden too; person-days of hidden cells are hidden",
            threshold - 1
        ),
        outcome_definitions: definitions,
    }
}

/// `run.json`.
#[derive(Serialize)]
struct RunRecord {
    mid_version: &'static str,
    study: Option<String>,
    script: ScriptRecord,
    stdlib_sha256: String,
    plan_sha256: String,
    data: DataRecord,
    started: String,
    finished: String,
    tables: BTreeMap<String, usize>,
    outputs: Vec<Written>,
    outcome_definitions: Vec<DefinitionRecord>,
    disclosure: String,
}

#[derive(Serialize)]
struct ScriptRecord {
    path: String,
    sha256: String,
}

#[derive(Serialize)]
struct DataRecord {
    dir: String,
    cdm_version: Option<String>,
    manifest_fingerprint: Option<String>,
}

#[derive(Serialize)]
struct DefinitionRecord {
    outcome: String,
    definition: String,
    #[serde(flatten)]
    validation: mid_compiler::hir::Validation,
}

fn sha256(bytes: &[u8]) -> String {
    let d = Sha256::digest(bytes);
    d.iter().fold(String::new(), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    })
}

impl RunRecord {
    fn new(
        args: &RunArgs,
        c: &Compiled,
        data: &Path,
        results: &Results,
        written: &[Written],
        started: SystemTime,
        finished: SystemTime,
    ) -> RunRecord {
        let script_bytes = fs::read(&args.file).unwrap_or_default();
        let stdlib: String = mid_compiler::source::stdlib()
            .iter()
            .map(|m| format!("{}\n{}", m.name, m.text))
            .collect();
        let plans = script::plans_text(c, None).unwrap_or_default();
        let manifest = crate::dataset::Manifest::read(data).ok();
        let mut definitions = Vec::new();
        for o in &c.cir.outcomes {
            for (name, v) in &o.definitions {
                definitions.push(DefinitionRecord {
                    outcome: o.name.clone(),
                    definition: name.clone(),
                    validation: v.clone(),
                });
            }
        }
        RunRecord {
            mid_version: env!("CARGO_PKG_VERSION"),
            study: c.cir.study.clone(),
            script: ScriptRecord { path: args.file.display().to_string(), sha256: sha256(&script_bytes) },
            stdlib_sha256: sha256(stdlib.as_bytes()),
            plan_sha256: sha256(plans.as_bytes()),
            data: DataRecord {
                dir: data.display().to_string(),
                cdm_version: manifest.as_ref().map(|m| m.cdm_version.clone()),
                manifest_fingerprint: manifest.as_ref().map(|m| m.fingerprint.clone()),
            },
            started: timestamp(started),
            finished: timestamp(finished),
            tables: results.iter().map(|(k, (_, b))| (k.clone(), b.iter().map(RecordBatch::num_rows).sum())).collect(),
            outputs: written.to_vec(),
            outcome_definitions: definitions,
            disclosure: "aggregate outputs (reports/) show no count below the suppression threshold (10 unless raised): such cells read <10; when a column has a single such cell, its smallest neighbour is withheld too and reads `suppressed` (so the hidden count cannot be recovered from the total); person-days of hidden cells read `suppressed`; and attrition counts are rounded to 10 when a step would reveal a small difference. exports/ are patient-level and stay at the site.".into(),
        }
    }
}

/// UTC time as `YYYY-MM-DDTHH:MM:SSZ`.
fn timestamp(t: SystemTime) -> String {
    let secs = t
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let days = (secs / 86_400) as i32;
    let rem = secs % 86_400;
    format!(
        "{}T{:02}:{:02}:{:02}Z",
        mid_compiler::dates::format(days),
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

fn print_summary(c: &Compiled, results: &Results, written: &[Written], out: &Path, secs: f64) {
    let threshold = suppress_threshold(c);
    for p in &c.plans {
        if let PlanKind::Attrition { cohort, labels } = &p.kind {
            println!("cohort {cohort}");
            if let Ok(b) = batch(results, &p.name)
                && let Ok(t) = attrition_table(&b, labels, threshold)
            {
                print_batch(&t);
            }
        }
        if let PlanKind::Report {
            report,
            strata,
            counts,
        } = &p.kind
        {
            let th = c
                .cir
                .reports
                .iter()
                .find(|r| &r.name == report)
                .map(|r| r.suppress_below)
                .unwrap_or(10);
            println!("report {report}");
            if let Ok(b) = batch(results, &p.name)
                && let Ok(t) = report_table(&b, strata, counts, age_band(c, report), th)
            {
                print_batch(&t.slice(0, t.num_rows().min(30)));
                if t.num_rows() > 30 {
                    println!("  … {} more rows in the file", t.num_rows() - 30);
                }
            }
        }
    }
    for o in &c.cir.outcomes {
        for (name, v) in &o.definitions {
            println!(
                "outcome {} uses {name}: {}",
                o.name,
                mid_compiler::cir::validation(v)
            );
        }
    }
    for w in written {
        let where_ = if w.leaves_site {
            "aggregate"
        } else {
            "patient-level, stays at the site"
        };
        println!(
            "wrote {}/{} ({} rows, {where_})",
            out.display(),
            w.path,
            w.rows
        );
    }
    println!(
        "wrote {}/run.json; counts below {threshold} suppressed in aggregate outputs; {:.1} s",
        out.display(),
        secs
    );
}

fn print_batch(b: &RecordBatch) {
    match arrow::util::pretty::pretty_format_batches(std::slice::from_ref(b)) {
        Ok(t) => println!("{t}"),
        Err(e) => println!("(cannot show the table: {e})"),
    }
}
