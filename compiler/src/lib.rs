//! The .mid compiler: from source text to checked, typed programs and DataFusion plans. Pure: no IO.

pub mod cdm;
