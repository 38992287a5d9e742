//! Disclosure control against an attacker: a data set built so that each known attack would
//! recover a hidden count of 1–9 (or one patient's time) by differencing what a run publishes —
//! a report by sex next to one by `sex = F`, a two-way table against its margins, two cohorts
//! one exclusion apart, persons minus persons at risk by period, person-days of two cohorts —
//! is run through `mid run`, and a linear program plays the attacker on every number the run
//! publishes (reports and attrition tables together). No hidden count may be pinned: each must
//! keep at least two possible values, and a patient's time at risk a range of 100 days or
//! more. A report fine enough to list individuals must be withheld.

use std::collections::BTreeMap;
use std::path::Path;

use arrow::array::{Array, StringArray};
use microlp::{ComparisonOp, OptimizationDirection, Problem};

use mid_runtime::output::tables;

use crate::common::{mid, mid_run, read_batches};
use crate::fixture::{Cdm, d};

/// What a published cell tells the attacker about the true count: an interval.
fn interval(text: &str, base: f64) -> (f64, f64) {
    match text {
        "<10" => (1.0, 9.0),
        "0" => (0.0, 0.0),
        t => {
            let r: f64 = t
                .parse()
                .unwrap_or_else(|_| panic!("a published count: {t:?}"));
            // Rounded to the nearest `base`, halves up: the true value is in [r - b/2, r + b/2 - 1].
            ((r - base / 2.0).max(0.0), r + base / 2.0 - 1.0)
        }
    }
}

/// A weighted sum of unknowns.
type Sum = Vec<(usize, f64)>;

/// The attacker: unknowns (non-negative), and linear sums of them known to lie in intervals.
#[derive(Default)]
struct Attack {
    vars: usize,
    known: Vec<(Sum, (f64, f64))>,
}

impl Attack {
    fn var(&mut self) -> usize {
        self.vars += 1;
        self.vars - 1
    }
    fn know(&mut self, terms: Vec<(usize, f64)>, range: (f64, f64)) {
        self.known.push((terms, range));
    }
    /// The tightest bounds the published numbers imply for `target` (a linear form).
    fn bounds(&self, target: &[(usize, f64)]) -> (f64, f64) {
        let solve = |dir| {
            let mut p = Problem::new(dir);
            let vars: Vec<_> = (0..self.vars)
                .map(|i| {
                    let c = target.iter().find(|(v, _)| *v == i).map_or(0.0, |t| t.1);
                    p.add_var(c, (0.0, f64::INFINITY))
                })
                .collect();
            for (terms, (lo, hi)) in &self.known {
                let t: Vec<_> = terms.iter().map(|(v, c)| (vars[*v], *c)).collect();
                p.add_constraint(t.as_slice(), ComparisonOp::Ge, *lo);
                p.add_constraint(t.as_slice(), ComparisonOp::Le, *hi);
            }
            p.solve()
                .expect("the published numbers are consistent")
                .into_solution()
                .expect("solved")
                .objective()
        };
        (
            solve(OptimizationDirection::Minimize),
            solve(OptimizationDirection::Maximize),
        )
    }
}

/// The integers a range allows.
fn values(range: (f64, f64)) -> i64 {
    ((range.1 + 1e-6).floor() - (range.0 - 1e-6).ceil()) as i64 + 1
}

/// 200 new users of one drug at one hospital: 150 F, 47 M, 3 U; 4 with heart failure in the
/// year before (the exclusion that tells cohorts `a` and `b` apart); 23 with an outcome at
/// days 10–130 after index, one of them excluded by the exclusion, with its time known.
fn attack_data() -> std::path::PathBuf {
    let mut cdm = Cdm::default();
    for id in 1..=200i64 {
        let sex = match id {
            1..=150 => "F",
            151..=197 => "M",
            _ => "U",
        };
        let birth = format!("{}-03-01", 1930 + (id * 7) % 60);
        cdm.patient("H01", id, sex, &birth, "2015-01-01", "2023-12-31");
        let index = d("2019-01-01") + (id as i32 * 3) % 360;
        cdm.drugs.push((
            "H01",
            id,
            "prescription",
            "outpatient",
            index,
            30,
            Some("243200100000"),
        ));
        // Five start propylthiouracil the same day: their index drug is both.
        if id <= 5 {
            cdm.drugs.push((
                "H01",
                id,
                "prescription",
                "outpatient",
                index,
                30,
                Some("243200200000"),
            ));
        }
        if id % 50 == 7 {
            cdm.diagnoses.push((
                "H01",
                id,
                "claim",
                index - 100,
                Some("I500"),
                false,
                false,
                None,
            ));
        }
        if id % 9 == 1 || id == 7 {
            let day = index + 10 + (id as i32 * 11) % 120;
            cdm.diagnoses
                .push(("H01", id, "claim", day, Some("I210"), false, true, None));
        }
    }
    cdm.write()
}

