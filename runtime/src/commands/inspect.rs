//! `mid inspect`: summarise a CDM data set and validate it against the contract with the
//! one contract validator `mid run` uses too (`dataset::contract`). Streams every Parquet
//! file once; reports every mismatch.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use arrow::array::{Array, BooleanArray, Date32Array, RecordBatch, StringArray};
use mid_compiler::cdm::{CDM_VERSION, Table};
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use serde_json::json;

use crate::dataset::content;
use crate::dataset::contract::{self, ColumnProblem};
use crate::dataset::{self, Manifest, group_thousands};
use crate::error::Result;

/// Arguments of `mid inspect`.
#[derive(Debug, Clone, clap::Args)]
pub struct InspectArgs {
    /// The data set directory; the built-in demo network when absent.
    #[arg(long)]
    pub data: Option<PathBuf>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
    /// How many of the most frequent codes to show per domain.
    #[arg(long, default_value_t = 10)]
    pub top: usize,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    Text,
    Json,
}

/// Everything learnt from the files.
#[derive(Default)]
struct Report {
    problems: Vec<String>,
    /// Row problems a run works around (rows set aside, values read as missing).
    warnings: Vec<String>,
    rows: BTreeMap<&'static str, u64>,
    files: BTreeMap<&'static str, Vec<String>>,
    date_min: Option<i32>,
    date_max: Option<i32>,
    patients: BTreeMap<String, u64>,
    codes: BTreeMap<&'static str, HashMap<String, u64>>,
    /// hospital → (rows, unmapped rows) for lab and drug.
    unmapped_lab: BTreeMap<String, (u64, u64)>,
    /// (analyte, unit as written, hospital) → lab rows with a value whose unit the catalogue
    /// cannot convert for any item of that analyte.
    unconvertible: BTreeMap<(String, String, String), u64>,
    /// The catalogue's convertible units by analyte (normalised spellings).
    units_by_analyte: BTreeMap<String, BTreeSet<String>>,
    unmapped_drug: BTreeMap<String, (u64, u64)>,
    /// hospital → the hospital's own code of drug rows with no YJ code → rows: what a study
    /// adds as `local "H01:…"` codes.
    unmapped_drug_codes: BTreeMap<String, HashMap<String, u64>>,
    /// Drug rows by product category (`none`: no product known).
    product_kinds: BTreeMap<String, u64>,
}

