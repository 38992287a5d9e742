//! One patient's evidence (stage: CIR → plans, for `mid why`): every event source a cohort's
//! entry, steps, end of follow-up and outcomes read, as plans listing a patient's rows of it —
//! dates, end dates, values in the item's unit and the code set each row belongs to. The
//! runtime runs them on one patient's data beside the script's own plans, whose results say
//! what was decided; these say which events it was decided on.

pub use super::cohort::step_columns;
use super::*;
use crate::cir::visit::{self, Visitor};

/// The part of a cohort an event source belongs to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Part {
    Entry,
    /// A step, numbered from 1 as attrition numbers them.
    Step(usize),
    End,
    Outcome(String),
}

/// A plan listing one patient's rows of one event source of a part of a cohort.
#[derive(Debug, Clone)]
pub struct Evidence {
    pub cohort: String,
    pub part: Part,
    /// The source as the script writes it (`drug propylthiouracil`, `lab neutrophil_count`).
    pub source: String,
    /// A lab item's unit (its values are in it).
    pub unit: Option<String>,
    /// The window the part looks at these events in, when it is a fixed span around index.
    pub window: Option<Span>,
    /// The plan's name: columns `hospital_id`, `patient_id`, `ev_day`, `ev_end_day`,
    /// `ev_value` and, for code sets, `ev_member`.
    pub plan: String,
}

/// Days relative to index (either end open), and whether an event's days (a supply, a stay)
/// need only overlap it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Span {
    pub lo: Option<i64>,
    pub hi: Option<i64>,
    pub overlap: bool,
}

impl Span {
    /// Whether an event from `day` to `end` (days after index) lies in the window.
    pub fn holds(&self, day: i64, end: i64) -> bool {
        self.distance(day, end) == 0
    }

    /// How many days an event lies outside the window (0 inside).
    pub fn distance(&self, day: i64, end: i64) -> i64 {
        let last = if self.overlap { end.max(day) } else { day };
        match (self.lo, self.hi) {
            (Some(lo), _) if last < lo => lo - last,
            (_, Some(hi)) if day > hi => day - hi,
            _ => 0,
        }
    }
}

/// A window as days around index, when both ends are index (± days) or open.
fn span(w: &cir::Window) -> Option<Span> {
    fn days(d: &Option<cir::Date>) -> Option<Option<i64>> {
        match d {
            None => Some(None),
            Some(cir::Date::Index) => Some(Some(0)),
            Some(cir::Date::Offset(inner, n)) if matches!(**inner, cir::Date::Index) => {
                Some(Some(*n))
            }
            Some(_) => None,
        }
    }
    if w.calendar.is_some() {
        return None;
    }
    Some(Span {
        lo: days(&w.lo)?,
        hi: days(&w.hi)?,
        overlap: w.overlap,
    })
}

/// The evidence plans of every cohort (and the intermediates they read, before them).
pub fn evidence_plans(p: &cir::Program) -> Result<(Vec<NamedPlan>, Vec<Evidence>)> {
    let mut g = Gen {
        members: true,
        ..Gen::default()
    };
    let mut plans = Vec::new();
    let mut evidence = Vec::new();
    for c in &p.cohorts {
        let mut parts: Vec<(Part, Vec<Found>)> = Vec::new();
        parts.push((Part::Entry, sources(|v| v.events(&c.entry.events))));
        for (i, s) in c.steps.iter().enumerate() {
            parts.push((Part::Step(i + 1), sources(|v| v.cond(&s.cond))));
        }
        parts.push((Part::End, sources(|v| v.date(&c.end))));
        for o in p.outcomes.iter().filter(|o| o.cohorts.contains(&c.name)) {
            parts.push((
                Part::Outcome(o.name.clone()),
                sources(|v| v.events(&o.events)),
            ));
        }
        for (part, srcs) in parts {
            for (s, window) in srcs {
                let name = format!("why_{}_{}", c.name, evidence.len() + 1);
                g.begin(&name);
                let plan = g.source(&s)?;
                plans.append(&mut g.intermediates);
                g.register(&name, plan.schema().inner().clone());
                plans.push(NamedPlan {
                    name: name.clone(),
                    kind: PlanKind::Intermediate { of: c.name.clone() },
                    plan,
                });
                // A union of code sets reads as its members (`drug thiamazole or ptu`).
                let text = match (s.text.as_str(), s.members.is_empty()) {
                    ("codes", false) => s
                        .members
                        .iter()
                        .map(|(m, _)| m.as_str())
                        .collect::<Vec<_>>()
                        .join(" or "),
                    (t, _) => t.to_string(),
                };
                evidence.push(Evidence {
                    cohort: c.name.clone(),
                    part: part.clone(),
                    source: format!("{} {text}", s.domain.name()),
                    unit: s.lab.as_ref().and_then(|l| l.unit.clone()),
                    window,
                    plan: name,
                });
            }
        }
    }
    Ok((plans, evidence))
}

/// The distinct event sources a walk meets, in order, each with the window around index it
/// is first met in.
fn sources(walk: impl FnOnce(&mut Sources)) -> Vec<Found> {
    let mut s = Sources {
        found: Vec::new(),
        window: Vec::new(),
    };
    walk(&mut s);
    s.found
}

/// A source and the window around index it is read in.
type Found = (cir::Source, Option<Span>);

struct Sources {
    found: Vec<Found>,
    /// The windows the walk is inside, innermost last.
    window: Vec<Option<Span>>,
}

impl Visitor for Sources {
    fn source(&mut self, s: &cir::Source) {
        let key = |x: &cir::Source| {
            format!(
                "{:?} {} {:?} {:?}",
                x.domain, x.text, x.filters, x.visit_kind
            )
        };
        if !self.found.iter().any(|(x, _)| key(x) == key(s)) {
            let window = self.window.last().copied().flatten();
            self.found.push((s.clone(), window));
        }
    }
    fn events(&mut self, e: &cir::Events) {
        match e {
            cir::Events::Window { input, window } => {
                self.window.push(span(window));
                self.events(input);
                self.window.pop();
                self.window(window);
            }
            // A `having` condition's events are about each event, not about index.
            cir::Events::Having { input, cond } => {
                self.events(input);
                self.window.push(None);
                self.cond(cond);
                self.window.pop();
            }
            _ => visit::walk_events(self, e),
        }
    }
}
