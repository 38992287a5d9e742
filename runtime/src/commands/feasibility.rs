//! `mid feasibility`: the aggregate counts (集計情報) a researcher asks for before applying to
//! use the network — persons and records per drug, condition and lab item, by calendar
//! quarter (or fiscal year), age band and sex, per hospital and for the network — run on one
//! data set. The cube leaves only through disclosure control (`output::feasibility`); the
//! terminal prints a short summary, not the cube.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

use mid_compiler::CompileError;
use mid_compiler::codegen::feasibility::{ALL, Calendar};
use mid_compiler::diag;
use mid_compiler::feasibility::{self as request, FeasibilityError};
use serde::Serialize;

use super::run::{checked_data, memory_limit, open_checked, progress};
use super::{Color, print_diagnostics, read_script};
use crate::engine;
use crate::error::{Error, Result};
use crate::output::feasibility::{Cell, Cube, hospital_runs};
use crate::output::place::Place;

/// Arguments of `mid feasibility`.
#[derive(Debug, Clone, clap::Args)]
pub struct FeasibilityArgs {
    /// The items, one per line: `drug statins`, `drug "2189015"` (a YJ prefix), `condition
    /// hypertension`, `condition "I21"` (an ICD-10 prefix), `lab alt`. The standard request
    /// (`--list`) when absent.
    #[arg(long)]
    pub items: Option<PathBuf>,
    /// The CDM data set; the built-in demo network when absent.
    #[arg(long)]
    pub data: Option<PathBuf>,
    /// Where to write the cube (replaced if it holds earlier results).
    #[arg(long, default_value = "out/feasibility")]
    pub out: PathBuf,
    /// Count by Japanese fiscal year (年度, April to March) instead of calendar quarter.
    #[arg(long)]
    pub fiscal_year: bool,
    /// Years per age band: 10 or 5.
    #[arg(long, default_value_t = 10)]
    pub age_band: i64,
    /// Print the standard request's items and stop.
    #[arg(long)]
    pub list: bool,
    /// Print, for each hospital, each plan's wall time and the engine's physical plan with
    /// what each operator did (rows, time), to find where a request spends its time.
    #[arg(long, conflicts_with = "package")]
    pub profile: bool,
    /// Colour diagnostics.
    #[arg(long, value_enum, default_value_t = Color::Auto)]
    pub color: Color,
    /// Hold execution to this much memory (`512M`, `4G`); by default three quarters of the
    /// memory the process may use (as `mid run`).
    #[arg(long, value_parser = crate::engine::parse_size)]
    pub memory_limit: Option<usize>,
    /// Write the request as a package for the network instead of running it: each hospital
    /// runs it (`mid site run`), its officer approves the exact counts, the data center pools
    /// them (`mid center combine`) and releases the protected cube (`mid center release`).
    #[arg(long, conflicts_with_all = ["data", "memory_limit"])]
    pub package: Option<PathBuf>,
    /// With --package: the audit trail to record it in.
    #[arg(long, requires = "package")]
    pub audit: Option<PathBuf>,
    /// With --package: who makes it (recorded in the audit trail); the user name by default.
    #[arg(long, requires = "package")]
    pub operator: Option<String>,
}

/// The format of `feasibility.json`.
pub const FORMAT: &str = "mid-feasibility/1";

/// `feasibility.json`: what was asked, of what data, under which rule; no count.
#[derive(Debug, Serialize)]
struct Record {
    format: &'static str,
    mid_version: &'static str,
    items_sha256: String,
    items: usize,
    calendar: Calendar,
    age_band_years: i64,
    rule: &'static str,
    data: String,
    manifest_fingerprint: Option<String>,
    hospitals: Vec<String>,
    rows: usize,
    suppressed_small: usize,
    suppressed_complementary: usize,
    /// Items that matched no record, by hospital (all hospitals: `network`).
    matched_nothing: BTreeMap<String, Vec<String>>,
    files: Vec<String>,
}

const RULE: &str = "each count of persons, records, new users and persons with a value is 0 or rounded to the nearest 10; a count of 1-9 is suppressed (null, flagged), and more counts are suppressed until each suppressed count of 1-9 has a table that every relation the published counts keep allows in which it is 10 or more";

