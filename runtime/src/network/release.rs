//! Reviewed release (runtime, network: `mid center release`): the last check before results
//! leave the data center. Every table that would leave is checked together: only aggregate
//! tables (attrition tables and reports, never a patient-level file), every count as the
//! disclosure rule shows it (0, `<10`, or a multiple of 10 of at least 10; person-days a
//! multiple of 100), no metadata beyond the report's description, and no hidden count that
//! differencing the released tables against each other can pin to one value: a linear
//! program plays the attacker over the tables' links (a report and a finer one of the same
//! cohorts, reports of one cohort sharing their persons, an attrition table's steps and the
//! reports of its cohort, the network's table and the hospitals' ones) and, where a hidden
//! count would be pinned, a linked published count is hidden too (complementary
//! suppression) until none is.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow::array::{Array, RecordBatch, StringArray};
use arrow::datatypes::DataType;
use microlp::{ComparisonOp, OptimizationDirection, Problem};

use super::extraction::{self, FileEntry};
use super::site::read_parquet;
use crate::disclosure::{COUNT_BASE, THRESHOLD};
use crate::error::{Error, Result};
use crate::output::tables;

/// The format of a release's record.
pub const FORMAT: &str = "mid-release/1";
/// What a complementary-suppressed count shows.
pub const HIDDEN: &str = "suppressed";
/// The columns of an attrition table.
const ATTRITION: [&str; 5] = ["step", "label", "persons_before", "removed", "remaining"];
/// A report's count of persons, and its stratum by period.
const PERSONS: &str = "persons";
const PERIOD: &str = "period";
/// The files that describe a table beside it (no counts): released with it.
pub const DESCRIPTIONS: [&str; 3] = [".about.json", ".codebook.json", ".codebook.csv"];
/// The most cells the differencing audit solves for; beyond it the release is refused
/// rather than checked partly.
const MAX_AUDITED: usize = 20_000;

/// One table that would leave.
#[derive(Debug, Clone)]
pub struct Released {
    /// Where it came from, relative to the results directory.
    pub from: String,
    /// Its place in the release: `network/…` or `<hospital>/…`.
    pub path: String,
    /// `network` or the hospital.
    pub group: String,
    pub name: String,
    /// The report's description (`about.json`), none for an attrition table.
    pub about: Option<serde_json::Value>,
    pub strata: Vec<String>,
    /// The table as `tables::text_view` reads it: counts as text, no flags or rates.
    pub batch: RecordBatch,
    /// Counts below it are hidden (the table's `mid.threshold`).
    pub threshold: u32,
}

impl Released {
    fn is_attrition(&self) -> bool {
        self.about.is_none()
    }
    /// A Table 1 (its description says so).
    fn is_table1(&self) -> bool {
        self.about
            .as_ref()
            .and_then(|a| a.get("kind"))
            .is_some_and(|k| k == "table1")
    }
    fn count_columns(&self) -> Vec<String> {
        // A description that lists its counts (a Table 1's `n`): those, the rest are figures.
        if let Some(counts) = self
            .about
            .as_ref()
            .and_then(|a| a.get("counts"))
            .and_then(|c| c.as_array())
        {
            return counts
                .iter()
                .filter_map(|c| c.as_str().map(String::from))
                .collect();
        }
        self.batch
            .schema()
            .fields()
            .iter()
            .map(|f| f.name().clone())
            .filter(|n| {
                if self.is_attrition() {
                    ["persons_before", "removed", "remaining"].contains(&n.as_str())
                } else {
                    !self.strata.contains(n)
                }
            })
            .collect()
    }
    /// The cohorts a report counts, as JSON text; none for an attrition table.
    fn cohorts(&self) -> Option<String> {
        Some(self.about.as_ref()?.get("cohorts")?.to_string())
    }
    fn about_key(&self) -> Option<(String, String)> {
        let a = self.about.as_ref()?;
        Some((
            a.get("cohorts")?.to_string(),
            a.get("outcomes")?.to_string(),
        ))
    }
}

fn text(b: &RecordBatch, col: &str) -> Result<Vec<String>> {
    let a = b
        .column_by_name(col)
        .ok_or_else(|| Error::new(format!("no column {col}")))?;
    let a = arrow::compute::cast(a, &DataType::Utf8).map_err(|e| Error::context(col, e))?;
    let s = a
        .as_any()
        .downcast_ref::<StringArray>()
        .ok_or_else(|| Error::new(format!("{col} is not text")))?;
    Ok((0..s.len())
        .map(|i| {
            if s.is_null(i) {
                String::new()
            } else {
                s.value(i).to_string()
            }
        })
        .collect())
}

