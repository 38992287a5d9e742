//! Executing compiled plans (runtime): a DataFusion session over one data set's CDM tables,
//! configured once for every use (running, profiling, `--emit plan-optimized`); the named
//! plans run in order, each result registered under its name for the plans after it. The
//! same plans run in process or on a Ballista cluster (`cluster`).

mod analyte_first;
#[cfg(feature = "ballista")]
pub mod cluster;

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

use arrow::array::RecordBatch;
use arrow::datatypes::{Schema, SchemaRef};
use datafusion::catalog::MemTable;
use datafusion::common::tree_node::{Transformed, TreeNode};
use datafusion::datasource::file_format::options::ReadOptions;
use datafusion::datasource::listing::{ListingTable, ListingTableConfig, ListingTableUrl};
use datafusion::datasource::provider_as_source;
use datafusion::error::DataFusionError;
use datafusion::execution::runtime_env::RuntimeEnvBuilder;
use datafusion::logical_expr::LogicalPlan;
use datafusion::physical_plan::coalesce_partitions::CoalescePartitionsExec;
use datafusion::physical_plan::display::DisplayableExecutionPlan;
use datafusion::physical_plan::sorts::sort_preserving_merge::SortPreservingMergeExec;
use datafusion::physical_plan::{ExecutionPlan, ExecutionPlanProperties, collect};
use datafusion::prelude::{ParquetReadOptions, SessionConfig, SessionContext};
use mid_compiler::NamedPlan;
use mid_compiler::cdm::Table;
use mid_compiler::codegen::PlanKind;

use crate::dataset::check_cache;
use crate::dataset::files::parquet_files;
use crate::error::{Error, Result};

/// `ctx` with mid's own optimiser rules after DataFusion's.
fn with_rules(ctx: SessionContext) -> SessionContext {
    ctx.add_optimizer_rule(Arc::new(analyte_first::AnalyteFirst));
    ctx
}

/// A session over one data set. A clone is the same session (what concurrent plans share).
#[derive(Clone)]
pub struct Engine {
    pub ctx: SessionContext,
    /// On a cluster: where each plan's result is written (as Parquet) for the plans after it
    /// to read, a directory the executors see at the same path. In process: `None`, results
    /// stay in memory.
    exchange: Option<Arc<Exchange>>,
    /// Where each registered CDM table's rows are: its directory, or one file of it (not
    /// for a table read from a list of its files).
    pub sources: BTreeMap<Table, std::path::PathBuf>,
    /// How each table of `sources` is read when that is all its files' rows, or those less
    /// the rows the data checks set aside (`apply`): what a table's totals depend on besides
    /// its files. A table restricted to a hospital or a patient has none (no reuse).
    reads: Arc<std::sync::Mutex<BTreeMap<Table, String>>>,
}

/// The directory a cluster's results are shared in, and how many it holds.
struct Exchange {
    dir: tempfile::TempDir,
    written: std::sync::atomic::AtomicUsize,
}

