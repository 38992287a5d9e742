//! Events (stage: AST → HIR): event queries, selectors and counts, `where` filters on the CDM columns, and the lab item a query is about.

use mid_grammar::ast::{self, BinOp, CmpOp, ExprKind as A};

use super::errors::MAX_COUNT;
use super::{CheckError, Checker, Cx, suggest};
use crate::cdm::{Column, ColumnType};
use crate::hir::{self, Expr, ExprKind as H, Filter, Literal};
use crate::types::{Domains, EventDomain, Type};

impl Checker<'_> {
    pub(super) fn event(
        &mut self,
        domain: ast::Domain,
        target: &ast::Expr,
        e: &ast::Expr,
        cx: &Cx,
    ) -> Expr {
        let dom = match domain {
            ast::Domain::Diagnosis => EventDomain::Diagnosis,
            ast::Domain::Drug => EventDomain::Drug,
            ast::Domain::Lab => EventDomain::Lab,
            ast::Domain::Procedure => EventDomain::Procedure,
            ast::Domain::Visit => EventDomain::Visit,
        };
        let ty = Type::Events(Domains::one(dom));
        if dom == EventDomain::Visit {
            let kind = match &target.kind {
                A::Name(i) if i.name == "any" => None,
                A::Name(i) if crate::cdm::VISIT_KIND_VALUES.contains(&i.name.as_str()) => {
                    Some(i.name.clone())
                }
                A::Name(i) => {
                    let mut values: Vec<&'static str> = crate::cdm::VISIT_KIND_VALUES.to_vec();
                    values.push("any");
                    let suggestion = suggest(&i.name, values.iter().copied());
                    self.error(CheckError::UnknownValue {
                        at: (cx.file, target.span),
                        column: "visit kind".into(),
                        value: i.name.clone(),
                        suggestion,
                        values,
                    });
                    return self.err_expr(e, cx);
                }
                _ => {
                    self.error(CheckError::VisitKind {
                        at: (cx.file, target.span),
                    });
                    return self.err_expr(e, cx);
                }
            };
            let t = self.mk(H::VisitKind(kind), Type::Text, target, cx);
            return self.mk(
                H::Event {
                    domain: dom,
                    target: Box::new(t),
                },
                ty,
                e,
                cx,
            );
        }
        let want = dom.code_domain().expect("non-visit domains have codes");
        let mut tcx = cx.clone();
        tcx.want_domain = Some(want);
        let t = self.expr(target, &tcx);
        let t = self.settle(t, cx);
        match t.ty {
            Type::Codes(d) if d == want => {}
            Type::LabItem if dom == EventDomain::Lab => {}
            Type::Error => return self.err_expr(e, cx),
            Type::Codes(d) => {
                self.error(CheckError::WrongDomain {
                    at: (t.file, t.span),
                    expected: format!("Codes<{}>", want.name()),
                    found: format!("Codes<{}>", d.name()),
                    context: format!("`{}`", dom.name()),
                });
                return self.err_expr(e, cx);
            }
            Type::Events(_) => {
                self.error(CheckError::Mismatch {
                    at: (t.file, t.span),
                    expected: format!("Codes<{}>", want.name()),
                    found: t.ty,
                    context: format!("`{}`", dom.name()),
                    help: Some(
                        "this is already a query of events: use it without the domain word".into(),
                    ),
                });
                return self.err_expr(e, cx);
            }
            other => {
                let expected = if dom == EventDomain::Lab {
                    "a lab item or Codes<lab>".to_string()
                } else {
                    format!("Codes<{}>", want.name())
                };
                self.mismatch(&t, &expected, other, &format!("`{}`", dom.name()), None);
                return self.err_expr(e, cx);
            }
        }
        self.mk(
            H::Event {
                domain: dom,
                target: Box::new(t),
            },
            ty,
            e,
            cx,
        )
    }

    pub(super) fn select(
        &mut self,
        selector: &ast::Selector,
        inner: &ast::Expr,
        e: &ast::Expr,
        cx: &Cx,
    ) -> Expr {
        let x = self.expr(inner, cx);
        let x = self.settle(x, cx);
        // Counts beyond any number of events are a typo, not a request.
        if let ast::Selector::Nth(n)
        | ast::Selector::AtLeast(n, _)
        | ast::Selector::AtMost(n, _)
        | ast::Selector::Exactly(n, _) = selector
            && n.value() > MAX_COUNT
        {
            self.error(CheckError::NumberTooLarge {
                at: (cx.file, n.span),
                what: "a count of events",
                max: "1,000,000".into(),
            });
        }
        if let ast::Selector::AtLeast(n, _)
        | ast::Selector::AtMost(n, _)
        | ast::Selector::Exactly(n, _) = selector
            && n.value().fract() != 0.0
            && n.value().is_finite()
        {
            self.error(CheckError::NotWhole {
                at: (cx.file, n.span),
                what: "a count of events",
            });
        }
        let count = |n: &ast::Number| n.value().clamp(0.0, MAX_COUNT) as u32;
        let unit = |u: &ast::CountUnit| match u {
            ast::CountUnit::Default | ast::CountUnit::Days => hir::CountUnit::Days,
            ast::CountUnit::Visits => hir::CountUnit::Visits,
            ast::CountUnit::Records => hir::CountUnit::Records,
        };
        let sel = match selector {
            ast::Selector::First => hir::Selector::First,
            ast::Selector::Last => hir::Selector::Last,
            ast::Selector::Every => hir::Selector::Every,
            ast::Selector::No => hir::Selector::No,
            ast::Selector::Nth(n) => {
                if n.value() < 1.0 || n.value().fract() != 0.0 {
                    self.error(CheckError::NthFromOne {
                        at: (cx.file, n.span),
                    });
                }
                hir::Selector::Nth(count(n))
            }
            ast::Selector::AtLeast(n, u) => hir::Selector::AtLeast(count(n), unit(u)),
            ast::Selector::AtMost(n, u) => hir::Selector::AtMost(count(n), unit(u)),
            ast::Selector::Exactly(n, u) => hir::Selector::Exactly(count(n), unit(u)),
        };
        let ty = match x.ty {
            Type::Events(d) => match sel {
                hir::Selector::First
                | hir::Selector::Last
                | hir::Selector::Nth(_)
                | hir::Selector::Every => Type::Events(d),
                _ => Type::Bool,
            },
            Type::Error => return self.err_expr(e, cx),
            other => {
                self.mismatch(
                    &x,
                    "events",
                    other,
                    "a selector (`first`, `no`, `at least` …)",
                    None,
                );
                return self.err_expr(e, cx);
            }
        };
        if let hir::Selector::AtLeast(_, hir::CountUnit::Visits)
        | hir::Selector::AtMost(_, hir::CountUnit::Visits)
        | hir::Selector::Exactly(_, hir::CountUnit::Visits) = sel
            && x.ty.events().is_some_and(|d| d.contains(EventDomain::Lab))
        {
            self.error(CheckError::LabVisits {
                at: (cx.file, e.span),
            });
        }
        self.mk(
            H::Select {
                selector: sel,
                expr: Box::new(x),
            },
            ty,
            e,
            cx,
        )
    }

    /// A filter of `where`, over the columns of `dom`'s table.
    pub(super) fn filter(&mut self, f: &ast::Expr, dom: EventDomain, cx: &Cx) -> Filter {
        let table = dom.table();
        let column = |c: &mut Self, i: &ast::Ident| -> Option<&'static Column> {
            match table.column(&i.name) {
                Some(col) => Some(col),
                None => {
                    let fields: Vec<&'static str> =
                        table.columns().iter().map(|c| c.name).collect();
                    let suggestion = suggest(&i.name, fields.iter().copied());
                    c.error(CheckError::UnknownField {
                        at: (cx.file, i.span),
                        table: table.name(),
                        name: i.name.clone(),
                        suggestion,
                        fields,
                    });
                    None
                }
            }
        };
        match &f.kind {
            A::Name(i) => match column(self, i) {
                Some(col) if col.ty == ColumnType::Bool => Filter::Column(col),
                Some(col) => {
                    self.error(CheckError::NotYesNo {
                        at: (cx.file, f.span),
                        column: col.name,
                    });
                    Filter::Error
                }
                None => Filter::Error,
            },
            A::Not(inner) => match self.filter(inner, dom, cx) {
                Filter::Error => Filter::Error,
                x => Filter::Not(Box::new(x)),
            },
            A::Binary {
                op: BinOp::And,
                lhs,
                rhs,
            }
            | A::Binary {
                op: BinOp::Or,
                lhs,
                rhs,
            } => {
                let a = self.filter(lhs, dom, cx);
                let b = self.filter(rhs, dom, cx);
                if matches!(a, Filter::Error) || matches!(b, Filter::Error) {
                    return Filter::Error;
                }
                if matches!(f.kind, A::Binary { op: BinOp::And, .. }) {
                    Filter::And(Box::new(a), Box::new(b))
                } else {
                    Filter::Or(Box::new(a), Box::new(b))
                }
            }
            A::Binary {
                op: BinOp::Cmp(op),
                lhs,
                rhs,
            } => {
                let A::Name(i) = &lhs.kind else {
                    return Filter::Error;
                };
                let Some(col) = column(self, i) else {
                    return Filter::Error;
                };
                match self.literal(col, rhs, cx) {
                    Some(value) => {
                        if col.ty == ColumnType::Text && !matches!(op, CmpOp::Eq | CmpOp::Ne) {
                            self.error(CheckError::TextOrder {
                                at: (cx.file, f.span),
                            });
                            return Filter::Error;
                        }
                        Filter::Compare {
                            column: col,
                            op: *op,
                            value,
                        }
                    }
                    None => Filter::Error,
                }
            }
            A::In {
                lhs,
                values,
                negated,
            } => {
                let A::Name(i) = &lhs.kind else {
                    return Filter::Error;
                };
                let Some(col) = column(self, i) else {
                    return Filter::Error;
                };
                let mut lits = Vec::new();
                for v in values {
                    match self.literal(col, v, cx) {
                        Some(l) => lits.push(l),
                        None => return Filter::Error,
                    }
                }
                Filter::In {
                    column: col,
                    values: lits,
                    negated: *negated,
                }
            }
            _ => Filter::Error,
        }
    }

    /// A value written for a column, checked against its type and closed set.
    pub(super) fn literal(
        &mut self,
        col: &'static Column,
        v: &ast::Expr,
        cx: &Cx,
    ) -> Option<Literal> {
        let bad = |c: &mut Self, what: &'static str| {
            c.error(CheckError::LiteralKind {
                at: (cx.file, v.span),
                column: col.name,
                kind: what,
            });
            None
        };
        match (col.ty, &v.kind) {
            (ColumnType::Text, A::Name(i)) => self
                .check_value(col, &i.name, (cx.file, v.span))
                .then(|| Literal::Text(i.name.clone())),
            (ColumnType::Text, A::Str(s)) => self
                .check_value(col, s, (cx.file, v.span))
                .then(|| Literal::Text(s.clone())),
            (ColumnType::Text, A::Number(n)) if col.values.is_some() => {
                // DPC categories look like numbers: `dpc_category = 11`.
                self.check_value(col, &n.text, (cx.file, v.span))
                    .then(|| Literal::Text(n.text.clone()))
            }
            (ColumnType::Text, _) => bad(self, "text"),
            (ColumnType::Int32, A::Number(n))
                if n.value().fract() == 0.0 && n.value().abs() > f64::from(i32::MAX) =>
            {
                self.error(CheckError::NumberTooLarge {
                    at: (cx.file, v.span),
                    what: "a value of this column",
                    max: i32::MAX.to_string(),
                });
                None
            }
            (ColumnType::Int64, A::Number(n))
                if n.value().fract() == 0.0 && n.value().abs() > 9_007_199_254_740_992.0 =>
            {
                self.error(CheckError::NumberTooLarge {
                    at: (cx.file, v.span),
                    what: "a value of this column",
                    max: "9007199254740992 (2^53)".into(),
                });
                None
            }
            (ColumnType::Int64 | ColumnType::Int32, A::Number(n)) if n.value().fract() == 0.0 => {
                Some(Literal::Int(n.value() as i64))
            }
            (ColumnType::Int64 | ColumnType::Int32, _) => bad(self, "whole numbers"),
            (ColumnType::Float64, A::Number(n)) => Some(Literal::Number(n.value())),
            (ColumnType::Float64, _) => bad(self, "numbers"),
            (ColumnType::Bool, A::Bool(b)) => Some(Literal::Bool(*b)),
            (ColumnType::Bool, _) => bad(self, "yes/no (true or false)"),
            (ColumnType::Date, A::Date(d)) => match crate::dates::parse(d) {
                Some(days) => Some(Literal::Date(days)),
                None => bad(self, "dates (YYYY-MM-DD)"),
            },
            (ColumnType::Date, _) => bad(self, "dates (YYYY-MM-DD)"),
        }
    }

    /// The catalogue item a lab query is about, through filters and windows.
    pub(crate) fn lab_item_of(&self, x: &Expr) -> Option<hir::DefId> {
        match &x.kind {
            H::Event {
                domain: EventDomain::Lab,
                target,
            } => match &target.kind {
                H::Def(id) if self.hir.def(*id).ty == Type::LabItem => Some(*id),
                _ => None,
            },
            H::Where { expr, .. }
            | H::Window { expr, .. }
            | H::Select { expr, .. }
            | H::Having { expr, .. } => self.lab_item_of(expr),
            H::Compare { lhs, .. } if x.ty.events().is_some() => self.lab_item_of(lhs),
            H::Def(id) => match &self.hir.def(*id).kind {
                hir::DefKind::Value {
                    params: None, body, ..
                } => self.lab_item_of(body),
                _ => None,
            },
            _ => None,
        }
    }

    /// `E where F`: a filter on the columns of the events' one table.
    pub(super) fn where_filter(
        &mut self,
        expr: &ast::Expr,
        filter: &ast::Expr,
        e: &ast::Expr,
        cx: &Cx,
    ) -> Expr {
        let x = self.expr(expr, cx);
        let filter = match x.ty {
            Type::Events(d) => match d.single() {
                Some(dom) => self.filter(filter, dom, cx),
                None => {
                    self.error(CheckError::MixedFilter {
                        at: (cx.file, expr.span),
                        domains: d.to_string(),
                    });
                    Filter::Error
                }
            },
            Type::Error => Filter::Error,
            other => {
                self.mismatch(&x, "events", other, "`where`", None);
                Filter::Error
            }
        };
        let ty = if matches!(filter, Filter::Error) && x.ty.events().is_none() {
            Type::Error
        } else {
            x.ty
        };
        self.mk(
            H::Where {
                expr: Box::new(x),
                filter,
            },
            ty,
            e,
            cx,
        )
    }

    /// `E having C`: the events for which a condition about them (`it`) holds.
    pub(super) fn having(
        &mut self,
        expr: &ast::Expr,
        cond: &ast::Expr,
        e: &ast::Expr,
        cx: &Cx,
    ) -> Expr {
        let x = self.expr(expr, cx);
        let it = match x.ty {
            Type::Events(d) => Some(d),
            Type::Error => None,
            other => {
                self.mismatch(&x, "events", other, "`having`", None);
                None
            }
        };
        let mut inner = cx.clone();
        inner.it = it.or(Some(Domains::default()));
        let c = self.expr(cond, &inner);
        let c = self.condition(c, "`having`");
        let ty = if it.is_some() { x.ty } else { Type::Error };
        self.mk(
            H::Having {
                expr: Box::new(x),
                cond: Box::new(c),
            },
            ty,
            e,
            cx,
        )
    }
}

