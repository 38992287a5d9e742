//! `mid site`: a hospital's side of the network. `key` makes the site's pseudonym key, `run`
//! runs a request package on the hospital's data and writes the extraction
//! (`network::site`), `approve` records the officer's decision on it. Each appends to the
//! site's audit trail.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use crate::error::{Error, Result};
use crate::network::audit::{self, Event};
use crate::network::extraction::{self, Approval, Extraction};
use crate::network::package::Package;
use crate::network::pseudonym::Key;
use crate::network::site;

#[derive(Debug, Clone, clap::Args)]
pub struct SiteArgs {
    #[command(subcommand)]
    pub command: SiteCommand,
}

#[derive(Debug, Clone, clap::Subcommand)]
pub enum SiteCommand {
    /// Make the site's secret pseudonym key (it never leaves the site; never replaced).
    Key {
        /// The key file to create.
        #[arg(long)]
        out: PathBuf,
    },
    /// Run a request package on this hospital's data and write the extraction to approve.
    Run(RunArgs),
    /// Record the officer's decision on an extraction: approve it, or reject it with a reason.
    Approve(ApproveArgs),
}

#[derive(Debug, Clone, clap::Args)]
pub struct RunArgs {
    /// The request package (`.midpkg`).
    pub package: PathBuf,
    /// The hospital's CDM data set (one hospital, with its manifest.json).
    #[arg(long)]
    pub data: PathBuf,
    /// The site's key file (`mid site key`).
    #[arg(long)]
    pub key: PathBuf,
    /// The site's audit trail (appended to; created when missing).
    #[arg(long)]
    pub audit: PathBuf,
    /// The extraction directory to write (new, or an earlier extraction to replace).
    #[arg(long)]
    pub out: PathBuf,
    /// Who runs it (recorded in the audit trail); the user name by default.
    #[arg(long)]
    pub operator: Option<String>,
    /// Write the extraction even when none of the request's code sets and lab items matches
    /// a row here.
    #[arg(long)]
    pub allow_empty: bool,
}

#[derive(Debug, Clone, clap::Args)]
pub struct ApproveArgs {
    /// The extraction directory.
    pub extraction: PathBuf,
    /// The officer deciding.
    #[arg(long)]
    pub officer: String,
    /// The site's audit trail.
    #[arg(long)]
    pub audit: PathBuf,
    /// Reject instead of approving (needs --reason).
    #[arg(long, requires = "reason")]
    pub reject: bool,
    /// Why it is rejected.
    #[arg(long, requires = "reject")]
    pub reason: Option<String>,
}

pub fn site(args: &SiteArgs) -> Result<ExitCode> {
    match &args.command {
        SiteCommand::Key { out } => {
            Key::generate(out)?;
            crate::outln!(
                "wrote the site key {} (keep it at the site: it never leaves, and is needed again for every request)",
                out.display()
            );
            Ok(ExitCode::SUCCESS)
        }
        SiteCommand::Run(a) => run(a),
        SiteCommand::Approve(a) => approve(a),
    }
}

/// The line every network command ends with: where its audit trail now is.
pub(crate) fn print_head(log: &Path, head: &audit::Head) {
    crate::outln!(
        "  audit trail {} now at {}:{}",
        log.display(),
        head.seq,
        head.hash
    );
}

/// The operator's name: given, or the user's.
pub(crate) fn operator(given: &Option<String>) -> String {
    given
        .clone()
        .or_else(|| std::env::var("USER").ok())
        .filter(|s| !s.trim().is_empty())
        .unwrap_or_else(|| "unknown".into())
}

/// `--out` may be new or an earlier extraction (its manifest's format says so), nothing else.
fn replaceable(out: &Path) -> Result<()> {
    if !out.exists() {
        return Ok(());
    }
    let earlier = std::fs::read(out.join(extraction::MANIFEST))
        .ok()
        .and_then(|b| serde_json::from_slice::<serde_json::Value>(&b).ok())
        .and_then(|v| v.get("format").and_then(|f| f.as_str()).map(String::from));
    if earlier.as_deref() == Some(extraction::FORMAT) {
        Ok(())
    } else {
        Err(Error::usage(format!(
            "{} exists and is not an extraction; mid will not replace it",
            out.display()
        )))
    }
}

/// A temporary directory beside `out`, to write a whole output into before it is put in
/// place (removed if the command fails).
pub(crate) fn temp_beside(out: &Path) -> Result<tempfile::TempDir> {
    let parent = out
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    std::fs::create_dir_all(parent)
        .map_err(|e| Error::context(format!("cannot create {}", parent.display()), e))?;
    tempfile::Builder::new()
        .prefix(".mid-")
        .tempdir_in(parent)
        .map_err(|e| Error::context(format!("cannot write beside {}", out.display()), e))
}

