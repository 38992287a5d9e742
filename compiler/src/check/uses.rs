//! Rules checked where definitions are used (stage: AST → HIR, last step): what a definition
//! means can depend on the cohort it is used in and on the arguments of a call, so these
//! rules are checked on the expanded form of every cohort statement, outcome, export and
//! report: an era a definition names must be one of the cohort's (E0309), a `where` may not
//! filter a chosen event (E0311), and follow-up periods need a fixed length (E0306). After
//! this, lowering cannot meet a mistake of the script.

use mid_grammar::ast::{BinOp, Relation};

use super::errors::{At, CheckError, MAX_DAYS, MAX_PERIODS};
use super::expand::{days, expand, picks_one};
use crate::hir::{self, Anchor, DefKind, Expr, ExprKind as H, Hir, QuantityUnit, StmtKind, Window};
use crate::units::Relative;

/// The errors of the rules above, over every use in the script.
pub fn check_uses(hir: &Hir) -> Vec<CheckError> {
    let mut u = Uses {
        hir,
        errors: Vec::new(),
        eras: Vec::new(),
        cohort: String::new(),
        stmt: Stmt::Other,
    };
    for id in &hir.script_defs {
        let def = hir.def(*id);
        match &def.kind {
            DefKind::Cohort(c) => {
                u.enter(&def.name, c);
                for s in &c.stmts {
                    match &s.kind {
                        StmtKind::Index(e) => {
                            u.stmt = Stmt::Index;
                            u.walk(e);
                            u.stmt = Stmt::Other;
                        }
                        StmtKind::End(e) => {
                            u.stmt = Stmt::End;
                            u.walk(e);
                            u.stmt = Stmt::Other;
                            u.end_before_index(e);
                        }
                        StmtKind::Require { cond, .. } | StmtKind::Exclude { cond, .. } => {
                            u.walk(cond);
                            u.all_time(cond);
                        }
                        StmtKind::Era { events, .. } => u.walk(events),
                        StmtKind::Periods {
                            length,
                            from,
                            until,
                            then_until,
                        } => {
                            u.walk(from);
                            u.walk(until);
                            if let Some(t) = then_until {
                                u.walk(t);
                            }
                            u.periods(*length, from, until);
                        }
                    }
                }
            }
            DefKind::Outcome(o) => {
                for id in &o.cohorts {
                    let cohort = hir.def(*id);
                    if let DefKind::Cohort(c) = &cohort.kind {
                        u.enter(&cohort.name, c);
                        u.walk(&o.value);
                    }
                }
            }
            _ => {}
        }
    }
    for e in &hir.exports {
        let cohort = hir.def(e.cohort);
        if let DefKind::Cohort(c) = &cohort.kind {
            u.enter(&cohort.name, c);
            for col in e.columns.iter().chain(&e.tested) {
                u.walk(&col.expr);
            }
        }
    }
    for r in &hir.reports {
        // A stratum is evaluated in every cohort the report counts.
        for id in &r.cohorts {
            let cohort = hir.def(*id);
            if let DefKind::Cohort(c) = &cohort.kind {
                u.enter(&cohort.name, c);
                for s in &r.strata {
                    match s {
                        hir::Stratum::TestingHistory(e)
                        | hir::Stratum::Condition { cond: e, .. }
                        | hir::Stratum::Grade { expr: e, .. } => u.walk(e),
                        hir::Stratum::Sex
                        | hir::Stratum::IndexDrug
                        | hir::Stratum::Hospital
                        | hir::Stratum::AgeBand(_)
                        | hir::Stratum::Year
                        | hir::Stratum::Month
                        | hir::Stratum::Quarter
                        | hir::Stratum::FiscalYear
                        | hir::Stratum::Period
                        | hir::Stratum::Cohort => {}
                    }
                }
            }
        }
    }
    u.errors
}

struct Uses<'h> {
    hir: &'h Hir,
    errors: Vec<CheckError>,
    /// The eras of the cohort being checked, and its name.
    eras: Vec<String>,
    cohort: String,
    /// The statement being checked: the index statement knows no `index` (nor a baseline,
    /// which is relative to it), the end statement no `end`.
    stmt: Stmt,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Stmt {
    Index,
    End,
    Other,
}

