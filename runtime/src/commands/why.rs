//! `mid why`: why one patient is in or out of each cohort of a script — the entry and index,
//! every step's result with the events it was decided on, the end of follow-up and the term
//! that set it, each outcome — and, for a patient a step removed, that step and the event
//! nearest the index. It runs the script's own plans (what was decided) and the compiler's
//! evidence plans (on which rows) over that one patient's data. Site-only: it prints
//! patient-level detail.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::PathBuf;
use std::process::ExitCode;

use arrow::array::{Array, Int64Array, RecordBatch};
use arrow::datatypes::DataType;
use mid_compiler::cir::{self, Value};
use mid_compiler::codegen::names;
use mid_compiler::codegen::why::{self, Evidence, Part};
use mid_compiler::{CompileOptions, PlanKind};

use super::run::{checked_data, open_checked};
use super::{Color, compile_script};
use crate::engine::run_all;
use crate::error::{Error, Result};
use crate::output::{Results, batch, text_column};

/// Arguments of `mid why`.
#[derive(Debug, Clone, clap::Args)]
pub struct WhyArgs {
    /// The script.
    pub file: PathBuf,
    /// The patient, as HOSPITAL/ID (`H01/1000123`).
    #[arg(long)]
    pub patient: String,
    /// The CDM data set; the built-in demo network when absent.
    #[arg(long)]
    pub data: Option<PathBuf>,
    /// Rows of evidence shown per event source, nearest the index first.
    #[arg(long, default_value_t = 5)]
    pub rows: usize,
    /// Colour diagnostics.
    #[arg(long, value_enum, default_value_t = Color::Auto)]
    pub color: Color,
}

pub fn why(args: &WhyArgs) -> Result<ExitCode> {
    let (hospital, patient) = parse_patient(&args.patient)?;
    let compiled = compile_script(&args.file, args.color, &CompileOptions::default())?;
    let data = crate::dataset::resolve_data(args.data.as_deref())?;
    let needs = mid_compiler::requirements::requirements(&compiled.cir);
    checked_data(&data, &needs, &compiled.checked.sources, args.color, false)?;
    // The script's cohorts and outcomes, and per cohort what ended follow-up.
    let mut program = compiled.cir.clone();
    program.exports = program
        .cohorts
        .iter()
        .map(|c| cir::Export {
            name: Some(format!("why_{}", c.name)),
            cohort: c.name.clone(),
            columns: vec![("censoring".into(), Value::Censoring)],
            by_period: false,
            tested: Vec::new(),
        })
        .collect();
    program.reports.clear();
    program.table1s.clear();
    let internal = |e: mid_compiler::diag::Internal| Error::new(format!("{e}"));
    let mut plans = mid_compiler::cir_to_plan(&program).map_err(internal)?;
    let (evidence_plans, evidence) = why::evidence_plans(&program).map_err(internal)?;
    plans.extend(evidence_plans);
    let rt = crate::runtime()?;
    let (results, person) = rt.block_on(async {
        let (engine, _) = open_checked(&data, None, &needs).await?;
        engine.only_patient(&hospital, patient).await?;
        let person = engine.table_rows("patient").await?;
        let results = run_all(&engine, &plans, false, |_, _| {}).await?;
        Ok::<_, Error>((results, person))
    })?;
    if person.num_rows() == 0 {
        return Err(Error::usage(format!(
            "no patient {hospital}/{patient} in {}",
            data.display()
        )));
    }
    let exports: BTreeMap<String, String> = plans
        .iter()
        .filter_map(|p| match &p.kind {
            PlanKind::Export { cohort } => Some((cohort.clone(), p.name.clone())),
            _ => None,
        })
        .collect();
    let mut out = String::new();
    let _ = writeln!(
        out,
        "patient {hospital}/{patient} — site-only: patient-level detail, not for release"
    );
    let _ = writeln!(out, "  {}", describe_person(&person)?);
    for c in &program.cohorts {
        out.push('\n');
        cohort(
            &mut out,
            c,
            &program,
            &results,
            &evidence,
            exports.get(&c.name),
            args.rows,
        )?;
    }
    crate::out!("{out}");
    Ok(ExitCode::SUCCESS)
}

