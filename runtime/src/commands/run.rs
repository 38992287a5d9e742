//! `mid run`: compiles a script, checks the data has what it needs (every problem reported
//! at the place in the script that needs the data), executes the plans and writes the
//! outputs and `run.json`. Output goes to a temporary directory renamed into place at the
//! end, so a failed run leaves nothing behind.

use std::fs;
use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Instant, SystemTime};

use mid_compiler::CompileOptions;
use mid_compiler::diag::Diagnostic;

use super::{Color, compile_script, print_diagnostics};
use crate::dataset::content::{self, Policy};
use crate::dataset::{contract, verify};
use crate::engine::{self, Engine};
use crate::error::{Error, Result};
use crate::output::{self, RunRecord, SiteRecord};

/// Arguments of `mid run`.
#[derive(Debug, Clone, clap::Args)]
pub struct RunArgs {
    /// The script.
    pub file: PathBuf,
    /// The CDM data set; the built-in demo network when absent.
    #[arg(long)]
    pub data: Option<PathBuf>,
    /// Where to write the results (replaced if it holds an earlier run's results); by default
    /// `out/<study>` (`out/<file name>` for a script that names no study).
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Write CSV instead of Parquet.
    #[arg(long)]
    pub csv: bool,
    /// Colour diagnostics.
    #[arg(long, value_enum, default_value_t = Color::Auto)]
    pub color: Color,
    /// Check every data file's SHA-256 against the manifest's fingerprints (every run checks
    /// file lists, sizes and row counts).
    #[arg(long)]
    pub verify: bool,
    /// Print each plan's time and its physical plan with per-operator rows and times to
    /// stderr (where a slow script spends its time).
    #[arg(long)]
    pub profile: bool,
    /// Hold execution to this much memory (`512M`, `4G`): sorts, aggregates and joins spill
    /// to disk, and a run that cannot fit stops with a message. Also read from
    /// DATAFUSION_RUNTIME_MEMORY_LIMIT; by default three quarters of the memory the process
    /// may use (the machine's, or its cgroup's limit).
    #[arg(long, value_parser = crate::engine::parse_size)]
    pub memory_limit: Option<usize>,
    /// The study report: `html` writes `report.html` (one self-contained page: attrition
    /// diagrams, age and sex, incidence with intervals, Table 1, validation, coverage, the
    /// script); `none` does not. By default `html` when the script has a report or a Table 1.
    #[arg(long, value_enum)]
    pub report: Option<ReportFormat>,
    /// Where the plans run: `local`, in this process; `ballista`, on the Ballista cluster of
    /// `--scheduler` (a build with the `ballista` feature; docs/scale.md). The results are
    /// the same.
    #[arg(long, value_enum, default_value_t = EngineKind::Local)]
    pub engine: EngineKind,
    /// The Ballista scheduler, HOST:PORT (`--engine ballista`).
    #[arg(long, required_if_eq("engine", "ballista"))]
    pub scheduler: Option<String>,
    /// With `--engine ballista`: a directory for each plan's result that the executors read
    /// at the same path (on a cluster of several machines, a shared filesystem); a temporary
    /// directory by default, enough when the executors run on this machine.
    #[arg(long)]
    pub shared_dir: Option<PathBuf>,
}

/// What `--engine` chooses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum EngineKind {
    Local,
    Ballista,
}

impl RunArgs {
    /// Where the plans run; a usage error for settings that do not fit the engine.
    fn place(&self) -> Result<engine::Place> {
        match (self.engine, &self.scheduler) {
            (EngineKind::Local, None) if self.shared_dir.is_none() => Ok(engine::Place::InProcess),
            (EngineKind::Local, _) => Err(Error::usage(
                "--scheduler and --shared-dir are for `--engine ballista`",
            )),
            (EngineKind::Ballista, _) if self.memory_limit.is_some() => Err(Error::usage(
                "--memory-limit holds this process's engine; on a cluster each executor has its own (`mid cluster executor --memory-limit`)",
            )),
            (EngineKind::Ballista, Some(s)) => Ok(engine::Place::Cluster {
                scheduler: s.clone(),
                shared: self.shared_dir.clone(),
            }),
            (EngineKind::Ballista, None) => Err(Error::usage(
                "--engine ballista needs --scheduler HOST:PORT",
            )),
        }
    }
}

/// What `--report` writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ReportFormat {
    Html,
    None,
}

