//! The record of a run (runtime): `run.json` (what ran, on what, when, what was written, the
//! validation of every outcome definition, the disclosure rule) and each report's
//! `about.json` (what its counts are).

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;
use std::time::{SystemTime, UNIX_EPOCH};

use arrow::array::RecordBatch;
use mid_compiler::outputs::DefinitionUse;
use mid_compiler::{Compiled, OutputKind};
use serde::Serialize;
use sha2::{Digest, Sha256};

use super::{Results, Withheld, Written};

/// The rule every aggregate output follows, as `run.json` states it.
pub const DISCLOSURE: &str = "aggregate outputs (reports/, and what the console prints) show counts of persons as 0, as <10 when they are 1 to 9 (or below a report's raised threshold), and otherwise rounded to the nearest 10; person-days are rounded to the nearest 100 and hidden with the persons they belong to; the same count is rounded the same way in every table, so no hidden count can be recovered by subtracting published ones. A report whose cells would describe individuals is withheld. site-only/ holds the exact counts and the patient-level exports; it stays at the site.";

/// `<report>.about.json`: what a report counts and the validation of the outcome
/// definitions it uses, kept next to the counts.
#[derive(Serialize)]
pub struct ReportAbout {
    report: String,
    cohorts: Vec<String>,
    outcomes: Vec<String>,
    strata: Vec<String>,
    /// A Table 1: `table1`, and its count columns (every other column is a figure).
    #[serde(skip_serializing_if = "Option::is_none")]
    kind: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    counts: Option<Vec<String>>,
    suppression: String,
    outcome_definitions: Vec<DefinitionRecord>,
}

impl ReportAbout {
    /// The description of a report output (nothing for other outputs).
    pub fn of(kind: &OutputKind) -> Option<ReportAbout> {
        if let OutputKind::Table1 {
            table,
            cohorts,
            threshold,
            ..
        } = kind
        {
            return Some(ReportAbout {
                report: table.clone(),
                cohorts: cohorts.clone(),
                outcomes: Vec::new(),
                strata: super::table1::KEYS.iter().map(|k| k.to_string()).collect(),
                kind: Some("table1"),
                counts: Some(vec!["n".into()]),
                suppression: format!(
                    "counts of persons (n): 0, <{threshold} when they or the persons behind them are 1 to {}, else rounded to the nearest 10; percentages and standardised differences from the published counts; no figure where its count is hidden",
                    threshold - 1
                ),
                outcome_definitions: Vec::new(),
            });
        }
        let OutputKind::Report {
            report,
            cohorts,
            outcomes,
            strata,
            threshold,
            definitions,
            ..
        } = kind
        else {
            return None;
        };
        Some(ReportAbout {
            report: report.clone(),
            cohorts: cohorts.clone(),
            outcomes: outcomes.clone(),
            strata: strata.iter().map(|s| s.column.clone()).collect(),
            kind: None,
            counts: None,
            suppression: format!(
                "counts of persons: 0, <{threshold} for 1 to {}, else rounded to the nearest 10; person-days rounded to the nearest 100 and hidden with the persons they belong to",
                threshold - 1
            ),
            outcome_definitions: definitions.iter().map(DefinitionRecord::from).collect(),
        })
    }
}

/// `run.json`.
#[derive(Serialize)]
pub struct RunRecord {
    mid_version: &'static str,
    study: Option<String>,
    script: ScriptRecord,
    stdlib_sha256: String,
    /// SHA-256 of the cohort IR as `mid compile --emit cir` prints it (as in a request
    /// package's `cir_sha256`): two runs of one protocol have the same one.
    cir_sha256: String,
    plan_sha256: String,
    data: DataRecord,
    started: String,
    finished: String,
    /// The aggregate outputs written (what may leave after review).
    outputs: Vec<Written>,
    /// Reports not written because they would describe individuals.
    withheld: Vec<Withheld>,
    outcome_definitions: Vec<DefinitionRecord>,
    disclosure: String,
}

/// `site-only/run-site.json`: what the site needs and nothing that leaves may show — the
/// exact row count of every plan's result and the patient-level files written.
#[derive(Serialize)]
pub struct SiteRecord {
    note: &'static str,
    plan_sha256: String,
    tables: BTreeMap<String, usize>,
    outputs: Vec<Written>,
    /// The problems found in the data's rows, with how many rows each concerns.
    data_problems: Vec<crate::dataset::content::Finding>,
}

