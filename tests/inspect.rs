//! `mid inspect`: summaries, and every kind of contract mismatch on broken copies.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow::array::{Array, ArrayRef, RecordBatch, StringArray};
use arrow::datatypes::{DataType, Field, Schema};
use parquet::arrow::ArrowWriter;

use crate::common::{copy_dir, mid, read_batches, small_network};

/// A fresh copy of the small network to break.
fn broken() -> (tempfile::TempDir, PathBuf) {
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path().join("net");
    copy_dir(small_network(), &dir);
    (tmp, dir)
}

fn inspect(dir: &Path) -> (i32, String) {
    let o = mid(&["inspect", "--data", dir.to_str().expect("utf-8")]);
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    (o.status.code().unwrap_or(-1), text)
}

/// Rewrites one Parquet file through `f` (batch → batch).
fn rewrite(path: &Path, f: impl Fn(&RecordBatch) -> RecordBatch) {
    let batches: Vec<RecordBatch> = read_batches(path).iter().map(f).collect();
    let schema = batches[0].schema();
    let file = std::fs::File::create(path).expect("create");
    let mut w = ArrowWriter::try_new(file, schema, None).expect("writer");
    for b in &batches {
        w.write(b).expect("write");
    }
    w.close().expect("close");
}

/// Replaces column `name` by `make(old column)` with the given field.
fn replace_column(
    b: &RecordBatch,
    name: &str,
    field: Field,
    make: impl Fn(&ArrayRef) -> ArrayRef,
) -> RecordBatch {
    let schema = b.schema();
    let mut fields: Vec<Field> = Vec::new();
    let mut cols: Vec<ArrayRef> = Vec::new();
    for (f, c) in schema.fields().iter().zip(b.columns()) {
        if f.name() == name {
            fields.push(field.clone());
            cols.push(make(c));
        } else {
            fields.push(f.as_ref().clone());
            cols.push(c.clone());
        }
    }
    RecordBatch::try_new(Arc::new(Schema::new(fields)), cols).expect("batch")
}

#[test]
fn a_valid_data_set_passes_with_a_summary() {
    let (code, text) = inspect(small_network());
    assert_eq!(code, 0, "{text}");
    for want in [
        "patient",
        "lab",
        "H01",
        "H02",
        "unmapped lab",
        "icd10:",
        "yj ingredient:",
        "lab analyte:",
        "procedure:",
        "matches the contract",
        "data period: 2009-01-01 to 2024-12-31",
    ] {
        assert!(text.contains(want), "{want:?} in:\n{text}");
    }
    let o = mid(&[
        "inspect",
        "--data",
        small_network().to_str().expect("utf-8"),
        "--format",
        "json",
        "--top",
        "3",
    ]);
    assert_eq!(o.status.code(), Some(0));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).expect("json");
    assert_eq!(v["valid"], true);
    assert_eq!(v["top_codes"]["icd10"].as_array().map(Vec::len), Some(3));
    assert_eq!(v["tables"]["patient"]["rows"], 1_500);
    // Each hospital's most frequent unmapped drug codes, with their rows as SQL counts them.
    let top = v["top_unmapped_drug_codes"]["H01"].as_array().expect("H01");
    assert_eq!(top.len(), 3);
    for t in top {
        let code = t["code"].as_str().expect("code");
        let b = crate::differential::sql(
            small_network(),
            &format!(
                "SELECT count(*) FROM drug WHERE hospital_id = 'H01' AND local_code = '{code}' \
                 AND yj_code IS NULL AND NOT generic_name_only"
            ),
        );
        let n = b
            .column(0)
            .as_any()
            .downcast_ref::<arrow::array::Int64Array>()
            .expect("count")
            .value(0);
        assert_eq!(t["rows"], n, "{code}");
    }
    let kinds = &v["drug_rows_by_product_kind"];
    let sum: u64 = ["brand", "generic", "none"]
        .iter()
        .map(|k| {
            kinds[k]
                .as_u64()
                .unwrap_or_else(|| panic!("{k} in {kinds}"))
        })
        .sum();
    assert_eq!(Some(sum), v["tables"]["drug"]["rows"].as_u64());
    assert!(text.contains("most frequent unmapped drug codes"), "{text}");
    assert!(
        text.contains("drug rows by product category: brand"),
        "{text}"
    );
}

