//! Table 1 (runtime): baseline characteristics by cohort, summarised from each cohort's
//! patient-level rows (never written) into one long aggregate table under disclosure
//! control — per row and cohort the persons (n and %, for text each level), or for numbers
//! the persons with a value, mean and SD, median and quartiles — and the standardised mean
//! difference of each cohort against the first. Percentages and differences are computed
//! from the published (rounded) counts, so they say nothing the counts do not.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::sync::Arc;

use arrow::array::{
    Array, ArrayRef, BooleanArray, Float64Array, RecordBatch, StringArray, new_null_array,
};
use arrow::compute::cast;
use arrow::datatypes::DataType;
use mid_compiler::codebook::ColumnDoc;
use mid_compiler::outputs::{Summary, Table1Row};

use super::tables::{self, Col, FLAG};
use crate::disclosure::{self, Shown};
use crate::error::{Error, Result};

/// The columns of a Table 1, in order; `n` is the one count (with its flag).
pub const STATISTICS: [&str; 7] = ["percent", "mean", "sd", "median", "q1", "q3", "smd"];
/// The strata of a Table 1: what one row is.
pub const KEYS: [&str; 3] = ["cohort", "characteristic", "level"];
/// The first row of each cohort: its persons.
pub const PERSONS: &str = "persons";
/// The column saying how a row is summarised: `persons`, `yes/no`, `level` or `number`.
pub const KIND: &str = "kind";
const NUMBER: &str = "number";
/// The unit of a number's figures.
pub const UNIT: &str = "unit";
/// A text row's level for an entry without a value.
const MISSING: &str = "(missing)";

/// One cell before disclosure control.
struct Cell {
    characteristic: String,
    level: Option<String>,
    /// Entries counted, and the distinct persons behind them (hidden when either is 1–9).
    entries: u64,
    persons: u64,
    /// For numbers: the values.
    values: Option<Vec<f64>>,
}

/// Each entry's person, as `hospital/patient`.
pub(super) fn persons_of(b: &RecordBatch) -> Result<Vec<String>> {
    let text = |name: &str| -> Result<StringArray> {
        let a = b
            .column_by_name(name)
            .ok_or_else(|| Error::new(format!("Table 1 rows lack `{name}`")))?;
        let a = cast(a, &DataType::Utf8).map_err(|e| Error::context(name, e))?;
        Ok(a.as_any()
            .downcast_ref::<StringArray>()
            .cloned()
            .unwrap_or_else(|| StringArray::from(Vec::<String>::new())))
    };
    let (h, p) = (text("hospital_id")?, text("patient_id")?);
    Ok((0..b.num_rows())
        .map(|i| format!("{}/{}", h.value(i), p.value(i)))
        .collect())
}

/// The distinct persons among the entries `rows`.
fn distinct(who: &[String], rows: impl Iterator<Item = usize>) -> u64 {
    rows.map(|i| who[i].as_str()).collect::<HashSet<_>>().len() as u64
}

/// Quantile `q` of sorted values (R's default, type 7).
fn quantile(sorted: &[f64], q: f64) -> f64 {
    let h = (sorted.len() - 1) as f64 * q;
    let lo = h.floor() as usize;
    let hi = h.ceil() as usize;
    sorted[lo] + (h - lo as f64) * (sorted[hi] - sorted[lo])
}

/// Rounded to `d` decimals (what is published: no more precision than a reader needs).
fn round(x: f64, d: i32) -> f64 {
    let f = 10f64.powi(d);
    (x * f).round() / f
}

/// How a row is summarised, in the `kind` column's words.
pub fn summary_word(s: Summary) -> &'static str {
    match s {
        Summary::Binary => "yes/no",
        Summary::Categorical => "level",
        Summary::Continuous => NUMBER,
    }
}