/// Reads the aggregate tables of one `reports/` directory; anything else in it is refused.
fn read_reports(root: &Path, rel: &str, group: &str, out: &mut Vec<Released>) -> Result<()> {
    let dir = root.join(rel);
    let files = extraction::list_files(&dir)?;
    for f in &files {
        if DESCRIPTIONS.iter().any(|d| f.ends_with(d)) {
            continue;
        }
        let Some(name) = f.strip_suffix(".parquet") else {
            return Err(Error::new(format!(
                "{rel}/{f} is not an aggregate table of mid: it is not released"
            )));
        };
        if name.contains('/') {
            return Err(Error::new(format!(
                "{rel}/{f} is not an aggregate table of mid: it is not released"
            )));
        }
        let typed = read_parquet(&dir.join(f))?;
        let threshold = tables::threshold_of(&typed);
        if threshold < THRESHOLD {
            return Err(Error::new(format!(
                "{rel}/{f}: a threshold of {threshold} is below the network's {THRESHOLD}: it is not released"
            )));
        }
        let batch = tables::text_view(&typed, false)
            .map_err(|e| Error::context(format!("{rel}/{f}"), e))?;
        let about_path = dir.join(format!("{name}.about.json"));
        let about = if about_path.exists() {
            let v: serde_json::Value =
                serde_json::from_slice(&std::fs::read(&about_path).map_err(|e| {
                    Error::new(format!("cannot read {}: {e}", about_path.display()))
                })?)
                .map_err(|e| Error::new(format!("{} is damaged: {e}", about_path.display())))?;
            Some(v)
        } else {
            None
        };
        let strata = about
            .as_ref()
            .and_then(|a| a.get("strata"))
            .and_then(|s| s.as_array())
            .map(|s| {
                s.iter()
                    .filter_map(|v| v.as_str().map(String::from))
                    .collect()
            })
            .unwrap_or_default();
        out.push(Released {
            from: format!("{rel}/{f}"),
            path: format!("{group}/{f}"),
            group: group.to_string(),
            name: name.to_string(),
            about,
            strata,
            batch,
            threshold,
        });
    }
    for f in &files {
        if let Some(name) = DESCRIPTIONS.iter().find_map(|d| f.strip_suffix(d))
            && !files.contains(&format!("{name}.parquet"))
        {
            return Err(Error::new(format!(
                "{rel}/{f} describes no table: it is not released"
            )));
        }
    }
    Ok(())
}

/// The tables a results directory would release: a pooled directory's network tables (and
/// each hospital's with `by_hospital`), or a `mid center run`'s `reports/`.
pub fn collect(dir: &Path, by_hospital: bool) -> Result<Vec<Released>> {
    let mut out = Vec::new();
    if dir.join(super::center::RECORD).exists() {
        super::center::open_pooled(dir)?;
        read_reports(dir, "network/reports", "network", &mut out)?;
        if by_hospital {
            let mut hospitals: Vec<String> = std::fs::read_dir(dir.join("by-hospital"))
                .map_err(|e| Error::new(format!("cannot list by-hospital/: {e}")))?
                .filter_map(|e| e.ok())
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect();
            hospitals.sort();
            for h in hospitals {
                read_reports(dir, &format!("by-hospital/{h}/reports"), &h, &mut out)?;
            }
        }
    } else if dir.join("run.json").exists() && dir.join("reports").is_dir() {
        if by_hospital {
            return Err(Error::usage(
                "--by-hospital releases a pooled directory's hospital tables; this is a run's results",
            ));
        }
        read_reports(dir, "reports", "network", &mut out)?;
    } else {
        return Err(Error::new(format!(
            "{} is neither a pooled directory (`mid center combine`) nor a run's results (`mid center run`)",
            dir.display()
        )));
    }
    if out.is_empty() {
        return Err(Error::new(format!(
            "{} has no aggregate table to release",
            dir.display()
        )));
    }
    Ok(out)
}

/// What a count shown as `text` tells anyone about the true count: an interval, or nothing
/// (an empty cell: the count does not apply).
pub fn interval(text: &str, person_days: bool) -> Option<(f64, f64)> {
    let t = text.trim();
    if t.is_empty() {
        return None;
    }
    if t == "0" {
        return Some((0.0, 0.0));
    }
    if t == HIDDEN {
        return Some((0.0, f64::INFINITY));
    }
    if let Some(th) = t.strip_prefix('<') {
        let th: f64 = th.parse().unwrap_or(f64::from(THRESHOLD));
        return Some(if person_days {
            (0.0, f64::INFINITY)
        } else {
            (1.0, th - 1.0)
        });
    }
    let n: f64 = t.parse().ok()?;
    let half = if person_days {
        50.0
    } else {
        COUNT_BASE as f64 / 2.0
    };
    let lo = if person_days {
        (n - half).max(0.0)
    } else {
        (n - half).max(f64::from(THRESHOLD))
    };
    Some((lo, n + half - 1.0))
}

