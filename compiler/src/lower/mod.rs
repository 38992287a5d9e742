//! Giving a checked program cohort semantics (stage: HIR → CIR). Every cohort statement,
//! outcome, export and report is first expanded (`check::expand`: definitions and parameters
//! replaced by their meaning), then lowered: windows become inclusive day bounds, filters are
//! pushed to their tables, lab thresholds are converted into each item's unit, outcome
//! windows are defaulted, the implicit rules of every cohort are written out, and the
//! validation metadata of the definitions an outcome uses is collected.
//!
//! The checker has found every mistake a script can make (`check::uses` included), so
//! lowering fails only with an internal error: a construct it cannot express is a bug.

mod events;
mod values;

use mid_grammar::ast::CmpOp;

use crate::check::expand::expand;
use crate::cir::{self, Cmp, Date, Events, Pick, Undecided, Window};
use crate::diag::Internal;
use crate::hir::{self, DefKind, Hir, StmtKind};
use crate::validation::Validation;

type Result<T> = std::result::Result<T, Internal>;

/// Lowers a program that `ast_to_hir` checked without errors.
pub fn hir_to_cir(hir: &Hir) -> Result<cir::Program> {
    let mut l = Lower {
        hir,
        used: Vec::new(),
    };
    let mut p = cir::Program {
        study: hir.study.clone(),
        ..Default::default()
    };
    for id in &hir.script_defs {
        let def = hir.def(*id);
        match &def.kind {
            DefKind::Cohort(c) => p
                .cohorts
                .push(l.cohort(&def.name, c, (def.file, def.span))?),
            DefKind::Outcome(o) => {
                l.used.clear();
                let events = l.events(&expand(hir, &o.value))?;
                // The outcome is the first event: `first` may be written or left out.
                let mut events = match events {
                    Events::Pick {
                        input,
                        pick: Pick::First,
                    } => *input,
                    other => other,
                };
                if !has_window(&events) {
                    events = Events::Window {
                        input: Box::new(events),
                        window: Window {
                            lo: Some(Date::Index.offset(1)),
                            hi: Some(Date::End),
                            calendar: None,
                            overlap: false,
                        },
                    };
                }
                let mut definitions = std::mem::take(&mut l.used);
                definitions.sort_by(|a, b| a.0.cmp(&b.0));
                definitions.dedup_by(|a, b| a.0 == b.0);
                // An outcome built from the script's own events, with no definition that
                // carries metadata, is study-specific: it says so wherever its metadata goes.
                if definitions.is_empty() {
                    definitions.push((def.name.clone(), Validation::study_specific()));
                }
                p.outcomes.push(cir::Outcome {
                    name: def.name.clone(),
                    cohorts: o.cohorts.iter().map(|c| hir.def(*c).name.clone()).collect(),
                    events,
                    definitions,
                });
            }
            DefKind::Pending
            | DefKind::Codes(_)
            | DefKind::Value { .. }
            | DefKind::Lab(_)
            | DefKind::Grading(_)
            | DefKind::CohortTemplate(_) => {}
        }
    }
    for e in &hir.exports {
        let columns = l.columns(hir, &e.columns)?;
        let tested = e
            .tested
            .iter()
            .map(|c| Ok((c.name.clone(), l.events(&expand(hir, &c.expr))?)))
            .collect::<Result<_>>()?;
        p.exports.push(cir::Export {
            name: e.name.clone(),
            cohort: hir.def(e.cohort).name.clone(),
            columns,
            by_period: e.by_period,
            tested,
        });
    }
    for r in &hir.reports {
        let strata = r
            .strata
            .iter()
            .map(|s| l.stratum(s))
            .collect::<Result<_>>()?;
        p.reports.push(cir::Report {
            name: r.name.clone(),
            cohorts: r.cohorts.iter().map(|c| hir.def(*c).name.clone()).collect(),
            outcomes: r
                .outcomes
                .iter()
                .map(|o| hir.def(*o).name.clone())
                .collect(),
            strata,
            suppress_below: r.suppress_below,
        });
    }
    for t in &hir.table1s {
        p.table1s.push(cir::Table1 {
            name: t.name.clone(),
            cohorts: t.cohorts.iter().map(|c| hir.def(*c).name.clone()).collect(),
            rows: l.columns(hir, &t.rows)?,
        });
    }
    p.cohorts = in_dependency_order(std::mem::take(&mut p.cohorts))?;
    Ok(p)
}

