//! Generated scripts (the class test of "no internal error on a valid script" and "a definition
//! means what its expression means"): thousands of valid scripts are generated from the
//! grammar's constructs and the stdlib's names, seeded; each that checks clean must compile
//! and run on a small network without an internal error, and its twin, with one part moved
//! into a `define`, must give the same results. The generator is the fuzzer's
//! (`mid_fuzz::grammar`).

use std::collections::BTreeMap;

use arrow::array::RecordBatch;
use arrow::compute::concat_batches;
use mid_fuzz::grammar::generate;
use mid_runtime::engine::{self, Engine};

use crate::common::small_network;

/// Runs a compiled script's plans; `Err` with the engine's message on any failure.
fn run(
    rt: &tokio::runtime::Runtime,
    compiled: &mid_compiler::Compiled,
) -> Result<BTreeMap<String, RecordBatch>, String> {
    let data = small_network();
    let problems = mid_runtime::dataset::contract::check_requirements(
        data,
        &mid_compiler::requirements::requirements(&compiled.cir),
    );
    if !problems.is_empty() {
        return Err(format!("{problems:?}"));
    }
    let results = rt
        .block_on(async {
            let e = Engine::open(data).await?;
            engine::run_all(&e, &compiled.plans, false, |_, _| {}).await
        })
        .map_err(|e| e.to_string())?;
    let mut out = BTreeMap::new();
    for o in &compiled.outputs {
        let (schema, batches) = &results[&o.plan];
        out.insert(
            o.plan.clone(),
            concat_batches(schema, batches).map_err(|e| e.to_string())?,
        );
        // A Table 1 is summarised by the runtime: that must not fail either.
        if let mid_compiler::OutputKind::Table1 {
            cohorts,
            plans,
            rows,
            threshold,
            ..
        } = &o.kind
        {
            let t = mid_runtime::output::table1::from_results(
                &results, cohorts, plans, rows, *threshold,
            )
            .map_err(|e| format!("Table 1: {e}"))?;
            mid_runtime::output::table1::wide(&t).map_err(|e| format!("Table 1: {e}"))?;
            out.insert(format!("{}_summary", o.plan), t);
        }
    }
    Ok(out)
}

fn compile(src: &str) -> Result<Option<mid_compiler::Compiled>, String> {
    match mid_compiler::compile_file("generated.mid", src.as_bytes(), &Default::default()) {
        Ok(c) => Ok(Some(c)),
        Err(mid_compiler::CompileError::Diagnostics(_)) => Ok(None),
        Err(mid_compiler::CompileError::Internal(_, e)) => Err(e.to_string()),
    }
}

/// The number of scripts a test run generates (`MID_GENERATED` for a longer run).
fn count() -> u64 {
    std::env::var("MID_GENERATED")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(2_000)
}

#[test]
fn generated_scripts_compile_and_run_and_definitions_mean_their_expression() {
    let n = count();
    let rt = mid_runtime::runtime().expect("a runtime");
    let mut clean = 0u64;
    let mut twins = 0u64;
    let mut failures = Vec::new();
    for seed in 0..n {
        let (script, twin) = generate(seed);
        let compiled = match compile(&script) {
            Ok(Some(c)) => c,
            Ok(None) => continue,
            Err(e) => {
                failures.push(format!("seed {seed}: internal error: {e}\n{script}"));
                continue;
            }
        };
        clean += 1;
        let results = match run(&rt, &compiled) {
            Ok(r) => r,
            Err(e) => {
                failures.push(format!("seed {seed}: the run failed: {e}\n{script}"));
                continue;
            }
        };
        let Some(twin) = twin else { continue };
        match compile(&twin) {
            Ok(Some(t)) => match run(&rt, &t) {
                Ok(r) => {
                    twins += 1;
                    if r != results {
                        failures.push(format!(
                            "seed {seed}: the `define` twin gives other results\n{script}\n--- twin\n{twin}"
                        ));
                    }
                }
                Err(e) => failures.push(format!("seed {seed}: the twin's run failed: {e}\n{twin}")),
            },
            Ok(None) => failures.push(format!("seed {seed}: the twin does not check\n{twin}")),
            Err(e) => failures.push(format!(
                "seed {seed}: the twin: internal error: {e}\n{twin}"
            )),
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {n} generated scripts failed:\n\n{}",
        failures.len(),
        failures
            .iter()
            .take(5)
            .cloned()
            .collect::<Vec<_>>()
            .join("\n\n")
    );
    // The generator must mostly write valid scripts, or it tests nothing.
    assert!(
        clean * 10 >= n * 9,
        "only {clean} of {n} generated scripts check clean"
    );
    assert!(twins * 2 >= clean, "only {twins} twins of {clean} scripts");
}

/// Every generated script is deterministic text: the same seed, the same script.
#[test]
fn the_generator_is_seeded() {
    assert_eq!(generate(42).0, generate(42).0);
    assert_ne!(generate(42).0, generate(43).0);
}
