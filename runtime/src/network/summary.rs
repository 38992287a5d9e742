//! The hospital officer's summary of an extraction (runtime, network), as text and as one
//! self-contained HTML page: the request, what the hospital's data matched, and every table
//! that would leave with its columns, rows and value ranges. Text values from the records are
//! never shown, only how many distinct ones there are.

use std::collections::BTreeSet;
use std::fmt::Write as _;

use arrow::array::{Array, ArrayRef, BooleanArray, Float64Array, RecordBatch, StringArray};
use arrow::datatypes::DataType;
use serde::Serialize;

use super::package::Package;
use super::pseudonym::ID_COLUMNS;
use super::site::Capability;

/// One column of a table that leaves.
#[derive(Debug, Clone, Serialize)]
pub struct ColumnSummary {
    pub name: String,
    pub ty: String,
    /// Values in words: a range, how many distinct, how many missing.
    pub values: String,
}

/// One table that leaves.
#[derive(Debug, Clone, Serialize)]
pub struct TableSummary {
    pub path: String,
    pub level: String,
    pub rows: usize,
    pub columns: Vec<ColumnSummary>,
}

fn text_values(a: &ArrayRef) -> Option<Vec<Option<String>>> {
    let s = arrow::compute::cast(a, &DataType::Utf8).ok()?;
    let s = s.as_any().downcast_ref::<StringArray>()?;
    Some(
        (0..s.len())
            .map(|i| (!s.is_null(i)).then(|| s.value(i).to_string()))
            .collect(),
    )
}

fn values(name: &str, a: &ArrayRef) -> String {
    let nulls = a.null_count();
    let missing = if nulls > 0 {
        format!(", {nulls} missing")
    } else {
        String::new()
    };
    let present = a.len() - nulls;
    if present == 0 {
        return format!("all {nulls} missing");
    }
    if ID_COLUMNS.contains(&name) {
        let distinct: BTreeSet<String> = text_values(a)
            .unwrap_or_default()
            .into_iter()
            .flatten()
            .collect();
        return format!("pseudonyms, {} distinct{missing}", distinct.len());
    }
    match a.data_type() {
        DataType::Boolean => {
            let b = a.as_any().downcast_ref::<BooleanArray>();
            let yes = b.map(|b| b.true_count()).unwrap_or(0);
            format!("{yes} yes, {} no{missing}", present - yes)
        }
        DataType::Date32 | DataType::Date64 | DataType::Timestamp(..) => {
            let v: Vec<String> = text_values(a)
                .unwrap_or_default()
                .into_iter()
                .flatten()
                .collect();
            let lo = v.iter().min().cloned().unwrap_or_default();
            let hi = v.iter().max().cloned().unwrap_or_default();
            format!("{lo} to {hi}{missing}")
        }
        t if t.is_numeric() => {
            let f = arrow::compute::cast(a, &DataType::Float64).ok();
            let f = f
                .as_ref()
                .and_then(|f| f.as_any().downcast_ref::<Float64Array>());
            match f {
                Some(f) => {
                    let (mut lo, mut hi) = (f64::INFINITY, f64::NEG_INFINITY);
                    for i in 0..f.len() {
                        if !f.is_null(i) {
                            lo = lo.min(f.value(i));
                            hi = hi.max(f.value(i));
                        }
                    }
                    format!("{lo} to {hi}{missing}")
                }
                None => format!("{present} values{missing}"),
            }
        }
        _ => {
            let distinct: BTreeSet<String> = text_values(a)
                .unwrap_or_default()
                .into_iter()
                .flatten()
                .collect();
            format!("{} distinct values{missing}", distinct.len())
        }
    }
}

/// The officer's view of a table.
pub fn describe_table(path: &str, level: &str, b: &RecordBatch) -> TableSummary {
    TableSummary {
        path: path.to_string(),
        level: level.to_string(),
        rows: b.num_rows(),
        columns: b
            .schema()
            .fields()
            .iter()
            .zip(b.columns())
            .map(|(f, a)| ColumnSummary {
                name: f.name().clone(),
                ty: crate::dataset::contract::type_word(f.data_type()),
                values: values(f.name(), a),
            })
            .collect(),
    }
}