#[test]
fn usage_errors_exit_2() {
    assert_eq!(
        mid(&["inspect", "--data", "/nonexistent/mid-data"])
            .status
            .code(),
        Some(2)
    );
    assert_eq!(mid(&["inspect", "--format", "xml"]).status.code(), Some(2));
}

#[test]
fn missing_table_and_missing_manifest() {
    let (_tmp, dir) = broken();
    std::fs::remove_dir_all(dir.join("procedure")).expect("rm");
    std::fs::remove_file(dir.join("manifest.json")).expect("rm");
    let (code, text) = inspect(&dir);
    assert_eq!(code, 1, "{text}");
    assert!(
        text.contains("table procedure: directory procedure/ is missing"),
        "{text}"
    );
    assert!(text.contains("manifest.json is missing"), "{text}");
}

#[test]
fn no_parquet_files_and_corrupt_file() {
    let (_tmp, dir) = broken();
    for e in std::fs::read_dir(dir.join("visit")).expect("list") {
        std::fs::remove_file(e.expect("entry").path()).expect("rm");
    }
    std::fs::write(dir.join("drug/H02.parquet"), b"PAR1 this is not parquet").expect("write");
    let (code, text) = inspect(&dir);
    assert_eq!(code, 1, "{text}");
    assert!(
        text.contains("table visit: no Parquet files in visit/"),
        "{text}"
    );
    assert!(
        text.contains("drug/H02.parquet: unreadable or corrupt Parquet file"),
        "{text}"
    );
    assert!(text.contains("table drug: content fingerprint"), "{text}");
}

#[test]
fn missing_column_wrong_type_nulls_and_values_outside_the_closed_set() {
    let (_tmp, dir) = broken();
    // lab: drop `analyte`.
    rewrite(&dir.join("lab/H01.parquet"), |b| {
        let keep: Vec<usize> = (0..b.num_columns())
            .filter(|&i| b.schema().field(i).name() != "analyte")
            .collect();
        b.project(&keep).expect("project")
    });
    // patient: patient_id as text, and a sex outside M/F/U.
    rewrite(&dir.join("patient/H01.parquet"), |b| {
        let b = replace_column(
            b,
            "patient_id",
            Field::new("patient_id", DataType::Utf8, false),
            |c| arrow::compute::cast(c, &DataType::Utf8).expect("cast"),
        );
        replace_column(&b, "sex", Field::new("sex", DataType::Utf8, false), |c| {
            let s = c.as_any().downcast_ref::<StringArray>().expect("text");
            Arc::new(StringArray::from_iter_values(
                s.iter()
                    .enumerate()
                    .map(|(i, v)| if i % 10 == 0 { "X" } else { v.unwrap_or("U") }),
            ))
        })
    });
    // visit: nulls in `kind`, which the contract forbids.
    rewrite(&dir.join("visit/H02.parquet"), |b| {
        replace_column(b, "kind", Field::new("kind", DataType::Utf8, true), |c| {
            let s = c.as_any().downcast_ref::<StringArray>().expect("text");
            Arc::new(
                s.iter()
                    .enumerate()
                    .map(|(i, v)| if i % 7 == 0 { None } else { v })
                    .collect::<StringArray>(),
            )
        })
    });
    let (code, text) = inspect(&dir);
    assert_eq!(code, 1, "{text}");
    for want in [
        "lab/H01.parquet: column `analyte` is missing (table lab)",
        "patient/H01.parquet: column `patient_id` has type Text, expected Int64 (table patient)",
        // A table of the wrong shape cannot have its rows checked, and says so.
        "the rows of table `patient` were not checked",
        "`visit.kind`: ",
        "empty, which the contract does not allow",
        "table lab: content fingerprint",
    ] {
        assert!(text.contains(want), "{want:?} in:\n{text}");
    }
    // Every mismatch is reported, not only the first.
    assert!(
        text.lines()
            .filter(|l| l.trim_start().starts_with("- "))
            .count()
            >= 6,
        "{text}"
    );

    // With the shape right, a value outside the closed set is found in the rows.
    let (_tmp, dir) = broken();
    rewrite(&dir.join("patient/H01.parquet"), |b| {
        replace_column(b, "sex", Field::new("sex", DataType::Utf8, false), |c| {
            let s = c.as_any().downcast_ref::<StringArray>().expect("text");
            Arc::new(StringArray::from_iter_values(
                s.iter()
                    .enumerate()
                    .map(|(i, v)| if i % 10 == 0 { "X" } else { v.unwrap_or("U") }),
            ))
        })
    });
    let (code, text) = inspect(&dir);
    assert_eq!(code, 1, "{text}");
    assert!(
        text.contains("`patient.sex`: ") && text.contains("not one of M, F, U (e.g. \"X\")"),
        "{text}"
    );
}

