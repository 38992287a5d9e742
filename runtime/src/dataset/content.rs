//! What a data set's rows say (runtime): the contract's rules that only the rows can break —
//! empty keys and required columns, values outside a closed set, a patient twice, dates in
//! the wrong order or outside 1900–2100, lab values that are not numbers, empty tables —
//! checked by one aggregate query per table before a run and by `mid inspect`. Each problem
//! has one policy, stated in `Policy`: the run stops, or the rows are set aside (the engine
//! reads the table without them) and the run says how many, in the site-only record.

use std::collections::BTreeMap;
use std::path::PathBuf;

use arrow::array::Array as _;
use datafusion::prelude::SessionContext;
use mid_cdm::{ColumnType, Table};
use mid_compiler::requirements::Requirement;
use serde::Serialize;

use super::check_cache;
use crate::error::{Error, Result};

/// The earliest and latest plausible date of any CDM date column.
pub const EARLIEST: &str = "1900-01-01";
pub const LATEST: &str = "2100-12-31";

/// What a run does about a problem.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Policy {
    /// The run stops: the rows cannot be read as the contract means them, and leaving them
    /// out would change who is in the study (patients) or what a column means.
    Refused,
    /// The rows are left out of the run; how many is reported and recorded.
    SetAside,
    /// The lab value is read as missing (the result exists, its value does not).
    NoValue,
    /// Nothing is left out; the run says so.
    Noted,
}

/// One problem found in a table's rows.
#[derive(Debug, Clone, Serialize)]
pub struct Finding {
    pub table: &'static str,
    /// The column, or the pair `start..end` for an order problem; `None` for the table.
    pub column: Option<String>,
    pub problem: String,
    pub rows: u64,
    /// Some of the values at fault (closed sets only).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub examples: Vec<String>,
    pub policy: Policy,
}

impl Finding {
    /// One line for the console and errors.
    pub fn describe(&self) -> String {
        if self.column.is_none() && self.policy == Policy::Noted {
            return format!(
                "table `{}` has no rows; every count that uses it is 0",
                self.table
            );
        }
        let what = match &self.column {
            Some(c) => format!("`{}.{c}`", self.table),
            None => format!("table `{}`", self.table),
        };
        let examples = if self.examples.is_empty() {
            String::new()
        } else {
            format!(" (e.g. {})", self.examples.join(", "))
        };
        let rows = super::group_thousands(self.rows);
        let s = if self.rows == 1 { "" } else { "s" };
        let action = match self.policy {
            Policy::Refused => "the run stops".to_string(),
            Policy::SetAside if self.rows == 1 => "it is left out of the run".to_string(),
            Policy::SetAside => format!("the {rows} rows are left out of the run"),
            Policy::NoValue => "those results count as having no value".to_string(),
            Policy::Noted => "every count that uses it is 0".to_string(),
        };
        format!("{what}: {rows} row{s} {}{examples}; {action}", self.problem)
    }
}

/// Everything found in the rows of the tables a run reads, and how to read the tables.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Content {
    pub findings: Vec<Finding>,
    /// Per table, the test a row must pass to be read (rows set aside fail it).
    #[serde(skip)]
    pub keep: BTreeMap<Table, Vec<String>>,
    /// Lab value columns whose non-numbers are read as missing.
    #[serde(skip)]
    pub no_value: bool,
    /// How long each table's checks took, and whether their counts were reused
    /// (`check_cache`): what `mid run --profile` prints.
    #[serde(skip)]
    pub timings: Vec<(Table, f64, bool)>,
}

impl Content {
    pub fn refused(&self) -> impl Iterator<Item = &Finding> {
        self.findings.iter().filter(|f| f.policy == Policy::Refused)
    }
}

/// The name the engine registers a table under for the checks: every column nullable.
pub fn checked_name(table: Table) -> String {
    format!("__check_{}", table.name())
}

/// The date columns that must not end before they start, by table.
const ORDER: &[(Table, &str, &str)] = &[
    (Table::Patient, "first_record_date", "last_record_date"),
    (Table::Patient, "birth_date", "last_record_date"),
    (Table::Visit, "start_date", "end_date"),
    (Table::Drug, "date", "end_date"),
];

