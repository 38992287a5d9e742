//! Shared fixtures: one small generated network per test process, Parquet loading and
//! running the `mid` binary.

use std::collections::HashMap;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;

use arrow::array::{
    Array, BooleanArray, Date32Array, Float64Array, Int32Array, Int64Array, RecordBatch,
    StringArray,
};
use mid_runtime::dataset::Manifest;
use mid_runtime::synth::{self, Options};
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;

/// A text column as `Utf8`, whichever string encoding it has: plans read text as
/// `Utf8View`, files keep `Utf8`.
pub fn text(col: &arrow::array::ArrayRef) -> StringArray {
    arrow::compute::cast(col, &arrow::datatypes::DataType::Utf8)
        .expect("a text column")
        .as_any()
        .downcast_ref::<StringArray>()
        .expect("cast to Utf8")
        .clone()
}

pub const PATIENTS: u64 = 20_000;
pub const HOSPITALS: u32 = 4;
pub const SEED: u64 = 7;

fn options(patients: u64, hospitals: u32, seed: u64) -> Options {
    Options {
        patients,
        hospitals,
        seed,
        start: synth::DEFAULT_START.into(),
        end: synth::DEFAULT_END.into(),
        progress: false,
        split: false,
    }
}

/// Generates a network into a fresh temporary directory that lives as long as the process.
pub fn generate(patients: u64, hospitals: u32, seed: u64) -> PathBuf {
    let tmp = tempfile::tempdir().expect("a temporary directory").keep();
    let out = tmp.join("net");
    synth::generate(&options(patients, hospitals, seed), &out).expect("generation succeeds");
    out
}

/// The shared network of the realism and truth tests.
pub fn network() -> &'static Path {
    static NET: OnceLock<PathBuf> = OnceLock::new();
    NET.get_or_init(|| generate(PATIENTS, HOSPITALS, SEED))
}

/// A small network the inspect tests copy and break.
pub fn small_network() -> &'static Path {
    static NET: OnceLock<PathBuf> = OnceLock::new();
    NET.get_or_init(|| generate(1_500, 2, 3))
}

pub fn manifest(dir: &Path) -> Manifest {
    Manifest::read(dir).expect("a readable manifest")
}

pub fn mid(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_mid"))
        .args(args)
        .output()
        .expect("the mid binary runs")
}

/// Every file under `dir`, relative to it, sorted.
pub fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut todo = vec![dir.to_path_buf()];
    while let Some(d) = todo.pop() {
        for e in std::fs::read_dir(&d).expect("readable").flatten() {
            let p = e.path();
            if p.is_dir() {
                todo.push(p);
            } else {
                out.push(p.strip_prefix(dir).expect("under dir").to_path_buf());
            }
        }
    }
    out.sort();
    out
}

/// `mid run SCRIPT --data DATA --out OUT` with more arguments.
pub fn mid_run(script: &Path, data: &Path, out: &Path, extra: &[&str]) -> Output {
    let (script, data, out) = (
        script.display().to_string(),
        data.display().to_string(),
        out.display().to_string(),
    );
    let mut args = vec!["run", &script, "--data", &data, "--out", &out];
    args.extend_from_slice(extra);
    mid(&args)
}

/// A copy of a directory tree (a data set to damage, results to compare).
pub fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("mkdir");
    for entry in std::fs::read_dir(from).expect("read dir") {
        let entry = entry.expect("entry");
        let target = to.join(entry.file_name());
        if entry.path().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).expect("copy");
        }
    }
}

pub fn read_batches(path: &Path) -> Vec<RecordBatch> {
    let f = File::open(path).expect("file opens");
    let builder = ParquetRecordBatchReaderBuilder::try_new(f).expect("parquet");
    // The file's schema, with its metadata (the reader's batches leave it out).
    let schema = builder.schema().clone();
    builder
        .build()
        .expect("reader")
        .map(|b| {
            b.expect("batch")
                .with_schema(schema.clone())
                .expect("the file's schema")
        })
        .collect()
}

/// A whole table in memory, column by column (the test networks are small).
pub struct Tab {
    pub batches: Vec<RecordBatch>,
}

impl Tab {
    pub fn load(dir: &Path, table: &str) -> Tab {
        let m = manifest(dir);
        let files = if table == "truth" {
            vec![m.truth.expect("truth entry").file]
        } else {
            m.tables[table].files.clone()
        };
        Tab {
            batches: files
                .iter()
                .flat_map(|f| read_batches(&dir.join(f)))
                .collect(),
        }
    }

    pub fn rows(&self) -> usize {
        self.batches.iter().map(|b| b.num_rows()).sum()
    }

