//! Checking expressions (stage: AST → HIR): the dispatcher over the syntax tree; each kind of expression is checked in the module of its part of the language.

use mid_grammar::ast::{self, ExprKind as A};

use super::errors::MAX_DAYS;
use super::{CheckError, Checker, Cx, suggest};
use crate::hir::{Expr, ExprKind as H, QuantityUnit};
use crate::types::{Measure, Type};
use crate::units::{self, Relative};

impl Checker<'_> {
    pub(crate) fn mk(&self, kind: H, ty: Type, e: &ast::Expr, cx: &Cx) -> Expr {
        Expr {
            kind,
            ty,
            span: e.span,
            file: cx.file,
        }
    }

    pub(crate) fn err_expr(&self, e: &ast::Expr, cx: &Cx) -> Expr {
        self.mk(H::Error, Type::Error, e, cx)
    }

    /// Checks any expression.
    pub(crate) fn expr(&mut self, e: &ast::Expr, cx: &Cx) -> Expr {
        match &e.kind {
            A::Name(i) => self.name(i, e, cx),
            A::Path(p) => self.path(p, e, cx),
            A::Number(n) => self.mk(H::Number(n.value()), Type::Number, e, cx),
            A::Quantity { value, unit } => self.quantity(value, unit, e, cx),
            A::Date(d) => match crate::dates::parse(d) {
                Some(days) => self.mk(H::Date(days), Type::Date, e, cx),
                None => {
                    self.error(CheckError::BadDate {
                        at: (cx.file, e.span),
                        text: d.clone(),
                    });
                    self.err_expr(e, cx)
                }
            },
            A::Str(s) => self.mk(H::Text(s.clone()), Type::Text, e, cx),
            A::Bool(b) => self.mk(H::Bool(*b), Type::Bool, e, cx),
            A::CodeLit { system, code, to } => self.code_lit(system, code, to.as_ref(), e, cx),
            A::Call { callee, args } => self.call(callee, args, e, cx),
            A::Binary { op, lhs, rhs } => self.binary(*op, lhs, rhs, e, cx),
            A::Not(inner) => {
                let x = self.expr(inner, cx);
                let x = self.settle(x, cx);
                let x = self.condition(x, "`not`");
                self.mk(H::Not(Box::new(x)), Type::Bool, e, cx)
            }
            A::In {
                lhs,
                values,
                negated,
            } => self.in_list(lhs, values, *negated, e, cx),
            A::Event { domain, target } => self.event(*domain, target, e, cx),
            A::Select { selector, expr } => self.select(selector, expr, e, cx),
            A::Where { expr, filter } => self.where_filter(expr, filter, e, cx),
            A::Having { expr, cond } => self.having(expr, cond, e, cx),
            A::Window { expr, window } => self.window(expr, window, e, cx),
            A::Anchor(a) => self.anchor(a, e, cx),
            A::AgeAt(a) => self.age_at(a, e, cx),
            A::ValueOf { .. } | A::DaysBetween { .. } => {
                // An export column only (`check_exports_reports` reads it there).
                let what = match &e.kind {
                    A::ValueOf { func, .. } => format!("{} of", func.name.replace(' ', " of ")),
                    _ => "days from … to".into(),
                };
                self.error(CheckError::ValueOf {
                    at: (cx.file, e.span),
                    what,
                    problem: "a column of an export, not part of a condition or a date".into(),
                });
                self.err_expr(e, cx)
            }
            A::InCohort(i) => self.in_cohort(i, e, cx),
            A::Observed {
                duration,
                direction,
                anchor,
            } => self.observed(duration, *direction, anchor, e, cx),
            A::Paren(inner) => {
                let x = self.expr(inner, cx);
                Expr { span: e.span, ..x }
            }
            A::Error => self.err_expr(e, cx),
        }
    }

    /// A number with a unit: a duration in days, a multiple of a reference (`3 x ULN`) or a
    /// quantity of a dimension (`10 x10^4/uL` is 10 in units of 10^4/uL).
    pub(super) fn quantity(
        &mut self,
        value: &ast::Number,
        unit: &ast::Unit,
        e: &ast::Expr,
        cx: &Cx,
    ) -> Expr {
        let v = value.value();
        if let Some(days) = units::duration_days(&unit.text) {
            let exact = v * days as f64;
            let d = exact.round();
            if d.is_finite() && (exact - d).abs() > 1e-9 {
                self.error(CheckError::NotWhole {
                    at: (cx.file, e.span),
                    what: "a number of days",
                });
            }
            // NaN and infinities are too large too.
            if d.is_nan() || d.abs() > MAX_DAYS as f64 {
                self.error(CheckError::NumberTooLarge {
                    at: (cx.file, e.span),
                    what: "a duration",
                    max: "200 years (73,050 days)".into(),
                });
                return self.err_expr(e, cx);
            }
            return self.mk(H::Duration(d as i64), Type::Duration, e, cx);
        }
        if let Some(rel) = unit.text.strip_prefix("x ") {
            return match Relative::parse(rel) {
                Some(r) => self.mk(
                    H::Quantity {
                        value: v,
                        unit: QuantityUnit::Relative(r),
                    },
                    Type::Quantity(Measure::Relative(r)),
                    e,
                    cx,
                ),
                None => {
                    let suggestion = suggest(rel, Relative::WORDS.iter().copied());
                    self.error(CheckError::UnknownUnit {
                        at: (cx.file, unit.span),
                        unit: format!("x {rel}"),
                        suggestion: suggestion.map(|s| format!("x {s}")),
                    });
                    self.err_expr(e, cx)
                }
            };
        }
        // `10 x10^4/uL` is 10 in units of 10^4/uL.
        match units::lookup(&unit.text) {
            Some(u) => self.mk(
                H::Quantity {
                    value: v,
                    unit: QuantityUnit::Unit(u),
                },
                Type::Quantity(Measure::Dim(u.dimension)),
                e,
                cx,
            ),
            None => {
                let suggestion = suggest(&unit.text, units::UNITS.iter().map(|u| u.name));
                self.error(CheckError::UnknownUnit {
                    at: (cx.file, unit.span),
                    unit: unit.text.clone(),
                    suggestion,
                });
                self.err_expr(e, cx)
            }
        }
    }
}
