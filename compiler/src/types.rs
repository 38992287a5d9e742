//! The types a script's values have (checked by `ast_to_hir`), named in messages in the
//! language's own words: `Date`, `Duration`, `Quantity<count per volume>`, `Events<lab>`.

use std::fmt;

use crate::codes::CodeDomain;
use crate::units::{Dimension, Relative};

/// Which tables a stream of events comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Domains(u8);

/// The kind of record an event is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum EventDomain {
    Diagnosis,
    Drug,
    Lab,
    Procedure,
    Visit,
}

impl EventDomain {
    pub const ALL: [EventDomain; 5] = [
        EventDomain::Diagnosis,
        EventDomain::Drug,
        EventDomain::Lab,
        EventDomain::Procedure,
        EventDomain::Visit,
    ];

    pub fn name(self) -> &'static str {
        match self {
            EventDomain::Diagnosis => "diagnosis",
            EventDomain::Drug => "drug",
            EventDomain::Lab => "lab",
            EventDomain::Procedure => "procedure",
            EventDomain::Visit => "visit",
        }
    }

    pub fn code_domain(self) -> Option<CodeDomain> {
        match self {
            EventDomain::Diagnosis => Some(CodeDomain::Diagnosis),
            EventDomain::Drug => Some(CodeDomain::Drug),
            EventDomain::Lab => Some(CodeDomain::Lab),
            EventDomain::Procedure => Some(CodeDomain::Procedure),
            EventDomain::Visit => None,
        }
    }

    pub fn table(self) -> crate::cdm::Table {
        match self {
            EventDomain::Diagnosis => crate::cdm::Table::Diagnosis,
            EventDomain::Drug => crate::cdm::Table::Drug,
            EventDomain::Lab => crate::cdm::Table::Lab,
            EventDomain::Procedure => crate::cdm::Table::Procedure,
            EventDomain::Visit => crate::cdm::Table::Visit,
        }
    }

    fn bit(self) -> u8 {
        1 << (self as u8)
    }
}

impl Domains {
    pub fn one(d: EventDomain) -> Domains {
        Domains(d.bit())
    }

    pub fn union(self, other: Domains) -> Domains {
        Domains(self.0 | other.0)
    }

    pub fn contains(self, d: EventDomain) -> bool {
        self.0 & d.bit() != 0
    }

    pub fn single(self) -> Option<EventDomain> {
        let mut it = self.iter();
        match (it.next(), it.next()) {
            (Some(d), None) => Some(d),
            _ => None,
        }
    }

    pub fn iter(self) -> impl Iterator<Item = EventDomain> {
        EventDomain::ALL
            .into_iter()
            .filter(move |d| self.contains(*d))
    }
}

impl fmt::Display for Domains {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let names: Vec<&str> = self.iter().map(EventDomain::name).collect();
        f.write_str(&names.join(" or "))
    }
}

/// What a quantity measures: a unit dimension, or a multiple of a reference (`x ULN`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Measure {
    Dim(Dimension),
    Relative(Relative),
}

impl fmt::Display for Measure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Measure::Dim(d) => f.write_str(d.describe()),
            Measure::Relative(r) => write!(f, "multiple of {}", r.word()),
        }
    }
}

/// The type of a value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Type {
    /// Something already reported as wrong: accepted everywhere so one mistake gives one error.
    Error,
    Number,
    Quantity(Measure),
    Duration,
    Date,
    Text,
    Bool,
    Codes(CodeDomain),
    Events(Domains),
    /// Lab events with a grade, waiting for a comparison: `ctcae_grade(lab alt)`.
    Grades,
    /// A lab catalogue entry: what `lab X` queries.
    LabItem,
    Grading,
    Cohort,
    /// `cohort new_users(d: Codes<drug>) { … }`: made into cohorts by `cohort x = new_users(…)`.
    CohortTemplate,
    Outcome,
    /// A bare word naming a value of a coded column (`inpatient`, `F`), not yet placed.
    Word,
}

impl Type {
    pub fn is_error(self) -> bool {
        self == Type::Error
    }

    pub fn events(self) -> Option<Domains> {
        match self {
            Type::Events(d) => Some(d),
            _ => None,
        }
    }
}

impl fmt::Display for Type {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Type::Error => f.write_str("<error>"),
            Type::Number => f.write_str("Number"),
            Type::Quantity(m) => write!(f, "Quantity<{m}>"),
            Type::Duration => f.write_str("Duration"),
            Type::Date => f.write_str("Date"),
            Type::Text => f.write_str("Text"),
            Type::Bool => f.write_str("Bool"),
            Type::Codes(d) => write!(f, "Codes<{}>", d.name()),
            Type::Events(d) => write!(f, "Events<{d}>"),
            Type::Grades => f.write_str("Grades<lab>"),
            Type::LabItem => f.write_str("Lab"),
            Type::Grading => f.write_str("Grading"),
            Type::Cohort => f.write_str("Cohort"),
            Type::CohortTemplate => f.write_str("CohortTemplate"),
            Type::Outcome => f.write_str("Outcome"),
            Type::Word => f.write_str("Word"),
        }
    }
}
