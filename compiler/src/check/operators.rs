//! Operators (stage: AST → HIR): `and`/`or` of conditions and code sets, arithmetic on dates, durations and quantities, comparisons (lab values with units, text against coded values) and `in (…)`.

use mid_grammar::ast::{self, BinOp, CmpOp, ExprKind as A};

use super::coerce::{fmt_num, selects_one};
use super::errors::QualitativeUse;
use super::{CheckError, Checker, Cx, suggest};
use crate::cdm::Column;
use crate::hir::{self, Builtin, Expr, ExprKind as H, Literal, QuantityUnit};
use crate::types::{Domains, EventDomain, Measure, Type};
use crate::units;

impl Checker<'_> {
    pub(super) fn binary(
        &mut self,
        op: BinOp,
        lhs: &ast::Expr,
        rhs: &ast::Expr,
        e: &ast::Expr,
        cx: &Cx,
    ) -> Expr {
        match op {
            BinOp::Cmp(c) => self.compare(c, lhs, rhs, e, cx),
            BinOp::Or | BinOp::And => {
                // `a or b within W` reads as `a or (b within W)`: the window binds `b` alone,
                // which is rarely what is meant when `a` is a query with no window of its own.
                if let A::Window { window, .. } = &rhs.kind
                    && let Some(bare) = unwindowed_operand(lhs, op)
                {
                    self.error(CheckError::WindowBindsRight {
                        at: (cx.file, window_span(rhs)),
                        left: (cx.file, bare.span),
                        op: if op == BinOp::Or { "or" } else { "and" },
                        both: format!(
                            "({} {} {}) {}",
                            self.text(cx.file, lhs.span).trim(),
                            if op == BinOp::Or { "or" } else { "and" },
                            self.text(cx.file, window_operand(rhs).span).trim(),
                            self.text(cx.file, window_span(rhs)).trim(),
                        ),
                    });
                    let _ = window;
                }
                let a = self.expr(lhs, cx);
                let a = self.settle(a, cx);
                let b = self.expr(rhs, cx);
                let b = self.settle(b, cx);
                let word = if op == BinOp::Or { "`or`" } else { "`and`" };
                match (a.ty, b.ty) {
                    (Type::Codes(x), Type::Codes(y)) if op == BinOp::Or => {
                        if x != y {
                            self.error(CheckError::WrongDomain {
                                at: (b.file, b.span),
                                expected: format!("Codes<{}>", x.name()),
                                found: format!("Codes<{}>", y.name()),
                                context: "a union of code sets".into(),
                            });
                            return self.err_expr(e, cx);
                        }
                        self.mk(H::Union(Box::new(a), Box::new(b)), Type::Codes(x), e, cx)
                    }
                    (Type::Codes(_), _) | (_, Type::Codes(_)) if op == BinOp::And => {
                        self.error(CheckError::CodesAnd {
                            at: (cx.file, e.span),
                        });
                        self.err_expr(e, cx)
                    }
                    (Type::Events(x), Type::Events(y)) if op == BinOp::Or => self.mk(
                        H::Or(Box::new(a), Box::new(b)),
                        Type::Events(x.union(y)),
                        e,
                        cx,
                    ),
                    (Type::Error, _) | (_, Type::Error) => {
                        // Still check the other side's shape, but do not cascade.
                        self.err_expr(e, cx)
                    }
                    _ => {
                        let a = self.condition(a, word);
                        let b = self.condition(b, word);
                        let kind = if op == BinOp::Or {
                            H::Or(Box::new(a), Box::new(b))
                        } else {
                            H::And(Box::new(a), Box::new(b))
                        };
                        self.mk(kind, Type::Bool, e, cx)
                    }
                }
            }
            BinOp::Add | BinOp::Sub | BinOp::Mul | BinOp::Div => {
                let a = self.expr(lhs, cx);
                let a = self.settle(a, cx);
                let mut bcx = cx.clone();
                if let Type::Codes(d) = a.ty {
                    bcx.want_domain = Some(d);
                }
                let b = self.expr(rhs, &bcx);
                let b = self.settle(b, cx);
                self.arith(op, a, b, e, cx)
            }
        }
    }

    pub(super) fn arith(&mut self, op: BinOp, a: Expr, b: Expr, e: &ast::Expr, cx: &Cx) -> Expr {
        let sym = match op {
            BinOp::Add => "+",
            BinOp::Sub => "-",
            BinOp::Mul => "*",
            _ => "/",
        };
        let ty = match (op, a.ty, b.ty) {
            (_, Type::Error, _) | (_, _, Type::Error) => return self.err_expr(e, cx),
            (BinOp::Sub, Type::Codes(x), Type::Codes(y)) => {
                if x != y {
                    self.error(CheckError::WrongDomain {
                        at: (b.file, b.span),
                        expected: format!("Codes<{}>", x.name()),
                        found: format!("Codes<{}>", y.name()),
                        context: "a difference of code sets".into(),
                    });
                    return self.err_expr(e, cx);
                }
                return self.mk(
                    H::Difference(Box::new(a), Box::new(b)),
                    Type::Codes(x),
                    e,
                    cx,
                );
            }
            (BinOp::Add | BinOp::Sub, Type::Date, Type::Duration) => {
                self.warn_calendar(&b);
                Type::Date
            }
            // One chosen event stands for its date: `(last drug x after index) + 30 days`.
            (BinOp::Add | BinOp::Sub, Type::Events(_), Type::Duration)
                if selects_one(&self.hir, &a) =>
            {
                Type::Date
            }
            (BinOp::Add, Type::Duration, Type::Date) => Type::Date,
            (BinOp::Add | BinOp::Sub, Type::Duration, Type::Duration) => Type::Duration,
            (_, Type::Number, Type::Number) => Type::Number,
            (BinOp::Mul | BinOp::Div, Type::Duration, Type::Number) => Type::Duration,
            (BinOp::Mul, Type::Number, Type::Duration) => Type::Duration,
            (BinOp::Mul | BinOp::Div, Type::Quantity(m), Type::Number) => Type::Quantity(m),
            (BinOp::Mul, Type::Number, Type::Quantity(m)) => Type::Quantity(m),
            (BinOp::Add | BinOp::Sub, Type::Quantity(x), Type::Quantity(y)) if x == y => {
                Type::Quantity(x)
            }
            (_, x, y) => {
                let help = match (x, y) {
                    (Type::Events(_), Type::Duration) => Some(
                        "to shift a date, take one event's date first: `(first drug x) + 30 days`"
                            .into(),
                    ),
                    (Type::Date, Type::Number) => Some("add a duration: `index + 30 days`".into()),
                    _ => None,
                };
                self.error(CheckError::Mismatch {
                    at: (cx.file, e.span),
                    expected: "operands that fit".into(),
                    found: x,
                    context: format!("`{x} {sym} {y}`"),
                    help,
                });
                return self.err_expr(e, cx);
            }
        };
        self.mk(
            H::Arith {
                op,
                lhs: Box::new(a),
                rhs: Box::new(b),
            },
            ty,
            e,
            cx,
        )
    }

    pub(super) fn compare(
        &mut self,
        op: CmpOp,
        lhs: &ast::Expr,
        rhs: &ast::Expr,
        e: &ast::Expr,
        cx: &Cx,
    ) -> Expr {
        let a = self.expr(lhs, cx);
        let a = self.settle(a, cx);
        let b = self.expr(rhs, cx);
        match a.ty {
            Type::Error => {
                let _ = self.settle(b, cx);
                self.err_expr(e, cx)
            }
            Type::Events(d) if d.single() == Some(EventDomain::Lab) => {
                let b = self.settle(b, cx);
                self.lab_compare(op, a, b, e, cx)
            }
            Type::Grades => {
                let b = self.settle(b, cx);
                if let H::Number(n) = b.kind {
                    self.warn_grade(op, n, e, cx);
                }
                match b.ty {
                    Type::Number => self.mk(
                        H::Compare {
                            op,
                            lhs: Box::new(a),
                            rhs: Box::new(b),
                        },
                        Type::Events(Domains::one(EventDomain::Lab)),
                        e,
                        cx,
                    ),
                    Type::Error => self.err_expr(e, cx),
                    other => {
                        self.mismatch(&b, "a grade (a number)", other, "a grade comparison", None);
                        self.err_expr(e, cx)
                    }
                }
            }
            Type::Text => {
                // `sex = F`, `hospital = "H01"`
                let column: Option<&'static Column> = match &a.kind {
                    H::Builtin(Builtin::Sex) => crate::cdm::Table::Patient.column("sex"),
                    H::Builtin(Builtin::Hospital) => {
                        crate::cdm::Table::Patient.column("hospital_id")
                    }
                    _ => None,
                };
                let b = match (&b.kind, column) {
                    (H::Word(w), Some(col)) => {
                        let w = w.clone();
                        self.check_value(col, &w, (b.file, b.span));
                        Expr {
                            kind: H::Text(w),
                            ty: Type::Text,
                            ..b
                        }
                    }
                    (H::Text(t), Some(col)) => {
                        let t = t.clone();
                        self.check_value(col, &t, (b.file, b.span));
                        b
                    }
                    _ => self.settle(b, cx),
                };
                if !matches!(op, CmpOp::Eq | CmpOp::Ne) {
                    self.error(CheckError::TextOrder {
                        at: (cx.file, e.span),
                    });
                    return self.err_expr(e, cx);
                }
                let b = self.expect(b, Type::Text, "a text comparison");
                self.mk(
                    H::Compare {
                        op,
                        lhs: Box::new(a),
                        rhs: Box::new(b),
                    },
                    Type::Bool,
                    e,
                    cx,
                )
            }
            Type::Number | Type::Date | Type::Duration => {
                let b = self.settle(b, cx);
                let b = self.expect(b, a.ty, "a comparison");
                if let (H::AgeAt(_), H::Number(n)) = (&a.kind, &b.kind) {
                    self.warn_age(op, *n, e, cx);
                }
                self.mk(
                    H::Compare {
                        op,
                        lhs: Box::new(a),
                        rhs: Box::new(b),
                    },
                    Type::Bool,
                    e,
                    cx,
                )
            }
            Type::Events(d) => {
                let b = self.settle(b, cx);
                let help = if b.ty == Type::Number || matches!(b.ty, Type::Quantity(_)) {
                    Some(
                        "only lab results have values; to count events write `at least 2 …`"
                            .to_string(),
                    )
                } else {
                    None
                };
                self.error(CheckError::Mismatch {
                    at: (a.file, a.span),
                    expected: "lab events".into(),
                    found: Type::Events(d),
                    context: "a value comparison".into(),
                    help,
                });
                self.err_expr(e, cx)
            }
            other => {
                let _ = self.settle(b, cx);
                self.mismatch(
                    &a,
                    "a number, date, lab events or text",
                    other,
                    "a comparison",
                    None,
                );
                self.err_expr(e, cx)
            }
        }
    }

    pub(super) fn lab_compare(
        &mut self,
        op: CmpOp,
        a: Expr,
        b: Expr,
        e: &ast::Expr,
        cx: &Cx,
    ) -> Expr {
        let Some(item) = self.lab_item_of(&a) else {
            self.error(CheckError::RawLabValue {
                at: (a.file, a.span),
            });
            return self.err_expr(e, cx);
        };
        let def = self.hir.def(item).clone();
        let hir::DefKind::Lab(lab) = &def.kind else {
            return self.err_expr(e, cx);
        };
        let Some(lab_unit) = lab.unit else {
            self.error(CheckError::Qualitative {
                at: (a.file, a.span),
                item: def.name.clone(),
                used: QualitativeUse::Compared,
            });
            return self.err_expr(e, cx);
        };
        let dim = lab_unit.dimension;
        match b.ty {
            Type::Quantity(Measure::Dim(d)) if d == dim => {
                self.warn_threshold(&def.name, lab, &b);
            }
            Type::Quantity(Measure::Relative(r)) => {
                // Limits are reference-interval bounds: beyond 1,000 times one, or at or
                // below 0, no result is meant.
                if let H::Quantity { value, .. } = b.kind
                    && !(value > 0.0 && value <= 1000.0)
                {
                    self.error(CheckError::ImplausibleThreshold {
                        at: (b.file, b.span),
                        item: def.name.clone(),
                        threshold: self.text(b.file, b.span),
                        reference: format!("multiples of {} above 0 and up to 1000", r.word()),
                    });
                }
            }
            Type::Quantity(Measure::Dim(d)) => {
                // Analyte-specific conversions (mmol/L glucose) make other dimensions fine.
                let converts = matches!(&b.kind, H::Quantity { unit: QuantityUnit::Unit(u), .. }
                    if lab.units.iter().any(|c| c.unit == u.name));
                if !converts {
                    self.error(CheckError::Units {
                        at: (b.file, b.span),
                        expected: format!(
                            "{} (`{}` is measured in {})",
                            dim, def.name, lab_unit.name
                        ),
                        found: d.describe().to_string(),
                        context: format!("`{}`", def.name),
                    });
                    return self.err_expr(e, cx);
                }
            }
            Type::Number => {
                let example = match &b.kind {
                    H::Number(n) => format!("{} {}", fmt_num(*n), lab_unit.name),
                    _ => format!("… {}", lab_unit.name),
                };
                self.error(CheckError::MissingUnit {
                    at: (b.file, b.span),
                    dimension: format!("{dim} ({})", lab_unit.name),
                    example,
                });
                return self.err_expr(e, cx);
            }
            Type::Error => return self.err_expr(e, cx),
            other => {
                self.mismatch(
                    &b,
                    &format!("a quantity in {}", lab_unit.name),
                    other,
                    "a lab value comparison",
                    None,
                );
                return self.err_expr(e, cx);
            }
        }
        self.mk(
            H::Compare {
                op,
                lhs: Box::new(a),
                rhs: Box::new(b),
            },
            Type::Events(Domains::one(EventDomain::Lab)),
            e,
            cx,
        )
    }

    pub(super) fn in_list(
        &mut self,
        lhs: &ast::Expr,
        values: &[ast::Expr],
        negated: bool,
        e: &ast::Expr,
        cx: &Cx,
    ) -> Expr {
        let a = self.expr(lhs, cx);
        let a = self.settle(a, cx);
        let column: Option<&'static Column> = match &a.kind {
            H::Builtin(Builtin::Sex) => crate::cdm::Table::Patient.column("sex"),
            H::Builtin(Builtin::Hospital) => crate::cdm::Table::Patient.column("hospital_id"),
            _ => None,
        };
        let Some(col) = column else {
            if !a.ty.is_error() {
                self.mismatch(&a, "`sex` or `hospital`", a.ty, "`in (…)`", Some("event columns are filtered with `where`: `diagnosis x where source in (claim, dpc)`".into()));
            }
            return self.err_expr(e, cx);
        };
        let mut lits = Vec::new();
        for v in values {
            match &v.kind {
                A::Name(i) => {
                    self.check_value(col, &i.name, (cx.file, v.span));
                    lits.push(Literal::Text(i.name.clone()));
                }
                A::Str(s) => {
                    self.check_value(col, s, (cx.file, v.span));
                    lits.push(Literal::Text(s.clone()));
                }
                _ => {
                    self.error(CheckError::LiteralKind {
                        at: (cx.file, v.span),
                        column: col.name,
                        kind: "text",
                    });
                }
            }
        }
        let list = lits
            .into_iter()
            .map(|l| match l {
                Literal::Text(t) => Expr {
                    kind: H::Text(t),
                    ty: Type::Text,
                    span: e.span,
                    file: cx.file,
                },
                _ => unreachable!("only text literals are collected"),
            })
            .collect::<Vec<_>>();
        let mut out: Option<Expr> = None;
        for item in list {
            let cmp = Expr {
                kind: H::Compare {
                    op: CmpOp::Eq,
                    lhs: Box::new(a.clone()),
                    rhs: Box::new(item),
                },
                ty: Type::Bool,
                span: e.span,
                file: cx.file,
            };
            out = Some(match out {
                None => cmp,
                Some(prev) => Expr {
                    kind: H::Or(Box::new(prev), Box::new(cmp)),
                    ty: Type::Bool,
                    span: e.span,
                    file: cx.file,
                },
            });
        }
        let x = out.unwrap_or_else(|| self.mk(H::Bool(false), Type::Bool, e, cx));
        if negated {
            self.mk(H::Not(Box::new(x)), Type::Bool, e, cx)
        } else {
            x
        }
    }

    /// Checks that a word is a value of a coded column.
    pub(crate) fn check_value(&mut self, col: &'static Column, value: &str, at: super::At) -> bool {
        let Some(values) = col.values else {
            return true;
        };
        if values.contains(&value) {
            return true;
        }
        let suggestion = suggest(value, values.iter().copied());
        self.error(CheckError::UnknownValue {
            at,
            column: col.name.to_string(),
            value: value.to_string(),
            suggestion,
            values: values.to_vec(),
        });
        false
    }
}