pub fn feasibility(args: &FeasibilityArgs) -> Result<ExitCode> {
    let clock = Instant::now();
    if args.list {
        crate::out!("{}", request::standard_items());
        return Ok(ExitCode::SUCCESS);
    }
    if args.age_band != 10 && args.age_band != 5 {
        return Err(Error::usage(format!(
            "--age-band {}: age bands are 10 or 5 years",
            args.age_band
        )));
    }
    let calendar = if args.fiscal_year {
        Calendar::FiscalYear
    } else {
        Calendar::Quarter
    };
    let (name, text) = match &args.items {
        Some(path) => {
            let bytes = read_script(path)?;
            let text = String::from_utf8(bytes)
                .map_err(|_| Error::usage(format!("{} is not UTF-8 text", path.display())))?;
            (path.display().to_string(), text)
        }
        None => (
            "the standard request".to_string(),
            request::standard_items(),
        ),
    };
    let f = match request::compile(&name, &text, calendar, args.age_band) {
        Ok(f) => f,
        Err(FeasibilityError::Items(sources, diags)) => {
            print_diagnostics(&diags, &sources, args.color);
            return Err(Error::new(format!("{name}: {}", diag::summary(&diags))));
        }
        Err(FeasibilityError::Script(CompileError::Diagnostics(checked))) => {
            print_diagnostics(&checked.diagnostics, &checked.sources, args.color);
            return Err(Error::new(format!(
                "{name}: the request's script does not compile: {}",
                diag::summary(&checked.diagnostics)
            )));
        }
        Err(FeasibilityError::Script(CompileError::Internal(_, e))) => {
            return Err(Error::new(format!("{name}: {e}")));
        }
    };
    if let Some(out) = &args.package {
        return package(args, out, &f, &name, &text);
    }
    let data = crate::dataset::resolve_data(args.data.as_deref())?;
    let guard_path = args
        .items
        .clone()
        .unwrap_or_else(|| data.join("manifest.json"));
    let place = Place::claim(&args.out, &data, &guard_path)?;
    let needs = mid_compiler::requirements::requirements(&f.compiled.cir);
    let verified = checked_data(
        &data,
        &needs,
        &f.compiled.checked.sources,
        args.color,
        false,
    )?;
    let limit = memory_limit(args.memory_limit)?;
    let rt = crate::runtime()?;
    // Each hospital's counts on its own, as at the hospital itself, and the network's as
    // their sums (as the data center pools them): memory follows the largest hospital, not
    // the network, and the cube is the one the network route releases.
    let (parts, hospitals) = rt.block_on(async {
        let (engine, content) = open_checked(&data, limit, &needs).await?;
        let hospitals = hospitals_of(&engine).await?;
        drop(engine);
        let parts = count_hospitals(
            &data,
            limit,
            &content,
            &hospitals,
            &f.plans,
            calendar,
            args.profile,
        )
        .await?;
        Ok::<_, Error>((parts, hospitals))
    })?;
    let cube = Cube::protect_pooled(calendar, parts)?;
    // Items that matched nothing, where.
    let mut matched_nothing: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let found: std::collections::BTreeSet<(&str, &str)> = cube
        .rows
        .iter()
        .map(|r| (r.item.as_str(), r.hospital.as_str()))
        .collect();
    for item in &f.request.items {
        let mut at: Vec<String> = hospitals
            .iter()
            .filter(|h| !found.contains(&(item.name.as_str(), h.as_str())))
            .cloned()
            .collect();
        if !at.is_empty() {
            if at.len() == hospitals.len() {
                at = vec!["network".into()];
            }
            matched_nothing.insert(item.name.clone(), at);
        }
    }
    let tmp = place.temp()?;
    let files = match write(&tmp, &cube, &text, &f.script) {
        Ok(files) => files,
        Err(e) => {
            place.abandon(&tmp);
            return Err(e);
        }
    };
    let (small, complementary) = cube.hidden();
    let manifest = crate::dataset::Manifest::read(&data).ok();
    let record = Record {
        format: FORMAT,
        mid_version: env!("CARGO_PKG_VERSION"),
        items_sha256: crate::output::record::sha256(text.as_bytes()),
        items: f.request.items.len(),
        calendar,
        age_band_years: args.age_band,
        rule: RULE,
        data: data.display().to_string(),
        manifest_fingerprint: manifest
            .filter(|_| verified.is_some())
            .map(|m| m.fingerprint),
        hospitals: hospitals.clone(),
        rows: cube.rows.len(),
        suppressed_small: small,
        suppressed_complementary: complementary,
        matched_nothing: matched_nothing.clone(),
        files,
    };
    let json = serde_json::to_string_pretty(&record)
        .map_err(|e| Error::context("cannot describe the request", e))?;
    if let Err(e) = fs::write(tmp.join("feasibility.json"), json + "\n") {
        place.abandon(&tmp);
        return Err(Error::context("cannot write feasibility.json", e));
    }
    place.commit(&tmp)?;
    summary(
        &cube,
        &f.request.items.len(),
        &hospitals,
        &matched_nothing,
        &args.out,
        clock,
    );
    // The process ends here: freeing half a million rows one by one first took a quarter
    // of a second on the 1 M-patient network.
    std::mem::forget(cube);
    Ok(ExitCode::SUCCESS)
}