/// Cohorts in the order they are computed: in the script's order, except that a cohort whose
/// steps ask `in cohort X` comes after X.
fn in_dependency_order(mut left: Vec<cir::Cohort>) -> Result<Vec<cir::Cohort>> {
    use crate::cir::visit::{self, Visitor};
    struct Members(Vec<String>);
    impl Visitor for Members {
        fn cond(&mut self, c: &cir::Cond) {
            if let cir::Cond::InCohort(name) = c {
                self.0.push(name.clone());
            }
            visit::walk_cond(self, c);
        }
    }
    let needs = |c: &cir::Cohort| {
        let mut m = Members(Vec::new());
        m.cohort(c);
        m.0
    };
    let mut out: Vec<cir::Cohort> = Vec::with_capacity(left.len());
    while !left.is_empty() {
        let ready = left.iter().position(|c| {
            needs(c)
                .iter()
                .all(|n| out.iter().any(|done| done.name == *n))
        });
        let Some(i) = ready else {
            // The checker refuses a cohort that needs itself, directly or not.
            return Err(internal("cohorts that need each other (`in cohort`)"));
        };
        out.push(left.remove(i));
    }
    Ok(out)
}

/// The lab catalogue of the stdlib, each item as code generation reads it (codes, unit,
/// conversions, reference interval): what `mid inspect` checks a data set's units against.
pub fn stdlib_labs() -> Vec<cir::LabSpec> {
    let mut sources = crate::source::SourceMap::new();
    let (hir, _) = crate::check::check_stdlib(&mut sources);
    let mut l = Lower {
        hir: &hir,
        used: Vec::new(),
    };
    (0..hir.defs.len())
        .filter_map(|i| l.lab_spec(crate::hir::DefId(i as u32)).ok())
        .collect()
}

/// Whether an outcome's events are restricted by a window of their own (along the events
/// themselves, not inside a `having` condition or a date).
fn has_window(e: &Events) -> bool {
    match e {
        Events::Window { .. } => true,
        Events::Source(_) => false,
        Events::Union(es) => es.iter().any(has_window),
        Events::Value { input, .. }
        | Events::Grade { input, .. }
        | Events::Having { input, .. }
        | Events::Pick { input, .. } => has_window(input),
    }
}

pub(crate) struct Lower<'h> {
    hir: &'h Hir,
    /// Validated definitions met while lowering an outcome.
    used: Vec<(String, Validation)>,
}

fn internal(what: impl Into<String>) -> Internal {
    Internal::new("lowering", what)
}

fn cmp(op: CmpOp) -> Cmp {
    match op {
        CmpOp::Eq => Cmp::Eq,
        CmpOp::Ne => Cmp::Ne,
        CmpOp::Lt => Cmp::Lt,
        CmpOp::Le => Cmp::Le,
        CmpOp::Gt => Cmp::Gt,
        CmpOp::Ge => Cmp::Ge,
    }
}

