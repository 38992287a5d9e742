//! Executing compiled plans (runtime): a DataFusion session over one data set's CDM tables,
//! configured once for every use (running, profiling, `--emit plan-optimized`); the named
//! plans run in order, each result registered under its name for the plans after it.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

use arrow::array::RecordBatch;
use arrow::datatypes::SchemaRef;
use datafusion::catalog::MemTable;
use datafusion::common::tree_node::{Transformed, TreeNode};
use datafusion::datasource::provider_as_source;
use datafusion::logical_expr::LogicalPlan;
use datafusion::physical_plan::coalesce_partitions::CoalescePartitionsExec;
use datafusion::physical_plan::display::DisplayableExecutionPlan;
use datafusion::physical_plan::sorts::sort_preserving_merge::SortPreservingMergeExec;
use datafusion::physical_plan::{ExecutionPlan, ExecutionPlanProperties, collect};
use datafusion::prelude::{ParquetReadOptions, SessionConfig, SessionContext};
use mid_compiler::NamedPlan;
use mid_compiler::cdm::Table;

use crate::dataset::files::parquet_files;
use crate::error::{Error, Result};

/// A session over one data set.
pub struct Engine {
    pub ctx: SessionContext,
}

impl Engine {
    /// The session configuration every run uses.
    fn config() -> Result<SessionConfig> {
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
        Ok(config)
    }

    /// A session with no data: what plans become under the run's optimiser settings.
    pub fn without_data() -> Result<Engine> {
        Ok(Engine {
            ctx: SessionContext::new_with_config(Self::config()?),
        })
    }

    /// Registers every CDM table the data set has, with the contract's schema.
    pub async fn open(dir: &Path) -> Result<Engine> {
        let ctx = SessionContext::new_with_config(Self::config()?);
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

    /// The plan after this session's optimiser (what `--emit plan-optimized` shows). The
    /// plan's sources stay schema-only where the session has no table of that name.
    pub fn optimize(&self, plan: &LogicalPlan) -> Result<LogicalPlan> {
        self.ctx
            .state()
            .optimize(plan)
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
        let physical = one_partition(physical);
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

/// The plan with its partitions merged into one. DataFusion may parallelise the work above
/// a sort (a round-robin repartition that keeps each partition sorted), and `collect`
/// concatenates partitions in turn: rows would come out in a different order from run to
/// run. Merging by the plan's own ordering keeps every result in its written order.
fn one_partition(plan: Arc<dyn ExecutionPlan>) -> Arc<dyn ExecutionPlan> {
    if plan.output_partitioning().partition_count() <= 1 {
        return plan;
    }
    match plan.output_ordering().cloned() {
        Some(order) => Arc::new(SortPreservingMergeExec::new(order, plan)),
        None => Arc::new(CoalescePartitionsExec::new(plan)),
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
            crate::errln!(
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
