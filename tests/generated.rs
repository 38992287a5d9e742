//! Generated scripts (the class test of "no internal error on a valid script" and "a definition
//! means what its expression means"): thousands of valid scripts are generated from the
//! grammar's constructs and the stdlib's names, seeded; each that checks clean must compile
//! and run on a small network without an internal error, and its twin, with one part moved
//! into a `define`, must give the same results.

use std::collections::BTreeMap;
use std::fmt::Write;

use arrow::array::RecordBatch;
use arrow::compute::concat_batches;
use mid_runtime::engine::{self, Engine};

use crate::common::small_network;

/// A small deterministic generator (xorshift64*), so a failure names a seed that reproduces.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
    fn pick<'a>(&mut self, xs: &[&'a str]) -> &'a str {
        xs[self.below(xs.len())]
    }
    fn chance(&mut self, percent: usize) -> bool {
        self.below(100) < percent
    }
    fn days(&mut self) -> u32 {
        [1, 7, 14, 30, 90, 180, 365][self.below(7)]
    }
}

const DRUGS: &[&str] = &[
    "thiamazole",
    "propylthiouracil",
    "atorvastatin",
    "rosuvastatin",
    "paroxetine",
    "sertraline",
    "warfarin",
    "apixaban",
    "furosemide_injection",
    "prednisolone_oral",
    "ceftriaxone",
];
const CONDITIONS: &[&str] = &[
    "heart_failure_codes",
    "hyperthyroidism",
    "depression",
    "dyslipidaemia",
    "diabetes",
    "hypertension",
    "ckd",
    "liver_disease",
    "malignancy_codes",
    "cerebral_infarction_codes",
];
const PROCEDURES: &[&str] = &["ct_any", "echocardiography", "pci_stent"];
/// Lab items with a threshold in their own terms.
const LABS: &[(&str, &[&str])] = &[
    ("alt", &["> 3 x ULN", ">= 100 U/L", "> 1 x site_ULN"]),
    ("ast", &["> 2 x ULN", ">= 80 U/L"]),
    (
        "platelets",
        &["< 10 x10^4/uL", "< 100 x10^3/uL", "< 0.5 x baseline"],
    ),
    ("neutrophil_count", &["<= 1500 /uL", "< 1 x LLN"]),
    ("creatinine", &[">= 1.5 mg/dL", ">= 1.5 x baseline"]),
    ("hba1c", &[">= 6.5 %"]),
    ("glucose", &[">= 11.1 mmol/L", ">= 200 mg/dL"]),
];

struct Script {
    /// The script's parts after the imports.
    body: String,
    /// A condition a step used, and the step's text, for the `define` twin.
    step: Option<String>,
}

struct ScriptGen {
    r: Rng,
    drugs: Vec<&'static str>,
    conditions: Vec<&'static str>,
    procedures: Vec<&'static str>,
    labs: Vec<&'static str>,
    grades: bool,
}

