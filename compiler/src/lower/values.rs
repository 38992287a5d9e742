//! Lowering dates, conditions and values (stage: HIR → CIR): anchors and shifted dates, the
//! date of one chosen event, counts, observability, comparisons, and export columns.

use mid_grammar::ast::{self, BinOp};

use super::{Lower, Result, cmp, internal};
use crate::check::expand::{days, number, picks_one};
use crate::cir::{Cond, Count, CountUnit, Date, Value};
use crate::hir::{self, Expr, ExprKind as H};
use crate::types::Type;

impl Lower<'_> {
    /// Export columns (and Table 1 rows): each a value per entry.
    pub(super) fn columns(
        &mut self,
        hir: &hir::Hir,
        cols: &[hir::ExportColumn],
    ) -> Result<Vec<(String, Value)>> {
        cols.iter()
            .map(|c| {
                let x = crate::check::expand::expand(hir, &c.expr);
                let v = match c.of {
                    Some(hir::Of::Value) => Value::LabValue(Box::new(self.events(&x)?)),
                    Some(hir::Of::Count) => Value::Count(Box::new(self.events(&x)?)),
                    Some(hir::Of::Max) => Value::LabMax(Box::new(self.events(&x)?)),
                    Some(hir::Of::Min) => Value::LabMin(Box::new(self.events(&x)?)),
                    Some(hir::Of::Records) => Value::Records(Box::new(self.events(&x)?)),
                    Some(hir::Of::Grade) => self.grade_value(&x)?,
                    Some(hir::Of::DaysFrom) => {
                        let from = c
                            .from
                            .as_ref()
                            .ok_or_else(|| internal("`days from` without its first date"))?;
                        let from = crate::check::expand::expand(hir, from);
                        Value::DaysBetween(self.date(&from)?, self.date(&x)?)
                    }
                    None => self.value(&x)?,
                };
                Ok((c.name.clone(), v))
            })
            .collect()
    }

    /// `grade of G(events)` of an expanded expression: the grade per entry.
    pub(super) fn grade_value(&mut self, x: &Expr) -> Result<Value> {
        let H::Grade { grading, events } = &x.kind else {
            return Err(internal("`grade of` without a grading"));
        };
        let (grading, rules) = self.grade_rules(*grading, events)?;
        Ok(Value::LabGrade {
            events: Box::new(self.events(events)?),
            grading,
            rules,
        })
    }

    /// A date of an expanded expression.
    pub(super) fn date(&mut self, e: &Expr) -> Result<Date> {
        match &e.kind {
            H::Anchor(a) => Ok(match a {
                hir::Anchor::Index => Date::Index,
                hir::Anchor::End => Date::End,
                hir::Anchor::It => Date::It,
                hir::Anchor::StartOfObservation => Date::StartOfObservation,
                hir::Anchor::EndOfObservation => Date::EndOfObservation,
                hir::Anchor::EraStart(n) => Date::EraStart(n.clone()),
                hir::Anchor::EraEnd(n) => Date::EraEnd(n.clone()),
            }),
            H::Builtin(hir::Builtin::Death) => Ok(Date::Death),
            H::Date(d) => Ok(Date::Literal(*d)),
            H::Arith { op, lhs, rhs } => {
                let (d, n) = if lhs.ty == Type::Date || lhs.ty.events().is_some() {
                    (lhs, rhs)
                } else {
                    (rhs, lhs)
                };
                let base = self.date(d)?;
                let n = days(n).ok_or_else(|| internal("a date moved by no fixed duration"))?;
                Ok(base.offset(if *op == BinOp::Sub {
                    n.checked_neg()
                        .ok_or_else(|| internal("a duration too long"))?
                } else {
                    n
                }))
            }
            H::Extreme { latest, args } => {
                let ds = args.iter().map(|a| self.date(a)).collect::<Result<_>>()?;
                Ok(if *latest {
                    Date::Latest(ds)
                } else {
                    Date::Earliest(ds)
                })
            }
            H::Inlined { body, .. } if e.ty == Type::Date => self.date(body),
            _ if e.ty.events().is_some() && picks_one(e) => {
                Ok(Date::Event(Box::new(self.events(e)?)))
            }
            _ => Err(internal(format!(
                "a date expected, found an expression of type {}",
                e.ty
            ))),
        }
    }

    /// A condition of an expanded expression.
    pub(super) fn cond(&mut self, e: &Expr) -> Result<Cond> {
        match &e.kind {
            H::Bool(b) => Ok(Cond::Const(*b)),
            H::InCohort(id) => Ok(Cond::InCohort(self.hir.def(*id).name.clone())),
            H::And(a, b) => Ok(Cond::And(Box::new(self.cond(a)?), Box::new(self.cond(b)?))),
            H::Or(a, b) if e.ty == Type::Bool => {
                Ok(Cond::Or(Box::new(self.cond(a)?), Box::new(self.cond(b)?)))
            }
            H::Not(a) => Ok(Cond::Not(Box::new(self.cond(a)?))),
            H::Select { selector, expr } if e.ty == Type::Bool => {
                let events = self.events(expr)?;
                let unit = |u: hir::CountUnit| match u {
                    hir::CountUnit::Days => CountUnit::Days,
                    hir::CountUnit::Visits => CountUnit::Visits,
                    hir::CountUnit::Records => CountUnit::Records,
                };
                let count = match selector {
                    hir::Selector::No => Count::None,
                    hir::Selector::AtLeast(n, u) => Count::AtLeast(*n, unit(*u)),
                    hir::Selector::AtMost(n, u) => Count::AtMost(*n, unit(*u)),
                    hir::Selector::Exactly(n, u) => Count::Exactly(*n, unit(*u)),
                    hir::Selector::First
                    | hir::Selector::Last
                    | hir::Selector::Nth(_)
                    | hir::Selector::Every => {
                        return Err(internal("a selection where a count is needed"));
                    }
                };
                Ok(Cond::Exists { events, count })
            }
            H::Observed {
                days,
                direction,
                anchor,
            } => Ok(Cond::Observed {
                days: *days,
                before: *direction == ast::Direction::Before,
                anchor: self.date(anchor)?,
            }),
            H::Window { expr, window } if expr.ty == Type::Date => Ok(Cond::DateIn {
                date: self.date(expr)?,
                window: self.window(window)?,
            }),
            H::Compare { op, lhs, rhs } if e.ty == Type::Bool => Ok(Cond::Compare {
                lhs: self.value(lhs)?,
                op: cmp(*op),
                rhs: self.value(rhs)?,
            }),
            H::Inlined { body, .. } if e.ty == Type::Bool => self.cond(body),
            _ if e.ty.events().is_some() => Ok(Cond::Exists {
                events: self.events(e)?,
                count: Count::Any,
            }),
            _ => Err(internal(format!(
                "a condition expected, found an expression of type {}",
                e.ty
            ))),
        }
    }

    /// A value per cohort entry of an expanded expression (comparisons, export columns).
    pub(super) fn value(&mut self, e: &Expr) -> Result<Value> {
        match (&e.kind, e.ty) {
            (H::Number(n), _) => Ok(Value::Number(*n)),
            (H::Text(t), _) => Ok(Value::Text(t.clone())),
            (H::Bool(b), _) => Ok(Value::Bool(*b)),
            (H::AgeAt(d), _) => Ok(Value::Age(self.date(d)?)),
            (H::Builtin(hir::Builtin::Sex), _) => Ok(Value::Sex),
            (H::Builtin(hir::Builtin::Hospital), _) => Ok(Value::Hospital),
            (H::Builtin(hir::Builtin::Censoring), _) => Ok(Value::Censoring),
            (H::Builtin(hir::Builtin::IndexDrug), _) => Ok(Value::IndexDrug),
            (H::Def(id), Type::Outcome) => Ok(Value::Outcome(self.hir.def(*id).name.clone())),
            (H::Inlined { body, .. }, Type::Number | Type::Text) => self.value(body),
            (_, Type::Number) => {
                Ok(Value::Number(number(e).ok_or_else(|| {
                    internal("a number that is not known when compiling")
                })?))
            }
            (_, Type::Date) => Ok(Value::Date(self.date(e)?)),
            (_, Type::Events(_)) if picks_one(e) => Ok(Value::Date(self.date(e)?)),
            (_, Type::Events(_) | Type::Bool) => Ok(Value::Cond(Box::new(self.cond(e)?))),
            _ => Err(internal(format!(
                "a value expected, found an expression of type {}",
                e.ty
            ))),
        }
    }
}