impl Uses<'_> {
    fn enter(&mut self, name: &str, c: &hir::Cohort) {
        self.cohort = name.to_string();
        self.eras = c
            .stmts
            .iter()
            .filter_map(|s| match &s.kind {
                StmtKind::Era { name, .. } => Some(name.clone()),
                _ => None,
            })
            .collect();
    }

    fn walk(&mut self, e: &Expr) {
        let x = expand(self.hir, e);
        self.expr(&x, None);
    }

    /// Checks an expanded expression; `used` is where the outermost definition being
    /// expanded is used, when inside one.
    fn expr(&mut self, e: &Expr, used: Option<At>) {
        let here = (e.file, e.span);
        match &e.kind {
            H::Inlined { body, .. } => self.expr(body, used.or(Some(here))),
            H::Where { expr, .. } => {
                if picks_one(expr) {
                    self.errors
                        .push(CheckError::FilterAfterPick { at: here, used });
                }
                self.expr(expr, used);
            }
            H::Anchor(a @ (Anchor::Index | Anchor::End))
                if used.is_some()
                    && (self.stmt == Stmt::Index
                        || (self.stmt == Stmt::End && *a == Anchor::End)) =>
            {
                // A direct use is checked where it is written; one inside a definition here.
                self.errors.push(CheckError::NoContext {
                    at: here,
                    anchor: if *a == Anchor::Index { "index" } else { "end" }.into(),
                    help: if self.stmt == Stmt::Index {
                        "the index statement defines `index`; a definition it uses cannot use it"
                    } else {
                        "the end statement defines `end`; a definition it uses cannot use it"
                    },
                });
            }
            H::Quantity {
                unit: QuantityUnit::Relative(Relative::Baseline),
                ..
            } if self.stmt == Stmt::Index => {
                self.errors.push(CheckError::NoContext {
                    at: here,
                    anchor: "x baseline".into(),
                    help: "a baseline is the value up to index, and the index statement defines `index`",
                });
            }
            H::Anchor(Anchor::EraStart(n) | Anchor::EraEnd(n)) => {
                // A direct use is checked where it is written; one inside a definition here.
                if used.is_some() && !self.eras.contains(n) {
                    self.errors.push(CheckError::NoEra {
                        at: here,
                        cohort: self.cohort.clone(),
                        era: n.clone(),
                        used,
                    });
                }
            }
            H::Window { expr, window } => {
                self.expr(expr, used);
                self.window(window, here, used);
            }
            H::CodeList(xs) | H::Extreme { args: xs, .. } | H::Call { args: xs, .. } => {
                for x in xs {
                    self.expr(x, used);
                }
            }
            H::Union(a, b)
            | H::Difference(a, b)
            | H::And(a, b)
            | H::Or(a, b)
            | H::Compare { lhs: a, rhs: b, .. }
            | H::Arith { lhs: a, rhs: b, .. } => {
                self.expr(a, used);
                self.expr(b, used);
            }
            H::Having { expr, cond } => {
                self.expr(expr, used);
                self.expr(cond, used);
            }
            H::Not(a)
            | H::Event { target: a, .. }
            | H::Select { expr: a, .. }
            | H::AgeAt(a)
            | H::Observed { anchor: a, .. }
            | H::Grade { events: a, .. } => self.expr(a, used),
            H::Def(_)
            | H::Param(_)
            | H::Builtin(_)
            | H::Number(_)
            | H::Quantity { .. }
            | H::Duration(_)
            | H::Date(_)
            | H::Text(_)
            | H::Bool(_)
            | H::Word(_)
            | H::Code { .. }
            | H::VisitKind(_)
            | H::Anchor(_)
            | H::InCohort(_)
            | H::Error => {}
        }
    }

    /// Warns of the event queries of a step that have no window: they look at all time.
    fn all_time(&mut self, cond: &Expr) {
        let x = expand(self.hir, cond);
        let mut found = Vec::new();
        windowless(&x, None, &mut found);
        for (at, used) in found {
            self.errors.push(CheckError::StepAllTime { at, used });
        }
    }

    /// Warns of an end of follow-up written as a fixed number of days before index.
    fn end_before_index(&mut self, end: &Expr) {
        let x = expand(self.hir, end);
        if let Some((base, off)) = self.offset(&x)
            && base == hir::expr_text(self.hir, &index_expr(end))
            && off < 0
        {
            self.errors.push(CheckError::Impossible {
                at: (end.file, end.span),
                what: format!(
                    "follow-up ends {} days before index: no entry has any time at risk",
                    -off
                ),
            });
        }
    }

    /// `periods of L from A until B`: B must be A plus a fixed number of days, not before A,
    /// and the periods at most `MAX_PERIODS`.
    fn periods(&mut self, length: i64, from: &Expr, until: &Expr) {
        let (f, u) = (expand(self.hir, from), expand(self.hir, until));
        match (self.offset(&f), self.offset(&u)) {
            (Some((fb, fo)), Some((ub, uo))) if fb == ub && uo >= fo => {
                let count = (uo - fo + length) / length.max(1);
                if count > MAX_PERIODS {
                    self.errors.push(CheckError::TooManyPeriods {
                        at: (until.file, until.span),
                        count,
                    });
                }
            }
            _ => self.errors.push(CheckError::PeriodsNotFixed {
                at: (until.file, until.span),
                used: None,
            }),
        }
    }

    /// A date as a base and a number of days after it: `index + 140 days` is (index, 140).
    /// A window's own checks: its days exist, its durations are in range.
    fn window(&mut self, window: &Window, here: At, used: Option<At>) {
        match window {
            Window::Within {
                duration,
                relation,
                anchor,
            } => {
                // `within 0 days before index` holds no day.
                if days(duration) == Some(0)
                    && matches!(relation, Relation::Before | Relation::After)
                {
                    self.errors.push(CheckError::EmptyWindow { at: here, used });
                }
                // A parameter's duration is known here, where it is used.
                match days(duration) {
                    Some(d) if d < 0 => self.errors.push(CheckError::NegativeDuration {
                        at: (duration.file, duration.span),
                    }),
                    Some(d) if d > MAX_DAYS => self.errors.push(CheckError::NumberTooLarge {
                        at: (duration.file, duration.span),
                        what: "a duration",
                        max: "200 years (73,050 days)".into(),
                    }),
                    _ => {}
                }
                self.expr(duration, used);
                self.expr(anchor, used);
            }
            Window::Between { from, to } => {
                if let (Some((fb, fo)), Some((tb, to_))) = (self.offset(from), self.offset(to))
                    && fb == tb
                    && to_ < fo
                {
                    self.errors.push(CheckError::EmptyWindow { at: here, used });
                }
                self.expr(from, used);
                self.expr(to, used);
            }
            Window::Relative { anchor, .. }
            | Window::During(anchor)
            | Window::Same { anchor, .. } => self.expr(anchor, used),
            Window::Overlapping(w) => self.window(w, here, used),
        }
    }

    fn offset(&self, e: &Expr) -> Option<(String, i64)> {
        match &e.kind {
            H::Inlined { body, .. } => self.offset(body),
            H::Date(d) => Some(("date".into(), i64::from(*d))),
            H::Arith { op, lhs, rhs } if matches!(op, BinOp::Add | BinOp::Sub) => {
                let (date, n, sign) = if days(rhs).is_some() {
                    (lhs, rhs, if *op == BinOp::Sub { -1 } else { 1 })
                } else if *op == BinOp::Add {
                    (rhs, lhs, 1)
                } else {
                    return None;
                };
                let (base, off) = self.offset(date)?;
                Some((base, off.checked_add(days(n)?.checked_mul(sign)?)?))
            }
            _ => Some((hir::expr_text(self.hir, e), 0)),
        }
    }
}

