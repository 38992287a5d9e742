//! The synthetic network (`mid synth`, and the demo network): a deterministic MID-NET-like
//! hospital network in the CDM layout. It is the oracle the outcome tests judge against, so it
//! shares no code with what it checks: it depends on the CDM contract (`mid-cdm`) alone.
//!
//! Patients are generated in fixed chunks (each patient from its own seeded stream), in
//! parallel with rayon; finished chunks go, in order, to one writer thread per table, so
//! output bytes do not depend on the thread count and memory does not grow with N.

pub mod calendar;
pub mod catalogue;
pub mod hospitals;
pub mod outcomes;
pub mod patients;
pub mod rng;
mod signals;
pub mod writer;

use std::collections::BTreeMap;
use std::fmt;
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::mpsc::{Receiver, SyncSender, sync_channel};
use std::thread::JoinHandle;
use std::time::Instant;

use arrow::array::RecordBatch;
use mid_cdm::manifest::{
    Arguments, Generator, Manifest, Period, Synthetic, TableEntry, TruthEntry, dataset_fingerprint,
    table_fingerprint,
};
use mid_cdm::{CDM_VERSION, Table};
use rayon::prelude::*;

use hospitals::Hospital;
use writer::{ChunkBatches, ChunkRows, ParquetFile, WrittenFile};

pub const DEFAULT_START: &str = "2009-01-01";
pub const DEFAULT_END: &str = "2024-12-31";
/// Patients per chunk: the unit of parallel work and of output batches.
pub const CHUNK: u64 = 4096;

/// Fingerprint of every file that shapes the generated data (see build.rs).
pub const GENERATOR_HASH: &str = env!("MID_GENERATOR_HASH");

/// Why generating failed: a message that names the file or argument at fault.
#[derive(Debug)]
pub struct Error(String);

impl Error {
    pub fn new(message: impl Into<String>) -> Error {
        Error(message.into())
    }

