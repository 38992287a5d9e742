//! The feasibility cube as it may leave (runtime; 集計情報): disclosure control over the whole
//! cube, the tidy long table (Parquet and CSV), the chart page and the audit that plays the
//! attacker.
//!
//! Each count is shown as the network's rule says (0, or rounded to the nearest 10); a count
//! of 1–9 is hidden (null, flagged). The cube's margins make hidden counts recoverable by
//! subtraction (the network's count is the hospitals' counts added, a count without sex is
//! the sexes' added, and for records and new users a count without period or age band is
//! the periods' or bands' added), so more is hidden (complementary suppression) until each
//! small count has a witness: a table the published counts allow in which it is 10 or more
//! (`witness`). The audit plays the attacker with a linear program over every relation the
//! cube's counts keep within and across measures.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use arrow::array::{Array, ArrayRef, BooleanArray, Int64Array, RecordBatch, StringArray};
use arrow::datatypes::{DataType, Field, Schema};
use microlp::{ComparisonOp, OptimizationDirection, Problem};
use mid_compiler::codegen::feasibility::{ALL, COUNTS, Calendar};

use crate::disclosure::{COUNT_BASE, THRESHOLD, round};
use crate::error::{Error, Result};

mod witness;

/// The measures, in `COUNTS` order.
const PERSONS: usize = 0;
const RECORDS: usize = 1;
const NEW_USERS: usize = 2;
const WITH_VALUE: usize = 3;

/// A count as the cube shows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cell {
    /// The measure does not apply to the item (new users of a lab item).
    None,
    /// Published: 0 or rounded to the nearest 10.
    Shown(u64),
    /// Hidden because it is 1–9.
    Small,
    /// Hidden so that a small count cannot be recovered.
    Complementary,
}

impl Cell {
    pub fn hidden(self) -> bool {
        matches!(self, Cell::Small | Cell::Complementary)
    }
}

/// One row of the cube: its strata and its counts (exact, and as shown).
#[derive(Debug, Clone)]
pub struct Row {
    pub item: String,
    pub kind: String,
    pub hospital: String,
    pub period: String,
    pub age_band: String,
    pub sex: String,
    pub exact: [Option<u64>; 4],
    pub shown: [Cell; 4],
}

impl Row {
    fn key(&self) -> [&str; 5] {
        [
            &self.hospital,
            &self.period,
            &self.age_band,
            &self.sex,
            &self.item,
        ]
    }
}

/// The cube of one request.
#[derive(Debug, Clone)]
pub struct Cube {
    pub calendar: Calendar,
    pub rows: Vec<Row>,
}

/// A text column of the result (as `Utf8`, whatever the engine made it).
fn text(b: &RecordBatch, name: &str) -> Result<StringArray> {
    let col = b
        .column_by_name(name)
        .ok_or_else(|| Error::new(format!("the feasibility result has no column {name}")))?;
    let col = arrow::compute::cast(col, &DataType::Utf8).map_err(|e| Error::context(name, e))?;
    col.as_any()
        .downcast_ref::<StringArray>()
        .cloned()
        .ok_or_else(|| Error::new(format!("{name} is not text")))
}

/// Row `i` of a text column; a null reads as empty.
fn text_at(a: &StringArray, i: usize) -> String {
    if a.is_null(i) {
        String::new()
    } else {
        a.value(i).to_string()
    }
}

fn counts(b: &RecordBatch, name: &str) -> Result<Vec<Option<u64>>> {
    let col = b
        .column_by_name(name)
        .ok_or_else(|| Error::new(format!("the feasibility result has no column {name}")))?;
    let col = arrow::compute::cast(col, &DataType::Int64).map_err(|e| Error::context(name, e))?;
    let a = col
        .as_any()
        .downcast_ref::<Int64Array>()
        .ok_or_else(|| Error::new(format!("{name} is not a count")))?;
    Ok((0..a.len())
        .map(|i| (!a.is_null(i)).then(|| a.value(i).max(0) as u64))
        .collect())
}

/// What a shown count's true value can be: within its rounding, and 10 or more (a count of
/// 1-9 is never shown).
fn interval(n: u64) -> (i64, i64) {
    let half = (COUNT_BASE / 2) as i64;
    let n = n as i64;
    ((n - half).max(i64::from(THRESHOLD)), n + half - 1)
}

/// The least a hidden count can be that the attacker knows: a row exists only where
/// someone has a record, so its persons and records are at least 1.
fn least(m: usize) -> i64 {
    i64::from(m == PERSONS || m == RECORDS)
}

/// A count as the rule shows it, before complementary suppression.
fn shown(n: Option<u64>) -> Cell {
    match n {
        None => Cell::None,
        Some(0) => Cell::Shown(0),
        Some(n) if n < u64::from(THRESHOLD) => Cell::Small,
        Some(n) => Cell::Shown(round(n, COUNT_BASE)),
    }
}

/// The exact rows of the `feasibility` plan's result (or of a pooled counts file).
pub fn exact_rows(calendar: Calendar, batches: &[RecordBatch]) -> Result<Vec<Row>> {
    Ok(runs_where(calendar, batches, |_| true)?
        .into_iter()
        .flatten()
        .collect())
}

/// [`exact_rows`] without the network's rows, in runs of one item each (as the result
/// comes, sorted by item): a hospital's own counts as [`Cube::protect_pooled`] takes them.
/// The pool makes the network's rows again (making and dropping them here cost a sixth of a
/// second on the 1 M-patient network), and takes each run whole.
pub fn hospital_runs(calendar: Calendar, batches: &[RecordBatch]) -> Result<Vec<Vec<Row>>> {
    runs_where(calendar, batches, |hospital| hospital != "network")
}

/// The rows of the `feasibility` plan's result whose hospital `keep` takes, in runs of one
/// item each.
fn runs_where(
    calendar: Calendar,
    batches: &[RecordBatch],
    keep: impl Fn(&str) -> bool,
) -> Result<Vec<Vec<Row>>> {
    let mut runs: Vec<Vec<Row>> = Vec::new();
    let mut rows: Vec<Row> = Vec::new();
    for b in batches {
        let item = text(b, "item")?;
        let kind = text(b, "kind")?;
        let hospital = text(b, "hospital")?;
        let period = text(b, calendar.column())?;
        let age = text(b, "age_band")?;
        let sex = text(b, "sex")?;
        let mut exacts = vec![[None; 4]; b.num_rows()];
        for (m, name) in COUNTS.iter().enumerate() {
            for (e, n) in exacts.iter_mut().zip(counts(b, name)?) {
                e[m] = n;
            }
        }
        for (i, exact) in exacts.into_iter().enumerate() {
            if !keep(if hospital.is_null(i) {
                ""
            } else {
                hospital.value(i)
            }) {
                continue;
            }
            if rows.last().is_some_and(|last| last.item != item.value(i)) {
                runs.push(std::mem::take(&mut rows));
            }
            rows.push(Row {
                item: text_at(&item, i),
                kind: text_at(&kind, i),
                hospital: text_at(&hospital, i),
                period: text_at(&period, i),
                age_band: text_at(&age, i),
                sex: text_at(&sex, i),
                exact,
                shown: exact.map(shown),
            });
        }
    }
    if !rows.is_empty() {
        runs.push(rows);
    }
    Ok(runs)
}