/// What each column of a Table 1 means (the codebook's).
pub fn column_docs(cohorts: &[String]) -> Vec<ColumnDoc> {
    let doc = |column: &str, unit: Option<&str>, meaning: String| {
        let d = ColumnDoc::new(column, meaning);
        match unit {
            Some(u) => d.unit(u),
            None => d,
        }
    };
    let reference = cohorts.first().map(String::as_str).unwrap_or_default();
    vec![
        doc(KEYS[0], None, "the cohort".into()),
        doc(KEYS[1], None, "the characteristic (`persons`: the cohort's persons; otherwise a row of the Table 1 as the script names it)".into()),
        doc(KEYS[2], None, format!("for a text characteristic, its level (`{MISSING}` for entries without one); empty otherwise")),
        doc(KIND, None, "how the row is summarised: `persons`, `yes/no` (n and %), `level` (n and % of the level), `number` (n with a value, mean, SD, median, quartiles)".into()),
        doc(UNIT, None, "the unit of a number's mean, SD, median and quartiles (the lab item's unit, years, days); empty otherwise".into()),
        doc("n", Some("persons"), "entries (persons, when each has one entry) with the characteristic, at the level, or with a value; for `persons`, the distinct persons; rounded to the nearest 10, null where hidden".into()),
        doc("percent", Some("%"), "n over the cohort's entries × 100, from the published (rounded) counts; null where n is hidden and for numbers".into()),
        doc("mean", None, "the mean of the values, in the characteristic's unit; null where n is hidden".into()),
        doc("sd", None, "the standard deviation of the values (n − 1)".into()),
        doc("median", None, "the median of the values".into()),
        doc("q1", None, "the first quartile of the values (R's type 7)".into()),
        doc("q3", None, "the third quartile of the values (R's type 7)".into()),
        doc("smd", None, format!("the standardised mean difference against `{reference}` (the first cohort): for n and %, (p − p₀) / √((p(1−p) + p₀(1−p₀)) / 2); for numbers, (m − m₀) / √((s² + s₀²) / 2); from the published figures; null for the reference and where a count is hidden")),
    ]
}

/// The cells of one cohort's rows.
fn cells(b: &RecordBatch, rows: &[Table1Row]) -> Result<Vec<Cell>> {
    let who = persons_of(b)?;
    let all = 0..b.num_rows();
    let mut out = vec![Cell {
        characteristic: PERSONS.into(),
        level: None,
        entries: b.num_rows() as u64,
        persons: distinct(&who, all.clone()),
        values: None,
    }];
    for r in rows {
        let col = b
            .column_by_name(&r.name)
            .ok_or_else(|| Error::new(format!("Table 1 rows lack `{}`", r.name)))?;
        let cell = |level: Option<String>, rows: Vec<usize>, values: Option<Vec<f64>>| Cell {
            characteristic: r.name.clone(),
            level,
            entries: rows.len() as u64,
            persons: distinct(&who, rows.into_iter()),
            values,
        };
        match r.summary {
            Summary::Binary => {
                let yes: Vec<usize> = match col.as_any().downcast_ref::<BooleanArray>() {
                    Some(a) => all
                        .clone()
                        .filter(|&i| a.is_valid(i) && a.value(i))
                        .collect(),
                    None => all.clone().filter(|&i| col.is_valid(i)).collect(),
                };
                out.push(cell(None, yes, None));
            }
            Summary::Categorical => {
                let a = cast(col, &DataType::Utf8).map_err(|e| Error::context(&r.name, e))?;
                let a = a
                    .as_any()
                    .downcast_ref::<StringArray>()
                    .ok_or_else(|| Error::new(format!("`{}` is not text", r.name)))?;
                let mut levels: BTreeMap<String, Vec<usize>> = BTreeMap::new();
                for i in all.clone() {
                    let l = if a.is_valid(i) { a.value(i) } else { MISSING };
                    levels.entry(l.to_string()).or_default().push(i);
                }
                for (l, rows) in levels {
                    out.push(cell(Some(l), rows, None));
                }
            }
            Summary::Continuous => {
                let a = cast(col, &DataType::Float64).map_err(|e| Error::context(&r.name, e))?;
                let a = a
                    .as_any()
                    .downcast_ref::<Float64Array>()
                    .ok_or_else(|| Error::new(format!("`{}` is not a number", r.name)))?;
                let with: Vec<usize> = all.clone().filter(|&i| a.is_valid(i)).collect();
                let mut values: Vec<f64> = with.iter().map(|&i| a.value(i)).collect();
                values.sort_by(f64::total_cmp);
                out.push(cell(None, with, Some(values)));
            }
        }
    }
    Ok(out)
}

