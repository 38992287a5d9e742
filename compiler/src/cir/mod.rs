//! The cohort IR (stage: HIR → CIR): the epidemiology made explicit. Definitions are inlined,
//! every window is a pair of inclusive day bounds relative to named anchors, steps are in
//! order, and the rules a script never writes are data here too: an index outside the
//! patient's observation is no entry, follow-up ends at the earliest of its dates, the end of
//! observation and death, and a step that cannot be decided does not admit the entry. Code
//! generation walks it mechanically.
//!
//! The CIR has its own small types (no HIR): its code sets, filters, literals, comparison
//! operators and reference intervals. `visit` walks it; `print` writes it as text.

mod print;
pub mod visit;

use mid_grammar::ast::Span;

pub use print::{
    codes, cond, count, date, entry, era, events, export_columns, lab_unit, literal, num, outcome,
    outcome_definitions, periods, pick, print, report, step, table1, threshold, value, window,
};

use crate::cdm::Column;
use crate::codes::{CodeDomain, System};
use crate::source::FileId;
use crate::types::EventDomain;
use crate::units::Relative;
pub use crate::validation::Validation;

/// A place in the script: a file and a byte span.
pub type At = (FileId, Span);

#[derive(Debug, Clone, Default)]
pub struct Program {
    pub study: Option<String>,
    pub cohorts: Vec<Cohort>,
    pub outcomes: Vec<Outcome>,
    pub exports: Vec<Export>,
    pub reports: Vec<Report>,
    pub table1s: Vec<Table1>,
}

impl Program {
    pub fn cohort(&self, name: &str) -> Option<&Cohort> {
        self.cohorts.iter().find(|c| c.name == name)
    }

    pub fn outcome(&self, name: &str) -> Option<&Outcome> {
        self.outcomes.iter().find(|c| c.name == name)
    }

    /// Whether `outcome` is an outcome of `cohort`.
    pub fn outcome_of(&self, outcome: &str, cohort: &str) -> bool {
        self.outcome(outcome)
            .is_some_and(|o| o.cohorts.iter().any(|c| c == cohort))
    }
}

#[derive(Debug, Clone)]
pub struct Cohort {
    pub name: String,
    /// Where the cohort is declared.
    pub at: At,
    pub entry: Entry,
    pub eras: Vec<Era>,
    pub steps: Vec<Step>,
    /// How a step counts an entry it cannot decide (a missing birth date for an age rule).
    pub undecided: Undecided,
    /// The end of follow-up: always the earliest of the date the script gives (if any), the
    /// end of observation and death.
    pub end: Date,
    pub periods: Option<Periods>,
}