impl Checker<'_> {
    /// Warns of an age comparison no patient (or every patient) meets.
    fn warn_age(&mut self, op: CmpOp, n: f64, e: &ast::Expr, cx: &Cx) {
        const OLDEST: f64 = 120.0;
        let what = match op {
            CmpOp::Ge | CmpOp::Gt if n > OLDEST => Some("no patient is that old"),
            CmpOp::Eq if !(0.0..=OLDEST).contains(&n) => Some("no patient is that old"),
            CmpOp::Lt if n <= 0.0 => Some("no patient is younger than 0"),
            CmpOp::Le if n < 0.0 => Some("no patient is younger than 0"),
            CmpOp::Ge if n <= 0.0 => Some("every patient is at least that old"),
            CmpOp::Lt | CmpOp::Le if n > OLDEST => Some("every patient is that young"),
            _ => None,
        };
        if let Some(what) = what {
            self.error(CheckError::Impossible {
                at: (cx.file, e.span),
                what: format!("`{}`: {what}", self.text(cx.file, e.span)),
            });
        }
    }

    /// Warns of a grade comparison no result (or every result) meets: grades are 0 to 5.
    fn warn_grade(&mut self, op: CmpOp, n: f64, e: &ast::Expr, cx: &Cx) {
        let what = match op {
            CmpOp::Ge | CmpOp::Gt | CmpOp::Eq if n > 5.0 => Some("no result is graded above 5"),
            CmpOp::Le | CmpOp::Lt | CmpOp::Eq if n < 0.0 => Some("no result is graded below 0"),
            CmpOp::Ge if n <= 0.0 => Some("every graded result is at least that"),
            CmpOp::Le | CmpOp::Lt if n > 5.0 => Some("every graded result is below that"),
            _ => None,
        };
        if let Some(what) = what {
            self.error(CheckError::Impossible {
                at: (cx.file, e.span),
                what: format!("`{}`: {what}", self.text(cx.file, e.span)),
            });
        }
    }

    /// Warns of a lab threshold more than 100 times outside the item's reference interval.
    fn warn_threshold(&mut self, item: &str, lab: &hir::LabItem, b: &Expr) {
        let (
            H::Quantity {
                value,
                unit: QuantityUnit::Unit(u),
            },
            Some(unit),
        ) = (&b.kind, lab.unit)
        else {
            return;
        };
        let Some(v) = lab
            .units
            .iter()
            .find(|c| c.unit == u.name)
            .map(|c| c.apply(*value))
            .or_else(|| units::factor(u, unit).map(|f| value * f))
        else {
            return;
        };
        let bounds: Vec<(f64, f64)> = [lab.reference.male, lab.reference.female]
            .into_iter()
            .flatten()
            .chain(lab.reference.methods.iter().map(|m| m.range))
            .collect();
        let (Some(lo), Some(hi)) = (
            bounds.iter().map(|b| b.0).reduce(f64::min),
            bounds.iter().map(|b| b.1).reduce(f64::max),
        ) else {
            return;
        };
        if v > hi * 100.0 || (lo > 0.0 && v < lo / 100.0) {
            self.error(CheckError::ImplausibleThreshold {
                at: (b.file, b.span),
                item: item.to_string(),
                threshold: self.text(b.file, b.span),
                reference: format!("{} .. {} {}", fmt_num(lo), fmt_num(hi), unit.name),
            });
        }
    }
}

