//! `mid center`: the data center's side of the network. `combine` pools the hospitals'
//! approved extractions and computes the network's results (`network::center`); `run` runs
//! the researcher's own script over the pooled analysis data set. Each appends to the
//! center's audit trail.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::ExitCode;

use super::site::{commit_dir, operator, print_head, temp_beside};
use crate::error::{Error, Result};
use crate::network::audit::{self, Event};
use crate::network::center::{self, RECORD};
use crate::network::package::Package;

#[derive(Debug, Clone, clap::Args)]
pub struct CenterArgs {
    #[command(subcommand)]
    pub command: CenterCommand,
}

#[derive(Debug, Clone, clap::Subcommand)]
pub enum CenterCommand {
    /// Verify the hospitals' extractions, pool the approved ones, and compute the network's
    /// attrition tables and reports, for the network and by hospital.
    Combine(CombineArgs),
    /// Run a script over a pooled analysis data set (not over any hospital's CDM).
    Run(CenterRunArgs),
    /// Check every table that would leave together and write the release bundle.
    Release(ReleaseArgs),
}

#[derive(Debug, Clone, clap::Args)]
pub struct ReleaseArgs {
    /// A pooled directory (`mid center combine`) or a run's results (`mid center run`).
    pub results: PathBuf,
    /// The release directory to write (new, or an earlier release to replace).
    #[arg(long)]
    pub out: PathBuf,
    /// The center's audit trail.
    #[arg(long)]
    pub audit: PathBuf,
    /// Release each hospital's tables too (a pooled directory's `by-hospital/`).
    #[arg(long)]
    pub by_hospital: bool,
    /// Who releases it (recorded in the audit trail); the user name by default.
    #[arg(long)]
    pub operator: Option<String>,
}

#[derive(Debug, Clone, clap::Args)]
pub struct CombineArgs {
    /// The extraction directories, one per hospital.
    #[arg(required = true)]
    pub extractions: Vec<PathBuf>,
    /// The request package the hospitals ran.
    #[arg(long)]
    pub package: PathBuf,
    /// The center's audit trail.
    #[arg(long)]
    pub audit: PathBuf,
    /// The pooled directory to write (new, or an earlier pooled directory to replace).
    #[arg(long)]
    pub out: PathBuf,
    /// The hospitals the request was sent to (comma-separated): those that returned nothing
    /// are listed.
    #[arg(long, value_delimiter = ',')]
    pub expect: Vec<String>,
    /// Who runs it (recorded in the audit trail); the user name by default.
    #[arg(long)]
    pub operator: Option<String>,
}

#[derive(Debug, Clone, clap::Args)]
pub struct CenterRunArgs {
    /// The researcher's script.
    pub file: PathBuf,
    /// The pooled directory (`mid center combine --out`).
    #[arg(long)]
    pub data: PathBuf,
    /// Where to write the results.
    #[arg(long)]
    pub out: PathBuf,
    /// The center's audit trail.
    #[arg(long)]
    pub audit: PathBuf,
    /// Who runs it; the user name by default.
    #[arg(long)]
    pub operator: Option<String>,
}

pub fn center(args: &CenterArgs) -> Result<ExitCode> {
    match &args.command {
        CenterCommand::Combine(a) => combine(a),
        CenterCommand::Run(a) => run(a),
        CenterCommand::Release(a) => release(a),
    }
}

fn release(a: &ReleaseArgs) -> Result<ExitCode> {
    if a.out.exists() {
        let earlier = std::fs::read(a.out.join("release.json"))
            .ok()
            .and_then(|b| serde_json::from_slice::<serde_json::Value>(&b).ok())
            .and_then(|v| v.get("format").and_then(|f| f.as_str()).map(String::from));
        if earlier.as_deref() != Some(crate::network::release::FORMAT) {
            return Err(Error::usage(format!(
                "{} exists and is not a release; mid will not replace it",
                a.out.display()
            )));
        }
    }
    let tmp = temp_beside(&a.out)?;
    let record = crate::network::release::release(&a.results, a.by_hospital, tmp.path())?;
    let json = std::fs::read(tmp.path().join("release.json"))
        .map_err(|e| Error::context("cannot read release.json", e))?;
    let head = audit::append(
        &a.audit,
        Event {
            actor: operator(&a.operator),
            place: "center".into(),
            action: "center release".into(),
            inputs: BTreeMap::from([("results".to_string(), record.results.clone())]),
            outputs: BTreeMap::from([(
                "release".to_string(),
                crate::output::record::sha256(&json),
            )]),
        },
    )?;
    commit_dir(tmp, &a.out)?;
    crate::outln!(
        "released {} table{} into {} ({} more counts hidden so that no hidden count can be recovered by differencing)",
        record.tables,
        if record.tables == 1 { "" } else { "s" },
        a.out.display(),
        record.complementary
    );
    print_head(&a.audit, &head);
    Ok(ExitCode::SUCCESS)
}