/// `index`, as an expression of the HIR (to compare a date's base with).
fn index_expr(like: &Expr) -> Expr {
    Expr {
        kind: H::Anchor(Anchor::Index),
        ty: crate::types::Type::Date,
        span: like.span,
        file: like.file,
    }
}

/// The event queries of an expanded condition that have no window anywhere along them, with
/// where the definition they are in is used.
fn windowless(e: &Expr, used: Option<At>, out: &mut Vec<(At, Option<At>)>) {
    match &e.kind {
        H::And(a, b) | H::Or(a, b) if e.ty == crate::types::Type::Bool => {
            windowless(a, used, out);
            windowless(b, used, out);
        }
        H::Not(a) => windowless(a, used, out),
        H::Inlined { body, .. } if e.ty == crate::types::Type::Bool => {
            windowless(body, used.or(Some((e.file, e.span))), out)
        }
        H::Select { expr, .. } if e.ty == crate::types::Type::Bool && !has_window(expr) => {
            out.push(((e.file, e.span), used));
        }
        H::Select { .. } if e.ty == crate::types::Type::Bool => {}
        _ if e.ty.events().is_some() && !has_window(e) => {
            out.push(((e.file, e.span), used));
        }
        _ => {}
    }
}

/// Whether an expanded event query is restricted in time (a window along it, or a window in
/// every part of a union).
fn has_window(e: &Expr) -> bool {
    match &e.kind {
        H::Window { .. } => true,
        // `visit inpatient having index during it`: the condition ties the event to a date.
        H::Having { expr, cond } => anchored(cond) || has_window(expr),
        H::Select { expr, .. }
        | H::Where { expr, .. }
        | H::Inlined { body: expr, .. }
        | H::Compare { lhs: expr, .. }
        | H::Grade { events: expr, .. } => has_window(expr),
        H::Or(a, b) => has_window(a) && has_window(b),
        _ => false,
    }
}