/// `H01/1000123` → (`H01`, 1000123).
fn parse_patient(text: &str) -> Result<(String, i64)> {
    let bad = || {
        Error::usage(format!(
            "--patient {text}: write the hospital and the patient's id as HOSPITAL/ID, e.g. H01/1000123"
        ))
    };
    let (h, id) = text.split_once('/').ok_or_else(bad)?;
    let id: i64 = id.trim().parse().map_err(|_| bad())?;
    if h.trim().is_empty() {
        return Err(bad());
    }
    Ok((h.trim().to_string(), id))
}

fn describe_person(p: &RecordBatch) -> Result<String> {
    let text =
        |c: &str| -> Result<Option<String>> { Ok(text_column(p, c)?.into_iter().next().flatten()) };
    let day = |c: &str| -> Result<String> {
        Ok(days(p, c)?.into_iter().next().flatten().map_or_else(
            || "unknown".into(),
            |d| mid_compiler::dates::format(d as i32),
        ))
    };
    let mut s = format!(
        "sex {}, born {}, records from {} to {}",
        text("sex")?.unwrap_or_else(|| "unknown".into()),
        day("birth_date")?,
        day("first_record_date")?,
        day("last_record_date")?
    );
    if let Some(Some(d)) = days(p, "death_date")?.into_iter().next() {
        let _ = write!(s, ", died {}", mid_compiler::dates::format(d as i32));
    }
    Ok(s)
}

