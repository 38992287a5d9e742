//! Damaged data is never accepted silently: each kind of damage a hospital's files can carry
//! is run through `mid run` and either stops the run with a message naming the table, column
//! and row count, or is set aside with a warning recorded in the site-only record — the
//! policy docs/reliability.md states. Dictionary-encoded text, as pandas and Arrow writers
//! produce it, is ordinary data.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow::array::{
    Array, ArrayRef, Date32Array, Float64Array, RecordBatch, StringArray, new_null_array,
};
use arrow::datatypes::{DataType, Field, Schema};

use crate::common::{copy_dir, mid_run, read_batches, small_network};
use crate::fixture::write_parquet;

const SCRIPT: &str = r#"import labs.{neutrophil_count}
codes x: drug = yj "2432001"
codes hf: diagnosis = icd10 "I50"
cohort c {
  index = first drug x
  era exposure = drug x gap 30 days grace 7 days
  exclude diagnosis hf where not suspected within 365 days before index
  exclude visit inpatient having index during it
  end = earliest(end of exposure, index + 180 days)
}
outcome low in c = lab neutrophil_count <= 1500 /uL
report c with low by sex
"#;

/// A copy of the small network (without its manifest unless `manifest`), with `damage`
/// applied to every file of `table`.
fn damaged(
    name: &str,
    manifest: bool,
    table: &str,
    damage: impl Fn(RecordBatch) -> RecordBatch,
) -> PathBuf {
    damaged_files(name, manifest, table, usize::MAX, damage)
}

/// As `damaged`, with the damage done to the first file only (so its count is known).
fn damaged_once(name: &str, table: &str, damage: impl Fn(RecordBatch) -> RecordBatch) -> PathBuf {
    damaged_files(name, false, table, 1, damage)
}

fn damaged_files(
    name: &str,
    manifest: bool,
    table: &str,
    files: usize,
    damage: impl Fn(RecordBatch) -> RecordBatch,
) -> PathBuf {
    let dir = tempfile::tempdir().expect("tmp").keep().join(name);
    copy_dir(small_network(), &dir);
    if !manifest {
        std::fs::remove_file(dir.join("manifest.json")).expect("remove the manifest");
    }
    let n = files;
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir.join(table))
        .expect("table dir")
        .map(|e| e.expect("entry").path())
        .collect();
    files.sort();
    for path in files.into_iter().take(n) {
        let batches = read_batches(&path);
        let schema = batches[0].schema();
        let all = arrow::compute::concat_batches(&schema, &batches).expect("concat");
        write_parquet(&path, &damage(all));
    }
    dir
}

/// The batch with column `name` replaced.
fn with(batch: &RecordBatch, name: &str, col: ArrayRef) -> RecordBatch {
    let schema = batch.schema();
    let idx = schema.index_of(name).expect("column");
    let mut fields: Vec<Field> = schema.fields().iter().map(|f| f.as_ref().clone()).collect();
    fields[idx] = Field::new(name, col.data_type().clone(), true);
    let mut cols = batch.columns().to_vec();
    cols[idx] = col;
    RecordBatch::try_new(Arc::new(Schema::new(fields)), cols).expect("batch")
}

/// A text column with the first `n` rows set by `f` (given the old value).
fn text_rows(
    b: &RecordBatch,
    name: &str,
    n: usize,
    f: impl Fn(&str) -> Option<String>,
) -> ArrayRef {
    let col =
        arrow::compute::cast(b.column_by_name(name).expect(name), &DataType::Utf8).expect("text");
    let s = col.as_any().downcast_ref::<StringArray>().expect("utf8");
    Arc::new(StringArray::from(
        (0..s.len())
            .map(|i| {
                let v = (!s.is_null(i)).then(|| s.value(i).to_string());
                if i < n {
                    f(v.as_deref().unwrap_or(""))
                } else {
                    v
                }
            })
            .collect::<Vec<_>>(),
    ))
}

/// A date column's values.
fn dates(b: &RecordBatch, name: &str) -> Vec<Option<i32>> {
    let col = b.column_by_name(name).expect(name);
    let d = col.as_any().downcast_ref::<Date32Array>().expect("date");
    (0..d.len())
        .map(|i| (!d.is_null(i)).then(|| d.value(i)))
        .collect()
}