const SCRIPT: &str = r#"
codes thiamazole: drug = yj "2432001"
codes ptu: drug = yj "2432002"
codes x: drug = thiamazole or ptu
codes hf: diagnosis = icd10 "I50"
codes mi: diagnosis = icd10 "I21"
cohort b {
  index = first drug x
  end = index + 140 days
  periods of 14 days from index + 1 day until index + 140 days
}
cohort a {
  index = first drug x
  exclude diagnosis hf within 365 days before index
  end = index + 140 days
}
outcome mi_b in b = first diagnosis mi
outcome mi_a in a = first diagnosis mi
report b by sex
report b by sex = F
report b by sex, age band 20 years
report b by age band 20 years
report a, b by cohort
report b with mi_b by period
report b with mi_b
report a with mi_a
report b by sex, age band 1 years, month
report b by index_drug
"#;

/// Each published table by name: its rows as text, column by column.
type Published = BTreeMap<String, Vec<BTreeMap<String, String>>>;

/// Runs the attack script; returns the published reports by name, the attrition tables and
/// the run record, and what `mid run` printed.
fn published() -> (Published, serde_json::Value, String) {
    let data = attack_data();
    let dir = tempfile::tempdir().expect("tmp").keep();
    let script = dir.join("attack.mid");
    std::fs::write(&script, SCRIPT).expect("script");
    let out = dir.join("out");
    let r = mid_run(&script, &data, &out, &[]);
    assert_eq!(
        r.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&r.stderr)
    );
    let mut tables = BTreeMap::new();
    for entry in std::fs::read_dir(out.join("reports")).expect("reports") {
        let path = entry.expect("entry").path();
        if path.extension().is_some_and(|x| x == "parquet") {
            let name = path.file_stem().unwrap().to_string_lossy().to_string();
            tables.insert(name, rows(&path));
        }
    }
    let record: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join("run.json")).expect("run.json"))
            .expect("JSON");
    (
        tables,
        record,
        String::from_utf8_lossy(&r.stdout).into_owned(),
    )
}

fn rows(path: &Path) -> Vec<BTreeMap<String, String>> {
    let typed = read_batches(path).remove(0);
    rates_come_from_the_published_counts(&typed);
    // Counts as people read them: `<10` where flagged, the number otherwise.
    let b = tables::text_view(&typed, false).expect("a typed aggregate table");
    let mut out = Vec::new();
    for i in 0..b.num_rows() {
        let mut row = BTreeMap::new();
        for (f, col) in b.schema().fields().iter().zip(b.columns()) {
            let text = arrow::compute::cast(col, &arrow::datatypes::DataType::Utf8).expect("text");
            let a = text.as_any().downcast_ref::<StringArray>().expect("utf8");
            row.insert(
                f.name().clone(),
                if a.is_null(i) {
                    String::new()
                } else {
                    a.value(i).to_string()
                },
            );
        }
        out.push(row);
    }
    out
}

/// Every rate and comparison a table publishes is what the published counts of its rows
/// give (so it tells the attacker nothing they do not): the table built again from its
/// counts alone is the same table.
fn rates_come_from_the_published_counts(b: &arrow::array::RecordBatch) {
    assert_eq!(&tables::rebuild(b).expect("rebuilt"), b);
}

fn cell<'a>(t: &'a [BTreeMap<String, String>], key: &str, value: &str, col: &str) -> &'a str {
    t.iter()
        .find(|r| r.get(key).map(String::as_str) == Some(value))
        .and_then(|r| r.get(col))
        .map(String::as_str)
        .unwrap_or("0")
}

/// The remaining count after the last step of an attrition table.
fn remaining(t: &[BTreeMap<String, String>]) -> &str {
    t.last()
        .and_then(|r| r.get("remaining"))
        .map(String::as_str)
        .expect("a row")
}

/// The published report whose columns are exactly `cols` (strata and counts).
fn report<'a>(
    t: &'a BTreeMap<String, Vec<BTreeMap<String, String>>>,
    cols: &[&str],
) -> &'a [BTreeMap<String, String>] {
    let (_, rows) = t
        .iter()
        .find(|(name, rows)| {
            !name.starts_with("attrition_")
                && rows.first().is_some_and(|r| {
                    r.len() == cols.len() && cols.iter().all(|c| r.contains_key(*c))
                })
        })
        .unwrap_or_else(|| panic!("a report with columns {cols:?} among {:?}", t.keys()));
    rows
}