/// The error that ends a run after its problems were printed: what is wrong, how many
/// problems, and what to do (if anything).
fn problems_error(what: String, n: usize, then: &str) -> Error {
    let s = if n == 1 { "" } else { "s" };
    let then = if then.is_empty() {
        String::new()
    } else {
        format!("; {then}")
    };
    Error::new(format!("{what} ({n} problem{s}){then}"))
}

pub fn run(args: &RunArgs) -> Result<ExitCode> {
    let started = SystemTime::now();
    let clock = Instant::now();
    let at = args.place()?;
    let compiled = compile_script(&args.file, args.color, &CompileOptions::default())?;
    let data = crate::dataset::resolve_data(args.data.as_deref())?;
    let out = match &args.out {
        Some(o) => o.clone(),
        // Named after the study, so two studies (each a `study.mid`) never overwrite each
        // other; after the file when the script names no study.
        None => PathBuf::from("out").join(compiled.cir.study.clone().unwrap_or_else(|| {
            args.file
                .file_stem()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_else(|| "run".into())
        })),
    };
    // Claimed first: results a killed run set aside come back even if this run fails.
    let place = output::place::Place::claim(&out, &data, &args.file)?;
    let needs = mid_compiler::requirements::requirements(&compiled.cir);
    let verified = checked_data(
        &data,
        &needs,
        &compiled.checked.sources,
        args.color,
        args.verify,
    )?;
    let memory_limit = match at {
        engine::Place::InProcess => memory_limit(args.memory_limit)?,
        engine::Place::Cluster { .. } => None,
    };
    let rt = engine::runtime_for(&at)?;
    let (content, results) = rt.block_on(async {
        let (engine, content) = open_checked_at(&data, memory_limit, &at, &needs).await?;
        if args.profile {
            for (table, seconds, reused) in &content.timings {
                let how = if *reused {
                    ", counts reused: its files are unchanged since they were checked"
                } else {
                    ""
                };
                crate::errln!("-- data checks of `{table}` ({seconds:.3} s{how})");
            }
        }
        let r = run_with_progress(&engine, &compiled.plans, args.profile).await;
        r.map(|r| (content, r))
    })?;
    let tmp = place.temp()?;
    let (written, withheld) =
        match output::write_outputs(&tmp, &compiled.outputs, &results, args.csv) {
            Ok(w) => w,
            Err(e) => {
                place.abandon(&tmp);
                return Err(e);
            }
        };
    let coverage = match output::coverage(&compiled.outputs, &results) {
        Ok(c) => c,
        Err(e) => {
            place.abandon(&tmp);
            return Err(e);
        }
    };
    // The study report: aggregate only, drawn from the same counts as the files.
    let html = args.report.unwrap_or(
        if compiled.outputs.iter().any(|o| {
            matches!(
                o.kind,
                mid_compiler::OutputKind::Report { .. } | mid_compiler::OutputKind::Table1 { .. }
            )
        }) {
            ReportFormat::Html
        } else {
            ReportFormat::None
        },
    ) == ReportFormat::Html;
    let mut written = written;
    if html {
        let page =
            output::html::study_report(&compiled, &results, &written, &coverage).and_then(|page| {
                let path = tmp.join(output::html::FILE);
                fs::write(&path, &page)
                    .map_err(|e| Error::context(format!("cannot write {}", path.display()), e))
            });
        if let Err(e) = page {
            place.abandon(&tmp);
            return Err(e);
        }
        written.push(output::Written {
            name: "study report".into(),
            kind: "html",
            path: output::html::FILE.into(),
            rows: 0,
            leaves_site: true,
        });
    }
    let facts = output::RunFacts {
        script: &args.file,
        compiled: &compiled,
        data: &data,
        results: &results,
        written: &written,
        withheld: &withheld,
        verified,
        content: &content,
        started,
        finished: SystemTime::now(),
    };
    let records = [
        (
            tmp.join("run.json"),
            serde_json::to_string_pretty(&RunRecord::new(&facts)),
        ),
        (
            tmp.join(output::SITE_ONLY).join("run-site.json"),
            serde_json::to_string_pretty(&SiteRecord::new(&facts)),
        ),
        (
            tmp.join(output::SITE_ONLY).join("coverage.json"),
            serde_json::to_string_pretty(&coverage),
        ),
    ];
    for (path, json) in records {
        let written = json
            .map_err(|e| Error::context("cannot describe the run", e))
            .and_then(|json| {
                fs::create_dir_all(path.parent().unwrap_or(&tmp))
                    .and_then(|_| fs::write(&path, json + "\n"))
                    .map_err(|e| Error::context(format!("cannot write {}", path.display()), e))
            });
        if let Err(e) = written {
            place.abandon(&tmp);
            return Err(e);
        }
    }
    for w in &withheld {
        crate::errln!("warning: report `{}` withheld: {}", w.report, w.reason);
    }
    place.commit(&tmp)?;
    output::print_summary(
        &compiled,
        &results,
        &written,
        &out,
        clock.elapsed().as_secs_f64(),
    );
    for f in &coverage.flags {
        crate::outln!("coverage: {f}");
    }
    Ok(ExitCode::SUCCESS)
}