/// Which engine runs the plans: DataFusion in this process, or a Ballista cluster.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Place {
    InProcess,
    /// A Ballista scheduler (`HOST:PORT`), and the directory for results shared with its
    /// executors (a temporary directory by default: enough when they run on this machine).
    Cluster {
        scheduler: String,
        shared: Option<std::path::PathBuf>,
    },
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
            ctx: with_rules(SessionContext::new_with_config(Self::config()?)),
            exchange: None,
            sources: BTreeMap::new(),
            reads: Default::default(),
        })
    }

    /// Registers every CDM table the data set has, with the contract's schema.
    pub async fn open(dir: &Path) -> Result<Engine> {
        Self::open_with(dir, None).await
    }

    /// As `open`, with execution held to `memory_limit` bytes: operators that can spill
    /// (sorts, aggregates, joins) spill to the system's temporary directory, and a plan that
    /// cannot fit fails with a message saying so (not the kernel's kill).
    pub async fn open_with(dir: &Path, memory_limit: Option<usize>) -> Result<Engine> {
        Self::open_files(dir, memory_limit, Files::All).await
    }

    /// As `open_with`, reading only the files `files` names of each table.
    pub async fn open_files(
        dir: &Path,
        memory_limit: Option<usize>,
        files: Files<'_>,
    ) -> Result<Engine> {
        let ctx = with_rules(match memory_limit {
            None => SessionContext::new_with_config(Self::config()?),
            Some(bytes) => {
                let rt = RuntimeEnvBuilder::new()
                    .with_memory_limit(bytes, 1.0)
                    .build_arc()
                    .map_err(|e| Error::context("cannot set the memory limit", e))?;
                SessionContext::new_with_config_rt(Self::config()?, rt)
            }
        });
        let sources = register_cdm(&ctx, dir, files).await?;
        Ok(Engine {
            ctx,
            exchange: None,
            reads: Arc::new(std::sync::Mutex::new(whole(&sources))),
            sources,
        })
    }

    /// A session whose plans run where `place` says: in process (held to `memory_limit`), or
    /// on a Ballista cluster, which reads the same files (at the same path) and whose
    /// executors hold their own limits.
    pub async fn open_at(dir: &Path, memory_limit: Option<usize>, place: &Place) -> Result<Engine> {
        match place {
            Place::InProcess => Self::open_with(dir, memory_limit).await,
            Place::Cluster { scheduler, shared } => {
                Self::open_cluster(dir, scheduler, shared.as_deref()).await
            }
        }
    }

    #[cfg(feature = "ballista")]
    async fn open_cluster(dir: &Path, scheduler: &str, shared: Option<&Path>) -> Result<Engine> {
        let ctx = cluster::connect(scheduler, Self::config()?).await?;
        // Absolute paths: the executors resolve them, not this process.
        let dir = std::path::absolute(dir)
            .map_err(|e| Error::context(format!("cannot resolve {}", dir.display()), e))?;
        let sources = register_cdm(&ctx, &dir, Files::All).await?;
        let exchange = match shared {
            Some(d) => tempfile::Builder::new().prefix("mid-run-").tempdir_in(d),
            None => tempfile::Builder::new().prefix("mid-run-").tempdir(),
        }
        .map_err(|e| Error::context("cannot make the directory results are shared in", e))?;
        Ok(Engine {
            ctx,
            exchange: Some(Arc::new(Exchange {
                dir: exchange,
                written: Default::default(),
            })),
            reads: Arc::new(std::sync::Mutex::new(whole(&sources))),
            sources,
        })
    }

    #[cfg(not(feature = "ballista"))]
    async fn open_cluster(_: &Path, _: &str, _: Option<&Path>) -> Result<Engine> {
        Err(Error::usage(
            "this mid was built without the Ballista engine; build it with `cargo build --release --features ballista` (docs/scale.md)",
        ))
    }

    /// Reads the tables as the data checks decided: without the rows set aside, and with lab
    /// values that are not numbers as missing. Tables without such rows are read directly.
    pub async fn apply(&self, content: &crate::dataset::content::Content) -> Result<()> {
        let mut tables: Vec<Table> = content.keep.keys().copied().collect();
        if content.no_value && !tables.contains(&Table::Lab) {
            tables.push(Table::Lab);
        }
        for t in tables {
            let raw_name = format!("__raw_{t}");
            let raw = self
                .ctx
                .deregister_table(t.name())
                .map_err(|e| Error::context(format!("table `{t}`"), e))?
                .ok_or_else(|| Error::new(format!("table `{t}` is not open")))?;
            self.ctx
                .register_table(raw_name.as_str(), raw)
                .map_err(|e| Error::context(format!("table `{t}`"), e))?;
            let keep = content.keep.get(&t).cloned().unwrap_or_default();
            let columns: Vec<String> = t
                .scan_schema()
                .fields()
                .iter()
                .map(|f| {
                    if t == Table::Lab && f.name() == "value" && content.no_value {
                        "CASE WHEN value >= -1.7976931348623157e308 AND value <= 1.7976931348623157e308 THEN value END AS value".to_string()
                    } else {
                        f.name().clone()
                    }
                })
                .collect();
            let filter = if keep.is_empty() {
                String::new()
            } else {
                format!(" WHERE {}", keep.join(" AND "))
            };
            let sql = format!("SELECT {} FROM {raw_name}{filter}", columns.join(", "));
            let view = self
                .ctx
                .sql(&sql)
                .await
                .map_err(|e| Error::context(format!("table `{t}`"), e))?
                .into_view();
            self.ctx
                .register_table(t.name(), view)
                .map_err(|e| Error::context(format!("table `{t}`"), e))?;
            if let Ok(mut reads) = self.reads.lock()
                && let Some(how) = reads.get_mut(&t)
            {
                *how = format!("{how}; {sql}");
            }
        }
        Ok(())
    }

    /// Runs each plan on one partition (unless `DATAFUSION_EXECUTION_TARGET_PARTITIONS` says
    /// otherwise): for engines that run side by side, one per core.
    pub fn one_partition(&self) {
        if std::env::var_os("DATAFUSION_EXECUTION_TARGET_PARTITIONS").is_none() {
            let state = self.ctx.state_ref();
            let mut state = state.write();
            state.config_mut().options_mut().execution.target_partitions = 1;
        }
    }

    /// Restricts every CDM table, patients included, to one hospital's rows, as that
    /// hospital would see its own data: plans bound after this read only that hospital, and
    /// the Parquet reader skips the row groups of the others by their statistics. (The
    /// feasibility plans group per patient over materialised intermediates, so the engine
    /// does not take the hospital for a constant there and group in its slow ordered mode.)
    pub async fn only_hospital(&self, hospital: &str) -> Result<()> {
        use datafusion::prelude::{col, lit};
        if let Ok(mut reads) = self.reads.lock() {
            reads.clear();
        }
        for t in Table::ALL {
            let cannot = |e: DataFusionError| Error::context(format!("table `{t}`"), e);
            if !self.ctx.table_exist(t.name()).map_err(cannot)? {
                continue;
            }
            let frame = self.ctx.table(t.name()).await.map_err(cannot)?;
            let frame = frame
                .filter(col("hospital_id").eq(lit(hospital)))
                .map_err(cannot)?;
            self.ctx.deregister_table(t.name()).map_err(cannot)?;
            self.ctx
                .register_table(t.name(), frame.into_view())
                .map_err(cannot)?;
        }
        Ok(())
    }

    /// Restricts every CDM table to one patient's rows (`mid why`): plans bound after this
    /// see that patient alone.
    pub async fn only_patient(&self, hospital: &str, patient: i64) -> Result<()> {
        use datafusion::prelude::{col, lit};
        if let Ok(mut reads) = self.reads.lock() {
            reads.clear();
        }
        for t in Table::ALL {
            let cannot = |e: DataFusionError| Error::context(format!("table `{t}`"), e);
            if !self.ctx.table_exist(t.name()).map_err(cannot)? {
                continue;
            }
            let frame = self.ctx.table(t.name()).await.map_err(cannot)?;
            let frame = frame
                .filter(
                    col("hospital_id")
                        .eq(lit(hospital))
                        .and(col("patient_id").eq(lit(patient))),
                )
                .map_err(cannot)?;
            self.ctx.deregister_table(t.name()).map_err(cannot)?;
            self.ctx
                .register_table(t.name(), frame.into_view())
                .map_err(cannot)?;
        }
        Ok(())
    }

    /// Every row of a registered table, as one batch.
    pub async fn table_rows(&self, name: &str) -> Result<RecordBatch> {
        let cannot = |e: DataFusionError| Error::context(format!("table `{name}`"), e);
        let frame = self.ctx.table(name).await.map_err(cannot)?;
        let schema: SchemaRef = Arc::new(frame.schema().as_arrow().clone());
        let batches = frame.collect().await.map_err(cannot)?;
        arrow::compute::concat_batches(&schema, &batches).map_err(|e| Error::context(name, e))
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
    /// A table's totals (`PlanKind::Totals`) are reused while its files are unchanged.
    pub async fn execute(
        &self,
        plan: &NamedPlan,
        profile: bool,
    ) -> Result<(Vec<RecordBatch>, Option<String>)> {
        let PlanKind::Totals { table } = &plan.kind else {
            return self.execute_plan(plan, profile).await;
        };
        let key = self.totals_key(table, plan);
        if let Some(kept) = key.as_deref().and_then(check_cache::load_totals)
            && let Some(batch) = totals_batch(plan, &kept)
        {
            let note = profile.then(|| {
                format!("(reused: the files of `{table}` are unchanged since it was counted)\n")
            });
            return Ok((vec![batch], note));
        }
        let (batches, metrics) = self.execute_plan(plan, profile).await?;
        if let (Some(key), Some(totals)) = (key, kept_totals(&batches)) {
            check_cache::store_totals(&key, &totals);
        }
        Ok((batches, metrics))
    }

    /// The key a table's totals are kept under: the state of its files, how the run reads
    /// them, and the plan; `None` when they are not to be reused.
    fn totals_key(&self, table: &str, plan: &NamedPlan) -> Option<String> {
        let t = Table::from_name(table)?;
        let how = self.reads.lock().ok()?.get(&t)?.clone();
        let state = check_cache::files_state(self.sources.get(&t)?)?;
        let text = format!("totals v1\n{how}\n{}", plan.plan.display_indent());
        Some(check_cache::key(&state, t.name(), &text))
    }

    async fn execute_plan(
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
        let batches = collect(physical.clone(), task).await.map_err(|e| {
            if matches!(e.find_root(), DataFusionError::ResourcesExhausted(_)) {
                Error::new(format!(
                    "running `{}` needs more memory than the limit allows ({}); raise --memory-limit, or run on a machine with more memory",
                    plan.name,
                    e.find_root()
                ))
            } else {
                Error::context(format!("running `{}` failed", plan.name), e)
            }
        })?;
        let metrics = profile.then(|| {
            DisplayableExecutionPlan::with_metrics(physical.as_ref())
                .indent(false)
                .to_string()
        });
        Ok((batches, metrics))
    }

    /// Registers a result for the plans after it: in memory, or on a cluster as a Parquet
    /// file in the shared directory (a cluster's plans cannot carry a table in memory).
    pub async fn register(
        &self,
        name: &str,
        schema: SchemaRef,
        batches: Vec<RecordBatch>,
    ) -> Result<()> {
        if let Some(x) = &self.exchange {
            let n = x.written.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            let path = x.dir.path().join(format!("{n:05}.parquet"));
            crate::output::write_batches(&path, schema.clone(), &batches, false)
                .map_err(|e| Error::context(format!("cannot keep `{name}`"), e))?;
            self.ctx
                .register_parquet(
                    name,
                    path.display().to_string(),
                    ParquetReadOptions::default().schema(&schema),
                )
                .await
                .map_err(|e| Error::context(format!("cannot register `{name}`"), e))?;
            return Ok(());
        }
        let table = MemTable::try_new(schema, vec![batches])
            .map_err(|e| Error::context(format!("cannot keep `{name}`"), e))?;
        self.ctx
            .register_table(name, Arc::new(table))
            .map_err(|e| Error::context(format!("cannot register `{name}`"), e))?;
        Ok(())
    }
}

