//! The Ballista engine (feature `ballista`): a client session whose plans run on a cluster,
//! and the cluster's own processes, a scheduler and executors, from the Ballista crates.
//! Every role runs in the `mid` binary so that all sides decode our deeply nested plans on
//! large stacks, with one DataFusion and one prost build.

use std::net::{SocketAddr, TcpStream, ToSocketAddrs};
use std::sync::Arc;
use std::time::Duration;

use ballista::prelude::SessionContextExt;
use ballista_core::extension::SessionConfigExt;
use datafusion::execution::session_state::SessionStateBuilder;
use datafusion::prelude::{SessionConfig, SessionContext};

use crate::error::{Error, Result};

/// The stack each thread of the cluster's processes gets: plans nest a few hundred levels
/// deep and their protobuf encoding and decoding recurse once per level (as for request
/// packages, `network::package`).
pub const STACK_BYTES: usize = 256 * 1024 * 1024;

/// A tokio runtime with large thread stacks, for the client and the cluster's processes.
pub fn runtime() -> Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_stack_size(STACK_BYTES)
        .build()
        .map_err(|e| Error::context("cannot start the execution runtime", e))
}

/// Prints what the cluster's processes report (Ballista's own information, everyone's
/// warnings and errors) to stderr, one line each.
pub fn log_to_stderr() {
    struct Stderr;
    impl log::Log for Stderr {
        fn enabled(&self, m: &log::Metadata) -> bool {
            m.level() <= log::Level::Warn
                || (m.level() <= log::Level::Info && m.target().starts_with("ballista"))
        }
        fn log(&self, r: &log::Record) {
            if self.enabled(r.metadata()) {
                crate::errln!("{} {}: {}", r.level(), r.target(), r.args());
            }
        }
        fn flush(&self) {}
    }
    if log::set_logger(&Stderr).is_ok() {
        log::set_max_level(log::LevelFilter::Info);
    }
}

/// `HOST:PORT` as one address, or a usage error naming what is wrong.
pub fn address(what: &str, text: &str) -> Result<SocketAddr> {
    text.to_socket_addrs()
        .map_err(|e| Error::usage(format!("{what} `{text}` is not HOST:PORT ({e})")))?
        .next()
        .ok_or_else(|| Error::usage(format!("{what} `{text}` names no address")))
}

/// A session whose plans run on the Ballista cluster of `scheduler` (`HOST:PORT`), with the
/// run's own settings (partitions, Parquet filtering), which the scheduler passes to every
/// task. Fails with a message naming the scheduler when it cannot be reached.
pub async fn connect(scheduler: &str, config: SessionConfig) -> Result<SessionContext> {
    let addr = address("the scheduler", scheduler)?;
    TcpStream::connect_timeout(&addr, Duration::from_secs(10)).map_err(|e| {
        Error::new(format!(
            "cannot reach the Ballista scheduler at {scheduler}: {e}; start one with `mid cluster scheduler` (docs/scale.md)"
        ))
    })?;
    // Ballista's adaptive planner re-plans a job's whole stage graph on every task's
    // status: with our plans (hundreds of nodes) the scheduler spent minutes of CPU on
    // each job of the demo network's thiamazole example. The static planner runs the
    // plans as DataFusion plans them.
    let config = config
        .upgrade_for_ballista()
        .with_ballista_adaptive_query_planner(false);
    let state = SessionStateBuilder::new()
        .with_config(config)
        .with_default_features()
        .with_optimizer_rule(Arc::new(super::analyte_first::AnalyteFirst))
        .build();
    SessionContext::remote_with_state(&format!("df://{scheduler}"), state)
        .await
        .map_err(|e| {
            Error::context(
                format!("cannot use the Ballista scheduler at {scheduler}"),
                e,
            )
        })
}

/// Runs a scheduler listening on `bind` until the process is stopped. `external` is the
/// host name executors and clients reach it by.
pub async fn serve_scheduler(bind: SocketAddr, external: Option<String>) -> Result<()> {
    use ballista_scheduler::cluster::BallistaCluster;
    use ballista_scheduler::config::SchedulerConfig;
    let config =
        SchedulerConfig {
            bind_host: bind.ip().to_string(),
            bind_port: bind.port(),
            external_host: external.unwrap_or_else(|| bind.ip().to_string()),
            ..SchedulerConfig::default()
        }
        // The scheduler plans the jobs: with mid's own optimiser rules after DataFusion's (and
        // Ballista's), as in process.
        .with_override_session_builder(Arc::new(|config| {
            Ok(SessionStateBuilder::new_from_existing(
                ballista_core::utils::default_session_builder(config)?,
            )
            .with_optimizer_rule(Arc::new(super::analyte_first::AnalyteFirst))
            .build())
        }));
    let cluster = BallistaCluster::new_from_config(&config)
        .await
        .map_err(|e| Error::context("cannot start the scheduler", e))?;
    crate::errln!("mid cluster: scheduler listening on {bind}");
    ballista_scheduler::scheduler_process::start_server(cluster, bind, Arc::new(config))
        .await
        .map_err(|e| Error::context(format!("the scheduler on {bind} stopped"), e))
}

/// Where an executor listens and what it offers.
#[derive(Debug, Clone)]
pub struct ExecutorSetup {
    pub scheduler: SocketAddr,
    /// The host it binds and the host others reach it by.
    pub bind_host: String,
    pub external_host: Option<String>,
    /// Arrow Flight (results and shuffles) and gRPC ports.
    pub port: u16,
    pub grpc_port: u16,
    /// Tasks at once; the machine's cores by default.
    pub cores: Option<usize>,
    /// Memory for all its tasks together; Ballista's own share of the machine by default.
    pub memory_limit: Option<usize>,
    /// Where shuffle files go; a temporary directory by default.
    pub work_dir: Option<String>,
}

/// Runs an executor of the scheduler's cluster until the process is stopped.
pub async fn serve_executor(setup: ExecutorSetup) -> Result<()> {
    use ballista_executor::executor_process::{ExecutorProcessConfig, start_executor_process};
    let defaults = ExecutorProcessConfig::default();
    let config = ExecutorProcessConfig {
        bind_host: setup.bind_host.clone(),
        external_host: setup.external_host.clone(),
        port: setup.port,
        grpc_port: setup.grpc_port,
        scheduler_host: setup.scheduler.ip().to_string(),
        scheduler_port: setup.scheduler.port(),
        // Waits for a scheduler started at the same time.
        scheduler_connect_timeout_seconds: 30,
        vcores: setup.cores.unwrap_or(defaults.vcores),
        work_dir: setup.work_dir.clone(),
        memory_pool_size: setup.memory_limit.map(|m| m as u64),
        ..defaults
    };
    crate::errln!(
        "mid cluster: executor on {}:{} for the scheduler at {}",
        setup.bind_host,
        setup.port,
        setup.scheduler
    );
    start_executor_process(Arc::new(config))
        .await
        .map_err(|e| Error::context("the executor stopped", e))
}
