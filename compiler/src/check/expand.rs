//! Definitions expanded where they are used (stage: HIR → HIR, after checking): a reference
//! to a definition, or a call of one, becomes `Inlined { def, body }` with the body's
//! parameters replaced by the call's arguments. What a definition means can depend on where it
//! is used (the cohort's eras, whether an argument chooses one event), so the rules that
//! depend on it are checked on the expanded form (`uses`), and lowering reads only that form.

use crate::hir::{DefKind, Expr, ExprKind as H, Hir, Window};

/// `e` with every definition and parameter it reaches replaced by its meaning. Call only on a
/// program checked without errors (definitions are acyclic then, so this ends).
pub fn expand(hir: &Hir, e: &Expr) -> Expr {
    Expander { hir }.expr(e, &[])
}

/// `e`, a statement of a cohort template, expanded with the template's parameters bound to
/// `args` (a cohort made from the template).
pub fn bind(hir: &Hir, e: &Expr, args: &[Expr]) -> Expr {
    let x = Expander { hir };
    let args: Vec<Expr> = args.iter().map(|a| x.expr(a, &[])).collect();
    x.expr(e, &args)
}

struct Expander<'h> {
    hir: &'h Hir,
}

impl Expander<'_> {
    /// `e` expanded, its parameters bound to `args` (already expanded).
    fn expr(&self, e: &Expr, args: &[Expr]) -> Expr {
        let sub = |x: &Expr| Box::new(self.expr(x, args));
        let kind = match &e.kind {
            H::Def(id) => match &self.hir.def(*id).kind {
                DefKind::Codes(body)
                | DefKind::Value {
                    params: None, body, ..
                } => H::Inlined {
                    def: *id,
                    body: Box::new(self.expr(body, &[])),
                },
                // Lab items, gradings, cohorts and outcomes are referred to, not inlined.
                DefKind::Lab(_)
                | DefKind::Grading(_)
                | DefKind::Cohort(_)
                | DefKind::CohortTemplate(_)
                | DefKind::Outcome(_)
                | DefKind::Value {
                    params: Some(_), ..
                }
                | DefKind::Pending => H::Def(*id),
            },
            H::Call { def, args: given } => match &self.hir.def(*def).kind {
                DefKind::Value {
                    params: Some(params),
                    body,
                    ..
                } => {
                    let mut bound = Vec::with_capacity(params.len());
                    for (i, p) in params.iter().enumerate() {
                        match (given.get(i), &p.default) {
                            (Some(a), _) => bound.push(self.expr(a, args)),
                            // Defaults are checked where the parameter is declared: they see
                            // no other parameter.
                            (None, Some(d)) => bound.push(self.expr(d, &[])),
                            (None, None) => bound.push(error(e)),
                        }
                    }
                    H::Inlined {
                        def: *def,
                        body: Box::new(self.expr(body, &bound)),
                    }
                }
                _ => H::Call {
                    def: *def,
                    args: given.iter().map(|a| self.expr(a, args)).collect(),
                },
            },
            H::Param(i) => return args.get(*i).cloned().unwrap_or_else(|| error(e)),
            H::Builtin(_)
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
            | H::Error => e.kind.clone(),
            H::CodeList(xs) => H::CodeList(xs.iter().map(|x| self.expr(x, args)).collect()),
            H::Union(a, b) => H::Union(sub(a), sub(b)),
            H::Difference(a, b) => H::Difference(sub(a), sub(b)),
            H::And(a, b) => H::And(sub(a), sub(b)),
            H::Or(a, b) => H::Or(sub(a), sub(b)),
            H::Not(a) => H::Not(sub(a)),
            H::Compare { op, lhs, rhs } => H::Compare {
                op: *op,
                lhs: sub(lhs),
                rhs: sub(rhs),
            },
            H::Arith { op, lhs, rhs } => H::Arith {
                op: *op,
                lhs: sub(lhs),
                rhs: sub(rhs),
            },
            H::Event { domain, target } => H::Event {
                domain: *domain,
                target: sub(target),
            },
            H::Select { selector, expr } => H::Select {
                selector: *selector,
                expr: sub(expr),
            },
            H::Where { expr, filter } => H::Where {
                expr: sub(expr),
                filter: filter.clone(),
            },
            H::Having { expr, cond } => H::Having {
                expr: sub(expr),
                cond: sub(cond),
            },
            H::Window { expr, window } => H::Window {
                expr: sub(expr),
                window: self.window(window, args),
            },
            H::AgeAt(a) => H::AgeAt(sub(a)),
            H::Observed {
                days,
                direction,
                anchor,
            } => H::Observed {
                days: *days,
                direction: *direction,
                anchor: sub(anchor),
            },
            H::Extreme { latest, args: xs } => H::Extreme {
                latest: *latest,
                args: xs.iter().map(|x| self.expr(x, args)).collect(),
            },
            H::Grade { grading, events } => H::Grade {
                grading: *grading,
                events: sub(events),
            },
            H::Inlined { def, body } => H::Inlined {
                def: *def,
                body: sub(body),
            },
        };
        Expr {
            kind,
            ty: e.ty,
            span: e.span,
            file: e.file,
        }
    }

    fn window(&self, w: &Window, args: &[Expr]) -> Window {
        let sub = |x: &Expr| Box::new(self.expr(x, args));
        match w {
            Window::Within {
                duration,
                relation,
                anchor,
            } => Window::Within {
                duration: sub(duration),
                relation: *relation,
                anchor: sub(anchor),
            },
            Window::Between { from, to } => Window::Between {
                from: sub(from),
                to: sub(to),
            },
            Window::Relative { relation, anchor } => Window::Relative {
                relation: *relation,
                anchor: sub(anchor),
            },
            Window::During(a) => Window::During(sub(a)),
            Window::Same { unit, anchor } => Window::Same {
                unit: *unit,
                anchor: sub(anchor),
            },
            Window::Overlapping(w) => Window::Overlapping(Box::new(self.window(w, args))),
        }
    }
}

