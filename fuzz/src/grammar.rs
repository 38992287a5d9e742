//! Valid scripts from the grammar's constructs and the stdlib's names, seeded: every cohort
//! entry, step, window, selector, era, end, periods, outcome, export and report form, in
//! random combinations. A script and its twin (its first step moved into a `define`) must
//! give the same results.

use std::fmt::Write;

/// A small deterministic generator (xorshift64*), so a failure names a seed that reproduces.
pub struct Rng(pub u64);

impl Rng {
    pub fn next_u64(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    pub fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n.max(1) as u64) as usize
    }
    pub fn pick<'a>(&mut self, xs: &[&'a str]) -> &'a str {
        xs[self.below(xs.len())]
    }
    pub fn chance(&mut self, percent: usize) -> bool {
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
    /// A lab item's name, drawn (and imported) as `lab` draws it.
    fn lab_item(&mut self) -> String {
        let l = self.lab(false);
        l.split_whitespace().nth(1).unwrap_or("alt").to_string()
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
        match self.r.below(12) {
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
            9 => format!("overlapping {n} days before index"),
            10 => "overlapping on index".to_string(),
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
        let drug_entry = entry_events.starts_with("drug ");
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
        // Sometimes a second cohort (no era: an outcome of both may name only what both
        // have), with the outcome of both and a report of both by cohort.
        let second = !era && !periods && self.r.chance(12);
        if second {
            let d = self.drug();
            let _ = writeln!(
                out,
                "cohort c2 {{\n  index = first drug {d}\n  end = index + {} days\n}}",
                self.r.days()
            );
        }
        let outcome = self.r.chance(70);
        if outcome {
            let e = self.events(false);
            let w = if self.r.chance(50) {
                " between index + 1 day and end".to_string()
            } else {
                String::new()
            };
            let cohorts = if second { "c, c2" } else { "c" };
            let _ = writeln!(out, "outcome o in {cohorts} = first {e}{w}");
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
            if self.r.chance(30) {
                cols.push("censoring".into());
            }
            if drug_entry && self.r.chance(30) {
                cols.push("index_drug".into());
            }
            if self.grades && self.r.chance(30) {
                self.labs.push("alt");
                let pick = ["first", "last"][self.r.below(2)];
                let d = self.r.days();
                cols.push(format!(
                    "grade of ctcae_grade({pick} lab alt within {d} days before index)"
                ));
            }
            if self.r.chance(30) {
                let item = self.lab_item();
                let pick = ["first", "last", "nth(2)"][self.r.below(3)];
                let d = self.r.days();
                cols.push(format!(
                    "value of {pick} lab {item} within {d} days before index"
                ));
            }
            if self.r.chance(30) {
                let drug = self.drug();
                let d = self.r.days();
                let records = if self.r.chance(50) { "records of " } else { "" };
                cols.push(format!(
                    "count of {records}drug {drug} within {d} days before index"
                ));
            }
            if self.r.chance(20) {
                let item = self.lab_item();
                let f = ["max", "min"][self.r.below(2)];
                let d = self.r.days();
                cols.push(format!("{f} of lab {item} within {d} days before index"));
            }
            if self.r.chance(20) {
                let d = self.drug();
                cols.push(format!("days from index to first drug {d} after index"));
            }
            let by = if periods && self.r.chance(40) {
                if self.r.chance(50) {
                    let item = self.lab_item();
                    cols.push(format!("tested(lab {item})"));
                }
                " by period"
            } else {
                ""
            };
            let _ = writeln!(out, "export c{by} with {}", cols.join(", "));
        }
        let mut strata: Vec<String> = Vec::new();
        for s in [
            "sex",
            "hospital",
            "age band 10 years",
            "year",
            "fiscal year",
            "quarter",
            "month",
        ] {
            if self.r.chance(25) {
                strata.push(s.to_string());
            }
        }
        if periods && self.r.chance(60) {
            strata.push("period".into());
            if self.r.chance(50) {
                let item = self.lab_item();
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
        if second {
            let _ = writeln!(out, "report c, c2{with} by cohort");
        }
        if self.r.chance(40) {
            // Baseline characteristics: yes/no, text and number rows.
            let mut rows = vec!["age".to_string(), "sex".to_string()];
            if self.r.chance(50) {
                rows.push(format!("{} as cond", self.cond(2)));
            }
            if self.r.chance(50) {
                let item = self.lab_item();
                let d = self.r.days();
                rows.push(format!(
                    "value of last lab {item} within {d} days before index as lab_value"
                ));
            }
            if self.r.chance(30) {
                let drug = self.drug();
                let d = self.r.days();
                rows.push(format!("count of drug {drug} within {d} days before index"));
            }
            // The second cohort's index is always a drug.
            if drug_entry && self.r.chance(30) {
                rows.push("index_drug".into());
            }
            let cohorts = if second { "c, c2" } else { "c" };
            let _ = writeln!(out, "table1 baseline = {cohorts} with {}", rows.join(", "));
        }
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
pub fn generate(seed: u64) -> (String, Option<String>) {
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