fn date_col(v: Vec<Option<i32>>) -> ArrayRef {
    Arc::new(Date32Array::from(v))
}

struct Ran {
    code: Option<i32>,
    stderr: String,
    out: PathBuf,
}

fn run(data: &Path, extra: &[&str]) -> Ran {
    let dir = tempfile::tempdir().expect("tmp").keep();
    let script = dir.join("s.mid");
    std::fs::write(&script, SCRIPT).expect("script");
    let out = dir.join("out");
    let mut args = vec!["--csv"];
    args.extend_from_slice(extra);
    let r = mid_run(&script, data, &out, &args);
    Ran {
        code: r.status.code(),
        stderr: String::from_utf8_lossy(&r.stderr).to_string(),
        out,
    }
}

fn refused(r: &Ran, words: &[&str]) {
    assert_eq!(r.code, Some(1), "{}", r.stderr);
    for w in words {
        assert!(r.stderr.contains(w), "missing {w:?} in\n{}", r.stderr);
    }
    assert!(!r.out.exists(), "a refused run writes nothing");
}

/// The site-only record's data problems.
fn site_problems(r: &Ran) -> Vec<serde_json::Value> {
    let text = std::fs::read_to_string(r.out.join("site-only/run-site.json")).expect("site");
    let v: serde_json::Value = serde_json::from_str(&text).expect("json");
    v["data_problems"].as_array().cloned().unwrap_or_default()
}

#[test]
fn empty_keys_and_required_columns_stop_the_run() {
    let data = damaged_once("null-key", "patient", |b| {
        let h = text_rows(&b, "hospital_id", 3, |_| None);
        with(&b, "hospital_id", h)
    });
    refused(&run(&data, &[]), &["`patient.hospital_id`", "3 rows empty"]);

    let data = damaged_once("null-suspected", "diagnosis", |b| {
        let n = b.num_rows();
        with(&b, "suspected", new_null_array(&DataType::Boolean, n))
    });
    refused(&run(&data, &[]), &["`diagnosis.suspected`", "empty"]);

    // An empty date where the contract requires one names its table, not Arrow's wording.
    let data = damaged_once("null-date", "drug", |b| {
        let mut d = dates(&b, "date");
        d[0] = None;
        with(&b, "date", date_col(d))
    });
    refused(&run(&data, &[]), &["`drug.date`", "1 row empty"]);
}

#[test]
fn a_patient_twice_or_a_value_outside_its_set_stops_the_run() {
    let data = damaged_once("twice", "patient", |b| {
        let head = b.slice(0, 5);
        arrow::compute::concat_batches(&b.schema(), &[b.clone(), head]).unwrap()
    });
    refused(
        &run(&data, &[]),
        &["5 rows repeating a patient already listed"],
    );

    let data = damaged_once("female", "patient", |b| {
        let s = text_rows(&b, "sex", 2, |_| Some("female".into()));
        with(&b, "sex", s)
    });
    refused(
        &run(&data, &[]),
        &["`patient.sex`", "not one of M, F, U", "\"female\""],
    );

    let data = damaged_once("observed-backwards", "patient", |b| {
        let first = dates(&b, "first_record_date");
        let mut last = dates(&b, "last_record_date");
        last[0] = first[0].map(|f| f - 1);
        with(&b, "last_record_date", date_col(last))
    });
    refused(
        &run(&data, &[]),
        &["`patient.first_record_date..last_record_date`", "before"],
    );
}

