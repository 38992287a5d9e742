//! Codebooks (stage: CIR + HIR → column descriptions): for every column an export or report
//! is compiled to have, what it means in words, its unit, the script text and line it comes
//! from and the outcome definitions behind it. The runtime adds the columns it derives when
//! writing (suppression flags, rates, comparisons) and each column's type as written.

use crate::cir::{self, Program, Stratum, Value};
use crate::codegen::names;
use crate::hir::Hir;
use crate::source::{FileId, SourceMap};
use mid_grammar::ast::Span;

/// One column of an output, described.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct ColumnDoc {
    pub column: String,
    /// `persons`, `days`, `years`, …; none for text, dates and yes/no.
    pub unit: Option<String>,
    pub meaning: String,
    /// Where in the script it comes from: `study.mid:23`; none for what every output has.
    pub source: Option<String>,
    /// The script's text for it, as written.
    pub script: Option<String>,
    /// The outcome definitions (stdlib or the script's own) it uses.
    pub definitions: Vec<String>,
    /// Why a value may be empty (none when it never is).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub null_reason: Option<String>,
    /// An export's lab value: its empty values told apart by a helper column of the plan.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub null_split: Option<NullSplit>,
}

/// Two reasons for an empty value, told apart by a helper column the export's plan adds (the
/// number of results behind the value), which the runtime counts by and drops.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct NullSplit {
    pub helper: String,
    /// The reason when the helper is 0: nothing found.
    pub none: String,
    /// The reason when results were found but give no value.
    pub some: String,
}

impl ColumnDoc {
    pub fn new(column: &str, meaning: impl Into<String>) -> ColumnDoc {
        ColumnDoc {
            column: column.to_string(),
            unit: None,
            meaning: meaning.into(),
            source: None,
            script: None,
            definitions: Vec::new(),
            null_reason: None,
            null_split: None,
        }
    }
    pub fn unit(mut self, u: &str) -> ColumnDoc {
        self.unit = Some(u.to_string());
        self
    }
}

/// Places and texts in the script.
struct Where<'a> {
    hir: &'a Hir,
    sources: &'a SourceMap,
}

impl Where<'_> {
    /// `study.mid:23`: the file's name without its directory, so a codebook reads the
    /// same wherever the script was compiled.
    fn line(&self, file: FileId, span: Span) -> String {
        let (line, _) = self.sources.line_col(file, span.start);
        let name = &self.sources.get(file).name;
        let base = std::path::Path::new(name)
            .file_name()
            .map_or_else(|| name.clone(), |n| n.to_string_lossy().into_owned());
        format!("{base}:{line}")
    }
    fn text(&self, file: FileId, span: Span) -> String {
        let t = &self.sources.get(file).text;
        t.get(span.start..span.end.min(t.len()))
            .unwrap_or_default()
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ")
    }
    /// The script's own declaration of `name`.
    fn script_def(&self, name: &str) -> Option<&crate::hir::Def> {
        self.hir
            .script_defs
            .iter()
            .map(|id| self.hir.def(*id))
            .find(|d| d.name == name)
    }

    /// A cohort's place.
    fn cohort(&self, name: &str) -> Option<String> {
        self.script_def(name).map(|d| self.line(d.file, d.span))
    }

    /// An outcome's place, its text and the definitions it uses.
    fn outcome(&self, p: &Program, name: &str) -> (Option<String>, Option<String>, Vec<String>) {
        let def = self.script_def(name);
        let definitions = p
            .outcome(name)
            .map(|o| o.definitions.iter().map(|(n, _)| n.clone()).collect())
            .unwrap_or_default();
        // The definition as the script writes it (the cohort IR's text when there is none).
        let text = def
            .and_then(|d| match &d.kind {
                crate::hir::DefKind::Outcome(o) => Some(self.text(o.value.file, o.value.span)),
                _ => None,
            })
            .or_else(|| p.outcome(name).map(cir::outcome));
        (def.map(|d| self.line(d.file, d.span)), text, definitions)
    }
}

