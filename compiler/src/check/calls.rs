//! Calls (stage: AST → HIR): parameterised definitions, gradings, `earliest`/`latest` and code lists.

use mid_grammar::ast::{self, ExprKind as A};

use super::{CheckError, Checker, Cx};
use crate::codes::System;
use crate::hir::{self, Builtin, Expr, ExprKind as H};
use crate::types::Type;

impl Checker<'_> {
    pub(super) fn call(
        &mut self,
        callee: &ast::Expr,
        args: &[ast::Expr],
        e: &ast::Expr,
        cx: &Cx,
    ) -> Expr {
        // A code system applied to a list: `icd10("I21", "I22")`.
        if let A::Name(i) = &callee.kind
            && let Some(sys) = System::parse(&i.name)
        {
            return self.code_list(sys, i, args, e, cx);
        }
        if let A::Name(i) = &callee.kind
            && matches!(i.name.as_str(), "earliest" | "latest")
            && !self.shadowed(&i.name, cx)
        {
            let b = if i.name == "earliest" {
                Builtin::Earliest
            } else {
                Builtin::Latest
            };
            if args.is_empty() {
                self.error(CheckError::Arity {
                    at: (cx.file, e.span),
                    name: i.name.clone(),
                    expected: "one or more dates".into(),
                    found: 0,
                    def: None,
                });
                return self.err_expr(e, cx);
            }
            let mut xs = Vec::new();
            for a in args {
                let x = self.expr(a, cx);
                xs.push(self.date(x, &format!("`{}`", i.name)));
            }
            return self.mk(
                H::Extreme {
                    latest: b == Builtin::Latest,
                    args: xs,
                },
                Type::Date,
                e,
                cx,
            );
        }
        // The callee is a definition: named directly, not as a value (which would call a
        // definition with parameters with its defaults).
        let f = match self.callee_def(callee, cx) {
            Some(id) => {
                let ty = self.ensure(id, (cx.file, callee.span));
                self.mk(H::Def(id), ty, callee, cx)
            }
            None => {
                let f = self.expr(callee, cx);
                self.settle(f, cx)
            }
        };
        let H::Def(id) = f.kind else {
            if !f.ty.is_error() {
                self.error(CheckError::NotCallable {
                    at: (cx.file, callee.span),
                    name: None,
                    ty: f.ty,
                });
            }
            return self.err_expr(e, cx);
        };
        let def = self.hir.def(id).clone();
        match (&def.kind, def.ty) {
            (_, Type::Grading) => {
                if args.len() != 1 {
                    self.error(CheckError::Arity {
                        at: (cx.file, e.span),
                        name: def.name.clone(),
                        expected: "one lab query".into(),
                        found: args.len(),
                        def: Some((def.file, def.span)),
                    });
                    return self.err_expr(e, cx);
                }
                let x = self.expr(&args[0], cx);
                if x.ty.is_error() {
                    return self.err_expr(e, cx);
                }
                // Events, not a count of them (`no lab alt` is a yes/no).
                let Some(lab) = x.ty.events().and_then(|_| self.lab_item_of(&x)) else {
                    self.mismatch(
                        &x,
                        "lab events of a catalogue item (`lab alt`)",
                        x.ty,
                        "a grading",
                        None,
                    );
                    return self.err_expr(e, cx);
                };
                if let hir::DefKind::Grading(g) = &def.kind
                    && !g.tables.iter().any(|t| t.lab == lab)
                {
                    let graded = g
                        .tables
                        .iter()
                        .map(|t| self.hir.def(t.lab).name.clone())
                        .collect();
                    let lab_name = self.hir.def(lab).name.clone();
                    self.error(CheckError::NotGraded {
                        at: (cx.file, args[0].span),
                        grading: def.name.clone(),
                        lab: lab_name,
                        graded,
                    });
                    return self.err_expr(e, cx);
                }
                self.mk(
                    H::Grade {
                        grading: id,
                        events: Box::new(x),
                    },
                    Type::Grades,
                    e,
                    cx,
                )
            }
            (
                hir::DefKind::Value {
                    params: Some(params),
                    ..
                },
                ty,
            ) => {
                let params = params.clone();
                let Some(xs) = self.arguments(&def, &params, args, (cx.file, e.span), cx) else {
                    return self.err_expr(e, cx);
                };
                self.mk(H::Call { def: id, args: xs }, ty, e, cx)
            }
            (_, Type::Error) => self.err_expr(e, cx),
            (_, ty) => {
                self.error(CheckError::NotCallable {
                    at: (cx.file, callee.span),
                    name: Some(def.name.clone()),
                    ty,
                });
                self.err_expr(e, cx)
            }
        }
    }

    /// The arguments of a call of `def` (a definition or a cohort template), checked against
    /// its parameters: how many (E0207) and each one's type. `None` after an error.
    pub(super) fn arguments(
        &mut self,
        def: &hir::Def,
        params: &[hir::Param],
        args: &[ast::Expr],
        at: super::errors::At,
        cx: &Cx,
    ) -> Option<Vec<Expr>> {
        let required = params.iter().filter(|p| p.default.is_none()).count();
        if args.len() < required || args.len() > params.len() {
            let expected = if required == params.len() {
                format!(
                    "{} argument{}",
                    params.len(),
                    if params.len() == 1 { "" } else { "s" }
                )
            } else {
                format!("{required} to {} arguments", params.len())
            };
            self.error(CheckError::Arity {
                at,
                name: def.name.clone(),
                expected,
                found: args.len(),
                def: Some((def.file, def.span)),
            });
            return None;
        }
        let mut xs = Vec::new();
        for (a, p) in args.iter().zip(params.iter()) {
            let mut acx = cx.clone();
            if let Type::Codes(d) = p.ty {
                acx.want_domain = Some(d);
            }
            let x = self.expr(a, &acx);
            let x = self.settle(x, cx);
            xs.push(self.expect(x, p.ty, &format!("argument `{}` of `{}`", p.name, def.name)));
        }
        Some(xs)
    }

    /// The definition a callee names (`hys_law`, `grades.hys_law`), if it names one.
    fn callee_def(&mut self, callee: &ast::Expr, cx: &Cx) -> Option<hir::DefId> {
        match &callee.kind {
            A::Name(i) if !cx.params.iter().any(|(n, _)| *n == i.name) => {
                self.lookup(cx.scope, &i.name)
            }
            A::Path(p) if p.len() == 2 => {
                let m = *self.scopes[cx.scope].modules.get(&p[0].name)?;
                let id = self.scopes[m].own.get(&p[1].name).copied()?;
                self.used_defs.insert(id);
                Some(id)
            }
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::testing::{check, errors};

    #[test]
    fn a_parameterised_definition_with_a_default() {
        insta::assert_snapshot!(check(
            r#"codes x: drug = yj "2432001"
define recent(d: Duration = 30 days) = drug x within d before index
cohort c {
  index = first drug x
  exclude recent()
  exclude recent(90 days)
}"#
        ), @r#"
        x : Codes<drug> = yj "2432001":Codes<drug>
        recent : Events<drug> (d: Duration) = (window (drug x:Codes<drug>):Events<drug> within param#0:Duration Before Index:Date):Events<drug>
        c : Cohort
          index = (First (drug x:Codes<drug>):Events<drug>):Events<drug>
          exclude (call recent ):Events<drug>
          exclude (call recent 90 days:Duration):Events<drug>
        "#);
    }

    #[test]
    fn too_many_arguments() {
        insta::assert_snapshot!(errors(
            r#"codes x: drug = yj "2432001"
define recent(d: Duration) = drug x within d before index
cohort c {
  index = first drug x
  exclude recent(1 day, 2 days)
}"#
        ), @"E0207 5:11 `recent` takes 1 argument, given 2 (wrong number of arguments)");
    }

    #[test]
    fn a_code_set_is_not_called() {
        insta::assert_snapshot!(errors(
            r#"codes x: drug = yj "2432001"
cohort c { index = first drug x() }"#
        ), @"E0215 2:31 `x` takes no arguments (this is Codes<drug>) help: write `x` without parentheses");
    }

    #[test]
    fn earliest_takes_dates() {
        insta::assert_snapshot!(check(
            r#"codes x: drug = yj "2432001"
cohort c {
  index = first drug x
  end = earliest(index + 30 days, end of observation)
}"#
        ), @r#"
        x : Codes<drug> = yj "2432001":Codes<drug>
        c : Cohort
          index = (First (drug x:Codes<drug>):Events<drug>):Events<drug>
          end = (earliest (+ Index:Date 30 days:Duration):Date EndOfObservation:Date):Date
        "#);
    }

    #[test]
    fn a_grading_of_an_item_it_does_not_grade() {
        insta::assert_snapshot!(errors(
            r#"import labs.{crp}
import grades.{ctcae_grade}
cohort c { index = first ctcae_grade(lab crp) >= 2 }"#
        ), @"E0310 3:38 `ctcae_grade` has no grades for `crp` (not graded by this scale)");
    }
}