/// A count as the rule allows it to leave; the problem in words otherwise.
fn allowed(text: &str, person_days: bool) -> std::result::Result<(), String> {
    let t = text.trim();
    if t.is_empty() || t == "0" || t == HIDDEN {
        return Ok(());
    }
    if let Some(th) = t.strip_prefix('<') {
        return match th.parse::<u32>() {
            Ok(n) if n >= THRESHOLD => Ok(()),
            _ => Err(format!("`{t}` hides too small a range")),
        };
    }
    match t.parse::<u64>() {
        Ok(n) if person_days && n % 100 == 0 => Ok(()),
        Ok(n) if !person_days && n >= u64::from(THRESHOLD) && n % COUNT_BASE == 0 => Ok(()),
        Ok(n) => Err(format!(
            "{n} is an exact count: a released count is 0, <{THRESHOLD} or rounded to the nearest {}",
            if person_days { 100 } else { COUNT_BASE }
        )),
        Err(_) => Err(format!("`{t}` is not a count")),
    }
}

/// The rules one table must keep on its own: aggregate columns only, each count as the rule
/// shows it, no metadata but the report's description. Each problem names the table, the
/// column and the row.
fn check_table(t: &Released) -> Vec<String> {
    let mut problems = Vec::new();
    let schema = t.batch.schema();
    for f in schema.fields() {
        let n = f.name().as_str();
        if super::pseudonym::ID_COLUMNS.contains(&n) || n.ends_with("_date") {
            problems.push(format!(
                "{}: column `{n}` is patient-level: the table is not released",
                t.from
            ));
        }
    }
    if t.is_attrition() {
        let names: Vec<&str> = schema.fields().iter().map(|f| f.name().as_str()).collect();
        if names != ATTRITION {
            problems.push(format!(
                "{}: not an attrition table of mid (columns {names:?}) and no description beside it",
                t.from
            ));
            return problems;
        }
    }
    for (k, v) in schema.metadata() {
        let ok = k == "mid.about"
            && t.about.as_ref().is_some_and(|a| {
                serde_json::from_str::<serde_json::Value>(v).is_ok_and(|m| &m == a)
            });
        if !ok {
            problems.push(format!(
                "{}: metadata `{k}` is not the report's description: the table is not released",
                t.from
            ));
        }
    }
    for c in t.count_columns() {
        let days = c.ends_with("_person_days");
        match text(&t.batch, &c) {
            Ok(values) => {
                for (row, v) in values.iter().enumerate() {
                    if let Err(p) = allowed(v, days) {
                        problems.push(format!("{}: column `{c}`, row {}: {p}", t.from, row + 1));
                    }
                }
            }
            Err(e) => problems.push(format!("{}: {e}", t.from)),
        }
    }
    problems
}

/// A count cell: table, row, column.
type Cell = (usize, usize, String);
/// Each table's count columns as shown.
pub type Shown = Vec<BTreeMap<String, Vec<String>>>;

/// The attacker's model: every count cell of persons a variable, each known to lie in the
/// interval its text shows, and the links between tables as equations.
struct Model {
    cells: Vec<Cell>,
    index: BTreeMap<Cell, usize>,
    known: Vec<Option<(f64, f64)>>,
    /// Sums that are equal: `lhs` cell = sum of `rhs` cells.
    links: Vec<(usize, Vec<usize>)>,
}

fn stratum_key(t: &Released, row: usize, strata: &[String]) -> Result<Vec<String>> {
    strata
        .iter()
        .map(|s| text(&t.batch, s).map(|v| v[row].clone()))
        .collect()
}

