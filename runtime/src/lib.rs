//! The mid runtime: everything that touches data. Synthetic networks, data-set inspection and
//! validation, checking and compiling scripts, and executing their plans. The only crate that does IO or prints.

pub mod dataset;
pub mod disclosure;
pub mod engine;
pub mod error;
pub mod inspect;
pub mod run;
pub mod script;
pub mod synth;

pub use error::Error;

/// The async runtime DataFusion executes on.
pub fn runtime() -> Result<tokio::runtime::Runtime, Error> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| Error::context("cannot start the execution runtime", e))
}