    fn col<T: Array + Clone + 'static>(&self, name: &str) -> Vec<T> {
        self.batches
            .iter()
            .map(|b| {
                b.column_by_name(name)
                    .expect(name)
                    .as_any()
                    .downcast_ref::<T>()
                    .expect(name)
                    .clone()
            })
            .collect()
    }

    pub fn str(&self, name: &str) -> Vec<Option<String>> {
        self.col::<StringArray>(name)
            .iter()
            .flat_map(|a| a.iter().map(|v| v.map(str::to_string)).collect::<Vec<_>>())
            .collect()
    }
    pub fn i64(&self, name: &str) -> Vec<Option<i64>> {
        self.col::<Int64Array>(name)
            .iter()
            .flat_map(|a| a.iter().collect::<Vec<_>>())
            .collect()
    }
    pub fn i32(&self, name: &str) -> Vec<Option<i32>> {
        self.col::<Int32Array>(name)
            .iter()
            .flat_map(|a| a.iter().collect::<Vec<_>>())
            .collect()
    }
    pub fn date(&self, name: &str) -> Vec<Option<i32>> {
        self.col::<Date32Array>(name)
            .iter()
            .flat_map(|a| a.iter().collect::<Vec<_>>())
            .collect()
    }
    pub fn f64(&self, name: &str) -> Vec<Option<f64>> {
        self.col::<Float64Array>(name)
            .iter()
            .flat_map(|a| a.iter().collect::<Vec<_>>())
            .collect()
    }
    pub fn bool(&self, name: &str) -> Vec<Option<bool>> {
        self.col::<BooleanArray>(name)
            .iter()
            .flat_map(|a| a.iter().collect::<Vec<_>>())
            .collect()
    }
    /// (hospital_id, patient_id) of every row.
    pub fn keys(&self) -> Vec<(String, i64)> {
        self.str("hospital_id")
            .into_iter()
            .zip(self.i64("patient_id"))
            .map(|(h, p)| (h.expect("hospital"), p.expect("patient")))
            .collect()
    }
}

/// The whole shared network, loaded once.
pub struct Net {
    pub patient: Tab,
    pub visit: Tab,
    pub diagnosis: Tab,
    pub drug: Tab,
    pub lab: Tab,
    pub procedure: Tab,
    pub truth: Tab,
}

pub fn loaded() -> &'static Net {
    static NET: OnceLock<Net> = OnceLock::new();
    NET.get_or_init(|| {
        let d = network();
        Net {
            patient: Tab::load(d, "patient"),
            visit: Tab::load(d, "visit"),
            diagnosis: Tab::load(d, "diagnosis"),
            drug: Tab::load(d, "drug"),
            lab: Tab::load(d, "lab"),
            procedure: Tab::load(d, "procedure"),
            truth: Tab::load(d, "truth"),
        }
    })
}

pub type Key = (String, i64);

/// Groups row indices by patient.
pub fn by_patient(t: &Tab) -> HashMap<Key, Vec<usize>> {
    let mut m: HashMap<Key, Vec<usize>> = HashMap::new();
    for (i, k) in t.keys().into_iter().enumerate() {
        m.entry(k).or_default().push(i);
    }
    m
}

/// Headless Chromium (Debian's, which CI installs) on an HTML file, with `extra` arguments.
pub fn chromium(extra: &[&str], file: &Path) -> Output {
    Command::new("chromium")
        .args(["--headless", "--no-sandbox", "--disable-gpu"])
        .args(extra)
        .arg(format!("file://{}", file.display()))
        .output()
        .expect("chromium runs (CI installs Debian's chromium)")
}

/// The DOM a real browser (Debian's headless Chromium, which CI installs) builds from an
/// HTML file.
pub fn browser_dom(file: &Path) -> String {
    let o = chromium(&["--dump-dom"], file);
    assert!(
        o.status.success(),
        "chromium: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// A command's stdout, after asserting it exited 0.
pub fn ok(o: &Output) -> String {
    assert_eq!(
        o.status.code(),
        Some(0),
        "stdout: {}\nstderr: {}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// A command's stderr, after asserting it exited 1.
pub fn fails(o: &Output) -> String {
    assert_eq!(
        o.status.code(),
        Some(1),
        "stdout: {}\nstderr: {}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// What a real browser's console says while it loads an HTML file: the lines Chromium logs
/// for console messages and page errors.
pub fn browser_console(file: &Path) -> Vec<String> {
    let o = chromium(&["--enable-logging=stderr", "--v=0", "--dump-dom"], file);
    String::from_utf8_lossy(&o.stderr)
        .lines()
        .filter(|l| l.contains("CONSOLE"))
        .map(String::from)
        .collect()
}
