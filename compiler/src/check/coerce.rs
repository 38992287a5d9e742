//! Coercions (stage: AST → HIR): what a context accepts — a condition, a date, a type — and the mismatch error when it gets something else.

use super::{CheckError, Checker};
use crate::hir::{self, DefKind, Expr, ExprKind as H, Hir};
use crate::types::{Measure, Type};

impl Checker<'_> {
    // ---- coercions

    /// A condition: a Bool, or events (which hold when there is at least one).
    pub(crate) fn condition(&mut self, x: Expr, context: &str) -> Expr {
        match x.ty {
            Type::Bool | Type::Error => x,
            Type::Events(_) => x,
            Type::Word => self.stray_word(x),
            other => {
                let help = match other {
                    Type::Codes(d) => {
                        Some(format!("query records with these codes: `{} …`", d.name()))
                    }
                    Type::LabItem => Some("query results of this item: `lab …`".to_string()),
                    _ => None,
                };
                self.mismatch(&x, "a condition (Bool or events)", other, context, help);
                poisoned(x)
            }
        }
    }

    /// A date: a Date, or one selected event (`first drug x after index`).
    pub(crate) fn date(&mut self, x: Expr, context: &str) -> Expr {
        match x.ty {
            Type::Date | Type::Error => x,
            Type::Events(_) if selects_one(&self.hir, &x) => x,
            Type::Events(_) => {
                self.error(CheckError::NeedsSelector {
                    at: (x.file, x.span),
                    what: "a date taken from events",
                });
                poisoned(x)
            }
            Type::Word => self.stray_word(x),
            other => {
                let help = if other == Type::Duration {
                    Some("add it to a date: `index + 30 days`".into())
                } else {
                    None
                };
                self.mismatch(&x, "a date", other, context, help);
                poisoned(x)
            }
        }
    }

    /// Accepts `x` if it has type `want` (or is already an error); reports a mismatch otherwise.
    pub(crate) fn expect(&mut self, x: Expr, want: Type, context: &str) -> Expr {
        let ok = x.ty == want
            || x.ty.is_error()
            || want.is_error()
            || matches!((want, x.ty), (Type::Bool, Type::Events(_)))
            || matches!((want, x.ty), (Type::Events(a), Type::Events(b)) if a.union(b) == a)
            || matches!(
                (want, x.ty),
                (Type::Quantity(Measure::Dim(_)), Type::Quantity(_))
                    | (Type::Quantity(_), Type::Quantity(Measure::Relative(_)))
            )
            || (want == Type::Date && x.ty.events().is_some() && selects_one(&self.hir, &x));
        if ok {
            return x;
        }
        self.mismatch(&x, &want.to_string(), x.ty, context, None);
        poisoned(x)
    }

    pub(crate) fn mismatch(
        &mut self,
        x: &Expr,
        expected: &str,
        found: Type,
        context: &str,
        help: Option<String>,
    ) {
        if found.is_error() {
            return;
        }
        self.error(CheckError::Mismatch {
            at: (x.file, x.span),
            expected: expected.to_string(),
            found,
            context: context.to_string(),
            help,
        });
    }
}

/// Whether an event expression yields at most one event per patient or entry (`first …`,
/// `last …`, `nth(n) …`), seeing through definitions and calls: a definition of a selection
/// is that selection wherever it is used.
pub(crate) fn selects_one(hir: &Hir, x: &Expr) -> bool {
    picks(hir, x, &[])
}

fn picks(hir: &Hir, x: &Expr, args: &[&Expr]) -> bool {
    match &x.kind {
        H::Select { selector, .. } => matches!(
            selector,
            hir::Selector::First | hir::Selector::Last | hir::Selector::Nth(_)
        ),
        H::Window { expr, .. }
        | H::Where { expr, .. }
        | H::Having { expr, .. }
        | H::Inlined { body: expr, .. } => picks(hir, expr, args),
        H::Def(id) => match &hir.def(*id).kind {
            DefKind::Value {
                params: None, body, ..
            } => picks(hir, body, &[]),
            _ => false,
        },
        H::Call { def, args: given } => match &hir.def(*def).kind {
            DefKind::Value {
                params: Some(_),
                body,
                ..
            } => {
                let bound: Vec<&Expr> = given.iter().collect();
                picks(hir, body, &bound)
            }
            _ => false,
        },
        H::Param(i) => args.get(*i).is_some_and(|a| picks(hir, a, &[])),
        _ => false,
    }
}

pub(crate) fn fmt_num(n: f64) -> String {
    if n.fract() == 0.0 && n.abs() < 1e15 {
        format!("{}", n as i64)
    } else {
        format!("{n}")
    }
}

/// `x` turned into an error, so nothing that uses it reports again.
pub(super) fn poisoned(x: Expr) -> Expr {
    Expr {
        kind: H::Error,
        ty: Type::Error,
        ..x
    }
}

#[cfg(test)]
mod tests {
    use crate::testing::{check, errors};

    #[test]
    fn a_defined_selection_is_a_date() {
        insta::assert_snapshot!(check(
            r#"codes x: drug = yj "2432001"
define first_x = first drug x
cohort c {
  index = first drug x
  end = earliest(first_x, end of observation)
}"#
        ), @r#"
        x : Codes<drug> = yj "2432001":Codes<drug>
        first_x : Events<drug> = (First (drug x:Codes<drug>):Events<drug>):Events<drug>
        c : Cohort
          index = (First (drug x:Codes<drug>):Events<drug>):Events<drug>
          end = (earliest first_x:Events<drug> EndOfObservation:Date):Date
        "#);
    }

    #[test]
    fn events_are_not_a_date() {
        insta::assert_snapshot!(errors(
            r#"codes x: drug = yj "2432001"
cohort c {
  index = first drug x
  end = drug x
}"#
        ), @"E0305 4:9 a date taken from events needs one event per patient (which of the events?) help: say which: `first …`, `last …`, `nth(2) …` or `every …`");
    }

    #[test]
    fn a_code_set_is_not_a_condition() {
        insta::assert_snapshot!(errors(
            r#"codes x: drug = yj "2432001"
cohort c {
  index = first drug x
  require x
}"#
        ), @"E0201 4:11 a cohort step needs a condition (Bool or events), found Codes<drug> (this is Codes<drug>) help: query records with these codes: `drug …`");
    }
}
