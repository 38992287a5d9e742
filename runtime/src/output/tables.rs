//! Output tables built on disclosure control (runtime): the attrition table and the report
//! table, the only two shapes in which counts leave a run, each passing through
//! `disclosure` before anyone sees it (files and console alike).

use std::sync::Arc;

use arrow::array::{Array, ArrayRef, BooleanArray, Int64Array, RecordBatch, StringArray};
use arrow::datatypes::{DataType, Field, Schema};
use arrow::util::display::{ArrayFormatter, FormatOptions};
use mid_compiler::codegen::names;
use mid_compiler::outputs::StratumColumn;

use crate::disclosure::{self, Shown};
use crate::error::{Error, Result};

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
pub fn attrition_table(b: &RecordBatch, labels: &[String], threshold: u32) -> Result<RecordBatch> {
    let mut remaining = Vec::new();
    for i in 0..labels.len() {
        let v = i64_col(b, &names::persons_after(i))?;
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
pub fn report_table(
    b: &RecordBatch,
    strata: &[StratumColumn],
    counts: &[String],
    threshold: u32,
) -> Result<RecordBatch> {
    let mut fields = Vec::new();
    let mut cols: Vec<ArrayRef> = Vec::new();
    let fmt = FormatOptions::default().with_null("");
    for stratum in strata {
        let s = &stratum.column;
        let col = b
            .column_by_name(s)
            .ok_or_else(|| Error::new(format!("missing stratum {s}")))?;
        let f = ArrayFormatter::try_new(col.as_ref(), &fmt).map_err(|e| Error::context(s, e))?;
        let mut v: Vec<String> = (0..col.len()).map(|i| f.value(i).to_string()).collect();
        if let Some(w) = stratum.age_band {
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
    let persons = i64_col(b, names::PERSONS)?;
    let persons_shown = disclosure::suppress_column(
        &persons.iter().map(|&x| x.max(0) as u64).collect::<Vec<_>>(),
        threshold,
    );
    for name in counts {
        let v = opt_i64_col(b, name)?;
        let applies: Vec<bool> = v.iter().map(Option::is_some).collect();
        let values: Vec<u64> = v.iter().map(|x| x.unwrap_or(0).max(0) as u64).collect();
        let shown = if name == names::PERSONS {
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