/// One counted test: its column name in the query, and what it means.
struct Test {
    alias: String,
    column: Option<String>,
    problem: String,
    sql: String,
    policy: Policy,
    /// The values at fault, for closed sets.
    values_of: Option<&'static str>,
    /// The columns it reads: it counts for a script that reads them all.
    reads: Vec<&'static str>,
}

/// The columns a script reads, by table (`patient` always: it holds the denominator).
pub fn columns_of(needs: &[Requirement]) -> BTreeMap<Table, Vec<&'static str>> {
    let mut columns: BTreeMap<Table, Vec<&'static str>> = BTreeMap::new();
    columns.entry(Table::Patient).or_default();
    for r in needs {
        columns.entry(r.table).or_default().push(r.column);
    }
    columns
}

/// Every column of every table (what `mid inspect` checks).
pub fn all_columns() -> BTreeMap<Table, Vec<&'static str>> {
    Table::ALL
        .iter()
        .map(|t| (*t, t.columns().iter().map(|c| c.name).collect()))
        .collect()
}

/// Checks the rows of the given tables; finds the problems of the given columns (with the
/// keys, and every patient column). `ctx` has the tables registered under their names, whose
/// rows are at `sources` (for reusing the counts while the files are unchanged).
pub async fn check(
    ctx: &SessionContext,
    sources: &BTreeMap<Table, PathBuf>,
    columns: BTreeMap<Table, Vec<&'static str>>,
) -> Result<Content> {
    let mut content = Content::default();
    for (table, mut cols) in columns {
        // Keys always; patients are the denominator, so all their columns.
        if table == Table::Patient {
            cols.extend(table.columns().iter().map(|c| c.name));
        }
        cols.extend(["hospital_id", "patient_id"]);
        cols.sort();
        cols.dedup();
        let clock = std::time::Instant::now();
        let q = Queries {
            ctx,
            files: sources
                .get(&table)
                .and_then(|s| check_cache::files_state(s)),
            table,
            reused: std::cell::Cell::new(false),
        };
        check_table(&q, &cols, &mut content).await?;
        content
            .timings
            .push((table, clock.elapsed().as_secs_f64(), q.reused.get()));
    }
    Ok(content)
}

/// The check queries of one table: run, or their counts reused while the table's files
/// are unchanged (`check_cache`).
struct Queries<'a> {
    ctx: &'a SessionContext,
    /// The state of the table's files (`check_cache::files_state`), read once for all its
    /// queries; `None`: unknown or reuse off, the queries always run.
    files: Option<Vec<u8>>,
    table: Table,
    /// Whether a query's counts were reused.
    reused: std::cell::Cell<bool>,
}

impl Queries<'_> {
    fn key(&self, sql: &str) -> Option<String> {
        let files = self.files.as_deref()?;
        Some(check_cache::key(files, self.table.name(), sql))
    }

    /// The kept counts of `sql`, if any.
    fn kept(&self, sql: &str) -> Option<Vec<u64>> {
        let counts = check_cache::load(&self.key(sql)?)?;
        self.reused.set(true);
        Some(counts)
    }

    /// The counts of `sql`: kept ones, or the query's, then kept.
    async fn counts(&self, sql: &str) -> Result<Vec<u64>> {
        if let Some(counts) = self.kept(sql) {
            return Ok(counts);
        }
        let counts = query_counts(self.ctx, sql, self.table).await?;
        if let Some(k) = self.key(sql) {
            check_cache::store(&k, &counts);
        }
        Ok(counts)
    }
}

