//! Definitions (stage: AST → HIR): code sets, `define` with parameters and types, and validation metadata.

use std::rc::Rc;

use mid_grammar::ast::{self, ExprKind as A};

use super::{CheckError, Checker, Cx, suggest};
use crate::codes::CodeDomain;
use crate::hir::{self, DefId, DefKind};
use crate::source::FileId;
use crate::types::{Domains, EventDomain, Measure, Type};
use crate::units::Dimension;

impl Checker<'_> {
    pub(super) fn check_item(
        &mut self,
        id: DefId,
        item: &ast::Item,
        scope: usize,
        file: FileId,
    ) -> (DefKind, Type) {
        let cx = self.base_cx(scope, file);
        match &item.kind {
            ast::ItemKind::Codes(c) => self.codes_item(c, cx),
            ast::ItemKind::Define(d) => self.define(d, cx),
            ast::ItemKind::Lab(l) => self.lab(id, l, cx),
            ast::ItemKind::Grading(g) => self.grading(g, cx),
            ast::ItemKind::Cohort(c) => self.cohort(c, cx),
            ast::ItemKind::Outcome(o) => self.outcome(o, cx),
            _ => (DefKind::Pending, Type::Error),
        }
    }

    pub(super) fn type_expr(&mut self, t: &ast::TypeExpr, file: FileId) -> Type {
        let arg = t.arg.as_ref();
        let plain = |ty: Type| if arg.is_none() { Some(ty) } else { None };
        let ty = match t.name.name.as_str() {
            "Number" => plain(Type::Number),
            "Duration" => plain(Type::Duration),
            "Date" => plain(Type::Date),
            "Text" => plain(Type::Text),
            "Bool" => plain(Type::Bool),
            "Quantity" => match arg.map(|a| a.name.as_str()) {
                // Any quantity: the parameter's uses check the dimension.
                None => Some(Type::Quantity(Measure::Dim(Dimension::Arbitrary))),
                Some(_) => None,
            },
            "Codes" => arg
                .and_then(|a| CodeDomain::parse(&a.name))
                .map(Type::Codes),
            "Events" => arg.and_then(|a| {
                EventDomain::ALL
                    .into_iter()
                    .find(|d| d.name() == a.name)
                    .map(|d| Type::Events(Domains::one(d)))
            }),
            _ => None,
        };
        match ty {
            Some(t) => t,
            None => {
                self.error(CheckError::UnknownType {
                    at: (file, t.span),
                    text: self.text(file, t.span),
                });
                Type::Error
            }
        }
    }

    /// Declared parameters, each with its type and checked default.
    pub(super) fn params(&mut self, ps: &[ast::Param], cx: &Cx) -> Vec<hir::Param> {
        let mut out: Vec<hir::Param> = Vec::new();
        for p in ps {
            let ty = self.type_expr(&p.ty, cx.file);
            if out.iter().any(|q| q.name == p.name.name) {
                self.error(CheckError::Duplicate {
                    at: (cx.file, p.name.span),
                    name: p.name.name.clone(),
                    first: (cx.file, p.span),
                });
            }
            let default = p.default.as_ref().map(|e| {
                let x = self.expr(e, cx);
                let x = self.settle(x, cx);
                self.expect(x, ty, &format!("the default of `{}`", p.name.name))
            });
            out.push(hir::Param {
                name: p.name.name.clone(),
                ty,
                default,
                span: p.span,
            });
        }
        out
    }

    pub(super) fn define(&mut self, d: &ast::DefineDecl, cx: Cx) -> (DefKind, Type) {
        let mut cx = cx;
        cx.in_define = true;
        let mut params = None;
        if let Some(ps) = &d.params {
            let out = self.params(ps, &cx);
            cx.params = Rc::new(out.iter().map(|p| (p.name.clone(), p.ty)).collect());
            params = Some(out);
        }
        let declared = d.ty.as_ref().map(|t| self.type_expr(t, cx.file));
        if let Some(Type::Codes(dom)) = declared {
            cx.want_domain = Some(dom);
        }
        let x = self.expr(&d.value, &cx);
        let x = self.settle(x, &cx);
        let mut ty = x.ty;
        if let Some(want) = declared {
            let x2 = self.expect(
                x.clone(),
                want,
                &format!("`{}`, declared {want},", d.name.name),
            );
            if !x2.ty.is_error() {
                ty = want;
            } else {
                ty = Type::Error;
            }
        }
        if matches!(
            ty,
            Type::Grading | Type::Cohort | Type::CohortTemplate | Type::Outcome | Type::LabItem
        ) {
            self.error(CheckError::DefinitionKind {
                at: (cx.file, d.value.span),
                ty,
            });
            ty = Type::Error;
        }
        let validation = d
            .validation
            .as_ref()
            .map(|v| Box::new(self.validation(v, &cx)));
        if validation.is_some() && !matches!(ty, Type::Events(_) | Type::Error) {
            self.error(CheckError::ValidationNotEvents {
                at: (cx.file, d.name.span),
                ty,
            });
        }
        (
            DefKind::Value {
                params,
                body: x,
                validation,
            },
            ty,
        )
    }

    pub(super) fn validation(&mut self, v: &ast::Validation, cx: &Cx) -> hir::Validation {
        use crate::validation::{PROVISIONAL, STUDY_SPECIFIC, VALIDATED};
        // A script's own definition is study-specific whatever it says: only the stdlib's are
        // the network's validated outcomes.
        let in_script = self.script_scope == Some(cx.scope) && !self.script_is_stdlib;
        if in_script && v.status == ast::ValidationStatus::Validated {
            self.error(CheckError::ValidatedOutsideStdlib {
                at: (cx.file, v.span),
            });
        }
        let mut out = hir::Validation::study_specific();
        out.status = match (in_script, v.status) {
            (true, _) => STUDY_SPECIFIC,
            (false, ast::ValidationStatus::Validated) => VALIDATED,
            (false, ast::ValidationStatus::Provisional) => PROVISIONAL,
        }
        .into();
        const KEYS: [&str; 11] = [
            "ppv",
            "sensitivity",
            "relative_sensitivity",
            "specificity",
            "source",
            "citation",
            "doi",
            "adapted",
            "population",
            "sites",
            "note",
        ];
        for p in &v.props {
            match p.key.name.as_str() {
                "ppv" => out.ppv = self.fraction(p, cx),
                "sensitivity" => out.sensitivity = self.fraction(p, cx),
                "relative_sensitivity" => {
                    out.sensitivity = self.fraction(p, cx);
                    out.sensitivity_relative = true;
                }
                "specificity" => out.specificity = self.fraction(p, cx),
                "source" => out.source = self.prop_text(p, cx),
                "citation" => out.citation = self.prop_text(p, cx),
                "doi" => out.doi = self.prop_text(p, cx),
                "adapted" => out.adapted = self.prop_text(p, cx),
                "population" => out.population = self.prop_text(p, cx),
                "sites" => out.sites = self.prop_text(p, cx),
                "note" => out.note = self.prop_text(p, cx),
                other => {
                    let suggestion = suggest(other, KEYS.into_iter());
                    self.error(CheckError::UnknownName {
                        at: (cx.file, p.key.span),
                        name: other.to_string(),
                        suggestion,
                    });
                }
            }
        }
        if v.status == ast::ValidationStatus::Validated && out.source.is_none() {
            self.error(CheckError::ValidatedWithoutSource {
                at: (cx.file, v.span),
            });
        }
        out
    }

    /// A proportion written `95.7 %` or `0.957`.
    pub(super) fn fraction(&mut self, p: &ast::Prop, cx: &Cx) -> Option<f64> {
        let v = match &p.value {
            ast::PropValue::Expr(e) => match &e.kind {
                A::Number(n) => Some(n.value()),
                A::Quantity { value, unit } if unit.text == "%" => Some(value.value() / 100.0),
                _ => None,
            },
            _ => None,
        };
        match v {
            Some(x) if (0.0..=1.0).contains(&x) => Some(x),
            _ => {
                self.error(CheckError::NotProportion {
                    at: (cx.file, p.span),
                    key: p.key.name.clone(),
                });
                None
            }
        }
    }

    pub(super) fn prop_text(&mut self, p: &ast::Prop, cx: &Cx) -> Option<String> {
        match &p.value {
            ast::PropValue::Expr(ast::Expr {
                kind: A::Str(s), ..
            }) => Some(s.clone()),
            _ => {
                self.error(CheckError::NotText {
                    at: (cx.file, p.span),
                    key: p.key.name.clone(),
                });
                None
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::testing::{check, errors};

    #[test]
    fn a_typed_definition() {
        insta::assert_snapshot!(check(
            r#"codes x: drug = yj "2432001"
define users: Events<drug> = drug x where setting = outpatient"#
        ), @r#"
        x : Codes<drug> = yj "2432001":Codes<drug>
        users : Events<drug> = (where (drug x:Codes<drug>):Events<drug> (= setting "outpatient")):Events<drug>
        "#);
    }

    #[test]
    fn a_declared_type_that_does_not_fit() {
        insta::assert_snapshot!(errors(
            r#"codes x: drug = yj "2432001"
define users: Events<lab> = drug x"#
        ), @"E0201 2:29 `users`, declared Events<lab>, needs Events<lab>, found Events<drug> (this is Events<drug>)");
    }

    #[test]
    fn a_scripts_own_metadata_is_study_specific() {
        insta::assert_snapshot!(check(
            r#"codes hf: diagnosis = icd10 "I50"
define hf_dx = diagnosis hf where not suspected provisional {
  ppv = 80 %
  relative_sensitivity = 0.7
  source = "A study"
  note = "our own chart review"
}"#
        ), @r#"
        hf : Codes<diagnosis> = icd10 "I50":Codes<diagnosis>
        hf_dx : Events<diagnosis> = (where (diagnosis hf:Codes<diagnosis>):Events<diagnosis> (not suspected)):Events<diagnosis>
          study-specific, not validated, PPV 80.0 %, sensitivity 70.0 % (relative), source: A study, note: our own chart review
        "#);
    }

    #[test]
    fn only_the_stdlib_is_validated() {
        insta::assert_snapshot!(errors(
            r#"codes hf: diagnosis = icd10 "I50"
define hf_dx = diagnosis hf validated { ppv = 95 % source = "our review" }"#
        ), @r#"E0416 2:29 only the stdlib's outcome definitions are validated (a study's own definition) help: write `provisional { note = "…" }`: it is recorded as study-specific, not validated"#);
    }

    #[test]
    fn a_definition_of_itself() {
        insta::assert_snapshot!(errors(
            r#"define a = b
define b = a"#
        ), @"E0105 2:12 `a` is defined in terms of itself (used inside its own definition) help: definitions cannot refer to themselves, directly or through others");
    }
}