/// A row's place in the cube's order.
type Order<'a> = (
    &'a str,
    &'a str,
    (bool, &'a str),
    (bool, i64),
    (bool, &'a str),
);

/// The cube's row order: item, hospital, period, age band (by its first year), sex; each
/// margin (`all`) after its strata.
fn order(r: &Row) -> Order<'_> {
    let last = |s: &str| s == ALL;
    let lo = r
        .age_band
        .split('-')
        .next()
        .and_then(|a| a.parse().ok())
        .unwrap_or(i64::MAX);
    (
        &r.item,
        &r.hospital,
        (last(&r.period), &r.period),
        (last(&r.age_band), lo),
        (last(&r.sex), &r.sex),
    )
}

/// The network's exact rows from the hospitals' (each from its own extraction): every
/// hospital row kept, the network's rows their sums. A hospital's part may hold only its own
/// rows and its network rows (which, at one hospital, are its own again).
pub fn pool(parts: Vec<(String, Vec<Row>)>) -> Result<Vec<Row>> {
    let parts = parts.into_iter().map(|(h, rows)| (h, vec![rows])).collect();
    Ok(hospital_rows_by_item(parts)?
        .into_iter()
        .flat_map(pool_item)
        .collect())
}

/// The hospitals' rows of each item, in the items' order, as runs of one item's rows of one
/// hospital. Each part comes as runs: a run of one item and hospital is taken whole (the
/// rows of [`hospital_runs`]); any other is taken apart, row by row, into such runs. The
/// network rows a hospital's part may hold are left out: the pool makes them again.
fn hospital_rows_by_item(parts: Vec<(String, Vec<Vec<Row>>)>) -> Result<Vec<Vec<Vec<Row>>>> {
    let mut items: BTreeMap<String, Vec<Vec<Row>>> = BTreeMap::new();
    let mut keep = |run: Vec<Row>| {
        if let Some(first) = run.first() {
            items.entry(first.item.clone()).or_default().push(run);
        }
    };
    for (hospital, part) in parts {
        for run in part {
            let whole = run.first().is_some_and(|first| {
                run.iter()
                    .all(|r| r.item == first.item && r.hospital == hospital)
            });
            if whole {
                keep(run);
                continue;
            }
            let mut next: Vec<Row> = Vec::new();
            for r in run {
                if r.hospital == "network" {
                    continue;
                }
                if r.hospital != hospital {
                    return Err(Error::new(format!(
                        "the counts of {hospital} hold a row of {}: a hospital returns only its own counts",
                        r.hospital
                    )));
                }
                if next.last().is_some_and(|last| last.item != r.item) {
                    keep(std::mem::take(&mut next));
                }
                next.push(r);
            }
            keep(next);
        }
    }
    Ok(items.into_values().collect())
}

/// One item's pooled rows, in cube order: its hospitals' rows and the network's, their
/// sums (a patient is never linked across hospitals, so persons add up too).
fn pool_item(runs: Vec<Vec<Row>>) -> Vec<Row> {
    let mut network: BTreeMap<[&str; 4], Row> = BTreeMap::new();
    for r in runs.iter().flatten() {
        let key = [
            r.period.as_str(),
            r.age_band.as_str(),
            r.sex.as_str(),
            r.kind.as_str(),
        ];
        let n = network.entry(key).or_insert_with(|| Row {
            hospital: "network".into(),
            exact: r.exact.map(|c| c.map(|_| 0)),
            ..r.clone()
        });
        for m in 0..4 {
            n.exact[m] = match (n.exact[m], r.exact[m]) {
                (Some(a), Some(b)) => Some(a + b),
                (a, b) => a.or(b),
            };
        }
    }
    let network: Vec<Row> = network
        .into_values()
        .map(|mut r| {
            r.shown = r.exact.map(shown);
            r
        })
        .collect();
    let mut item = Vec::with_capacity(runs.iter().map(Vec::len).sum::<usize>() + network.len());
    for run in runs {
        item.extend(run);
    }
    item.extend(network);
    in_cube_order(item)
}

/// One item's rows in cube order: the item comes first in the order, so each item's rows
/// are sorted on their own (a sort that stays in the processor's cache, where one of half a
/// million rows did not).
fn in_cube_order(mut item: Vec<Row>) -> Vec<Row> {
    item.sort_by(|a, b| order(a).cmp(&order(b)));
    item
}

/// Rows grouped by item, in the items' order.
fn by_item(rows: impl IntoIterator<Item = Row>) -> Vec<Vec<Row>> {
    let mut items: BTreeMap<String, Vec<Row>> = BTreeMap::new();
    for r in rows {
        match items.get_mut(&r.item) {
            Some(item) => item.push(r),
            None => {
                items.insert(r.item.clone(), vec![r]);
            }
        }
    }
    items.into_values().collect()
}

/// The exact counts as a table (the data center's pooled counts, never released).
pub fn exact_table(calendar: Calendar, rows: &[Row]) -> Result<RecordBatch> {
    let mut shown = Cube {
        calendar,
        rows: rows.to_vec(),
    };
    for r in &mut shown.rows {
        r.shown = r.exact.map(|n| n.map_or(Cell::None, Cell::Shown));
    }
    let t = shown.table()?;
    // Without the flag: nothing is hidden.
    let keep: Vec<usize> = (0..t.num_columns())
        .filter(|&i| t.schema().field(i).name() != "suppressed")
        .collect();
    t.project(&keep)
        .map_err(|e| Error::context("the pooled counts", e))
}

impl Cube {
    /// The cube of the exact counts (the `feasibility` plan's result), with disclosure
    /// control applied.
    pub fn protect(calendar: Calendar, batches: &[RecordBatch]) -> Result<Cube> {
        Cube::protect_rows(calendar, exact_rows(calendar, batches)?)
    }