/// The tests of a table's rows that read only `cols`.
fn tests_of(table: Table, cols: &[&'static str]) -> Vec<Test> {
    // A patient's dates define who is observed when: wrong ones cannot be left out.
    let dates_policy = if table == Table::Patient {
        Policy::Refused
    } else {
        Policy::SetAside
    };
    let mut tests = Vec::new();
    // In the contract's column order: the same columns give the same query (and key).
    for c in table.columns().iter().filter(|c| cols.contains(&c.name)) {
        let name = &c.name;
        if !c.nullable {
            tests.push(Test {
                alias: format!("null_{name}"),
                column: Some(name.to_string()),
                problem: "empty, which the contract does not allow".into(),
                sql: format!("{name} IS NULL"),
                policy: Policy::Refused,
                values_of: None,
                reads: vec![name],
            });
        }
        if let Some(values) = c.values {
            let list: Vec<String> = values.iter().map(|v| format!("'{v}'")).collect();
            tests.push(Test {
                alias: format!("outside_{name}"),
                column: Some(name.to_string()),
                problem: format!("not one of {}", values.join(", ")),
                sql: format!("{name} IS NOT NULL AND {name} NOT IN ({})", list.join(", ")),
                policy: Policy::Refused,
                values_of: Some(c.name),
                reads: vec![name],
            });
        }
        if c.ty == ColumnType::Date {
            tests.push(Test {
                alias: format!("range_{name}"),
                column: Some(name.to_string()),
                problem: format!("with a date before {EARLIEST} or after {LATEST}"),
                sql: format!("{name} < DATE '{EARLIEST}' OR {name} > DATE '{LATEST}'"),
                policy: dates_policy,
                values_of: None,
                reads: vec![name],
            });
        }
        if table == Table::Lab && *name == "value" {
            tests.push(Test {
                alias: "nonfinite_value".into(),
                column: Some("value".into()),
                problem: "with a value that is not a number (NaN or infinite)".into(),
                sql: "value IS NOT NULL AND NOT (value >= -1.7976931348623157e308 AND value <= 1.7976931348623157e308)".into(),
                policy: Policy::NoValue,
                values_of: None,
                reads: vec!["value"],
            });
        }
    }
    // Plans find JLAC10 codes by the `analyte` and `specimen` columns (cheap to read): a
    // row whose column is not its code's (a code-less row with one included) would be
    // matched or missed wrongly, so it is set aside and said. Coverage counts a row without
    // an analyte as unmapped.
    for (column, of_code, problem) in [
        (
            "analyte",
            "left(jlac10, 5)",
            "with an analyte that is not the first 5 characters of its jlac10",
        ),
        (
            "specimen",
            "substr(jlac10, 10, 3)",
            "with a specimen that is not characters 10-12 of its jlac10",
        ),
    ] {
        if table == Table::Lab && cols.contains(&"jlac10") && cols.contains(&column) {
            tests.push(Test {
                alias: format!("{column}_of_jlac10"),
                column: Some(column.into()),
                problem: problem.into(),
                sql: format!("{column} IS DISTINCT FROM {of_code}"),
                policy: Policy::SetAside,
                values_of: None,
                reads: vec!["jlac10", column],
            });
        }
    }
    for (t, start, end) in ORDER {
        if *t == table && cols.contains(start) && cols.contains(end) {
            tests.push(Test {
                alias: format!("order_{start}_{end}"),
                column: Some(format!("{start}..{end}")),
                problem: format!("with {end} before {start}"),
                sql: format!("{end} < {start}"),
                policy: dates_policy,
                values_of: None,
                reads: vec![start, end],
            });
        }
    }
    tests
}

async fn check_table(q: &Queries<'_>, cols: &[&'static str], content: &mut Content) -> Result<()> {
    let (ctx, table) = (q.ctx, q.table);
    let source = checked_name(table);
    if !ctx.table_exist(source.as_str()).unwrap_or(false) {
        return Ok(());
    }
    let patient = table == Table::Patient;
    // The counts of every column's tests when they are kept (`mid inspect`, or a script
    // that read every column, checked these files): none of the script's own tests is
    // then missing. Otherwise the tests of the columns the script reads.
    let select = |tests: &[Test]| {
        let mut select = vec!["count(*) AS total_rows".to_string()];
        for t in tests {
            select.push(format!(
                "sum(CASE WHEN {} THEN 1 ELSE 0 END) AS {}",
                t.sql, t.alias
            ));
        }
        format!("SELECT {} FROM {source}", select.join(", "))
    };
    let all: Vec<&'static str> = table.columns().iter().map(|c| c.name).collect();
    let every = tests_of(table, &all);
    let (tests, counts) = match q.kept(&select(&every)) {
        Some(counts) => (every, counts),
        None => {
            let tests = tests_of(table, cols);
            let counts = q.counts(&select(&tests)).await?;
            (tests, counts)
        }
    };
    let total = counts.first().copied().unwrap_or(0);
    if total == 0 {
        content.findings.push(Finding {
            table: table.name(),
            column: None,
            problem: "has no rows".into(),
            rows: 0,
            examples: Vec::new(),
            policy: Policy::Noted,
        });
        return Ok(());
    }
    for (t, &n) in tests.iter().zip(&counts[1..]) {
        if n == 0 || !t.reads.iter().all(|r| cols.contains(r)) {
            continue;
        }
        let examples = match t.values_of {
            Some(col) => examples(ctx, table, col, &t.sql).await?,
            None => Vec::new(),
        };
        match t.policy {
            Policy::SetAside => content
                .keep
                .entry(table)
                .or_default()
                .push(format!("NOT coalesce({}, false)", t.sql)),
            Policy::NoValue => content.no_value = true,
            Policy::Refused | Policy::Noted => {}
        }
        content.findings.push(Finding {
            table: table.name(),
            column: t.column.clone(),
            problem: t.problem.clone(),
            rows: n,
            examples,
            policy: t.policy,
        });
    }
    if patient {
        // Rows beyond each patient's first: what would double-count them.
        let sql = format!(
            "SELECT sum(n - 1) AS twice FROM (SELECT count(*) AS n FROM {source} \
             WHERE hospital_id IS NOT NULL AND patient_id IS NOT NULL \
             GROUP BY hospital_id, patient_id HAVING count(*) > 1)"
        );
        let twice = q.counts(&sql).await?;
        if let Some(&n) = twice.first()
            && n > 0
        {
            content.findings.push(Finding {
                table: "patient",
                column: Some("hospital_id, patient_id".into()),
                problem: "repeating a patient already listed".into(),
                rows: n,
                examples: Vec::new(),
                policy: Policy::Refused,
            });
        }
    }
    Ok(())
}

