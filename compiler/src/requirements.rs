//! What a compiled program needs from a data set (stage: CIR → data requirements): the CDM
//! tables and columns it reads, each with the place in the script that needs it, so the
//! runtime can refuse data that lacks them before executing anything.

use std::collections::BTreeMap;

use mid_grammar::ast::Span;

use crate::cdm::Table;
use crate::cir::{self, Calendar, Codes, Cond, Date, Events, Value};
use crate::hir::Filter;
use crate::source::FileId;
use crate::types::EventDomain;

/// A column the program reads, and the first place that needs it.
#[derive(Debug, Clone, PartialEq)]
pub struct Requirement {
    pub table: Table,
    pub column: &'static str,
    pub at: Option<(FileId, Span)>,
}

/// Every column the program reads, by table then column, each once.
pub fn requirements(p: &cir::Program) -> Vec<Requirement> {
    let mut r = Collector::default();
    for c in &p.cohorts {
        for col in [
            "hospital_id",
            "patient_id",
            "sex",
            "birth_date",
            "first_record_date",
            "last_record_date",
            "death_date",
        ] {
            r.add(Table::Patient, col, c.at);
        }
        r.events(&c.entry.events);
        for e in &c.eras {
            r.events(&e.events);
        }
        for s in &c.steps {
            r.cond(&s.cond);
        }
        if let Some(e) = &c.end {
            r.date(e);
        }
        if let Some(ps) = &c.periods {
            r.date(&ps.from);
            if let Some(u) = &ps.last_until {
                r.date(u);
            }
        }
    }
    for o in &p.outcomes {
        r.events(&o.events);
    }
    for e in &p.exports {
        for (_, v) in &e.columns {
            r.value(v);
        }
    }
    for rep in &p.reports {
        for s in &rep.strata {
            match s {
                cir::Stratum::TestingHistory(e) => r.events(e),
                cir::Stratum::Condition { cond, .. } => r.cond(cond),
                _ => {}
            }
        }
    }
    r.found.into_values().collect()
}

#[derive(Default)]
struct Collector {
    found: BTreeMap<(Table, &'static str), Requirement>,
    at: Option<(FileId, Span)>,
}

impl Collector {
    fn add(&mut self, table: Table, column: &'static str, at: Option<(FileId, Span)>) {
        self.found
            .entry((table, column))
            .or_insert(Requirement { table, column, at });
    }

    fn col(&mut self, table: Table, name: &str) {
        if let Some(c) = table.column(name) {
            self.add(table, c.name, self.at);
        }
    }

    fn events(&mut self, e: &Events) {
        match e {
            Events::Source(s) => self.source(s),
            Events::Union(es) => es.iter().for_each(|x| self.events(x)),
            Events::Value { input, .. }
            | Events::Grade { input, .. }
            | Events::Pick { input, .. } => self.events(input),
            Events::Window { input, window } => {
                self.events(input);
                for d in [&window.lo, &window.hi].into_iter().flatten() {
                    self.date(d);
                }
                match &window.calendar {
                    Some(Calendar::SameStay(d)) => {
                        for c in [
                            "hospital_id",
                            "patient_id",
                            "kind",
                            "start_date",
                            "end_date",
                        ] {
                            self.col(Table::Visit, c);
                        }
                        self.date(d);
                    }
                    Some(Calendar::SameMonth(d) | Calendar::SameYear(d)) => self.date(d),
                    None => {}
                }
            }
            Events::Having { input, cond } => {
                self.events(input);
                self.cond(cond);
            }
        }
    }

    fn source(&mut self, s: &cir::Source) {
        let saved = self.at;
        self.at = s.at.or(saved);
        let t = s.domain.table();
        for c in ["hospital_id", "patient_id", "visit_id"] {
            self.col(t, c);
        }
        match s.domain {
            EventDomain::Visit => {
                for c in ["start_date", "end_date", "kind"] {
                    self.col(t, c);
                }
            }
            EventDomain::Drug => {
                self.col(t, "date");
                self.col(t, "end_date");
            }
            _ => self.col(t, "date"),
        }
        if let Some(c) = &s.codes {
            self.codes(c);
        }
        for f in &s.filters {
            self.filter(t, f);
        }
        if let Some(l) = &s.lab {
            self.lab(l);
        }
        self.at = saved;
    }

    fn lab(&mut self, l: &cir::LabSpec) {
        for c in ["date", "value", "unit", "ref_low", "ref_high"] {
            self.col(Table::Lab, c);
        }
        if let Some(c) = &l.codes {
            self.codes(c);
        }
        if let Some((parts, _)) = &l.derived {
            for p in parts {
                self.lab(p);
            }
        }
    }

    fn codes(&mut self, c: &Codes) {
        match c {
            Codes::Match { system, domain, .. } => {
                if let Some((col, marker)) = system.column(*domain) {
                    self.col(domain.table(), col);
                    if marker.is_some() {
                        self.col(domain.table(), "code_system");
                    }
                }
            }
            Codes::Any(cs) => cs.iter().for_each(|x| self.codes(x)),
            Codes::Except(a, b) => {
                self.codes(a);
                self.codes(b);
            }
        }
    }

    fn filter(&mut self, t: Table, f: &Filter) {
        match f {
            Filter::Column(c)
            | Filter::Compare { column: c, .. }
            | Filter::In { column: c, .. } => self.col(t, c.name),
            Filter::Not(x) => self.filter(t, x),
            Filter::And(a, b) | Filter::Or(a, b) => {
                self.filter(t, a);
                self.filter(t, b);
            }
            Filter::Error => {}
        }
    }

    fn cond(&mut self, c: &Cond) {
        match c {
            Cond::Exists { events, .. } => self.events(events),
            Cond::Not(x) => self.cond(x),
            Cond::And(a, b) | Cond::Or(a, b) => {
                self.cond(a);
                self.cond(b);
            }
            Cond::Const(_) => {}
            Cond::Observed { anchor, .. } => self.date(anchor),
            Cond::DateIn { date, window } => {
                self.date(date);
                for d in [&window.lo, &window.hi].into_iter().flatten() {
                    self.date(d);
                }
            }
            Cond::Compare { lhs, rhs, .. } => {
                self.value(lhs);
                self.value(rhs);
            }
        }
    }

    fn date(&mut self, d: &Date) {
        match d {
            Date::Event(e) => self.events(e),
            Date::Offset(x, _) => self.date(x),
            Date::Earliest(ds) | Date::Latest(ds) => ds.iter().for_each(|x| self.date(x)),
            _ => {}
        }
    }

    fn value(&mut self, v: &Value) {
        match v {
            Value::Age(d) | Value::Date(d) => self.date(d),
            Value::Cond(c) => self.cond(c),
            _ => {}
        }
    }
}