    /// Wraps a lower-level error with what was being done.
    pub fn context(what: impl fmt::Display, cause: impl fmt::Display) -> Error {
        Error(format!("{what}: {cause}"))
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Error {}

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// A new temporary directory beside `out` (same file system), for writing the whole data set
/// there and renaming it into place: no partial data set is ever left at `out`.
fn temp_dir_beside(out: &Path) -> Result<tempfile::TempDir> {
    let parent = out
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    std::fs::create_dir_all(parent)
        .map_err(|e| Error::context(format!("cannot create {}", parent.display()), e))?;
    tempfile::Builder::new()
        .prefix(".mid-synth-")
        .tempdir_in(parent)
        .map_err(|e| {
            Error::context(
                format!(
                    "cannot create a temporary directory in {}",
                    parent.display()
                ),
                e,
            )
        })
}

/// What to generate.
#[derive(Debug, Clone)]
pub struct Options {
    pub patients: u64,
    pub hospitals: u32,
    pub seed: u64,
    pub start: String,
    pub end: String,
    /// Show a progress bar (only ever drawn when stderr is a terminal).
    pub progress: bool,
    /// One data set per hospital (`out/H01`, `out/H02`, ...) instead of one for the network:
    /// the network as its hospitals hold it. Each hospital's files are the same bytes either
    /// way.
    pub split: bool,
}

/// What was generated.
pub struct Summary {
    /// The network's manifest, or with `split` one per hospital (in hospital order).
    pub manifests: Vec<Manifest>,
    pub seconds: f64,
    pub bytes: u64,
}

/// Checks the arguments; the message says which one is wrong. Returns the data period.
pub fn validate(o: &Options) -> std::result::Result<(i32, i32), String> {
    if o.patients == 0 {
        return Err("--patients must be at least 1".into());
    }
    if o.hospitals == 0 || o.hospitals > 99 {
        return Err(format!(
            "--hospitals must be between 1 and 99 (got {})",
            o.hospitals
        ));
    }
    let start = calendar::parse(&o.start)
        .ok_or_else(|| format!("--start {:?} is not a date (YYYY-MM-DD)", o.start))?;
    let end = calendar::parse(&o.end)
        .ok_or_else(|| format!("--end {:?} is not a date (YYYY-MM-DD)", o.end))?;
    if start >= end {
        return Err(format!(
            "--start {} must be before --end {}",
            o.start, o.end
        ));
    }
    if end - start < 365 {
        return Err("the data period (--start to --end) must cover at least a year".into());
    }
    Ok((start, end))
}

enum Msg {
    Open(String),
    Batch(RecordBatch),
}

fn spawn_writer(
    root: PathBuf,
    schema: arrow::datatypes::SchemaRef,
    cluster: Option<&'static str>,
    rx: Receiver<Msg>,
) -> JoinHandle<Result<Vec<WrittenFile>>> {
    std::thread::spawn(move || {
        let mut done = Vec::new();
        let mut current: Option<ParquetFile> = None;
        for msg in rx {
            match msg {
                Msg::Open(relative) => {
                    if let Some(f) = current.take() {
                        done.push(f.finish()?);
                    }
                    current = Some(ParquetFile::create(
                        &root,
                        &relative,
                        schema.clone(),
                        cluster,
                    )?);
                }
                Msg::Batch(b) => match current.as_mut() {
                    Some(f) => f.write(&b)?,
                    None => return Err(Error::new("internal: batch before any file was opened")),
                },
            }
        }
        if let Some(f) = current.take() {
            done.push(f.finish()?);
        }
        Ok(done)
    })
}

/// The files one hospital contributed.
struct HospitalFiles {
    tables: Vec<WrittenFile>,
    truth_part: String,
}

/// Generates and writes one hospital: chunks generated in parallel (rayon), handed in
/// order to one writer thread per table.
fn write_hospital(
    root: &Path,
    o: &Options,
    h: &Hospital,
    period: (i32, i32),
    bar: Option<&indicatif::ProgressBar>,
) -> Result<HospitalFiles> {
    let mut senders: Vec<SyncSender<Msg>> = Vec::new();
    let mut handles = Vec::new();
    let truth_part = format!("truth/part-{}.parquet", h.id);
    let schemas = Table::ALL.iter().map(|t| {
        (
            t.schema(),
            format!("{}/{}.parquet", t.name(), h.id),
            writer::cluster_column(*t),
        )
    });
    for (schema, relative, cluster) in schemas.chain(std::iter::once((
        writer::truth_schema(),
        truth_part.clone(),
        None,
    ))) {
        let (tx, rx) = sync_channel(4);
        let handle = spawn_writer(root.to_path_buf(), schema, cluster, rx);
        let _ = tx.send(Msg::Open(relative));
        senders.push(tx);
        handles.push(handle);
    }
    let group = (rayon::current_num_threads() as u64).max(2);
    let chunks = h.patients.div_ceil(CHUNK);
    let mut c0 = 0;
    let mut sent = true;
    while c0 < chunks && sent {
        let c1 = (c0 + group).min(chunks);
        let batches: Vec<ChunkBatches> = (c0..c1)
            .into_par_iter()
            .map(|c| {
                let mut rows = ChunkRows::default();
                let lo = c * CHUNK;
                let hi = ((c + 1) * CHUNK).min(h.patients);
                for i in lo..hi {
                    patients::generate(o.seed, h, i, period, &mut rows);
                }
                rows.finish(hi - lo)
            })
            .collect();
        for b in batches {
            let n = b.patients;
            let all = b.tables.into_iter().chain(std::iter::once(b.truth));
            for (batch, tx) in all.zip(&senders) {
                sent &= tx.send(Msg::Batch(batch)).is_ok();
            }
            if let Some(bar) = bar {
                bar.inc(n);
            }
        }
        c0 = c1;
    }
    drop(senders);
    let mut files = Vec::new();
    for handle in handles {
        match handle.join() {
            Ok(Ok(mut f)) => files.push(
                f.pop()
                    .ok_or_else(|| Error::new("internal: a writer wrote no file"))?,
            ),
            Ok(Err(e)) => return Err(e),
            Err(_) => return Err(Error::new("a Parquet writer thread panicked")),
        }
    }
    files.pop();
    Ok(HospitalFiles {
        tables: files,
        truth_part,
    })
}

/// Streams the per-hospital truth parts, in hospital order, into `truth/truth.parquet`.
fn merge_truth(root: &Path, parts: &[String]) -> Result<WrittenFile> {
    let mut out = ParquetFile::create(root, "truth/truth.parquet", writer::truth_schema(), None)?;
    for part in parts {
        let path = root.join(part);
        let file = std::fs::File::open(&path)
            .map_err(|e| Error::context(format!("cannot open {}", path.display()), e))?;
        let reader = parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(file)
            .and_then(|b| b.build())
            .map_err(|e| Error::context(format!("cannot read {}", path.display()), e))?;
        for batch in reader {
            let batch =
                batch.map_err(|e| Error::context(format!("cannot read {}", path.display()), e))?;
            out.write(&batch)?;
        }
        std::fs::remove_file(&path)
            .map_err(|e| Error::context(format!("cannot remove {}", path.display()), e))?;
    }
    out.finish()
}

/// Generates a data set into `out` (which must not exist or be empty). Writes into a
/// temporary sibling directory and renames it at the end, so a failure never leaves a
/// partial data set.
pub fn generate(o: &Options, out: &Path) -> Result<Summary> {
    let period = validate(o).map_err(Error::new)?;
    let started = Instant::now();
    if out.exists() {
        let mut entries = std::fs::read_dir(out)
            .map_err(|e| Error::context(format!("cannot read {}", out.display()), e))?;
        if entries.next().is_some() {
            return Err(Error::new(format!(
                "{} exists and is not empty; give a new or empty directory",
                out.display()
            )));
        }
    }
    let tmp = temp_dir_beside(out)?;
    let root = tmp.path().to_path_buf();

    let counts = hospitals::allocate(o.seed, o.patients, o.hospitals);
    let profiles: Vec<Hospital> = counts
        .iter()
        .enumerate()
        .map(|(i, &n)| Hospital::new(o.seed, i as u32 + 1, n))
        .collect();

    let bar = (o.progress && std::io::stderr().is_terminal()).then(|| {
        let b = indicatif::ProgressBar::new(o.patients);
        b.set_style(
            indicatif::ProgressStyle::with_template(
                "{bar:40} {pos}/{len} patients {per_sec} eta {eta}",
            )
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
        );
        b
    });

    // Hospitals are independent (one file each per table), so two are written at a
    // time: Parquet encoding of one table is single-threaded and would otherwise be
    // the bottleneck. Output does not depend on which worker takes which hospital.
    let workers = rayon::current_num_threads().clamp(1, 2).min(profiles.len());
    let next = AtomicUsize::new(0);
    let failed = AtomicBool::new(false);
    let results: Mutex<Vec<Option<Result<HospitalFiles>>>> =
        Mutex::new((0..profiles.len()).map(|_| None).collect());
    std::thread::scope(|s| {
        for _ in 0..workers {
            s.spawn(|| {
                loop {
                    let i = next.fetch_add(1, Ordering::SeqCst);
                    if i >= profiles.len() || failed.load(Ordering::SeqCst) {
                        break;
                    }
                    let site_root = if o.split {
                        root.join(&profiles[i].id)
                    } else {
                        root.clone()
                    };
                    let r = write_hospital(&site_root, o, &profiles[i], period, bar.as_ref());
                    if r.is_err() {
                        failed.store(true, Ordering::SeqCst);
                    }
                    if let Ok(mut v) = results.lock() {
                        v[i] = Some(r);
                    }
                }
            });
        }
    });
    if let Some(bar) = &bar {
        bar.finish_and_clear();
    }
    let results = results
        .into_inner()
        .map_err(|_| Error::new("a generator worker panicked"))?;
    let mut per_hospital = Vec::with_capacity(results.len());
    for r in results {
        match r {
            Some(Ok(files)) => per_hospital.push(files),
            Some(Err(e)) => return Err(e),
            None => return Err(Error::new("a generator worker stopped early")),
        }
    }
    let mut manifests = Vec::new();
    let mut bytes = 0;
    if o.split {
        for (h, files) in profiles.iter().zip(per_hospital) {
            let (m, b) = assemble(
                &root.join(&h.id),
                o,
                period,
                std::slice::from_ref(h),
                vec![files],
            )?;
            manifests.push(m);
            bytes += b;
        }
    } else {
        let (m, b) = assemble(&root, o, period, &profiles, per_hospital)?;
        manifests.push(m);
        bytes += b;
    }
    // Move into place: an empty target directory is replaced, a non-empty one refused.
    let root = tmp.keep();
    if out.exists() {
        let _ = std::fs::remove_dir(out);
    }
    if let Err(e) = std::fs::rename(&root, out) {
        let _ = std::fs::remove_dir_all(&root);
        return Err(Error::context(
            format!("cannot move the data set into {}", out.display()),
            e,
        ));
    }
    Ok(Summary {
        manifests,
        seconds: started.elapsed().as_secs_f64(),
        bytes,
    })
}

/// Writes the truth table and `manifest.json` of one data set at `root` from its hospitals'
/// files; returns the manifest and the bytes of its tables.
fn assemble(
    root: &Path,
    o: &Options,
    period: (i32, i32),
    profiles: &[Hospital],
    per_hospital: Vec<HospitalFiles>,
) -> Result<(Manifest, u64)> {
    // written[t] = the files of table t in hospital (= file-name) order.
    let mut written: Vec<Vec<WrittenFile>> = (0..Table::ALL.len()).map(|_| Vec::new()).collect();
    let mut truth_parts = Vec::new();
    for h in per_hospital {
        for (t, f) in h.tables.into_iter().enumerate() {
            written[t].push(f);
        }
        truth_parts.push(h.truth_part);
    }
    let truth_file = merge_truth(root, &truth_parts)?;

    let mut tables = BTreeMap::new();
    let mut fingerprints = Vec::new();
    let mut bytes = 0;
    for (t, files) in Table::ALL.iter().zip(&written) {
        let digests: Vec<(String, Vec<u8>)> = files
            .iter()
            .map(|f| (f.relative.clone(), f.digest.clone()))
            .collect();
        let fp = table_fingerprint(&digests);
        bytes += files.iter().map(|f| f.bytes).sum::<u64>();
        tables.insert(
            t.name().to_string(),
            TableEntry {
                rows: files.iter().map(|f| f.rows).sum(),
                files: files.iter().map(|f| f.relative.clone()).collect(),
                bytes: files.iter().map(|f| f.bytes).collect(),
                fingerprint: fp.clone(),
            },
        );
        fingerprints.push((t.name(), fp));
    }
    let truth = Some(TruthEntry {
        rows: truth_file.rows,
        file: truth_file.relative.clone(),
        fingerprint: table_fingerprint(&[(truth_file.relative.clone(), truth_file.digest.clone())]),
    });
    let fp_refs: Vec<(&str, &str)> = fingerprints.iter().map(|(n, f)| (*n, f.as_str())).collect();
    let manifest = Manifest {
        cdm_version: CDM_VERSION.to_string(),
        generator: Generator {
            name: "mid synth".into(),
            version: env!("CARGO_PKG_VERSION").into(),
        },
        seed: Some(o.seed),
        arguments: Some(Arguments {
            patients: o.patients,
            hospitals: o.hospitals,
            seed: o.seed,
            start: o.start.clone(),
            end: o.end.clone(),
        }),
        data_period: Period {
            start: calendar::format(period.0),
            end: calendar::format(period.1),
        },
        sites: profiles.iter().map(|h| h.id.clone()).collect(),
        tables,
        truth,
        fingerprint: dataset_fingerprint(&fp_refs),
        synthetic: Some(Synthetic {
            hospitals: profiles.iter().map(Hospital::summary).collect(),
            episode_rates: outcomes::EPISODES
                .iter()
                .map(|(e, r)| (format!("{e:?}"), *r))
                .collect(),
            incomplete_evidence_share: outcomes::INCOMPLETE_SHARE,
            unit_spellings: catalogue::unit_spellings()
                .into_iter()
                .map(String::from)
                .collect(),
        }),
    };
    let manifest_path = root.join("manifest.json");
    std::fs::write(&manifest_path, manifest.to_json())
        .map_err(|e| Error::context(format!("cannot write {}", manifest_path.display()), e))?;
    Ok((manifest, bytes))
}