impl Lower<'_> {
    fn cohort(&mut self, name: &str, c: &hir::Cohort, at: cir::At) -> Result<cir::Cohort> {
        let mut entry = None;
        let mut eras = Vec::new();
        let mut steps = Vec::new();
        let mut end = None;
        let mut periods = None;
        for s in &c.stmts {
            match &s.kind {
                StmtKind::Index(e) => {
                    let (pick, events) = match self.events(&expand(self.hir, e))? {
                        Events::Pick { input, pick } => (pick, *input),
                        other => (Pick::Every, other),
                    };
                    entry = Some(cir::Entry {
                        pick,
                        events,
                        text: s.text.clone(),
                        index_within: Window {
                            lo: Some(Date::StartOfObservation),
                            hi: Some(Date::EndOfObservation),
                            calendar: None,
                            overlap: false,
                        },
                    });
                }
                StmtKind::Require { label, cond } | StmtKind::Exclude { label, cond } => {
                    let exclude = matches!(s.kind, StmtKind::Exclude { .. });
                    let kw = if exclude { "exclude" } else { "require" };
                    steps.push(cir::Step {
                        label: match label {
                            Some(l) => format!("{kw} \"{l}\""),
                            None => one_line(&s.text),
                        },
                        exclude,
                        cond: self.cond(&expand(self.hir, cond))?,
                    });
                }
                StmtKind::End(e) => end = Some(self.date(&expand(self.hir, e))?),
                StmtKind::Era {
                    name,
                    events,
                    gap,
                    grace,
                    ..
                } => eras.push(cir::Era {
                    name: name.clone(),
                    events: self.events(&expand(self.hir, events))?,
                    gap: *gap,
                    grace: *grace,
                }),
                StmtKind::Periods {
                    length,
                    from,
                    until,
                    then_until,
                } => {
                    let from = self.date(&expand(self.hir, from))?;
                    let until = self.date(&expand(self.hir, until))?;
                    let (fo, uo) = match (split_offset(&from), split_offset(&until)) {
                        ((fb, fo), (ub, uo)) if fb == ub && uo >= fo => (fo, uo),
                        _ => return Err(internal("periods without a fixed length")),
                    };
                    let count = (uo - fo + length) / length;
                    let last_until = match then_until {
                        Some(t) => Some(self.date(&expand(self.hir, t))?),
                        None => None,
                    };
                    periods = Some(cir::Periods {
                        length: *length,
                        from,
                        count: u32::try_from(count)
                            .map_err(|_| internal("more periods than can be counted"))?,
                        days: uo - fo + 1,
                        last_until,
                    });
                }
            }
        }
        let entry = entry.ok_or_else(|| internal(format!("cohort {name} has no index")))?;
        // Follow-up always ends at the end of observation or death, whatever the script says.
        let mut ends: Vec<Date> = end.into_iter().collect();
        ends.extend([Date::EndOfObservation, Date::Death]);
        Ok(cir::Cohort {
            name: name.to_string(),
            at,
            entry,
            eras,
            steps,
            undecided: Undecided::NotAdmitted,
            end: Date::Earliest(ends),
            periods,
        })
    }

    fn stratum(&mut self, s: &hir::Stratum) -> Result<cir::Stratum> {
        Ok(match s {
            hir::Stratum::Sex => cir::Stratum::Sex,
            hir::Stratum::Hospital => cir::Stratum::Hospital,
            hir::Stratum::AgeBand(w) => cir::Stratum::AgeBand(*w),
            hir::Stratum::Year => cir::Stratum::Year,
            hir::Stratum::Month => cir::Stratum::Month,
            hir::Stratum::Quarter => cir::Stratum::Quarter,
            hir::Stratum::FiscalYear => cir::Stratum::FiscalYear,
            hir::Stratum::Period => cir::Stratum::Period,
            hir::Stratum::Cohort => cir::Stratum::Cohort,
            hir::Stratum::IndexDrug => cir::Stratum::IndexDrug,
            hir::Stratum::Grade { name, expr } => cir::Stratum::Grade {
                name: name.clone(),
                value: self.grade_value(&expand(self.hir, expr))?,
            },
            hir::Stratum::TestingHistory(e) => {
                cir::Stratum::TestingHistory(self.events(&expand(self.hir, e))?)
            }
            hir::Stratum::Condition { name, cond } => cir::Stratum::Condition {
                name: name.clone(),
                cond: self.cond(&expand(self.hir, cond))?,
            },
        })
    }
}

/// Splits `anchor + n` into the anchor and n (a literal date is day n after day 0).
fn split_offset(d: &Date) -> (Date, i64) {
    match d {
        Date::Offset(b, n) => {
            let (base, o) = split_offset(b);
            (base, o.saturating_add(*n))
        }
        Date::Literal(x) => (Date::Literal(0), i64::from(*x)),
        other => (other.clone(), 0),
    }
}