    /// Disclosure control over exact rows, in the cube's order.
    ///
    /// No sum and no relation joins two items, so each item is protected on its own, on as
    /// many threads as the machine has; the result does not depend on which thread took it.
    pub fn protect_rows(calendar: Calendar, rows: Vec<Row>) -> Result<Cube> {
        Self::protect_each(calendar, by_item(rows), in_cube_order)
    }

    /// The hospitals' exact rows pooled ([`pool`]) and protected, each item pooled on the
    /// thread that protects it: pooled first, alone, the network's sums kept one core of two
    /// idle for a third of a second on the 1 M-patient network.
    pub fn protect_pooled(calendar: Calendar, parts: Vec<(String, Vec<Vec<Row>>)>) -> Result<Cube> {
        Self::protect_each(calendar, hospital_rows_by_item(parts)?, pool_item)
    }

    /// Each item's rows made by `make` (in cube order) from its part of `items` (in the
    /// items' order) and protected, on the thread that protects them.
    fn protect_each<T: Send>(
        calendar: Calendar,
        items: Vec<T>,
        make: impl Fn(T) -> Vec<Row> + Sync,
    ) -> Result<Cube> {
        let next = std::sync::atomic::AtomicUsize::new(0);
        let done: Vec<std::sync::Mutex<Option<Result<Vec<Row>>>>> =
            items.iter().map(|_| std::sync::Mutex::new(None)).collect();
        let threads = std::thread::available_parallelism()
            .map_or(1, |n| n.get())
            .min(items.len().max(1));
        // Each item's rows are taken by the thread that protects them, not copied.
        let items: Vec<std::sync::Mutex<Option<T>>> = items
            .into_iter()
            .map(|item| std::sync::Mutex::new(Some(item)))
            .collect();
        std::thread::scope(|s| {
            for _ in 0..threads {
                s.spawn(|| {
                    loop {
                        let k = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                        let Some(rows) = items.get(k) else { break };
                        let Some(mut rows) = rows.lock().ok().and_then(|mut r| r.take()).map(&make)
                        else {
                            break;
                        };
                        let result = witness::protect(&mut rows)
                            .map(|_| rows)
                            .map_err(Error::new);
                        if let Ok(mut slot) = done[k].lock() {
                            *slot = Some(result);
                        }
                    }
                });
            }
        });
        let mut protected = Vec::with_capacity(done.len());
        for slot in done {
            let result = slot.into_inner().ok().flatten().ok_or_else(|| {
                Error::new("internal error: an item's disclosure control did not finish")
            })?;
            protected.push(result?);
        }
        let mut rows = Vec::with_capacity(protected.iter().map(Vec::len).sum());
        for item in protected {
            rows.extend(item);
        }
        Ok(Cube { calendar, rows })
    }

