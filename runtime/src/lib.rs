//! The mid runtime: everything that touches data, and the `mid` command's subcommands. Data
//! sets and their validation (`dataset`), the engine that executes compiled plans
//! (`engine`), disclosure control (`disclosure`), the outputs of a run (`output`) and the
//! commands (`commands`). The only crate that does IO, creates a `SessionContext` or prints.

pub mod commands;
pub mod dataset;
pub mod disclosure;
pub mod engine;
pub mod error;
pub mod io;
pub mod network;
pub mod output;

pub use error::Error;
/// The synthetic network generator (its own crate: it shares no code with what it checks).
pub use mid_synth as synth;

/// The async runtime DataFusion executes on.
pub fn runtime() -> Result<tokio::runtime::Runtime, Error> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| Error::context("cannot start the execution runtime", e))
}
