//! The cohort IR as text (`mid compile --emit cir`): what reviewers read and diff. Every
//! function matches its enum exhaustively, so a new construct cannot be skipped silently.

use std::fmt::Write;

use super::{
    Calendar, Codes, Cohort, Cond, Count, CountUnit, Date, Era, Events, Export, Filter, Literal,
    Outcome, Periods, Pick, Program, Report, Step, Stratum, Threshold, Undecided, Value, Window,
};
use crate::dates;

/// The CIR as text (`mid compile --emit cir`).
pub fn print(p: &Program) -> String {
    let mut out = String::new();
    if let Some(s) = &p.study {
        let _ = writeln!(out, "study {s}");
    }
    for c in &p.cohorts {
        let _ = writeln!(out, "\ncohort {}", c.name);
        let _ = writeln!(out, "  entry: {}", entry(c));
        for e in &c.eras {
            let _ = writeln!(out, "  era {}: {}", e.name, era(e));
        }
        for (i, s) in c.steps.iter().enumerate() {
            let _ = writeln!(out, "  step {} ({}): {}", i + 1, s.label, step(s));
        }
        match c.undecided {
            Undecided::NotAdmitted => {
                if !c.steps.is_empty() {
                    let _ = writeln!(
                        out,
                        "  an entry a step cannot decide (missing data) is not admitted"
                    );
                }
            }
        }
        let _ = writeln!(out, "  end: {}", date(&c.end));
        if let Some(p) = &c.periods {
            let _ = writeln!(out, "  periods: {}", periods(p));
        }
    }
    for o in &p.outcomes {
        let _ = writeln!(
            out,
            "\noutcome {} in {}: {}",
            o.name,
            o.cohorts.join(", "),
            outcome(o)
        );
        for line in outcome_definitions(o) {
            let _ = writeln!(out, "  {line}");
        }
    }
    for e in &p.exports {
        let _ = writeln!(
            out,
            "\nexport {}{}: {}",
            e.cohort,
            if e.by_period { " by period" } else { "" },
            export_columns(e).join(", ")
        );
    }
    for r in &p.reports {
        let _ = writeln!(out, "\nreport {}: {}", r.name, report(r));
    }
    for t in &p.table1s {
        let _ = writeln!(out, "\ntable1 {}: {}", t.name, table1(t));
    }
    out
}

/// A Table 1: its cohorts and rows, each summarised as its kind says.
pub fn table1(t: &crate::cir::Table1) -> String {
    let rows: Vec<String> = t
        .rows
        .iter()
        .map(|(n, v)| {
            let how = match crate::outputs::Summary::of(v) {
                crate::outputs::Summary::Binary => "n (%)",
                crate::outputs::Summary::Categorical => "n (%) per level",
                crate::outputs::Summary::Continuous => "mean (SD), median [Q1, Q3]",
            };
            format!("{n} = {} [{how}]", value(v))
        })
        .collect();
    format!(
        "cohorts [{}] rows [{}], counts below 10 suppressed, SMD against {}",
        t.cohorts.join(", "),
        rows.join(", "),
        t.cohorts.first().map(String::as_str).unwrap_or_default()
    )
}

/// A cohort's entry: which event sets index, and where it must lie.
pub fn entry(c: &Cohort) -> String {
    format!(
        "{} of {}  -- index = its date, {}",
        pick(c.entry.pick),
        events(&c.entry.events),
        index_within(&c.entry.index_within)
    )
}

/// An exposure era, without its name.
pub fn era(e: &Era) -> String {
    format!(
        "{} (gap {} days, grace {} days), the era containing index",
        events(&e.events),
        e.gap,
        e.grace
    )
}

/// A step, without its number and label.
pub fn step(s: &Step) -> String {
    format!(
        "{}{}",
        if s.exclude { "exclude if " } else { "" },
        cond(&s.cond)
    )
}

/// Follow-up periods.
pub fn periods(p: &Periods) -> String {
    let last = p
        .last_until
        .as_ref()
        .map(|d| format!(", then one period until {}", date(d)))
        .unwrap_or_default();
    let rest = p.days % p.length;
    let cut = if rest == 0 {
        String::new()
    } else {
        format!(
            " (the last cut to {rest} day{})",
            if rest == 1 { "" } else { "s" }
        )
    };
    format!(
        "{} of {} days from {}{cut}{last}",
        p.count,
        p.length,
        date(&p.from)
    )
}

