//! Codebooks (runtime): `<output>.codebook.json` and `<output>.codebook.csv` beside every
//! export, report and attrition table — each column as written, its type and unit, what it
//! means in words, the script line and text it comes from, and the validation metadata of the
//! outcome definitions it uses. The compiler describes the columns it compiles; the columns
//! derived while writing (suppression flags, rates, comparisons) are described here, from the
//! same names `tables` builds them under.

use std::collections::BTreeMap;
use std::fs;
use std::path::Path;
use std::sync::Arc;

use arrow::array::{Array, ArrayRef, Int64Array, RecordBatch, StringArray};
use arrow::datatypes::{DataType, Field, Schema};
use mid_compiler::codebook::{ColumnDoc, NullSplit};
use mid_compiler::outputs::DefinitionUse;
use serde::Serialize;

use super::record::DefinitionRecord;
use super::tables::{self, Derived};
use crate::error::{Error, Result};

/// A codebook as written.
#[derive(Serialize)]
pub struct Codebook {
    pub output: String,
    pub kind: &'static str,
    /// What one row is.
    pub rows: String,
    pub columns: Vec<Entry>,
    /// A Table 1's rows: each characteristic, how it is summarised and what it is.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub characteristics: Vec<Entry>,
    pub outcome_definitions: Vec<DefinitionRecord>,
}

/// One column.
#[derive(Serialize, Debug, Clone, PartialEq)]
pub struct Entry {
    pub column: String,
    #[serde(rename = "type")]
    pub ty: String,
    pub unit: Option<String>,
    pub meaning: String,
    pub source: Option<String>,
    pub script: Option<String>,
    pub definitions: Vec<String>,
    /// Why a value may be empty.
    pub null_reason: Option<String>,
    /// In an export (site-only): how many rows are empty.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub nulls: Option<usize>,
    /// In an export, for a value empty for more than one reason: how many rows for each.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub nulls_by_reason: Option<BTreeMap<String, usize>>,
}

impl Entry {
    /// A Table 1 characteristic: its summary in place of a type.
    pub fn characteristic(d: ColumnDoc, summary: &str) -> Entry {
        Entry::of(d, summary.to_string())
    }

    /// A column the compiler describes (or the runtime, in the same terms), with its type
    /// as written.
    fn of(d: ColumnDoc, ty: String) -> Entry {
        Entry {
            column: d.column,
            ty,
            unit: d.unit,
            meaning: d.meaning,
            source: d.source,
            script: d.script,
            definitions: d.definitions,
            null_reason: d.null_reason,
            nulls: None,
            nulls_by_reason: None,
        }
    }
}

/// The helper columns the plan adds to tell empty values' reasons apart.
fn helpers(docs: &[ColumnDoc]) -> Vec<&str> {
    docs.iter()
        .filter_map(|d| d.null_split.as_ref().map(|s| s.helper.as_str()))
        .collect()
}

/// An export without the helper columns its codebook counts empty values by.
pub fn without_helpers(table: &RecordBatch, docs: &[ColumnDoc]) -> Result<RecordBatch> {
    let helpers = helpers(docs);
    let keep: Vec<usize> = (0..table.num_columns())
        .filter(|i| !helpers.contains(&table.schema().field(*i).name().as_str()))
        .collect();
    table
        .project(&keep)
        .map_err(|e| Error::context("export columns", e))
}

/// How many of a column's empty values had no results behind them, and how many had some.
fn nulls_by_reason(
    values: &ArrayRef,
    results: &ArrayRef,
    split: &NullSplit,
) -> Result<BTreeMap<String, usize>> {
    let results = arrow::compute::cast(results, &DataType::Int64)
        .map_err(|e| Error::context("counting empty values", e))?;
    let results = results
        .as_any()
        .downcast_ref::<Int64Array>()
        .ok_or_else(|| Error::new("internal error: a results count that is not a number"))?;
    let (mut none, mut some) = (0, 0);
    for i in (0..values.len()).filter(|i| values.is_null(*i)) {
        if results.is_valid(i) && results.value(i) > 0 {
            some += 1;
        } else {
            none += 1;
        }
    }
    Ok(BTreeMap::from([
        (split.none.clone(), none),
        (split.some.clone(), some),
    ]))
}

/// The type of a column as an analyst reads it.
fn type_word(t: &DataType) -> &'static str {
    match t {
        DataType::Utf8 | DataType::Utf8View | DataType::LargeUtf8 => "text",
        DataType::Boolean => "yes/no",
        DataType::Date32 | DataType::Date64 => "date",
        DataType::Float16 | DataType::Float32 | DataType::Float64 => "number",
        t if t.is_integer() => "integer",
        _ => "other",
    }
}

/// The codebook of a written table: `docs` for the columns the compiler describes, the
/// derived columns described from their names. `cohorts` are a report's (its reference is
/// the first with the outcome).
pub fn codebook(
    output: &str,
    kind: &'static str,
    rows: String,
    table: &RecordBatch,
    docs: &[ColumnDoc],
    definitions: &[DefinitionUse],
) -> Result<Codebook> {
    let threshold = tables::threshold_of(table);
    let cohorts = tables::cohorts_of(table);
    let helpers = helpers(docs);
    let mut columns = Vec::new();
    for f in table.schema().fields() {
        let name = f.name().as_str();
        if helpers.contains(&name) {
            continue;
        }
        let ty = type_word(f.data_type()).to_string();
        let doc = match docs.iter().find(|d| d.column == name) {
            Some(d) => d.clone(),
            None => derived_doc(table, name, threshold, &cohorts).ok_or_else(|| {
                Error::new(format!(
                    "internal error: the codebook of {output} has no description of column `{name}`"
                ))
            })?,
        };
        let mut e = Entry::of(doc, ty);
        // An export stays at the site: its codebook counts the empty values of each column.
        if kind == "export"
            && let Some(a) = table.column_by_name(name)
        {
            e.nulls = Some(a.null_count());
            if let Some(split) = docs
                .iter()
                .find(|d| d.column == name)
                .and_then(|d| d.null_split.as_ref())
                && let Some(h) = table.column_by_name(&split.helper)
            {
                e.nulls_by_reason = Some(nulls_by_reason(a, h, split)?);
            }
        }
        columns.push(e);
    }
    Ok(Codebook {
        output: output.to_string(),
        kind,
        rows,
        columns,
        characteristics: Vec::new(),
        outcome_definitions: definitions.iter().map(DefinitionRecord::from).collect(),
    })
}