/// One cohort: each entry, its steps with their evidence, and where it ended.
fn cohort(
    out: &mut String,
    c: &cir::Cohort,
    p: &cir::Program,
    results: &Results,
    evidence: &[Evidence],
    export: Option<&String>,
    rows: usize,
) -> Result<()> {
    let entries = batch(results, &names::entries_plan(&c.name))?;
    let steps = batch(results, &names::steps_plan(&c.name))?;
    let members = batch(results, &names::cohort_plan(&c.name))?;
    let index_days = days(&entries, "index_day")?;
    let member_days: Vec<i64> = days(&members, "index_day")?.into_iter().flatten().collect();
    let ev = |part: Part| -> Vec<&Evidence> {
        evidence
            .iter()
            .filter(|e| e.cohort == c.name && e.part == part)
            .collect()
    };
    let entry_text = &c.entry.text;
    if index_days.is_empty() {
        let _ = writeln!(out, "cohort {}: no entry (`{entry_text}`)", c.name);
        let mut any = false;
        for e in ev(Part::Entry) {
            any |= list(out, e, results, None, rows)?;
        }
        let _ = writeln!(
            out,
            "    {}",
            if any {
                "these records give no index inside the patient's records at the hospital (or not the one the entry picks)"
            } else {
                "no record of the entry's events"
            }
        );
        return Ok(());
    }
    let step_cols = why::step_columns(c);
    let observed = match (
        days(&entries, "obs_start_day")?.first().copied().flatten(),
        days(&entries, "obs_end_day")?.first().copied().flatten(),
    ) {
        (Some(a), Some(b)) => Some((a, b)),
        _ => None,
    };
    for (i, index) in index_days.iter().enumerate() {
        let Some(index) = *index else { continue };
        let row = (0..steps.num_rows()).find(|r| {
            days(&steps, "index_day")
                .ok()
                .and_then(|d| d[*r])
                .is_some_and(|d| d == index)
        });
        let passed: Vec<Option<bool>> = step_cols
            .iter()
            .map(|col| row.and_then(|r| bools(&steps, col).ok().and_then(|b| b[r])))
            .collect();
        let first_failed = passed.iter().position(|p| *p != Some(true));
        let member = member_days.contains(&index);
        let verdict = match (member, first_failed) {
            (true, _) => "in the cohort".to_string(),
            (false, Some(k)) => format!("not in the cohort — removed by step {}", k + 1),
            (false, None) => "not in the cohort".to_string(),
        };
        let which = if index_days.len() > 1 {
            format!(" (entry {} of {})", i + 1, index_days.len())
        } else {
            String::new()
        };
        let _ = writeln!(out, "cohort {}{which}: {verdict}", c.name);
        let _ = writeln!(
            out,
            "  entry `{entry_text}`: index {}",
            mid_compiler::dates::format(index as i32)
        );
        for e in ev(Part::Entry) {
            list(out, e, results, Some(index), rows)?;
        }
        for (k, s) in c.steps.iter().enumerate() {
            let result = match passed[k] {
                Some(true) => "passed",
                _ if s.exclude => "failed: excluded",
                _ => "failed: not met",
            };
            let here = if first_failed == Some(k) && !member {
                " ← removed here"
            } else {
                ""
            };
            let _ = writeln!(
                out,
                "  step {} {}: {result}{here}\n    rule: {}",
                k + 1,
                s.label,
                cir::step(s)
            );
            // The event that decided a failed step: for an exclusion the one in its window
            // nearest index, for a requirement the nearest miss.
            let mut decisive: Option<(i64, i64, Row)> = None;
            if ev(Part::Step(k + 1)).is_empty()
                && let Some((first, last)) = observed
            {
                // A rule on the patient (observation, age, sex): what it reads.
                let _ = writeln!(
                    out,
                    "    the patient's records: {} ({}) to {} ({})",
                    mid_compiler::dates::format(first as i32),
                    relative(first - index),
                    mid_compiler::dates::format(last as i32),
                    relative(last - index)
                );
            }
            for e in ev(Part::Step(k + 1)) {
                list(out, e, results, Some(index), rows)?;
                for r in evidence_rows(e, results)? {
                    let (d, e0) = (r.day - index, r.end.unwrap_or(r.day) - index);
                    let key = match e.window {
                        Some(w) if s.exclude && !w.holds(d, e0) => continue,
                        Some(w) if !s.exclude => (w.distance(d, e0), d.abs()),
                        _ => (0, d.abs()),
                    };
                    if decisive.as_ref().is_none_or(|(a, b, _)| key < (*a, *b)) {
                        decisive = Some((key.0, key.1, r));
                    }
                }
            }
            if first_failed == Some(k) && !member {
                match decisive {
                    Some((outside, _, r)) => {
                        let how = if s.exclude {
                            "in its window".to_string()
                        } else if outside > 0 {
                            format!("{outside} day(s) outside its window")
                        } else {
                            "in its window, but not as the rule asks".to_string()
                        };
                        let _ = writeln!(
                            out,
                            "    {}: {} on {}, {} ({how})",
                            if s.exclude {
                                "because of"
                            } else {
                                "nearest miss"
                            },
                            r.what,
                            mid_compiler::dates::format(r.day as i32),
                            relative(r.day - index)
                        );
                    }
                    None if !ev(Part::Step(k + 1)).is_empty() => {
                        let _ = writeln!(out, "    no such event at all");
                    }
                    None => {}
                }
            }
        }
        if !member {
            continue;
        }
        let end = days(&members, "end_day")?
            .into_iter()
            .zip(&member_days)
            .find(|(_, d)| **d == index)
            .and_then(|(e, _)| e);
        let term = match export {
            Some(plan) => {
                let t = batch(results, plan)?;
                let idx = days(&t, "index_date")?;
                let cens = text_column(&t, "censoring")?;
                idx.iter()
                    .zip(cens)
                    .find(|(d, _)| **d == Some(index))
                    .and_then(|(_, c)| c)
            }
            None => None,
        };
        if let Some(end) = end {
            let _ = writeln!(
                out,
                "  end of follow-up {} ({}), set by {}",
                mid_compiler::dates::format(end as i32),
                relative(end - index),
                term.unwrap_or_else(|| "an unknown term".into())
            );
        }
        for e in ev(Part::End) {
            list(out, e, results, Some(index), rows)?;
        }
        for o in p.outcomes.iter().filter(|o| o.cohorts.contains(&c.name)) {
            let t = batch(results, &names::outcome_plan(o, &c.name))?;
            let when = days(&t, "index_day")?
                .into_iter()
                .zip(days(&t, "outcome_day")?)
                .find(|(d, _)| *d == Some(index))
                .and_then(|(_, o)| o);
            match when {
                Some(d) => {
                    let _ = writeln!(
                        out,
                        "  outcome {}: {} ({})",
                        o.name,
                        mid_compiler::dates::format(d as i32),
                        relative(d - index)
                    );
                }
                None => {
                    let _ = writeln!(out, "  outcome {}: none in follow-up", o.name);
                }
            }
            for e in ev(Part::Outcome(o.name.clone())) {
                list_around(out, e, results, index, when.unwrap_or(index), rows)?;
            }
        }
    }
    Ok(())
}

