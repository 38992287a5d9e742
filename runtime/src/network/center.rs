//! The data center (runtime, network: `mid center combine`): verifies the hospitals'
//! extractions (one request, a valid approval, every hash, one per hospital, one key per
//! hospital, none pooled before), pools the approved analysis data sets into one CDM data set
//! (hospital kept), and computes the network's attrition tables and reports from it with the
//! request's own plans, for the network and for each hospital. A hospital's recomputed
//! results must be byte for byte the ones it sent: the analysis data set is then complete.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use arrow::compute::concat_batches;
use mid_cdm::Table;
use mid_cdm::manifest::{Generator, Manifest as DataManifest, Period, TableEntry};
use mid_compiler::NamedPlan;
use serde::{Deserialize, Serialize};

use super::audit::Entry;
use super::extraction::{self, Extraction, FileEntry};
use super::frontier::{self, Level};
use super::package::Package;
use super::site::read_parquet;
use crate::engine::{self, Engine};
use crate::error::{Error, Result};
use crate::output;

/// The format of a pooled directory's record.
pub const FORMAT: &str = "mid-pooled/1";
/// The record of a combine, in the pooled directory.
pub const RECORD: &str = "pooled.json";

/// `pooled.json`: what was pooled, from whom, and every file written with its hash.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Pooled {
    pub format: String,
    pub package: String,
    pub study: String,
    pub approved: Vec<Hospital>,
    pub rejected: Vec<Hospital>,
    /// Hospitals expected (`--expect`) that returned nothing.
    pub missing: Vec<String>,
    pub files: Vec<FileEntry>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Hospital {
    pub hospital: String,
    pub extraction: String,
    pub officer: String,
    pub time: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// The approved extractions with their hospitals, and the rejected hospitals.
type Checked = (Vec<(Extraction, Hospital)>, Vec<Hospital>);

/// The extractions checked against each other and the center's log: the approved and the
/// rejected, or the first problem, naming the hospital.
fn check_all(package: &Package, dirs: &[PathBuf], log: &[Entry]) -> Result<Checked> {
    let mut approved = Vec::new();
    let mut rejected = Vec::new();
    let mut hospitals: BTreeMap<String, PathBuf> = BTreeMap::new();
    let mut ids: BTreeMap<String, PathBuf> = BTreeMap::new();
    let mut keys: BTreeMap<String, String> = BTreeMap::new();
    for d in dirs {
        let x = Extraction::open(d)?;
        let m = &x.manifest;
        let h = &m.hospital;
        let at = d.display();
        if m.package != package.id {
            return Err(Error::new(format!(
                "{at} ({h}) is an extraction for request {}, not {}: extractions of different requests are not pooled",
                short(&m.package),
                short(&package.id)
            )));
        }
        if let Some(other) = ids.insert(x.id.clone(), d.clone()) {
            return Err(Error::new(format!(
                "{at} and {} are the same extraction of {h}: it was given twice",
                other.display()
            )));
        }
        if let Some(other) = hospitals.insert(h.clone(), d.clone()) {
            return Err(Error::new(format!(
                "{at} and {} are both extractions of {h}: one extraction per hospital",
                other.display()
            )));
        }
        if let Some(other) = keys.insert(m.key.clone(), h.clone()) {
            return Err(Error::new(format!(
                "{h} and {other} made their pseudonyms with the same key: each hospital needs its own (`mid site key`); neither is pooled"
            )));
        }
        if let Some(e) = log
            .iter()
            .find(|e| e.action == "center combine" && e.inputs.values().any(|v| *v == x.id))
        {
            return Err(Error::new(format!(
                "{at}: extraction {} of {h} was already pooled (center audit entry {} at {}); a replayed extraction is not pooled again",
                short(&x.id),
                e.seq,
                e.time
            )));
        }
        let Some(a) = x.approval()? else {
            return Err(Error::new(format!(
                "{at} ({h}) has no officer's decision: only an extraction approved with `mid site approve` is pooled"
            )));
        };
        let who = Hospital {
            hospital: h.clone(),
            extraction: x.id.clone(),
            officer: a.officer.clone(),
            time: a.time.clone(),
            reason: a.reason.clone(),
        };
        if a.approved() {
            approved.push((x, who));
        } else {
            rejected.push(who);
        }
    }
    approved.sort_by(|a, b| a.0.manifest.hospital.cmp(&b.0.manifest.hospital));
    rejected.sort_by(|a, b| a.hospital.cmp(&b.hospital));
    Ok((approved, rejected))
}

fn short(h: &str) -> &str {
    &h[..h.len().min(12)]
}

/// The pooled CDM data set: each approved hospital's rows of each table as one file
/// `data/<table>/<hospital>.parquet`, with a manifest.
fn pool_tables(package: &Package, approved: &[(Extraction, Hospital)], dir: &Path) -> Result<()> {
    let data = dir.join("data");
    let mut tables = BTreeMap::new();
    let mut fps = Vec::new();
    for t in Table::ALL {
        if !package
            .returns
            .iter()
            .any(|r| r.level == Level::Patient && r.table == t.name())
        {
            continue;
        }
        let tdir = data.join(t.name());
        std::fs::create_dir_all(&tdir)
            .map_err(|e| Error::context(format!("cannot create {}", tdir.display()), e))?;
        let (mut rows, mut files, mut bytes, mut digests) =
            (0u64, Vec::new(), Vec::new(), Vec::new());
        for (x, _) in approved {
            let from = x.path(&format!("analysis/{}.parquet", t.name()));
            let rel = format!("{}/{}.parquet", t.name(), x.manifest.hospital);
            let to = data.join(&rel);
            std::fs::copy(&from, &to).map_err(|e| {
                Error::new(format!(
                    "cannot copy {} to {}: {e}",
                    from.display(),
                    to.display()
                ))
            })?;
            rows += read_parquet(&to)?.num_rows() as u64;
            bytes.push(std::fs::metadata(&to).map(|m| m.len()).unwrap_or(0));
            digests.push((rel.clone(), crate::dataset::fingerprint::file_digest(&to)?));
            files.push(rel);
        }
        let fingerprint = mid_cdm::manifest::table_fingerprint(&digests);
        fps.push((t.name(), fingerprint.clone()));
        tables.insert(
            t.name().to_string(),
            TableEntry {
                rows,
                files,
                bytes,
                fingerprint,
            },
        );
    }
    let refs: Vec<(&str, &str)> = fps.iter().map(|(n, f)| (*n, f.as_str())).collect();
    let period = Period {
        start: approved
            .iter()
            .map(|(x, _)| x.manifest.data.start.clone())
            .min()
            .unwrap_or_default(),
        end: approved
            .iter()
            .map(|(x, _)| x.manifest.data.end.clone())
            .max()
            .unwrap_or_default(),
    };
    let manifest = DataManifest {
        cdm_version: package.versions.cdm.clone(),
        generator: Generator {
            name: "mid center combine".into(),
            version: env!("CARGO_PKG_VERSION").into(),
        },
        seed: None,
        arguments: None,
        data_period: period,
        sites: approved
            .iter()
            .map(|(x, _)| x.manifest.hospital.clone())
            .collect(),
        tables,
        truth: None,
        fingerprint: mid_cdm::manifest::dataset_fingerprint(&refs),
        synthetic: None,
    };
    std::fs::write(data.join("manifest.json"), manifest.to_json())
        .map_err(|e| Error::context("cannot write data/manifest.json", e))
}

/// The script's exports of every approved hospital, as one table each.
fn pool_exports(package: &Package, approved: &[(Extraction, Hospital)], dir: &Path) -> Result<()> {
    let exports: BTreeSet<&str> = package
        .returns
        .iter()
        .filter(|r| r.level == Level::Patient && Table::from_name(&r.table).is_none())
        .map(|r| r.table.as_str())
        .collect();
    if exports.is_empty() {
        return Ok(());
    }
    std::fs::create_dir_all(dir.join("exports"))
        .map_err(|e| Error::context("cannot create exports/", e))?;
    for name in exports {
        let parts = approved
            .iter()
            .map(|(x, _)| read_parquet(&x.path(&format!("analysis/{name}.parquet"))))
            .collect::<Result<Vec<_>>>()?;
        let Some(first) = parts.first() else { continue };
        let b = concat_batches(&first.schema(), &parts)
            .map_err(|e| Error::context(format!("pooling `{name}`"), e))?;
        output::write_table(&dir.join(format!("exports/{name}.parquet")), &b, false)?;
    }
    Ok(())
}

/// The network's attrition tables and reports (or one hospital's, with `part`), computed
/// with the request's plans from the pooled data set, written under `out/reports`.
async fn recompute(
    package: &Package,
    plans: &[NamedPlan],
    data: &Path,
    part: Option<&str>,
    out: &Path,
) -> Result<()> {
    let files = part.map_or(crate::engine::Files::All, crate::engine::Files::Part);
    let engine = Engine::open_files(data, None, files).await?;
    let plans: Vec<NamedPlan> = plans
        .iter()
        .filter(|p| !frontier::site_only(&p.kind))
        .cloned()
        .collect();
    // The pooled tables hold only the columns the request returns: a plan that read another
    // would read nothing there, so it is refused, not run.
    let returned: BTreeMap<&str, BTreeSet<&str>> = package
        .returns
        .iter()
        .filter(|r| r.level == Level::Patient)
        .map(|r| {
            (
                r.table.as_str(),
                r.columns.iter().map(String::as_str).collect(),
            )
        })
        .collect();
    let bare = Engine::without_data()?;
    let optimized = plans
        .iter()
        .map(|p| bare.optimize(&p.plan))
        .collect::<Result<Vec<_>>>()?;
    for (t, cols) in frontier::cdm_reads(&optimized) {
        let have = returned.get(t.name()).cloned().unwrap_or_default();
        if let Some(c) = cols.iter().find(|c| !have.contains(c.as_str())) {
            return Err(Error::new(format!(
                "the request's plans read `{t}.{c}`, which its extractions do not return: the package is inconsistent"
            )));
        }
    }
    let results = engine::run_all(&engine, &plans, false, |_, _| {}).await?;
    let aggregate = package.aggregate_outputs();
    std::fs::create_dir_all(out)
        .map_err(|e| Error::context(format!("cannot create {}", out.display()), e))?;
    output::write_outputs(out, &aggregate, &results, false)?;
    Ok(())
}

/// A feasibility request's counts: each approved hospital's exact counts (its own rows only)
/// and the network's, their sums, as `feasibility/counts.parquet`. Never released as they are:
/// `mid center release` applies disclosure control to the whole cube.
fn pool_counts(
    package: &Package,
    request: &crate::network::package::FeasibilityRequest,
    approved: &[(Extraction, Hospital)],
    dir: &Path,
) -> Result<()> {
    use crate::output::feasibility as cube;
    let calendar = calendar_of(request)?;
    let mut parts = Vec::new();
    for (x, _) in approved {
        let h = &x.manifest.hospital;
        let path = x.dir.join("counts/feasibility.parquet");
        let b = crate::network::site::read_parquet(&path)
            .map_err(|e| Error::new(format!("{}: the counts of {h}: {e}", x.dir.display())))?;
        parts.push((h.clone(), cube::exact_rows(calendar, &[b])?));
    }
    let rows = cube::pool(parts)?;
    std::fs::create_dir_all(dir.join("feasibility"))
        .map_err(|e| Error::context("cannot create feasibility/", e))?;
    output::write_table(
        &dir.join("feasibility/counts.parquet"),
        &cube::exact_table(calendar, &rows)?,
        false,
    )?;
    // What was asked, for the release.
    for (name, text) in [
        ("items.txt", &request.items.text),
        ("request.mid", &package.script.text),
    ] {
        std::fs::write(dir.join("feasibility").join(name), text)
            .map_err(|e| Error::context(format!("cannot write feasibility/{name}"), e))?;
    }
    Ok(())
}

/// The calendar a feasibility package counts by.
pub fn calendar_of(
    request: &crate::network::package::FeasibilityRequest,
) -> Result<mid_compiler::codegen::feasibility::Calendar> {
    use mid_compiler::codegen::feasibility::Calendar;
    [Calendar::Quarter, Calendar::FiscalYear]
        .into_iter()
        .find(|c| c.column() == request.calendar)
        .ok_or_else(|| {
            Error::new(format!(
                "the package counts by `{}`, which this mid does not know",
                request.calendar
            ))
        })
}

/// Pools the extractions in `dirs` into `dir` (a new, empty directory). `log` is the
/// center's audit trail (for replays), `expect` the hospitals that were sent the request.
pub async fn combine(
    package: &Package,
    dirs: &[PathBuf],
    log: &[Entry],
    expect: &[String],
    dir: &Path,
) -> Result<Pooled> {
    let (approved, rejected) = check_all(package, dirs, log)?;
    if approved.is_empty() {
        return Err(Error::new(format!(
            "no approved extraction among the {} given: nothing to pool",
            dirs.len()
        )));
    }
    if let Some(request) = &package.feasibility {
        pool_counts(package, request, &approved, dir)?;
    } else {
        pool_tables(package, &approved, dir)?;
        pool_exports(package, &approved, dir)?;
        let engine = Engine::without_data()?;
        let plans = package.plans(&engine.ctx.task_ctx())?;
        let data = dir.join("data");
        recompute(package, &plans, &data, None, &dir.join("network")).await?;
        for (x, _) in &approved {
            let h = &x.manifest.hospital;
            let out = dir.join("by-hospital").join(h);
            recompute(package, &plans, &data, Some(h), &out).await?;
            // What the hospital sent must be what its analysis data set gives.
            let sent: BTreeMap<&str, &str> = x
                .manifest
                .files
                .iter()
                .filter(|f| f.level == "aggregate")
                .map(|f| (f.path.as_str(), f.sha256.as_str()))
                .collect();
            let mut made = BTreeMap::new();
            for f in extraction::list_files(&out)? {
                made.insert(f.clone(), extraction::file_sha256(&out.join(&f))?);
            }
            let differs: Vec<&str> = sent
                .iter()
                .filter(|(p, s)| made.get(**p).map(String::as_str) != Some(**s))
                .map(|(p, _)| *p)
                .chain(
                    made.keys()
                        .map(String::as_str)
                        .filter(|p| !sent.contains_key(p)),
                )
                .collect();
            if !differs.is_empty() {
                return Err(Error::new(format!(
                    "{}: the analysis data set of {h} does not reproduce the aggregate tables it sent ({}); it is not pooled",
                    x.dir.display(),
                    differs.join(", ")
                )));
            }
        }
    }
    let approved_ids: BTreeSet<&str> = approved
        .iter()
        .map(|(x, _)| x.manifest.hospital.as_str())
        .chain(rejected.iter().map(|r| r.hospital.as_str()))
        .collect();
    let missing: Vec<String> = expect
        .iter()
        .filter(|h| !approved_ids.contains(h.as_str()))
        .cloned()
        .collect();
    let files: Vec<(String, &str)> = extraction::list_files(dir)?
        .into_iter()
        .map(|f| {
            let level = if f.starts_with("data/") || f.starts_with("exports/") {
                "patient"
            } else if f.starts_with("feasibility/") {
                "counts"
            } else {
                "aggregate"
            };
            (f, level)
        })
        .collect();
    let pooled = Pooled {
        format: FORMAT.into(),
        package: package.id.clone(),
        study: package.study.clone(),
        approved: approved.into_iter().map(|(_, h)| h).collect(),
        rejected,
        missing,
        files: extraction::entries(dir, &files)?,
    };
    std::fs::write(dir.join(RECORD), extraction::json_text(&pooled))
        .map_err(|e| Error::context(format!("cannot write {RECORD}"), e))?;
    Ok(pooled)
}

/// Reads a pooled directory and checks every file against its record.
pub fn open_pooled(dir: &Path) -> Result<(Pooled, String)> {
    let path = dir.join(RECORD);
    let bytes = std::fs::read(&path).map_err(|e| {
        Error::new(format!(
            "{} is not a pooled data set from `mid center combine` (cannot read {RECORD}: {e})",
            dir.display()
        ))
    })?;
    let p: Pooled = serde_json::from_slice(&bytes)
        .map_err(|e| Error::new(format!("{} is damaged: {e}", path.display())))?;
    if p.format != FORMAT {
        return Err(Error::new(format!(
            "{} is `{}`; this mid reads `{FORMAT}`",
            path.display(),
            p.format
        )));
    }
    let listed: BTreeSet<&str> = p.files.iter().map(|f| f.path.as_str()).collect();
    for f in extraction::list_files(dir)? {
        if f != RECORD && !listed.contains(f.as_str()) {
            return Err(Error::new(format!(
                "{}: {f} was added after the data were pooled",
                dir.display()
            )));
        }
    }
    for f in &p.files {
        let full = dir.join(&f.path);
        if !full.is_file() || extraction::file_sha256(&full)? != f.sha256 {
            return Err(Error::new(format!(
                "{}: {} was changed or removed after the data were pooled",
                dir.display(),
                f.path
            )));
        }
    }
    Ok((p, crate::output::record::sha256(&bytes)))
}