fn combine(a: &CombineArgs) -> Result<ExitCode> {
    let package = Package::read(&a.package)?;
    let log = if a.audit.exists() {
        audit::verify(&a.audit)?
    } else {
        Vec::new()
    };
    if a.out.exists() && center::open_pooled(&a.out).is_err() {
        return Err(Error::usage(format!(
            "{} exists and is not a pooled directory; mid will not replace it",
            a.out.display()
        )));
    }
    let tmp = temp_beside(&a.out)?;
    let rt = crate::runtime()?;
    let pooled = rt.block_on(center::combine(
        &package,
        &a.extractions,
        &log,
        &a.expect,
        tmp.path(),
    ))?;
    let record = crate::output::record::sha256(
        &std::fs::read(tmp.path().join(RECORD))
            .map_err(|e| Error::context(format!("cannot read {RECORD}"), e))?,
    );
    let mut inputs = BTreeMap::from([("package".to_string(), package.id.clone())]);
    for h in pooled.approved.iter().chain(&pooled.rejected) {
        inputs.insert(format!("extraction {}", h.hospital), h.extraction.clone());
    }
    let head = audit::append(
        &a.audit,
        Event {
            actor: operator(&a.operator),
            place: "center".into(),
            action: "center combine".into(),
            inputs,
            outputs: BTreeMap::from([("pooled".to_string(), record.clone())]),
        },
    )?;
    commit_dir(tmp, &a.out)?;
    let names = |v: &[center::Hospital]| {
        v.iter()
            .map(|h| h.hospital.clone())
            .collect::<Vec<_>>()
            .join(", ")
    };
    crate::outln!(
        "pooled {} approved extraction(s) into {}: {}",
        pooled.approved.len(),
        a.out.display(),
        names(&pooled.approved)
    );
    for r in &pooled.rejected {
        crate::outln!(
            "  rejected at {} by {}: {}",
            r.hospital,
            r.officer,
            r.reason.as_deref().unwrap_or("")
        );
    }
    if !pooled.missing.is_empty() {
        crate::outln!("  did not return: {}", pooled.missing.join(", "));
    }
    if pooled.files.iter().any(|f| f.level == "counts") {
        crate::outln!(
            "  exact counts of the network in {}/feasibility/counts.parquet (never released as they are: `mid center release` protects the whole cube)",
            a.out.display()
        );
    } else {
        crate::outln!(
            "  network results in {}/network/reports, each hospital's in {}/by-hospital",
            a.out.display(),
            a.out.display()
        );
    }
    print_head(&a.audit, &head);
    Ok(ExitCode::SUCCESS)
}

fn run(a: &CenterRunArgs) -> Result<ExitCode> {
    let (pooled, record) = center::open_pooled(&a.data)?;
    let args = super::run::RunArgs {
        file: a.file.clone(),
        data: Some(a.data.join("data")),
        out: Some(a.out.clone()),
        csv: false,
        color: super::Color::Auto,
        verify: true,
        profile: false,
        memory_limit: None,
        report: None,
        engine: super::run::EngineKind::Local,
        scheduler: None,
        shared_dir: None,
    };
    let code = super::run::run(&args)?;
    let script = std::fs::read(&a.file)
        .map_err(|e| Error::context(format!("cannot read {}", a.file.display()), e))?;
    let run_json = std::fs::read(a.out.join("run.json"))
        .map_err(|e| Error::context("cannot read run.json", e))?;
    let head = audit::append(
        &a.audit,
        Event {
            actor: operator(&a.operator),
            place: "center".into(),
            action: "center run".into(),
            inputs: BTreeMap::from([
                ("script".to_string(), crate::output::record::sha256(&script)),
                ("pooled".to_string(), record),
                ("package".to_string(), pooled.package),
            ]),
            outputs: BTreeMap::from([(
                "run".to_string(),
                crate::output::record::sha256(&run_json),
            )]),
        },
    )?;
    print_head(&a.audit, &head);
    Ok(code)
}