impl ScriptGen {
    fn drug(&mut self) -> &'static str {
        let d = self.r.pick(DRUGS);
        self.drugs.push(d);
        d
    }
    fn condition(&mut self) -> &'static str {
        let c = self.r.pick(CONDITIONS);
        self.conditions.push(c);
        c
    }
    fn procedure(&mut self) -> &'static str {
        let p = self.r.pick(PROCEDURES);
        self.procedures.push(p);
        p
    }
    fn lab(&mut self, baseline: bool) -> String {
        let (item, thresholds) = LABS[self.r.below(LABS.len())];
        self.labs.push(item);
        if self.r.chance(20) {
            return format!("lab {item}");
        }
        let mut t = self.r.pick(thresholds);
        if !baseline && t.contains("baseline") {
            t = thresholds[0];
        }
        format!("lab {item} {t}")
    }

    /// Events of one kind, plain (no window).
    fn events(&mut self, baseline: bool) -> String {
        match self.r.below(9) {
            0 | 1 => format!("drug {}", self.drug()),
            2 => format!(
                "drug {} where {}",
                self.drug(),
                self.r.pick(&[
                    "setting = outpatient",
                    "kind = injection",
                    "days_supply >= 14"
                ])
            ),
            3 => format!("diagnosis {}", self.condition()),
            4 => format!(
                "diagnosis {} where {}",
                self.condition(),
                self.r
                    .pick(&["not suspected", "main", "source in (claim, dpc)"])
            ),
            5 => format!("procedure {}", self.procedure()),
            6 => self.lab(baseline),
            7 => {
                if self.r.chance(50) {
                    format!("visit {}", self.r.pick(&["inpatient", "outpatient", "any"]))
                } else {
                    let inner = match self.r.below(3) {
                        0 => format!("diagnosis {} during it", self.condition()),
                        1 => format!("drug {} during it", self.drug()),
                        _ => format!("{} during it", self.lab(false)),
                    };
                    format!("(visit inpatient having {inner})")
                }
            }
            _ => {
                if self.grades {
                    self.labs.push("alt");
                    format!("ctcae_grade(lab alt) >= {}", 1 + self.r.below(3))
                } else {
                    format!("drug {}", self.drug())
                }
            }
        }
    }

    fn window(&mut self) -> String {
        let n = self.r.days();
        match self.r.below(10) {
            0 => format!("within {n} days before index"),
            1 => format!("within {n} days after index"),
            2 => format!("within {n} days around index"),
            3 => format!("within {n} days on or before index"),
            4 => format!("within {n} days on or after index"),
            5 => format!(
                "between index - {n} days and index + {} days",
                self.r.days()
            ),
            6 => "before index".to_string(),
            7 => "on or after index".to_string(),
            8 => "same month as index".to_string(),
            _ => format!("within {n} days before index + {} days", self.r.days()),
        }
    }

    /// A condition of a cohort step.
    fn cond(&mut self, depth: usize) -> String {
        let k = if depth > 1 {
            self.r.below(6)
        } else {
            self.r.below(10)
        };
        match k {
            0 | 1 => {
                let e = self.events(true);
                let w = self.window();
                format!("{e} {w}")
            }
            2 => {
                let e = self.events(true);
                let w = self.window();
                format!("no {e} {w}")
            }
            3 => {
                let e = self.events(true);
                let w = self.window();
                let unit = if e.starts_with("lab") || e.starts_with("ctcae") {
                    self.r.pick(&["", "days of ", "records of "])
                } else {
                    self.r.pick(&["", "days of ", "records of ", "visits of "])
                };
                format!(
                    "{} {} {unit}{e} {w}",
                    self.r.pick(&["at least", "at most", "exactly"]),
                    1 + self.r.below(3)
                )
            }
            4 => self
                .r
                .pick(&[
                    "age at index >= 15",
                    "age at index < 65",
                    "sex = F",
                    "sex = M",
                    "hospital = \"H01\"",
                    "index between 2012-01-01 and 2022-12-31",
                ])
                .to_string(),
            5 => format!(
                "observed {} days {} index",
                self.r.days(),
                self.r.pick(&["before", "after"])
            ),
            6 => format!("({} and {})", self.cond(depth + 1), self.cond(depth + 1)),
            7 => format!("({} or {})", self.cond(depth + 1), self.cond(depth + 1)),
            8 => format!("not ({})", self.cond(depth + 1)),
            _ => {
                let e = self.events(true);
                format!(
                    "(first {e} after index) within {} days after index",
                    self.r.days()
                )
            }
        }
    }

    fn script(&mut self) -> Script {
        let mut out = String::new();
        let entry = match self.r.below(4) {
            0 => "first",
            1 => "last",
            2 => "nth(2)",
            _ => "every",
        };
        let entry_events = self.events(false);
        let era = self.r.chance(30);
        let era_drug = self.drug();
        let periods = self.r.chance(35);
        let _ = writeln!(out, "cohort c {{");
        let _ = writeln!(out, "  index = {entry} {entry_events}");
        let mut step = None;
        for i in 0..self.r.below(5) {
            let c = self.cond(0);
            if i == 0 {
                step = Some(c.clone());
            }
            let kw = if self.r.chance(50) {
                "require"
            } else {
                "exclude"
            };
            let _ = writeln!(out, "  {kw} {c}");
        }
        if era {
            let _ = writeln!(
                out,
                "  era exposure = drug {era_drug} gap {} days grace {} days",
                self.r.days(),
                self.r.days()
            );
        }
        match self.r.below(4) {
            0 => {}
            1 => {
                let _ = writeln!(out, "  end = index + {} days", self.r.days());
            }
            2 if era => {
                let _ = writeln!(out, "  end = earliest(end of exposure, index + 365 days)");
            }
            _ => {
                let d = self.drug();
                let _ = writeln!(
                    out,
                    "  end = earliest(first drug {d} after index, index + {} days)",
                    self.r.days()
                );
            }
        }
        if periods {
            let then = if self.r.chance(50) {
                " then until end"
            } else {
                ""
            };
            let _ = writeln!(
                out,
                "  periods of {} days from index + 1 day until index + {} days{then}",
                [7, 14, 30][self.r.below(3)],
                [56, 90, 140][self.r.below(3)]
            );
        }
        let _ = writeln!(out, "}}");
        let outcome = self.r.chance(70);
        if outcome {
            let e = self.events(false);
            let w = if self.r.chance(50) {
                " between index + 1 day and end".to_string()
            } else {
                String::new()
            };
            let _ = writeln!(out, "outcome o in c = first {e}{w}");
        }
        if self.r.chance(60) {
            let mut cols = vec!["age at index".to_string(), "sex".to_string()];
            if outcome {
                cols.push("o".into());
            }
            if self.r.chance(50) {
                let d = self.drug();
                cols.push(format!("first drug {d} after index"));
            }
            if self.r.chance(50) {
                cols.push(self.cond(2));
            }
            let _ = writeln!(out, "export c with {}", cols.join(", "));
        }
        let mut strata: Vec<String> = Vec::new();
        for s in ["sex", "hospital", "age band 10 years", "year", "month"] {
            if self.r.chance(25) {
                strata.push(s.to_string());
            }
        }
        if periods && self.r.chance(60) {
            strata.push("period".into());
            if self.r.chance(50) {
                let l = self.lab(false);
                let item = l.split_whitespace().nth(1).unwrap_or("alt").to_string();
                strata.push(format!("tested(lab {item})"));
            }
        }
        if self.r.chance(30) {
            strata.push(self.cond(2));
        }
        let with = if outcome { " with o" } else { "" };
        let by = if strata.is_empty() {
            String::new()
        } else {
            format!(" by {}", strata.join(", "))
        };
        let _ = writeln!(out, "report c{with}{by}");
        Script { body: out, step }
    }

    fn imports(&self) -> String {
        let list = |xs: &[&str]| {
            let mut v: Vec<&str> = xs.to_vec();
            v.sort();
            v.dedup();
            v.join(", ")
        };
        let mut out = String::new();
        for (module, names) in [
            ("drugs", &self.drugs),
            ("conditions", &self.conditions),
            ("procedures", &self.procedures),
            ("labs", &self.labs),
        ] {
            if !names.is_empty() {
                let _ = writeln!(out, "import {module}.{{{}}}", list(names));
            }
        }
        if self.grades {
            let _ = writeln!(out, "import grades.{{ctcae_grade}}");
        }
        out
    }
}