    /// Every sum the cube shows, per measure: (the margin's row, the rows it adds up).
    fn sums(&self) -> Vec<(usize, usize, Vec<usize>)> {
        let index: BTreeMap<[&str; 5], usize> = self
            .rows
            .iter()
            .enumerate()
            .map(|(i, r)| (r.key(), i))
            .collect();
        // Per measure, the strata over which its counts add up: a person is at one hospital
        // and of one sex; a record, and a new user's first record, are in one period and one
        // age band too.
        let additive = |m: usize| -> &'static [usize] {
            match m {
                RECORDS | NEW_USERS => &[0, 1, 2, 3],
                _ => &[0, 3],
            }
        };
        let mut groups: BTreeMap<(usize, usize, usize), Vec<usize>> = BTreeMap::new();
        for (i, r) in self.rows.iter().enumerate() {
            let key = r.key();
            for m in 0..4 {
                if r.shown[m] == Cell::None {
                    continue;
                }
                for &d in additive(m) {
                    let total = if d == 0 { "network" } else { ALL };
                    if key[d] == total {
                        continue;
                    }
                    let mut parent = key;
                    parent[d] = total;
                    if let Some(&p) = index.get(&parent) {
                        groups.entry((p, m, d)).or_default().push(i);
                    }
                }
            }
        }
        groups
            .into_iter()
            .map(|((p, m, _), children)| (p, m, children))
            .collect()
    }

    /// How many counts are hidden: (small, complementary).
    pub fn hidden(&self) -> (usize, usize) {
        let cells = self.rows.iter().flat_map(|r| r.shown.iter());
        let small = cells.clone().filter(|c| **c == Cell::Small).count();
        let comp = cells.filter(|c| **c == Cell::Complementary).count();
        (small, comp)
    }

    /// The tidy table as it may leave: strata, counts (null where hidden or not applying)
    /// and a flag for rows with a hidden count.
    pub fn table(&self) -> Result<RecordBatch> {
        let text = |f: &dyn Fn(&Row) -> &str| -> ArrayRef {
            Arc::new(StringArray::from(
                self.rows
                    .iter()
                    .map(|r| f(r).to_string())
                    .collect::<Vec<_>>(),
            ))
        };
        let mut fields = vec![
            Field::new("item", DataType::Utf8, false),
            Field::new("kind", DataType::Utf8, false),
            Field::new("hospital", DataType::Utf8, false),
            Field::new(self.calendar.column(), DataType::Utf8, false),
            Field::new("age_band", DataType::Utf8, false),
            Field::new("sex", DataType::Utf8, false),
        ];
        let mut cols: Vec<ArrayRef> = vec![
            text(&|r| &r.item),
            text(&|r| &r.kind),
            text(&|r| &r.hospital),
            text(&|r| &r.period),
            text(&|r| &r.age_band),
            text(&|r| &r.sex),
        ];
        for (m, name) in COUNTS.iter().enumerate() {
            fields.push(Field::new(*name, DataType::Int64, true));
            cols.push(Arc::new(Int64Array::from(
                self.rows
                    .iter()
                    .map(|r| match r.shown[m] {
                        Cell::Shown(n) => Some(n as i64),
                        _ => None,
                    })
                    .collect::<Vec<_>>(),
            )));
        }
        fields.push(Field::new("suppressed", DataType::Boolean, false));
        cols.push(Arc::new(BooleanArray::from(
            self.rows
                .iter()
                .map(|r| r.shown.iter().any(|c| c.hidden()))
                .collect::<Vec<_>>(),
        )));
        RecordBatch::try_new(Arc::new(Schema::new(fields)), cols)
            .map_err(|e| Error::context("the feasibility table", e))
    }

    /// Plays the attacker: for every hidden small count, the largest value the published
    /// counts and every relation between them allow (a linear program per item). A problem
    /// is a hidden small count that cannot be 10 or more: the published counts would tell
    /// that it is small.
    pub fn audit(&self) -> Vec<String> {
        let sums = self.sums();
        let mut problems = Vec::new();
        for rows in self.items().values() {
            match self.attack(rows, &sums) {
                Ok(found) => problems.extend(found.into_iter().map(|(i, m, at_most)| {
                    format!(
                        "{}: the published counts say it is at most {at_most:.0}",
                        self.what(i, m)
                    )
                })),
                Err(e) => problems.push(e),
            }
        }
        problems
    }

    /// The rows of each item.
    fn items(&self) -> BTreeMap<&str, Vec<usize>> {
        let mut by_item: BTreeMap<&str, Vec<usize>> = BTreeMap::new();
        for (i, r) in self.rows.iter().enumerate() {
            by_item.entry(&r.item).or_default().push(i);
        }
        by_item
    }

    /// A count in words, for the audit's findings.
    fn what(&self, i: usize, m: usize) -> String {
        let r = &self.rows[i];
        format!(
            "{} {} at {} ({} {}, age {}, sex {})",
            r.item,
            COUNTS[m],
            r.hospital,
            self.calendar.column(),
            r.period,
            r.age_band,
            r.sex
        )
    }

    /// The attacker's linear program over one item's rows: each hidden small count that
    /// the published counts keep below 10, with the largest value they allow.
    ///
    /// Counts joined by no relation through unknown counts (a shown zero is known) are
    /// solved apart. In each part one problem serves every count: a
    /// variable `t` in [0, 10] is maximised under `t <= x_k + z_k` for each small count `x_k`,
    /// with `z_k` in [0, 10]; fixing `z_k` at 0 makes `t` the largest `x_k` allowed, and the
    /// solver starts each count from the last one's solution. Each solution is a witness for
    /// every count it already puts at 10 or more: those need no problem of their own.
    fn attack(
        &self,
        rows: &[usize],
        sums: &[(usize, usize, Vec<usize>)],
    ) -> std::result::Result<Vec<(usize, usize, f64)>, String> {
        let model = Relations::of(self, rows, sums);
        let limit = f64::from(THRESHOLD);
        let known = |c: usize| model.bounds[c].0 == model.bounds[c].1;
        // The parts: unknown counts joined through relations.
        let n = model.cells.len();
        let mut part: Vec<usize> = (0..n).collect();
        fn root(part: &mut [usize], mut c: usize) -> usize {
            while part[c] != c {
                part[c] = part[part[c]];
                c = part[c];
            }
            c
        }
        for (terms, _) in &model.relations {
            let unknown: Vec<usize> = terms
                .iter()
                .map(|(c, _)| *c)
                .filter(|&c| !known(c))
                .collect();
            for w in unknown.windows(2) {
                let (a, b) = (root(&mut part, w[0]), root(&mut part, w[1]));
                part[a.max(b)] = a.min(b);
            }
        }
        let mut parts: BTreeMap<usize, Vec<usize>> = BTreeMap::new();
        for c in 0..n {
            if !known(c) {
                let r = root(&mut part, c);
                parts.entry(r).or_default().push(c);
            }
        }
        let mut relations_of: BTreeMap<usize, Vec<usize>> = BTreeMap::new();
        for (k, (terms, _)) in model.relations.iter().enumerate() {
            if let Some(&(c, _)) = terms.iter().find(|(c, _)| !known(*c)) {
                let r = root(&mut part, c);
                relations_of.entry(r).or_default().push(k);
            }
        }
        let item = &self.rows[rows[0]].item;
        let failed = |what: &str, e: &dyn std::fmt::Display| {
            format!("{what}: the audit could not solve: {e}")
        };
        let solved = |o: std::result::Result<microlp::SolveOutcome, microlp::Error>, what: &str| {
            o.and_then(|o| {
                o.into_solution()
                    .map_err(|e| microlp::Error::InternalError(format!("{e:?}")))
            })
            .map_err(|e| failed(what, &e))
        };
        let mut found = Vec::new();
        for (r, cells) in parts {
            let open: Vec<usize> = cells
                .iter()
                .copied()
                .filter(|&c| {
                    let (i, m) = model.cells[c];
                    self.rows[i].shown[m] == Cell::Small
                })
                .collect();
            if open.is_empty() {
                continue;
            }
            let mut p = Problem::new(OptimizationDirection::Maximize);
            let vars: BTreeMap<usize, microlp::Variable> = cells
                .iter()
                .map(|&c| (c, p.add_var(0.0, model.bounds[c])))
                .collect();
            for &k in relations_of.get(&r).into_iter().flatten() {
                let (terms, op) = &model.relations[k];
                let mut rhs = 0.0;
                let mut unknown = Vec::new();
                for &(c, coef) in terms {
                    match vars.get(&c) {
                        Some(v) => unknown.push((*v, coef)),
                        None => rhs -= coef * model.bounds[c].0,
                    }
                }
                p.add_constraint(unknown.as_slice(), *op, rhs);
            }
            let t = p.add_var(1.0, (0.0, limit));
            let z: Vec<_> = open
                .iter()
                .map(|c| {
                    let z = p.add_var(0.0, (0.0, limit));
                    p.add_constraint(
                        [(t, 1.0), (vars[c], -1.0), (z, -1.0)],
                        ComparisonOp::Le,
                        0.0,
                    );
                    z
                })
                .collect();
            let mut solution = solved(p.solve(), item)?;
            // A solution is a witness for every count it puts at 10 or more.
            let mut free = vec![false; open.len()];
            let witness = |s: &microlp::Solution, free: &mut [bool]| {
                for (k, c) in open.iter().enumerate() {
                    free[k] |= s.var_value(vars[c]) >= limit - 1e-6;
                }
            };
            witness(&solution, &mut free);
            for (k, (&c, &zk)) in open.iter().zip(&z).enumerate() {
                if free[k] {
                    continue;
                }
                let (i, m) = model.cells[c];
                let what = self.what(i, m);
                let fixed = solved(solution.fix_var(zk, 0.0), &what)?;
                let at_most = fixed.var_value(t);
                if at_most < limit - 1e-6 {
                    found.push((i, m, at_most));
                } else {
                    witness(&fixed, &mut free);
                }
                solution = solved(fixed.unfix_var(zk).map(|(o, _)| o), &what)?;
            }
        }
        found.sort_by_key(|&(i, m, _)| (i, m));
        Ok(found)
    }

    /// The chart page: self-contained HTML, one small chart per item of the network's
    /// persons per period by sex, and the network's totals. A hidden count is drawn as no bar
    /// and marked, never as a number.
    pub fn html(&self, heading: &str) -> String {
        use crate::network::summary::esc;
        // Each item's network rows, items in the cube's order (one pass: the cube of a
        // network has hundreds of thousands of rows).
        let mut items: Vec<(&str, &str)> = Vec::new();
        let mut network: HashMap<&str, Vec<&Row>> = HashMap::new();
        for r in &self.rows {
            if !network.contains_key(r.item.as_str()) {
                items.push((&r.item, &r.kind));
            }
            let rows = network.entry(&r.item).or_default();
            if r.hospital == "network" {
                rows.push(r);
            }
        }
        let mut periods: Vec<&str> = self
            .rows
            .iter()
            .map(|r| r.period.as_str())
            .filter(|p| *p != ALL)
            .collect();
        periods.sort();
        periods.dedup();
        let text = |c: Cell| match c {
            Cell::Shown(n) => n.to_string(),
            Cell::None => "-".into(),
            Cell::Small | Cell::Complementary => "suppressed".into(),
        };
        let mut out = String::new();
        out.push_str("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n");
        out.push_str(&format!("<title>{}</title>\n", esc(heading)));
        out.push_str("<style>body{font-family:sans-serif;margin:1.5em;color:#222}section{display:inline-block;vertical-align:top;margin:0 1.5em 1.5em 0}h2{font-size:1em;margin:.2em 0}table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #ccc;padding:.2em .5em;text-align:right}th{background:#f4f4f4}td.l,th.l{text-align:left}.F{fill:#c2185b}.M{fill:#1565c0}.U{fill:#777}.hidden{fill:none;stroke:#999;stroke-dasharray:2,2}.legend span{margin-right:1em}</style>\n</head>\n<body>\n");
        out.push_str(&format!("<h1>{}</h1>\n", esc(heading)));
        out.push_str("<p>Counts of persons are 0 or rounded to the nearest 10. A count of 1&ndash;9, and counts from which one could be worked out, are suppressed: shown as <em>suppressed</em> in the tables and as a dashed outline, with no bar, in the charts.</p>\n");
        out.push_str("<p class=\"legend\"><span><svg width=\"10\" height=\"10\"><rect class=\"F\" width=\"10\" height=\"10\"/></svg> F</span><span><svg width=\"10\" height=\"10\"><rect class=\"M\" width=\"10\" height=\"10\"/></svg> M</span><span><svg width=\"10\" height=\"10\"><rect class=\"U\" width=\"10\" height=\"10\"/></svg> U</span><span><svg width=\"10\" height=\"10\"><rect class=\"hidden\" x=\"1\" y=\"1\" width=\"8\" height=\"8\"/></svg> suppressed</span></p>\n");
        // Totals of the network.
        out.push_str(&format!(
            "<table id=\"totals\"><tr><th class=\"l\">item</th><th class=\"l\">kind</th><th>{}</th></tr>\n",
            COUNTS.join("</th><th>")
        ));
        for (item, kind) in &items {
            if let Some(r) = network[item]
                .iter()
                .find(|r| r.period == ALL && r.age_band == ALL && r.sex == ALL)
            {
                out.push_str(&format!(
                    "<tr><td class=\"l\">{}</td><td class=\"l\">{}</td><td>{}</td></tr>\n",
                    esc(item),
                    esc(kind),
                    r.shown
                        .iter()
                        .map(|c| text(*c))
                        .collect::<Vec<_>>()
                        .join("</td><td>")
                ));
            }
        }
        out.push_str("</table>\n");
        let (w, h, bar) = (40.0 + 14.0 * periods.len() as f64, 140.0, 3.0);
        for (item, _) in &items {
            let cells: HashMap<(&str, &str), &Row> = network[item]
                .iter()
                .filter(|r| r.age_band == ALL && r.period != ALL && r.sex != ALL)
                .map(|r| ((r.period.as_str(), r.sex.as_str()), *r))
                .collect();
            let top = cells
                .values()
                .filter_map(|r| match r.shown[PERSONS] {
                    Cell::Shown(n) => Some(n),
                    _ => None,
                })
                .max()
                .unwrap_or(0)
                .max(10) as f64;
            out.push_str(&format!(
                "<section class=\"item\" data-item=\"{}\"><h2>{}</h2>\n<svg role=\"img\" aria-label=\"persons per {} by sex\" width=\"{w}\" height=\"{}\" viewBox=\"0 0 {w} {}\">\n",
                esc(item),
                esc(item),
                self.calendar.column().replace('_', " "),
                h + 30.0,
                h + 30.0
            ));
            out.push_str(&format!(
                "<text x=\"0\" y=\"10\" font-size=\"9\">{top}</text><line x1=\"36\" y1=\"{h}\" x2=\"{w}\" y2=\"{h}\" stroke=\"#999\"/>\n"
            ));
            for (pi, period) in periods.iter().enumerate() {
                let x0 = 40.0 + pi as f64 * 14.0;
                for (si, sex) in ["F", "M", "U"].iter().enumerate() {
                    let x = x0 + si as f64 * (bar + 1.0);
                    let Some(r) = cells.get(&(*period, *sex)) else {
                        continue;
                    };
                    match r.shown[PERSONS] {
                        Cell::Shown(n) => {
                            let bh = (n as f64 / top) * (h - 12.0);
                            out.push_str(&format!(
                                "<rect class=\"{sex}\" x=\"{x}\" y=\"{:.1}\" width=\"{bar}\" height=\"{bh:.1}\"><title>{period} {sex}: {n}</title></rect>\n",
                                h - bh
                            ));
                        }
                        Cell::Small | Cell::Complementary => out.push_str(&format!(
                            "<rect class=\"hidden\" x=\"{x}\" y=\"{:.1}\" width=\"{bar}\" height=\"6\"><title>{period} {sex}: suppressed</title></rect>\n",
                            h - 6.0
                        )),
                        Cell::None => {}
                    }
                }
                if pi == 0 || pi + 1 == periods.len() {
                    out.push_str(&format!(
                        "<text x=\"{x0}\" y=\"{}\" font-size=\"9\">{}</text>\n",
                        h + 12.0,
                        esc(period)
                    ));
                }
            }
            out.push_str("</svg></section>\n");
        }
        out.push_str("</body>\n</html>\n");
        out
    }
    /// The persons (and persons with a value) of a row without period or age band, and the
    /// rows with them that it is not the sum of.
    fn overlapping_sums(&self, rows: &[usize]) -> Vec<(usize, usize, Vec<usize>)> {
        let index: BTreeMap<[&str; 5], usize> =
            rows.iter().map(|&i| (self.rows[i].key(), i)).collect();
        let mut groups: BTreeMap<(usize, usize, usize), Vec<usize>> = BTreeMap::new();
        for &i in rows {
            let key = self.rows[i].key();
            for m in [PERSONS, WITH_VALUE] {
                for d in [1, 2] {
                    if key[d] == ALL {
                        continue;
                    }
                    let mut parent = key;
                    parent[d] = ALL;
                    if let Some(&p) = index.get(&parent) {
                        groups.entry((p, m, d)).or_default().push(i);
                    }
                }
            }
        }
        groups.into_iter().map(|((p, m, _), c)| (p, m, c)).collect()
    }
}

