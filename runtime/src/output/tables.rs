//! Output tables built on disclosure control (runtime): the attrition table and the report
//! table, the only two shapes in which counts leave a run, each passing through
//! `disclosure` before anyone sees it (files and console alike).

use std::sync::Arc;

use arrow::array::{
    Array, ArrayRef, BooleanArray, Float64Array, Int64Array, RecordBatch, StringArray,
};
use arrow::datatypes::{DataType, Field, Schema};
use arrow::util::display::{ArrayFormatter, FormatOptions};
use mid_compiler::codegen::names;
use mid_compiler::outputs::StratumColumn;

use super::rates;
use crate::disclosure::{self, Shown};
use crate::error::{Error, Result};

fn i64_col(b: &RecordBatch, name: &str) -> Result<Vec<i64>> {
    Ok(opt_i64_col(b, name)?
        .into_iter()
        .map(|v| v.unwrap_or(0))
        .collect())
}

/// A count column; null where it does not apply (another cohort's outcome).
fn opt_i64_col(b: &RecordBatch, name: &str) -> Result<Vec<Option<i64>>> {
    let col = b
        .column_by_name(name)
        .ok_or_else(|| Error::new(format!("missing column {name}")))?;
    let col = arrow::compute::cast(col, &DataType::Int64).map_err(|e| Error::context(name, e))?;
    let a = col
        .as_any()
        .downcast_ref::<Int64Array>()
        .ok_or_else(|| Error::new(format!("column {name} is not a number")))?;
    Ok((0..a.len())
        .map(|i| if a.is_null(i) { None } else { Some(a.value(i)) })
        .collect())
}

/// The suffix of a count's suppression flag: `persons_suppressed` is true where `persons`
/// is hidden (and null).
pub const FLAG: &str = "_suppressed";
/// Schema metadata: the threshold below which the table's counts are hidden.
pub const THRESHOLD_KEY: &str = "mid.threshold";
/// The suffixes of an outcome's rate columns (per 1,000 person-years, 95 % interval).
pub const RATE: [&str; 3] = ["_rate_per_1000py", "_rate_lower95", "_rate_upper95"];
/// The suffixes of an outcome's crude comparisons with the report's reference cohort.
pub const RATE_RATIO: [&str; 3] = ["_rate_ratio", "_rate_ratio_lower95", "_rate_ratio_upper95"];
pub const ODDS_RATIO: [&str; 3] = ["_odds_ratio", "_odds_ratio_lower95", "_odds_ratio_upper95"];
/// A report's column of cohorts.
const COHORT: &str = "cohort";

/// A column of an aggregate table as it is built: a stratum or label as it is, or a count
/// as it may leave (none where it does not apply).
pub enum Col {
    Plain(ArrayRef),
    Count(Vec<Option<Shown>>),
}

/// A report's rate ratios and odds ratios, row by row.
type RatioColumns = (Vec<Option<rates::Estimate>>, Vec<Option<rates::Estimate>>);

/// Estimates as three columns (point, lower, upper).
fn estimate_columns(
    o: &str,
    suffixes: &[&str; 3],
    est: &[Option<rates::Estimate>],
    fields: &mut Vec<Field>,
    arrays: &mut Vec<ArrayRef>,
) {
    let parts: [fn(&rates::Estimate) -> f64; 3] = [|e| e.point, |e| e.lower, |e| e.upper];
    for (suffix, part) in suffixes.iter().zip(parts) {
        fields.push(Field::new(format!("{o}{suffix}"), DataType::Float64, true));
        arrays.push(Arc::new(Float64Array::from(
            est.iter().map(|e| e.as_ref().map(part)).collect::<Vec<_>>(),
        )));
    }
}