/// The first operand of an `or`/`and` chain that is an event query without a window of its
/// own (written without parentheses), if any.
fn unwindowed_operand(e: &ast::Expr, op: BinOp) -> Option<&ast::Expr> {
    match &e.kind {
        A::Binary { op: o, lhs, rhs } if *o == op => {
            unwindowed_operand(lhs, op).or_else(|| unwindowed_operand(rhs, op))
        }
        A::Event { .. } => Some(e),
        A::Select { expr, .. } | A::Where { expr, .. } | A::Having { expr, .. } => {
            unwindowed_operand(expr, op).map(|_| e)
        }
        _ => None,
    }
}

/// The operand a window is written after.
fn window_operand(e: &ast::Expr) -> &ast::Expr {
    match &e.kind {
        A::Window { expr, .. } => expr,
        _ => e,
    }
}

/// The span of a window itself (`within 30 days before index`), after its operand.
fn window_span(e: &ast::Expr) -> ast::Span {
    let inner = window_operand(e).span;
    ast::Span::new(inner.end.min(e.span.end), e.span.end)
}

#[cfg(test)]
mod tests {
    use crate::testing::{check, errors};

    #[test]
    fn a_lab_value_needs_a_unit_of_its_dimension() {
        insta::assert_snapshot!(errors(
            r#"import labs.{platelets}
codes x: drug = yj "2432001"
cohort c {
  index = first drug x
  exclude lab platelets < 100
  exclude lab platelets < 100 mg/dL
}"#
        ), @"
        E0208 5:27 a lab value is compared with a number without a unit (no unit) help: write the unit, e.g. `100 10^3/uL`
        E0205 6:27 `platelets`: cannot compare mass per volume with count per volume (`platelets` is measured in 10^3/uL) (this is mass per volume) help: write the value in a unit of count per volume (`platelets` is measured in 10^3/uL)
        ");
    }

    #[test]
    fn a_lab_value_in_any_unit_of_its_dimension() {
        insta::assert_snapshot!(check(
            r#"import labs.{platelets}
codes x: drug = yj "2432001"
cohort c {
  index = first drug x
  exclude lab platelets < 10 x10^4/uL within 180 days before index
}"#
        ), @r#"
        x : Codes<drug> = yj "2432001":Codes<drug>
        c : Cohort
          index = (First (drug x:Codes<drug>):Events<drug>):Events<drug>
          exclude (window (< (lab labs.platelets:Lab):Events<lab> 10 10^4/uL:Quantity<count per volume>):Events<lab> within 180 days:Duration Before Index:Date):Events<lab>
        "#);
    }

    #[test]
    fn sex_compares_with_its_values() {
        insta::assert_snapshot!(errors(
            r#"codes x: drug = yj "2432001"
cohort c {
  index = first drug x
  require sex = F
  require sex = female
}"#
        ), @"E0107 5:17 `female` is not a value of `sex` (unknown value)");
    }

    #[test]
    fn and_of_code_sets() {
        insta::assert_snapshot!(errors(
            r#"codes a: diagnosis = icd10 "I50"
codes b: diagnosis = icd10 "N18"
codes x: drug = yj "2432001"
cohort c {
  index = first drug x
  require diagnosis (a and b)
}"#
        ), @"E0216 6:21 code sets combine with `or` (union) and `-` (difference) (`and` of code sets) help: to require two kinds of records, query each: `diagnosis a and diagnosis b`");
    }

    #[test]
    fn a_date_plus_a_duration() {
        insta::assert_snapshot!(check(
            r#"codes x: drug = yj "2432001"
cohort c {
  index = first drug x
  end = index + 2 weeks
  require index + 1 day >= 2014-01-01
}"#
        ), @r#"
        x : Codes<drug> = yj "2432001":Codes<drug>
        c : Cohort
          index = (First (drug x:Codes<drug>):Events<drug>):Events<drug>
          end = (+ Index:Date 14 days:Duration):Date
          require (>= (+ Index:Date 1 days:Duration):Date 2014-01-01:Date):Bool
        "#);
    }
}