/// An expression in error where a checked program has none (a missing argument): lowering
/// turns it into an internal error rather than a guess.
fn error(at: &Expr) -> Expr {
    Expr {
        kind: H::Error,
        ty: crate::types::Type::Error,
        span: at.span,
        file: at.file,
    }
}

/// Whether an expanded event expression yields at most one event per patient or entry.
pub fn picks_one(e: &Expr) -> bool {
    match &e.kind {
        H::Select { selector, .. } => matches!(
            selector,
            crate::hir::Selector::First | crate::hir::Selector::Last | crate::hir::Selector::Nth(_)
        ),
        H::Window { expr, .. }
        | H::Where { expr, .. }
        | H::Having { expr, .. }
        | H::Inlined { body: expr, .. } => picks_one(expr),
        _ => false,
    }
}

/// A duration of an expanded expression, in days, when it is known when compiling (the
/// checker has made sure it is).
pub fn days(e: &Expr) -> Option<i64> {
    match &e.kind {
        H::Duration(d) => Some(*d),
        H::Inlined { body, .. } => days(body),
        H::Arith { op, lhs, rhs } => {
            let a = days(lhs).map(|v| v as f64).or_else(|| number(lhs))?;
            let b = days(rhs).map(|v| v as f64).or_else(|| number(rhs))?;
            let v = match op {
                mid_grammar::ast::BinOp::Add => a + b,
                mid_grammar::ast::BinOp::Sub => a - b,
                mid_grammar::ast::BinOp::Mul => a * b,
                mid_grammar::ast::BinOp::Div if b != 0.0 => a / b,
                _ => return None,
            };
            let v = v.round();
            (v.is_finite() && v.abs() <= i64::MAX as f64).then_some(v as i64)
        }
        _ => None,
    }
}

/// A number of an expanded expression known when compiling.
pub fn number(e: &Expr) -> Option<f64> {
    match &e.kind {
        H::Number(n) => Some(*n),
        H::Inlined { body, .. } => number(body),
        H::Arith { op, lhs, rhs } => {
            let (a, b) = (number(lhs)?, number(rhs)?);
            Some(match op {
                mid_grammar::ast::BinOp::Add => a + b,
                mid_grammar::ast::BinOp::Sub => a - b,
                mid_grammar::ast::BinOp::Mul => a * b,
                mid_grammar::ast::BinOp::Div if b != 0.0 => a / b,
                _ => return None,
            })
        }
        _ => None,
    }
}
