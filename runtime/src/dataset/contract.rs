//! The one validator of the CDM contract (runtime), shared by `mid run` (the columns a script
//! needs, before anything executes) and `mid inspect` (every column of every table): one
//! rule for what a column's type may be, and one wording of every problem.

use std::collections::BTreeMap;
use std::path::Path;

use arrow::datatypes::{DataType, Field};
use mid_cdm::{Column, ColumnType, Table};
use mid_compiler::diag::DataError;
use mid_compiler::requirements::Requirement;

use super::files::{file_schema, parquet_files};

/// Whether a column stored as `found` reads as the contract's type. Text may be stored in
/// any of Arrow's string encodings, all of which read the same.
pub fn type_fits(found: &DataType, want: ColumnType) -> bool {
    if found == &want.arrow() {
        return true;
    }
    let text =
        |t: &DataType| matches!(t, DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View);
    match found {
        // Dictionary-encoded text (what pandas and Arrow writers often produce) reads as text.
        DataType::Dictionary(_, values) => want == ColumnType::Text && text(values),
        other => want == ColumnType::Text && text(other),
    }
}

/// What is wrong with one contract column in a file's schema, if anything.
#[derive(Debug, Clone, PartialEq)]
pub enum ColumnProblem {
    Missing,
    WrongType { found: DataType },
}

/// Checks one contract column against a file's field of that name.
pub fn check_column(field: Option<&Field>, c: &Column) -> Option<ColumnProblem> {
    match field {
        None => Some(ColumnProblem::Missing),
        Some(f) if !type_fits(f.data_type(), c.ty) => Some(ColumnProblem::WrongType {
            found: f.data_type().clone(),
        }),
        Some(_) => None,
    }
}

/// The contract's name of an Arrow type, in the language's words.
pub fn type_word(t: &DataType) -> String {
    match t {
        DataType::Utf8 => "Text".into(),
        DataType::LargeUtf8 | DataType::Utf8View => "Text (large/view encoding)".into(),
        DataType::Int64 => "Int64".into(),
        DataType::Int32 => "Int32".into(),
        DataType::Float64 => "Float64".into(),
        DataType::Boolean => "Bool".into(),
        DataType::Date32 => "Date".into(),
        other => format!("{other}"),
    }
}

/// The contract's name of a column type.
pub fn column_word(t: ColumnType) -> &'static str {
    match t {
        ColumnType::Text => "Text",
        ColumnType::Int64 => "Int64",
        ColumnType::Int32 => "Int32",
        ColumnType::Float64 => "Float64",
        ColumnType::Bool => "Bool",
        ColumnType::Date => "Date",
    }
}

/// Checks that `dir` holds every table and column `needs` lists, with the contract's types.
/// Every problem is reported, each naming the table, column or file and labelled at the
/// script place that needs it.
pub fn check_requirements(dir: &Path, needs: &[Requirement]) -> Vec<DataError> {
    let mut problems = Vec::new();
    let mut by_table: BTreeMap<Table, Vec<&Requirement>> = BTreeMap::new();
    for r in needs {
        by_table.entry(r.table).or_default().push(r);
    }
    for (table, reqs) in by_table {
        let tdir = dir.join(table.name());
        let files = match parquet_files(&tdir) {
            Ok(f) if !f.is_empty() => f,
            Ok(_) => {
                problems.push(DataError::NoParquetFiles {
                    table: table.name(),
                    dir: tdir.display().to_string(),
                    at: reqs[0].at,
                });
                continue;
            }
            Err(_) => {
                problems.push(DataError::MissingTable {
                    table: table.name(),
                    dir: tdir.display().to_string(),
                    at: reqs[0].at,
                });
                continue;
            }
        };
        for f in &files {
            let schema = match file_schema(f) {
                Ok(s) => s,
                Err(reason) => {
                    problems.push(DataError::UnreadableFile {
                        table: table.name(),
                        file: f.display().to_string(),
                        reason,
                        at: reqs[0].at,
                    });
                    continue;
                }
            };
            for r in &reqs {
                let Some(c) = table.column(r.column) else {
                    continue;
                };
                match check_column(schema.field_with_name(r.column).ok(), c) {
                    None => {}
                    Some(ColumnProblem::Missing) => problems.push(DataError::MissingColumn {
                        table: table.name(),
                        column: c.name,
                        file: f.display().to_string(),
                        at: r.at,
                    }),
                    Some(ColumnProblem::WrongType { found }) => {
                        problems.push(DataError::ColumnType {
                            table: table.name(),
                            column: c.name,
                            found: type_word(&found),
                            want: column_word(c.ty).to_string(),
                            file: f.display().to_string(),
                            at: r.at,
                        })
                    }
                }
            }
        }
    }
    problems
}