/// Runs a query of one row of counts; a table whose pages cannot be decoded is an error
/// naming the table.
async fn query_counts(ctx: &SessionContext, sql: &str, table: Table) -> Result<Vec<u64>> {
    let cannot = |e: datafusion::error::DataFusionError| {
        // Held to a memory limit, the checks can run out of it: that is not damage.
        if matches!(
            e.find_root(),
            datafusion::error::DataFusionError::ResourcesExhausted(_)
        ) {
            return Error::new(format!(
                "checking table `{table}` needs more memory than the limit allows ({}); raise --memory-limit, or run on a machine with more memory",
                e.find_root()
            ));
        }
        Error::context(
            format!(
                "cannot read table `{table}` (damaged files? `mid run --verify` checks them against the manifest)"
            ),
            e,
        )
    };
    let batches = ctx
        .sql(sql)
        .await
        .map_err(cannot)?
        .collect()
        .await
        .map_err(cannot)?;
    let mut out = Vec::new();
    if let Some(b) = batches.iter().find(|b| b.num_rows() > 0) {
        for col in b.columns() {
            let col = arrow::compute::cast(col, &arrow::datatypes::DataType::Int64)
                .map_err(|e| Error::context("counting rows", e))?;
            let a = col
                .as_any()
                .downcast_ref::<arrow::array::Int64Array>()
                .ok_or_else(|| Error::new("counting rows: not a count"))?;
            out.push(if a.is_null(0) {
                0
            } else {
                a.value(0).max(0) as u64
            });
        }
    }
    Ok(out)
}

/// Up to three of the values that fail a test, in order.
async fn examples(
    ctx: &SessionContext,
    table: Table,
    col: &str,
    test: &str,
) -> Result<Vec<String>> {
    let sql = format!(
        "SELECT DISTINCT CAST({col} AS VARCHAR) AS v FROM {} WHERE {test} ORDER BY v LIMIT 3",
        checked_name(table)
    );
    let batches = ctx
        .sql(&sql)
        .await
        .map_err(|e| Error::context(format!("reading `{table}.{col}`"), e))?
        .collect()
        .await
        .map_err(|e| Error::context(format!("reading `{table}.{col}`"), e))?;
    let mut out = Vec::new();
    for b in &batches {
        let col = arrow::compute::cast(b.column(0), &arrow::datatypes::DataType::Utf8)
            .map_err(|e| Error::context("reading values", e))?;
        if let Some(a) = col.as_any().downcast_ref::<arrow::array::StringArray>() {
            for i in 0..a.len() {
                if !a.is_null(i) {
                    out.push(format!("{:?}", a.value(i)));
                }
            }
        }
    }
    Ok(out)
}