/// `by index_drug` against the total: the five who started both drugs the same day stay
/// hidden (the levels partition the cohort, like sex).
#[test]
fn the_index_drug_levels_hide_a_small_one() {
    let (t, _, _) = published();
    let by_drug = report(&t, &["index_drug", "persons"]);
    let mut a = Attack::default();
    let (one, both) = (a.var(), a.var());
    a.know(
        vec![(one, 1.0)],
        interval(cell(by_drug, "index_drug", "thiamazole", "persons"), 10.0),
    );
    a.know(
        vec![(both, 1.0)],
        interval(
            cell(by_drug, "index_drug", "ptu + thiamazole", "persons"),
            10.0,
        ),
    );
    a.know(
        vec![(one, 1.0), (both, 1.0)],
        interval(remaining(&t["attrition_b"]), 10.0),
    );
    let range = a.bounds(&[(both, 1.0)]);
    assert!(values(range) >= 2, "both drugs pinned to {range:?}");
    assert!(
        range.0 <= 5.0 && 5.0 <= range.1,
        "the attacker's model holds"
    );
}

#[test]
fn no_attack_recovers_a_hidden_count() {
    let (t, record, console) = published();

    // 1. `by sex` next to `by sex = F`, and the total: F + M + U = yes + no = remaining.
    let by_sex = report(&t, &["sex", "persons"]);
    let by_f = report(&t, &["sex_f", "persons"]);
    let mut a = Attack::default();
    let (f, m, u) = (a.var(), a.var(), a.var());
    a.know(
        vec![(f, 1.0)],
        interval(cell(by_sex, "sex", "F", "persons"), 10.0),
    );
    a.know(
        vec![(m, 1.0)],
        interval(cell(by_sex, "sex", "M", "persons"), 10.0),
    );
    a.know(
        vec![(u, 1.0)],
        interval(cell(by_sex, "sex", "U", "persons"), 10.0),
    );
    a.know(
        vec![(f, 1.0)],
        interval(cell(by_f, "sex_f", "yes", "persons"), 10.0),
    );
    a.know(
        vec![(m, 1.0), (u, 1.0)],
        interval(cell(by_f, "sex_f", "no", "persons"), 10.0),
    );
    a.know(
        vec![(f, 1.0), (m, 1.0), (u, 1.0)],
        interval(remaining(&t["attrition_b"]), 10.0),
    );
    let range = a.bounds(&[(u, 1.0)]);
    assert!(values(range) >= 2, "sex U pinned to {range:?}");
    assert!(
        range.0 <= 3.0 && 3.0 <= range.1,
        "the attacker's model holds"
    );

    // 2. A two-way table against its margins (rows, columns, total).
    let two = report(&t, &["sex", "age_band", "persons"]);
    let by_age = report(&t, &["age_band", "persons"]);
    assert!(
        two.iter().any(|r| r["persons"] == "<10"),
        "the two-way table has a hidden cell to attack"
    );
    let bands: Vec<String> = by_age.iter().map(|r| r["age_band"].clone()).collect();
    let sexes = ["F", "M", "U"];
    let mut a = Attack::default();
    let mut x = BTreeMap::new();
    for s in sexes {
        for g in &bands {
            x.insert((s, g.clone()), a.var());
        }
    }
    for s in sexes {
        for g in &bands {
            let published = two
                .iter()
                .find(|r| r["sex"] == s && &r["age_band"] == g)
                .map(|r| r["persons"].as_str())
                .unwrap_or("0");
            a.know(vec![(x[&(s, g.clone())], 1.0)], interval(published, 10.0));
        }
        let row: Vec<_> = bands.iter().map(|g| (x[&(s, g.clone())], 1.0)).collect();
        a.know(row, interval(cell(by_sex, "sex", s, "persons"), 10.0));
    }
    for g in &bands {
        let col: Vec<_> = sexes.iter().map(|s| (x[&(*s, g.clone())], 1.0)).collect();
        a.know(col, interval(cell(by_age, "age_band", g, "persons"), 10.0));
    }
    let all: Vec<_> = x.values().map(|v| (*v, 1.0)).collect();
    a.know(all, interval(remaining(&t["attrition_b"]), 10.0));
    for ((s, g), v) in &x {
        let shown = two
            .iter()
            .find(|r| r["sex"] == *s && &r["age_band"] == g)
            .map(|r| r["persons"].as_str())
            .unwrap_or("0");
        if shown == "<10" {
            let range = a.bounds(&[(*v, 1.0)]);
            assert!(values(range) >= 2, "cell {s} {g} pinned to {range:?}");
        }
    }

    // 3. Two cohorts one exclusion apart: b − a = the excluded, which attrition shows `<10`.
    let cohorts = report(&t, &["cohort", "persons"]);
    let mut a = Attack::default();
    let (na, excluded) = (a.var(), a.var());
    a.know(
        vec![(na, 1.0)],
        interval(cell(cohorts, "cohort", "a", "persons"), 10.0),
    );
    a.know(
        vec![(na, 1.0), (excluded, 1.0)],
        interval(cell(cohorts, "cohort", "b", "persons"), 10.0),
    );
    a.know(
        vec![(na, 1.0)],
        interval(remaining(&t["attrition_a"]), 10.0),
    );
    let removed = t["attrition_a"]
        .last()
        .and_then(|r| r.get("removed"))
        .expect("removed")
        .clone();
    a.know(vec![(excluded, 1.0)], interval(&removed, 10.0));
    let range = a.bounds(&[(excluded, 1.0)]);
    assert!(values(range) >= 2, "the excluded pinned to {range:?}");

    // 4. By period: persons − persons at risk = the persons with an outcome before.
    let periods = report(
        &t,
        &[
            "period",
            "persons",
            "mi_b_at_risk",
            "mi_b_persons",
            "mi_b_person_days",
        ],
    );
    for r in periods {
        let mut a = Attack::default();
        let (at_risk, before) = (a.var(), a.var());
        a.know(vec![(at_risk, 1.0)], interval(&r["mi_b_at_risk"], 10.0));
        a.know(
            vec![(at_risk, 1.0), (before, 1.0)],
            interval(&r["persons"], 10.0),
        );
        let range = a.bounds(&[(before, 1.0)]);
        assert!(
            values(range) >= 2,
            "period {}: outcomes before pinned to {range:?}",
            r["period"]
        );
    }

    // 5. Person-days of two cohorts one patient apart: that patient's time at risk.
    let pd = |t: &[BTreeMap<String, String>], col: &str| {
        t.first().map(|r| r[col].clone()).expect("a row")
    };
    let mut a = Attack::default();
    let (time_a, time_excluded) = (a.var(), a.var());
    let whole_a = report(&t, &["persons", "mi_a_persons", "mi_a_person_days"]);
    let whole_b = report(&t, &["persons", "mi_b_persons", "mi_b_person_days"]);
    a.know(
        vec![(time_a, 1.0)],
        interval(&pd(whole_a, "mi_a_person_days"), 100.0),
    );
    a.know(
        vec![(time_a, 1.0), (time_excluded, 1.0)],
        interval(&pd(whole_b, "mi_b_person_days"), 100.0),
    );
    let range = a.bounds(&[(time_excluded, 1.0)]);
    assert!(
        range.1 - range.0 >= 100.0,
        "the excluded patients' time at risk is known within {range:?}"
    );

    // 6. A report fine enough to list individuals is withheld, not written.
    assert!(
        !t.values()
            .any(|rows| rows.first().is_some_and(|r| r.contains_key("index_month"))),
        "the one-row-per-person report was written"
    );
    let withheld = record["withheld"].as_array().expect("withheld");
    assert_eq!(withheld.len(), 1, "{record}");
    // Nor printed: the console shows what the files show.
    assert!(
        !console.contains("index_month") && console.contains("withheld"),
        "the withheld report was printed: {console}"
    );

    // Nothing published shows a count of 1–9.
    for (name, rows) in &t {
        for r in rows {
            for (col, v) in r {
                if let Ok(n) = v.parse::<u64>() {
                    assert!(
                        col == "step"
                            || col == "period"
                            || col.ends_with("year")
                            || col.ends_with("month")
                            || !(1..=9).contains(&n),
                        "{name}.{col} shows {n}"
                    );
                }
            }
        }
    }
}

/// 150 F, 47 M and 3 U: with `suppress below 20` the U cell is `<20`, the others shown.
#[test]
fn a_raised_threshold_is_announced_for_its_report_only() {
    let tmp = tempfile::tempdir().expect("tmp").keep();
    let script = tmp.join("s.mid");
    std::fs::write(
        &script,
        "codes x: drug = yj \"2432001\"\ncohort a { index = first drug x }\ncohort b { index = first drug x where setting = outpatient }\nreport a by sex, suppress below 20\nreport b by sex\n",
    )
    .expect("script");
    let r = mid(&[
        "run",
        &script.display().to_string(),
        "--data",
        &attack_data().display().to_string(),
        "--out",
        &tmp.join("out").display().to_string(),
    ]);
    assert_eq!(r.status.code(), Some(0));
    let about = |name: &str| {
        std::fs::read_to_string(tmp.join("out/reports").join(format!("{name}.about.json")))
            .expect("about")
    };
    assert!(about("a").contains("<20"));
    assert!(about("b").contains("<10") && !about("b").contains("<20"));
}