/// The crude comparisons of outcome `o` in each row against the same strata of the
/// reference cohort (the first of `cohorts` the outcome applies to): the rate ratio and the
/// odds ratio (persons at risk, or persons, with and without it). None when the table is
/// not by cohort or no second cohort has the outcome.
fn comparisons(
    o: &str,
    cols: &[(String, Col)],
    cohorts: &[String],
    threshold: u32,
) -> Result<Option<RatioColumns>> {
    let count = |n: &str| {
        cols.iter().find_map(|(name, c)| match c {
            Col::Count(v) if name == n => Some(v),
            _ => None,
        })
    };
    let (Some(events), Some(days)) = (
        count(&format!("{o}_persons")),
        count(&format!("{o}_person_days")),
    ) else {
        return Ok(None);
    };
    let Some(persons) = count(&format!("{o}_at_risk")).or_else(|| count(names::PERSONS)) else {
        return Ok(None);
    };
    let fmt = FormatOptions::default().with_null("");
    let mut cohort = None;
    let mut keys: Vec<String> = vec![String::new(); events.len()];
    for (name, c) in cols {
        let Col::Plain(a) = c else { continue };
        let f = ArrayFormatter::try_new(a.as_ref(), &fmt).map_err(|e| Error::context(name, e))?;
        let v: Vec<String> = (0..a.len()).map(|i| f.value(i).to_string()).collect();
        if name == COHORT {
            cohort = Some(v);
        } else {
            for (k, x) in keys.iter_mut().zip(v) {
                k.push_str(&x);
                k.push('\u{1f}');
            }
        }
    }
    let Some(cohort) = cohort else {
        return Ok(None);
    };
    let applies: Vec<bool> = events.iter().map(Option::is_some).collect();
    let Some(reference) = first_applying(cohorts, &cohort, &applies) else {
        return Ok(None);
    };
    if !(0..events.len()).any(|i| applies[i] && &cohort[i] != reference) {
        return Ok(None);
    }
    let arm = |i: usize| -> Option<rates::Arm> {
        Some(rates::Arm {
            persons: persons[i]?,
            events: events[i]?,
            days: days[i]?,
        })
    };
    // The reference's row of each combination of the other strata.
    let reference_rows: std::collections::HashMap<&str, usize> = (0..events.len())
        .filter(|&j| &cohort[j] == reference)
        .map(|j| (keys[j].as_str(), j))
        .collect();
    let mut rr = Vec::with_capacity(events.len());
    let mut or = Vec::with_capacity(events.len());
    for i in 0..events.len() {
        let against = (&cohort[i] != reference)
            .then(|| reference_rows.get(keys[i].as_str()).copied())
            .flatten();
        let pair = against.and_then(|j| Some((arm(i)?, arm(j)?)));
        rr.push(pair.and_then(|(a, b)| rates::rate_ratio(a, b, threshold)));
        or.push(pair.and_then(|(a, b)| rates::odds_ratio(a, b, threshold)));
    }
    Ok(Some((rr, or)))
}

/// A typed aggregate table: each count an `Int64` (null where hidden or not applicable)
/// with its flag column (true where hidden); after each outcome's person-days its incidence
/// rate with the exact interval and, in a report of several `cohorts` by cohort, its rate
/// and odds ratios against the first of them, all computed from the published counts
/// (`rates`). One function builds every table that leaves (a run's, and the release's after
/// complementary suppression), so a count, its flag and what is derived from it always
/// agree, and nothing derived says more than the counts.
pub fn build(cols: Vec<(String, Col)>, threshold: u32, cohorts: &[String]) -> Result<RecordBatch> {
    let mut fields = Vec::new();
    let mut arrays: Vec<ArrayRef> = Vec::new();
    for (name, col) in &cols {
        match col {
            Col::Plain(a) => {
                fields.push(Field::new(name, a.data_type().clone(), a.null_count() > 0));
                arrays.push(a.clone());
            }
            Col::Count(v) => {
                fields.push(Field::new(name, DataType::Int64, true));
                arrays.push(Arc::new(Int64Array::from(
                    v.iter()
                        .map(|s| s.and_then(|s| s.value()).map(|n| n as i64))
                        .collect::<Vec<_>>(),
                )));
                fields.push(Field::new(
                    format!("{name}{FLAG}"),
                    DataType::Boolean,
                    false,
                ));
                arrays.push(Arc::new(BooleanArray::from(
                    v.iter()
                        .map(|s| s.is_some_and(Shown::is_hidden))
                        .collect::<Vec<_>>(),
                )));
                // An outcome's rate (and comparisons) follow its person-days.
                let Some(o) = name.strip_suffix("_person_days") else {
                    continue;
                };
                let Some(events) = cols.iter().find_map(|(n, c)| match c {
                    Col::Count(e) if *n == format!("{o}_persons") => Some(e),
                    _ => None,
                }) else {
                    continue;
                };
                let est: Vec<Option<rates::Estimate>> = events
                    .iter()
                    .zip(v.iter())
                    .map(|(e, d)| rates::rate((*e)?, (*d)?, threshold))
                    .collect();
                estimate_columns(o, &RATE, &est, &mut fields, &mut arrays);
                if let Some((rr, or)) = comparisons(o, &cols, cohorts, threshold)? {
                    estimate_columns(o, &RATE_RATIO, &rr, &mut fields, &mut arrays);
                    estimate_columns(o, &ODDS_RATIO, &or, &mut fields, &mut arrays);
                }
            }
        }
    }
    let schema = Schema::new(fields).with_metadata(
        [(THRESHOLD_KEY.to_string(), threshold.to_string())]
            .into_iter()
            .collect(),
    );
    RecordBatch::try_new(Arc::new(schema), arrays).map_err(|e| Error::context("aggregate table", e))
}