impl SiteRecord {
    pub fn new(f: &RunFacts) -> SiteRecord {
        SiteRecord {
            note: "site-only: exact counts and patient-level files; never leaves the site",
            plan_sha256: sha256(f.compiled.plans_text().as_bytes()),
            tables: f
                .results
                .iter()
                .map(|(k, (_, b))| (k.clone(), b.iter().map(RecordBatch::num_rows).sum()))
                .collect(),
            outputs: f
                .written
                .iter()
                .filter(|w| !w.leaves_site)
                .cloned()
                .collect(),
            data_problems: f.content.findings.clone(),
        }
    }
}

#[derive(Serialize)]
struct ScriptRecord {
    path: String,
    sha256: String,
}

#[derive(Serialize)]
struct DataRecord {
    dir: String,
    cdm_version: Option<String>,
    /// The manifest's fingerprint, recorded only when the files were checked against it.
    manifest_fingerprint: Option<String>,
    /// How the files were checked against the manifest (none without a manifest).
    verified: Option<crate::dataset::verify::Checked>,
    /// The problems found in the rows and what the run did about each (how many rows is in
    /// the site-only record: a row count can be small).
    problems: Vec<ProblemRecord>,
}

#[derive(Serialize)]
struct ProblemRecord {
    table: &'static str,
    column: Option<String>,
    problem: String,
    policy: crate::dataset::content::Policy,
}

#[derive(Serialize)]
pub(crate) struct DefinitionRecord {
    outcome: String,
    definition: String,
    #[serde(flatten)]
    validation: mid_compiler::validation::Validation,
}

impl From<&DefinitionUse> for DefinitionRecord {
    fn from(d: &DefinitionUse) -> Self {
        DefinitionRecord {
            outcome: d.outcome.clone(),
            definition: d.definition.clone(),
            validation: d.validation.clone(),
        }
    }
}

/// SHA-256 of bytes, lower-case hex (run.json, request packages, the audit trail).
pub fn sha256(bytes: &[u8]) -> String {
    let d = Sha256::digest(bytes);
    d.iter().fold(String::new(), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    })
}

/// What a run did, for `run.json`.
pub struct RunFacts<'a> {
    pub script: &'a Path,
    pub compiled: &'a Compiled,
    pub data: &'a Path,
    pub results: &'a Results,
    pub written: &'a [Written],
    pub withheld: &'a [Withheld],
    pub verified: Option<crate::dataset::verify::Checked>,
    /// What the data checks found in the rows.
    pub content: &'a crate::dataset::content::Content,
    pub started: SystemTime,
    pub finished: SystemTime,
}

impl RunRecord {
    pub fn new(f: &RunFacts) -> RunRecord {
        let c = f.compiled;
        let stdlib: String = mid_compiler::source::stdlib()
            .iter()
            .map(|m| format!("{}\n{}", m.name, m.text))
            .collect();
        let manifest = crate::dataset::Manifest::read(f.data).ok();
        let all: Vec<String> = c.cir.outcomes.iter().map(|o| o.name.clone()).collect();
        let definitions = mid_compiler::outputs::definitions(&c.cir, &all);
        RunRecord {
            mid_version: env!("CARGO_PKG_VERSION"),
            study: c.cir.study.clone(),
            script: ScriptRecord {
                path: f.script.display().to_string(),
                sha256: c.checked.source_sha256.clone(),
            },
            stdlib_sha256: sha256(stdlib.as_bytes()),
            cir_sha256: sha256(mid_compiler::cir::print(&c.cir).as_bytes()),
            plan_sha256: sha256(c.plans_text().as_bytes()),
            data: DataRecord {
                dir: f.data.display().to_string(),
                cdm_version: manifest.as_ref().map(|m| m.cdm_version.clone()),
                manifest_fingerprint: manifest
                    .as_ref()
                    .filter(|_| f.verified.is_some())
                    .map(|m| m.fingerprint.clone()),
                verified: f.verified,
                problems: f
                    .content
                    .findings
                    .iter()
                    .map(|p| ProblemRecord {
                        table: p.table,
                        column: p.column.clone(),
                        problem: p.problem.clone(),
                        policy: p.policy,
                    })
                    .collect(),
            },
            started: timestamp(f.started),
            finished: timestamp(f.finished),
            outputs: f
                .written
                .iter()
                .filter(|w| w.leaves_site)
                .cloned()
                .collect(),
            withheld: f.withheld.to_vec(),
            outcome_definitions: definitions.iter().map(DefinitionRecord::from).collect(),
            disclosure: DISCLOSURE.into(),
        }
    }
}

/// UTC time as `YYYY-MM-DDTHH:MM:SSZ`.
pub(crate) fn timestamp(t: SystemTime) -> String {
    let secs = t
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let days = (secs / 86_400) as i32;
    let rem = secs % 86_400;
    format!(
        "{}T{:02}:{:02}:{:02}Z",
        mid_compiler::dates::format(days),
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}