/// The rows of one evidence source, nearest the index first (at most `rows`); whether any.
fn list(
    out: &mut String,
    e: &Evidence,
    results: &Results,
    index: Option<i64>,
    rows: usize,
) -> Result<bool> {
    match index {
        Some(i) => list_around(out, e, results, i, i, rows),
        None => list_rows(out, e, results, None, None, rows),
    }
}

/// The rows of one evidence source nearest `around` (at most `rows`), dated from `index`.
fn list_around(
    out: &mut String,
    e: &Evidence,
    results: &Results,
    index: i64,
    around: i64,
    rows: usize,
) -> Result<bool> {
    list_rows(out, e, results, Some(index), Some(around), rows)
}

fn list_rows(
    out: &mut String,
    e: &Evidence,
    results: &Results,
    index: Option<i64>,
    around: Option<i64>,
    rows: usize,
) -> Result<bool> {
    let found = evidence_rows(e, results)?;
    if found.is_empty() {
        let _ = writeln!(out, "    {}: none", e.source);
        return Ok(false);
    }
    let mut shown = found.clone();
    if let Some(a) = around {
        shown.sort_by_key(|r| ((r.day - a).abs(), r.day));
    }
    shown.truncate(rows);
    shown.sort_by_key(|r| r.day);
    let _ = writeln!(out, "    {}: {} record(s)", e.source, found.len());
    for r in &shown {
        let mut line = format!("      {}", r.what);
        let _ = write!(line, " {}", mid_compiler::dates::format(r.day as i32));
        if let Some(end) = r.end.filter(|e| *e != r.day) {
            let _ = write!(line, " to {}", mid_compiler::dates::format(end as i32));
        }
        match (&r.value, &e.unit) {
            (Some(v), Some(u)) => {
                let _ = write!(line, ", {v} {u}");
            }
            (Some(v), None) => {
                let _ = write!(line, ", value {v}");
            }
            // A lab result without a value: text, or a unit mid cannot convert.
            (None, Some(_)) => line.push_str(", no value in the item's unit"),
            (None, None) => {}
        }
        if let Some(i) = index {
            let _ = write!(line, " ({})", relative(r.day - i));
            if let Some(w) = e.window
                && w.holds(r.day - i, r.end.unwrap_or(r.day) - i)
            {
                line.push_str(" [in the window]");
            }
        }
        let _ = writeln!(out, "{line}");
    }
    if found.len() > shown.len() {
        let _ = writeln!(out, "      … {} more", found.len() - shown.len());
    }
    Ok(true)
}

#[derive(Clone)]
struct Row {
    day: i64,
    end: Option<i64>,
    value: Option<String>,
    what: String,
}