pub fn run(args: &InspectArgs) -> Result<ExitCode> {
    let dir = dataset::resolve_data(args.data.as_deref())?;
    if !dir.is_dir() {
        crate::errln!("error: {} is not a directory", dir.display());
        return Ok(ExitCode::from(2));
    }
    let mut report = Report {
        units_by_analyte: catalogue_units(),
        ..Report::default()
    };
    let manifest = match Manifest::read(&dir) {
        Ok(m) => {
            if m.cdm_version != CDM_VERSION {
                report.problems.push(format!(
                    "manifest.json: cdm_version {} differs from the contract's {}",
                    m.cdm_version, CDM_VERSION
                ));
            }
            Some(m)
        }
        Err(e) => {
            let missing = !dir.join("manifest.json").exists();
            report.problems.push(if missing {
                "manifest.json is missing".to_string()
            } else {
                e
            });
            None
        }
    };
    // Tables whose files have the contract's shape: only their rows can be checked.
    let mut shaped = Vec::new();
    for t in Table::ALL {
        let before = report.problems.len();
        check_table(&dir, t, &mut report);
        if report.problems.len() == before {
            shaped.push(t);
        }
    }
    if let Some(m) = &manifest {
        check_manifest(&dir, m, &mut report);
    }
    // The rows, with the checks `mid run` applies, of the tables that have the contract's shape.
    let mut columns = content::all_columns();
    columns.retain(|t, _| shaped.contains(t));
    let rt = crate::runtime()?;
    let content = rt.block_on(async {
        let engine = crate::engine::Engine::open(&dir).await?;
        content::check(&engine.ctx, &engine.sources, columns).await
    })?;
    for f in &content.findings {
        let line = f.describe();
        if f.policy == content::Policy::Refused {
            report.problems.push(line);
        } else {
            report.warnings.push(line);
        }
    }
    for t in Table::ALL.iter().filter(|t| !shaped.contains(t)) {
        report.warnings.push(format!(
            "the rows of table `{t}` were not checked: its files do not have the contract's shape"
        ));
    }
    match args.format {
        Format::Text => print_text(&dir, manifest.as_ref(), &report, args.top),
        Format::Json => print_json(&dir, manifest.as_ref(), &report, args.top),
    }
    Ok(if report.problems.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

/// A table's Parquet files, relative to the data set (`drug/H01.parquet`).
fn parquet_files(dir: &Path, t: Table) -> std::io::Result<Vec<String>> {
    Ok(dataset::files::parquet_files(&dir.join(t.name()))?
        .iter()
        .filter_map(|p| p.file_name()?.to_str().map(|n| format!("{}/{n}", t.name())))
        .collect())
}

fn check_table(dir: &Path, t: Table, report: &mut Report) {
    let tdir = dir.join(t.name());
    if !tdir.is_dir() {
        report
            .problems
            .push(format!("table {t}: directory {t}/ is missing"));
        return;
    }
    let files = match parquet_files(dir, t) {
        Ok(f) => f,
        Err(e) => {
            report
                .problems
                .push(format!("table {t}: cannot list {t}/: {e}"));
            return;
        }
    };
    if files.is_empty() {
        report
            .problems
            .push(format!("table {t}: no Parquet files in {t}/"));
    }
    let mut rows = 0;
    for f in &files {
        rows += check_file(dir, t, f, report);
    }
    report.rows.insert(t.name(), rows);
    report.files.insert(t.name(), files);
}

/// Validates and summarises one file; returns its row count.
fn check_file(dir: &Path, t: Table, relative: &str, report: &mut Report) -> u64 {
    let path = dir.join(relative);
    let file = match File::open(&path) {
        Ok(f) => f,
        Err(e) => {
            report
                .problems
                .push(format!("{relative}: cannot open: {e}"));
            return 0;
        }
    };
    let builder = match ParquetRecordBatchReaderBuilder::try_new(file) {
        Ok(b) => b.with_batch_size(65_536),
        Err(e) => {
            report.problems.push(format!(
                "{relative}: unreadable or corrupt Parquet file: {e}"
            ));
            return 0;
        }
    };
    let schema = builder.schema().clone();
    // Which contract columns can be checked in this file (present, right type).
    let mut usable = vec![false; t.columns().len()];
    for (k, c) in t.columns().iter().enumerate() {
        match contract::check_column(schema.field_with_name(c.name).ok(), c) {
            Some(ColumnProblem::Missing) => report.problems.push(format!(
                "{relative}: column `{}` is missing (table {t})",
                c.name
            )),
            Some(ColumnProblem::WrongType { found }) => report.problems.push(format!(
                "{relative}: column `{}` has type {}, expected {} (table {t})",
                c.name,
                contract::type_word(&found),
                contract::column_word(c.ty)
            )),
            None => usable[k] = true,
        }
    }
    let reader = match builder.build() {
        Ok(r) => r,
        Err(e) => {
            report
                .problems
                .push(format!("{relative}: cannot read: {e}"));
            return 0;
        }
    };
    let mut rows = 0;
    for batch in reader {
        let batch = match batch {
            Ok(b) => b,
            Err(e) => {
                report
                    .problems
                    .push(format!("{relative}: corrupt data after {rows} rows: {e}"));
                break;
            }
        };
        rows += batch.num_rows() as u64;
        summarise(t, &plain_text(batch), &usable, report);
    }
    rows
}

/// The batch with its text columns as plain Utf8, however the file stored them (dictionary,
/// large or view strings), so the summaries read them alike.
fn plain_text(batch: RecordBatch) -> RecordBatch {
    use arrow::datatypes::{DataType, Field, Schema};
    let stored_text = |t: &DataType| match t {
        DataType::LargeUtf8 | DataType::Utf8View => true,
        DataType::Dictionary(_, v) => {
            matches!(
                **v,
                DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View
            )
        }
        _ => false,
    };
    if !batch
        .schema()
        .fields()
        .iter()
        .any(|f| stored_text(f.data_type()))
    {
        return batch;
    }
    let mut fields = Vec::new();
    let mut columns = Vec::new();
    for (f, col) in batch.schema().fields().iter().zip(batch.columns()) {
        if stored_text(f.data_type())
            && let Ok(c) = arrow::compute::cast(col, &DataType::Utf8)
        {
            fields.push(Field::new(f.name(), DataType::Utf8, f.is_nullable()));
            columns.push(c);
            continue;
        }
        fields.push(f.as_ref().clone());
        columns.push(col.clone());
    }
    RecordBatch::try_new(std::sync::Arc::new(Schema::new(fields)), columns).unwrap_or(batch)
}

/// The units the stdlib's lab catalogue converts, by analyte (for items matched by analyte).
fn catalogue_units() -> BTreeMap<String, BTreeSet<String>> {
    let mut out: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for lab in mid_compiler::lower::stdlib_labs() {
        let (Some(mid_compiler::cir::Codes::Match { system, code, .. }), Some(unit)) =
            (&lab.codes, &lab.unit)
        else {
            continue;
        };
        if *system != mid_compiler::codes::System::Analyte {
            continue;
        }
        let set = out.entry(code.clone()).or_default();
        set.extend(lab.units.iter().map(|c| c.unit.clone()));
        if mid_compiler::units::lookup(unit)
            .is_some_and(|u| u.dimension == mid_compiler::units::Dimension::Ratio)
        {
            set.insert(String::new());
        }
    }
    out
}

fn strings<'a>(b: &'a RecordBatch, name: &str) -> Option<&'a StringArray> {
    b.column_by_name(name)?
        .as_any()
        .downcast_ref::<StringArray>()
}

