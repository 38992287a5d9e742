//! Time (stage: AST → HIR): windows, anchors (`index`, `end`, `it`, eras, observation) and durations known when compiling.

use mid_grammar::ast::{self, BinOp};

use super::errors::MAX_DAYS;
use super::{CheckError, Checker, Cx, suggest};
use crate::hir::{self, Expr, ExprKind as H};
use crate::types::Type;

impl Checker<'_> {
    pub(super) fn window(
        &mut self,
        inner: &ast::Expr,
        w: &ast::Window,
        e: &ast::Expr,
        cx: &Cx,
    ) -> Expr {
        let x = self.expr(inner, cx);
        let x = self.settle(x, cx);
        let ty = match x.ty {
            Type::Events(d) => Type::Events(d),
            Type::Date => Type::Bool,
            Type::Error => Type::Error,
            other => {
                self.mismatch(&x, "events or a date", other, "a time window", None);
                Type::Error
            }
        };
        let window = self.window_kind(w, &x, e, cx);
        self.mk(
            H::Window {
                expr: Box::new(x),
                window,
            },
            ty,
            e,
            cx,
        )
    }

    /// The window itself, checked: its durations known, its anchors dates.
    fn window_kind(&mut self, w: &ast::Window, x: &Expr, e: &ast::Expr, cx: &Cx) -> hir::Window {
        match w {
            ast::Window::Within {
                duration,
                relation,
                anchor,
            } => {
                let d = self.expr(duration, cx);
                let d = self.settle(d, cx);
                // A parameter's value is known where the definition is used.
                if !matches!(d.kind, H::Param(_)) || d.ty != Type::Duration {
                    let _ = self.const_duration(&d, "`within`");
                }
                self.warn_calendar(&d);
                let a = self.expr(anchor, cx);
                let a = self.date(a, "`within`");
                hir::Window::Within {
                    duration: Box::new(d),
                    relation: *relation,
                    anchor: Box::new(a),
                }
            }
            ast::Window::Between { from, to } => {
                let a = self.expr(from, cx);
                let a = self.date(a, "`between`");
                let b = self.expr(to, cx);
                let b = self.date(b, "`between`");
                hir::Window::Between {
                    from: Box::new(a),
                    to: Box::new(b),
                }
            }
            ast::Window::Relative { relation, anchor } => {
                let a = self.expr(anchor, cx);
                let a = self.date(a, "a time window");
                hir::Window::Relative {
                    relation: *relation,
                    anchor: Box::new(a),
                }
            }
            ast::Window::During(anchor) => {
                let a = self.expr(anchor, cx);
                if !matches!(a.kind, H::Anchor(hir::Anchor::It)) && !a.ty.is_error() {
                    self.error(CheckError::DuringNotIt {
                        at: (a.file, a.span),
                    });
                }
                hir::Window::During(Box::new(a))
            }
            ast::Window::Same { unit, anchor } => {
                let a = self.expr(anchor, cx);
                let a = self.date(a, "a `same … as` window");
                hir::Window::Same {
                    unit: *unit,
                    anchor: Box::new(a),
                }
            }
            ast::Window::Overlapping(inner) => {
                // A date is one day; `overlapping` is about events that last (supplies, stays).
                if x.ty == Type::Date {
                    self.error(CheckError::OverlapDate {
                        at: (x.file, x.span),
                    });
                }
                if let ast::Window::Same { unit, .. } = inner.as_ref()
                    && !matches!(unit, ast::SameUnit::Day)
                {
                    self.error(CheckError::OverlapCalendar {
                        at: (cx.file, e.span),
                    });
                }
                hir::Window::Overlapping(Box::new(self.window_kind(inner, x, e, cx)))
            }
        }
    }

    pub(super) fn anchor(&mut self, a: &ast::Anchor, e: &ast::Expr, cx: &Cx) -> Expr {
        let (anchor, name) = match a {
            ast::Anchor::Index => (hir::Anchor::Index, "index".to_string()),
            ast::Anchor::End => (hir::Anchor::End, "end".to_string()),
            ast::Anchor::It => (hir::Anchor::It, "it".to_string()),
            ast::Anchor::StartOfObservation => (
                hir::Anchor::StartOfObservation,
                "start of observation".to_string(),
            ),
            ast::Anchor::EndOfObservation => (
                hir::Anchor::EndOfObservation,
                "end of observation".to_string(),
            ),
            ast::Anchor::StartOf(i) | ast::Anchor::EndOf(i) => {
                let start = matches!(a, ast::Anchor::StartOf(_));
                let known = cx.cohort.as_ref().is_some_and(|c| c.eras.contains(&i.name));
                if !known && !cx.in_define {
                    let eras: Vec<String> = cx
                        .cohort
                        .as_ref()
                        .map(|c| c.eras.clone())
                        .unwrap_or_default();
                    let suggestion = suggest(&i.name, eras.iter().map(String::as_str));
                    self.error(CheckError::UnknownName {
                        at: (cx.file, i.span),
                        name: i.name.clone(),
                        suggestion,
                    });
                    return self.err_expr(e, cx);
                }
                let which = if start {
                    hir::Anchor::EraStart(i.name.clone())
                } else {
                    hir::Anchor::EraEnd(i.name.clone())
                };
                return Expr {
                    kind: H::Anchor(which),
                    ty: Type::Date,
                    span: e.span,
                    file: cx.file,
                };
            }
        };
        let ok = match &anchor {
            hir::Anchor::It => cx.it.is_some(),
            hir::Anchor::Index => cx.in_define || cx.cohort.as_ref().is_some_and(|c| !c.in_index),
            hir::Anchor::End => {
                cx.in_define || cx.cohort.as_ref().is_some_and(|c| !c.in_index && !c.in_end)
            }
            _ => true,
        };
        if !ok {
            let help = match anchor {
                hir::Anchor::It => {
                    "`it` is the event a `having` condition is about: `visit inpatient having lab bnp >= 100 pg/mL during it`"
                }
                hir::Anchor::Index if cx.cohort.as_ref().is_some_and(|c| c.in_index) => {
                    "the index statement defines `index`; it cannot use it"
                }
                hir::Anchor::End if cx.cohort.as_ref().is_some_and(|c| c.in_end) => {
                    "the end statement defines `end`; use other dates in it"
                }
                _ => "`index` and `end` exist inside a cohort, its outcomes, exports and reports",
            };
            self.error(CheckError::NoContext {
                at: (cx.file, e.span),
                anchor: name,
                help,
            });
            return self.err_expr(e, cx);
        }
        self.mk(H::Anchor(anchor), Type::Date, e, cx)
    }

    /// A duration known when compiling, in days.
    pub(crate) fn const_duration(&mut self, x: &Expr, context: &str) -> Option<i64> {
        match (&x.kind, x.ty) {
            (_, Type::Error) => None,
            (H::Duration(d), _) => {
                if *d < 0 {
                    self.error(CheckError::NegativeDuration {
                        at: (x.file, x.span),
                    });
                    return None;
                }
                Some(*d)
            }
            (_, Type::Duration) => match self.eval_duration(x) {
                Some(d) if d < 0 => {
                    self.error(CheckError::NegativeDuration {
                        at: (x.file, x.span),
                    });
                    None
                }
                Some(d) if d > MAX_DAYS => {
                    self.error(CheckError::NumberTooLarge {
                        at: (x.file, x.span),
                        what: "a duration",
                        max: "200 years (73,050 days)".into(),
                    });
                    None
                }
                Some(d) => Some(d),
                None => {
                    self.error(CheckError::NotFixedDuration {
                        at: (x.file, x.span),
                        context: context.to_string(),
                    });
                    None
                }
            },
            (_, other) => {
                let help = if other == Type::Number {
                    Some("add a unit: `180 days`".to_string())
                } else {
                    None
                };
                self.mismatch(x, "a duration", other, context, help);
                None
            }
        }
    }

    /// Warns of a duration written in months or years where it is time along a patient's
    /// record: `6 months` is 180 days, not six calendar months.
    pub(super) fn warn_calendar(&mut self, d: &Expr) {
        match &d.kind {
            H::Duration(days) => {
                let text = self.text(d.file, d.span);
                if text.contains("month") || text.contains("year") {
                    self.error(CheckError::CalendarUnit {
                        at: (d.file, d.span),
                        text: text.split_whitespace().collect::<Vec<_>>().join(" "),
                        days: *days,
                    });
                }
            }
            H::Arith { lhs, rhs, .. } => {
                self.warn_calendar(lhs);
                self.warn_calendar(rhs);
            }
            _ => {}
        }
    }

    pub(super) fn eval_duration(&self, x: &Expr) -> Option<i64> {
        match &x.kind {
            H::Duration(d) => Some(*d),
            H::Arith { op, lhs, rhs } => {
                let a = self
                    .eval_duration(lhs)
                    .map(|v| v as f64)
                    .or_else(|| num(lhs))?;
                let b = self
                    .eval_duration(rhs)
                    .map(|v| v as f64)
                    .or_else(|| num(rhs))?;
                let v = match op {
                    BinOp::Add => a + b,
                    BinOp::Sub => a - b,
                    BinOp::Mul => a * b,
                    BinOp::Div if b != 0.0 => a / b,
                    _ => return None,
                };
                Some(v.round() as i64)
            }
            H::Def(id) => match &self.hir.def(*id).kind {
                hir::DefKind::Value {
                    params: None, body, ..
                } => self.eval_duration(body),
                _ => None,
            },
            _ => None,
        }
    }

    /// `age at D`: full years of age on a date.
    pub(super) fn age_at(&mut self, a: &ast::Expr, e: &ast::Expr, cx: &Cx) -> Expr {
        let x = self.expr(a, cx);
        let x = self.date(x, "`age at`");
        self.mk(H::AgeAt(Box::new(x)), Type::Number, e, cx)
    }

    /// `observed N days before|after A`.
    pub(super) fn observed(
        &mut self,
        duration: &ast::Expr,
        direction: ast::Direction,
        anchor: &ast::Expr,
        e: &ast::Expr,
        cx: &Cx,
    ) -> Expr {
        let d = self.expr(duration, cx);
        let days = self.const_duration(&d, "`observed`");
        self.warn_calendar(&d);
        let a = self.expr(anchor, cx);
        let a = self.date(a, "`observed`");
        self.mk(
            H::Observed {
                days: days.unwrap_or(0),
                direction,
                anchor: Box::new(a),
            },
            Type::Bool,
            e,
            cx,
        )
    }
}