/// Puts a finished directory in place of `out`: the earlier one is moved aside first and
/// removed only once the new one is in place.
pub(crate) fn commit_dir(tmp: tempfile::TempDir, out: &Path) -> Result<()> {
    let tmp = tmp.keep();
    let cannot =
        |e: std::io::Error| Error::context(format!("cannot put {} in place", out.display()), e);
    if out.exists() {
        let aside = tmp.with_extension("old");
        std::fs::rename(out, &aside).map_err(cannot)?;
        if let Err(e) = std::fs::rename(&tmp, out) {
            let _ = std::fs::rename(&aside, out);
            let _ = std::fs::remove_dir_all(&tmp);
            return Err(cannot(e));
        }
        let _ = std::fs::remove_dir_all(&aside);
    } else if let Err(e) = std::fs::rename(&tmp, out) {
        let _ = std::fs::remove_dir_all(&tmp);
        return Err(cannot(e));
    }
    Ok(())
}

fn run(a: &RunArgs) -> Result<ExitCode> {
    let package = Package::read(&a.package)?;
    let key = Key::read(&a.key)?;
    let (hospital, _) = site::hospital_of(&a.data)?;
    replaceable(&a.out)?;
    let tmp = temp_beside(&a.out)?;
    let rt = crate::runtime()?;
    let made = rt.block_on(site::extract(
        &package,
        &a.data,
        &key,
        tmp.path(),
        a.allow_empty,
    ))?;
    for w in &made.warnings {
        crate::errln!("warning: {w}");
    }
    let manifest_sha = extraction::file_sha256(&tmp.path().join(extraction::MANIFEST))?;
    let head = audit::append(
        &a.audit,
        Event {
            actor: operator(&a.operator),
            place: format!("site {hospital}"),
            action: "site run".into(),
            inputs: BTreeMap::from([
                ("package".to_string(), package.id.clone()),
                ("data".to_string(), made.manifest.data.fingerprint.clone()),
            ]),
            outputs: BTreeMap::from([("extraction".to_string(), manifest_sha.clone())]),
        },
    )?;
    commit_dir(tmp, &a.out)?;
    let patient = made
        .manifest
        .files
        .iter()
        .filter(|f| f.level == "patient")
        .count();
    let aggregate = made
        .manifest
        .files
        .iter()
        .filter(|f| f.level == "aggregate" && f.path.ends_with(".parquet"))
        .count();
    let what = if package.feasibility.is_some() {
        "1 table of exact counts for the data center".to_string()
    } else {
        format!("{patient} patient-level tables, {aggregate} aggregate tables")
    };
    crate::outln!(
        "wrote extraction {} for {hospital} in {} ({what})",
        &manifest_sha[..12],
        a.out.display()
    );
    crate::outln!(
        "  the officer reads {}/summary.txt (or summary.html), then `mid site approve {} --officer NAME --audit {}`",
        a.out.display(),
        a.out.display(),
        a.audit.display()
    );
    print_head(&a.audit, &head);
    Ok(ExitCode::SUCCESS)
}

fn approve(a: &ApproveArgs) -> Result<ExitCode> {
    if a.officer.trim().is_empty() {
        return Err(Error::usage("--officer needs the officer's name"));
    }
    let x = Extraction::open(&a.extraction)?;
    if let Some(earlier) = x.approval()? {
        return Err(Error::usage(format!(
            "{} was already {} by {} at {}; a decision is not changed (run the request again for a new extraction)",
            a.extraction.display(),
            earlier.decision,
            earlier.officer,
            earlier.time
        )));
    }
    let decision = if a.reject { "rejected" } else { "approved" };
    let reason = a.reason.clone().filter(|r| !r.trim().is_empty());
    if a.reject && reason.is_none() {
        return Err(Error::usage("--reject needs --reason TEXT"));
    }
    let mut inputs = BTreeMap::from([
        ("package".to_string(), x.manifest.package.clone()),
        ("extraction".to_string(), x.id.clone()),
    ]);
    if let Some(r) = &reason {
        inputs.insert("reason".into(), crate::output::record::sha256(r.as_bytes()));
    }
    let head = audit::append(
        &a.audit,
        Event {
            actor: a.officer.clone(),
            place: format!("site {}", x.manifest.hospital),
            action: format!("site {}", if a.reject { "reject" } else { "approve" }),
            inputs,
            outputs: BTreeMap::new(),
        },
    )?;
    let entries = audit::verify(&a.audit)?;
    let time = entries
        .iter()
        .find(|e| e.seq == head.seq)
        .map(|e| e.time.clone())
        .unwrap_or_default();
    let approval = Approval {
        format: extraction::APPROVAL_FORMAT.into(),
        package: x.manifest.package.clone(),
        hospital: x.manifest.hospital.clone(),
        extraction: x.id.clone(),
        decision: decision.into(),
        officer: a.officer.clone(),
        time,
        reason,
        audit: head,
    };
    let path = a.extraction.join(extraction::APPROVAL);
    let tmp = path.with_extension("json.tmp");
    std::fs::write(&tmp, extraction::json_text(&approval))
        .and_then(|_| std::fs::rename(&tmp, &path))
        .map_err(|e| Error::context(format!("cannot write {}", path.display()), e))?;
    crate::outln!(
        "{} extraction {} of {} ({}), recorded in {}",
        if a.reject { "rejected" } else { "approved" },
        &x.id[..12],
        x.manifest.hospital,
        a.officer,
        a.audit.display()
    );
    Ok(ExitCode::SUCCESS)
}
