//! Data coverage of a run (runtime): what each of the script's code sets and lab items
//! matched at each hospital, the rows without a standard code, and the lab rows in units mid
//! cannot convert, written to the site-only record; what deserves a look (a hospital where a
//! source matches nothing, units that cannot be converted) is flagged on the console, without
//! counts.

use std::collections::{BTreeMap, BTreeSet};

use arrow::array::{Array, Int64Array, RecordBatch};
use mid_compiler::OutputKind;
use mid_compiler::outputs::Output;
use serde::Serialize;

use super::{Results, batch};
use crate::error::{Error, Result};

/// One hospital's rows of one table.
#[derive(Debug, Serialize)]
pub struct HospitalRows {
    pub hospital: String,
    pub rows: i64,
    /// Rows whose standard code is missing (unmapped local codes).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub without_standard_code: Option<i64>,
    /// Rows each of the script's sources matched.
    pub matched: BTreeMap<String, i64>,
}

/// Lab rows of an item in a unit that cannot be converted.
#[derive(Debug, Serialize)]
pub struct UnitRows {
    hospital: String,
    item: String,
    unit: Option<String>,
    rows: i64,
}

/// `site-only/coverage.json`.
#[derive(Debug, Default, Serialize)]
pub struct Coverage {
    pub tables: BTreeMap<String, Vec<HospitalRows>>,
    unconvertible_lab_units: Vec<UnitRows>,
    /// What deserves a look, in words (also printed).
    pub flags: Vec<String>,
}

fn int_col(b: &RecordBatch, name: &str) -> Result<Option<Vec<i64>>> {
    let Some(col) = b.column_by_name(name) else {
        return Ok(None);
    };
    let col = arrow::compute::cast(col, &arrow::datatypes::DataType::Int64)
        .map_err(|e| Error::context(name, e))?;
    let a = col
        .as_any()
        .downcast_ref::<Int64Array>()
        .ok_or_else(|| Error::new(format!("coverage: {name} is not a number")))?;
    Ok(Some((0..a.len()).map(|i| a.value(i)).collect()))
}

/// The coverage of a run, from its coverage plans' results.
pub fn coverage(outputs: &[Output], results: &Results) -> Result<Coverage> {
    let mut cov = Coverage::default();
    let mut hospitals = BTreeSet::new();
    let mut matched_anywhere: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for o in outputs {
        match &o.kind {
            OutputKind::Coverage { table, sources } => {
                let b = batch(results, &o.plan)?;
                let hosp = super::text_column(&b, "hospital_id")?;
                let rows = int_col(&b, "rows")?.unwrap_or_default();
                let unmapped = int_col(&b, "unmapped")?;
                let mut per = Vec::new();
                for (i, h) in hosp.iter().enumerate() {
                    let h = h.clone().unwrap_or_default();
                    hospitals.insert(h.clone());
                    let mut matched = BTreeMap::new();
                    for (k, label) in sources.iter().enumerate() {
                        let n = int_col(&b, &format!("source_{}", k + 1))?
                            .map(|v| v[i])
                            .unwrap_or(0);
                        if n > 0 {
                            matched_anywhere
                                .entry(label.clone())
                                .or_default()
                                .insert(h.clone());
                        }
                        matched.insert(label.clone(), n);
                    }
                    per.push(HospitalRows {
                        hospital: h,
                        rows: rows[i],
                        without_standard_code: unmapped.as_ref().map(|u| u[i]),
                        matched,
                    });
                }
                for label in sources {
                    matched_anywhere.entry(label.clone()).or_default();
                }
                cov.tables.insert(table.clone(), per);
            }
            OutputKind::LabUnits => {
                let b = batch(results, &o.plan)?;
                let hosp = super::text_column(&b, "hospital_id")?;
                let item = super::text_column(&b, "item")?;
                let unit = super::text_column(&b, "unit")?;
                let rows = int_col(&b, "rows")?.unwrap_or_default();
                let mut by_item: BTreeMap<(String, String), BTreeSet<String>> = BTreeMap::new();
                for i in 0..b.num_rows() {
                    let (h, it) = (
                        hosp[i].clone().unwrap_or_default(),
                        item[i].clone().unwrap_or_default(),
                    );
                    by_item
                        .entry((it.clone(), h.clone()))
                        .or_default()
                        .insert(unit[i].clone().unwrap_or_else(|| "(no unit)".into()));
                    cov.unconvertible_lab_units.push(UnitRows {
                        hospital: h,
                        item: it,
                        unit: unit[i].clone(),
                        rows: rows[i],
                    });
                }
                for ((item, h), units) in by_item {
                    let units: Vec<String> = units.into_iter().map(|u| format!("`{u}`")).collect();
                    cov.flags.push(format!(
                        "lab {item}: {h} reports results in {} that mid cannot convert; those results have no value",
                        units.join(", ")
                    ));
                }
            }
            OutputKind::Attrition { .. }
            | OutputKind::Report { .. }
            | OutputKind::Table1 { .. }
            | OutputKind::Export { .. } => {}
        }
    }
    for (label, at) in &matched_anywhere {
        let missing: Vec<&str> = hospitals
            .iter()
            .filter(|h| !at.contains(*h))
            .map(String::as_str)
            .collect();
        if !missing.is_empty() {
            cov.flags
                .push(format!("{label} matches no rows at {}", missing.join(", ")));
        }
    }
    Ok(cov)
}
