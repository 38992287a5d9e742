//! The mid runtime: everything that touches data. Synthetic networks, data-set inspection and
//! validation, and (later) execution of compiled plans. The only crate that does IO or prints.

pub mod dataset;
pub mod error;
pub mod inspect;
pub mod synth;

pub use error::Error;