pub(super) fn num(x: &Expr) -> Option<f64> {
    match x.kind {
        H::Number(n) => Some(n),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use crate::testing::{check, errors};

    #[test]
    fn windows_and_anchors() {
        insta::assert_snapshot!(check(
            r#"codes x: drug = yj "2432001"
cohort c {
  index = first drug x
  require observed 180 days before index
  exclude drug x within 180 days before index
  require index between 2014-01-01 and 2022-12-31
}"#
        ), @r#"
        x : Codes<drug> = yj "2432001":Codes<drug>
        c : Cohort
          index = (First (drug x:Codes<drug>):Events<drug>):Events<drug>
          require (observed 180d Before Index:Date):Bool
          exclude (window (drug x:Codes<drug>):Events<drug> within 180 days:Duration Before Index:Date):Events<drug>
          require (window Index:Date between 2014-01-01:Date 2022-12-31:Date):Bool
        "#);
    }

    #[test]
    fn a_bare_number_is_not_a_duration() {
        insta::assert_snapshot!(errors(
            r#"codes x: drug = yj "2432001"
cohort c {
  index = first drug x
  exclude drug x within 180 before index
}"#
        ), @"E0201 4:25 `within` needs a duration, found Number (this is Number) help: add a unit: `180 days`");
    }

    #[test]
    fn index_is_not_known_in_the_index_statement() {
        insta::assert_snapshot!(errors(
            r#"codes x: drug = yj "2432001"
cohort c { index = first drug x after index }"#
        ), @"E0304 2:39 `index` has no meaning here (no `index` here) help: the index statement defines `index`; it cannot use it");
    }

    #[test]
    fn an_era_must_be_declared() {
        insta::assert_snapshot!(errors(
            r#"codes x: drug = yj "2432001"
cohort c {
  index = first drug x
  end = end of exposur
}"#
        ), @"E0101 4:16 unknown name `exposur` (not defined or imported)");
    }

    #[test]
    fn a_negative_duration() {
        insta::assert_snapshot!(errors(
            r#"codes x: drug = yj "2432001"
cohort c {
  index = first drug x
  require observed (1 day - 2 days) before index
}"#
        ), @"E0226 4:20 a duration cannot be negative (negative)");
    }
}