/// A count as text, the inverse of `Shown::text` (and an empty cell: not applicable;
/// `suppressed`: hidden at release).
pub fn parse_shown(text: &str) -> Result<Option<Shown>> {
    let t = text.trim();
    Ok(match t {
        "" => None,
        "0" => Some(Shown::Zero),
        _ if t.starts_with('<') || t == "suppressed" => Some(Shown::Suppressed),
        _ => Some(Shown::Rounded(t.parse().map_err(|_| {
            Error::new(format!("`{t}` is not a published count"))
        })?)),
    })
}

/// The threshold a typed table hides below (its `mid.threshold`; the network's otherwise).
pub fn threshold_of(b: &RecordBatch) -> u32 {
    b.schema()
        .metadata()
        .get(THRESHOLD_KEY)
        .and_then(|t| t.parse().ok())
        .unwrap_or(disclosure::THRESHOLD)
}

/// What a derived column estimates.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Derived {
    Rate,
    RateRatio,
    OddsRatio,
}

impl Derived {
    fn suffixes(self) -> &'static [&'static str; 3] {
        match self {
            Derived::Rate => &RATE,
            Derived::RateRatio => &RATE_RATIO,
            Derived::OddsRatio => &ODDS_RATIO,
        }
    }
}

/// A column derived from counts (a rate or a comparison): its outcome, what it estimates,
/// and which part (0 the point, 1 the lower limit, 2 the upper).
pub fn derived_of(b: &RecordBatch, name: &str) -> Option<(String, Derived, usize)> {
    for d in [Derived::Rate, Derived::RateRatio, Derived::OddsRatio] {
        for (i, suffix) in d.suffixes().iter().enumerate() {
            if let Some(o) = name.strip_suffix(suffix)
                && b.schema()
                    .column_with_name(&format!("{o}_persons"))
                    .is_some()
            {
                return Some((o.to_string(), d, i));
            }
        }
    }
    None
}

/// The first of `cohorts` that has rows where `applies` (the reference of comparisons).
fn first_applying<'a>(
    cohorts: &'a [String],
    row_cohort: &[String],
    applies: &[bool],
) -> Option<&'a String> {
    cohorts
        .iter()
        .find(|c| row_cohort.iter().zip(applies).any(|(rc, a)| *a && rc == *c))
}

/// The reference cohort of outcome `o`'s comparisons in a typed report: the first of
/// `cohorts` with the outcome in its rows.
pub fn reference_cohort(b: &RecordBatch, o: &str, cohorts: &[String]) -> Option<String> {
    let fmt = FormatOptions::default().with_null("");
    let col = b.column_by_name(COHORT)?;
    let f = ArrayFormatter::try_new(col.as_ref(), &fmt).ok()?;
    let row_cohort: Vec<String> = (0..col.len()).map(|i| f.value(i).to_string()).collect();
    let shown = shown_counts(b, &format!("{o}_persons")).ok()??;
    let applies: Vec<bool> = shown.iter().map(Option::is_some).collect();
    first_applying(cohorts, &row_cohort, &applies).cloned()
}

