//! The integration test binary (one binary: each DataFusion-linked binary costs minutes
//! to link). Modules share one generated network through `common`.

mod cases;
mod cli;
#[cfg(feature = "ballista")]
mod cluster;
mod common;
mod data_checks;
mod differential;
mod disclosure;
mod e2e;
mod editor;
mod examples;
mod feasibility;
mod fixture;
mod format;
mod forms;
mod fuzz;
mod generated;
mod inspect;
mod local_codes;
mod lsp;
mod network;
mod outcomes;
mod output_safety;
mod outputs_doc;
mod stdlib;
mod study_report;
mod synth;
mod synth_truth;
mod trust;
