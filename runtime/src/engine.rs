//! Executing compiled plans: checks that a data set has every table and column a script
//! needs (before anything runs), registers the CDM tables, and runs the named plans in order,
//! each result registered under its name for the plans after it.

use std::collections::BTreeMap;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow::array::RecordBatch;
use arrow::datatypes::{DataType, SchemaRef};
use datafusion::catalog::MemTable;
use datafusion::common::tree_node::{Transformed, TreeNode};
use datafusion::datasource::provider_as_source;
use datafusion::logical_expr::LogicalPlan;
use datafusion::physical_plan::collect;
use datafusion::physical_plan::display::DisplayableExecutionPlan;
use datafusion::prelude::{ParquetReadOptions, SessionConfig, SessionContext};
use mid_compiler::NamedPlan;
use mid_compiler::cdm::Table;
use mid_compiler::requirements::Requirement;
use mid_compiler::source::SourceMap;
use parquet::arrow::parquet_to_arrow_schema;
use parquet::file::reader::{FileReader, SerializedFileReader};

use crate::error::{Error, Result};

/// A problem with the data found before execution.
#[derive(Debug, Clone, PartialEq)]
pub struct DataProblem {
    pub message: String,
}

/// Checks that `dir` holds every table and column `needs` lists, with the contract's types.
/// Every problem is reported, each naming the table, column or file and the script place
/// that needs it.
pub fn check_data(dir: &Path, needs: &[Requirement], sources: &SourceMap) -> Vec<DataProblem> {
    let mut problems = Vec::new();
    let mut by_table: BTreeMap<Table, Vec<&Requirement>> = BTreeMap::new();
    for r in needs {
        by_table.entry(r.table).or_default().push(r);
    }
    let place = |r: &Requirement| match r.at {
        Some((file, span)) => {
            let (line, col) = sources.line_col(file, span.start);
            let text = &sources.get(file).text;
            let snippet: String = text
                .get(span.start..span.end.min(text.len()))
                .unwrap_or("")
                .split_whitespace()
                .collect::<Vec<_>>()
                .join(" ");
            let snippet: String = snippet.chars().take(60).collect();
            format!(
                "needed by {}:{line}:{col} (`{snippet}`)",
                sources.get(file).name
            )
        }
        None => "needed by the script".to_string(),
    };
    for (table, reqs) in by_table {
        let tdir = dir.join(table.name());
        let files = match parquet_files(&tdir) {
            Ok(f) if !f.is_empty() => f,
            Ok(_) => {
                problems.push(DataProblem {
                    message: format!(
                        "table `{table}` has no Parquet files in {}, {}",
                        tdir.display(),
                        place(reqs[0])
                    ),
                });
                continue;
            }
            Err(_) => {
                problems.push(DataProblem {
                    message: format!(
                        "the data set has no table `{table}` (no directory {}), {}",
                        tdir.display(),
                        place(reqs[0])
                    ),
                });
                continue;
            }
        };
        for f in &files {
            let schema = match file_schema(f) {
                Ok(s) => s,
                Err(e) => {
                    problems.push(DataProblem {
                        message: format!("cannot read {} of table `{table}`: {e}", f.display()),
                    });
                    continue;
                }
            };
            for r in &reqs {
                let want = table.column(r.column).map(|c| c.ty.arrow());
                match schema.field_with_name(r.column) {
                    Err(_) => problems.push(DataProblem {
                        message: format!(
                            "table `{table}` has no column `{}` in {}, {}",
                            r.column,
                            f.display(),
                            place(r)
                        ),
                    }),
                    Ok(field)
                        if Some(field.data_type()) != want.as_ref()
                            && !compatible(field.data_type(), want.as_ref()) =>
                    {
                        problems.push(DataProblem {
                            message: format!(
                                "column `{table}.{}` is {} in {}, the contract says {}; {}",
                                r.column,
                                crate::inspect::type_word(field.data_type()),
                                f.display(),
                                want.as_ref()
                                    .map(crate::inspect::type_word)
                                    .unwrap_or_default(),
                                place(r)
                            ),
                        })
                    }
                    Ok(_) => {}
                }
            }
        }
    }
    problems
}