fn one_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use crate::testing::lower;

    #[test]
    fn windows_become_inclusive_day_bounds() {
        insta::assert_snapshot!(lower(
            r#"codes x: drug = yj "2432001"
cohort c {
  index = first drug x
  exclude drug x within 180 days before index
  require drug x within 30 days around index
  exclude drug x on or after index + 1 day
}"#
        ), @r#"

        cohort c
          entry: first of drug[yj "2432001"]  -- index = its date, inside observation
          step 1 (exclude drug x within 180 days before index): exclude if some drug[yj "2432001"] in [index - 180 .. index - 1]
          step 2 (require drug x within 30 days around index): some drug[yj "2432001"] in [index - 30 .. index + 30]
          step 3 (exclude drug x on or after index + 1 day): exclude if some drug[yj "2432001"] in [index + 1 ..)
          an entry a step cannot decide (missing data) is not admitted
          end: earliest(end of observation, death)
        "#);
    }

    #[test]
    fn the_implicit_rules_are_written_out() {
        insta::assert_snapshot!(lower(
            r#"codes x: drug = yj "2432001"
cohort c {
  index = every drug x
  require age at index >= 15
}"#
        ), @r#"

        cohort c
          entry: every of drug[yj "2432001"]  -- index = its date, inside observation
          step 1 (require age at index >= 15): age at index >= 15
          an entry a step cannot decide (missing data) is not admitted
          end: earliest(end of observation, death)
        "#);
    }

    #[test]
    fn definitions_and_parameters_are_inlined() {
        insta::assert_snapshot!(lower(
            r#"codes x: drug = yj "2432001"
define recent(d: Duration = 30 days) = drug x within d before index
define first_x = first drug x
cohort c {
  index = first drug x
  exclude recent(90 days)
  end = earliest(first_x + 140 days, index + 1 year)
}
export c with first_x"#
        ), @r#"

        cohort c
          entry: first of drug[yj "2432001"]  -- index = its date, inside observation
          step 1 (exclude recent(90 days)): exclude if some drug[yj "2432001"] in [index - 90 .. index - 1]
          an entry a step cannot decide (missing data) is not admitted
          end: earliest(earliest(date of first drug[yj "2432001"] + 140, index + 365), end of observation, death)

        export c: first_x = date of first drug[yj "2432001"]
        "#);
    }

    #[test]
    fn filters_go_to_their_tables_and_thresholds_to_the_item_unit() {
        insta::assert_snapshot!(lower(
            r#"import labs.{platelets, glucose}
codes hf: diagnosis = icd10 "I50"
cohort c {
  index = first diagnosis hf where not suspected
  exclude lab platelets < 10 x10^4/uL within 180 days before index
  exclude lab glucose >= 11.1 mmol/L within 180 days before index
}"#
        ), @r#"

        cohort c
          entry: first of diagnosis[icd10 "I50" where not suspected]  -- index = its date, inside observation
          step 1 (exclude lab platelets < 10 x10^4/uL within 180 days before index): exclude if some lab[item platelets] with value < 100 10^3/uL in [index - 180 .. index - 1]
          step 2 (exclude lab glucose >= 11.1 mmol/L within 180 days before index): exclude if some lab[item glucose] with value >= 199.9776 mg/dL in [index - 180 .. index - 1]
          an entry a step cannot decide (missing data) is not admitted
          end: earliest(end of observation, death)
        "#);
    }

    #[test]
    fn an_outcome_of_the_scripts_own_events_is_study_specific() {
        insta::assert_snapshot!(lower(
            r#"codes x: drug = yj "2432001"
codes hf: diagnosis = icd10 "I50"
cohort c { index = first drug x }
outcome h in c = first diagnosis hf"#
        ), @r#"

        cohort c
          entry: first of drug[yj "2432001"]  -- index = its date, inside observation
          end: earliest(end of observation, death)

        outcome h in c: first of diagnosis[icd10 "I50"] in [index + 1 .. end]
          its own definition: study-specific, not validated
        "#);
    }

    #[test]
    fn an_outcome_window_defaults_to_follow_up_and_keeps_its_validation() {
        insta::assert_snapshot!(lower(
            r#"import outcomes.{neutropenia}
codes x: drug = yj "2432001"
cohort c { index = first drug x }
outcome n in c = neutropenia"#
        ), @r#"

        cohort c
          entry: first of drug[yj "2432001"]  -- index = its date, inside observation
          end: earliest(end of observation, death)

        outcome n in c: first of lab[item neutrophil_count] with value <= 1500 /uL in [index + 1 .. end]
          uses outcomes.neutropenia: validated, population: patients with blood counts at MID-NET cooperating hospitals, source: PMDA's definition in the thiamazole study: neutrophil count at most 1,500/uL (lab-defined; CTCAE grade 2 below 1,500), citation: Kinoshita Y, Kajiyama K, Ishiguro C, et al. Clin Pharmacol Ther 2023;113:924-931, doi: 10.1002/cpt.2850, note: lab-defined, not chart-validated: no PPV; the computed count uses one neutrophil percentage, so hospitals reporting band and segmented neutrophils apart are undercounted
        "#);
    }

    #[test]
    fn periods_count_from_a_fixed_length() {
        insta::assert_snapshot!(lower(
            r#"codes x: drug = yj "2432001"
cohort c {
  index = first drug x
  periods of 14 days from index + 1 day until index + 140 days then until end
}"#
        ), @r#"

        cohort c
          entry: first of drug[yj "2432001"]  -- index = its date, inside observation
          end: earliest(end of observation, death)
          periods: 10 of 14 days from index + 1, then one period until end
        "#);
    }

    #[test]
    fn the_last_period_is_cut_at_until() {
        insta::assert_snapshot!(lower(
            r#"codes x: drug = yj "2432001"
cohort c {
  index = first drug x
  periods of 14 days from index + 1 day until index + 30 days
}"#
        ), @r#"

        cohort c
          entry: first of drug[yj "2432001"]  -- index = its date, inside observation
          end: earliest(end of observation, death)
          periods: 3 of 14 days from index + 1 (the last cut to 2 days)
        "#);
    }
}