/// An outcome's events.
pub fn outcome(o: &Outcome) -> String {
    format!("first of {}", events(&o.events))
}

/// The validation metadata of the definitions an outcome uses, one line each.
pub fn outcome_definitions(o: &Outcome) -> Vec<String> {
    o.definitions
        .iter()
        .map(|(name, v)| {
            if name == &o.name {
                format!("its own definition: {}", v.describe())
            } else {
                format!("uses {name}: {}", v.describe())
            }
        })
        .collect()
}

/// An export's columns, `name = value` each.
pub fn export_columns(e: &Export) -> Vec<String> {
    let mut out: Vec<String> = e
        .columns
        .iter()
        .map(|(n, v)| format!("{n} = {}", value(v)))
        .collect();
    out.extend(
        e.tested
            .iter()
            .map(|(n, ev)| format!("{n} = tested in the period ({})", events(ev))),
    );
    out
}

/// A report: what it counts, by what, and its suppression.
pub fn report(r: &Report) -> String {
    let strata: Vec<String> = r.strata.iter().map(stratum).collect();
    format!(
        "cohorts [{}] outcomes [{}] by [{}], counts below {} suppressed",
        r.cohorts.join(", "),
        r.outcomes.join(", "),
        strata.join(", "),
        r.suppress_below
    )
}

fn stratum(s: &Stratum) -> String {
    match s {
        Stratum::AgeBand(w) => format!("age band {w} years"),
        Stratum::TestingHistory(e) => format!("tested before ({})", events(e)),
        Stratum::Condition { name, cond: c } => format!("{name} = {}", cond(c)),
        Stratum::Sex => "sex".into(),
        Stratum::IndexDrug => "index_drug".into(),
        Stratum::Grade { name, value: v } => format!("{name} = {}", value(v)),
        Stratum::Hospital => "hospital_id".into(),
        Stratum::Year => "index_year".into(),
        Stratum::Month => "index_month".into(),
        Stratum::Quarter => "index_quarter".into(),
        Stratum::FiscalYear => "index_fiscal_year".into(),
        Stratum::Period => "period".into(),
        Stratum::Cohort => "cohort".into(),
    }
}

/// Where the index must lie: "inside observation" for the rule every cohort has.
fn index_within(w: &Window) -> String {
    let observation = Window {
        lo: Some(Date::StartOfObservation),
        hi: Some(Date::EndOfObservation),
        calendar: None,
        overlap: false,
    };
    if *w == observation {
        "inside observation".into()
    } else {
        format!("index {}", window(w))
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
    // `overlapping` keeps events whose days meet the bounds, not only those starting in them.
    let (on, within) = if w.overlap {
        ("overlapping", "overlapping")
    } else {
        ("on", "in")
    };
    match (&w.lo, &w.hi) {
        (Some(lo), Some(hi)) if lo == hi => parts.push(format!("{on} [{}]", date(lo))),
        (Some(lo), Some(hi)) => parts.push(format!("{within} [{} .. {}]", date(lo), date(hi))),
        (Some(lo), None) => parts.push(format!("{within} [{} ..)", date(lo))),
        (None, Some(hi)) => parts.push(format!("{within} (.. {}]", date(hi))),
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
        Cond::InCohort(c) => format!("member of cohort {c}"),
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
        Value::Censoring => "censoring".into(),
        Value::IndexDrug => "index_drug".into(),
        Value::LabValue(e) => format!("value of {}", events(e)),
        Value::Count(e) => format!("count of days of {}", events(e)),
        Value::LabMax(e) => format!("highest value of {}", events(e)),
        Value::LabMin(e) => format!("lowest value of {}", events(e)),
        Value::Records(e) => format!("count of records of {}", events(e)),
        Value::LabGrade {
            events: e, grading, ..
        } => format!("{grading} grade of {}", events(e)),
        Value::DaysBetween(a, b) => format!("days from {} to {}", date(a), date(b)),
        Value::Date(d) => date(d),
        Value::Cond(c) => cond(c),
        Value::Outcome(o) => format!("date of outcome {o}"),
    }
}
