//! The wording of data problems found before a run (stage: runtime, data checks): a data set
//! that lacks what a script needs, labelled at the place in the script that needs it.

use mid_grammar::ast::Span;

use super::{Code, Diagnostic, Label};
use crate::source::FileId;

/// A problem with the data a script runs on, found before anything executes.
#[derive(Debug, Clone, PartialEq)]
pub enum DataError {
    MissingTable {
        table: &'static str,
        dir: String,
        at: (FileId, Span),
    },
    NoParquetFiles {
        table: &'static str,
        dir: String,
        at: (FileId, Span),
    },
    MissingColumn {
        table: &'static str,
        column: &'static str,
        file: String,
        at: (FileId, Span),
    },
    ColumnType {
        table: &'static str,
        column: &'static str,
        found: String,
        want: String,
        file: String,
        at: (FileId, Span),
    },
    UnreadableFile {
        table: &'static str,
        file: String,
        reason: String,
        at: (FileId, Span),
    },
}

impl DataError {
    /// The diagnostic for people and tools.
    pub fn to_diagnostic(&self) -> Diagnostic {
        let label = |at: &(FileId, Span), msg: String| Label::new(at.0, at.1, msg);
        match self {
            DataError::MissingTable { table, dir, at } => Diagnostic::new(
                Code::MissingTable,
                format!("the data set has no table `{table}`"),
                label(at, format!("this needs table `{table}`")),
            )
            .with_note(format!("no directory {dir}")),
            DataError::NoParquetFiles { table, dir, at } => Diagnostic::new(
                Code::NoParquetFiles,
                format!("table `{table}` has no Parquet files"),
                label(at, format!("this needs table `{table}`")),
            )
            .with_note(format!("no .parquet file in {dir}")),
            DataError::MissingColumn {
                table,
                column,
                file,
                at,
            } => Diagnostic::new(
                Code::MissingColumn,
                format!("table `{table}` has no column `{column}`"),
                label(at, format!("this needs `{table}.{column}`")),
            )
            .with_note(format!("in {file}")),
            DataError::ColumnType {
                table,
                column,
                found,
                want,
                file,
                at,
            } => Diagnostic::new(
                Code::ColumnType,
                format!("column `{table}.{column}` is {found}, the contract says {want}"),
                label(at, format!("this needs `{table}.{column}`")),
            )
            .with_note(format!("in {file}")),
            DataError::UnreadableFile {
                table,
                file,
                reason,
                at,
            } => Diagnostic::new(
                Code::UnreadableFile,
                format!("cannot read a file of table `{table}`"),
                label(at, format!("this needs table `{table}`")),
            )
            .with_note(format!("{file}: {reason}")),
        }
    }
}