pub(crate) fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;")
}

/// `summary.txt` and `summary.html`.
pub fn officer_summary(
    package: &Package,
    hospital: &str,
    cap: &Capability,
    tables: &[TableSummary],
) -> (String, String) {
    let mut t = String::new();
    let _ = writeln!(t, "Extraction for request {}", package.id);
    let _ = writeln!(t, "  study:    {}", package.study);
    let _ = writeln!(t, "  hospital: {hospital}");
    let _ = writeln!(
        t,
        "  approve with `mid site approve EXTRACT --officer NAME --audit LOG`, or reject with `--reject --reason TEXT`\n"
    );
    let _ = writeln!(t, "What the request matched at {hospital}:");
    // A feasibility request counts its items itself: what it matched is what would leave.
    let counts_only = package.feasibility.is_some() && cap.sources.is_empty();
    if counts_only {
        let _ = writeln!(t, "  its counts, below (a feasibility request)");
    }
    for s in &cap.sources {
        let _ = writeln!(t, "  {} ({}): {} rows", s.source, s.table, s.rows);
    }
    for f in &cap.flags {
        let _ = writeln!(t, "  look: {f}");
    }
    for f in &cap.data_checks {
        let _ = writeln!(t, "  data check: {f}");
    }
    let _ = writeln!(t, "\nWhat would leave the hospital:");
    for tb in tables {
        let _ = writeln!(t, "\n  {} ({}, {} rows)", tb.path, tb.level, tb.rows);
        for c in &tb.columns {
            let _ = writeln!(t, "    {:<24} {:<8} {}", c.name, c.ty, c.values);
        }
    }
    let _ = writeln!(
        t,
        "\nPatient-level tables carry pseudonyms made with this hospital's key, never its patient or visit ids; the key stays here."
    );

    let mut h = String::new();
    h.push_str("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n");
    let _ = writeln!(
        h,
        "<title>Extraction {} at {}</title>",
        esc(&package.id[..package.id.len().min(12)]),
        esc(hospital)
    );
    h.push_str("<style>body{font-family:sans-serif;margin:2em;max-width:70em}table{border-collapse:collapse;margin:.5em 0 1.5em}td,th{border:1px solid #bbb;padding:.2em .6em;text-align:left}th{background:#eee}.look{color:#a40}</style>\n</head><body>\n");
    let _ = writeln!(h, "<h1>Extraction for study {}</h1>", esc(&package.study));
    let _ = writeln!(
        h,
        "<p>Request <code>{}</code>, hospital <b>{}</b>.</p>",
        esc(&package.id),
        esc(hospital)
    );
    h.push_str("<h2>What the request matched here</h2>\n");
    if counts_only {
        h.push_str("<p>Its counts, below (a feasibility request).</p>\n");
    } else {
        h.push_str("<table><tr><th>source</th><th>table</th><th>rows</th></tr>\n");
        for s in &cap.sources {
            row3(&mut h, [&s.source, &s.table, &s.rows]);
        }
        h.push_str("</table>\n");
    }
    for f in cap.flags.iter().chain(&cap.data_checks) {
        let _ = writeln!(h, "<p class=\"look\">{}</p>", esc(f));
    }
    h.push_str("<h2>What would leave the hospital</h2>\n");
    for tb in tables {
        let _ = writeln!(
            h,
            "<h3>{} <small>({}, {} rows)</small></h3>\n<table><tr><th>column</th><th>type</th><th>values</th></tr>",
            esc(&tb.path),
            esc(&tb.level),
            tb.rows
        );
        for c in &tb.columns {
            row3(&mut h, [&c.name, &c.ty, &c.values]);
        }
        h.push_str("</table>\n");
    }
    h.push_str("<p>Patient-level tables carry pseudonyms made with this hospital's key, never its patient or visit ids; the key stays here.</p>\n</body></html>\n");
    (t, h)
}

/// A table row of three escaped cells.
fn row3(h: &mut String, cells: [&str; 3]) {
    let _ = writeln!(
        h,
        "<tr><td>{}</td><td>{}</td><td>{}</td></tr>",
        esc(cells[0]),
        esc(cells[1]),
        esc(cells[2])
    );
}
