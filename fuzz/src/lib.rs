//! The fuzzer (stable Rust, no instrumentation): inputs made by mutating a corpus of real
//! scripts (the examples, the stdlib, every case file) and by the grammar-based generator,
//! driven through `fmt`, `check`, `compile` and `run` on a tiny network. A failure is a panic,
//! an internal compiler error, a layout that changes tokens or is not stable, or a run that
//! fails on a script that checked clean; failures are
//! grouped by their first line, and every input is reproducible from (seed, index).

pub mod grammar;
pub mod mutate;

use std::collections::BTreeMap;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use mid_compiler::{CompileError, CompileOptions, Compiled};

/// What an input is driven through.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Target {
    /// Parse and check (`mid check`).
    Check,
    /// Check, lower and build the plans (`mid compile`).
    Compile,
    /// Compile and execute on a tiny network (`mid run`).
    Run,
}

impl Target {
    pub fn parse(s: &str) -> Option<Target> {
        match s {
            "check" => Some(Target::Check),
            "compile" => Some(Target::Compile),
            "run" => Some(Target::Run),
            _ => None,
        }
    }
}

/// One failure: what kind, its message, and the input that caused it.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Failure {
    pub kind: &'static str,
    pub message: String,
    pub index: u64,
    #[serde(skip)]
    pub input: Vec<u8>,
}

impl Failure {
    /// What groups failures: the kind and the message's first line, numbers blanked.
    pub fn signature(&self) -> String {
        let first = self.message.lines().next().unwrap_or("");
        let blank: String = first
            .chars()
            .map(|c| if c.is_ascii_digit() { '#' } else { c })
            .collect();
        format!("{}: {blank}", self.kind)
    }
}

/// The panic message of a caught panic.
fn panic_text(p: Box<dyn std::any::Any + Send>) -> String {
    p.downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| p.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "a panic".into())
}

/// What became of an input that did not fail.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Passed {
    /// It had errors, reported as diagnostics.
    Refused,
    /// It checked clean (and compiled, and ran, as far as the target goes).
    Clean,
}

/// Drives one input through `target`. `data` is the tiny network (for `Run`).
pub fn drive(target: Target, input: &[u8], data: &Path, index: u64) -> Result<Passed, Failure> {
    let fail = |kind: &'static str, message: String| {
        Err(Failure {
            kind,
            message,
            index,
            input: input.to_vec(),
        })
    };
    // `mid fmt` on every input that parses: it keeps the tokens, and a second pass changes
    // nothing.
    if let Ok(text) = std::str::from_utf8(input) {
        let formatted = catch_unwind(AssertUnwindSafe(|| {
            mid_grammar::format::format(text).map(|once| {
                let twice = mid_grammar::format::format(&once);
                (once, twice)
            })
        }));
        match formatted {
            Err(p) => return fail("panic", format!("fmt: {}", panic_text(p))),
            Ok(Err(mid_grammar::format::FormatError::Changed)) => {
                return fail("fmt", "formatting would change the tokens".into());
            }
            Ok(Ok((once, twice))) if twice.as_ref() != Ok(&once) => {
                return fail("fmt", "formatting twice changes the text".into());
            }
            Ok(_) => {}
        }
    }
    let options = CompileOptions {
        plans: target != Target::Check,
    };
    let compiled = match catch_unwind(AssertUnwindSafe(|| {
        mid_compiler::compile_file("fuzz.mid", input, &options)
    })) {
        Err(p) => return fail("panic", panic_text(p)),
        Ok(Err(CompileError::Internal(_, e))) => return fail("internal", e.to_string()),
        Ok(Err(CompileError::Diagnostics(c))) => {
            // Rendering the diagnostics is part of checking.
            let rendered = catch_unwind(AssertUnwindSafe(|| {
                mid_compiler::diag::render_human(&c.diagnostics, &c.sources, Default::default())
            }));
            return match rendered {
                Err(p) => fail("panic", panic_text(p)),
                Ok(_) if c.has_errors() => Ok(Passed::Refused),
                Ok(_) => fail("refused", "compilation stopped without an error".into()),
            };
        }
        Ok(Ok(c)) => c,
    };
    if target != Target::Run {
        return Ok(Passed::Clean);
    }
    match catch_unwind(AssertUnwindSafe(|| execute(&compiled, data))) {
        Err(p) => fail("panic", panic_text(p)),
        Ok(Err(e)) => fail("run", e),
        Ok(Ok(())) => Ok(Passed::Clean),
    }
}