/// A cell's count as it may leave: hidden when the entries or the persons behind them are
/// 1–9 (below `threshold`), or when the cohort itself is hidden.
fn shown(c: &Cell, threshold: u32, cohort_hidden: bool) -> Shown {
    let p = disclosure::persons(c.persons, threshold);
    if c.entries > 0 && (cohort_hidden || p.is_hidden()) {
        return Shown::Suppressed;
    }
    disclosure::persons(c.entries, threshold)
}

/// The Table 1 of `cohorts` from each one's rows (in order), as it may leave.
pub fn table1_table(
    cohorts: &[String],
    batches: &[RecordBatch],
    rows: &[Table1Row],
    threshold: u32,
) -> Result<RecordBatch> {
    let mut all = Vec::new();
    for b in batches {
        all.push(cells(b, rows)?);
    }
    // Every cohort lists every level any cohort has (0 where it has none), so the cohorts'
    // rows line up.
    // The levels a row always has (`F`, `M`, `U`), so every hospital's table has the same
    // rows as the network's.
    let mut levels: BTreeMap<&str, BTreeSet<String>> = rows
        .iter()
        .map(|r| (r.name.as_str(), r.levels.iter().cloned().collect()))
        .collect();
    for cs in &all {
        for c in cs {
            if let Some(l) = &c.level {
                levels
                    .entry(c.characteristic.as_str())
                    .or_default()
                    .insert(l.clone());
            }
        }
    }
    let mut order: Vec<(String, Option<String>)> = vec![(PERSONS.into(), None)];
    for r in rows {
        match levels.get(r.name.as_str()) {
            Some(ls) if r.summary == Summary::Categorical => {
                order.extend(ls.iter().map(|l| (r.name.clone(), Some(l.clone()))));
            }
            _ => order.push((r.name.clone(), None)),
        }
    }
    let (mut cohort, mut characteristic, mut level) = (Vec::new(), Vec::new(), Vec::new());
    let mut kinds: Vec<&str> = Vec::new();
    let mut units: Vec<Option<String>> = Vec::new();
    let mut n: Vec<Option<Shown>> = Vec::new();
    let mut stats: [Vec<Option<f64>>; 7] = Default::default();
    for (ci, cs) in all.iter().enumerate() {
        let by_key: HashMap<(&str, Option<&str>), &Cell> = cs
            .iter()
            .map(|c| ((c.characteristic.as_str(), c.level.as_deref()), c))
            .collect();
        let persons = disclosure::persons(cs[0].persons, threshold);
        let hidden = persons.is_hidden();
        let base = disclosure::persons(cs[0].entries, threshold).value();
        for (ch, l) in &order {
            cohort.push(cohorts[ci].clone());
            characteristic.push(ch.clone());
            level.push(l.clone());
            let cell = by_key.get(&(ch.as_str(), l.as_deref()));
            // Zero is shown as zero (the rule's `<10` means 1 to 9), even in a hidden cohort.
            let s = match cell {
                Some(c) => shown(c, threshold, hidden),
                None => Shown::Zero,
            };
            n.push(Some(s));
            let pct = match (s.value(), base) {
                (Some(k), Some(b)) if b > 0 && ch != PERSONS => {
                    Some(round(100.0 * k as f64 / b as f64, 1))
                }
                _ => None,
            };
            let described = cell
                .and_then(|c| c.values.as_ref())
                .filter(|v| !v.is_empty() && !s.is_hidden());
            let [p, mean, sd, median, q1, q3, _] = &mut stats;
            let row = rows.iter().find(|r| &r.name == ch);
            let summary = row.map(|r| r.summary);
            let is_number = summary == Some(Summary::Continuous);
            kinds.push(summary.map_or(PERSONS, summary_word));
            units.push(row.and_then(|r| r.doc.unit.clone()).filter(|_| is_number));
            p.push(if is_number { None } else { pct });
            match described {
                Some(v) => {
                    let m = v.iter().sum::<f64>() / v.len() as f64;
                    let var = if v.len() > 1 {
                        v.iter().map(|x| (x - m).powi(2)).sum::<f64>() / (v.len() - 1) as f64
                    } else {
                        0.0
                    };
                    mean.push(Some(round(m, 2)));
                    sd.push(Some(round(var.sqrt(), 2)));
                    median.push(Some(round(quantile(v, 0.5), 2)));
                    q1.push(Some(round(quantile(v, 0.25), 2)));
                    q3.push(Some(round(quantile(v, 0.75), 2)));
                }
                None => {
                    for s in [mean, sd, median, q1, q3] {
                        s.push(None);
                    }
                }
            }
        }
    }
    // Standardised mean differences against the first cohort, from the published figures.
    let rows_per = order.len();
    let smd: Vec<Option<f64>> = (0..cohort.len())
        .map(|i| {
            let (k, j) = (i / rows_per, i % rows_per);
            if k == 0 || order[j].0 == PERSONS {
                return None;
            }
            let r = j; // the reference's row of the same characteristic and level
            let [p, mean, sd, ..] = &stats;
            let d = match (p[i], p[r]) {
                (Some(a), Some(b)) => {
                    let (a, b) = (a / 100.0, b / 100.0);
                    let s = ((a * (1.0 - a) + b * (1.0 - b)) / 2.0).sqrt();
                    if s > 0.0 {
                        Some((a - b) / s)
                    } else {
                        Some(0.0).filter(|_| a == b)
                    }
                }
                _ => match (mean[i], mean[r], sd[i], sd[r]) {
                    (Some(a), Some(b), Some(sa), Some(sb)) => {
                        let s = ((sa * sa + sb * sb) / 2.0).sqrt();
                        if s > 0.0 {
                            Some((a - b) / s)
                        } else {
                            Some(0.0).filter(|_| a == b)
                        }
                    }
                    _ => None,
                },
            };
            d.map(|x| round(x, 3))
        })
        .collect();
    stats[6] = smd;
    let mut cols: Vec<(String, Col)> = vec![
        (
            KEYS[0].into(),
            Col::Plain(Arc::new(StringArray::from(cohort))),
        ),
        (
            KEYS[1].into(),
            Col::Plain(Arc::new(StringArray::from(characteristic))),
        ),
        (
            KEYS[2].into(),
            Col::Plain(Arc::new(StringArray::from(level))),
        ),
        (KIND.into(), Col::Plain(Arc::new(StringArray::from(kinds)))),
        (UNIT.into(), Col::Plain(Arc::new(StringArray::from(units)))),
        ("n".into(), Col::Count(n)),
    ];
    for (name, v) in STATISTICS.iter().zip(stats) {
        cols.push((
            name.to_string(),
            Col::Plain(Arc::new(Float64Array::from(v))),
        ));
    }
    tables::build(cols, threshold, cohorts)
}

