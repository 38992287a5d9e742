//! The network (runtime): request packages, extraction and approval at each hospital, the
//! data center, reviewed release, and the audit trail every step writes (docs/network.md).

pub mod audit;
pub mod center;
pub mod extraction;
pub mod frontier;
pub mod package;
pub mod pseudonym;
pub mod release;
pub mod site;
pub mod summary;
