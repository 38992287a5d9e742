//! The cohort IR (stage: HIR → CIR): the epidemiology made explicit. Definitions are inlined,
//! every window is a pair of inclusive day bounds relative to named anchors, steps are in
//! order, follow-up ends at the earliest of its dates. Code generation walks it mechanically.

use std::fmt::Write;

use mid_grammar::ast::CmpOp;

use crate::codes::{CodeDomain, System};
use crate::dates;
use crate::hir::{Filter, Literal, Reference, Validation};
use crate::types::EventDomain;
use crate::units::Relative;

#[derive(Debug, Clone, Default)]
pub struct Program {
    pub study: Option<String>,
    pub cohorts: Vec<Cohort>,
    pub outcomes: Vec<Outcome>,
    pub exports: Vec<Export>,
    pub reports: Vec<Report>,
}

impl Program {
    pub fn cohort(&self, name: &str) -> Option<&Cohort> {
        self.cohorts.iter().find(|c| c.name == name)
    }

    pub fn outcome(&self, name: &str) -> Option<&Outcome> {
        self.outcomes.iter().find(|c| c.name == name)
    }
}

#[derive(Debug, Clone)]
pub struct Cohort {
    pub name: String,
    /// Where the cohort is declared.
    pub at: Option<(crate::source::FileId, mid_grammar::ast::Span)>,
    pub entry: Entry,
    pub eras: Vec<Era>,
    pub steps: Vec<Step>,
    /// The end of follow-up as written; always also capped at the end of observation and death.
    pub end: Option<Date>,
    pub periods: Option<Periods>,
}