/// A count column of a typed table read back as the counts it shows, checking that each
/// hidden cell is null; none when `name` is not a count (it has no flag).
fn shown_counts(b: &RecordBatch, name: &str) -> Result<Option<Vec<Option<Shown>>>> {
    let Some(flags) = b.column_by_name(&format!("{name}{FLAG}")) else {
        return Ok(None);
    };
    let flags = flags
        .as_any()
        .downcast_ref::<BooleanArray>()
        .ok_or_else(|| Error::new(format!("column `{name}{FLAG}` is not a flag")))?;
    let values = opt_i64_col(b, name)?;
    let mut out = Vec::with_capacity(values.len());
    for (i, v) in values.iter().enumerate() {
        let hidden = flags.is_valid(i) && flags.value(i);
        out.push(match (hidden, v) {
            (true, None) => Some(Shown::Suppressed),
            (true, Some(_)) => {
                return Err(Error::new(format!(
                    "column `{name}`, row {}: a hidden count has a value",
                    i + 1
                )));
            }
            (false, None) => None,
            (false, Some(0)) => Some(Shown::Zero),
            (false, Some(n)) if *n > 0 => Some(Shown::Rounded(*n as u64)),
            (false, Some(n)) => {
                return Err(Error::new(format!(
                    "column `{name}`, row {}: {n} is not a count",
                    i + 1
                )));
            }
        });
    }
    Ok(Some(out))
}

/// A typed aggregate table read back as people read it: each count as text (`0`, `<10`,
/// `120`, empty where it does not apply), without its flag; rates and comparisons as
/// `r (lower-upper)` when `derived_too` (the console), left out otherwise (the release's
/// audit, which derives them again). A hidden count with a value, or a flag that is not a
/// flag, is an error.
pub fn text_view(b: &RecordBatch, derived_too: bool) -> Result<RecordBatch> {
    let schema = b.schema();
    let threshold = threshold_of(b);
    let has = |n: &str| schema.column_with_name(n).is_some();
    let mut fields = Vec::new();
    let mut cols: Vec<ArrayRef> = Vec::new();
    for (f, col) in schema.fields().iter().zip(b.columns()) {
        let name = f.name().as_str();
        if name.strip_suffix(FLAG).is_some_and(has) {
            continue;
        }
        if let Some((o, d, i)) = derived_of(b, name) {
            let set = d.suffixes();
            if derived_too && i == 0 {
                let part = |s: &str| -> Result<Float64Array> {
                    b.column_by_name(&format!("{o}{s}"))
                        .and_then(|a| a.as_any().downcast_ref::<Float64Array>().cloned())
                        .ok_or_else(|| Error::new(format!("{o}{s} is not an estimate")))
                };
                let (p, l, u) = (part(set[0])?, part(set[1])?, part(set[2])?);
                let text: Vec<String> = (0..b.num_rows())
                    .map(|i| {
                        if p.is_null(i) || l.is_null(i) || u.is_null(i) {
                            String::new()
                        } else {
                            format!("{} ({}-{})", p.value(i), l.value(i), u.value(i))
                        }
                    })
                    .collect();
                let label = if d == Derived::Rate {
                    format!("{o}_per_1000py")
                } else {
                    format!("{o}{}", set[0])
                };
                fields.push(Field::new(label, DataType::Utf8, false));
                cols.push(Arc::new(StringArray::from(text)));
            }
            continue;
        }
        let Some(shown) = shown_counts(b, name)? else {
            fields.push(f.as_ref().clone());
            cols.push(col.clone());
            continue;
        };
        let text: Vec<String> = shown
            .iter()
            .map(|s| s.map_or_else(String::new, |s| s.text(threshold)))
            .collect();
        fields.push(Field::new(name, DataType::Utf8, false));
        cols.push(Arc::new(StringArray::from(text)));
    }
    let mut meta = schema.metadata().clone();
    meta.remove(THRESHOLD_KEY);
    RecordBatch::try_new(Arc::new(Schema::new(fields).with_metadata(meta)), cols)
        .map_err(|e| Error::context("aggregate table", e))
}

/// The cohorts of a report as its description lists them (its reference first); none for
/// an attrition table.
pub fn cohorts_of(b: &RecordBatch) -> Vec<String> {
    b.schema()
        .metadata()
        .get("mid.about")
        .and_then(|a| serde_json::from_str::<serde_json::Value>(a).ok())
        .map(|a| cohorts_in(&a))
        .unwrap_or_default()
}

/// The cohorts a report's description (`about.json`) lists, in order.
pub fn cohorts_in(about: &serde_json::Value) -> Vec<String> {
    about
        .get("cohorts")
        .and_then(|c| c.as_array())
        .map(|c| {
            c.iter()
                .filter_map(|x| x.as_str().map(String::from))
                .collect()
        })
        .unwrap_or_default()
}

