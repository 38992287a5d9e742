//! Lab items and gradings (stage: AST → HIR): units, conversions, reference intervals, derived items and grade tables.

use mid_grammar::ast::{self, ExprKind as A};

use super::errors::{LabProperty, QualitativeUse};
use super::{CheckError, Checker, Cx, suggest};
use crate::codes::CodeDomain;
use crate::hir::{self, DefId, DefKind, ExprKind as H};
use crate::source::FileId;
use crate::types::{Measure, Type};
use crate::units::{self, Dimension, Relative};

impl Checker<'_> {
    pub(super) fn lab(&mut self, id: DefId, l: &ast::LabDecl, cx: Cx) -> (DefKind, Type) {
        let mut codes = None;
        let mut unit: Option<&'static units::UnitDef> = None;
        let mut converts: Vec<(String, f64, f64, FileId, ast::Span)> = Vec::new();
        let mut reference = hir::Reference::default();
        let mut derived_ast: Option<&ast::Expr> = None;
        let mut source = None;
        let mut ref_props = Vec::new();
        let mut last_day_props = Vec::new();
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
                    _ => self.error(CheckError::LabPropertyForm {
                        at: (cx.file, p.span),
                        property: LabProperty::Unit,
                    }),
                },
                "convert" => {
                    // `convert mmol/L = 18.016 mg/dL`: a unit of another dimension for this item;
                    // `convert mmol/mol = 0.09148 % + 2.152 %`: one with an offset.
                    let from = p.qualifier.as_ref();
                    let quantity = |e: &ast::Expr| match &e.kind {
                        A::Quantity { value, unit: u } => {
                            units::lookup(&u.text).map(|def| (value.value(), def))
                        }
                        _ => None,
                    };
                    let value = match &p.value {
                        ast::PropValue::Expr(e) => match &e.kind {
                            A::Binary {
                                op: ast::BinOp::Add,
                                lhs,
                                rhs,
                            } => match (quantity(lhs), quantity(rhs)) {
                                (Some((v, a)), Some((o, b))) if a.dimension == b.dimension => {
                                    Some((v * a.factor, o * b.factor))
                                }
                                _ => None,
                            },
                            _ => quantity(e).map(|(v, to)| (v * to.factor, 0.0)),
                        },
                        _ => None,
                    };
                    match (from, value) {
                        (Some(f), Some((factor, offset))) => {
                            converts.push((f.name.clone(), factor, offset, cx.file, p.span))
                        }
                        _ => self.error(CheckError::LabPropertyForm {
                            at: (cx.file, p.span),
                            property: LabProperty::Convert,
                        }),
                    }
                }
                "reference" => ref_props.push(p),
                "last_day" => last_day_props.push(p),
                "derived" => match &p.value {
                    ast::PropValue::Expr(e) => derived_ast = Some(e),
                    _ => self.error(CheckError::LabPropertyForm {
                        at: (cx.file, p.span),
                        property: LabProperty::Derived,
                    }),
                },
                "source" => source = self.prop_text(p, &cx),
                other => {
                    let suggestion = suggest(
                        other,
                        [
                            "codes",
                            "unit",
                            "convert",
                            "reference",
                            "last_day",
                            "derived",
                            "source",
                        ]
                        .into_iter(),
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
            for p in ref_props.iter().chain(&last_day_props).copied() {
                self.error(CheckError::ReferenceWithoutUnit {
                    at: (cx.file, p.span),
                });
            }
            if codes.is_none() {
                self.error(CheckError::LabMatchesNothing {
                    at: (cx.file, l.name.span),
                    item: l.name.name.clone(),
                    derived_allowed: false,
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
        // The names of earlier methods' intervals (`reference jscc = …`).
        let mut methods: Vec<&str> = Vec::new();
        for p in ref_props.iter().copied() {
            let ast::PropValue::Range {
                low,
                high,
                unit: ru,
                ..
            } = &p.value
            else {
                self.error(CheckError::LabPropertyForm {
                    at: (cx.file, p.span),
                    property: LabProperty::Reference,
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
                self.error(CheckError::ReferenceBackwards {
                    at: (cx.file, p.span),
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
                    methods.push(other);
                    // A measurement method's interval, with its last day (`last_day`); a near
                    // miss of `male`/`female` is a typo, not a method.
                    let last_day = last_day_props
                        .iter()
                        .find(|u| u.qualifier.as_ref().is_some_and(|q| q.name == other));
                    let suggestion = suggest(other, ["male", "female"].into_iter());
                    match last_day.map(|u| self.last_day_of(u, &cx)) {
                        Some(Some(day)) => reference.methods.push(units::MethodInterval {
                            method: other.to_string(),
                            range,
                            last_day: day,
                        }),
                        Some(None) => {}
                        None if suggestion.is_some() => self.error(CheckError::UnknownName {
                            at: (cx.file, p.span),
                            name: other.to_string(),
                            suggestion,
                        }),
                        None => self.error(CheckError::LabPropertyForm {
                            at: (cx.file, p.span),
                            property: LabProperty::MethodWithoutLastDay,
                        }),
                    }
                }
            }
        }
        // A `last_day` of no method's interval.
        for u in &last_day_props {
            if !u
                .qualifier
                .as_ref()
                .is_some_and(|q| methods.contains(&q.name.as_str()))
            {
                self.error(CheckError::LabPropertyForm {
                    at: (cx.file, u.span),
                    property: LabProperty::LastDay,
                });
            }
        }
        reference.methods.sort_by(|a, b| a.method.cmp(&b.method));
        // Units of the item's dimension convert by their factors; declared conversions add units of
        // other dimensions (mmol/L for glucose).
        let mut unit_list: Vec<units::Conversion> = units::of_dimension(unit.dimension)
            .map(|u| units::Conversion {
                unit: u.name.to_string(),
                factor: u.factor / unit.factor,
                offset: 0.0,
            })
            .collect();
        for (from, to_base, offset, file, span) in converts {
            match units::lookup(&from) {
                Some(def) => {
                    // to_base is the value of one `from` in the base unit of the target's
                    // dimension, offset the value of zero `from`.
                    unit_list.retain(|c| c.unit != def.name);
                    unit_list.push(units::Conversion {
                        unit: def.name.to_string(),
                        factor: to_base / unit.factor,
                        offset: offset / unit.factor,
                    });
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
        if codes.is_none() && derived_ast.is_none() {
            self.error(CheckError::LabMatchesNothing {
                at: (cx.file, l.name.span),
                item: l.name.name.clone(),
                derived_allowed: true,
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

    /// The day of `last_day <method> = <date>`, or an error.
    fn last_day_of(&mut self, p: &ast::Prop, cx: &Cx) -> Option<i32> {
        let day = match &p.value {
            ast::PropValue::Expr(ast::Expr {
                kind: A::Date(d), ..
            }) => crate::dates::parse(d),
            _ => None,
        };
        if day.is_none() {
            self.error(CheckError::LabPropertyForm {
                at: (cx.file, p.span),
                property: LabProperty::LastDay,
            });
        }
        day
    }

    /// `derived = wbc * neutrophil_pct`: one item of this dimension times percentages.
    pub(super) fn derived(
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
            self.error(CheckError::DerivedShape {
                at: (cx.file, e.span),
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
                self.error(CheckError::Qualitative {
                    at: (cx.file, n.span),
                    item: self.hir.def(fid).name.clone(),
                    used: QualitativeUse::Multiplied,
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
            self.error(CheckError::DerivedUnits {
                at: (cx.file, e.span),
                dimension: unit.dimension.to_string(),
            });
            return None;
        }
        Some(hir::Derived {
            factors: ids,
            scale,
        })
    }

    pub(super) fn grading(&mut self, g: &ast::GradingDecl, cx: Cx) -> (DefKind, Type) {
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
                self.error(CheckError::Qualitative {
                    at: (cx.file, t.lab.span),
                    item: self.hir.def(lab).name.clone(),
                    used: QualitativeUse::Graded,
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
                    self.error(CheckError::GradeNumber {
                        at: (cx.file, r.grade.span),
                    });
                    continue;
                }
                let grade = grade as u8;
                if rules.iter().any(|q| q.grade >= grade) {
                    self.error(CheckError::GradeOrder {
                        at: (cx.file, r.grade.span),
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
                        self.error(CheckError::GradeBaseline {
                            at: (v.file, v.span),
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
}

#[cfg(test)]
mod tests {
    use crate::testing::{check, errors};

    #[test]
    fn a_lab_item_with_units_and_sex_specific_reference() {
        insta::assert_snapshot!(check(
            r#"module m
lab alt_x "ALT" {
  codes = analyte "3B045"
  unit = U/L
  reference male = 10 .. 42 U/L
  reference female = 7 .. 23 U/L
}"#
        ), @r#"
        alt_x : Lab
          codes = analyte "3B045":Codes<lab>
          unit = U/L (from U/L x1, IU/L x1, U/mL x1000, kU/L x1000, IU/mL x1000, mU/mL x1, mIU/mL x1, mIU/L x0.001, uIU/mL x0.001, uU/mL x0.001, ukat/L x60)
          reference male = 10 .. 42
          reference female = 7 .. 23
        "#);
    }

    #[test]
    fn an_earlier_methods_interval_and_its_last_day() {
        insta::assert_snapshot!(check(
            r#"module m
lab alp_x "ALP" {
  codes = analyte "3B070"
  unit = U/L
  reference = 38 .. 113 U/L
  reference jscc = 106 .. 322 U/L
  last_day jscc = 2020-03-31
}"#
        ), @r#"
        alp_x : Lab
          codes = analyte "3B070":Codes<lab>
          unit = U/L (from U/L x1, IU/L x1, U/mL x1000, kU/L x1000, IU/mL x1000, mU/mL x1, mIU/mL x1, mIU/L x0.001, uIU/mL x0.001, uU/mL x0.001, ukat/L x60)
          reference male = 38 .. 113
          reference female = 38 .. 113
          reference jscc = 106 .. 322 last_day 2020-03-31
        "#);
        let item = |props: &str| {
            errors(&format!(
                "module m\nlab a \"A\" {{\n  codes = analyte \"3B070\"\n  unit = U/L\n  reference = 38 .. 113 U/L\n{props}\n}}"
            ))
        };
        insta::assert_snapshot!(item("  reference jscc = 106 .. 322 U/L"), @r#"E0407 6:3 a measurement method's reference interval needs the method's last day (no `last_day` for this method) help: add e.g. `last_day jscc = 2020-03-31`; `reference male = …` and `reference female = …` are by sex"#);
        insta::assert_snapshot!(item("  reference femal = 106 .. 322 U/L"), @r#"E0101 6:3 unknown name `femal` (not defined or imported) help: did you mean `female`?"#);
        insta::assert_snapshot!(item("  last_day jscc = 2020-03-31"), @r#"E0407 6:3 `last_day` gives the last day of a measurement method that has its own reference interval (not `last_day <method> = <date>` of a method with `reference <method> = …`) help: e.g. `reference jscc = 106 .. 322 U/L` and `last_day jscc = 2020-03-31`"#);
        insta::assert_snapshot!(item("  reference jscc = 106 .. 322 U/L\n  last_day jscc = 2020"), @r#"E0407 7:3 `last_day` gives the last day of a measurement method that has its own reference interval (not `last_day <method> = <date>` of a method with `reference <method> = …`) help: e.g. `reference jscc = 106 .. 322 U/L` and `last_day jscc = 2020-03-31`"#);
    }

    #[test]
    fn a_derived_item_and_its_units() {
        insta::assert_snapshot!(check(
            r#"module m
import labs.{wbc, neutrophil_pct}
lab anc_x "ANC" {
  unit = /uL
  derived = wbc * neutrophil_pct
}"#
        ), @"
        anc_x : Lab
          unit = /uL (from /uL x1, /mm3 x1, 10^2/uL x100, 10^3/uL x1000, 10^4/uL x10000, 10^6/uL x1000000, 10^9/L x1000, 10^12/L x1000000)
          derived = labs.wbc * labs.neutrophil_pct x 10
        ");
    }

    #[test]
    fn grades_in_order_against_limits() {
        insta::assert_snapshot!(check(
            r#"module m
import labs.{alt}
grading g "G" {
  for alt {
    grade 1 when > 1 x ULN
    grade 2 when > 3 x ULN
    grade 2 when > 5 x ULN
  }
}"#
        ), @"
        g : Grading
          labs.alt: 1 if > 1 x ULN:Quantity<multiple of ULN>; 2 if > 3 x ULN:Quantity<multiple of ULN>
        --
        E0414 7:11 grades are listed once each, lowest first (out of order)
        ");
    }
}