/// The columns of every export, in the program's order.
pub fn export_columns(p: &Program, hir: &Hir, sources: &SourceMap) -> Vec<Vec<ColumnDoc>> {
    let w = Where { hir, sources };
    p.exports
        .iter()
        .zip(&hir.exports)
        .map(|(e, he)| {
            let cohort = p.cohort(&e.cohort);
            let mut out = vec![
                ColumnDoc::new("hospital_id", "the hospital whose records the row comes from"),
                ColumnDoc::new(
                    "patient_id",
                    "the patient's identifier at that hospital (a keyed pseudonym in an extraction)",
                ),
                ColumnDoc {
                    script: cohort.map(cir::entry),
                    source: w.cohort(&e.cohort),
                    ..ColumnDoc::new(
                        "index_date",
                        format!("the day the patient entered cohort `{}` (index)", e.cohort),
                    )
                },
                ColumnDoc {
                    script: cohort.map(|c| cir::date(&c.end)),
                    source: w.cohort(&e.cohort),
                    ..ColumnDoc::new("end_date", "the last day of follow-up (end)")
                },
            ];
            let periods = cohort
                .and_then(|c| c.periods.as_ref())
                .map(cir::periods)
                .unwrap_or_default();
            if e.by_period {
                out.push(ColumnDoc {
                    script: Some(periods.clone()),
                    source: w.cohort(&e.cohort),
                    ..ColumnDoc::new(
                        "period",
                        "the follow-up period, numbered from 1 (a row per period that follow-up reaches)",
                    )
                });
                out.push(ColumnDoc::new("period_start", "the period's first day"));
                out.push(ColumnDoc::new(
                    "period_end",
                    "the period's last day, cut at the end of follow-up",
                ));
            }
            for ((name, v), hc) in e.columns.iter().zip(&he.columns) {
                let mut d = ColumnDoc {
                    source: Some(w.line(hc.expr.file, hc.expr.span)),
                    script: Some(w.text(hc.expr.file, hc.expr.span)),
                    null_reason: null_reason(v),
                    ..ColumnDoc::new(name, value_meaning(v))
                };
                match v {
                    Value::Age(_) => d.unit = Some("years".into()),
                    Value::LabValue(e) | Value::LabMax(e) | Value::LabMin(e) => {
                        d.unit = cir::lab_unit(e);
                        d.null_split = Some(lab_null_split(name, v));
                    }
                    Value::LabGrade { .. } => {
                        d.unit = Some("grade".into());
                        d.null_split = Some(lab_null_split(name, v));
                    }
                    Value::Count(_) => d.unit = Some("days".into()),
                    Value::Records(_) => d.unit = Some("records".into()),
                    Value::DaysBetween(..) => d.unit = Some("days".into()),
                    Value::Outcome(o) => {
                        let (source, text, defs) = w.outcome(p, o);
                        d.meaning = format!(
                            "the date of the first `{o}` in follow-up, empty when none: {}",
                            text.unwrap_or_default()
                        );
                        d.definitions = defs;
                        if d.source.is_none() {
                            d.source = source;
                        }
                    }
                    _ => {}
                }
                let per_period = e.by_period && matches!(v, Value::Outcome(_));
                let (source, definitions) = (d.source.clone(), d.definitions.clone());
                out.push(d);
                if per_period {
                    let doc = |column: String, unit: Option<&str>, meaning: String| ColumnDoc {
                        unit: unit.map(String::from),
                        source: source.clone(),
                        definitions: definitions.clone(),
                        ..ColumnDoc::new(&column, meaning)
                    };
                    out.push(doc(
                        format!("{name}_at_risk"),
                        None,
                        format!("yes/no: at risk of `{name}` at the period's start (no `{name}` before it)"),
                    ));
                    out.push(doc(
                        format!("{name}_in_period"),
                        None,
                        format!("yes/no: `{name}` falls in the period's time at risk"),
                    ));
                    out.push(doc(
                        format!("{name}_days_at_risk"),
                        Some("days"),
                        format!("days at risk of `{name}` in the period: from the later of the period's start and the day after index to the earliest of the period's end, the end of follow-up and `{name}`, both included (0 when not at risk)"),
                    ));
                }
            }
            for ((name, ev), hc) in e.tested.iter().zip(&he.tested) {
                let at = Some(w.line(hc.expr.file, hc.expr.span));
                let script = Some(w.text(hc.expr.file, hc.expr.span));
                out.push(ColumnDoc {
                    source: at.clone(),
                    script: script.clone(),
                    ..ColumnDoc::new(
                        name,
                        format!("yes/no: {} in the period", cir::events(ev)),
                    )
                });
                out.push(ColumnDoc {
                    source: at,
                    script,
                    ..ColumnDoc::new(
                        &format!("{name}_before"),
                        format!(
                            "whether {} was tested in all, some or none of the earlier periods (`first period` for period 1)",
                            cir::events(ev)
                        ),
                    )
                });
            }
            out
        })
        .collect()
}