fn evidence_rows(e: &Evidence, results: &Results) -> Result<Vec<Row>> {
    let t = batch(results, &e.plan)?;
    let day = days(&t, "ev_day")?;
    let end = days(&t, "ev_end_day")?;
    let value = floats(&t, "ev_value")?;
    let member = if t.column_by_name(names::MEMBER).is_some() {
        text_column(&t, names::MEMBER)?
    } else {
        vec![None; t.num_rows()]
    };
    let mut rows = Vec::new();
    for i in 0..t.num_rows() {
        let Some(d) = day[i] else { continue };
        rows.push(Row {
            day: d,
            end: end[i],
            value: value[i].map(number),
            what: member[i].clone().unwrap_or_else(|| e.source.clone()),
        });
    }
    rows.sort_by(|a, b| (a.day, &a.what).cmp(&(b.day, &b.what)));
    Ok(rows)
}

/// A value as people write it: no float noise (`0.30000000000000004` → `0.3`).
fn number(v: f64) -> String {
    let s = format!("{:.4}", v);
    s.trim_end_matches('0').trim_end_matches('.').to_string()
}

/// `12 days before index`, `on the index day`, `30 days after index`.
fn relative(d: i64) -> String {
    match d {
        0 => "on the index day".into(),
        1 => "1 day after index".into(),
        -1 => "1 day before index".into(),
        d if d > 0 => format!("{d} days after index"),
        d => format!("{} days before index", -d),
    }
}

fn cast(b: &RecordBatch, name: &str, to: &DataType) -> Result<arrow::array::ArrayRef> {
    let col = b
        .column_by_name(name)
        .ok_or_else(|| Error::new(format!("internal error: no column {name}")))?;
    arrow::compute::cast(col, to).map_err(|e| Error::context(format!("column {name}"), e))
}

/// A day column (Date32 or Int32 day numbers) as day numbers.
fn days(b: &RecordBatch, name: &str) -> Result<Vec<Option<i64>>> {
    let col = b
        .column_by_name(name)
        .ok_or_else(|| Error::new(format!("internal error: no column {name}")))?;
    let col = match col.data_type() {
        DataType::Date32 => arrow::compute::cast(col, &DataType::Int32)
            .map_err(|e| Error::context(format!("column {name}"), e))?,
        _ => col.clone(),
    };
    let col = arrow::compute::cast(&col, &DataType::Int64)
        .map_err(|e| Error::context(format!("column {name}"), e))?;
    let a = col
        .as_any()
        .downcast_ref::<Int64Array>()
        .ok_or_else(|| Error::new(format!("internal error: column {name} is not days")))?;
    Ok(a.iter().collect())
}

fn floats(b: &RecordBatch, name: &str) -> Result<Vec<Option<f64>>> {
    let col = cast(b, name, &DataType::Float64)?;
    let a = col
        .as_any()
        .downcast_ref::<arrow::array::Float64Array>()
        .ok_or_else(|| Error::new(format!("internal error: column {name} is not a number")))?;
    Ok(a.iter().collect())
}

fn bools(b: &RecordBatch, name: &str) -> Result<Vec<Option<bool>>> {
    let col = cast(b, name, &DataType::Boolean)?;
    let a = col
        .as_any()
        .downcast_ref::<arrow::array::BooleanArray>()
        .ok_or_else(|| Error::new(format!("internal error: column {name} is not yes/no")))?;
    Ok((0..a.len())
        .map(|i| (!a.is_null(i)).then(|| a.value(i)))
        .collect())
}

#[cfg(test)]
mod tests {
    use super::{parse_patient, relative};

    #[test]
    fn patients_are_hospital_slash_id() {
        assert_eq!(parse_patient("H01/12").unwrap(), ("H01".into(), 12));
        assert!(parse_patient("H01").is_err());
        assert!(parse_patient("/12").is_err());
        assert!(parse_patient("H01/x").is_err());
    }

    #[test]
    fn days_read_relative_to_index() {
        assert_eq!(relative(0), "on the index day");
        assert_eq!(relative(-12), "12 days before index");
        assert_eq!(relative(1), "1 day after index");
    }
}