fn summarise(t: Table, b: &RecordBatch, usable: &[bool], report: &mut Report) {
    let ok = |name: &str| {
        t.columns()
            .iter()
            .position(|c| c.name == name)
            .is_some_and(|k| usable[k])
    };
    let date_cols: &[&str] = match t {
        Table::Patient => &["first_record_date", "last_record_date"],
        Table::Visit => &["start_date", "end_date"],
        _ => &["date"],
    };
    for name in date_cols {
        if !ok(name) {
            continue;
        }
        if let Some(d) = b
            .column_by_name(name)
            .and_then(|c| c.as_any().downcast_ref::<Date32Array>())
        {
            for v in d.iter().flatten() {
                report.date_min = Some(report.date_min.map_or(v, |m| m.min(v)));
                report.date_max = Some(report.date_max.map_or(v, |m| m.max(v)));
            }
        }
    }
    let hospitals = if ok("hospital_id") {
        strings(b, "hospital_id")
    } else {
        None
    };
    match t {
        Table::Patient => {
            if let Some(h) = hospitals {
                for v in h.iter().flatten() {
                    *report.patients.entry(v.to_string()).or_default() += 1;
                }
            }
        }
        Table::Diagnosis => count_codes(
            report,
            "icd10",
            strings(b, "icd10").filter(|_| ok("icd10")),
            usize::MAX,
        ),
        Table::Drug => {
            let yj = strings(b, "yj_code").filter(|_| ok("yj_code"));
            count_codes(report, "yj ingredient", yj, 7);
            if let (Some(h), Some(yj)) = (hospitals, yj) {
                let generic = b
                    .column_by_name("generic_name_only")
                    .and_then(|c| c.as_any().downcast_ref::<BooleanArray>());
                let local = strings(b, "local_code").filter(|_| ok("local_code"));
                for i in 0..h.len() {
                    let e = report
                        .unmapped_drug
                        .entry(h.value(i).to_string())
                        .or_default();
                    e.0 += 1;
                    let named = generic.is_some_and(|g| g.is_valid(i) && g.value(i));
                    if yj.is_null(i) && !named {
                        e.1 += 1;
                        if let Some(l) = local
                            && l.is_valid(i)
                        {
                            *report
                                .unmapped_drug_codes
                                .entry(h.value(i).to_string())
                                .or_default()
                                .entry(l.value(i).to_string())
                                .or_default() += 1;
                        }
                    }
                }
            }
            if let Some(k) = strings(b, "product_kind").filter(|_| ok("product_kind")) {
                for v in k.iter() {
                    *report
                        .product_kinds
                        .entry(v.unwrap_or("none").to_string())
                        .or_default() += 1;
                }
            }
        }
        Table::Lab => {
            let analyte = strings(b, "analyte").filter(|_| ok("analyte"));
            count_codes(report, "lab analyte", analyte, usize::MAX);
            let value = b
                .column_by_name("value")
                .filter(|_| ok("value"))
                .map(|c| c.is_valid(0) || c.null_count() < c.len())
                .is_some();
            if let (Some(h), Some(a), Some(u), true) = (
                hospitals,
                analyte,
                strings(b, "unit").filter(|_| ok("unit")),
                value,
            ) {
                let values = b.column_by_name("value").expect("checked above");
                for i in 0..h.len() {
                    if a.is_null(i) || !values.is_valid(i) {
                        continue;
                    }
                    let Some(known) = report.units_by_analyte.get(a.value(i)) else {
                        continue;
                    };
                    let written = if u.is_null(i) { "" } else { u.value(i) };
                    if !known.contains(&mid_compiler::units::normalise(written)) {
                        *report
                            .unconvertible
                            .entry((
                                a.value(i).to_string(),
                                written.to_string(),
                                h.value(i).to_string(),
                            ))
                            .or_default() += 1;
                    }
                }
            }
            if let (Some(h), Some(j)) = (hospitals, strings(b, "jlac10").filter(|_| ok("jlac10"))) {
                for i in 0..h.len() {
                    let e = report
                        .unmapped_lab
                        .entry(h.value(i).to_string())
                        .or_default();
                    e.0 += 1;
                    if j.is_null(i) {
                        e.1 += 1;
                    }
                }
            }
        }
        Table::Procedure => count_codes(
            report,
            "procedure",
            strings(b, "code").filter(|_| ok("code")),
            usize::MAX,
        ),
        Table::Visit => {}
    }
}