impl Model {
    /// `shown_as` reads a published text as an interval (`interval`, or exact values in the
    /// tests).
    fn build(
        tables: &[Released],
        shown: &Shown,
        shown_as: &dyn Fn(&str) -> Option<(f64, f64)>,
    ) -> Result<Model> {
        let mut m = Model {
            cells: Vec::new(),
            index: BTreeMap::new(),
            known: Vec::new(),
            links: Vec::new(),
        };
        for (ti, shown_t) in shown.iter().enumerate().take(tables.len()) {
            for (c, values) in shown_t {
                if c.ends_with("_person_days") {
                    continue;
                }
                for (row, v) in values.iter().enumerate() {
                    let cell = (ti, row, c.clone());
                    m.index.insert(cell.clone(), m.cells.len());
                    m.cells.push(cell);
                    m.known.push(shown_as(v));
                }
            }
        }
        // A report and a finer one of the same cohorts: each cell of the coarser is the sum of
        // the finer cells within it; for reports of other outcomes, only the persons. A period
        // is no partition (an entry is in every period its follow-up reaches), so a finer
        // report by period is not linked.
        for (a, ta) in tables.iter().enumerate() {
            for (b, tb) in tables.iter().enumerate() {
                // A Table 1's rows are no partition of a report's (a person has many).
                if a == b
                    || ta.is_table1()
                    || tb.is_table1()
                    || ta.group != tb.group
                    || ta.cohorts().is_none()
                    || ta.cohorts() != tb.cohorts()
                    || !ta.strata.iter().all(|s| tb.strata.contains(s))
                    || tb
                        .strata
                        .iter()
                        .any(|s| s == PERIOD && !ta.strata.contains(s))
                {
                    continue;
                }
                let same_outcomes = ta.about_key() == tb.about_key();
                let finer = ta.strata.len() < tb.strata.len();
                if !(finer || (!same_outcomes && a < b && ta.strata.len() == tb.strata.len())) {
                    continue;
                }
                let columns: Vec<String> = if same_outcomes {
                    shown[a]
                        .keys()
                        .filter(|c| !c.ends_with("_person_days"))
                        .cloned()
                        .collect()
                } else {
                    vec![PERSONS.to_string()]
                };
                m.link_sums(tables, a, b, &ta.strata, &columns)?;
            }
        }
        // An attrition table: each step's persons before are those removed and those
        // remaining, and the previous step's remaining; the last remaining are the persons of
        // each report of that cohort alone (not by period).
        for (t, ta) in tables.iter().enumerate() {
            if !ta.is_attrition() {
                continue;
            }
            let [_, _, before_c, removed_c, remaining_c] = ATTRITION;
            let n = ta.batch.num_rows();
            let cell =
                |m: &Model, row: usize, c: &str| m.index.get(&(t, row, c.to_string())).copied();
            for row in 1..n {
                if let (Some(before), Some(removed), Some(remaining)) = (
                    cell(&m, row, before_c),
                    cell(&m, row, removed_c),
                    cell(&m, row, remaining_c),
                ) {
                    m.links.push((before, vec![removed, remaining]));
                }
                if let (Some(before), Some(previous)) =
                    (cell(&m, row, before_c), cell(&m, row - 1, remaining_c))
                {
                    m.links.push((before, vec![previous]));
                }
            }
            let (Some(cohort), Some(last)) = (
                ta.name.strip_prefix("attrition_"),
                n.checked_sub(1).and_then(|r| cell(&m, r, remaining_c)),
            ) else {
                continue;
            };
            let alone = serde_json::json!([cohort]).to_string();
            for (r, tr) in tables.iter().enumerate() {
                if tr.group != ta.group
                    || tr.is_table1()
                    || tr.cohorts().as_deref() != Some(alone.as_str())
                    || tr.strata.iter().any(|s| s == PERIOD)
                {
                    continue;
                }
                let rhs: Vec<usize> = (0..tr.batch.num_rows())
                    .filter_map(|row| m.index.get(&(r, row, PERSONS.to_string())).copied())
                    .collect();
                m.links.push((last, rhs));
            }
        }
        // The network's table is the sum of the hospitals' same tables, where every hospital
        // released it (a hospital's withheld table leaves its share open).
        let hospitals: std::collections::BTreeSet<&str> = tables
            .iter()
            .filter(|t| t.group != "network")
            .map(|t| t.group.as_str())
            .collect();
        for (a, ta) in tables.iter().enumerate() {
            if ta.group != "network" {
                continue;
            }
            let parts: Vec<usize> = tables
                .iter()
                .enumerate()
                .filter(|(_, t)| t.group != "network" && t.name == ta.name)
                .map(|(i, _)| i)
                .collect();
            if parts.is_empty() || parts.len() != hospitals.len() {
                continue;
            }
            let keys: Vec<String> = if ta.is_attrition() {
                vec!["step".into()]
            } else {
                ta.strata.clone()
            };
            for row in 0..ta.batch.num_rows() {
                let key = stratum_key(ta, row, &keys)?;
                for c in shown[a].keys().filter(|c| !c.ends_with("_person_days")) {
                    let Some(&lhs) = m.index.get(&(a, row, c.clone())) else {
                        continue;
                    };
                    let mut rhs = Vec::new();
                    for &p in &parts {
                        for r in 0..tables[p].batch.num_rows() {
                            if stratum_key(&tables[p], r, &keys)? == key
                                && let Some(&i) = m.index.get(&(p, r, c.clone()))
                            {
                                rhs.push(i);
                            }
                        }
                    }
                    m.links.push((lhs, rhs));
                }
            }
        }
        Ok(m)
    }

    fn link_sums(
        &mut self,
        tables: &[Released],
        coarse: usize,
        fine: usize,
        strata: &[String],
        columns: &[String],
    ) -> Result<()> {
        for row in 0..tables[coarse].batch.num_rows() {
            let key = stratum_key(&tables[coarse], row, strata)?;
            for c in columns {
                let Some(&lhs) = self.index.get(&(coarse, row, c.clone())) else {
                    continue;
                };
                let mut rhs = Vec::new();
                for r in 0..tables[fine].batch.num_rows() {
                    if stratum_key(&tables[fine], r, strata)? == key
                        && let Some(&i) = self.index.get(&(fine, r, c.clone()))
                    {
                        rhs.push(i);
                    }
                }
                if !rhs.is_empty() {
                    self.links.push((lhs, rhs));
                }
            }
        }
        Ok(())
    }