#[test]
fn events_in_the_wrong_order_or_out_of_range_are_set_aside_and_counted() {
    // 10 prescriptions ending before they start, 1 dated 1800, 1 ending at Date32's maximum.
    let data = damaged_once("drug-dates", "drug", |b| {
        let mut date = dates(&b, "date");
        let mut end = dates(&b, "end_date");
        for i in 0..10 {
            end[i] = date[i].map(|d| d - 1);
        }
        date[10] = mid_compiler::dates::parse("1800-06-01");
        end[11] = Some(i32::MAX);
        let b = with(&b, "date", date_col(date));
        with(&b, "end_date", date_col(end))
    });
    let r = run(&data, &[]);
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    assert!(
        r.stderr
            .contains("warning: `drug.date..end_date`: 10 rows with end_date before date"),
        "{}",
        r.stderr
    );
    assert!(
        r.stderr
            .contains("`drug.date`: 1 row with a date before 1900-01-01"),
        "{}",
        r.stderr
    );
    assert!(
        r.stderr
            .contains("`drug.end_date`: 1 row with a date before 1900-01-01 or after 2100-12-31"),
        "{}",
        r.stderr
    );
    let problems = site_problems(&r);
    let rows: Vec<u64> = problems
        .iter()
        .map(|p| p["rows"].as_u64().unwrap())
        .collect();
    assert_eq!(rows.iter().sum::<u64>(), 12, "{problems:?}");
    assert!(problems.iter().all(|p| p["policy"] == "set_aside"));
    // run.json names the problems, never their (possibly small) row counts.
    let record = std::fs::read_to_string(r.out.join("run.json")).unwrap();
    let v: serde_json::Value = serde_json::from_str(&record).unwrap();
    let listed = v["data"]["problems"].as_array().unwrap();
    assert_eq!(listed.len(), 3);
    assert!(listed.iter().all(|p| p.get("rows").is_none()));

    let data = damaged_once("stays-backwards", "visit", |b| {
        let start = dates(&b, "start_date");
        let mut end = dates(&b, "end_date");
        for i in 0..4 {
            end[i] = start[i].map(|d| d - 3);
        }
        with(&b, "end_date", date_col(end))
    });
    let r = run(&data, &[]);
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    assert!(r.stderr.contains("`visit.start_date..end_date`: 4 rows with end_date before start_date; the 4 rows are left out"), "{}", r.stderr);
}

#[test]
fn lab_values_that_are_not_numbers_have_no_value() {
    // Every neutrophil result −inf: read as numbers, all would be ≤ 1,500 /uL.
    let data = damaged("inf", false, "lab", |b| {
        let n = b.num_rows();
        let v: Float64Array = (0..n)
            .map(|i| Some([f64::NEG_INFINITY, f64::NAN, f64::INFINITY][i % 3]))
            .collect();
        with(&b, "value", Arc::new(v))
    });
    let r = run(&data, &[]);
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    assert!(r.stderr.contains("`lab.value`"), "{}", r.stderr);
    assert!(
        r.stderr.contains("not a number (NaN or infinite)"),
        "{}",
        r.stderr
    );
    let report = std::fs::read_to_string(r.out.join("reports/c_with_low.csv")).expect("report");
    let header: Vec<&str> = report
        .lines()
        .next()
        .expect("a header")
        .split(',')
        .collect();
    let low = header
        .iter()
        .position(|h| *h == "low_persons")
        .expect("low_persons");
    for line in report.lines().skip(1) {
        let cells: Vec<&str> = line.split(',').collect();
        assert_eq!(cells[low], "0", "{report}");
    }
}

#[test]
fn an_empty_table_is_said() {
    let data = damaged("no-labs", false, "lab", |b| b.slice(0, 0));
    let r = run(&data, &[]);
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    assert!(r.stderr.contains("table `lab` has no rows"), "{}", r.stderr);
}

#[test]
fn dictionary_encoded_text_is_text() {
    let plain = run(&damaged("plain", false, "drug", |b| b), &[]);
    assert_eq!(plain.code, Some(0), "{}", plain.stderr);
    let data = damaged("dict", false, "drug", |b| {
        let mut out = b.clone();
        for f in b.schema().fields() {
            if f.data_type() == &DataType::Utf8 {
                let dict = arrow::compute::cast(
                    b.column_by_name(f.name()).unwrap(),
                    &DataType::Dictionary(Box::new(DataType::Int32), Box::new(DataType::Utf8)),
                )
                .unwrap();
                out = with(&out, f.name(), dict);
            }
        }
        out
    });
    let dict = run(&data, &[]);
    assert_eq!(dict.code, Some(0), "{}", dict.stderr);
    let report = |r: &Ran| std::fs::read_to_string(r.out.join("reports/c_with_low.csv")).unwrap();
    assert_eq!(report(&plain), report(&dict));
}

#[test]
fn a_damaged_manifest_stops_the_run_and_a_missing_one_is_said() {
    let data = damaged("broken-manifest", true, "drug", |b| b);
    // The rewritten drug files no longer match; restore them from the original network.
    copy_dir(&small_network().join("drug"), &data.join("drug"));
    std::fs::write(data.join("manifest.json"), "{ not json").unwrap();
    refused(&run(&data, &[]), &["manifest is damaged"]);

    let data = damaged("no-manifest", false, "drug", |b| b);
    let r = run(&data, &[]);
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    assert!(r.stderr.contains("manifest.json"), "{}", r.stderr);
}

