//! Checking declarations (stage: AST → HIR): code sets, definitions, lab items, gradings,
//! cohorts, outcomes, exports and reports.

use std::rc::Rc;

use mid_grammar::ast::{self, ExprKind as A};

use super::{CheckError, Checker, CohortCx, Cx, suggest};
use crate::codes::CodeDomain;
use crate::hir::{self, DefId, DefKind, Expr, ExprKind as H};
use crate::source::FileId;
use crate::types::{Domains, EventDomain, Measure, Type};
use crate::units::{self, Dimension, Relative};

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
            ast::ItemKind::Codes(c) => {
                let mut ccx = cx.clone();
                let domain = match &c.domain {
                    Some(d) => match CodeDomain::parse(&d.name) {
                        Some(dom) => Some(dom),
                        None => {
                            let suggestion =
                                suggest(&d.name, CodeDomain::ALL.iter().map(|d| d.name()));
                            self.error(CheckError::UnknownName {
                                at: (file, d.span),
                                name: d.name.clone(),
                                suggestion,
                            });
                            None
                        }
                    },
                    None => None,
                };
                ccx.want_domain = domain;
                let x = self.expr(&c.value, &ccx);
                let x = self.settle(x, &ccx);
                let ty = match (x.ty, domain) {
                    (Type::Codes(d), Some(want)) if d != want => {
                        self.error(CheckError::WrongDomain {
                            at: (x.file, x.span),
                            expected: format!("Codes<{}>", want.name()),
                            found: format!("Codes<{}>", d.name()),
                            context: format!("`codes {}: {}`", c.name.name, want.name()),
                        });
                        Type::Error
                    }
                    (Type::Codes(d), _) => Type::Codes(d),
                    (Type::Error, _) => Type::Error,
                    (other, _) => {
                        self.mismatch(
                            &x,
                            "codes (`icd10 \"I63\"`, a union with `or`, a difference with `-`)",
                            other,
                            "a code set",
                            None,
                        );
                        Type::Error
                    }
                };
                (DefKind::Codes(x), ty)
            }
            ast::ItemKind::Define(d) => self.define(d, cx),
            ast::ItemKind::Lab(l) => self.lab(id, l, cx),
            ast::ItemKind::Grading(g) => self.grading(g, cx),
            ast::ItemKind::Cohort(c) => self.cohort(c, cx),
            ast::ItemKind::Outcome(o) => self.outcome(o, cx),
            _ => (DefKind::Pending, Type::Error),
        }
    }

    fn type_expr(&mut self, t: &ast::TypeExpr, file: FileId) -> Type {
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
                self.error(CheckError::Invalid {
                    at: (file, t.span),
                    message: format!("unknown type `{}`", self.text(file, t.span)),
                    label: "not a type".into(),
                    help: Some("types: Number, Quantity, Duration, Date, Text, Bool, Codes<diagnosis|drug|lab|procedure>, Events<diagnosis|drug|lab|procedure|visit>".into()),
                });
                Type::Error
            }
        }
    }

    fn define(&mut self, d: &ast::DefineDecl, cx: Cx) -> (DefKind, Type) {
        let mut cx = cx;
        cx.in_define = true;
        let mut params = None;
        if let Some(ps) = &d.params {
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
                    let x = self.expr(e, &cx);
                    let x = self.settle(x, &cx);
                    self.expect(x, ty, &format!("the default of `{}`", p.name.name))
                });
                out.push(hir::Param {
                    name: p.name.name.clone(),
                    ty,
                    default,
                    span: p.span,
                });
            }
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
            Type::Grading | Type::Cohort | Type::Outcome | Type::LabItem
        ) {
            self.error(CheckError::Invalid {
                at: (cx.file, d.value.span),
                message: format!("a definition cannot stand for a {ty}"),
                label: "use the name directly".into(),
                help: None,
            });
            ty = Type::Error;
        }
        let validation = d.validation.as_ref().map(|v| self.validation(v, &cx));
        if validation.is_some() && !matches!(ty, Type::Events(_) | Type::Error) {
            self.error(CheckError::Invalid {
                at: (cx.file, d.name.span),
                message: "validation metadata belongs to outcome definitions (events)".into(),
                label: format!("this is {ty}"),
                help: None,
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

    fn validation(&mut self, v: &ast::Validation, cx: &Cx) -> hir::Validation {
        let mut out = hir::Validation {
            status: match v.status {
                ast::ValidationStatus::Validated => "validated",
                ast::ValidationStatus::Provisional => "provisional",
            },
            ppv: None,
            sensitivity: None,
            source: None,
            population: None,
            note: None,
        };
        for p in &v.props {
            match p.key.name.as_str() {
                "ppv" | "sensitivity" => {
                    let value = self.fraction(p, cx);
                    if p.key.name == "ppv" {
                        out.ppv = value;
                    } else {
                        out.sensitivity = value;
                    }
                }
                "source" | "population" | "note" => {
                    let t = self.prop_text(p, cx);
                    match p.key.name.as_str() {
                        "source" => out.source = t,
                        "population" => out.population = t,
                        _ => out.note = t,
                    }
                }
                other => {
                    let suggestion = suggest(
                        other,
                        ["ppv", "sensitivity", "source", "population", "note"].into_iter(),
                    );
                    self.error(CheckError::UnknownName {
                        at: (cx.file, p.key.span),
                        name: other.to_string(),
                        suggestion,
                    });
                }
            }
        }
        if v.status == ast::ValidationStatus::Validated && out.source.is_none() {
            self.error(CheckError::Invalid {
                at: (cx.file, v.span),
                message: "a validated definition names its source".into(),
                label: "no `source`".into(),
                help: Some(
                    "add `source = \"…\"` (the validation study), or mark it `provisional`".into(),
                ),
            });
        }
        out
    }

    /// A proportion written `95.7 %` or `0.957`.
    fn fraction(&mut self, p: &ast::Prop, cx: &Cx) -> Option<f64> {
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
                self.error(CheckError::Invalid {
                    at: (cx.file, p.span),
                    message: format!("`{}` is a proportion", p.key.name),
                    label: "not between 0 and 100 %".into(),
                    help: Some(format!("write e.g. `{} = 95.7 %`", p.key.name)),
                });
                None
            }
        }
    }

    fn prop_text(&mut self, p: &ast::Prop, cx: &Cx) -> Option<String> {
        match &p.value {
            ast::PropValue::Expr(ast::Expr {
                kind: A::Str(s), ..
            }) => Some(s.clone()),
            _ => {
                self.error(CheckError::Invalid {
                    at: (cx.file, p.span),
                    message: format!("`{}` is text", p.key.name),
                    label: "not text in quotes".into(),
                    help: None,
                });
                None
            }
        }
    }

    fn lab(&mut self, id: DefId, l: &ast::LabDecl, cx: Cx) -> (DefKind, Type) {
        let mut codes = None;
        let mut unit: Option<&'static units::UnitDef> = None;
        let mut converts: Vec<(String, f64, FileId, ast::Span)> = Vec::new();
        let mut reference = hir::Reference::default();
        let mut derived_ast: Option<&ast::Expr> = None;
        let mut source = None;
        let mut ref_props = Vec::new();
        for p in &l.props {
            match p.key.name.as_str() {
                "codes" => {
                    let mut ccx = cx.clone();
                    ccx.want_domain = Some(CodeDomain::Lab);
                    if let ast::PropValue::Expr(e) = &p.value {
                        let x = self.expr(e, &ccx);
                        let x = self.settle(x, &ccx);
                        let x =
                            self.expect(x, Type::Codes(CodeDomain::Lab), "a lab item's `codes`");
                        codes = Some(x);
                    }
                }
                "unit" => match &p.value {
                    ast::PropValue::Unit(u) => match units::lookup(&u.text) {
                        Some(def) => unit = Some(def),
                        None => {
                            let suggestion = suggest(&u.text, units::UNITS.iter().map(|u| u.name));
                            self.error(CheckError::UnknownUnit {
                                at: (cx.file, u.span),
                                unit: u.text.clone(),
                                suggestion,
                            });
                        }
                    },
                    _ => self.error(CheckError::Invalid {
                        at: (cx.file, p.span),
                        message: "`unit` names a unit".into(),
                        label: "not a unit".into(),
                        help: Some("e.g. `unit = U/L`".into()),
                    }),
                },
                "convert" => {
                    // `convert mmol/L = 18.016 mg/dL`: a unit of another dimension for this item.
                    let from = p.qualifier.as_ref();
                    let value = match &p.value {
                        ast::PropValue::Expr(ast::Expr {
                            kind: A::Quantity { value, unit: u },
                            ..
                        }) => units::lookup(&u.text).map(|def| (value.value(), def)),
                        _ => None,
                    };
                    match (from, value) {
                        (Some(f), Some((v, to))) => {
                            converts.push((f.name.clone(), v * to.factor, cx.file, p.span))
                        }
                        _ => self.error(CheckError::Invalid {
                            at: (cx.file, p.span),
                            message: "`convert` gives one unit in terms of another".into(),
                            label: "not `convert <unit> = <quantity>`".into(),
                            help: Some("e.g. `convert mmol/L = 18.016 mg/dL`".into()),
                        }),
                    }
                }
                "reference" => ref_props.push(p),
                "derived" => match &p.value {
                    ast::PropValue::Expr(e) => derived_ast = Some(e),
                    _ => self.error(CheckError::Invalid {
                        at: (cx.file, p.span),
                        message: "`derived` multiplies other lab items".into(),
                        label: "not a product".into(),
                        help: Some("e.g. `derived = wbc * neutrophil_pct`".into()),
                    }),
                },
                "source" => source = self.prop_text(p, &cx),
                other => {
                    let suggestion = suggest(
                        other,
                        ["codes", "unit", "convert", "reference", "derived", "source"].into_iter(),
                    );
                    self.error(CheckError::UnknownName {
                        at: (cx.file, p.key.span),
                        name: other.to_string(),
                        suggestion,
                    });
                }
            }
        }
        let Some(unit) = unit else {
            // A qualitative item: results are text (`(+)`), nothing to convert.
            for p in ref_props.iter().copied() {
                self.error(CheckError::Invalid {
                    at: (cx.file, p.span),
                    message: "a reference interval needs the item's `unit`".into(),
                    label: "no unit declared".into(),
                    help: None,
                });
            }
            if codes.is_none() {
                self.error(CheckError::Invalid {
                    at: (cx.file, l.name.span),
                    message: format!("lab item `{}` matches no records", l.name.name),
                    label: "needs `codes = …`".into(),
                    help: None,
                });
            }
            let item = hir::LabItem {
                title: l.title.as_ref().map(|t| t.value.clone()),
                codes,
                unit: None,
                units: vec![],
                reference: hir::Reference::default(),
                derived: None,
                source,
            };
            return (DefKind::Lab(Box::new(item)), Type::LabItem);
        };
        for p in ref_props {
            let ast::PropValue::Range {
                low,
                high,
                unit: ru,
                ..
            } = &p.value
            else {
                self.error(CheckError::Invalid {
                    at: (cx.file, p.span),
                    message: "a reference interval is written `low .. high unit`".into(),
                    label: "not an interval".into(),
                    help: None,
                });
                continue;
            };
            let factor = match ru {
                None => 1.0,
                Some(u) => match units::lookup(&u.text).and_then(|d| units::factor(d, unit)) {
                    Some(f) => f,
                    None => {
                        self.error(CheckError::Units {
                            at: (cx.file, u.span),
                            expected: format!("{} ({})", unit.dimension, unit.name),
                            found: u.text.clone(),
                            context: "a reference interval".into(),
                        });
                        continue;
                    }
                },
            };
            let range = (low.value() * factor, high.value() * factor);
            if range.0 > range.1 {
                self.error(CheckError::Invalid {
                    at: (cx.file, p.span),
                    message: "a reference interval runs from low to high".into(),
                    label: "low is above high".into(),
                    help: None,
                });
            }
            match p.qualifier.as_ref().map(|q| q.name.as_str()) {
                None => {
                    reference.male = Some(range);
                    reference.female = Some(range);
                }
                Some("male") => reference.male = Some(range),
                Some("female") => reference.female = Some(range),
                Some(other) => {
                    let suggestion = suggest(other, ["male", "female"].into_iter());
                    self.error(CheckError::UnknownName {
                        at: (cx.file, p.span),
                        name: other.to_string(),
                        suggestion,
                    });
                }
            }
        }
        // Units of the item's dimension convert by their factors; declared conversions add units of
        // other dimensions (mmol/L for glucose).
        let mut unit_list: Vec<(String, f64)> = units::of_dimension(unit.dimension)
            .map(|u| (u.name.to_string(), u.factor / unit.factor))
            .collect();
        for (from, to_base, file, span) in converts {
            match units::lookup(&from) {
                Some(def) => {
                    // to_base is the value of one `from` in the base unit of the target's dimension.
                    unit_list.retain(|(n, _)| *n != def.name);
                    unit_list.push((def.name.to_string(), to_base / unit.factor));
                }
                None => {
                    let suggestion = suggest(&from, units::UNITS.iter().map(|u| u.name));
                    self.error(CheckError::UnknownUnit {
                        at: (file, span),
                        unit: from,
                        suggestion,
                    });
                }
            }
        }
        let derived = derived_ast.and_then(|e| self.derived(id, e, unit, &cx));
        if codes.is_none() && derived.is_none() {
            self.error(CheckError::Invalid {
                at: (cx.file, l.name.span),
                message: format!("lab item `{}` matches no records", l.name.name),
                label: "needs `codes = …` or `derived = …`".into(),
                help: None,
            });
        }
        let item = hir::LabItem {
            title: l.title.as_ref().map(|t| t.value.clone()),
            codes,
            unit: Some(unit),
            units: unit_list,
            reference,
            derived,
            source,
        };
        (DefKind::Lab(Box::new(item)), Type::LabItem)
    }

    /// `derived = wbc * neutrophil_pct`: one item of this dimension times percentages.
    fn derived(
        &mut self,
        id: DefId,
        e: &ast::Expr,
        unit: &'static units::UnitDef,
        cx: &Cx,
    ) -> Option<hir::Derived> {
        let mut names = Vec::new();
        fn factors<'a>(e: &'a ast::Expr, out: &mut Vec<&'a ast::Expr>) -> bool {
            match &e.kind {
                A::Binary {
                    op: ast::BinOp::Mul,
                    lhs,
                    rhs,
                } => factors(lhs, out) && factors(rhs, out),
                A::Name(_) | A::Path(_) => {
                    out.push(e);
                    true
                }
                _ => false,
            }
        }
        if !factors(e, &mut names) || names.len() < 2 {
            self.error(CheckError::Invalid {
                at: (cx.file, e.span),
                message: "`derived` multiplies lab items".into(),
                label: "not a product of lab items".into(),
                help: Some("e.g. `derived = wbc * neutrophil_pct`".into()),
            });
            return None;
        }
        let mut ids = Vec::new();
        let mut scale = 1.0 / unit.factor;
        let mut same_dim = 0;
        for n in names {
            let x = self.expr(n, cx);
            let x = self.settle(x, cx);
            let H::Def(fid) = x.kind else { return None };
            if fid == id {
                self.error(CheckError::Cycle {
                    at: (cx.file, n.span),
                    name: self.hir.def(id).name.clone(),
                });
                return None;
            }
            let DefKind::Lab(item) = &self.hir.def(fid).kind else {
                self.mismatch(&x, "a lab item", x.ty, "`derived`", None);
                return None;
            };
            let Some(fu) = item.unit else {
                self.error(CheckError::Invalid {
                    at: (cx.file, n.span),
                    message: "a qualitative item has no value to multiply".into(),
                    label: "qualitative".into(),
                    help: None,
                });
                return None;
            };
            match fu.dimension {
                Dimension::Percent => scale *= fu.factor / 100.0,
                d if d == unit.dimension => {
                    same_dim += 1;
                    scale *= fu.factor;
                }
                d => {
                    self.error(CheckError::Units {
                        at: (cx.file, n.span),
                        expected: format!("{} or a percentage", unit.dimension),
                        found: d.describe().to_string(),
                        context: "`derived`".into(),
                    });
                    return None;
                }
            }
            ids.push(fid);
        }
        if same_dim != 1 {
            self.error(CheckError::Invalid {
                at: (cx.file, e.span),
                message: format!(
                    "a derived {} is one {} times percentages",
                    unit.dimension, unit.dimension
                ),
                label: "the units do not work out".into(),
                help: None,
            });
            return None;
        }
        Some(hir::Derived {
            factors: ids,
            scale,
        })
    }

    fn grading(&mut self, g: &ast::GradingDecl, cx: Cx) -> (DefKind, Type) {
        let mut source = None;
        for p in &g.props {
            match p.key.name.as_str() {
                "source" => source = self.prop_text(p, &cx),
                other => {
                    self.error(CheckError::UnknownName {
                        at: (cx.file, p.key.span),
                        name: other.to_string(),
                        suggestion: suggest(other, ["source"].into_iter()),
                    });
                }
            }
        }
        let mut tables: Vec<hir::GradeTable> = Vec::new();
        for t in &g.tables {
            let x = self.expr(&t.lab, &cx);
            let x = self.settle(x, &cx);
            let H::Def(lab) = x.kind else { continue };
            let DefKind::Lab(item) = self.hir.def(lab).kind.clone() else {
                self.mismatch(&x, "a lab item", x.ty, "a grading table", None);
                continue;
            };
            let Some(item_unit) = item.unit else {
                self.error(CheckError::Invalid {
                    at: (cx.file, t.lab.span),
                    message: "a qualitative item cannot be graded by value".into(),
                    label: "qualitative".into(),
                    help: None,
                });
                continue;
            };
            if let Some(first) = tables.iter().find(|o| o.lab == lab) {
                self.error(CheckError::Duplicate {
                    at: (cx.file, t.lab.span),
                    name: self.hir.def(lab).name.clone(),
                    first: (cx.file, first.span),
                });
                continue;
            }
            let mut rules: Vec<hir::GradeRule> = Vec::new();
            for r in &t.rules {
                let grade = r.grade.value();
                if !(1.0..=5.0).contains(&grade) || grade.fract() != 0.0 {
                    self.error(CheckError::Invalid {
                        at: (cx.file, r.grade.span),
                        message: "grades are whole numbers from 1 to 5".into(),
                        label: "not a grade".into(),
                        help: None,
                    });
                    continue;
                }
                let grade = grade as u8;
                if rules.iter().any(|q| q.grade >= grade) {
                    self.error(CheckError::Invalid {
                        at: (cx.file, r.grade.span),
                        message: "grades are listed once each, lowest first".into(),
                        label: "out of order".into(),
                        help: None,
                    });
                    continue;
                }
                let v = self.expr(&r.value, &cx);
                let v = self.settle(v, &cx);
                match v.ty {
                    Type::Quantity(Measure::Dim(d)) if d == item_unit.dimension => {}
                    Type::Quantity(Measure::Relative(rel)) if rel != Relative::Baseline => {}
                    Type::Error => continue,
                    Type::Quantity(Measure::Relative(_)) => {
                        self.error(CheckError::Invalid {
                            at: (v.file, v.span),
                            message: "grades compare with reference limits, not baselines".into(),
                            label: "baseline".into(),
                            help: None,
                        });
                        continue;
                    }
                    Type::Quantity(Measure::Dim(d)) => {
                        self.error(CheckError::Units {
                            at: (v.file, v.span),
                            expected: format!("{} ({})", item_unit.dimension, item_unit.name),
                            found: d.describe().to_string(),
                            context: "a grade threshold".into(),
                        });
                        continue;
                    }
                    other => {
                        self.mismatch(&v, "a quantity", other, "a grade threshold", None);
                        continue;
                    }
                }
                rules.push(hir::GradeRule {
                    grade,
                    op: r.op,
                    value: v,
                });
            }
            tables.push(hir::GradeTable {
                lab,
                rules,
                span: t.span,
            });
        }
        let grading = hir::Grading {
            title: g.title.as_ref().map(|t| t.value.clone()),
            source,
            tables,
        };
        (DefKind::Grading(Box::new(grading)), Type::Grading)
    }

    fn cohort(&mut self, c: &ast::CohortDecl, cx: Cx) -> (DefKind, Type) {
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
                            if super::expr::selects_one(&x)
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
                    let length = self.const_duration(&l, "`periods of`").unwrap_or(1).max(1);
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
    fn eras_of(&self, cohort: DefId) -> Vec<String> {
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

    fn cohort_ref(&mut self, i: &ast::Ident, cx: &Cx) -> Option<DefId> {
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

    fn outcome(&mut self, o: &ast::OutcomeDecl, cx: Cx) -> (DefKind, Type) {
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
                self.error(CheckError::Invalid {
                    at: (x.file, x.span),
                    message: "an outcome is the first qualifying event".into(),
                    label: "not `first`".into(),
                    help: Some("write `first …` or leave the selector out".into()),
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

    /// Exports and reports of the script, in order.
    pub(super) fn check_exports_reports(&mut self, script: &ast::File, scope: usize, file: FileId) {
        let cx = self.base_cx(scope, file);
        for item in &script.items {
            match &item.kind {
                ast::ItemKind::Export(e) => {
                    let Some(cohort) = self.cohort_ref(&e.cohort, &cx) else {
                        continue;
                    };
                    let mut ecx = cx.clone();
                    ecx.cohort = Some(Rc::new(CohortCx {
                        eras: self.eras_of(cohort),
                        ..Default::default()
                    }));
                    let mut columns = Vec::new();
                    for c in &e.columns {
                        let x = self.expr(c, &ecx);
                        let x = self.settle(x, &ecx);
                        let name = column_name(&self.text(file, c.span));
                        match (&x.kind, x.ty) {
                            (_, Type::Error) => continue,
                            (_, Type::Number | Type::Text | Type::Date | Type::Bool) => {}
                            (_, Type::Events(_)) if super::expr::selects_one(&x) => {}
                            (_, Type::Events(_)) => {}
                            (H::Def(id), Type::Outcome) => {
                                if let DefKind::Outcome(o) = &self.hir.def(*id).kind
                                    && o.cohort != cohort
                                {
                                    let oc = self.hir.def(o.cohort).name.clone();
                                    self.error(CheckError::Invalid {
                                        at: (file, c.span),
                                        message: format!(
                                            "outcome `{}` is defined in cohort `{oc}`",
                                            self.hir.def(*id).name
                                        ),
                                        label: format!("not an outcome of `{}`", e.cohort.name),
                                        help: None,
                                    });
                                    continue;
                                }
                            }
                            (_, other) => {
                                self.mismatch(&x, "a value per patient (number, text, date, yes/no or an outcome)", other, "an export column", None);
                                continue;
                            }
                        }
                        if columns.iter().any(|c: &hir::ExportColumn| c.name == name) {
                            self.error(CheckError::Invalid {
                                at: (file, c.span),
                                message: format!("the export has two columns named `{name}`"),
                                label: "again".into(),
                                help: None,
                            });
                            continue;
                        }
                        columns.push(hir::ExportColumn { name, expr: x });
                    }
                    self.hir.exports.push(hir::Export {
                        cohort,
                        columns,
                        span: item.span,
                    });
                }
                ast::ItemKind::Report(r) => self.report(r, item.span, &cx),
                _ => {}
            }
        }
    }

    fn report(&mut self, r: &ast::ReportDecl, span: ast::Span, cx: &Cx) {
        let file = cx.file;
        let cohorts: Vec<DefId> = r
            .cohorts
            .iter()
            .filter_map(|c| self.cohort_ref(c, cx))
            .collect();
        if cohorts.len() != r.cohorts.len() {
            return;
        }
        let mut outcomes = Vec::new();
        for o in &r.outcomes {
            let found = self.scopes[cx.scope].own.get(&o.name).copied();
            let Some(id) = found else {
                let suggestion = suggest(
                    &o.name,
                    self.scopes[cx.scope].own.keys().map(String::as_str),
                );
                self.error(CheckError::UnknownName {
                    at: (file, o.span),
                    name: o.name.clone(),
                    suggestion,
                });
                continue;
            };
            match self.ensure(id, (file, o.span)) {
                Type::Outcome => {
                    if let DefKind::Outcome(out) = &self.hir.def(id).kind
                        && !cohorts.contains(&out.cohort)
                    {
                        let oc = self.hir.def(out.cohort).name.clone();
                        self.error(CheckError::Invalid {
                            at: (file, o.span),
                            message: format!("outcome `{}` is defined in cohort `{oc}`, which the report does not count", o.name),
                            label: "another cohort's outcome".into(),
                            help: Some(format!("add `{oc}` to the report's cohorts")),
                        });
                        continue;
                    }
                    outcomes.push(id);
                }
                Type::Error => {}
                other => self.error(CheckError::Mismatch {
                    at: (file, o.span),
                    expected: "an outcome".into(),
                    found: other,
                    context: "`report … with`".into(),
                    help: None,
                }),
            }
        }
        let mut rcx = cx.clone();
        let eras = cohorts
            .first()
            .map(|c| self.eras_of(*c))
            .unwrap_or_default();
        rcx.cohort = Some(Rc::new(CohortCx {
            eras,
            ..Default::default()
        }));
        let has_periods = cohorts.iter().all(|c| match &self.hir.def(*c).kind {
            DefKind::Cohort(c) => c
                .stmts
                .iter()
                .any(|s| matches!(s.kind, hir::StmtKind::Periods { .. })),
            _ => false,
        });
        let mut strata = Vec::new();
        for s in &r.strata {
            let st = match s {
                ast::Stratum::AgeBand { width, .. } => {
                    let w = self.expr(width, &rcx);
                    match self.const_duration(&w, "`age band`") {
                        Some(d) if d >= 365 && d % 365 == 0 => hir::Stratum::AgeBand(d / 365),
                        Some(_) => {
                            self.error(CheckError::Invalid {
                                at: (file, width.span),
                                message: "age bands are whole years".into(),
                                label: "not whole years".into(),
                                help: Some("e.g. `age band 10 years`".into()),
                            });
                            continue;
                        }
                        None => continue,
                    }
                }
                ast::Stratum::Calendar { unit, .. } => match unit {
                    ast::CalendarUnit::Year => hir::Stratum::Year,
                    ast::CalendarUnit::Month => hir::Stratum::Month,
                },
                ast::Stratum::Expr(e) => match &e.kind {
                    A::Name(i) if i.name == "sex" => hir::Stratum::Sex,
                    A::Name(i) if i.name == "hospital" => hir::Stratum::Hospital,
                    A::Name(i) if i.name == "cohort" => hir::Stratum::Cohort,
                    A::Name(i) if i.name == "period" => {
                        if !has_periods {
                            self.error(CheckError::Invalid {
                                at: (file, e.span),
                                message: "`by period` needs follow-up periods".into(),
                                label: "the cohort has no `periods`".into(),
                                help: Some("add e.g. `periods of 14 days until index + 140 days` to the cohort".into()),
                            });
                            continue;
                        }
                        hir::Stratum::Period
                    }
                    A::Call { callee, args } if matches!(&callee.kind, A::Name(i) if i.name == "tested") =>
                    {
                        if !has_periods {
                            self.error(CheckError::Invalid {
                                at: (file, e.span),
                                message:
                                    "`tested(…)` describes testing in earlier follow-up periods"
                                        .into(),
                                label: "the cohort has no `periods`".into(),
                                help: Some("add `periods of …` to the cohort".into()),
                            });
                            continue;
                        }
                        if args.len() != 1 {
                            self.error(CheckError::Arity {
                                at: (file, e.span),
                                name: "tested".into(),
                                expected: "one lab query".into(),
                                found: args.len(),
                                def: None,
                            });
                            continue;
                        }
                        let x = self.expr(&args[0], &rcx);
                        let x = self.settle(x, &rcx);
                        match x.ty {
                            Type::Events(d) if d.single() == Some(EventDomain::Lab) => {
                                hir::Stratum::TestingHistory(x)
                            }
                            Type::Error => continue,
                            other => {
                                self.mismatch(&x, "lab events", other, "`tested(…)`", None);
                                continue;
                            }
                        }
                    }
                    _ => {
                        let x = self.expr(e, &rcx);
                        let x = self.settle(x, &rcx);
                        match x.ty {
                            Type::Bool | Type::Events(_) => hir::Stratum::Condition {
                                name: column_name(&self.text(file, e.span)),
                                cond: x,
                            },
                            Type::Error => continue,
                            other => {
                                self.mismatch(&x, "a stratum (sex, hospital, age band …, year, month, period, cohort, tested(…) or a condition)", other, "`by`", None);
                                continue;
                            }
                        }
                    }
                },
            };
            strata.push(st);
        }
        if r.cohorts.len() > 1 && !strata.iter().any(|s| matches!(s, hir::Stratum::Cohort)) {
            strata.insert(0, hir::Stratum::Cohort);
        }
        let suppress_below = match &r.suppress_below {
            Some(n) => {
                let v = n.value();
                if v < 10.0 || v.fract() != 0.0 {
                    self.error(CheckError::SuppressTooLow {
                        at: (file, n.span),
                        value: v.max(0.0) as u32,
                    });
                    10
                } else {
                    v as u32
                }
            }
            None => 10,
        };
        let mut name = r
            .cohorts
            .iter()
            .map(|c| c.name.clone())
            .collect::<Vec<_>>()
            .join("_");
        if !r.outcomes.is_empty() {
            name.push_str("_with_");
            name.push_str(
                &r.outcomes
                    .iter()
                    .map(|c| c.name.clone())
                    .collect::<Vec<_>>()
                    .join("_"),
            );
        }
        let n = self
            .hir
            .reports
            .iter()
            .filter(|x| x.name == name || x.name.starts_with(&format!("{name}_")))
            .count();
        if n > 0 {
            name = format!("{name}_{}", n + 1);
        }
        self.hir.reports.push(hir::Report {
            name,
            cohorts,
            outcomes,
            strata,
            suppress_below,
            span,
        });
    }
}

/// A column name from source text: `age at index` → `age_at_index`.
fn column_name(text: &str) -> String {
    let mut out = String::new();
    let mut last_us = true;
    for ch in text.chars() {
        if ch.is_ascii_alphanumeric() {
            out.push(ch.to_ascii_lowercase());
            last_us = false;
        } else if !last_us {
            out.push('_');
            last_us = true;
        }
    }
    while out.ends_with('_') {
        out.pop();
    }
    if out.is_empty() {
        "value".to_string()
    } else {
        out
    }
}