/// Checks that the data set has what `needs` asks for (each problem printed at its place in
/// the script) and is what its manifest describes; the verified fingerprint, if any.
pub(crate) fn checked_data(
    data: &std::path::Path,
    needs: &[mid_compiler::requirements::Requirement],
    sources: &mid_compiler::source::SourceMap,
    color: Color,
    verify_all: bool,
) -> Result<Option<verify::Checked>> {
    let problems = contract::check_requirements(data, needs);
    if !problems.is_empty() {
        let diags: Vec<Diagnostic> = problems.iter().map(|p| p.to_diagnostic()).collect();
        print_diagnostics(&diags, sources, color);
        return Err(problems_error(
            format!(
                "the data set in {} does not have what the script needs",
                data.display()
            ),
            problems.len(),
            "",
        ));
    }
    // The files must still be those the manifest describes, or the run records no fingerprint.
    let mut tables: Vec<mid_compiler::cdm::Table> = needs.iter().map(|r| r.table).collect();
    tables.dedup();
    Ok(match crate::dataset::Manifest::read(data) {
        Ok(m) => match verify::verify(data, &m, &tables, verify_all) {
            Ok(v) => Some(v),
            Err(problems) => {
                for p in &problems {
                    crate::errln!("error: {p}");
                }
                return Err(problems_error(
                    format!(
                        "the data set in {} is not what its manifest.json describes",
                        data.display()
                    ),
                    problems.len(),
                    "regenerate the manifest or restore the files",
                ));
            }
        },
        // A data set without a manifest runs, unverified; a damaged manifest is damage.
        Err(e) if data.join("manifest.json").exists() => {
            return Err(Error::new(format!(
                "{e}: the data set's manifest is damaged; restore it (or remove it to run unverified)"
            )));
        }
        Err(e) => {
            crate::errln!(
                "warning: {e}; the data set's files cannot be checked, and run.json records no fingerprint"
            );
            None
        }
    })
}

/// The memory limit of `--memory-limit`, or of DATAFUSION_RUNTIME_MEMORY_LIMIT, or three
/// quarters of the memory this process may use (the machine's, or its cgroup's when lower):
/// a run then spills or stops with a message before the kernel kills it.
pub(crate) fn memory_limit(arg: Option<usize>) -> Result<Option<usize>> {
    Ok(
        match (arg, std::env::var("DATAFUSION_RUNTIME_MEMORY_LIMIT")) {
            (Some(m), _) => Some(m),
            (None, Ok(text)) => Some(
                crate::engine::parse_size(&text)
                    .map_err(|e| Error::usage(format!("DATAFUSION_RUNTIME_MEMORY_LIMIT: {e}")))?,
            ),
            (None, Err(_)) => available_memory().map(|bytes| bytes / 4 * 3),
        },
    )
}

/// The memory this process may use: the machine's (`MemTotal`), or its cgroup's limit
/// when that is lower; `None` where neither can be read.
fn available_memory() -> Option<usize> {
    let read = |path: &str| std::fs::read_to_string(path).ok();
    let machine = read("/proc/meminfo").and_then(|text| {
        let line = text.lines().find(|l| l.starts_with("MemTotal:"))?;
        let kb: usize = line.split_whitespace().nth(1)?.parse().ok()?;
        Some(kb * 1024)
    });
    let cgroup = cgroup_limit(&read("/proc/self/cgroup").unwrap_or_default(), read);
    match (machine, cgroup) {
        (Some(m), Some(c)) => Some(m.min(c)),
        (m, c) => m.or(c),
    }
}