/// The description of a column the runtime derives while writing: a count's suppression
/// flag, a rate or a comparison (none for any other column).
fn derived_doc(
    table: &RecordBatch,
    name: &str,
    threshold: u32,
    cohorts: &[String],
) -> Option<ColumnDoc> {
    let doc = |unit: Option<&str>, meaning: String| {
        let d = ColumnDoc::new(name, meaning);
        match unit {
            Some(u) => d.unit(u),
            None => d,
        }
    };
    if let Some(count) = name.strip_suffix(tables::FLAG)
        && table.schema().column_with_name(count).is_some()
    {
        let why = if count.ends_with("_person_days") {
            "with the persons it belongs to".to_string()
        } else {
            format!(
                "1 to {} persons (or hidden at the data center's release so that no hidden count can be recovered)",
                threshold - 1
            )
        };
        return Some(doc(
            None,
            format!("true where `{count}` is hidden: {why}; `{count}` is then null"),
        ));
    }
    let (o, derived, part) = tables::derived_of(table, name)?;
    let reference = || {
        tables::reference_cohort(table, &o, cohorts).map_or_else(
            || "the report's first cohort".to_string(),
            |c| format!("`{c}`"),
        )
    };
    // Each estimate: its unit, what the point is, and which interval its limits bound.
    let (unit, point, interval) = match derived {
        Derived::Rate => (
            Some("per 1,000 person-years"),
            format!(
                "incidence of `{o}`: `{o}_persons` / (`{o}_person_days` / 365.25) × 1,000, from the published counts; null where they are hidden or there is no person-time"
            ),
            format!("the exact (Poisson, Garwood) 95 % interval of the incidence of `{o}`"),
        ),
        Derived::RateRatio => (
            None,
            format!(
                "crude rate ratio of `{o}`: the row's incidence over that of {} in the same strata; null for the reference's own rows and where counts are hidden or zero",
                reference()
            ),
            format!(
                "the exact 95 % interval of the rate ratio of `{o}` (conditional on the events of both, Clopper–Pearson)"
            ),
        ),
        Derived::OddsRatio => (
            None,
            format!(
                "crude odds ratio of `{o}`: the row's odds (persons with it over persons without; by period, among those at risk) over those of {} in the same strata; null for the reference's own rows and where counts are hidden or zero",
                reference()
            ),
            format!("Woolf's 95 % interval of the odds ratio of `{o}`"),
        ),
    };
    let meaning = match part {
        0 => point,
        p => format!(
            "{} limit of {interval}, widened to hold for every true count and person-time the rounding of the published ones allows",
            if p == 1 { "lower" } else { "upper" }
        ),
    };
    Some(doc(unit, meaning))
}

/// Writes `<dir>/<file>.codebook.json` and `.codebook.csv`.
pub fn write(dir: &Path, file: &str, book: &Codebook) -> Result<()> {
    let json = serde_json::to_string_pretty(book)
        .map_err(|e| Error::context("cannot describe the columns", e))?;
    let json_path = dir.join(format!("{file}.codebook.json"));
    fs::write(&json_path, json + "\n")
        .map_err(|e| Error::context(format!("cannot write {}", json_path.display()), e))?;
    // A Table 1's characteristics follow its columns, named `characteristic <name>`.
    let rows: Vec<Entry> = book
        .columns
        .iter()
        .cloned()
        .chain(book.characteristics.iter().map(|e| Entry {
            column: format!("characteristic {}", e.column),
            ..e.clone()
        }))
        .collect();
    let col = |f: fn(&Entry) -> String| -> ArrayRef {
        Arc::new(StringArray::from(rows.iter().map(f).collect::<Vec<_>>()))
    };
    let names = [
        "column",
        "type",
        "unit",
        "meaning",
        "source",
        "script",
        "definitions",
        "null_reason",
        "nulls",
        "nulls_by_reason",
    ];
    let cols = vec![
        col(|e| e.column.clone()),
        col(|e| e.ty.clone()),
        col(|e| e.unit.clone().unwrap_or_default()),
        col(|e| e.meaning.clone()),
        col(|e| e.source.clone().unwrap_or_default()),
        col(|e| e.script.clone().unwrap_or_default()),
        col(|e| e.definitions.join("; ")),
        col(|e| e.null_reason.clone().unwrap_or_default()),
        col(|e| e.nulls.map(|n| n.to_string()).unwrap_or_default()),
        col(|e| {
            e.nulls_by_reason
                .iter()
                .flatten()
                .map(|(r, n)| format!("{r}: {n}"))
                .collect::<Vec<_>>()
                .join("; ")
        }),
    ];
    let schema = Schema::new(
        names
            .iter()
            .map(|n| Field::new(*n, DataType::Utf8, false))
            .collect::<Vec<_>>(),
    );
    let b =
        RecordBatch::try_new(Arc::new(schema), cols).map_err(|e| Error::context("codebook", e))?;
    let csv_path = dir.join(format!("{file}.codebook.csv"));
    super::write::write_table(&csv_path, &b, true)?;
    Ok(())
}