/// The script of seed `seed` and its twin with the first step's condition in a definition.
fn generate(seed: u64) -> (String, Option<String>) {
    let mut g = ScriptGen {
        r: Rng(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1),
        drugs: vec![],
        conditions: vec![],
        procedures: vec![],
        labs: vec![],
        grades: seed.is_multiple_of(3),
    };
    let s = g.script();
    let imports = g.imports();
    let script = format!("{imports}{}", s.body);
    let twin = s.step.map(|c| {
        let body = s.body.replacen(&format!(" {c}\n"), " refactored_step\n", 1);
        format!("{imports}define refactored_step = {c}\n{body}")
    });
    (script, twin)
}

/// Runs a compiled script's plans; `Err` with the engine's message on any failure.
fn run(compiled: &mid_compiler::Compiled) -> Result<BTreeMap<String, RecordBatch>, String> {
    let data = small_network();
    let problems = mid_runtime::dataset::contract::check_requirements(
        data,
        &mid_compiler::requirements::requirements(&compiled.cir),
    );
    if !problems.is_empty() {
        return Err(format!("{problems:?}"));
    }
    let rt = mid_runtime::runtime().map_err(|e| e.to_string())?;
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
        .unwrap_or(600)
}

#[test]
fn generated_scripts_compile_and_run_and_definitions_mean_their_expression() {
    let n = count();
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
        let results = match run(&compiled) {
            Ok(r) => r,
            Err(e) => {
                failures.push(format!("seed {seed}: the run failed: {e}\n{script}"));
                continue;
            }
        };
        let Some(twin) = twin else { continue };
        match compile(&twin) {
            Ok(Some(t)) => match run(&t) {
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