/// String columns may be stored as large or view strings; they read the same.
fn compatible(found: &DataType, want: Option<&DataType>) -> bool {
    matches!(
        (found, want),
        (
            DataType::LargeUtf8 | DataType::Utf8View,
            Some(DataType::Utf8)
        )
    )
}

/// The Parquet files of a table directory, in name order.
pub fn parquet_files(dir: &Path) -> std::io::Result<Vec<PathBuf>> {
    let mut out: Vec<PathBuf> = std::fs::read_dir(dir)?
        .filter_map(|e| e.ok())
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "parquet"))
        .collect();
    out.sort();
    Ok(out)
}

fn file_schema(path: &Path) -> std::result::Result<SchemaRef, String> {
    let file = File::open(path).map_err(|e| e.to_string())?;
    let reader = SerializedFileReader::new(file)
        .map_err(|e| format!("not a readable Parquet file ({e})"))?;
    let meta = reader.metadata().file_metadata();
    let schema = parquet_to_arrow_schema(meta.schema_descr(), meta.key_value_metadata())
        .map_err(|e| e.to_string())?;
    Ok(Arc::new(schema))
}

/// A session over one data set.
pub struct Engine {
    pub ctx: SessionContext,
}

impl Engine {
    /// Registers every CDM table the data set has, with the contract's schema.
    pub async fn open(dir: &Path) -> Result<Engine> {
        let threads = std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(2);
        // DATAFUSION_* environment variables still tune the engine (e.g. for benchmarks).
        let mut config = SessionConfig::from_env()
            .map_err(|e| Error::context("bad DATAFUSION_ setting", e))?
            .with_information_schema(false);
        if std::env::var_os("DATAFUSION_EXECUTION_TARGET_PARTITIONS").is_none() {
            config = config.with_target_partitions(threads);
        }
        // Filter rows while decoding Parquet, in the order the compiler wrote the tests: a
        // lab condition's analyte test comes first and spares the unit conversion on every
        // other row (5x on the lab benchmark). DataFusion's own reordering (by the size of
        // the columns a test reads, join-derived dynamic filters included) is left off: it
        // made the inpatient benchmark 1.7x slower (docs/performance.md).
        let parquet = &mut config.options_mut().execution.parquet;
        if std::env::var_os("DATAFUSION_EXECUTION_PARQUET_PUSHDOWN_FILTERS").is_none() {
            parquet.pushdown_filters = true;
        }
        if std::env::var_os("DATAFUSION_EXECUTION_PARQUET_REORDER_FILTERS").is_none() {
            parquet.reorder_filters = false;
        }
        let ctx = SessionContext::new_with_config(config);
        for t in Table::ALL {
            let tdir = dir.join(t.name());
            if !parquet_files(&tdir).map(|f| !f.is_empty()).unwrap_or(false) {
                continue;
            }
            let schema = t.scan_schema();
            let path = format!("{}/", tdir.display());
            ctx.register_parquet(
                t.name(),
                &path,
                ParquetReadOptions::default().schema(&schema),
            )
            .await
            .map_err(|e| {
                Error::context(format!("cannot open table `{t}` in {}", tdir.display()), e)
            })?;
        }
        Ok(Engine { ctx })
    }