    /// The tightest bounds the published cells and the links imply for cell `target`;
    /// `None` when the links do not hold for these tables (an entry counted in two strata).
    fn bounds(&self, target: usize, links: &[(usize, Vec<usize>)]) -> Option<(f64, f64)> {
        let solve = |dir| {
            let mut p = Problem::new(dir);
            let vars: Vec<_> = (0..self.cells.len())
                .map(|i| {
                    let (lo, hi) = match (i == target, self.known[i]) {
                        // The attacker does not know the target's own interval beyond >= 0.
                        (true, _) => (0.0, f64::INFINITY),
                        (false, Some(k)) => k,
                        (false, None) => (0.0, 0.0),
                    };
                    p.add_var(if i == target { 1.0 } else { 0.0 }, (lo, hi))
                })
                .collect();
            for (lhs, rhs) in links {
                let mut terms: Vec<(microlp::Variable, f64)> = vec![(vars[*lhs], 1.0)];
                terms.extend(rhs.iter().map(|r| (vars[*r], -1.0)));
                p.add_constraint(terms.as_slice(), ComparisonOp::Eq, 0.0);
            }
            match p.solve().map(|o| o.into_solution()) {
                Ok(Ok(s)) => Some(s.objective()),
                Err(microlp::Error::Unbounded) => Some(f64::INFINITY),
                _ => None,
            }
        };
        Some((
            solve(OptimizationDirection::Minimize)?,
            solve(OptimizationDirection::Maximize)?,
        ))
    }
}

/// Hides published counts until differencing pins no hidden one; returns the cells hidden
/// (table, row, column) and the tables' shown counts after it.
pub fn protect(tables: &[Released]) -> Result<(Shown, Vec<Cell>)> {
    protect_as(tables, &|t| interval(t, false))
}

fn protect_as(
    tables: &[Released],
    shown_as: &dyn Fn(&str) -> Option<(f64, f64)>,
) -> Result<(Shown, Vec<Cell>)> {
    let mut shown: Vec<BTreeMap<String, Vec<String>>> = Vec::new();
    for t in tables {
        let mut m = BTreeMap::new();
        for c in t.count_columns() {
            m.insert(c.clone(), text(&t.batch, &c)?);
        }
        shown.push(m);
    }
    let mut hidden = Vec::new();
    loop {
        let model = Model::build(tables, &shown, shown_as)?;
        if model.cells.len() > MAX_AUDITED {
            return Err(Error::new(format!(
                "the release has {} counts, more than the {MAX_AUDITED} the differencing audit checks: release fewer or coarser tables",
                model.cells.len()
            )));
        }
        // Links an entry counted in two strata breaks are left out, one by one.
        let mut links = model.links.clone();
        let mut pinned = None;
        for (i, k) in model.known.iter().enumerate() {
            let Some((lo, hi)) = *k else { continue };
            let suppressed = lo >= 1.0 && hi < f64::from(THRESHOLD);
            if !suppressed || !model.links.iter().any(|(l, r)| *l == i || r.contains(&i)) {
                continue;
            }
            let b = loop {
                match model.bounds(i, &links) {
                    Some(b) => break b,
                    None if !links.is_empty() => {
                        links.retain(|(l, r)| *l != i && !r.contains(&i));
                        if model.bounds(i, &links).is_none() {
                            links.clear();
                        }
                    }
                    None => break (0.0, f64::INFINITY),
                }
            };
            if b.1 - b.0 < 1.0 - 1e-6 {
                pinned = Some(i);
                break;
            }
        }
        let Some(i) = pinned else {
            return Ok((shown, hidden));
        };
        // Hide the smallest published count linked with it, directly or through counts
        // already hidden (a hidden neighbour that other links pin passes the pin on).
        let published = |j: usize| {
            model.known[j].is_some_and(|(lo, hi)| lo >= f64::from(THRESHOLD) && hi.is_finite())
        };
        let mut reached = std::collections::BTreeSet::from([i]);
        let partner = loop {
            let touching: Vec<&(usize, Vec<usize>)> = links
                .iter()
                .filter(|(l, r)| reached.contains(l) || r.iter().any(|x| reached.contains(x)))
                .collect();
            let cells = touching
                .iter()
                .flat_map(|(l, r)| std::iter::once(*l).chain(r.iter().copied()));
            let found = cells
                .clone()
                .filter(|j| *j != i && published(*j))
                .min_by(|a, b| {
                    let ka = model.known[*a].map_or(0.0, |k| k.0);
                    let kb = model.known[*b].map_or(0.0, |k| k.0);
                    ka.total_cmp(&kb).then(a.cmp(b))
                });
            let before = reached.len();
            reached
                .extend(cells.filter(|j| model.known[*j].is_some_and(|(_, hi)| !hi.is_finite())));
            if found.is_some() || reached.len() == before {
                break found;
            }
        };
        let Some(j) = partner else {
            let (t, row, c) = &model.cells[i];
            return Err(Error::new(format!(
                "{}: column `{c}`, row {}: differencing the released tables pins this hidden count, and no linked count is left to hide",
                tables[*t].from,
                row + 1
            )));
        };
        let (t, row, c) = model.cells[j].clone();
        if let Some(v) = shown[t].get_mut(&c) {
            v[row] = HIDDEN.to_string();
        }
        hidden.push((t, row, c));
    }
}