fn count_codes(
    report: &mut Report,
    domain: &'static str,
    codes: Option<&StringArray>,
    prefix: usize,
) {
    let Some(codes) = codes else { return };
    let m = report.codes.entry(domain).or_default();
    for v in codes.iter().flatten() {
        let key = v.get(..prefix.min(v.len())).unwrap_or(v);
        if let Some(n) = m.get_mut(key) {
            *n += 1;
        } else {
            m.insert(key.to_string(), 1);
        }
    }
}

fn check_manifest(dir: &Path, m: &Manifest, report: &mut Report) {
    for t in Table::ALL {
        let Some(entry) = m.tables.get(t.name()) else {
            report
                .problems
                .push(format!("manifest.json: no entry for table {t}"));
            continue;
        };
        let Some(files) = report.files.get(t.name()) else {
            continue;
        };
        if *files != entry.files {
            report.problems.push(format!(
                "table {t}: files on disk ({}) differ from manifest.json ({})",
                files.join(", "),
                entry.files.join(", ")
            ));
            continue;
        }
        if let Some(&rows) = report.rows.get(t.name())
            && rows != entry.rows
        {
            {
                report.problems.push(format!(
                    "table {t}: {} rows on disk, manifest.json says {}",
                    group_thousands(rows),
                    group_thousands(entry.rows)
                ));
            }
        }
        match dataset::fingerprint::fingerprint_files(dir, files) {
            Ok(fp) if fp != entry.fingerprint => report.problems.push(format!(
                "table {t}: content fingerprint {} differs from manifest.json ({}): the files changed since they were written",
                fp.get(..12).unwrap_or(&fp),
                entry.fingerprint.get(..12).unwrap_or(&entry.fingerprint)
            )),
            Ok(_) => {}
            Err(e) => report.problems.push(format!("table {t}: {e}")),
        }
    }
}

fn top(m: &HashMap<String, u64>, n: usize) -> Vec<(String, u64)> {
    let mut v: Vec<(String, u64)> = m.iter().map(|(k, c)| (k.clone(), *c)).collect();
    v.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    v.truncate(n);
    v
}

fn share(e: Option<&(u64, u64)>) -> Option<f64> {
    e.filter(|e| e.0 > 0).map(|e| e.1 as f64 / e.0 as f64)
}

const DOMAINS: [&str; 4] = ["icd10", "yj ingredient", "lab analyte", "procedure"];