/// Runs a compiled script on `data` as `mid run` does (the data checks, every plan, the
/// outputs written to a temporary directory). A script that checked clean must run.
fn execute(c: &Compiled, data: &Path) -> Result<(), String> {
    let needs = mid_compiler::requirements::requirements(&c.cir);
    let problems = mid_runtime::dataset::contract::check_requirements(data, &needs);
    if !problems.is_empty() {
        return Err(format!("data check: {problems:?}"));
    }
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    rt.block_on(async {
        let engine = mid_runtime::engine::Engine::open(data).await?;
        let content = mid_runtime::dataset::content::check(
            &engine.ctx,
            &engine.sources,
            mid_runtime::dataset::content::columns_of(&needs),
        )
        .await?;
        engine.apply(&content).await?;
        let results = mid_runtime::engine::run_all(&engine, &c.plans, false, |_, _| {}).await?;
        // The outputs as `mid run` writes them: disclosure control, reports, coverage.
        let dir = tempfile::tempdir()
            .map_err(|e| mid_runtime::error::Error::context("cannot make a directory", e))?;
        mid_runtime::output::write_outputs(dir.path(), &c.outputs, &results, false)?;
        mid_runtime::output::coverage(&c.outputs, &results)?;
        Ok::<_, mid_runtime::error::Error>(())
    })
    .map_err(|e| e.to_string())
}

/// The input of index `i` of a campaign with `seed`: a mutated corpus file, a generated
/// script, or a mutated generated script. `Run` campaigns mostly use generated scripts (a
/// mutated file rarely checks clean, and only clean scripts run).
pub fn input(target: Target, seed: u64, i: u64, corpus: &[Vec<u8>]) -> Vec<u8> {
    let mut r = grammar::Rng(
        (seed ^ i.wrapping_mul(0x9e37_79b9_7f4a_7c15)).wrapping_mul(0xbf58_476d_1ce4_e5b9) | 1,
    );
    let generated = |r: &mut grammar::Rng| grammar::generate(r.next_u64()).0.into_bytes();
    let kind = r.below(100);
    match target {
        Target::Run if kind < 70 => generated(&mut r),
        Target::Run => {
            let g = generated(&mut r);
            mutate::light(&mut r, &g)
        }
        _ if kind < 50 => {
            let base = &corpus[r.below(corpus.len())];
            mutate::mutate(&mut r, base)
        }
        _ if kind < 75 => generated(&mut r),
        _ => {
            let g = generated(&mut r);
            mutate::mutate(&mut r, &g)
        }
    }
}

/// The corpus: every `.mid` file of the examples, the stdlib and the test cases.
pub fn corpus(repo: &Path) -> Vec<Vec<u8>> {
    let mut files = Vec::new();
    for dir in ["examples", "stdlib", "tests/cases", "tests/parser"] {
        collect(&repo.join(dir), &mut files);
    }
    files.sort();
    files.iter().filter_map(|p| std::fs::read(p).ok()).collect()
}

fn collect(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let p = e.path();
        if p.is_dir() {
            collect(&p, out);
        } else if p.extension().is_some_and(|x| x == "mid") {
            out.push(p);
        }
    }
}

/// The repository this crate belongs to (for the corpus).
pub fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// A campaign's outcome.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Summary {
    pub target: Target,
    pub seed: u64,
    pub inputs: u64,
    pub seconds: f64,
    /// Inputs that checked clean (and, for `Run`, ran).
    pub clean: u64,
    /// Failures by signature: how many, and the first.
    pub failures: BTreeMap<String, (u64, Failure)>,
}

/// Runs `inputs` inputs through `target` on `jobs` threads; `progress` sees the count done.
pub fn campaign(
    target: Target,
    seed: u64,
    inputs: u64,
    jobs: usize,
    data: &Path,
    progress: &(dyn Fn(u64, usize) + Sync),
) -> Summary {
    let corpus = corpus(&repo());
    let started = std::time::Instant::now();
    let next = AtomicU64::new(0);
    let clean = AtomicU64::new(0);
    let failures: Mutex<BTreeMap<String, (u64, Failure)>> = Mutex::new(BTreeMap::new());
    std::thread::scope(|s| {
        for _ in 0..jobs.max(1) {
            s.spawn(|| {
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    if i >= inputs {
                        break;
                    }
                    let bytes = input(target, seed, i, &corpus);
                    match drive(target, &bytes, data, i) {
                        Err(f) => {
                            let mut m = failures.lock().unwrap_or_else(|e| e.into_inner());
                            let n = m.len();
                            m.entry(f.signature()).or_insert((0, f)).0 += 1;
                            if m.len() != n {
                                progress(i, m.len());
                            }
                        }
                        Ok(Passed::Clean) => {
                            clean.fetch_add(1, Ordering::Relaxed);
                        }
                        Ok(Passed::Refused) => {}
                    }
                    if i.is_multiple_of(10_000) {
                        let n = failures.lock().map(|m| m.len()).unwrap_or(0);
                        progress(i, n);
                    }
                }
            });
        }
    });
    Summary {
        target,
        seed,
        inputs,
        seconds: started.elapsed().as_secs_f64(),
        clean: clean.into_inner(),
        failures: failures.into_inner().unwrap_or_else(|e| e.into_inner()),
    }
}
