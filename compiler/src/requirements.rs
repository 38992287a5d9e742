//! What a compiled program needs from a data set (stage: CIR → data requirements): the CDM
//! tables and columns it reads, each with the place in the script that needs it, so the
//! runtime can refuse data that lacks them before executing anything.

use std::collections::BTreeMap;

use crate::cdm::Table;
use crate::cir::visit::{self, Visitor};
use crate::cir::{self, At, Calendar, Codes, Filter};
use crate::types::EventDomain;

/// A column the program reads, and the first place that needs it.
#[derive(Debug, Clone, PartialEq)]
pub struct Requirement {
    pub table: Table,
    pub column: &'static str,
    pub at: At,
}

/// The patient columns every cohort reads (observation, age, sex, death).
const PATIENT: [&str; 7] = [
    "hospital_id",
    "patient_id",
    "sex",
    "birth_date",
    "first_record_date",
    "last_record_date",
    "death_date",
];

/// Every column the program reads, by table then column, each once.
pub fn requirements(p: &cir::Program) -> Vec<Requirement> {
    let mut r = Collector::default();
    visit::walk_program(&mut r, p);
    r.found.into_values().collect()
}

#[derive(Default)]
struct Collector {
    found: BTreeMap<(Table, &'static str), Requirement>,
    /// The place being walked: the cohort, outcome or source that needs what is found.
    at: Option<At>,
    /// Places by cohort name, for outcomes, exports and reports.
    cohorts: BTreeMap<String, At>,
}

impl Collector {
    fn col(&mut self, table: Table, name: &str) {
        let (Some(c), Some(at)) = (table.column(name), self.at) else {
            return;
        };
        self.found.entry((table, c.name)).or_insert(Requirement {
            table,
            column: c.name,
            at,
        });
    }

    /// Walks `f` with `at` as the place that needs what it finds.
    fn at(&mut self, at: Option<At>, f: impl FnOnce(&mut Self)) {
        let saved = self.at;
        self.at = at.or(saved);
        f(self);
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
                    // JLAC10 tests are guarded by the analyte (codegen's `codes_pred`).
                    if col == "jlac10" {
                        self.col(domain.table(), "analyte");
                        self.col(domain.table(), "specimen");
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
        }
    }
}

impl Visitor for Collector {
    fn cohort(&mut self, c: &cir::Cohort) {
        self.cohorts.insert(c.name.clone(), c.at);
        self.at(Some(c.at), |r| {
            for col in PATIENT {
                r.col(Table::Patient, col);
            }
            visit::walk_cohort(r, c);
        });
    }

    fn outcome(&mut self, o: &cir::Outcome) {
        let at = o.cohorts.first().and_then(|c| self.cohorts.get(c)).copied();
        self.at(at, |r| visit::walk_outcome(r, o));
    }

    fn export(&mut self, e: &cir::Export) {
        let at = self.cohorts.get(&e.cohort).copied();
        self.at(at, |r| visit::walk_export(r, e));
    }

    fn report(&mut self, rep: &cir::Report) {
        let at = rep
            .cohorts
            .first()
            .and_then(|c| self.cohorts.get(c))
            .copied();
        self.at(at, |r| visit::walk_report(r, rep));
    }

    fn source(&mut self, s: &cir::Source) {
        self.at(Some(s.at), |r| {
            let t = s.domain.table();
            for c in ["hospital_id", "patient_id", "visit_id"] {
                r.col(t, c);
            }
            match s.domain {
                EventDomain::Visit => {
                    for c in ["start_date", "end_date", "kind"] {
                        r.col(t, c);
                    }
                }
                EventDomain::Drug => {
                    r.col(t, "date");
                    r.col(t, "end_date");
                }
                EventDomain::Diagnosis | EventDomain::Lab | EventDomain::Procedure => {
                    r.col(t, "date")
                }
            }
            if let Some(c) = &s.codes {
                r.codes(c);
            }
            for f in &s.filters {
                r.filter(t, f);
            }
            if let Some(l) = &s.lab {
                r.lab(l);
            }
        });
    }

    fn window(&mut self, w: &cir::Window) {
        if let Some(Calendar::SameStay(_)) = &w.calendar {
            for c in [
                "hospital_id",
                "patient_id",
                "kind",
                "start_date",
                "end_date",
            ] {
                self.col(Table::Visit, c);
            }
        }
        visit::walk_window(self, w);
    }
}