/// Which files of each table a session reads.
#[derive(Debug, Clone, Copy)]
pub enum Files<'a> {
    /// Every Parquet file of the table's directory.
    All,
    /// Only `<table>/<part>.parquet` (a pooled data set's hospital at the data center); a
    /// table without that file is not opened.
    Part(&'a str),
    /// The files listed for each table (`dataset::files::HospitalFiles::of`); a table
    /// without a list, or with an empty one, is read whole.
    Listed(&'a BTreeMap<Table, Vec<std::path::PathBuf>>),
}

/// Registers every CDM table `dir` has, with the contract's schema (and each table again,
/// every column nullable, for the data checks), reading the files `files` names; returns
/// where each table's rows are.
async fn register_cdm(
    ctx: &SessionContext,
    dir: &Path,
    files: Files<'_>,
) -> Result<BTreeMap<Table, std::path::PathBuf>> {
    let mut sources = BTreeMap::new();
    for t in Table::ALL {
        let tdir = dir.join(t.name());
        if !parquet_files(&tdir).map(|f| !f.is_empty()).unwrap_or(false) {
            continue;
        }
        let schema = t.scan_schema();
        // The data checks read every column as nullable, so that an empty key is
        // counted and named (`dataset::content`), not a decoding error.
        let nullable = Schema::new(
            schema
                .fields()
                .iter()
                .map(|f| f.as_ref().clone().with_nullable(true))
                .collect::<Vec<_>>(),
        );
        let cannot = |e: DataFusionError| {
            Error::context(format!("cannot open table `{t}` in {}", tdir.display()), e)
        };
        let paths: Vec<String> = match files {
            Files::Part(p) => {
                let file = tdir.join(format!("{p}.parquet"));
                if !file.is_file() {
                    continue;
                }
                sources.insert(t, file.clone());
                vec![file.display().to_string()]
            }
            // Some of the directory's files: their rows are not the directory's (no reuse
            // of what was counted over it).
            Files::Listed(lists) if lists.get(&t).is_some_and(|l| !l.is_empty()) => {
                lists[&t].iter().map(|f| f.display().to_string()).collect()
            }
            Files::All | Files::Listed(_) => {
                sources.insert(t, tdir.clone());
                vec![format!("{}/", tdir.display())]
            }
        };
        let urls = paths
            .iter()
            .map(|p| ListingTableUrl::parse(p).map_err(cannot))
            .collect::<Result<Vec<_>>>()?;
        for (name, schema) in [
            (t.name().to_string(), schema.as_ref()),
            (crate::dataset::content::checked_name(t), &nullable),
        ] {
            let options = ParquetReadOptions::default()
                .schema(schema)
                .to_listing_options(&ctx.copied_config(), ctx.copied_table_options());
            let config = ListingTableConfig::new_with_multi_paths(urls.clone())
                .with_listing_options(options)
                .with_schema(Arc::new(schema.clone()));
            let table = ListingTable::try_new(config)
                .map_err(cannot)?
                .with_cache(ctx.runtime_env().cache_manager.get_file_statistic_cache());
            ctx.register_table(name.as_str(), Arc::new(table))
                .map_err(cannot)?;
        }
    }
    Ok(sources)
}

/// A size as people write it: `512M`, `2G`, `1.5G`, `800000000` (bytes).
pub fn parse_size(text: &str) -> std::result::Result<usize, String> {
    let t = text.trim();
    let (num, mult) = match t.char_indices().last() {
        Some((i, c)) if c.is_ascii_alphabetic() => {
            let m: f64 = match c.to_ascii_uppercase() {
                'K' => 1024.0,
                'M' => 1024.0 * 1024.0,
                'G' => 1024.0 * 1024.0 * 1024.0,
                'T' => 1024.0 * 1024.0 * 1024.0 * 1024.0,
                _ => {
                    return Err(format!(
                        "`{text}` is not a size: the unit must be K, M, G or T (512M, 2G)"
                    ));
                }
            };
            (&t[..i], m)
        }
        _ => (t, 1.0),
    };
    match num.trim().parse::<f64>() {
        Ok(n) if n.is_finite() && n > 0.0 && n * mult < 1e18 => Ok((n * mult) as usize),
        _ => Err(format!("`{text}` is not a size such as 512M or 2G")),
    }
}

/// The async runtime for plans run where `place` says: on a cluster, its threads have the
/// stacks that encoding our plans for the scheduler needs.
pub fn runtime_for(place: &Place) -> Result<tokio::runtime::Runtime> {
    match place {
        #[cfg(feature = "ballista")]
        Place::Cluster { .. } => cluster::runtime(),
        _ => crate::runtime(),
    }
}

/// The plan with its partitions merged into one. DataFusion may parallelise the work above
/// a sort (a round-robin repartition that keeps each partition sorted), and `collect`
/// concatenates partitions in turn: rows would come out in a different order from run to
/// run. Merging by the plan's own ordering keeps every result in its written order.
fn one_partition(plan: Arc<dyn ExecutionPlan>) -> Arc<dyn ExecutionPlan> {
    let plan = serial_above_sort(plan.clone()).unwrap_or(plan);
    if plan.output_partitioning().partition_count() <= 1 {
        return plan;
    }
    match plan.output_ordering().cloned() {
        Some(order) => Arc::new(SortPreservingMergeExec::new(order, plan)),
        None => Arc::new(CoalescePartitionsExec::new(plan)),
    }
}

/// The plan without the round-robin repartitions between its root and its last sort. A
/// plan's rows are in its sort's order only as far as the operators above the sort keep the
/// sort's keys (a projection that turns a key into a date or text does not): DataFusion may
/// split the work above the sort into partitions and merge them by what is left of the
/// order, and rows equal on it then come out in an order that depends on batch boundaries,
/// and so on the data's size and the machine's cores. Above the sort there is only cheap
/// work (projections), so it runs on one partition. `None` when the plan has no sort on its
/// path of single inputs, or cannot be rebuilt.
fn serial_above_sort(plan: Arc<dyn ExecutionPlan>) -> Option<Arc<dyn ExecutionPlan>> {
    use datafusion::physical_plan::Partitioning;
    use datafusion::physical_plan::execution_plan::{
        ChildrenPropertiesMode, ReplaceChildrenOptions,
    };
    use datafusion::physical_plan::repartition::RepartitionExec;
    use datafusion::physical_plan::sorts::sort::SortExec;
    if plan.is::<SortExec>() {
        return Some(plan);
    }
    if let Some(r) = plan.downcast_ref::<RepartitionExec>()
        && matches!(r.partitioning(), Partitioning::RoundRobinBatch(_))
        && r.input().output_partitioning().partition_count() == 1
    {
        return serial_above_sort(r.input().clone());
    }
    let children = plan.children();
    if children.len() != 1 {
        return None;
    }
    let child = serial_above_sort(children[0].clone())?;
    plan.replace_children(
        vec![child],
        ReplaceChildrenOptions::new(ChildrenPropertiesMode::Recompute),
    )
    .ok()
}

/// Every table of `sources` as read from all its files.
fn whole(sources: &BTreeMap<Table, std::path::PathBuf>) -> BTreeMap<Table, String> {
    sources.keys().map(|t| (*t, "files".to_string())).collect()
}

/// A table's totals as kept: the hospital (first column) and the counts of each row;
/// `None` when the rows are not of that shape (then they are not kept).
fn kept_totals(batches: &[RecordBatch]) -> Option<check_cache::Totals> {
    use arrow::array::{Array, AsArray};
    use arrow::datatypes::Int64Type;
    let mut rows = Vec::new();
    for b in batches {
        let hospitals =
            arrow::compute::cast(b.column(0), &arrow::datatypes::DataType::Utf8).ok()?;
        let hospitals = hospitals.as_string_opt::<i32>()?;
        let counts: Vec<_> = b.columns()[1..]
            .iter()
            .map(|c| c.as_primitive_opt::<Int64Type>())
            .collect::<Option<_>>()?;
        for i in 0..b.num_rows() {
            if hospitals.is_null(i) || counts.iter().any(|c| c.is_null(i)) {
                return None;
            }
            let n = counts.iter().map(|c| c.value(i)).collect();
            rows.push((hospitals.value(i).to_string(), n));
        }
    }
    Some(check_cache::Totals { rows })
}

/// The kept totals as the plan's rows; `None` when they do not fit its columns (then the
/// plan runs).
fn totals_batch(plan: &NamedPlan, kept: &check_cache::Totals) -> Option<RecordBatch> {
    use arrow::array::{ArrayRef, Int64Array, StringArray};
    let schema: SchemaRef = Arc::new(plan.plan.schema().as_arrow().clone());
    let width = schema.fields().len();
    if width < 1 || kept.rows.iter().any(|(_, n)| n.len() + 1 != width) {
        return None;
    }
    let hospitals = StringArray::from_iter_values(kept.rows.iter().map(|(h, _)| h.as_str()));
    let mut columns: Vec<ArrayRef> =
        vec![arrow::compute::cast(&hospitals, schema.field(0).data_type()).ok()?];
    for j in 0..width - 1 {
        let n = Int64Array::from_iter_values(kept.rows.iter().map(|(_, n)| n[j]));
        columns.push(arrow::compute::cast(&n, schema.field(j + 1).data_type()).ok()?);
    }
    RecordBatch::try_new(schema, columns).ok()
}

/// Runs every plan of a compiled script; returns each result by plan name. With `profile`,
/// prints each plan's wall time and annotated physical plan to stderr, one plan at a time.
///
/// In process, two plans run at once when neither reads a CDM table and every plan each
/// reads is done: most plans are small (VEGF: 182 of 206 under 10 ms), and their time is
/// mostly planning, on one core. A plan that reads a CDM table runs alone, so the peak
/// memory stays that of one scan. The results are the same whatever the order they finish
/// in, and a failure is the first failing plan in plan order, as when they run one by one.
pub async fn run_all(
    engine: &Engine,
    plans: &[NamedPlan],
    profile: bool,
    mut progress: impl FnMut(usize, &str),
) -> Result<BTreeMap<String, (SchemaRef, Vec<RecordBatch>)>> {
    let at_once = if profile || engine.exchange.is_some() {
        1
    } else {
        2
    };
    let names: BTreeMap<&str, usize> = plans
        .iter()
        .enumerate()
        .map(|(i, p)| (p.name.as_str(), i))
        .collect();
    let needs: Vec<(Vec<usize>, bool)> = plans
        .iter()
        .map(|p| {
            let read = mid_compiler::codegen::scanned(&p.plan);
            let after = read
                .iter()
                .filter_map(|n| names.get(n.as_str()).copied())
                .collect();
            let cdm = read.iter().any(|n| Table::from_name(n).is_some());
            (after, cdm)
        })
        .collect();
    let mut out = BTreeMap::new();
    let mut started = vec![false; plans.len()];
    let mut done = vec![false; plans.len()];
    let mut running = tokio::task::JoinSet::new();
    let mut heavy_running = false;
    let mut failed: Option<(usize, Error)> = None;
    let mut next = 0;
    loop {
        // Start what may start, in plan order; none after a failure's plan.
        let limit = failed.as_ref().map_or(plans.len(), |(i, _)| *i);
        for i in next..limit {
            if started[i] || running.len() >= at_once || heavy_running {
                continue;
            }
            let (after, heavy) = &needs[i];
            if !after.iter().all(|j| done[*j]) {
                continue;
            }
            if *heavy && !running.is_empty() {
                // Its turn: the plans after it wait until it has run.
                break;
            }
            started[i] = true;
            heavy_running = *heavy;
            progress(i, &plans[i].name);
            let (engine, plan) = (engine.clone(), plans[i].clone());
            running.spawn(async move {
                let clock = std::time::Instant::now();
                let r = engine.execute(&plan, profile).await;
                (i, r, clock.elapsed())
            });
        }
        while next < plans.len() && started[next] {
            next += 1;
        }
        let Some(joined) = running.join_next().await else {
            break;
        };
        let (i, r, elapsed) =
            joined.map_err(|e| Error::new(format!("a plan's task failed: {e}")))?;
        heavy_running = false;
        let p = &plans[i];
        match r {
            Err(e) => {
                if failed.as_ref().is_none_or(|(j, _)| i < *j) {
                    failed = Some((i, e));
                }
            }
            Ok((batches, metrics)) => {
                if let Some(m) = metrics {
                    let rows: usize = batches.iter().map(|b| b.num_rows()).sum();
                    crate::errln!(
                        "-- {} ({rows} rows, {:.3} s)\n{m}",
                        p.name,
                        elapsed.as_secs_f64()
                    );
                }
                let schema: SchemaRef = Arc::new(p.plan.schema().as_arrow().clone());
                let schema = batches.first().map(|b| b.schema()).unwrap_or(schema);
                engine
                    .register(&p.name, schema.clone(), batches.clone())
                    .await?;
                out.insert(p.name.clone(), (schema, batches));
                done[i] = true;
            }
        }
    }
    if let Some((_, e)) = failed {
        return Err(e);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use datafusion::logical_expr::{LogicalPlanBuilder, cast, lit};

    fn plan(name: &str, plan: LogicalPlan) -> NamedPlan {
        NamedPlan {
            name: name.into(),
            kind: PlanKind::Intermediate { of: "test".into() },
            plan,
        }
    }

    /// One row of `x`; a plan that fails when it runs when `fails`.
    fn one(fails: bool) -> LogicalPlan {
        let x = match fails {
            true => cast(lit("not a number"), arrow::datatypes::DataType::Int64),
            false => lit(1_i64),
        };
        LogicalPlanBuilder::values(vec![vec![x.alias("x")]])
            .and_then(|b| b.build())
            .expect("values")
    }

    /// A plan that reads the result of the plan `of`.
    fn reading(of: &LogicalPlan, name: &str) -> LogicalPlan {
        let source = mid_compiler::codegen::table_source(Arc::new(of.schema().as_arrow().clone()));
        LogicalPlanBuilder::scan(name, source, None)
            .and_then(|b| b.build())
            .expect("scan")
    }

    #[test]
    fn plans_run_after_what_they_read_and_a_failure_is_the_first_in_plan_order() {
        let rt = crate::runtime().expect("runtime");
        rt.block_on(async {
            let engine = Engine::without_data().expect("engine");
            let a = one(false);
            let plans = vec![
                plan("a", a.clone()),
                plan("b", reading(&a, "a")),
                plan("c", one(false)),
                plan("d", reading(&a, "b")),
            ];
            let mut order = Vec::new();
            let out = run_all(&engine, &plans, false, |i, _| order.push(i))
                .await
                .expect("runs");
            assert_eq!(out.keys().collect::<Vec<_>>(), ["a", "b", "c", "d"]);
            let rows = |n: &str| out[n].1.iter().map(|b| b.num_rows()).sum::<usize>();
            assert_eq!(rows("d"), 1);
            let at = |i: usize| order.iter().position(|x| *x == i).expect("started");
            assert!(at(0) < at(1) && at(1) < at(3));
            // Two plans fail: the error is the first one's, whichever finishes first.
            for _ in 0..5 {
                let engine = Engine::without_data().expect("engine");
                let plans = vec![
                    plan("e", one(false)),
                    plan("f", one(true)),
                    plan("g", one(true)),
                ];
                let e = run_all(&engine, &plans, false, |_, _| {})
                    .await
                    .expect_err("fails");
                assert!(e.to_string().contains("`f`"), "{e}");
            }
        });
    }

    #[test]
    fn sizes_as_people_write_them() {
        assert_eq!(parse_size("512M"), Ok(512 * 1024 * 1024));
        assert_eq!(parse_size("2g"), Ok(2 * 1024 * 1024 * 1024));
        assert_eq!(parse_size("1.5G"), Ok(1024 * 1024 * 1024 * 3 / 2));
        assert_eq!(parse_size("800000000"), Ok(800_000_000));
        assert!(parse_size("0").is_err());
        assert!(parse_size("-1G").is_err());
        assert!(parse_size("2X").is_err());
        assert!(parse_size("lots").is_err());
    }
}