#[test]
fn demo_network_is_generated_once_even_when_two_processes_race() {
    let cache = tempfile::tempdir().expect("tempdir");
    let run = || {
        std::process::Command::new(env!("CARGO_BIN_EXE_mid"))
            .args(["inspect", "--top", "2"])
            .env("MID_CACHE_DIR", cache.path())
            .output()
            .expect("runs")
    };
    let (a, b) = std::thread::scope(|s| {
        let a = s.spawn(run);
        let b = s.spawn(run);
        (a.join().expect("a"), b.join().expect("b"))
    });
    for o in [&a, &b] {
        assert_eq!(
            o.status.code(),
            Some(0),
            "{}",
            String::from_utf8_lossy(&o.stderr)
        );
        assert!(
            String::from_utf8_lossy(&o.stdout).contains("50,000"),
            "{}",
            String::from_utf8_lossy(&o.stdout)
        );
    }
    let said = [&a, &b]
        .iter()
        .filter(|o| {
            String::from_utf8_lossy(&o.stderr)
                .contains("generating the demo network (50,000 patients)")
        })
        .count();
    assert!(said >= 1);
    let list = |dir: &std::path::Path| -> Vec<String> {
        std::fs::read_dir(dir)
            .expect("list")
            .map(|e| e.expect("e").file_name().to_string_lossy().into_owned())
            .collect()
    };
    // Beside the network, the data checks' counts (`checks/`), each entry whole.
    let entries: Vec<String> = list(cache.path())
        .into_iter()
        .filter(|e| e != "checks")
        .collect();
    assert_eq!(
        entries.len(),
        1,
        "one demo network and no temporary leftovers: {entries:?}"
    );
    let checks = list(&cache.path().join("checks"));
    assert!(
        !checks.is_empty() && checks.iter().all(|e| e.ends_with(".json")),
        "{checks:?}"
    );
    // The demo network carries enough planted truth for every outcome definition.
    let demo = cache.path().join(&entries[0]);
    let truth = crate::common::Tab::load(&demo, "truth");
    let (outcome, role) = (truth.str("outcome"), truth.str("role"));
    let mut counts: std::collections::BTreeMap<(String, String), usize> = Default::default();
    for (o, r) in outcome.into_iter().zip(role) {
        *counts
            .entry((o.expect("outcome"), r.expect("role")))
            .or_default() += 1;
    }
    for o in [
        "heart_failure",
        "cerebral_infarction",
        "cerebral_haemorrhage",
        "gi_perforation",
        "interstitial_pneumonia",
        "acute_coronary_syndrome",
        "pulmonary_embolism",
        "ketoacidosis",
        "hypothyroidism",
        "neutropenia",
        "acute_pancreatitis",
        "bowel_obstruction",
        "arterial_dissection",
        "malignancy",
    ] {
        for r in ["case", "lookalike"] {
            let n = counts
                .get(&(o.to_string(), r.to_string()))
                .copied()
                .unwrap_or(0);
            assert!(n >= 40, "demo network: {n} {r} rows for {o}");
        }
    }
    let again = run();
    assert!(
        !String::from_utf8_lossy(&again.stderr).contains("generating"),
        "the cached network is reused"
    );
}