/// Whether a condition mentions a date of the cohort (index, end, observation, an era), not
/// only the event's own (`it`).
fn anchored(e: &Expr) -> bool {
    match &e.kind {
        H::Anchor(a) => !matches!(a, hir::Anchor::It),
        H::And(a, b) | H::Or(a, b) | H::Union(a, b) | H::Difference(a, b) => {
            anchored(a) || anchored(b)
        }
        H::Compare { lhs, rhs, .. } | H::Arith { lhs, rhs, .. } => anchored(lhs) || anchored(rhs),
        H::Not(a)
        | H::AgeAt(a)
        | H::Select { expr: a, .. }
        | H::Where { expr: a, .. }
        | H::Window { expr: a, .. }
        | H::Inlined { body: a, .. }
        | H::Grade { events: a, .. }
        | H::Event { target: a, .. } => anchored(a),
        H::Having { expr, cond } => anchored(expr) || anchored(cond),
        H::Observed { anchor, .. } => anchored(anchor),
        H::Extreme { args, .. } | H::Call { args, .. } => args.iter().any(anchored),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use crate::testing::errors;

    #[test]
    fn an_era_named_in_a_definition_is_checked_where_it_is_used() {
        insta::assert_snapshot!(errors(
            r#"codes x: drug = yj "2432001"
define exposure_end = end of exposure
cohort has_it {
  index = first drug x
  era exposure = drug x gap 30 days
  end = exposure_end
}
cohort lacks_it {
  index = first drug x
  end = exposure_end
}"#
        ), @"E0309 2:23 cohort `lacks_it` has no era `exposure` (no such era here) help: declare it in the cohort: `era exposure = drug … gap 30 days`");
    }

    #[test]
    fn a_filter_after_a_chosen_event_through_a_definition() {
        insta::assert_snapshot!(errors(
            r#"codes hf: diagnosis = icd10 "I50"
define first_hf = first diagnosis hf
cohort c { index = first_hf where main }"#
        ), @"E0311 3:20 a `where` filter after choosing one event (filters the chosen event) help: filter before choosing: `first diagnosis x where not suspected`");
    }

    #[test]
    fn periods_need_a_fixed_length() {
        insta::assert_snapshot!(errors(
            r#"codes x: drug = yj "2432001"
define begin = index + 1 day
cohort ok {
  index = first drug x
  periods of 14 days from begin until index + 140 days
}
cohort not_ok {
  index = first drug x
  periods of 14 days from index until end
}"#
        ), @"E0306 9:39 periods need a fixed length of follow-up (not a fixed number of days after the start) help: write e.g. `periods of 14 days from index + 1 day until index + 140 days`; add `then until end` for the rest");
    }

    #[test]
    fn a_negative_window_passed_as_an_argument() {
        insta::assert_snapshot!(errors(
            r#"codes x: drug = yj "2432001"
define recent(d: Duration) = drug x within d before index
cohort c {
  index = first drug x
  exclude recent(0 days - 5 days)
}"#
        ), @"E0226 5:18 a duration cannot be negative (negative)");
    }
}