/// One table with its counts replaced by those the release shows, typed again as a run
/// writes it (`tables::build`: counts with their flags, and rates recomputed from the counts
/// the release shows, so a count hidden here hides its rates too).
fn with_shown(t: &Released, shown: &BTreeMap<String, Vec<String>>) -> Result<RecordBatch> {
    let schema = t.batch.schema();
    let mut cols = Vec::new();
    for (f, col) in schema.fields().iter().zip(t.batch.columns()) {
        let c = match shown.get(f.name()) {
            Some(v) => tables::Col::Count(
                v.iter()
                    .map(|x| tables::parse_shown(x))
                    .collect::<Result<Vec<_>>>()
                    .map_err(|e| Error::context(&t.from, e))?,
            ),
            None => tables::Col::Plain(col.clone()),
        };
        cols.push((f.name().clone(), c));
    }
    let cohorts = t.about.as_ref().map(tables::cohorts_in).unwrap_or_default();
    let b = tables::build(cols, t.threshold, &cohorts)?;
    // A Table 1's figures go with its counts: none where a count is now hidden.
    let b = if t.is_table1() {
        crate::output::table1::hide_with_counts(&b)?
    } else {
        b
    };
    let mut meta = b.schema().metadata().clone();
    meta.extend(schema.metadata().clone());
    let typed_schema = b.schema().as_ref().clone().with_metadata(meta);
    b.with_schema(Arc::new(typed_schema))
        .map_err(|e| Error::context(&t.from, e))
}

/// `release.json`: what was released, from what, and every file with its hash.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct Record {
    pub format: String,
    /// `pooled.json`'s or `run.json`'s SHA-256: the results released.
    pub results: String,
    pub tables: usize,
    /// How many published counts were hidden by complementary suppression.
    pub complementary: usize,
    pub files: Vec<FileEntry>,
}

/// Checks the tables of `dir` and writes the release into `out` (a new, empty directory).
pub fn release(dir: &Path, by_hospital: bool, out: &Path) -> Result<Record> {
    if dir.join("feasibility/counts.parquet").exists() {
        return release_feasibility(dir, out);
    }
    let tables = collect(dir, by_hospital)?;
    let problems: Vec<String> = tables.iter().flat_map(check_table).collect();
    if !problems.is_empty() {
        for p in &problems {
            crate::errln!("error: {p}");
        }
        return Err(Error::new(format!(
            "{} cannot be released ({} problem{}); nothing was written",
            dir.display(),
            problems.len(),
            if problems.len() == 1 { "" } else { "s" }
        )));
    }
    let (shown, hidden) = protect(&tables)?;
    let mut files = Vec::new();
    for (t, s) in tables.iter().zip(&shown) {
        let b = with_shown(t, s)?;
        let path = out.join(&t.path);
        if let Some(p) = path.parent() {
            std::fs::create_dir_all(p)
                .map_err(|e| Error::context(format!("cannot create {}", p.display()), e))?;
        }
        crate::output::write_table(&path, &b, false)?;
        files.push((t.path.clone(), "aggregate"));
        for d in DESCRIPTIONS {
            let about = dir.join(t.from.replace(".parquet", d));
            if about.exists() {
                let rel = t.path.replace(".parquet", d);
                std::fs::copy(&about, out.join(&rel))
                    .map_err(|e| Error::context(format!("cannot write {rel}"), e))?;
                files.push((rel, "aggregate"));
            }
        }
    }
    let source: PathBuf = if dir.join(super::center::RECORD).exists() {
        dir.join(super::center::RECORD)
    } else {
        dir.join("run.json")
    };
    let record = Record {
        format: FORMAT.into(),
        results: extraction::file_sha256(&source)?,
        tables: tables.len(),
        complementary: hidden.len(),
        files: extraction::entries(out, &files)?,
    };
    std::fs::write(out.join("release.json"), extraction::json_text(&record))
        .map_err(|e| Error::context("cannot write release.json", e))?;
    Ok(record)
}