/// Counts each hospital on its own and returns each hospital's exact rows (its own, in runs
/// of one item), in the hospitals' order. Hospitals run side by side, one per core, each
/// plan on one partition: one hospital's plan spread over two cores ran hardly faster than
/// on one (51.6 s against 53.4 s for the standard request at 30 hospitals), two hospitals
/// at once use both. The memory limit is shared among them. With `profile`, one at a time,
/// so that each hospital's profile prints whole.
async fn count_hospitals(
    data: &Path,
    limit: Option<usize>,
    content: &crate::dataset::content::Content,
    hospitals: &[String],
    plans: &[mid_compiler::NamedPlan],
    calendar: Calendar,
    profile: bool,
) -> Result<Vec<(String, Vec<Vec<crate::output::feasibility::Row>>)>> {
    use std::sync::{Arc, Mutex};
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let workers = if profile {
        1
    } else {
        cores.min(hospitals.len()).max(1)
    };
    let bar = progress((hospitals.len() * plans.len()) as u64);
    let index = Arc::new(
        crate::dataset::files::HospitalFiles::read(data)
            .map_err(|e| Error::new(format!("cannot read the data set's footers: {e}")))?,
    );
    // The largest hospitals (by the bytes of their files) first, so that the last to
    // finish is a small one: in the hospitals' own order a large one was often last, and the
    // other core idled for most of a second while it finished alone. The order only decides
    // when a hospital is counted; the parts are put back in the hospitals' order.
    let bytes = |h: &str| -> u64 {
        index
            .of(h)
            .values()
            .flatten()
            .filter_map(|p| fs::metadata(p).ok())
            .map(|m| m.len())
            .sum()
    };
    // On one worker, in the hospitals' order, as a profile prints them.
    let mut order: Vec<(usize, String)> = hospitals.iter().cloned().enumerate().collect();
    if workers > 1 {
        order.sort_by_cached_key(|(k, h)| (std::cmp::Reverse(bytes(h)), *k));
    }
    // Popped from the end.
    order.reverse();
    let queue: Arc<Mutex<Vec<(usize, String)>>> = Arc::new(Mutex::new(order));
    let plans: Arc<Vec<mid_compiler::NamedPlan>> = Arc::new(plans.to_vec());
    let mut tasks = Vec::new();
    let share = limit.map(|l| l / workers);
    for _ in 0..workers {
        let (queue, plans, bar) = (queue.clone(), plans.clone(), bar.clone());
        let (data, content, index) = (data.to_path_buf(), content.clone(), index.clone());
        tasks.push(tokio::spawn(async move {
            let mut done = Vec::new();
            loop {
                let next = queue.lock().ok().and_then(|mut q| q.pop());
                let Some((k, h)) = next else { break };
                // A session of the hospital's own files, as at the hospital: opening every
                // file of every table for each hospital cost a tenth of the request.
                let files = index.of(&h);
                let engine =
                    engine::Engine::open_files(&data, share, engine::Files::Listed(&files)).await?;
                engine.apply(&content).await?;
                if workers > 1 {
                    engine.one_partition();
                }
                engine.only_hospital(&h).await?;
                if profile {
                    crate::errln!("== {h}");
                }
                let results = engine::run_all(&engine, &plans, profile, |_, name| {
                    if let Some(b) = &bar {
                        b.inc(1);
                        b.set_message(format!("{h}: {name}"));
                    }
                })
                .await?;
                let (_, batches) = results
                    .get("feasibility")
                    .ok_or_else(|| Error::new("the request produced no counts"))?;
                done.push((k, h, hospital_runs(calendar, batches)?));
            }
            Ok::<_, Error>(done)
        }));
    }
    let mut parts = Vec::new();
    for t in tasks {
        let done = t.await.map_err(|e| {
            Error::new(format!("internal error: a hospital's count stopped: {e}"))
        })??;
        parts.extend(done);
    }
    if let Some(b) = bar {
        b.finish_and_clear();
    }
    parts.sort_by_key(|(k, _, _)| *k);
    Ok(parts.into_iter().map(|(_, h, rows)| (h, rows)).collect())
}

/// Writes the request as a package for the network (`--package`).
fn package(
    args: &FeasibilityArgs,
    out: &Path,
    f: &request::Feasibility,
    name: &str,
    text: &str,
) -> Result<ExitCode> {
    use crate::network::package::Package;
    super::package::refuse_to_replace(out)?;
    let package = Package::feasibility(f, name, text)?;
    let items = (
        "items".to_string(),
        crate::output::record::sha256(text.as_bytes()),
    );
    super::package::publish(&package, out, args.audit.as_deref(), &args.operator, items)?;
    crate::outln!(
        "wrote {} (feasibility request {}, {} items by {}; `mid package --show {}` shows what it runs and returns)",
        out.display(),
        &package.id[..12],
        f.request.items.len(),
        f.request.calendar.column().replace('_', " "),
        out.display()
    );
    Ok(ExitCode::SUCCESS)
}