/// A typed table built again from nothing but its published counts (`build`): equal to
/// the table when every rate and comparison is what those counts give.
pub fn rebuild(b: &RecordBatch) -> Result<RecordBatch> {
    let schema = b.schema();
    let mut cols = Vec::new();
    for (f, col) in schema.fields().iter().zip(b.columns()) {
        let name = f.name().as_str();
        if name
            .strip_suffix(FLAG)
            .is_some_and(|n| schema.column_with_name(n).is_some())
            || derived_of(b, name).is_some()
        {
            continue;
        }
        cols.push((
            name.to_string(),
            match shown_counts(b, name)? {
                Some(v) => Col::Count(v),
                None => Col::Plain(col.clone()),
            },
        ));
    }
    let out = build(cols, threshold_of(b), &cohorts_of(b))?;
    let mut meta = schema.metadata().clone();
    meta.extend(out.schema().metadata().clone());
    let typed = out.schema().as_ref().clone().with_metadata(meta);
    out.with_schema(Arc::new(typed))
        .map_err(|e| Error::context("aggregate table", e))
}

/// The attrition table as it may leave: step, label, persons before, removed, remaining,
/// each count through `disclosure::persons` (the removed from exact counts, so a small step
/// is hidden and its neighbours' rounding cannot be subtracted to find it).
pub fn attrition_table(b: &RecordBatch, labels: &[String], threshold: u32) -> Result<RecordBatch> {
    let mut remaining = Vec::new();
    for i in 0..labels.len() {
        let v = i64_col(b, &names::persons_after(i))?;
        remaining.push(v.first().copied().unwrap_or(0).max(0) as u64);
    }
    let shown = |n: u64| disclosure::persons(n, threshold);
    let n = labels.len();
    // Row i shows step i's figures; the entry row (0) has none.
    let before: Vec<Option<Shown>> = (0..n)
        .map(|i| i.checked_sub(1).map(|j| shown(remaining[j])))
        .collect();
    let removed: Vec<Option<Shown>> = (0..n)
        .map(|i| {
            i.checked_sub(1)
                .map(|j| shown(remaining[j].saturating_sub(remaining[i])))
        })
        .collect();
    let remaining_s: Vec<Option<Shown>> = remaining.iter().map(|&r| Some(shown(r))).collect();
    build(
        vec![
            (
                "step".into(),
                Col::Plain(Arc::new(Int64Array::from(
                    (0..n as i64).collect::<Vec<_>>(),
                ))),
            ),
            (
                "label".into(),
                Col::Plain(Arc::new(StringArray::from(labels.to_vec()))),
            ),
            ("persons_before".into(), Col::Count(before)),
            ("removed".into(), Col::Count(removed)),
            ("remaining".into(), Col::Count(remaining_s)),
        ],
        threshold,
        &[],
    )
}

/// A report too fine to leave: more than half its non-empty cells describe fewer than
/// `threshold` persons.
pub fn report_too_fine(b: &RecordBatch, threshold: u32) -> Result<bool> {
    let persons: Vec<u64> = i64_col(b, names::PERSONS)?
        .into_iter()
        .map(|x| x.max(0) as u64)
        .collect();
    Ok(disclosure::too_fine(&persons, threshold))
}