/// A feasibility request's pooled counts, released as `mid feasibility` writes them: the
/// whole network's cube under disclosure control (its own attacker's linear program
/// included), the chart page, the items and the request's script.
fn release_feasibility(dir: &Path, out: &Path) -> Result<Record> {
    use crate::output::feasibility::{Cube, exact_rows};
    use mid_compiler::codegen::feasibility::Calendar;
    let (_, pooled_sha256) = super::center::open_pooled(dir)?;
    let counts = super::site::read_parquet(&dir.join("feasibility/counts.parquet"))?;
    let calendar = if counts.column_by_name("fiscal_year").is_some() {
        Calendar::FiscalYear
    } else {
        Calendar::Quarter
    };
    let cube = Cube::protect_rows(calendar, exact_rows(calendar, &[counts])?)?;
    let read = |name: &str| {
        std::fs::read_to_string(dir.join("feasibility").join(name))
            .map_err(|e| Error::context(format!("cannot read feasibility/{name}"), e))
    };
    let written = crate::commands::feasibility::write(
        out,
        &cube,
        &read("items.txt")?,
        &read("request.mid")?,
    )?;
    let files: Vec<(String, &str)> = written.into_iter().map(|f| (f, "aggregate")).collect();
    let record = Record {
        format: FORMAT.into(),
        results: pooled_sha256,
        tables: 1,
        complementary: cube.hidden().1,
        files: extraction::entries(out, &files)?,
    };
    std::fs::write(out.join("release.json"), extraction::json_text(&record))
        .map_err(|e| Error::context("cannot write release.json", e))?;
    Ok(record)
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow::array::ArrayRef;
    use arrow::datatypes::{Field, Schema};

    fn report(group: &str, name: &str, strata: &[&str], rows: &[(&[&str], &str)]) -> Released {
        let mut fields: Vec<Field> = strata
            .iter()
            .map(|s| Field::new(*s, DataType::Utf8, false))
            .collect();
        fields.push(Field::new("persons", DataType::Utf8, false));
        let mut cols: Vec<ArrayRef> = (0..strata.len())
            .map(|i| {
                Arc::new(StringArray::from(
                    rows.iter().map(|r| r.0[i]).collect::<Vec<_>>(),
                )) as ArrayRef
            })
            .collect();
        cols.push(Arc::new(StringArray::from(
            rows.iter().map(|r| r.1).collect::<Vec<_>>(),
        )));
        Released {
            from: format!("{group}/{name}.parquet"),
            path: format!("{group}/{name}.parquet"),
            group: group.into(),
            name: name.into(),
            about: Some(serde_json::json!({"cohorts": ["c"], "outcomes": [], "strata": strata})),
            strata: strata.iter().map(|s| s.to_string()).collect(),
            batch: RecordBatch::try_new(Arc::new(Schema::new(fields)), cols).unwrap(),
            threshold: THRESHOLD,
        }
    }

    fn attrition(group: &str, cohort: &str, rows: &[(&str, &str, &str)]) -> Released {
        let fields = vec![
            Field::new("step", DataType::Int64, false),
            Field::new("label", DataType::Utf8, false),
            Field::new("persons_before", DataType::Utf8, true),
            Field::new("removed", DataType::Utf8, true),
            Field::new("remaining", DataType::Utf8, false),
        ];
        let col = |i: usize| -> ArrayRef {
            Arc::new(StringArray::from(
                rows.iter().map(|r| [r.0, r.1, r.2][i]).collect::<Vec<_>>(),
            ))
        };
        let cols: Vec<ArrayRef> = vec![
            Arc::new(arrow::array::Int64Array::from(
                (0..rows.len() as i64).collect::<Vec<_>>(),
            )),
            Arc::new(StringArray::from(vec!["step"; rows.len()])),
            col(0),
            col(1),
            col(2),
        ];
        Released {
            from: format!("{group}/attrition_{cohort}.parquet"),
            path: format!("{group}/attrition_{cohort}.parquet"),
            group: group.into(),
            name: format!("attrition_{cohort}"),
            about: None,
            strata: Vec::new(),
            batch: RecordBatch::try_new(Arc::new(Schema::new(fields)), cols).unwrap(),
            threshold: THRESHOLD,
        }
    }

    /// Published counts read as exact values: what the links alone give away.
    fn exact(t: &str) -> Option<(f64, f64)> {
        match t {
            "" => None,
            HIDDEN => Some((0.0, f64::INFINITY)),
            "<10" => Some((1.0, 9.0)),
            n => n.parse::<f64>().ok().map(|n| (n, n)),
        }
    }

    /// The cohort's attrition table totals its report: with exact counts the report's hidden
    /// cell is its last remaining less the other cells, so one of them is hidden too.
    #[test]
    fn an_attrition_table_links_to_its_cohorts_reports() {
        let tables = [
            attrition("network", "c", &[("", "", "100"), ("100", "35", "65")]),
            report("network", "r", &["sex"], &[(&["F"], "<10"), (&["M"], "60")]),
        ];
        let (shown, hidden) = protect_as(&tables, &exact).unwrap();
        assert_eq!(hidden, vec![(1, 1, "persons".to_string())]);
        assert_eq!(shown[1]["persons"], vec!["<10".to_string(), HIDDEN.into()]);
        nothing_pinned(&tables, &shown);
    }

    /// After protection, no hidden count is pinned by all the links together.
    fn nothing_pinned(tables: &[Released], shown: &Shown) {
        let model = Model::build(tables, shown, &exact).unwrap();
        assert!(!model.links.is_empty());
        for (i, k) in model.known.iter().enumerate() {
            if *k == Some((1.0, 9.0)) {
                let (lo, hi) = model.bounds(i, &model.links).unwrap();
                assert!(hi - lo >= 1.0, "{:?} pinned to {lo}..{hi}", model.cells[i]);
            }
        }
    }

    /// Within an attrition table a small step is its persons before less those remaining,
    /// and a step's persons before are the previous step's remaining.
    #[test]
    fn an_attrition_tables_steps_are_linked() {
        let tables = [attrition(
            "network",
            "c",
            &[("", "", "100"), ("100", "<10", "95"), ("95", "25", "70")],
        )];
        let (shown, hidden) = protect_as(&tables, &exact).unwrap();
        assert!(hidden.contains(&(0, 1, "remaining".to_string())));
        assert_eq!(shown[0]["removed"][1], "<10");
        nothing_pinned(&tables, &shown);
    }

    /// Two reports of one cohort by the same strata share their persons, whatever their
    /// outcomes; a coarser one is the sum of a finer one.
    #[test]
    fn reports_of_one_cohort_share_their_persons() {
        let mut with_o = report(
            "network",
            "r2",
            &["sex"],
            &[(&["F"], "<10"), (&["M"], "85")],
        );
        with_o.about =
            Some(serde_json::json!({"cohorts": ["c"], "outcomes": ["o"], "strata": ["sex"]}));
        let tables = [
            report("network", "r", &[], &[(&[], "90")]),
            report(
                "network",
                "r1",
                &["sex"],
                &[(&["F"], "<10"), (&["M"], "85")],
            ),
            with_o,
        ];
        let (shown, hidden) = protect_as(&tables, &exact).unwrap();
        // r less r1's M pins r1's F; once it is hidden, r less r2's M pins r2's F = r1's F.
        assert!(hidden.contains(&(1, 1, "persons".to_string())));
        assert!(hidden.len() >= 2, "{hidden:?}");
        nothing_pinned(&tables, &shown);
    }

    /// A report by period is no partition of the cohort's persons: it is not linked to the
    /// coarser report or the attrition table.
    #[test]
    fn a_report_by_period_is_not_summed() {
        let tables = [
            attrition("network", "c", &[("", "", "100")]),
            report(
                "network",
                "p",
                &["period"],
                &[(&["1"], "100"), (&["2"], "<10")],
            ),
        ];
        let (_, hidden) = protect_as(&tables, &exact).unwrap();
        assert!(hidden.is_empty());
    }

    #[test]
    fn counts_must_be_shown_as_the_rule_says() {
        assert!(allowed("<10", false).is_ok());
        assert!(allowed("120", false).is_ok());
        assert!(allowed("0", false).is_ok());
        assert!(allowed("", false).is_ok());
        assert!(allowed("7", false).is_err());
        assert!(allowed("123", false).is_err());
        assert!(allowed("<5", false).is_err());
        assert!(allowed("1200", true).is_ok());
        assert!(allowed("1250", true).is_err());
        assert!(allowed("lots", false).is_err());
    }

    /// With rounding, a margin and the other cells leave a hidden cell a wide range: nothing
    /// more is hidden.
    #[test]
    fn rounded_tables_need_no_complementary_suppression() {
        let by_sex = report(
            "network",
            "a",
            &["sex"],
            &[(&["F"], "120"), (&["M"], "<10")],
        );
        let total = report("network", "b", &[], &[(&[], "130")]);
        let (_, hidden) = protect(&[by_sex, total]).unwrap();
        assert!(hidden.is_empty());
    }

    /// Were published counts exact, the network's table less another hospital's would pin
    /// H01's hidden count: a linked count is hidden too, and then nothing is pinned.
    #[test]
    fn a_pinned_hidden_count_gets_a_complementary_suppression() {
        let tables = [
            report("network", "r", &["sex"], &[(&["F"], "25"), (&["M"], "40")]),
            report("H01", "r", &["sex"], &[(&["F"], "<10"), (&["M"], "20")]),
            report("H02", "r", &["sex"], &[(&["F"], "20"), (&["M"], "20")]),
        ];
        let (shown, hidden) = protect_as(&tables, &exact).unwrap();
        assert_eq!(hidden, vec![(2, 0, "persons".to_string())]);
        assert_eq!(shown[2]["persons"], vec![HIDDEN.to_string(), "20".into()]);
        assert_eq!(shown[0]["persons"], vec!["25".to_string(), "40".into()]);
        // With the rule's rounding nothing needs hiding.
        let (_, hidden) = protect(&tables).unwrap();
        assert!(hidden.is_empty());
    }
}