#[cfg(test)]
mod tests {
    use crate::testing::{check, errors};

    #[test]
    fn a_filter_on_a_column_of_the_table() {
        insta::assert_snapshot!(check(
            r#"codes hf: diagnosis = icd10 "I50"
cohort c { index = first diagnosis hf where (not suspected and source in (claim, dpc)) }"#
        ), @r#"
        hf : Codes<diagnosis> = icd10 "I50":Codes<diagnosis>
        c : Cohort
          index = (First (where (diagnosis hf:Codes<diagnosis>):Events<diagnosis> (and (not suspected) (in source ["claim" "dpc"]))):Events<diagnosis>):Events<diagnosis>
        "#);
    }

    #[test]
    fn an_unknown_column_and_value() {
        insta::assert_snapshot!(errors(
            r#"codes hf: diagnosis = icd10 "I50"
cohort c {
  index = first diagnosis hf where sourse = dpc
  require diagnosis hf where source = dcp
}"#
        ), @"
        E0106 3:36 the diagnosis table has no column `sourse` (unknown column) help: did you mean `source`?
        E0107 4:39 `dcp` is not a value of `source` (unknown value)
        ");
    }

    #[test]
    fn having_binds_it() {
        insta::assert_snapshot!(check(
            r#"codes hf: diagnosis = icd10 "I50"
cohort c { index = first visit inpatient having diagnosis hf during it }"#
        ), @r#"
        hf : Codes<diagnosis> = icd10 "I50":Codes<diagnosis>
        c : Cohort
          index = (First (having (visit inpatient:Text):Events<visit> (window (diagnosis hf:Codes<diagnosis>):Events<diagnosis> during It:Date):Events<diagnosis>):Events<visit>):Events<visit>
        "#);
    }

    #[test]
    fn it_outside_having() {
        insta::assert_snapshot!(errors(
            r#"codes hf: diagnosis = icd10 "I50"
cohort c {
  index = first diagnosis hf
  require diagnosis hf during it
}"#
        ), @"E0304 4:31 `it` has no meaning here (no `it` here) help: `it` is the event a `having` condition is about: `visit inpatient having lab bnp >= 100 pg/mL during it`");
    }

    #[test]
    fn counts_and_selectors() {
        insta::assert_snapshot!(check(
            r#"codes x: drug = yj "2432001"
cohort c {
  index = nth(2) drug x
  require at least 2 records of drug x within 365 days before index
  exclude no drug x within 30 days after index
}"#
        ), @r#"
        x : Codes<drug> = yj "2432001":Codes<drug>
        c : Cohort
          index = (Nth(2) (drug x:Codes<drug>):Events<drug>):Events<drug>
          require (AtLeast(2, Records) (window (drug x:Codes<drug>):Events<drug> within 365 days:Duration Before Index:Date):Events<drug>):Bool
          exclude (No (window (drug x:Codes<drug>):Events<drug> within 30 days:Duration After Index:Date):Events<drug>):Bool
        "#);
    }
}