/// The report as it may leave: strata as text, each count as `build` types it (hidden where
/// 1 to threshold − 1, rounded otherwise), person-days with the persons they belong to.
pub fn report_table(
    b: &RecordBatch,
    strata: &[StratumColumn],
    counts: &[String],
    threshold: u32,
    cohorts: &[String],
) -> Result<RecordBatch> {
    let mut cols: Vec<(String, Col)> = Vec::new();
    let fmt = FormatOptions::default().with_null("");
    for stratum in strata {
        let s = &stratum.column;
        let col = b
            .column_by_name(s)
            .ok_or_else(|| Error::new(format!("missing stratum {s}")))?;
        let f = ArrayFormatter::try_new(col.as_ref(), &fmt).map_err(|e| Error::context(s, e))?;
        let mut v: Vec<String> = (0..col.len()).map(|i| f.value(i).to_string()).collect();
        if let Some(w) = stratum.age_band {
            // Bands are grouped by their lower bound (so they sort by age) and shown as `60-69`.
            v = v
                .into_iter()
                .map(|lo| {
                    lo.parse::<i64>()
                        .map(|lo| format!("{lo}-{}", lo + w - 1))
                        .unwrap_or(lo)
                })
                .collect();
        }
        cols.push((s.clone(), Col::Plain(Arc::new(StringArray::from(v)))));
    }
    let persons_shown: Vec<Shown> = i64_col(b, names::PERSONS)?
        .iter()
        .map(|&x| disclosure::persons(x.max(0) as u64, threshold))
        .collect();
    for name in counts {
        // A cell of another cohort's outcome does not apply: null, not flagged.
        let shown: Vec<Option<Shown>> = opt_i64_col(b, name)?
            .iter()
            .map(|x| x.map(|x| disclosure::persons(x.max(0) as u64, threshold)))
            .collect();
        cols.push((name.clone(), Col::Count(shown)));
        if name.ends_with("_persons") {
            // Person-time goes with the persons it counts.
            let days_name = name.replace("_persons", "_person_days");
            if let Ok(days) = opt_i64_col(b, &days_name) {
                let t: Vec<Option<Shown>> = days
                    .iter()
                    .zip(&persons_shown)
                    .map(|(d, p)| d.map(|d| disclosure::person_days(d.max(0) as u64, *p)))
                    .collect();
                cols.push((days_name, Col::Count(t)));
            }
        }
    }
    build(cols, threshold, cohorts)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table() -> RecordBatch {
        let sex = Arc::new(StringArray::from(vec!["F", "M", "U"]));
        build(
            vec![
                ("sex".into(), Col::Plain(sex)),
                (
                    "persons".into(),
                    Col::Count(vec![
                        Some(Shown::Rounded(120)),
                        Some(Shown::Rounded(40)),
                        Some(Shown::Suppressed),
                    ]),
                ),
                (
                    "hf_persons".into(),
                    Col::Count(vec![Some(Shown::Rounded(20)), Some(Shown::Zero), None]),
                ),
                (
                    "hf_person_days".into(),
                    Col::Count(vec![
                        Some(Shown::Rounded(36_500)),
                        Some(Shown::Rounded(14_600)),
                        None,
                    ]),
                ),
            ],
            10,
            &[],
        )
        .expect("a table")
    }

    #[test]
    fn counts_are_numbers_with_flags_and_rates_follow_person_days() {
        let t = table();
        let schema = t.schema();
        let names: Vec<&str> = schema.fields().iter().map(|f| f.name().as_str()).collect();
        assert_eq!(
            names,
            [
                "sex",
                "persons",
                "persons_suppressed",
                "hf_persons",
                "hf_persons_suppressed",
                "hf_person_days",
                "hf_person_days_suppressed",
                "hf_rate_per_1000py",
                "hf_rate_lower95",
                "hf_rate_upper95"
            ]
        );
        let persons = opt_i64_col(&t, "persons").expect("persons");
        assert_eq!(persons, [Some(120), Some(40), None]);
        // 20 events in 36,500 days: 200 per 1,000 person-years.
        let rate = t
            .column_by_name("hf_rate_per_1000py")
            .and_then(|c| c.as_any().downcast_ref::<Float64Array>().cloned())
            .expect("rate");
        assert_eq!(rate.value(0), 200.1);
        assert_eq!(rate.value(1), 0.0);
        assert!(rate.is_null(2));
    }

    #[test]
    fn the_text_view_reads_as_people_read_counts() {
        let v = text_view(&table(), true).expect("view");
        let col = |n: &str| -> Vec<String> {
            let a = v
                .column_by_name(n)
                .and_then(|c| c.as_any().downcast_ref::<StringArray>().cloned())
                .unwrap_or_else(|| panic!("{n}"));
            (0..a.len()).map(|i| a.value(i).to_string()).collect()
        };
        assert_eq!(col("persons"), ["120", "40", "<10"]);
        assert_eq!(col("hf_persons"), ["20", "0", ""]);
        assert_eq!(col("hf_per_1000py")[0], "200.1 (83.9-357.8)");
        assert!(v.column_by_name("persons_suppressed").is_none());
        // Without rates (the release's audit): counts and strata only.
        let audit = text_view(&table(), false).expect("view");
        assert_eq!(audit.num_columns(), 4);
        // Each text reads back as the count it shows.
        assert_eq!(parse_shown("<10").expect("ok"), Some(Shown::Suppressed));
        assert_eq!(parse_shown("").expect("ok"), None);
        assert_eq!(parse_shown("120").expect("ok"), Some(Shown::Rounded(120)));
        assert!(parse_shown("twelve").is_err());
    }

    #[test]
    fn a_hidden_count_with_a_value_is_refused() {
        let t = table();
        let mut cols = t.columns().to_vec();
        cols[2] = Arc::new(BooleanArray::from(vec![true, false, true]));
        let bad = RecordBatch::try_new(t.schema(), cols).expect("batch");
        let e = text_view(&bad, false).expect_err("refused");
        assert!(e.to_string().contains("row 1"), "{e}");
    }
}