/// The entry event that sets `index`.
#[derive(Debug, Clone)]
pub struct Entry {
    pub pick: Pick,
    pub events: Events,
    pub text: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pick {
    First,
    Last,
    Nth(u32),
    Every,
}

#[derive(Debug, Clone)]
pub struct Step {
    /// The label written in the script, or the step's own text.
    pub label: String,
    pub exclude: bool,
    pub cond: Cond,
}

/// Continuous exposure built from days' supply.
#[derive(Debug, Clone)]
pub struct Era {
    pub name: String,
    pub events: Events,
    /// Uncovered days allowed between two supplies of one era.
    pub gap: i64,
    /// Days added after the last covered day.
    pub grace: i64,
}

/// Follow-up split into `count` periods of `length` days from `from`, then optionally one
/// last period until `last_until`.
#[derive(Debug, Clone)]
pub struct Periods {
    pub length: i64,
    pub from: Date,
    pub count: u32,
    pub last_until: Option<Date>,
}

#[derive(Debug, Clone)]
pub struct Outcome {
    pub name: String,
    pub cohort: String,
    /// Events relative to each cohort entry; the outcome is the first of them.
    pub events: Events,
    /// Validated (or provisional) definitions the outcome uses, with their metadata.
    pub definitions: Vec<(String, Validation)>,
}

#[derive(Debug, Clone)]
pub struct Export {
    pub cohort: String,
    pub columns: Vec<(String, Value)>,
}

#[derive(Debug, Clone)]
pub struct Report {
    pub name: String,
    pub cohorts: Vec<String>,
    pub outcomes: Vec<String>,
    pub strata: Vec<Stratum>,
    pub suppress_below: u32,
}

#[derive(Debug, Clone)]
pub enum Stratum {
    Sex,
    Hospital,
    AgeBand(i64),
    Year,
    Month,
    Period,
    Cohort,
    TestingHistory(Events),
    Condition { name: String, cond: Cond },
}

impl Stratum {
    /// The column the stratum becomes.
    pub fn column(&self) -> String {
        match self {
            Stratum::Sex => "sex".into(),
            Stratum::Hospital => "hospital_id".into(),
            Stratum::AgeBand(_) => "age_band".into(),
            Stratum::Year => "index_year".into(),
            Stratum::Month => "index_month".into(),
            Stratum::Period => "period".into(),
            Stratum::Cohort => "cohort".into(),
            Stratum::TestingHistory(_) => "tested_before".into(),
            Stratum::Condition { name, .. } => name.clone(),
        }
    }
}

/// A stream of events: rows with a patient, a date (and an end date for stays and supplies),
/// and for lab results a value in the item's unit.
#[derive(Debug, Clone)]
pub enum Events {
    Source(Box<Source>),
    Union(Vec<Events>),
    /// Lab values compared with a threshold.
    Value {
        input: Box<Events>,
        op: CmpOp,
        threshold: Threshold,
    },
    /// Lab values graded by a scale, the grade compared with a number.
    Grade {
        input: Box<Events>,
        grading: String,
        rules: Vec<(u8, CmpOp, Threshold)>,
        op: CmpOp,
        grade: f64,
    },
    /// Only events inside a window relative to the context's anchors.
    Window {
        input: Box<Events>,
        window: Window,
    },
    /// Only events for which a condition about them (`it`) holds.
    Having {
        input: Box<Events>,
        cond: Box<Cond>,
    },
    /// One event day per patient (or per context row).
    Pick {
        input: Box<Events>,
        pick: Pick,
    },
}

/// Rows of one CDM table.
#[derive(Debug, Clone)]
pub struct Source {
    pub domain: EventDomain,
    pub codes: Option<Codes>,
    pub filters: Vec<Filter>,
    /// `visit inpatient`; `None` for any visit.
    pub visit_kind: Option<String>,
    pub lab: Option<LabSpec>,
    /// The source text, for plan aliases and messages.
    pub text: String,
    /// Where the script asks for these events.
    pub at: Option<(crate::source::FileId, mid_grammar::ast::Span)>,
}

/// A set of codes in one domain.
#[derive(Debug, Clone, PartialEq)]
pub enum Codes {
    /// Every code starting with `code` (or equal to it if it is complete), or between
    /// `code` and `to` at their length.
    Match {
        system: System,
        domain: CodeDomain,
        code: String,
        to: Option<String>,
    },
    Any(Vec<Codes>),
    Except(Box<Codes>, Box<Codes>),
}

/// What the runtime needs to read one lab item.
#[derive(Debug, Clone)]
pub struct LabSpec {
    pub item: String,
    pub codes: Option<Codes>,
    /// The unit values are compared in.
    pub unit: Option<String>,
    /// Reported units (spelling as normalised) and the factor to `unit`.
    pub units: Vec<(String, f64)>,
    pub reference: Reference,
    /// Factors measured the same day, multiplied and scaled into `unit`.
    pub derived: Option<(Vec<LabSpec>, f64)>,
}

/// What a lab value is compared with.
#[derive(Debug, Clone, PartialEq)]
pub enum Threshold {
    /// A value in the item's unit.
    Value(f64),
    /// A multiple of a reference: `3 x ULN`.
    Times(Relative, f64),
}

/// A condition about a context row (a cohort entry, or an event for `having`).
#[derive(Debug, Clone)]
pub enum Cond {
    Exists {
        events: Events,
        count: Count,
    },
    Not(Box<Cond>),
    And(Box<Cond>, Box<Cond>),
    Or(Box<Cond>, Box<Cond>),
    Const(bool),
    /// Observability: `start of observation <= anchor - days` (before) or
    /// `end of observation >= anchor + days` (after).
    Observed {
        days: i64,
        before: bool,
        anchor: Date,
    },
    /// A date falls in a window.
    DateIn {
        date: Date,
        window: Window,
    },
    Compare {
        lhs: Value,
        op: CmpOp,
        rhs: Value,
    },
}

/// How many events a condition needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Count {
    /// At least one.
    Any,
    /// None at all.
    None,
    AtLeast(u32, CountUnit),
    AtMost(u32, CountUnit),
    Exactly(u32, CountUnit),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CountUnit {
    Days,
    Visits,
    Records,
}

/// A date per context row.
#[derive(Debug, Clone)]
pub enum Date {
    Index,
    /// End of follow-up.
    End,
    /// The event a `having` is about (its date), and its end (a stay's discharge).
    It,
    ItEnd,
    StartOfObservation,
    EndOfObservation,
    Death,
    EraStart(String),
    EraEnd(String),
    Literal(i32),
    /// A date moved by a number of days.
    Offset(Box<Date>, i64),
    /// The date of one picked event (null when there is none).
    Event(Box<Events>),
    /// The earliest (latest) of dates that exist.
    Earliest(Vec<Date>),
    Latest(Vec<Date>),
}

/// Two dates are the same when they read the same (event dates compare by their query).
impl PartialEq for Date {
    fn eq(&self, other: &Date) -> bool {
        date(self) == date(other)
    }
}

impl Date {
    pub fn offset(self, days: i64) -> Date {
        if days == 0 {
            return self;
        }
        match self {
            Date::Offset(d, n) => Date::Offset(d, n + days),
            Date::Literal(d) => Date::Literal(d + days as i32),
            d => Date::Offset(Box::new(d), days),
        }
    }
}

/// Inclusive day bounds on an event's date, plus calendar and stay windows.
#[derive(Debug, Clone, PartialEq)]
pub struct Window {
    pub lo: Option<Date>,
    pub hi: Option<Date>,
    pub calendar: Option<Calendar>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Calendar {
    SameMonth(Date),
    SameYear(Date),
    /// Inside an inpatient stay that also contains this date.
    SameStay(Date),
}

/// A value per context row, for comparisons and export columns.
#[derive(Debug, Clone)]
pub enum Value {
    Number(f64),
    Text(String),
    Bool(bool),
    /// Full years of age at a date.
    Age(Date),
    Sex,
    Hospital,
    Date(Date),
    Cond(Box<Cond>),
    /// The date of an outcome of the cohort (null without one).
    Outcome(String),
}

// ---------------------------------------------------------------- printing

/// The CIR as text (`mid compile --emit cir`).
pub fn print(p: &Program) -> String {
    let mut out = String::new();
    if let Some(s) = &p.study {
        let _ = writeln!(out, "study {s}");
    }
    for c in &p.cohorts {
        let _ = writeln!(out, "\ncohort {}", c.name);
        let _ = writeln!(
            out,
            "  entry: {} of {}  -- index = its date, inside observation",
            pick(c.entry.pick),
            events(&c.entry.events)
        );
        for e in &c.eras {
            let _ = writeln!(
                out,
                "  era {}: {} (gap {} days, grace {} days), the era containing index",
                e.name,
                events(&e.events),
                e.gap,
                e.grace
            );
        }
        for (i, s) in c.steps.iter().enumerate() {
            let _ = writeln!(
                out,
                "  step {} ({}): {}{}",
                i + 1,
                s.label,
                if s.exclude { "exclude if " } else { "" },
                cond(&s.cond)
            );
        }
        let end = match &c.end {
            Some(e) => format!("earliest({}, end of observation, death)", date(e)),
            None => "earliest(end of observation, death)".to_string(),
        };
        let _ = writeln!(out, "  end: {end}");
        if let Some(p) = &c.periods {
            let last = p
                .last_until
                .as_ref()
                .map(|d| format!(", then one period until {}", date(d)))
                .unwrap_or_default();
            let _ = writeln!(
                out,
                "  periods: {} of {} days from {}{last}",
                p.count,
                p.length,
                date(&p.from)
            );
        }
    }
    for o in &p.outcomes {
        let _ = writeln!(
            out,
            "\noutcome {} in {}: first of {}",
            o.name,
            o.cohort,
            events(&o.events)
        );
        for (name, v) in &o.definitions {
            let _ = writeln!(out, "  uses {name}: {}", validation(v));
        }
    }
    for e in &p.exports {
        let cols: Vec<String> = e
            .columns
            .iter()
            .map(|(n, v)| format!("{n} = {}", value(v)))
            .collect();
        let _ = writeln!(out, "\nexport {}: {}", e.cohort, cols.join(", "));
    }
    for r in &p.reports {
        let strata: Vec<String> = r.strata.iter().map(stratum).collect();
        let _ = writeln!(
            out,
            "\nreport {}: cohorts [{}] outcomes [{}] by [{}], counts below {} suppressed",
            r.name,
            r.cohorts.join(", "),
            r.outcomes.join(", "),
            strata.join(", "),
            r.suppress_below
        );
    }
    out
}

pub fn validation(v: &Validation) -> String {
    let mut parts = vec![v.status.to_string()];
    if let Some(p) = v.ppv {
        parts.push(format!("PPV {:.1} %", p * 100.0));
    }
    if let Some(s) = v.sensitivity {
        parts.push(format!("sensitivity {:.1} %", s * 100.0));
    }
    if let Some(s) = &v.source {
        parts.push(format!("source: {s}"));
    }
    parts.join(", ")
}

fn stratum(s: &Stratum) -> String {
    match s {
        Stratum::AgeBand(w) => format!("age band {w} years"),
        Stratum::TestingHistory(e) => format!("tested before ({})", events(e)),
        Stratum::Condition { name, cond: c } => format!("{name} = {}", cond(c)),
        other => other.column(),
    }
}

pub fn pick(p: Pick) -> String {
    match p {
        Pick::First => "first".into(),
        Pick::Last => "last".into(),
        Pick::Nth(n) => format!("nth({n})"),
        Pick::Every => "every".into(),
    }
}

pub fn codes(c: &Codes) -> String {
    match c {
        Codes::Match {
            system,
            code,
            to: None,
            ..
        } => format!("{} {:?}", system.name(), code),
        Codes::Match {
            system,
            code,
            to: Some(t),
            ..
        } => format!("{} {:?}..{:?}", system.name(), code, t),
        Codes::Any(cs) => format!(
            "({})",
            cs.iter().map(codes).collect::<Vec<_>>().join(" or ")
        ),
        Codes::Except(a, b) => format!("({} - {})", codes(a), codes(b)),
    }
}

fn filter(f: &Filter) -> String {
    match f {
        Filter::Column(c) => c.name.to_string(),
        Filter::Compare { column, op, value } => {
            format!("{} {} {}", column.name, op.symbol(), literal(value))
        }
        Filter::In {
            column,
            values,
            negated,
        } => {
            let vs: Vec<String> = values.iter().map(literal).collect();
            format!(
                "{} {}in ({})",
                column.name,
                if *negated { "not " } else { "" },
                vs.join(", ")
            )
        }
        Filter::Not(f) => format!("not {}", filter(f)),
        Filter::And(a, b) => format!("({} and {})", filter(a), filter(b)),
        Filter::Or(a, b) => format!("({} or {})", filter(a), filter(b)),
        Filter::Error => "<error>".into(),
    }
}

pub fn literal(l: &Literal) -> String {
    match l {
        Literal::Text(t) => format!("{t:?}"),
        Literal::Number(n) => format!("{n}"),
        Literal::Int(n) => format!("{n}"),
        Literal::Bool(b) => format!("{b}"),
        Literal::Date(d) => dates::format(*d),
    }
}

pub fn threshold(t: &Threshold, unit: Option<&str>) -> String {
    match t {
        Threshold::Value(v) => format!("{} {}", num(*v), unit.unwrap_or(""))
            .trim_end()
            .to_string(),
        Threshold::Times(r, k) => format!("{} x {}", num(*k), r.word()),
    }
}

pub fn num(v: f64) -> String {
    if v.fract() == 0.0 && v.abs() < 1e15 {
        format!("{}", v as i64)
    } else {
        let s = format!("{v:.6}");
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    }
}

/// The lab unit an event stream's values are in, if it is one lab item.
pub fn lab_unit(e: &Events) -> Option<String> {
    match e {
        Events::Source(s) => s.lab.as_ref().and_then(|l| l.unit.clone()),
        Events::Value { input, .. }
        | Events::Grade { input, .. }
        | Events::Window { input, .. }
        | Events::Having { input, .. }
        | Events::Pick { input, .. } => lab_unit(input),
        Events::Union(_) => None,
    }
}

pub fn events(e: &Events) -> String {
    match e {
        Events::Source(s) => {
            let mut parts = Vec::new();
            if let Some(c) = &s.codes {
                parts.push(codes(c));
            }
            if let Some(l) = &s.lab {
                parts.push(format!("item {}", l.item));
            }
            if let Some(k) = &s.visit_kind {
                parts.push(k.clone());
            }
            for f in &s.filters {
                parts.push(format!("where {}", filter(f)));
            }
            format!("{}[{}]", s.domain.name(), parts.join(" "))
        }
        Events::Union(es) => format!(
            "({})",
            es.iter().map(events).collect::<Vec<_>>().join(" or ")
        ),
        Events::Value {
            input,
            op,
            threshold: t,
        } => {
            format!(
                "{} with value {} {}",
                events(input),
                op.symbol(),
                threshold(t, lab_unit(input).as_deref())
            )
        }
        Events::Grade {
            input,
            grading,
            op,
            grade,
            ..
        } => {
            format!(
                "{} with {grading} {} {}",
                events(input),
                op.symbol(),
                num(*grade)
            )
        }
        Events::Window { input, window: w } => format!("{} {}", events(input), window(w)),
        Events::Having { input, cond: c } => format!("({} having {})", events(input), cond(c)),
        Events::Pick { input, pick: p } => format!("{} {}", pick(*p), events(input)),
    }
}

pub fn window(w: &Window) -> String {
    let mut parts = Vec::new();
    match (&w.lo, &w.hi) {
        (Some(lo), Some(hi)) if lo == hi => parts.push(format!("on [{}]", date(lo))),
        (Some(lo), Some(hi)) => parts.push(format!("in [{} .. {}]", date(lo), date(hi))),
        (Some(lo), None) => parts.push(format!("in [{} ..)", date(lo))),
        (None, Some(hi)) => parts.push(format!("in (.. {}]", date(hi))),
        (None, None) => {}
    }
    match &w.calendar {
        Some(Calendar::SameMonth(d)) => parts.push(format!("in the month of {}", date(d))),
        Some(Calendar::SameYear(d)) => parts.push(format!("in the year of {}", date(d))),
        Some(Calendar::SameStay(d)) => {
            parts.push(format!("in the inpatient stay containing {}", date(d)))
        }
        None => {}
    }
    parts.join(" ")
}

pub fn date(d: &Date) -> String {
    match d {
        Date::Index => "index".into(),
        Date::End => "end".into(),
        Date::It => "it".into(),
        Date::ItEnd => "end of it".into(),
        Date::StartOfObservation => "start of observation".into(),
        Date::EndOfObservation => "end of observation".into(),
        Date::Death => "death".into(),
        Date::EraStart(n) => format!("start of {n}"),
        Date::EraEnd(n) => format!("end of {n}"),
        Date::Literal(x) => dates::format(*x),
        Date::Offset(d, n) if *n < 0 => format!("{} - {}", date(d), -n),
        Date::Offset(d, n) => format!("{} + {}", date(d), n),
        Date::Event(e) => format!("date of {}", events(e)),
        Date::Earliest(ds) => format!(
            "earliest({})",
            ds.iter().map(date).collect::<Vec<_>>().join(", ")
        ),
        Date::Latest(ds) => format!(
            "latest({})",
            ds.iter().map(date).collect::<Vec<_>>().join(", ")
        ),
    }
}

pub fn count(c: Count) -> String {
    let unit = |u: CountUnit| match u {
        CountUnit::Days => "days",
        CountUnit::Visits => "visits",
        CountUnit::Records => "records",
    };
    match c {
        Count::Any => "some".into(),
        Count::None => "no".into(),
        Count::AtLeast(n, u) => format!("at least {n} {}", unit(u)),
        Count::AtMost(n, u) => format!("at most {n} {}", unit(u)),
        Count::Exactly(n, u) => format!("exactly {n} {}", unit(u)),
    }
}

pub fn cond(c: &Cond) -> String {
    match c {
        Cond::Exists {
            events: e,
            count: n,
        } => format!("{} {}", count(*n), events(e)),
        Cond::Not(c) => format!("not ({})", cond(c)),
        Cond::And(a, b) => format!("({} and {})", cond(a), cond(b)),
        Cond::Or(a, b) => format!("({} or {})", cond(a), cond(b)),
        Cond::Const(b) => b.to_string(),
        Cond::Observed {
            days,
            before: true,
            anchor,
        } => format!("start of observation <= {} - {days}", date(anchor)),
        Cond::Observed {
            days,
            before: false,
            anchor,
        } => format!("end of observation >= {} + {days}", date(anchor)),
        Cond::DateIn { date: d, window: w } => format!("{} {}", date(d), window(w)),
        Cond::Compare { lhs, op, rhs } => format!("{} {} {}", value(lhs), op.symbol(), value(rhs)),
    }
}

pub fn value(v: &Value) -> String {
    match v {
        Value::Number(n) => num(*n),
        Value::Text(t) => format!("{t:?}"),
        Value::Bool(b) => b.to_string(),
        Value::Age(d) => format!("age at {}", date(d)),
        Value::Sex => "sex".into(),
        Value::Hospital => "hospital".into(),
        Value::Date(d) => date(d),
        Value::Cond(c) => cond(c),
        Value::Outcome(o) => format!("date of outcome {o}"),
    }
}