/// What the attacker knows of one item: a variable per applying count with the bounds the
/// published cube gives it, and every relation the counts keep (`terms op 0`).
struct Relations {
    /// (row, measure) of each count.
    cells: Vec<(usize, usize)>,
    bounds: Vec<(f64, f64)>,
    relations: Vec<(Vec<(usize, f64)>, ComparisonOp)>,
}

impl Relations {
    fn of(cube: &Cube, rows: &[usize], sums: &[(usize, usize, Vec<usize>)]) -> Relations {
        let mut r = Relations {
            cells: Vec::new(),
            bounds: Vec::new(),
            relations: Vec::new(),
        };
        let mut var = BTreeMap::new();
        for &i in rows {
            for m in 0..4 {
                let b = match cube.rows[i].shown[m] {
                    Cell::None => continue,
                    Cell::Shown(0) => (0.0, 0.0),
                    Cell::Shown(n) => {
                        let (lo, hi) = interval(n);
                        (lo as f64, hi as f64)
                    }
                    Cell::Small | Cell::Complementary => (least(m) as f64, f64::INFINITY),
                };
                var.insert((i, m), r.cells.len());
                r.cells.push((i, m));
                r.bounds.push(b);
            }
        }
        let in_item: std::collections::BTreeSet<usize> = rows.iter().copied().collect();
        for (parent, m, children) in sums {
            let Some(&pv) = var.get(&(*parent, *m)) else {
                continue;
            };
            if !in_item.contains(parent) {
                continue;
            }
            let mut terms = vec![(pv, 1.0)];
            terms.extend(
                children
                    .iter()
                    .filter_map(|c| var.get(&(*c, *m)))
                    .map(|v| (*v, -1.0)),
            );
            r.relations.push((terms, ComparisonOp::Eq));
        }
        // Persons by period or age band: a person can be in several, so the margin is at
        // most their sum and at least each.
        for (parent, m, children) in cube.overlapping_sums(rows) {
            let Some(&pv) = var.get(&(parent, m)) else {
                continue;
            };
            let cs: Vec<usize> = children
                .iter()
                .filter_map(|c| var.get(&(*c, m)).copied())
                .collect();
            let mut terms = vec![(pv, 1.0)];
            terms.extend(cs.iter().map(|c| (*c, -1.0)));
            r.relations.push((terms, ComparisonOp::Le));
            for c in cs {
                r.relations
                    .push((vec![(pv, 1.0), (c, -1.0)], ComparisonOp::Ge));
            }
        }
        // Within a row: persons at most records; new users and persons with a value at most
        // persons.
        for &i in rows {
            for (small, big) in [
                (PERSONS, RECORDS),
                (NEW_USERS, PERSONS),
                (WITH_VALUE, PERSONS),
            ] {
                if let (Some(&s), Some(&b)) = (var.get(&(i, small)), var.get(&(i, big))) {
                    r.relations
                        .push((vec![(s, 1.0), (b, -1.0)], ComparisonOp::Le));
                }
            }
        }
        r
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(hospital: &str, sex: &str, persons: u64) -> Row {
        let exact = [Some(persons), Some(persons * 2), None, None];
        Row {
            item: "x".into(),
            kind: "condition".into(),
            hospital: hospital.into(),
            period: ALL.into(),
            age_band: ALL.into(),
            sex: sex.into(),
            exact,
            shown: exact.map(shown),
        }
    }

    /// A hospital's small count is the network's less the other hospital's: one more
    /// count of that sum is hidden, and the attacker can no longer tell it is small.
    #[test]
    fn a_small_count_is_never_the_only_hidden_one_of_a_sum() {
        let rows = vec![
            row("H01", ALL, 3),
            row("H02", ALL, 10),
            row("network", ALL, 13),
        ];
        // Without complementary suppression the attacker pins it.
        let bare = Cube {
            calendar: Calendar::Quarter,
            rows: rows.clone(),
        };
        assert!(!bare.audit().is_empty());
        let cube = Cube::protect_rows(Calendar::Quarter, rows).expect("protects");
        let at = |h: &str| cube.rows.iter().find(|r| r.hospital == h).expect("row");
        assert_eq!(at("H01").shown[PERSONS], Cell::Small);
        assert!(at("H02").shown[PERSONS].hidden() || at("network").shown[PERSONS].hidden());
        assert!(cube.audit().is_empty(), "{:?}", cube.audit());
    }

    /// A condition's cube (by quarter and sex, ages `all`) counted from made-up persons: each
    /// (hospital, sex, the quarters they have records in, records per quarter).
    /// A made-up person: hospital, sex, and records per quarter.
    type Person<'a> = (&'a str, &'a str, Vec<(&'a str, u64)>);

    fn cube_of(persons: &[Person]) -> Vec<Row> {
        let mut cells: BTreeMap<
            (String, String, String),
            (std::collections::BTreeSet<usize>, u64),
        > = BTreeMap::new();
        for (k, (h, x, records)) in persons.iter().enumerate() {
            for (q, n) in records {
                for hh in [*h, "network"] {
                    for qq in [*q, ALL] {
                        for xx in [*x, ALL] {
                            let c = cells.entry((hh.into(), qq.into(), xx.into())).or_default();
                            c.0.insert(k);
                            c.1 += n;
                        }
                    }
                }
            }
        }
        cells
            .into_iter()
            .map(|((h, q, x), (who, records))| {
                let exact = [Some(who.len() as u64), Some(records), None, None];
                Row {
                    item: "x".into(),
                    kind: "condition".into(),
                    hospital: h,
                    period: q,
                    age_band: ALL.into(),
                    sex: x,
                    exact,
                    shown: exact.map(shown),
                }
            })
            .collect()
    }

    /// Cubes of random small networks: after protection the attacker's program leaves every
    /// small count free to be 10 or more.
    #[test]
    fn protection_holds_on_random_cubes() {
        let mut seed = 7_u64;
        let mut next = |n: u64| {
            seed = seed
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (seed >> 33) % n
        };
        let (hospitals, quarters, sexes) = (
            ["H01", "H02", "H03"],
            ["2020Q1", "2020Q2", "2020Q3"],
            ["F", "M"],
        );
        for _ in 0..40 {
            let mut persons = Vec::new();
            for h in hospitals {
                for _ in 0..next(14) {
                    let x = sexes[next(2) as usize];
                    let mut records = Vec::new();
                    for q in quarters {
                        if next(3) > 0 {
                            records.push((q, 1 + next(4)));
                        }
                    }
                    if !records.is_empty() {
                        persons.push((h, x, records));
                    }
                }
            }
            let rows = cube_of(&persons);
            let cube = Cube::protect_rows(Calendar::Quarter, rows).expect("protects");
            let problems = cube.audit();
            assert!(problems.is_empty(), "{}", problems.join("\n"));
            // Nothing that is shown was changed; every small count is hidden.
            for r in &cube.rows {
                for m in 0..2 {
                    match (r.exact[m], r.shown[m]) {
                        (Some(n), Cell::Shown(v)) => {
                            assert_eq!(v, if n == 0 { 0 } else { round(n, COUNT_BASE) })
                        }
                        (Some(n), Cell::Small) => assert!((1..10).contains(&n)),
                        (Some(n), Cell::Complementary) => assert!(n > 0),
                        other => panic!("{other:?}"),
                    }
                }
            }
        }
    }

    /// A made-up person of a four-strata cube: hospital, sex, and records as (quarter, age
    /// band, records, whether one has a value).
    type Patient<'a> = (&'a str, &'a str, Vec<(&'a str, &'a str, u64, bool)>);

    /// A drug's (new users) or a lab item's (persons with a value) cube as the plan gives
    /// it: per hospital and the network, by quarter or by age band, by sex and in all.
    fn full_cube_of(patients: &[Patient], lab: bool) -> Vec<Row> {
        type Cell4 = (
            std::collections::BTreeSet<usize>,
            u64,
            u64,
            std::collections::BTreeSet<usize>,
        );
        let mut cells: BTreeMap<[String; 4], Cell4> = BTreeMap::new();
        for (k, (h, x, records)) in patients.iter().enumerate() {
            let first = records.iter().map(|r| r.0).min();
            for &(q, a, n, valued) in records {
                // A new user's first record: the first quarter's first record only.
                let new = Some(q) == first
                    && records.iter().position(|r| r.0 == q)
                        == records.iter().position(|r| r.0 == q && r.1 == a);
                for hh in [*h, "network"] {
                    for qq in [q, ALL] {
                        for aa in [a, ALL] {
                            // The cube's groupings: by period or by age band, not both.
                            if qq != ALL && aa != ALL {
                                continue;
                            }
                            for xx in [*x, ALL] {
                                let key = [hh, qq, aa, xx].map(String::from);
                                let c = cells.entry(key).or_default();
                                c.0.insert(k);
                                c.1 += n;
                                c.2 += u64::from(new);
                                if valued {
                                    c.3.insert(k);
                                }
                            }
                        }
                    }
                }
            }
        }
        cells
            .into_iter()
            .map(|([h, q, a, x], (who, records, new, valued))| {
                let persons = who.len() as u64;
                let exact = if lab {
                    [
                        Some(persons),
                        Some(records),
                        None,
                        Some(valued.len() as u64),
                    ]
                } else {
                    [Some(persons), Some(records), Some(new), None]
                };
                Row {
                    item: "x".into(),
                    kind: if lab { "lab" } else { "drug" }.into(),
                    hospital: h,
                    period: q,
                    age_band: a,
                    sex: x,
                    exact,
                    shown: exact.map(shown),
                }
            })
            .collect()
    }

    /// Cubes with every stratum and measure: each witness is a table the attacker's relations
    /// allow, and the attacker's program bounds no small count below 10 after protection.
    /// Thirty random networks of the plan's shape, drugs and labs alternately, sparse and
    /// dense (a few patients of unknown sex make a sparse stratum): each cube's rows in the
    /// cube's order, small counts marked.
    fn random_full_cubes() -> Vec<Vec<Row>> {
        let mut seed = 11_u64;
        let mut next = |n: u64| {
            seed = seed
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (seed >> 33) % n
        };
        let hospitals = ["H01", "H02", "H03", "H04"];
        let quarters = ["2020Q1", "2020Q2", "2020Q3"];
        let bands = ["20-29", "30-39", "40-49"];
        let mut cubes = Vec::new();
        for round_ in 0..30 {
            let lab = round_ % 2 == 1;
            // Sparse and denser networks: most counts small, or most shown.
            let size = [40, 120, 400][round_ % 3];
            let mut patients = Vec::new();
            for h in hospitals {
                for _ in 0..next(size) {
                    let x = match next(40) {
                        0 => "U",
                        n => ["F", "M"][(n % 2) as usize],
                    };
                    let mut records = Vec::new();
                    let mut band = next(3) as usize;
                    for q in quarters {
                        if next(3) == 0 {
                            records.push((q, bands[band], 1 + next(5), next(2) == 0));
                        }
                        // Some grow older by a band within the study.
                        if next(6) == 0 {
                            band = (band + 1).min(2);
                        }
                    }
                    if !records.is_empty() {
                        patients.push((h, x, records));
                    }
                }
            }
            let mut rows = full_cube_of(&patients, lab);
            rows.sort_by(|a, b| order(a).cmp(&order(b)));
            cubes.push(rows);
        }
        cubes
    }

    /// Every kind of move the witness search makes, not only the one it takes, is a table
    /// the attacker's own relations allow once the counts it hides are hidden: a kind of move
    /// tried only before hiding a whole item's total is checked as often as the others.
    #[test]
    fn every_kind_of_move_is_a_table_the_attacker_allows() {
        let mut kinds: BTreeMap<&str, usize> = BTreeMap::new();
        for rows in random_full_cubes() {
            for i in 0..rows.len() {
                for m in 0..4 {
                    if rows[i].shown[m] != Cell::Small {
                        continue;
                    }
                    for (kind, w, hide) in witness::candidates(&rows, i, m) {
                        let mut mine = rows.clone();
                        for (j, m2) in hide {
                            mine[j].shown[m2] = Cell::Complementary;
                        }
                        let cube = Cube {
                            calendar: Calendar::Quarter,
                            rows: mine,
                        };
                        if let Err(e) = cube.allows(&w) {
                            panic!("the {kind} move for {} breaks {e}", cube.what(i, m));
                        }
                        *kinds.entry(kind).or_default() += 1;
                    }
                }
            }
        }
        for kind in witness::KINDS {
            assert!(
                kinds.get(kind).is_some_and(|&n| n > 0),
                "no {kind} move was ever found: {kinds:?}"
            );
        }
    }

    #[test]
    fn protection_holds_on_random_full_cubes() {
        let mut hidden = 0;
        for rows in random_full_cubes() {
            // Each witness, checked against the attacker's own relations: a table they allow.
            let mut mine = rows.clone();
            let witnesses = witness::protect(&mut mine).expect("protects");
            let protected = Cube {
                calendar: Calendar::Quarter,
                rows: mine,
            };
            for w in &witnesses {
                if let Err(e) = protected.allows(w) {
                    panic!(
                        "the witness for {} breaks {e}",
                        protected.what(w.target.0, w.target.1)
                    );
                }
            }
            let cube = Cube::protect_rows(Calendar::Quarter, rows).expect("protects");
            let problems = cube.audit();
            assert!(problems.is_empty(), "{}", problems.join("\n"));
            hidden += cube.hidden().1;
            for r in &cube.rows {
                for m in 0..4 {
                    match (r.exact[m], r.shown[m]) {
                        (Some(n), Cell::Shown(v)) => {
                            assert_eq!(v, if n == 0 { 0 } else { round(n, COUNT_BASE) })
                        }
                        (Some(n), Cell::Small) => assert!((1..10).contains(&n)),
                        (Some(n), Cell::Complementary) => assert!(n >= 10),
                        (None, Cell::None) => {}
                        other => panic!("{other:?}"),
                    }
                }
            }
        }
        assert!(
            hidden > 0,
            "the random cubes never needed complementary suppression"
        );
    }

    impl Cube {
        /// Whether the published counts allow the witness's table, by the attacker's own
        /// relations; else which relation it breaks.
        fn allows(&self, w: &witness::Witness) -> std::result::Result<(), String> {
            let rows: Vec<usize> = (0..self.rows.len()).collect();
            let model = Relations::of(self, &rows, &self.sums());
            let value = |c: usize| {
                let (i, m) = model.cells[c];
                let moved = w
                    .corners
                    .iter()
                    .find(|(j, _)| *j == i)
                    .map_or(0, |(_, g)| g[m]);
                self.rows[i].exact[m].unwrap_or(0) as f64 + moved as f64
            };
            let target = model
                .cells
                .iter()
                .position(|&c| c == w.target)
                .ok_or("no such count")?;
            if value(target) < f64::from(THRESHOLD) {
                return Err("its own count stays below 10".into());
            }
            for c in 0..model.cells.len() {
                let (lo, hi) = model.bounds[c];
                if value(c) < lo || value(c) > hi {
                    let (i, m) = model.cells[c];
                    return Err(format!("the bounds of {}", self.what(i, m)));
                }
            }
            for (terms, op) in &model.relations {
                let sum: f64 = terms.iter().map(|&(c, k)| k * value(c)).sum();
                let holds = match op {
                    ComparisonOp::Eq => sum == 0.0,
                    ComparisonOp::Le => sum <= 0.0,
                    ComparisonOp::Ge => sum >= 0.0,
                };
                if !holds {
                    let (i, m) = model.cells[terms[0].0];
                    return Err(format!("a relation of {}", self.what(i, m)));
                }
            }
            Ok(())
        }
    }

    /// The data center's network rows are the hospitals' added; a hospital's counts holding
    /// another hospital's rows are refused.
    #[test]
    fn the_network_is_the_hospitals_added() {
        let rows = cube_of(&[
            ("H01", "F", vec![("2020Q1", 2)]),
            ("H02", "F", vec![("2020Q1", 3)]),
            ("H02", "M", vec![("2020Q2", 1)]),
        ]);
        let part =
            |h: &str| -> Vec<Row> { rows.iter().filter(|r| r.hospital == h).cloned().collect() };
        let pooled = pool(vec![
            ("H01".into(), part("H01")),
            ("H02".into(), part("H02")),
        ])
        .expect("pools");
        let mut direct = rows.clone();
        direct.sort_by(|a, b| order(a).cmp(&order(b)));
        let key = |r: &Row| (r.hospital.clone(), r.period.clone(), r.sex.clone(), r.exact);
        assert_eq!(
            pooled.iter().map(key).collect::<Vec<_>>(),
            direct.iter().map(key).collect::<Vec<_>>()
        );
        let e = pool(vec![("H01".into(), part("H02"))]).expect_err("refused");
        assert!(
            e.to_string()
                .contains("a hospital returns only its own counts"),
            "{e}"
        );
        // `mid feasibility`'s route, each item pooled on the thread that protects it, gives
        // the data center's cube; a run of another hospital is refused there too.
        let shown = |c: &Cube| -> Vec<_> {
            c.rows
                .iter()
                .map(|r| (key(r), r.item.clone(), r.shown))
                .collect()
        };
        let local = Cube::protect_pooled(
            Calendar::Quarter,
            vec![
                ("H01".into(), vec![part("H01")]),
                ("H02".into(), vec![part("H02")]),
            ],
        )
        .expect("protects");
        let center = Cube::protect_rows(Calendar::Quarter, pooled).expect("protects");
        assert_eq!(shown(&local), shown(&center));
        assert!(local.hidden().0 > 0, "the cube has small counts to protect");
        let e = Cube::protect_pooled(Calendar::Quarter, vec![("H01".into(), vec![part("H02")])])
            .expect_err("refused");
        assert!(
            e.to_string()
                .contains("a hospital returns only its own counts"),
            "{e}"
        );
    }

    #[test]
    fn counts_are_shown_as_the_rule_says() {
        assert_eq!(shown(Some(0)), Cell::Shown(0));
        assert_eq!(shown(Some(9)), Cell::Small);
        assert_eq!(shown(Some(14)), Cell::Shown(10));
        assert_eq!(shown(Some(15)), Cell::Shown(20));
        assert_eq!(shown(None), Cell::None);
    }
}