#[test]
fn a_file_damaged_inside_its_pages_is_found_by_verify() {
    let data = tempfile::tempdir().expect("tmp").keep().join("pages");
    copy_dir(small_network(), &data);
    let file = std::fs::read_dir(data.join("drug"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.extension().is_some_and(|x| x == "parquet"))
        .unwrap();
    // Same size, footer intact: a few bytes in the middle of the data pages flipped.
    let mut bytes = std::fs::read(&file).unwrap();
    let mid = bytes.len() / 3;
    for b in &mut bytes[mid..mid + 16] {
        *b = !*b;
    }
    std::fs::write(&file, &bytes).unwrap();
    let r = run(&data, &["--verify"]);
    refused(&r, &["SHA-256"]);
}

/// The first 5 lab rows of one file given these values: the run goes on without them and
/// says so.
fn five_lab_rows_are_set_aside(name: &str, values: &[(&str, Option<&str>)], said: &str) {
    let data = damaged_once(name, "lab", |b| {
        values.iter().fold(b, |b, (column, value)| {
            let col = text_rows(&b, column, 5, |_| value.map(str::to_string));
            with(&b, column, col)
        })
    });
    let r = run(&data, &[]);
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    assert!(r.stderr.contains(said), "{}", r.stderr);
}

const ANALYTE_SET_ASIDE: &str = "`lab.analyte`: 5 rows with an analyte that is not the first 5 characters of its jlac10; the 5 rows are left out";

#[test]
fn an_analyte_that_is_not_its_codes_start_is_set_aside_and_said() {
    // Plans find JLAC10 codes among their analyte's rows: a neutrophil-count code filed
    // under the white-cell analyte would be missed without a word.
    five_lab_rows_are_set_aside(
        "analyte-of-another-code",
        &[
            ("jlac10", Some("2A990000000000052")),
            ("analyte", Some("2A010")),
        ],
        ANALYTE_SET_ASIDE,
    );
}

#[test]
fn a_specimen_that_is_not_its_codes_is_set_aside_and_said() {
    // Blood items are found by the specimen column: a serum code filed as urine would be
    // missed, a urine code filed as serum read as a serum value, each without a word.
    five_lab_rows_are_set_aside(
        "specimen-of-another-code",
        &[
            ("jlac10", Some("3C015000002327101")),
            ("analyte", Some("3C015")),
            ("specimen", Some("001")),
        ],
        "`lab.specimen`: 5 rows with a specimen that is not characters 10-12 of its jlac10; the 5 rows are left out",
    );
}

#[test]
fn an_analyte_without_a_code_is_set_aside_and_said() {
    // Coverage counts a row without an analyte as unmapped: a row with an analyte but no
    // code would be counted as mapped and matched by analyte-level items, so it is left out.
    five_lab_rows_are_set_aside(
        "analyte-without-code",
        &[("jlac10", None), ("analyte", Some("3B045"))],
        ANALYTE_SET_ASIDE,
    );
}

#[test]
fn the_checks_counts_are_reused_only_while_the_files_are_unchanged() {
    // A hospital runs many scripts on one load of its data: the checks' counts are kept
    // and reused, and any rewrite of a file (here: five rows given another analyte, the
    // same number of rows) has the table checked again.
    let data = tempfile::tempdir().expect("tmp").keep().join("reused");
    copy_dir(small_network(), &data);
    std::fs::remove_file(data.join("manifest.json")).expect("remove the manifest");
    let cache = tempfile::tempdir().expect("cache");
    let run_profiled = |name: &str| {
        let dir = tempfile::tempdir().expect("tmp").keep();
        let out = dir.join(name);
        let script = dir.join("s.mid");
        std::fs::write(&script, SCRIPT).expect("script");
        let r = std::process::Command::new(env!("CARGO_BIN_EXE_mid"))
            .args(["run", &script.display().to_string(), "--data"])
            .arg(&data)
            .arg("--out")
            .arg(&out)
            .args(["--profile", "--color", "never"])
            .env("MID_CACHE_DIR", cache.path())
            .output()
            .expect("mid runs");
        assert_eq!(
            r.status.code(),
            Some(0),
            "{}",
            String::from_utf8_lossy(&r.stderr)
        );
        (String::from_utf8_lossy(&r.stderr).into_owned(), out)
    };
    // The lab table's rows by hospital (its totals, kept like the checks' counts), as the
    // site-only coverage says them.
    let lab_rows = |out: &Path| -> Vec<(String, u64)> {
        let text =
            std::fs::read_to_string(out.join("site-only").join("coverage.json")).expect("coverage");
        let json: serde_json::Value = serde_json::from_str(&text).expect("json");
        json["tables"]["lab"]
            .as_array()
            .expect("lab coverage")
            .iter()
            .map(|h| {
                (
                    h["hospital"].as_str().expect("hospital").to_string(),
                    h["rows"].as_u64().expect("rows"),
                )
            })
            .collect()
    };
    let totals_reused = |stderr: &str| -> bool {
        let at = stderr
            .find("-- tmp_totals_lab (")
            .unwrap_or_else(|| panic!("no lab totals in\n{stderr}"));
        let rest = &stderr[at..];
        let next = rest.find("\n").map_or("", |i| &rest[i + 1..]);
        next.starts_with("(reused: the files of `lab` are unchanged")
    };
    let checked = |stderr: &str, table: &str| -> bool {
        let line = stderr
            .lines()
            .find(|l| l.starts_with(&format!("-- data checks of `{table}`")))
            .unwrap_or_else(|| panic!("no checks of {table} in\n{stderr}"));
        !line.contains("counts reused")
    };
    // `mid inspect` (what a data officer runs after loading) checks every column: a script
    // then reuses its counts.
    let inspect = std::process::Command::new(env!("CARGO_BIN_EXE_mid"))
        .args(["inspect", "--data"])
        .arg(&data)
        .env("MID_CACHE_DIR", cache.path())
        .output()
        .expect("mid inspect runs");
    let said = String::from_utf8_lossy(&inspect.stdout);
    assert!(
        said.contains("validation: 1 problem") && said.contains("manifest.json is missing"),
        "only the manifest (removed above) is missing: {said}"
    );
    let (first, first_out) = run_profiled("first");
    assert!(
        !checked(&first, "lab") && !checked(&first, "patient"),
        "{first}"
    );
    assert!(!first.contains(ANALYTE_SET_ASIDE));
    assert!(!totals_reused(&first), "{first}");
    let rows_first = lab_rows(&first_out);

    let mut files: Vec<PathBuf> = std::fs::read_dir(data.join("lab"))
        .expect("lab")
        .map(|e| e.expect("entry").path())
        .collect();
    files.sort();
    let batches = read_batches(&files[0]);
    let all = arrow::compute::concat_batches(&batches[0].schema(), &batches).expect("concat");
    let jlac10 = text_rows(&all, "jlac10", 5, |_| Some("2A990000000000052".into()));
    let analyte = text_rows(&all, "analyte", 5, |_| Some("2A010".into()));
    write_parquet(
        &files[0],
        &with(&with(&all, "jlac10", jlac10), "analyte", analyte),
    );

    let (second, second_out) = run_profiled("second");
    assert!(checked(&second, "lab"), "{second}");
    assert!(
        !checked(&second, "patient"),
        "the patients did not change: {second}"
    );
    assert!(second.contains(ANALYTE_SET_ASIDE), "{second}");
    // The table's totals are counted again, without the five rows set aside.
    assert!(!totals_reused(&second), "{second}");
    let rows_second = lab_rows(&second_out);
    let less: Vec<u64> = rows_first
        .iter()
        .zip(&rows_second)
        .map(|((h1, n1), (h2, n2))| {
            assert_eq!(h1, h2);
            n1 - n2
        })
        .collect();
    assert_eq!(
        less.iter().sum::<u64>(),
        5,
        "{rows_first:?} {rows_second:?}"
    );
    // The script's own counts were kept: reused, they say the same.
    let (third, third_out) = run_profiled("third");
    assert!(!checked(&third, "lab"), "{third}");
    assert!(third.contains(ANALYTE_SET_ASIDE), "{third}");
    assert!(totals_reused(&third), "{third}");
    assert_eq!(lab_rows(&third_out), rows_second);
}