/// The hospitals of the data set, from its patient table.
async fn hospitals_of(engine: &engine::Engine) -> Result<Vec<String>> {
    let cannot =
        |e: datafusion::error::DataFusionError| Error::context("cannot list the hospitals", e);
    let batches = engine
        .ctx
        .sql("SELECT DISTINCT hospital_id FROM patient ORDER BY hospital_id")
        .await
        .map_err(cannot)?
        .collect()
        .await
        .map_err(cannot)?;
    let mut out = Vec::new();
    for b in batches {
        let col = arrow::compute::cast(b.column(0), &arrow::datatypes::DataType::Utf8)
            .map_err(|e| Error::context("hospital_id", e))?;
        let a = col
            .as_any()
            .downcast_ref::<arrow::array::StringArray>()
            .ok_or_else(|| Error::new("hospital_id is not text"))?;
        out.extend(a.iter().flatten().map(String::from));
    }
    Ok(out)
}

/// Writes the cube (Parquet, CSV), the chart page, the items as read and the request's
/// script; returns the files written.
pub(crate) fn write(dir: &Path, cube: &Cube, items: &str, script: &str) -> Result<Vec<String>> {
    let table = cube.table()?;
    let put = |name: &str, text: &str| {
        fs::write(dir.join(name), text)
            .map_err(|e| Error::context(format!("cannot write {name}"), e))
    };
    // The three renderings of the cube at once, on the machine's cores.
    let (parquet, csv, html) = std::thread::scope(|s| {
        let parquet =
            s.spawn(|| crate::output::write_table(&dir.join("feasibility.parquet"), &table, false));
        let csv =
            s.spawn(|| crate::output::write_table(&dir.join("feasibility.csv"), &table, true));
        let html = put(
            "feasibility.html",
            &cube.html(
                "Feasibility counts (集計情報): persons per item, by period and sex, for the network",
            ),
        );
        let joined = |h: std::thread::ScopedJoinHandle<'_, Result<()>>| {
            h.join()
                .unwrap_or_else(|_| Err(Error::new("internal error: writing the cube failed")))
        };
        (joined(parquet), joined(csv), html)
    });
    parquet?;
    csv?;
    html?;
    put("items.txt", items)?;
    put("request.mid", script)?;
    Ok([
        "feasibility.parquet",
        "feasibility.csv",
        "feasibility.html",
        "items.txt",
        "request.mid",
    ]
    .map(String::from)
    .to_vec())
}

/// The console: what was counted, how much was hidden, where it went, the largest items.
fn summary(
    cube: &Cube,
    items: &usize,
    hospitals: &[String],
    matched_nothing: &BTreeMap<String, Vec<String>>,
    out: &Path,
    clock: Instant,
) {
    // A set, not a sort of half a million rows' periods.
    let periods: std::collections::BTreeSet<&str> = cube
        .rows
        .iter()
        .map(|r| r.period.as_str())
        .filter(|p| *p != ALL)
        .collect();
    let span = match (periods.first(), periods.last()) {
        (Some(a), Some(b)) => format!(" ({a} to {b})"),
        _ => String::new(),
    };
    let (small, comp) = cube.hidden();
    crate::outln!(
        "feasibility: {items} items at {} hospitals, by {}{span}, age band and sex",
        hospitals.len(),
        cube.calendar.column().replace('_', " ")
    );
    crate::outln!(
        "  {} rows; {small} counts of 1-9 suppressed, and {comp} more so they cannot be worked out",
        cube.rows.len()
    );
    let mut totals: Vec<(u64, &str)> = cube
        .rows
        .iter()
        .filter(|r| r.hospital == "network" && r.period == ALL && r.age_band == ALL && r.sex == ALL)
        .filter_map(|r| match r.shown[0] {
            Cell::Shown(n) => Some((n, r.item.as_str())),
            _ => None,
        })
        .collect();
    totals.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(b.1)));
    if !totals.is_empty() {
        crate::outln!(
            "  most persons in the network: {}",
            totals
                .iter()
                .take(5)
                .map(|(n, i)| format!("{i} {n}"))
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
    for (item, at) in matched_nothing {
        if at == &["network".to_string()] {
            crate::outln!("  {item} matched nothing at any hospital");
        } else {
            crate::outln!("  {item} matched nothing at {}", at.join(", "));
        }
    }
    crate::outln!(
        "  wrote {} (feasibility.parquet, .csv, .html, feasibility.json) in {:.1} s",
        out.display(),
        clock.elapsed().as_secs_f64()
    );
}