/// The Table 1 of a run: each cohort's rows from its plan's result, summarised.
pub fn from_results(
    results: &super::Results,
    cohorts: &[String],
    plans: &[String],
    rows: &[Table1Row],
    threshold: u32,
) -> Result<RecordBatch> {
    let batches = plans
        .iter()
        .map(|p| super::batch(results, p))
        .collect::<Result<Vec<_>>>()?;
    table1_table(cohorts, &batches, rows, threshold)
}

/// A Table 1 whose counts were hidden after it was built (complementary suppression at
/// release): every figure of a hidden count's row, and every difference against it, is
/// hidden too.
pub fn hide_with_counts(b: &RecordBatch) -> Result<RecordBatch> {
    let flag = b
        .column_by_name(&format!("n{FLAG}"))
        .and_then(|a| a.as_any().downcast_ref::<BooleanArray>().cloned())
        .ok_or_else(|| Error::new("a Table 1 without its `n_suppressed`"))?;
    let cohorts = b
        .column_by_name(KEYS[0])
        .and_then(|a| a.as_any().downcast_ref::<StringArray>().cloned())
        .ok_or_else(|| Error::new("a Table 1 without its cohorts"))?;
    let first = (b.num_rows() > 0).then(|| cohorts.value(0).to_string());
    let rows_per = (0..b.num_rows())
        .take_while(|&i| Some(cohorts.value(i)) == first.as_deref())
        .count()
        .max(1);
    let schema = b.schema();
    let mut cols: Vec<ArrayRef> = Vec::new();
    for (f, a) in schema.fields().iter().zip(b.columns()) {
        let name = f.name().as_str();
        if !STATISTICS.contains(&name) {
            cols.push(a.clone());
            continue;
        }
        let v = a
            .as_any()
            .downcast_ref::<Float64Array>()
            .ok_or_else(|| Error::new(format!("Table 1 column `{name}` is not a number")))?;
        let hidden = |i: usize| flag.value(i) || (name == "smd" && flag.value(i % rows_per));
        let out: Float64Array = (0..v.len())
            .map(|i| (v.is_valid(i) && !hidden(i)).then(|| v.value(i)))
            .collect();
        cols.push(if out.null_count() == out.len() {
            new_null_array(&DataType::Float64, out.len())
        } else {
            Arc::new(out)
        });
    }
    RecordBatch::try_new(schema, cols).map_err(|e| Error::context("Table 1", e))
}

