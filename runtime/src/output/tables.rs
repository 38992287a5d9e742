//! Output tables built on disclosure control (runtime): the attrition table and the report
//! table, the only two shapes in which counts leave a run, each passing through
//! `disclosure` before anyone sees it (files and console alike).

use std::sync::Arc;

use arrow::array::{Array, ArrayRef, Int64Array, RecordBatch, StringArray};
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

/// The attrition table as it may leave: step, label, persons before, removed, remaining,
/// each count through `disclosure::persons` (the removed from exact counts, so a small step
/// reads `<10` and its neighbours' rounding cannot be subtracted to find it).
pub fn attrition_table(b: &RecordBatch, labels: &[String], threshold: u32) -> Result<RecordBatch> {
    let mut remaining = Vec::new();
    for i in 0..labels.len() {
        let v = i64_col(b, &names::persons_after(i))?;
        remaining.push(v.first().copied().unwrap_or(0).max(0) as u64);
    }
    let shown = |n: u64| disclosure::persons(n, threshold).text(threshold);
    let n = labels.len();
    // Row i shows step i's figures; the entry row (0) has none.
    let before: Vec<Option<String>> = (0..n)
        .map(|i| i.checked_sub(1).map(|j| shown(remaining[j])))
        .collect();
    let removed: Vec<Option<String>> = (0..n)
        .map(|i| {
            i.checked_sub(1)
                .map(|j| shown(remaining[j].saturating_sub(remaining[i])))
        })
        .collect();
    let remaining_t: Vec<String> = remaining.iter().map(|&r| shown(r)).collect();
    let schema = Arc::new(Schema::new(vec![
        Field::new("step", DataType::Int64, false),
        Field::new("label", DataType::Utf8, false),
        Field::new("persons_before", DataType::Utf8, true),
        Field::new("removed", DataType::Utf8, true),
        Field::new("remaining", DataType::Utf8, false),
    ]));
    let cols: Vec<ArrayRef> = vec![
        Arc::new(Int64Array::from((0..n as i64).collect::<Vec<_>>())),
        Arc::new(StringArray::from(labels.to_vec())),
        Arc::new(StringArray::from(before)),
        Arc::new(StringArray::from(removed)),
        Arc::new(StringArray::from(remaining_t)),
    ];
    RecordBatch::try_new(schema, cols).map_err(|e| Error::context("attrition table", e))
}

/// A report too fine to leave: more than half its non-empty cells describe fewer than
/// `threshold` persons.
pub fn report_too_fine(b: &RecordBatch, threshold: u32) -> Result<bool> {
    let persons: Vec<u64> = i64_col(b, names::PERSONS)?
        .into_iter()
        .map(|x| x.max(0) as u64)
        .collect();
    Ok(disclosure::too_fine(&persons, threshold))
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
    let persons_shown: Vec<Shown> = i64_col(b, names::PERSONS)?
        .iter()
        .map(|&x| disclosure::persons(x.max(0) as u64, threshold))
        .collect();
    for name in counts {
        let v = opt_i64_col(b, name)?;
        let applies: Vec<bool> = v.iter().map(Option::is_some).collect();
        let shown: Vec<Shown> = v
            .iter()
            .map(|x| disclosure::persons(x.unwrap_or(0).max(0) as u64, threshold))
            .collect();
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
                        Some(d) => disclosure::person_days((*d).max(0) as u64, *p).text(threshold),
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
