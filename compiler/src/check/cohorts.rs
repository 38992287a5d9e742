//! Cohorts and outcomes (stage: AST → HIR): entry, steps, eras, end of follow-up and periods.

use std::rc::Rc;

use mid_grammar::ast::{self};

use super::coerce::selects_one;
use super::{CheckError, Checker, CohortCx, Cx, suggest};
use crate::hir::{self, DefId, DefKind, Expr, ExprKind as H};
use crate::types::{EventDomain, Type};

impl Checker<'_> {
    pub(super) fn cohort(&mut self, c: &ast::CohortDecl, cx: Cx) -> (DefKind, Type) {
        let eras: Vec<String> = c
            .stmts
            .iter()
            .filter_map(|s| match &s.kind {
                ast::CohortStmtKind::Era { name, .. } => Some(name.name.clone()),
                _ => None,
            })
            .collect();
        let with = |in_index: bool, in_end: bool| {
            let mut x = cx.clone();
            x.cohort = Some(Rc::new(CohortCx {
                eras: eras.clone(),
                in_index,
                in_end,
            }));
            x
        };
        let mut stmts = Vec::new();
        let mut first_of: std::collections::BTreeMap<&'static str, ast::Span> = Default::default();
        let mut era_names: Vec<(String, ast::Span)> = Vec::new();
        for s in &c.stmts {
            let text = self.text(cx.file, s.span);
            let once = |c: &mut Self, what: &'static str, first_of: &mut std::collections::BTreeMap<&'static str, ast::Span>| {
                if let Some(first) = first_of.get(what) {
                    c.error(CheckError::DuplicateStatement { at: (cx.file, s.span), what, first: (cx.file, *first) });
                } else {
                    first_of.insert(what, s.span);
                }
            };
            let kind = match &s.kind {
                ast::CohortStmtKind::Index(e) => {
                    once(self, "index", &mut first_of);
                    let x = self.expr(e, &with(true, true));
                    let x = self.settle(x, &cx);
                    let x = match (&x.kind, x.ty) {
                        (_, Type::Error) => x,
                        (_, Type::Events(_))
                            if selects_one(&self.hir, &x)
                                || matches!(
                                    x.kind,
                                    H::Select {
                                        selector: hir::Selector::Every,
                                        ..
                                    }
                                ) =>
                        {
                            x
                        }
                        (_, Type::Events(_)) => {
                            self.error(CheckError::NeedsSelector {
                                at: (x.file, x.span),
                                what: "the index",
                            });
                            x
                        }
                        (_, other) => {
                            self.mismatch(&x, "events (`first drug x`)", other, "the index", None);
                            x
                        }
                    };
                    hir::StmtKind::Index(x)
                }
                ast::CohortStmtKind::Require { label, cond }
                | ast::CohortStmtKind::Exclude { label, cond } => {
                    let x = self.expr(cond, &with(false, false));
                    let x = self.settle(x, &cx);
                    let x = self.condition(x, "a cohort step");
                    let label = label.as_ref().map(|l| l.value.clone());
                    if matches!(s.kind, ast::CohortStmtKind::Require { .. }) {
                        hir::StmtKind::Require { label, cond: x }
                    } else {
                        hir::StmtKind::Exclude { label, cond: x }
                    }
                }
                ast::CohortStmtKind::End(e) => {
                    once(self, "end", &mut first_of);
                    let x = self.expr(e, &with(false, true));
                    let x = self.settle(x, &cx);
                    hir::StmtKind::End(self.date(x, "the end of follow-up"))
                }
                ast::CohortStmtKind::Era {
                    name,
                    events,
                    gap,
                    grace,
                } => {
                    if let Some((_, first)) = era_names.iter().find(|(n, _)| *n == name.name) {
                        self.error(CheckError::Duplicate {
                            at: (cx.file, name.span),
                            name: name.name.clone(),
                            first: (cx.file, *first),
                        });
                    }
                    era_names.push((name.name.clone(), name.span));
                    let x = self.expr(events, &with(false, false));
                    let x = self.settle(x, &cx);
                    match x.ty {
                        Type::Events(d) if d.single() == Some(EventDomain::Drug) => {}
                        Type::Error => {}
                        other => self.mismatch(
                            &x,
                            "drug events (eras are built from days' supply)",
                            other,
                            "an era",
                            None,
                        ),
                    }
                    let days = |e: &Option<ast::Expr>, what: &str, c: &mut Self| -> i64 {
                        e.as_ref()
                            .and_then(|e| {
                                let d = c.expr(e, &cx);
                                c.warn_calendar(&d);
                                c.const_duration(&d, what)
                            })
                            .unwrap_or(0)
                    };
                    let gap = days(gap, "`gap`", self);
                    let grace = days(grace, "`grace`", self);
                    hir::StmtKind::Era {
                        name: name.name.clone(),
                        events: x,
                        gap,
                        grace,
                    }
                }
                ast::CohortStmtKind::Periods {
                    length,
                    from,
                    until,
                    then_until,
                } => {
                    once(self, "periods", &mut first_of);
                    let scx = with(false, false);
                    let l = self.expr(length, &scx);
                    self.warn_calendar(&l);
                    let length = self.const_duration(&l, "`periods of`").unwrap_or(1);
                    if length == 0 {
                        self.error(CheckError::EmptyPeriod {
                            at: (l.file, l.span),
                        });
                    }
                    let length = length.max(1);
                    let date = |c: &mut Self, e: &ast::Expr| {
                        let x = c.expr(e, &scx);
                        let x = c.settle(x, &scx);
                        c.date(x, "a follow-up period")
                    };
                    let from = match from {
                        Some(e) => date(self, e),
                        None => Expr {
                            kind: H::Anchor(hir::Anchor::Index),
                            ty: Type::Date,
                            span: s.span,
                            file: cx.file,
                        },
                    };
                    let until = match until {
                        Some(e) => date(self, e),
                        None => Expr {
                            kind: H::Anchor(hir::Anchor::End),
                            ty: Type::Date,
                            span: s.span,
                            file: cx.file,
                        },
                    };
                    let then_until = then_until.as_ref().map(|e| date(self, e));
                    hir::StmtKind::Periods {
                        length,
                        from,
                        until,
                        then_until,
                    }
                }
                ast::CohortStmtKind::Error => continue,
            };
            stmts.push(hir::Stmt {
                kind,
                span: s.span,
                text,
            });
        }
        // A statement the parser could not read may have been the index: say nothing more.
        let unreadable = c
            .stmts
            .iter()
            .any(|s| matches!(s.kind, ast::CohortStmtKind::Error));
        if !first_of.contains_key("index") && !unreadable {
            self.error(CheckError::MissingStatement {
                at: (cx.file, c.name.span),
                cohort: c.name.name.clone(),
                what: "index",
                help: "add the entry event, e.g. `index = first drug x`",
            });
        }
        (
            DefKind::Cohort(Box::new(hir::Cohort { stmts })),
            Type::Cohort,
        )
    }

    /// The eras a cohort declares.
    pub(super) fn eras_of(&self, cohort: DefId) -> Vec<String> {
        match &self.hir.def(cohort).kind {
            DefKind::Cohort(c) => c
                .stmts
                .iter()
                .filter_map(|s| match &s.kind {
                    hir::StmtKind::Era { name, .. } => Some(name.clone()),
                    _ => None,
                })
                .collect(),
            _ => vec![],
        }
    }

    pub(super) fn cohort_ref(&mut self, i: &ast::Ident, cx: &Cx) -> Option<DefId> {
        let found = self.scopes[cx.scope].own.get(&i.name).copied();
        match found {
            Some(id) => {
                let ty = self.ensure(id, (cx.file, i.span));
                match ty {
                    Type::Cohort => Some(id),
                    Type::Error => None,
                    other => {
                        self.error(CheckError::Mismatch {
                            at: (cx.file, i.span),
                            expected: "a cohort".into(),
                            found: other,
                            context: "this".into(),
                            help: None,
                        });
                        None
                    }
                }
            }
            None => {
                let cohorts: Vec<String> = self.scopes[cx.scope]
                    .own
                    .iter()
                    .filter(|(_, id)| {
                        matches!(
                            self.pending.get(id).map(|p| &p.item.kind),
                            Some(ast::ItemKind::Cohort(_))
                        ) || self.hir.def(**id).ty == Type::Cohort
                    })
                    .map(|(n, _)| n.clone())
                    .collect();
                let suggestion = suggest(&i.name, cohorts.iter().map(String::as_str));
                self.error(CheckError::UnknownName {
                    at: (cx.file, i.span),
                    name: i.name.clone(),
                    suggestion,
                });
                None
            }
        }
    }

    pub(super) fn outcome(&mut self, o: &ast::OutcomeDecl, cx: Cx) -> (DefKind, Type) {
        let Some(cohort) = self.cohort_ref(&o.cohort, &cx) else {
            return (DefKind::Pending, Type::Error);
        };
        let eras = self.eras_of(cohort);
        let mut ocx = cx.clone();
        ocx.cohort = Some(Rc::new(CohortCx {
            eras,
            in_index: false,
            in_end: false,
        }));
        let x = self.expr(&o.value, &ocx);
        let x = self.settle(x, &ocx);
        match (&x.kind, x.ty) {
            (_, Type::Error) => {}
            (H::Select { selector, .. }, Type::Events(_)) if *selector != hir::Selector::First => {
                self.error(CheckError::OutcomeNotFirst {
                    at: (x.file, x.span),
                });
            }
            (_, Type::Events(_)) => {}
            (_, other) => self.mismatch(&x, "events", other, "an outcome", None),
        }
        (
            DefKind::Outcome(Box::new(hir::Outcome { cohort, value: x })),
            Type::Outcome,
        )
    }
}