    /// Replaces the schema-only sources of a compiled plan by the registered tables.
    pub async fn bind(&self, plan: LogicalPlan) -> Result<LogicalPlan> {
        let mut names = Vec::new();
        plan.apply(|p| {
            if let LogicalPlan::TableScan(s) = p {
                names.push(s.table_name.clone());
            }
            Ok(datafusion::common::tree_node::TreeNodeRecursion::Continue)
        })
        .map_err(|e| Error::new(e.to_string()))?;
        let mut providers = BTreeMap::new();
        for n in names {
            let provider = self
                .ctx
                .table_provider(n.clone())
                .await
                .map_err(|e| Error::context(format!("table `{n}`"), e))?;
            providers.insert(n.to_string(), provider_as_source(provider));
        }
        let bound = plan
            .transform_up(|p| match p {
                LogicalPlan::TableScan(mut s) => {
                    if let Some(src) = providers.get(&s.table_name.to_string()) {
                        s.source = src.clone();
                    }
                    Ok(Transformed::yes(LogicalPlan::TableScan(s)))
                }
                other => Ok(Transformed::no(other)),
            })
            .map_err(|e| Error::new(e.to_string()))?;
        Ok(bound.data)
    }

    /// The plan after DataFusion's optimiser (what `--emit plan-optimized` shows).
    pub async fn optimize(&self, plan: LogicalPlan) -> Result<LogicalPlan> {
        let bound = self.bind(plan).await?;
        self.ctx
            .state()
            .optimize(&bound)
            .map_err(|e| Error::context("cannot optimise the plan", e))
    }

    /// Runs one plan and returns its rows; with `profile`, also the physical plan annotated
    /// with what each operator did (rows, time), for finding where a script spends its time.
    pub async fn execute(
        &self,
        plan: &NamedPlan,
        profile: bool,
    ) -> Result<(Vec<RecordBatch>, Option<String>)> {
        let bound = self.bind(plan.plan.clone()).await?;
        let df = self
            .ctx
            .execute_logical_plan(bound)
            .await
            .map_err(|e| Error::context(format!("cannot plan `{}`", plan.name), e))?;
        let task = Arc::new(df.task_ctx());
        let physical = df
            .create_physical_plan()
            .await
            .map_err(|e| Error::context(format!("cannot plan `{}`", plan.name), e))?;
        let batches = collect(physical.clone(), task)
            .await
            .map_err(|e| Error::context(format!("running `{}` failed", plan.name), e))?;
        let metrics = profile.then(|| {
            DisplayableExecutionPlan::with_metrics(physical.as_ref())
                .indent(false)
                .to_string()
        });
        Ok((batches, metrics))
    }

    /// Registers a result for the plans after it.
    pub fn register(&self, name: &str, schema: SchemaRef, batches: Vec<RecordBatch>) -> Result<()> {
        let table = MemTable::try_new(schema, vec![batches])
            .map_err(|e| Error::context(format!("cannot keep `{name}`"), e))?;
        self.ctx
            .register_table(name, Arc::new(table))
            .map_err(|e| Error::context(format!("cannot register `{name}`"), e))?;
        Ok(())
    }
}

/// Runs every plan of a compiled script in order; returns each result by plan name. With
/// `profile`, prints each plan's wall time and annotated physical plan to stderr.
pub async fn run_all(
    engine: &Engine,
    plans: &[NamedPlan],
    profile: bool,
    mut progress: impl FnMut(usize, &str),
) -> Result<BTreeMap<String, (SchemaRef, Vec<RecordBatch>)>> {
    let mut out = BTreeMap::new();
    for (i, p) in plans.iter().enumerate() {
        progress(i, &p.name);
        let clock = std::time::Instant::now();
        let (batches, metrics) = engine.execute(p, profile).await?;
        if let Some(m) = metrics {
            let rows: usize = batches.iter().map(|b| b.num_rows()).sum();
            eprintln!(
                "-- {} ({rows} rows, {:.3} s)\n{m}",
                p.name,
                clock.elapsed().as_secs_f64()
            );
        }
        let schema: SchemaRef = Arc::new(p.plan.schema().as_arrow().clone());
        let schema = batches.first().map(|b| b.schema()).unwrap_or(schema);
        engine.register(&p.name, schema.clone(), batches.clone())?;
        out.insert(p.name.clone(), (schema, batches));
    }
    Ok(out)
}
