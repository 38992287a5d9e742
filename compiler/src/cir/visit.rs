//! Walking the cohort IR (stage: CIR, for every analysis of it): one visitor trait whose
//! methods default to exhaustive walks. An analysis overrides the nodes it cares about and
//! calls the `walk_*` function to go on below them; a new construct added to the CIR must be
//! added to these walks, so no traversal skips it silently.

use super::{
    Calendar, Cohort, Cond, Date, Events, Export, Outcome, Program, Report, Source, Stratum, Value,
    Window,
};

/// A read-only walk over the CIR.
pub trait Visitor {
    fn cohort(&mut self, c: &Cohort) {
        walk_cohort(self, c)
    }
    fn outcome(&mut self, o: &Outcome) {
        walk_outcome(self, o)
    }
    fn export(&mut self, e: &Export) {
        walk_export(self, e)
    }
    fn report(&mut self, r: &Report) {
        walk_report(self, r)
    }
    fn stratum(&mut self, s: &Stratum) {
        walk_stratum(self, s)
    }
    fn events(&mut self, e: &Events) {
        walk_events(self, e)
    }
    /// A leaf: the rows of one CDM table.
    fn source(&mut self, _s: &Source) {}
    fn cond(&mut self, c: &Cond) {
        walk_cond(self, c)
    }
    fn date(&mut self, d: &Date) {
        walk_date(self, d)
    }
    fn window(&mut self, w: &Window) {
        walk_window(self, w)
    }
    fn value(&mut self, v: &Value) {
        walk_value(self, v)
    }
}

/// Every cohort, outcome, export and report, in program order.
pub fn walk_program<V: Visitor + ?Sized>(v: &mut V, p: &Program) {
    for c in &p.cohorts {
        v.cohort(c);
    }
    for o in &p.outcomes {
        v.outcome(o);
    }
    for e in &p.exports {
        v.export(e);
    }
    for r in &p.reports {
        v.report(r);
    }
}

pub fn walk_cohort<V: Visitor + ?Sized>(v: &mut V, c: &Cohort) {
    let Cohort {
        name: _,
        at: _,
        entry,
        eras,
        steps,
        undecided: _,
        end,
        periods,
    } = c;
    v.events(&entry.events);
    v.window(&entry.index_within);
    for e in eras {
        v.events(&e.events);
    }
    for s in steps {
        v.cond(&s.cond);
    }
    v.date(end);
    if let Some(p) = periods {
        v.date(&p.from);
        if let Some(u) = &p.last_until {
            v.date(u);
        }
    }
}

pub fn walk_outcome<V: Visitor + ?Sized>(v: &mut V, o: &Outcome) {
    v.events(&o.events);
}

pub fn walk_export<V: Visitor + ?Sized>(v: &mut V, e: &Export) {
    for (_, value) in &e.columns {
        v.value(value);
    }
    for (_, events) in &e.tested {
        v.events(events);
    }
}

pub fn walk_report<V: Visitor + ?Sized>(v: &mut V, r: &Report) {
    for s in &r.strata {
        v.stratum(s);
    }
}

pub fn walk_stratum<V: Visitor + ?Sized>(v: &mut V, s: &Stratum) {
    match s {
        Stratum::TestingHistory(e) => v.events(e),
        Stratum::Condition { cond, .. } => v.cond(cond),
        Stratum::Grade { value, .. } => v.value(value),
        Stratum::Sex
        | Stratum::IndexDrug
        | Stratum::Hospital
        | Stratum::AgeBand(_)
        | Stratum::Year
        | Stratum::Month
        | Stratum::Quarter
        | Stratum::FiscalYear
        | Stratum::Period
        | Stratum::Cohort => {}
    }
}

pub fn walk_events<V: Visitor + ?Sized>(v: &mut V, e: &Events) {
    match e {
        Events::Source(s) => v.source(s),
        Events::Union(es) => {
            for x in es {
                v.events(x);
            }
        }
        Events::Value { input, .. } | Events::Grade { input, .. } | Events::Pick { input, .. } => {
            v.events(input)
        }
        Events::Window { input, window } => {
            v.events(input);
            v.window(window);
        }
        Events::Having { input, cond } => {
            v.events(input);
            v.cond(cond);
        }
    }
}

pub fn walk_cond<V: Visitor + ?Sized>(v: &mut V, c: &Cond) {
    match c {
        Cond::Exists { events, .. } => v.events(events),
        Cond::Not(x) => v.cond(x),
        Cond::And(a, b) | Cond::Or(a, b) => {
            v.cond(a);
            v.cond(b);
        }
        Cond::Const(_) | Cond::InCohort(_) => {}
        Cond::Observed { anchor, .. } => v.date(anchor),
        Cond::DateIn { date, window } => {
            v.date(date);
            v.window(window);
        }
        Cond::Compare { lhs, rhs, .. } => {
            v.value(lhs);
            v.value(rhs);
        }
    }
}

pub fn walk_date<V: Visitor + ?Sized>(v: &mut V, d: &Date) {
    match d {
        Date::Event(e) => v.events(e),
        Date::Offset(x, _) => v.date(x),
        Date::Earliest(ds) | Date::Latest(ds) => {
            for x in ds {
                v.date(x);
            }
        }
        Date::Index
        | Date::End
        | Date::It
        | Date::ItEnd
        | Date::StartOfObservation
        | Date::EndOfObservation
        | Date::Death
        | Date::EraStart(_)
        | Date::EraEnd(_)
        | Date::Literal(_) => {}
    }
}

pub fn walk_window<V: Visitor + ?Sized>(v: &mut V, w: &Window) {
    for d in [&w.lo, &w.hi].into_iter().flatten() {
        v.date(d);
    }
    match &w.calendar {
        Some(Calendar::SameMonth(d) | Calendar::SameYear(d) | Calendar::SameStay(d)) => v.date(d),
        None => {}
    }
}

pub fn walk_value<V: Visitor + ?Sized>(v: &mut V, x: &Value) {
    match x {
        Value::Age(d) | Value::Date(d) => v.date(d),
        Value::DaysBetween(a, b) => {
            v.date(a);
            v.date(b);
        }
        Value::Cond(c) => v.cond(c),
        Value::LabValue(e)
        | Value::Count(e)
        | Value::LabMax(e)
        | Value::LabMin(e)
        | Value::Records(e)
        | Value::LabGrade { events: e, .. } => v.events(e),
        Value::Number(_)
        | Value::Text(_)
        | Value::Bool(_)
        | Value::Sex
        | Value::Hospital
        | Value::Censoring
        | Value::IndexDrug
        | Value::Outcome(_) => {}
    }
}