#[cfg(test)]
mod tests {
    use crate::testing::{check, errors};

    #[test]
    fn a_cohort_with_every_statement() {
        insta::assert_snapshot!(check(
            r#"codes x: drug = yj "2432001"
codes y: drug = yj "2432002"
cohort c {
  index = first drug x
  require "seen" observed 180 days before index
  exclude drug (x or y) within 180 days before index
  era exposure = drug x gap 30 days grace 30 days
  end = earliest(end of exposure, first drug y after index)
  periods of 14 days from index + 1 day until index + 140 days
}"#
        ), @r#"
        x : Codes<drug> = yj "2432001":Codes<drug>
        y : Codes<drug> = yj "2432002":Codes<drug>
        c : Cohort
          index = (First (drug x:Codes<drug>):Events<drug>):Events<drug>
          require (observed 180d Before Index:Date):Bool
          exclude (window (drug (or x:Codes<drug> y:Codes<drug>):Codes<drug>):Events<drug> within 180 days:Duration Before Index:Date):Events<drug>
          era exposure = (drug x:Codes<drug>):Events<drug> gap 30d grace 30d
          end = (earliest EraEnd("exposure"):Date (First (window (drug y:Codes<drug>):Events<drug> After Index:Date):Events<drug>):Events<drug>):Date
          periods of 14d from (+ Index:Date 1 days:Duration):Date until (+ Index:Date 140 days:Duration):Date
        "#);
    }

    #[test]
    fn a_cohort_without_index_and_a_statement_twice() {
        insta::assert_snapshot!(errors(
            r#"codes x: drug = yj "2432001"
cohort c { require drug x }
cohort d {
  index = first drug x
  end = index + 1 day
  end = index + 2 days
}"#
        ), @"
        E0301 2:8 cohort `c` has no index (no index) help: add the entry event, e.g. `index = first drug x`
        E0302 6:3 a cohort has one end (second one here)
        ");
    }

    #[test]
    fn an_index_needs_one_event_per_patient() {
        insta::assert_snapshot!(errors(
            r#"codes x: drug = yj "2432001"
cohort c { index = drug x }"#
        ), @"E0305 2:20 the index needs one event per patient (which of the events?) help: say which: `first …`, `last …`, `nth(2) …` or `every …`");
    }

    #[test]
    fn an_outcome_is_the_first_event() {
        insta::assert_snapshot!(errors(
            r#"import labs.{alt}
codes x: drug = yj "2432001"
cohort c { index = first drug x }
outcome o in c = lab alt > 3 x ULN
outcome p in c = last lab alt > 3 x ULN"#
        ), @"E0312 5:18 an outcome is the first qualifying event (not `first`) help: write `first …` or leave the selector out");
    }
}