/// A Table 1 as people read it: one line per characteristic (and level), one column per
/// cohort (`n (%)`, `mean (SD)`, `median [Q1, Q3]`), and the SMD of each later cohort.
pub fn wide(b: &RecordBatch) -> Result<Vec<Vec<String>>> {
    let text = |name: &str| -> Result<StringArray> {
        let a = b
            .column_by_name(name)
            .ok_or_else(|| Error::new(format!("Table 1 without `{name}`")))?;
        let a = cast(a, &DataType::Utf8).map_err(|e| Error::context(name, e))?;
        Ok(a.as_any()
            .downcast_ref::<StringArray>()
            .cloned()
            .unwrap_or_else(|| StringArray::from(Vec::<Option<String>>::new())))
    };
    let num = |name: &str| -> Result<Float64Array> {
        b.column_by_name(name)
            .and_then(|a| cast(a, &DataType::Float64).ok())
            .and_then(|a| a.as_any().downcast_ref::<Float64Array>().cloned())
            .ok_or_else(|| Error::new(format!("Table 1 without `{name}`")))
    };
    let (cohort, ch, level) = (text(KEYS[0])?, text(KEYS[1])?, text(KEYS[2])?);
    let kind = text(KIND)?;
    let unit = text(UNIT)?;
    let flag = b
        .column_by_name(&format!("n{FLAG}"))
        .and_then(|a| a.as_any().downcast_ref::<BooleanArray>().cloned());
    let n = num("n")?;
    let [pct, mean, sd, median, q1, q3, smd] = STATISTICS.map(num);
    let (pct, mean, sd, median, q1, q3, smd) = (pct?, mean?, sd?, median?, q1?, q3?, smd?);
    let threshold = tables::threshold_of(b);
    let opt = |a: &Float64Array, i: usize| a.is_valid(i).then(|| a.value(i));
    let mut cohorts: Vec<String> = Vec::new();
    for i in 0..b.num_rows() {
        if !cohorts.iter().any(|c| c == cohort.value(i)) {
            cohorts.push(cohort.value(i).to_string());
        }
    }
    let per = b.num_rows() / cohorts.len().max(1);
    let mut header = vec!["characteristic".to_string()];
    header.extend(cohorts.iter().cloned());
    if cohorts.len() > 1 {
        header.extend(cohorts[1..].iter().map(|c| format!("SMD {c}")));
    }
    let mut out = vec![header];
    for j in 0..per {
        let name = match level.is_valid(j) {
            true => format!("{}: {}", ch.value(j), level.value(j)),
            false => ch.value(j).to_string(),
        };
        let number = kind.value(j) == NUMBER;
        let name = if unit.is_valid(j) {
            format!("{name} ({})", unit.value(j))
        } else {
            name
        };
        let count = |i: usize| -> String {
            if flag.as_ref().is_some_and(|f| f.value(i)) {
                format!("<{threshold}")
            } else if n.is_valid(i) {
                format!("{}", n.value(i) as i64)
            } else {
                String::new()
            }
        };
        let mut line = vec![if number {
            format!("{name}, n with a value")
        } else if ch.value(j) == PERSONS {
            name.clone()
        } else {
            format!("{name}, n (%)")
        }];
        let mut second = vec![format!("{name}, mean (SD)")];
        let mut third = vec![format!("{name}, median [Q1, Q3]")];
        for k in 0..cohorts.len() {
            let i = k * per + j;
            line.push(match opt(&pct, i) {
                Some(p) if !number => format!("{} ({p:.1})", count(i)),
                _ => count(i),
            });
            second.push(match (opt(&mean, i), opt(&sd, i)) {
                (Some(m), Some(s)) => format!("{m:.2} ({s:.2})"),
                _ => String::new(),
            });
            third.push(match (opt(&median, i), opt(&q1, i), opt(&q3, i)) {
                (Some(m), Some(a), Some(c)) => format!("{m:.2} [{a:.2}, {c:.2}]"),
                _ => String::new(),
            });
        }
        for k in 1..cohorts.len() {
            let s = opt(&smd, k * per + j)
                .map(|x| format!("{x:.3}"))
                .unwrap_or_default();
            if number {
                line.push(String::new());
                second.push(s);
                third.push(String::new());
            } else {
                line.push(s);
            }
        }
        out.push(line);
        if number {
            out.push(second);
            out.push(third);
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow::array::{Int64Array, StringArray};
    use arrow::datatypes::{Field, Schema};

    fn doc(name: &str) -> ColumnDoc {
        ColumnDoc::new(name, "")
    }

    fn rows_of(
        n: usize,
        sex: &dyn Fn(usize) -> &'static str,
        diabetic: &dyn Fn(usize) -> bool,
    ) -> RecordBatch {
        let schema = Schema::new(vec![
            Field::new("hospital_id", DataType::Utf8, false),
            Field::new("patient_id", DataType::Int64, false),
            Field::new("age", DataType::Int64, true),
            Field::new("sex", DataType::Utf8, false),
            Field::new("diabetes", DataType::Boolean, false),
        ]);
        RecordBatch::try_new(
            Arc::new(schema),
            vec![
                Arc::new(StringArray::from(vec!["H1"; n])),
                Arc::new(Int64Array::from((0..n as i64).collect::<Vec<_>>())),
                Arc::new(Int64Array::from(
                    (0..n)
                        .map(|i| Some(40 + (i % 21) as i64))
                        .collect::<Vec<_>>(),
                )),
                Arc::new(StringArray::from((0..n).map(sex).collect::<Vec<_>>())),
                Arc::new(BooleanArray::from((0..n).map(diabetic).collect::<Vec<_>>())),
            ],
        )
        .unwrap()
    }

    fn rows() -> Vec<Table1Row> {
        vec![
            Table1Row {
                name: "age".into(),
                summary: Summary::Continuous,
                doc: doc("age"),
                levels: vec![],
            },
            Table1Row {
                name: "sex".into(),
                summary: Summary::Categorical,
                doc: doc("sex"),
                levels: vec![],
            },
            Table1Row {
                name: "diabetes".into(),
                summary: Summary::Binary,
                doc: doc("diabetes"),
                levels: vec![],
            },
        ]
    }

    fn col<'a, T: 'static>(b: &'a RecordBatch, name: &str) -> &'a T {
        b.column_by_name(name)
            .unwrap()
            .as_any()
            .downcast_ref::<T>()
            .unwrap()
    }

    #[test]
    fn counts_are_rounded_or_hidden_and_figures_follow_them() {
        // 203 persons, 5 of them M; 40 diabetic. Then a cohort of 7.
        let a = rows_of(203, &|i| if i < 5 { "M" } else { "F" }, &|i| {
            i % 5 == 0 && i < 200
        });
        let b = rows_of(7, &|_| "F", &|_| true);
        let t = table1_table(&["a".into(), "b".into()], &[a, b], &rows(), 10).unwrap();
        let ch = col::<StringArray>(&t, "characteristic");
        let n = col::<Int64Array>(&t, "n");
        let hidden = col::<BooleanArray>(&t, "n_suppressed");
        let pct = col::<Float64Array>(&t, "percent");
        let smd = col::<Float64Array>(&t, "smd");
        let level = col::<StringArray>(&t, "level");
        // persons, age, sex F, sex M, diabetes — per cohort.
        assert_eq!(t.num_rows(), 10);
        assert_eq!(ch.value(0), "persons");
        assert_eq!(n.value(0), 200);
        assert_eq!(
            (level.value(2), n.value(2), pct.value(2)),
            ("F", 200, 100.0)
        );
        assert!(
            hidden.value(3) && n.is_null(3) && pct.is_null(3),
            "5 men are hidden"
        );
        assert_eq!((n.value(4), pct.value(4)), (40, 20.0));
        // The small cohort: every count hidden but its zeros (no men), no figure, no difference.
        for i in 5..10 {
            assert_eq!(hidden.value(i), i != 8, "row {i}");
            assert!(pct.is_null(i) && smd.is_null(i));
        }
        assert_eq!(n.value(8), 0);
        let mean = col::<Float64Array>(&t, "mean");
        assert!(mean.is_valid(1) && mean.is_null(6));
        assert_eq!(col::<Float64Array>(&t, "median").value(1), 50.0);
    }

    #[test]
    fn smd_compares_each_cohort_with_the_first() {
        let a = rows_of(100, &|i| if i < 50 { "M" } else { "F" }, &|i| i < 20);
        let b = rows_of(100, &|i| if i < 50 { "M" } else { "F" }, &|i| i < 40);
        let t = table1_table(&["a".into(), "b".into()], &[a, b], &rows(), 10).unwrap();
        let smd = col::<Float64Array>(&t, "smd");
        // diabetes 40 % against 20 %: (0.4 - 0.2) / sqrt((0.24 + 0.16) / 2)
        assert_eq!(smd.value(9), round(0.2 / 0.2f64.sqrt(), 3));
        assert_eq!(smd.value(6), 0.0, "same age distribution");
        assert!(smd.is_null(4), "the reference has none");
        let w = wide(&t).unwrap();
        assert_eq!(w[0], ["characteristic", "a", "b", "SMD b"]);
        assert!(
            w.iter().any(|l| l[0] == "diabetes, n (%)"
                && l[1] == "20 (20.0)"
                && l[2] == "40 (40.0)"
                && l[3] == "0.447"),
            "{w:?}"
        );
        // Hiding a count afterwards hides its figures and the differences against it.
        let mut flags: Vec<bool> = col::<BooleanArray>(&t, "n_suppressed")
            .iter()
            .map(|x| x.unwrap())
            .collect();
        flags[4] = true;
        let schema = t.schema();
        let cols: Vec<ArrayRef> = schema
            .fields()
            .iter()
            .zip(t.columns())
            .map(|(f, a)| {
                if f.name() == "n_suppressed" {
                    Arc::new(BooleanArray::from(flags.clone())) as ArrayRef
                } else {
                    a.clone()
                }
            })
            .collect();
        let h = hide_with_counts(&RecordBatch::try_new(schema, cols).unwrap()).unwrap();
        assert!(col::<Float64Array>(&h, "percent").is_null(4));
        assert!(col::<Float64Array>(&h, "smd").is_null(9));
        assert!(col::<Float64Array>(&h, "smd").is_valid(6));
    }
}