/// The rows of every Table 1, in the program's order: what each characteristic is.
pub fn table1_rows(p: &Program, hir: &Hir, sources: &SourceMap) -> Vec<Vec<ColumnDoc>> {
    let w = Where { hir, sources };
    p.table1s
        .iter()
        .zip(&hir.table1s)
        .map(|(t, ht)| {
            t.rows
                .iter()
                .zip(&ht.rows)
                .map(|((name, v), hr)| {
                    let mut d = ColumnDoc {
                        source: Some(w.line(hr.expr.file, hr.expr.span)),
                        script: Some(w.text(hr.expr.file, hr.expr.span)),
                        null_reason: null_reason(v),
                        ..ColumnDoc::new(name, value_meaning(v))
                    };
                    d.unit = match v {
                        Value::Age(_) => Some("years".into()),
                        Value::LabValue(e) | Value::LabMax(e) | Value::LabMin(e) => {
                            cir::lab_unit(e)
                        }
                        Value::Count(_) => Some("days".into()),
                        Value::Records(_) => Some("records".into()),
                        Value::DaysBetween(..) => Some("days".into()),
                        _ => None,
                    };
                    if let Value::Date(dt) = v {
                        d.meaning = format!("yes/no: {} exists", cir::date(dt));
                    }
                    d
                })
                .collect()
        })
        .collect()
}

/// The two reasons a lab value column is empty, counted apart in an export's codebook.
fn lab_null_split(column: &str, v: &Value) -> NullSplit {
    let (none, some) = match v {
        Value::LabGrade { .. } => (
            "no result picked in the window",
            "the picked result's grade cannot be told (no value in a unit mid can convert, or a missing limit)",
        ),
        Value::LabValue(_) => (
            "no result picked in the window",
            "the picked result is in a unit mid cannot convert",
        ),
        _ => (
            "no result in the window",
            "results only in units mid cannot convert",
        ),
    };
    NullSplit {
        helper: crate::codegen::names::results_helper(column),
        none: none.into(),
        some: some.into(),
    }
}

/// Why a value per entry may be empty: a covariate that cannot be computed is null, never 0,
/// and the codebook says why (and, for exports, how many).
fn null_reason(v: &Value) -> Option<String> {
    Some(match v {
        Value::LabValue(_) => "no result picked in the window, or the picked result is in a unit mid cannot convert (site-only/coverage.json lists those units by hospital)".into(),
        Value::LabMax(_) | Value::LabMin(_) => "no result in the window in a unit mid can convert (site-only/coverage.json lists the others by hospital)".into(),
        Value::LabGrade { .. } => "no result picked in the window, or its grade cannot be told (no value in a unit mid can convert, or a limit the grading needs is missing)".into(),
        Value::Age(_) => "no birth date, or no date to take the age at".into(),
        Value::Date(_) => "no such event".into(),
        Value::Outcome(_) => "no outcome in follow-up".into(),
        Value::DaysBetween(..) => "one of the two dates does not exist (no such event)".into(),
        Value::Sex => "no sex recorded".into(),
        Value::Number(_)
        | Value::Text(_)
        | Value::Bool(_)
        | Value::Hospital
        | Value::Cond(_)
        | Value::Censoring
        | Value::IndexDrug
        | Value::Count(_)
        | Value::Records(_) => return None,
    })
}

fn value_meaning(v: &Value) -> String {
    match v {
        Value::Number(_) | Value::Text(_) | Value::Bool(_) => {
            format!("the constant {}", cir::value(v))
        }
        Value::Age(d) => format!("age in full years at {}", cir::date(d)),
        Value::Sex => "sex: F, M or U (unknown)".into(),
        Value::Hospital => "the hospital".into(),
        Value::LabGrade { events, grading, rules } => format!(
            "the {grading} grade ({}) of {}: the highest grade whose rule holds, 0 when none (the highest when several results share that day); empty when it cannot be told",
            rules
                .iter()
                .map(|(g, op, t)| format!("{g} when {} {}", op.symbol(), cir::threshold(t, None)))
                .collect::<Vec<_>>()
                .join(", "),
            cir::events(events)
        ),
        Value::LabValue(e) => format!(
            "the value of {}, in the item's unit (the highest when several results share that day); empty when there is none",
            cir::events(e)
        ),
        Value::Count(e) => format!(
            "the number of distinct days with {} (0 when none)",
            cir::events(e)
        ),
        Value::LabMax(e) | Value::LabMin(e) => format!(
            "the {} value of {}, in the item's unit; empty when there is none (no result in the window, or none in a unit mid can convert)",
            if matches!(v, Value::LabMax(_)) { "highest" } else { "lowest" },
            cir::events(e)
        ),
        Value::Records(e) => format!(
            "the number of records (rows) of {} (0 when none)",
            cir::events(e)
        ),
        Value::DaysBetween(a, b) => format!(
            "days from {} to {} (negative when the second is earlier); empty when either does not exist",
            cir::date(a),
            cir::date(b)
        ),
        Value::Censoring => "what ended follow-up: the first term of the end of follow-up, in the order written (then end of observation, death), whose date is the end".into(),
        Value::IndexDrug => "the drug that set the index: the code sets (for a class, its members) of the entry's prescriptions on the index day, in alphabetical order, joined with ` + `".into(),
        Value::Date(d) => format!("the date {}, empty when there is none", cir::date(d)),
        Value::Cond(c) => format!("yes/no: {}", cir::cond(c)),
        Value::Outcome(o) => format!("the date of outcome {o}"),
    }
}