/// The entry event that sets `index`.
#[derive(Debug, Clone)]
pub struct Entry {
    pub pick: Pick,
    pub events: Events,
    pub text: String,
    /// Where the index must lie: inside the patient's observation at the hospital.
    pub index_within: Window,
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

/// What a step does with an entry its condition cannot decide (the condition is unknown).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Undecided {
    /// The entry is not admitted, whether the step requires or excludes.
    NotAdmitted,
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

/// Follow-up split into `count` periods of `length` days from `from`, the last of them cut
/// at `until` (`days` after `from`, both included), then optionally one last period until
/// `last_until`.
#[derive(Debug, Clone)]
pub struct Periods {
    pub length: i64,
    pub from: Date,
    pub count: u32,
    /// Days from `from` to `until`, both included.
    pub days: i64,
    pub last_until: Option<Date>,
}

#[derive(Debug, Clone)]
pub struct Outcome {
    pub name: String,
    /// The cohorts it is an outcome of: one definition, the first event of each entry.
    pub cohorts: Vec<String>,
    /// Events relative to each cohort entry; the outcome is the first of them.
    pub events: Events,
    /// Validated (or provisional) definitions the outcome uses, with their metadata.
    pub definitions: Vec<(String, Validation)>,
}

#[derive(Debug, Clone)]
pub struct Export {
    /// `export analysis = c with …`: its own name.
    pub name: Option<String>,
    pub cohort: String,
    pub columns: Vec<(String, Value)>,
    /// One row per entry and follow-up period.
    pub by_period: bool,
    /// By period: whether these lab events fall in the period (and in the earlier ones).
    pub tested: Vec<(String, Events)>,
}

/// Baseline characteristics by cohort: each row a value per entry, summarised per cohort.
#[derive(Debug, Clone)]
pub struct Table1 {
    pub name: String,
    pub cohorts: Vec<String>,
    pub rows: Vec<(String, Value)>,
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
    /// April to March (年度), named by the year it starts in.
    FiscalYear,
    Quarter,
    Month,
    Period,
    Cohort,
    TestingHistory(Events),
    Condition {
        name: String,
        cond: Cond,
    },
    /// The code sets of the prescriptions that set the index (`Value::IndexDrug`).
    IndexDrug,
    /// A grade per entry (`Value::LabGrade`), named after its text.
    Grade {
        name: String,
        value: Value,
    },
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
        op: Cmp,
        threshold: Threshold,
    },
    /// Lab values graded by a scale, the grade compared with a number.
    Grade {
        input: Box<Events>,
        grading: String,
        rules: GradeRules,
        op: Cmp,
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
    /// The named code sets `codes` is made of, each with its own codes: a class's members
    /// (what `index_drug` reports). Empty for lab items and visits.
    pub members: Vec<(String, Codes)>,
    /// The source text, for plan aliases and messages.
    pub text: String,
    /// Where the script asks for these events.
    pub at: At,
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

/// A filter on the columns of an event's table.
#[derive(Debug, Clone)]
pub enum Filter {
    /// A yes/no column: `main`.
    Column(&'static Column),
    Compare {
        column: &'static Column,
        op: Cmp,
        value: Literal,
    },
    In {
        column: &'static Column,
        values: Vec<Literal>,
        negated: bool,
    },
    Not(Box<Filter>),
    And(Box<Filter>, Box<Filter>),
    Or(Box<Filter>, Box<Filter>),
}

/// A value written for a column.
#[derive(Debug, Clone, PartialEq)]
pub enum Literal {
    Text(String),
    Number(f64),
    Int(i64),
    Bool(bool),
    /// Days since 1970-01-01.
    Date(i32),
}

/// A comparison.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cmp {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
}

impl Cmp {
    pub fn symbol(self) -> &'static str {
        match self {
            Cmp::Eq => "=",
            Cmp::Ne => "!=",
            Cmp::Lt => "<",
            Cmp::Le => "<=",
            Cmp::Gt => ">",
            Cmp::Ge => ">=",
        }
    }
}

/// A reference interval, by sex where it differs, in the item's unit.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Reference {
    pub male: Option<(f64, f64)>,
    pub female: Option<(f64, f64)>,
    /// Intervals of earlier measurement methods (`reference jscc = …`, `until jscc = …`).
    pub methods: Vec<crate::units::MethodInterval>,
}

/// What the runtime needs to read one lab item.
#[derive(Debug, Clone)]
pub struct LabSpec {
    pub item: String,
    pub codes: Option<Codes>,
    /// The unit values are compared in.
    pub unit: Option<String>,
    /// Reported units (spelling as normalised) and their conversion into `unit`.
    pub units: Vec<crate::units::Conversion>,
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
    /// The patient is a member of this cohort of the script (whatever its entry's date).
    InCohort(String),
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
        op: Cmp,
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
            Date::Offset(d, n) => Date::Offset(d, n.saturating_add(days)),
            // A literal date moves when the result is a date; otherwise it stays apart (and
            // code generation refuses it), never wrapping around.
            Date::Literal(d) => match i32::try_from(i64::from(d).saturating_add(days)) {
                Ok(x) => Date::Literal(x),
                Err(_) => Date::Offset(Box::new(Date::Literal(d)), days),
            },
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
    /// The bounds hold an event's days (date to end date, a supply's or a stay's) rather
    /// than its date: it is kept when `date <= hi` and `end date >= lo`.
    pub overlap: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Calendar {
    SameMonth(Date),
    SameYear(Date),
    /// Inside an inpatient stay that also contains this date.
    SameStay(Date),
}

/// A grading's rules for one lab item: (grade, comparison, limit), the highest grade last.
pub type GradeRules = Vec<(u8, Cmp, Threshold)>;

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
    /// Which term of the cohort's end of follow-up ended it (the first, in the order
    /// written, whose date is the end).
    Censoring,
    /// Which code sets the entry events on the index day belong to (a class's members), in
    /// order, joined with ` + `.
    IndexDrug,
    /// The value of the one lab result per entry the events pick, in its item's unit (the
    /// highest when several results share the picked day).
    LabValue(Box<Events>),
    /// The number of distinct days with one of the events (0 when none).
    Count(Box<Events>),
    /// The highest (lowest) value of the lab results, in the item's unit (null when none).
    LabMax(Box<Events>),
    LabMin(Box<Events>),
    /// The number of records (rows) of the events (0 when none).
    Records(Box<Events>),
    /// A grading's grade of the one lab result per entry the events pick (the highest when
    /// several share the day; null when none, or when it cannot be told).
    LabGrade {
        events: Box<Events>,
        grading: String,
        rules: GradeRules,
    },
    /// Days from the first date to the second (negative when it is earlier; null when either
    /// is).
    DaysBetween(Date, Date),
}