fn print_text(dir: &Path, m: Option<&Manifest>, r: &Report, n: usize) {
    crate::outln!("data set: {}", dir.display());
    if let Some(m) = m {
        crate::outln!(
            "manifest: cdm {}, {} {}{}",
            m.cdm_version,
            m.generator.name,
            m.generator.version,
            m.seed.map(|s| format!(", seed {s}")).unwrap_or_default()
        );
        crate::outln!(
            "data period: {} to {}",
            m.data_period.start,
            m.data_period.end
        );
    }
    if let (Some(a), Some(b)) = (r.date_min, r.date_max) {
        crate::outln!(
            "dates found: {} to {}",
            mid_compiler::dates::format(a),
            mid_compiler::dates::format(b)
        );
    }
    crate::outln!("tables:");
    for t in Table::ALL {
        if let Some(rows) = r.rows.get(t.name()) {
            let files = r.files.get(t.name()).map_or(0, Vec::len);
            crate::outln!(
                "  {:<10} {:>14} rows in {files} file(s)",
                t.name(),
                group_thousands(*rows)
            );
        }
    }
    crate::outln!("hospitals:");
    for (h, p) in &r.patients {
        let lab =
            share(r.unmapped_lab.get(h)).map_or("-".into(), |s| format!("{:.1} %", s * 100.0));
        let drug =
            share(r.unmapped_drug.get(h)).map_or("-".into(), |s| format!("{:.1} %", s * 100.0));
        crate::outln!(
            "  {h:<4} {:>10} patients   unmapped lab {lab:>7}   unmapped drug {drug:>7}",
            group_thousands(*p)
        );
    }
    let products: u64 = r.product_kinds.values().sum();
    if products > 0 {
        let list: Vec<String> = ["brand", "generic", "other", "none"]
            .iter()
            .map(|k| {
                let n = r.product_kinds.get(*k).copied().unwrap_or(0);
                format!("{k} {:.1} %", 100.0 * n as f64 / products as f64)
            })
            .collect();
        crate::outln!(
            "drug rows by product category: {} (none: generic-name orders and unmapped rows)",
            list.join(", ")
        );
    }
    if !r.unmapped_drug_codes.is_empty() {
        crate::outln!(
            "most frequent unmapped drug codes (the hospital's own; a study adds them as local \"H:code\"):"
        );
        for (h, m) in &r.unmapped_drug_codes {
            let list: Vec<String> = top(m, n)
                .into_iter()
                .map(|(c, k)| format!("{c} ({})", group_thousands(k)))
                .collect();
            crate::outln!("  {h}: {}", list.join(", "));
        }
    }
    crate::outln!("most frequent codes:");
    for d in DOMAINS {
        if let Some(m) = r.codes.get(d) {
            let list: Vec<String> = top(m, n)
                .into_iter()
                .map(|(c, k)| format!("{c} ({})", group_thousands(k)))
                .collect();
            crate::outln!("  {d}: {}", list.join(", "));
        }
    }
    if r.unconvertible.is_empty() {
        crate::outln!("lab units: every result's unit is one the catalogue converts");
    } else {
        crate::outln!("lab units the catalogue cannot convert (those results have no value):");
        for ((analyte, unit, hospital), rows) in &r.unconvertible {
            crate::outln!(
                "  {analyte} `{unit}` at {hospital}: {} rows",
                group_thousands(*rows)
            );
        }
    }
    if r.problems.is_empty() {
        crate::outln!("validation: the data set matches the contract (cdm {CDM_VERSION})");
    } else {
        crate::outln!("validation: {} problem(s)", r.problems.len());
        for p in &r.problems {
            crate::outln!("  - {p}");
        }
    }
    for w in &r.warnings {
        crate::outln!("  warning: {w}");
    }
}

fn print_json(dir: &Path, m: Option<&Manifest>, r: &Report, n: usize) {
    let tables: serde_json::Map<String, serde_json::Value> = Table::ALL
        .iter()
        .filter_map(|t| {
            let rows = r.rows.get(t.name())?;
            Some((
                t.name().to_string(),
                json!({"rows": rows, "files": r.files.get(t.name())}),
            ))
        })
        .collect();
    let hospitals: Vec<serde_json::Value> = r
        .patients
        .iter()
        .map(|(h, p)| {
            json!({
                "id": h,
                "patients": p,
                "unmapped_lab_share": share(r.unmapped_lab.get(h)),
                "unmapped_drug_share": share(r.unmapped_drug.get(h)),
            })
        })
        .collect();
    let codes: serde_json::Map<String, serde_json::Value> = DOMAINS
        .iter()
        .filter_map(|d| {
            let m = r.codes.get(d)?;
            let list: Vec<serde_json::Value> = top(m, n)
                .into_iter()
                .map(|(c, k)| json!({"code": c, "rows": k}))
                .collect();
            Some((d.to_string(), serde_json::Value::Array(list)))
        })
        .collect();
    let out = json!({
        "data": dir.display().to_string(),
        "cdm_version": m.map(|m| m.cdm_version.clone()),
        "data_period": m.map(|m| json!({"start": m.data_period.start, "end": m.data_period.end})),
        "dates_found": r.date_min.zip(r.date_max).map(|(a, b)| json!({"start": mid_compiler::dates::format(a), "end": mid_compiler::dates::format(b)})),
        "tables": tables,
        "hospitals": hospitals,
        "top_codes": codes,
        "drug_rows_by_product_kind": r.product_kinds,
        "top_unmapped_drug_codes": r.unmapped_drug_codes.iter().map(|(h, m)| (h.clone(), top(m, n).into_iter().map(|(c, k)| json!({"code": c, "rows": k})).collect::<Vec<_>>())).collect::<BTreeMap<_, _>>(),
        "unconvertible_lab_units": r.unconvertible.iter().map(|((a, u, h), n)| json!({"analyte": a, "unit": u, "hospital": h, "rows": n})).collect::<Vec<_>>(),
        "valid": r.problems.is_empty(),
        "problems": r.problems,
        "warnings": r.warnings,
    });
    crate::outln!("{}", serde_json::to_string_pretty(&out).unwrap_or_default());
}