/// The columns of every report before the runtime derives flags, rates and comparisons, in
/// the program's order.
pub fn report_columns(
    p: &Program,
    hir: &Hir,
    sources: &SourceMap,
    file: FileId,
) -> Vec<Vec<ColumnDoc>> {
    let w = Where { hir, sources };
    p.reports
        .iter()
        .zip(&hir.reports)
        .map(|(r, hr)| {
            let line = w.line(file, hr.span);
            let by_period = r.strata.iter().any(|s| matches!(s, Stratum::Period));
            let mut out = Vec::new();
            for s in &r.strata {
                out.push(ColumnDoc {
                    source: Some(line.clone()),
                    ..ColumnDoc::new(&names::stratum_column(s), stratum_meaning(s, p, r))
                });
            }
            out.push(ColumnDoc {
                source: Some(line.clone()),
                ..ColumnDoc::new(
                    names::PERSONS,
                    if by_period {
                        "distinct patients with follow-up in the period and stratum"
                    } else {
                        "distinct patients in the stratum"
                    },
                )
                .unit("persons")
            });
            for o in &r.outcomes {
                let (source, text, definitions) = w.outcome(p, o);
                let text = text.unwrap_or_default();
                let mut add = |column: String, unit: &str, meaning: String| {
                    out.push(ColumnDoc {
                        unit: Some(unit.into()),
                        source: source.clone(),
                        script: Some(text.clone()),
                        definitions: definitions.clone(),
                        ..ColumnDoc::new(&column, meaning)
                    });
                };
                if by_period {
                    add(
                        names::outcome_at_risk(o),
                        "persons",
                        format!("patients at risk of `{o}` at the period's start (follow-up reaches it, no `{o}` before it)"),
                    );
                }
                add(
                    names::outcome_persons(o),
                    "persons",
                    format!("patients whose first `{o}` falls in their time at risk{}", if by_period { " in the period" } else { "" }),
                );
                add(
                    names::outcome_person_days(o),
                    "days",
                    format!("days at risk of `{o}`: from the day after index to the earlier of the end of follow-up and `{o}`, both included{}", if by_period { ", within the period" } else { "" }),
                );
            }
            out
        })
        .collect()
}

fn stratum_meaning(s: &Stratum, p: &Program, r: &cir::Report) -> String {
    match s {
        Stratum::Sex => "sex: F, M or U (unknown)".into(),
        Stratum::Hospital => "the hospital".into(),
        Stratum::Grade { value, .. } => value_meaning(value),
        Stratum::IndexDrug => "the drug that set the index: the code sets (for a class, its members) of the entry's prescriptions on the index day, joined with ` + `".into(),
        Stratum::AgeBand(w) => format!("age at index in {w}-year bands, as `60-69`"),
        Stratum::Year => "the calendar year of index".into(),
        Stratum::Month => "the month of index, as YYYYMM".into(),
        Stratum::Quarter => "the calendar quarter of index, as 2019Q1".into(),
        Stratum::FiscalYear => {
            "the Japanese fiscal year (年度, April to March) of index, named by the year it starts in".into()
        }
        Stratum::Period => {
            let periods = r
                .cohorts
                .iter()
                .filter_map(|c| p.cohort(c)?.periods.as_ref())
                .map(cir::periods)
                .next()
                .unwrap_or_default();
            format!("the follow-up period, numbered from 1: {periods}")
        }
        Stratum::Cohort => format!("the cohort counted: {}", r.cohorts.join(", ")),
        Stratum::TestingHistory(e) => format!(
            "whether {} was tested in all, some or none of the earlier periods (`first period` for period 1)",
            cir::events(e)
        ),
        Stratum::Condition { cond, .. } => format!("yes/no: {}", cir::cond(cond)),
    }
}

/// The columns of an attrition table.
pub fn attrition_columns() -> Vec<ColumnDoc> {
    vec![
        ColumnDoc::new(
            "step",
            "0 for the entry, then each step in the script's order",
        ),
        ColumnDoc::new(
            "label",
            "the entry event, or the step's label (its text when it has none)",
        ),
        ColumnDoc::new("persons_before", "patients before the step").unit("persons"),
        ColumnDoc::new("removed", "patients the step removed").unit("persons"),
        ColumnDoc::new("remaining", "patients after the step").unit("persons"),
    ]
}