/// The memory limit of the cgroup `/proc/self/cgroup` names: `memory.max` (v2) or
/// `memory.limit_in_bytes` (v1); `None` where there is none (`max`, or unreadable).
fn cgroup_limit(groups: &str, read: impl Fn(&str) -> Option<String>) -> Option<usize> {
    let limit = |file: String| -> Option<usize> { read(&file)?.trim().parse().ok() };
    groups.lines().find_map(|l| {
        let mut parts = l.splitn(3, ':');
        let (_, kind, path) = (parts.next()?, parts.next()?, parts.next()?);
        match kind {
            "" => limit(format!("/sys/fs/cgroup{path}/memory.max")),
            "memory" => limit(format!("/sys/fs/cgroup/memory{path}/memory.limit_in_bytes")),
            _ => None,
        }
    })
}

/// Opens the data set and checks what its rows say before anything runs: a refusal stops
/// here; rows set aside are left out of every table read.
pub(crate) async fn open_checked(
    data: &std::path::Path,
    memory_limit: Option<usize>,
    needs: &[mid_compiler::requirements::Requirement],
) -> Result<(Engine, content::Content)> {
    open_checked_at(data, memory_limit, &engine::Place::InProcess, needs).await
}

/// As `open_checked`, with the plans run where `at` says.
pub(crate) async fn open_checked_at(
    data: &std::path::Path,
    memory_limit: Option<usize>,
    at: &engine::Place,
    needs: &[mid_compiler::requirements::Requirement],
) -> Result<(Engine, content::Content)> {
    let engine = Engine::open_at(data, memory_limit, at).await?;
    let content = content::check(&engine.ctx, &engine.sources, content::columns_of(needs)).await?;
    for f in content
        .findings
        .iter()
        .filter(|f| f.policy != Policy::Refused)
    {
        crate::errln!("warning: {}", f.describe());
    }
    let refused: Vec<String> = content.refused().map(|f| f.describe()).collect();
    if !refused.is_empty() {
        for r in &refused {
            crate::errln!("error: {r}");
        }
        return Err(problems_error(
            format!("the data set in {} breaks the CDM contract", data.display()),
            refused.len(),
            "see docs/reliability.md for what each check means",
        ));
    }
    engine.apply(&content).await?;
    Ok((engine, content))
}

/// Runs the plans, with a progress bar on a terminal.
pub(crate) async fn run_with_progress(
    engine: &Engine,
    plans: &[mid_compiler::NamedPlan],
    profile: bool,
) -> Result<crate::output::Results> {
    let bar = progress(plans.len() as u64);
    let r = engine::run_all(engine, plans, profile, |i, name| {
        if let Some(b) = &bar {
            b.set_position(i as u64);
            b.set_message(name.to_string());
        }
    })
    .await;
    if let Some(b) = bar {
        b.finish_and_clear();
    }
    r
}

pub(crate) fn progress(steps: u64) -> Option<indicatif::ProgressBar> {
    if !std::io::stderr().is_terminal() {
        return None;
    }
    let bar = indicatif::ProgressBar::new(steps);
    if let Ok(style) =
        indicatif::ProgressStyle::with_template("{spinner} [{elapsed}] {bar:30} {pos}/{len} {msg}")
    {
        bar.set_style(style);
    }
    bar.enable_steady_tick(std::time::Duration::from_millis(120));
    Some(bar)
}

#[cfg(test)]
mod tests {
    use super::cgroup_limit;

    #[test]
    fn the_cgroup_limit_is_read_from_v1_and_v2() {
        let files = |path: &str| -> Option<String> {
            match path {
                "/sys/fs/cgroup/jobs/a/memory.max" => Some("2147483648\n".into()),
                "/sys/fs/cgroup/jobs/b/memory.max" => Some("max\n".into()),
                "/sys/fs/cgroup/memory/job/memory.limit_in_bytes" => Some("1073741824\n".into()),
                _ => None,
            }
        };
        assert_eq!(cgroup_limit("0::/jobs/a\n", files), Some(2 << 30));
        assert_eq!(cgroup_limit("0::/jobs/b\n", files), None);
        assert_eq!(
            cgroup_limit("5:devices:/\n4:memory:/job\n0::/jobs/b\n", files),
            Some(1 << 30)
        );
        assert_eq!(cgroup_limit("4:memory:/elsewhere\n", files), None);
    }
}
