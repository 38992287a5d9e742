//! `mid cluster scheduler|executor`: the processes of a Ballista cluster that `mid run
//! --engine ballista` runs plans on (docs/scale.md); each runs until it is stopped.

use std::process::ExitCode;

use crate::error::{Error, Result};

/// Arguments of `mid cluster`.
#[derive(Debug, Clone, clap::Args)]
pub struct ClusterArgs {
    #[command(subcommand)]
    pub role: Role,
}

/// A process of the cluster.
#[derive(Debug, Clone, clap::Subcommand)]
pub enum Role {
    /// The scheduler: plans jobs into stages and hands their tasks to the executors.
    Scheduler {
        /// The address it listens on, HOST:PORT.
        #[arg(long, default_value = "127.0.0.1:50050")]
        bind: String,
        /// The host name executors and clients reach it by (the bound address by default).
        #[arg(long)]
        external_host: Option<String>,
    },
    /// An executor: runs tasks of the scheduler's jobs. It reads the data set's files and the
    /// run's shared directory at the paths the client names.
    Executor {
        /// The scheduler, HOST:PORT.
        #[arg(long, default_value = "127.0.0.1:50050")]
        scheduler: String,
        /// The host it listens on.
        #[arg(long, default_value = "127.0.0.1")]
        bind_host: String,
        /// The host name the scheduler and the other executors reach it by.
        #[arg(long)]
        external_host: Option<String>,
        /// Its Arrow Flight port (results and shuffles).
        #[arg(long, default_value_t = 50051)]
        port: u16,
        /// Its gRPC port.
        #[arg(long, default_value_t = 50052)]
        grpc_port: u16,
        /// Tasks it runs at once (the machine's cores by default).
        #[arg(long)]
        cores: Option<usize>,
        /// Memory for all its tasks (`4G`); operators spill beyond it.
        #[arg(long, value_parser = crate::engine::parse_size)]
        memory_limit: Option<usize>,
        /// Where its shuffle files go (a temporary directory by default).
        #[arg(long)]
        work_dir: Option<String>,
    },
}

#[cfg(feature = "ballista")]
pub fn cluster(args: &ClusterArgs) -> Result<ExitCode> {
    use crate::engine::cluster;
    let rt = cluster::runtime()?;
    cluster::log_to_stderr();
    match &args.role {
        Role::Scheduler {
            bind,
            external_host,
        } => {
            let bind = cluster::address("--bind", bind)?;
            rt.block_on(cluster::serve_scheduler(bind, external_host.clone()))?;
        }
        Role::Executor {
            scheduler,
            bind_host,
            external_host,
            port,
            grpc_port,
            cores,
            memory_limit,
            work_dir,
        } => {
            if *cores == Some(0) {
                return Err(Error::usage("--cores must be at least 1"));
            }
            let setup = cluster::ExecutorSetup {
                scheduler: cluster::address("--scheduler", scheduler)?,
                bind_host: bind_host.clone(),
                external_host: external_host.clone(),
                port: *port,
                grpc_port: *grpc_port,
                cores: *cores,
                memory_limit: *memory_limit,
                work_dir: work_dir.clone(),
            };
            rt.block_on(cluster::serve_executor(setup))?;
        }
    }
    Ok(ExitCode::SUCCESS)
}

#[cfg(not(feature = "ballista"))]
pub fn cluster(_: &ClusterArgs) -> Result<ExitCode> {
    Err(Error::usage(
        "this mid was built without the Ballista engine; build it with `cargo build --release --features ballista` (docs/scale.md)",
    ))
}