#[cfg(test)]
mod comparison_tests {
    use super::*;

    /// Two cohorts by sex, sorted with the comparator first: each comparator row is compared
    /// with the reference's row of its sex.
    #[test]
    fn a_report_by_cohort_compares_each_row_with_the_reference_of_its_strata() {
        let text = |v: Vec<&str>| Col::Plain(Arc::new(StringArray::from(v)));
        let r = |n: u64| Some(Shown::Rounded(n));
        let t = build(
            vec![
                ("cohort".into(), text(vec!["b", "b", "ref", "ref"])),
                ("sex".into(), text(vec!["F", "M", "F", "M"])),
                (
                    "persons".into(),
                    Col::Count(vec![r(200), r(100), r(400), r(300)]),
                ),
                (
                    "o_persons".into(),
                    Col::Count(vec![r(40), Some(Shown::Suppressed), r(40), r(30)]),
                ),
                (
                    "o_person_days".into(),
                    Col::Count(vec![
                        r(36_500),
                        Some(Shown::Suppressed),
                        r(73_000),
                        r(54_800),
                    ]),
                ),
            ],
            10,
            &["ref".to_string(), "b".to_string()],
        )
        .expect("a table");
        let col = |n: &str| {
            t.column_by_name(n)
                .and_then(|c| c.as_any().downcast_ref::<Float64Array>().cloned())
                .unwrap_or_else(|| panic!("{n}"))
        };
        let rr = col("o_rate_ratio");
        let expected = rates::rate_ratio(
            rates::Arm {
                persons: Shown::Rounded(200),
                events: Shown::Rounded(40),
                days: Shown::Rounded(36_500),
            },
            rates::Arm {
                persons: Shown::Rounded(400),
                events: Shown::Rounded(40),
                days: Shown::Rounded(73_000),
            },
            10,
        )
        .expect("a ratio");
        // b, F against ref, F: twice the rate.
        assert_eq!(rr.value(0), expected.point);
        assert_eq!(rr.value(0), 2.0);
        assert_eq!(col("o_rate_ratio_lower95").value(0), expected.lower);
        // b, M has hidden events; the reference's own rows compare with nothing.
        assert!(rr.is_null(1) && rr.is_null(2) && rr.is_null(3));
        // Odds: (40/160) / (40/360) = 2.25.
        assert_eq!(col("o_odds_ratio").value(0), 2.25);
        // The console reads them as text, and the table rebuilds from its counts alone.
        let v = text_view(&t, true).expect("view");
        assert!(v.column_by_name("o_rate_ratio").is_some());
        assert!(
            text_view(&t, false)
                .expect("view")
                .column_by_name("o_rate_ratio")
                .is_none()
        );
    }

    /// A report of one cohort, or whose second cohort lacks the outcome, has no comparisons.
    #[test]
    fn no_comparison_without_two_cohorts_with_the_outcome() {
        let text = |v: Vec<&str>| Col::Plain(Arc::new(StringArray::from(v)));
        let r = |n: u64| Some(Shown::Rounded(n));
        let t = build(
            vec![
                ("cohort".into(), text(vec!["a", "b"])),
                ("persons".into(), Col::Count(vec![r(200), r(100)])),
                ("o_persons".into(), Col::Count(vec![r(40), None])),
                ("o_person_days".into(), Col::Count(vec![r(36_500), None])),
            ],
            10,
            &["a".to_string(), "b".to_string()],
        )
        .expect("a table");
        assert!(t.column_by_name("o_rate_ratio").is_none());
        assert!(t.column_by_name("o_rate_per_1000py").is_some());
    }
}
