//! Lowering event queries (stage: HIR → CIR): sources with their code sets, filters pushed
//! to their tables, lab items with their units and reference intervals, value and grade
//! thresholds in the item's unit, windows, `having` and selections.

use mid_grammar::ast::{BinOp, Relation, SameUnit};

use super::{Lower, Result, cmp, internal};
use crate::check::expand::{days, expand, number};
use crate::cir::{self, Calendar, Codes, Date, Events, Pick, Threshold, Window};
use crate::hir::{self, DefId, DefKind, Expr, ExprKind as H, QuantityUnit};
use crate::types::{EventDomain, Type};
use crate::units;

impl Lower<'_> {
    /// An event query of an expanded expression.
    pub(super) fn events(&mut self, e: &Expr) -> Result<Events> {
        match &e.kind {
            H::Event { domain, target } => {
                let mut src = cir::Source {
                    domain: *domain,
                    codes: None,
                    filters: vec![],
                    visit_kind: None,
                    lab: None,
                    members: Vec::new(),
                    text: String::new(),
                    at: (e.file, e.span),
                };
                match (&target.kind, lab_item(self.hir, target)) {
                    (H::VisitKind(k), _) => src.visit_kind = k.clone(),
                    (_, Some(id)) if *domain == EventDomain::Lab => {
                        src.lab = Some(self.lab_spec(id)?);
                        src.text = self.hir.def(id).name.clone();
                    }
                    _ => {
                        src.codes = Some(self.codes(target)?);
                        src.members = self.members(target)?;
                        src.text = self.describe_target(target);
                    }
                }
                Ok(Events::Source(Box::new(src)))
            }
            H::Where { expr, filter } => {
                let inner = self.events(expr)?;
                let f = filter_of(filter)?;
                push_filter(inner, &f)
                    .map_err(|_| internal("a `where` filter after choosing one event"))
            }
            H::Compare { op, lhs, rhs } if lhs.ty == Type::Grades => {
                let H::Grade { grading, events } = &lhs.kind else {
                    return Err(internal("a grade comparison without a grading"));
                };
                let input = self.events(events)?;
                let (grading, rules) = self.grade_rules(*grading, events)?;
                let grade = number(rhs).ok_or_else(|| internal("a grade that is not a number"))?;
                Ok(Events::Grade {
                    input: Box::new(input),
                    grading,
                    rules,
                    op: cmp(*op),
                    grade,
                })
            }
            H::Compare { op, lhs, rhs } => {
                let input = self.events(lhs)?;
                let item = lab_item_of(self.hir, lhs).ok_or_else(|| {
                    internal("a value comparison of events that are not a lab item")
                })?;
                Ok(Events::Value {
                    input: Box::new(input),
                    op: cmp(*op),
                    threshold: self.threshold(rhs, item)?,
                })
            }
            H::Window { expr, window } => Ok(Events::Window {
                input: Box::new(self.events(expr)?),
                window: self.window(window)?,
            }),
            H::Having { expr, cond } => Ok(Events::Having {
                input: Box::new(self.events(expr)?),
                cond: Box::new(self.cond(cond)?),
            }),
            H::Select { selector, expr } => {
                let input = self.events(expr)?;
                let pick = match selector {
                    hir::Selector::First => Pick::First,
                    hir::Selector::Last => Pick::Last,
                    hir::Selector::Nth(n) => Pick::Nth(*n),
                    hir::Selector::Every => return Ok(input),
                    hir::Selector::No
                    | hir::Selector::AtLeast(..)
                    | hir::Selector::AtMost(..)
                    | hir::Selector::Exactly(..) => {
                        return Err(internal("a count where events are needed"));
                    }
                };
                Ok(Events::Pick {
                    input: Box::new(input),
                    pick,
                })
            }
            H::Or(a, b) => {
                let mut out = Vec::new();
                for x in [a, b] {
                    match self.events(x)? {
                        Events::Union(mut xs) => out.append(&mut xs),
                        ev => out.push(ev),
                    }
                }
                Ok(Events::Union(out))
            }
            H::Inlined { def, body } => {
                self.note_validation(*def);
                self.events(body)
            }
            _ => Err(internal(format!(
                "events expected, found an expression of type {}",
                e.ty
            ))),
        }
    }

    /// Records the validation metadata of a definition an outcome uses.
    pub(super) fn note_validation(&mut self, def: DefId) {
        let d = self.hir.def(def);
        if let DefKind::Value {
            validation: Some(v),
            ..
        } = &d.kind
        {
            self.used.push((d.qualified(), (**v).clone()));
        }
    }

    /// A grading's name and its rules for the lab item of `events`, highest grade last.
    pub(super) fn grade_rules(
        &mut self,
        grading: DefId,
        events: &Expr,
    ) -> Result<(String, cir::GradeRules)> {
        let item = lab_item_of(self.hir, events)
            .ok_or_else(|| internal("a grading of something that is not a lab item"))?;
        let g = self.hir.def(grading);
        let DefKind::Grading(gr) = &g.kind else {
            return Err(internal("a grading that is not one"));
        };
        let table = gr
            .tables
            .iter()
            .find(|t| t.lab == item)
            .ok_or_else(|| internal("a grading without a table for the item"))?;
        let rules = table
            .rules
            .iter()
            .map(|r| {
                Ok((
                    r.grade,
                    cmp(r.op),
                    self.threshold(&expand(self.hir, &r.value), r_item(table))?,
                ))
            })
            .collect::<Result<_>>()?;
        Ok((g.name.clone(), rules))
    }

    /// A code set of an expanded expression.
    pub(super) fn codes(&mut self, e: &Expr) -> Result<Codes> {
        match &e.kind {
            H::Code {
                system,
                domain,
                code,
                to,
            } => Ok(Codes::Match {
                system: *system,
                domain: *domain,
                code: code.clone(),
                to: to.clone(),
            }),
            H::CodeList(items) => Ok(Codes::Any(
                items.iter().map(|i| self.codes(i)).collect::<Result<_>>()?,
            )),
            H::Union(a, b) => {
                let mut out = Vec::new();
                for x in [a, b] {
                    match self.codes(x)? {
                        Codes::Any(mut xs) => out.append(&mut xs),
                        c => out.push(c),
                    }
                }
                Ok(Codes::Any(out))
            }
            H::Difference(a, b) => Ok(Codes::Except(
                Box::new(self.codes(a)?),
                Box::new(self.codes(b)?),
            )),
            H::Inlined { body, .. } => self.codes(body),
            _ => Err(internal(format!(
                "codes expected, found an expression of type {}",
                e.ty
            ))),
        }
    }

    /// The named code sets a code set is made of, innermost first met: a class's members
    /// (`statins` → `atorvastatin`, …). Codes written in place are their own member; in
    /// `a except b` only `a`'s members count.
    fn members(&mut self, e: &Expr) -> Result<Vec<(String, Codes)>> {
        fn named_inside(hir: &hir::Hir, e: &Expr) -> bool {
            match &e.kind {
                H::Inlined { def, body } => {
                    matches!(hir.def(*def).kind, DefKind::Codes(_)) || named_inside(hir, body)
                }
                H::Union(a, b) => named_inside(hir, a) || named_inside(hir, b),
                H::Difference(a, _) => named_inside(hir, a),
                H::CodeList(xs) => xs.iter().any(|x| named_inside(hir, x)),
                _ => false,
            }
        }
        let mut out: Vec<(String, Codes)> = Vec::new();
        let mut push = |name: String, codes: Codes| {
            if !out.iter().any(|(n, _)| *n == name) {
                out.push((name, codes));
            }
        };
        match &e.kind {
            H::Inlined { def, body } if !named_inside(self.hir, body) => {
                push(self.hir.def(*def).name.clone(), self.codes(e)?);
            }
            H::Inlined { body, .. } => {
                for m in self.members(body)? {
                    push(m.0, m.1);
                }
            }
            H::Union(a, b) => {
                for m in self.members(a)?.into_iter().chain(self.members(b)?) {
                    push(m.0, m.1);
                }
            }
            H::Difference(a, _) => {
                for m in self.members(a)? {
                    push(m.0, m.1);
                }
            }
            H::CodeList(xs) if xs.iter().any(|x| named_inside(self.hir, x)) => {
                for x in xs {
                    for m in self.members(x)? {
                        push(m.0, m.1);
                    }
                }
            }
            _ => push(self.describe_codes(e), self.codes(e)?),
        }
        Ok(out)
    }

    /// Codes written in place, as text (`yj 2432001`, `yj 2432001, 2432002`).
    fn describe_codes(&self, e: &Expr) -> String {
        match &e.kind {
            H::Code {
                system, code, to, ..
            } => match to {
                Some(to) => format!("{} {code}-{to}", system.name()),
                None => format!("{} {code}", system.name()),
            },
            H::CodeList(xs) => {
                let parts: Vec<String> = xs.iter().map(|x| self.describe_codes(x)).collect();
                parts.join(", ")
            }
            _ => "codes".into(),
        }
    }

    /// A short name for an event target: the code set's name, or its codes.
    fn describe_target(&self, e: &Expr) -> String {
        match &e.kind {
            H::Inlined { def, .. } | H::Def(def) => self.hir.def(*def).name.clone(),
            H::Code { system, code, .. } => format!("{} {}", system.name(), code),
            _ => "codes".into(),
        }
    }

    pub(super) fn lab_spec(&mut self, id: DefId) -> Result<cir::LabSpec> {
        let d = self.hir.def(id);
        let DefKind::Lab(item) = &d.kind else {
            return Err(internal(format!("`{}` is not a lab item", d.name)));
        };
        let codes = match &item.codes {
            Some(c) => Some(self.codes(&expand(self.hir, c))?),
            None => None,
        };
        let derived = match &item.derived {
            Some(dv) => Some((
                dv.factors
                    .iter()
                    .map(|f| self.lab_spec(*f))
                    .collect::<Result<_>>()?,
                dv.scale,
            )),
            None => None,
        };
        Ok(cir::LabSpec {
            item: d.name.clone(),
            codes,
            unit: item.unit.map(|u| u.name.to_string()),
            units: item
                .units
                .iter()
                .map(|c| units::Conversion {
                    unit: units::normalise(&c.unit),
                    ..c.clone()
                })
                .collect(),
            reference: cir::Reference {
                male: item.reference.male,
                female: item.reference.female,
                methods: item.reference.methods.clone(),
            },
            derived,
        })
    }

    /// A quantity as a threshold in the item's own unit.
    fn threshold(&mut self, q: &Expr, item: DefId) -> Result<Threshold> {
        match &q.kind {
            H::Quantity {
                value,
                unit: QuantityUnit::Relative(r),
            } => Ok(Threshold::Times(*r, *value)),
            H::Quantity {
                value,
                unit: QuantityUnit::Unit(u),
            } => {
                let DefKind::Lab(lab) = &self.hir.def(item).kind else {
                    return Err(internal("a threshold for something that is not a lab item"));
                };
                let converted = lab
                    .units
                    .iter()
                    .find(|c| units::normalise(&c.unit) == units::normalise(u.name))
                    .map(|c| c.apply(*value))
                    .or_else(|| {
                        lab.unit
                            .and_then(|to| units::factor(u, to))
                            .map(|f| value * f)
                    })
                    .ok_or_else(|| {
                        internal(format!("no conversion from {} for the item", u.name))
                    })?;
                Ok(Threshold::Value(converted))
            }
            H::Inlined { body, .. } => self.threshold(body, item),
            H::Arith { op, lhs, rhs } => {
                // `k * 3 x ULN` and the like: a threshold scaled by a constant.
                let (t, k) = match (number(lhs), number(rhs)) {
                    (Some(k), None) => (self.threshold(rhs, item)?, k),
                    (None, Some(k)) => (
                        self.threshold(lhs, item)?,
                        if *op == BinOp::Div { 1.0 / k } else { k },
                    ),
                    _ => return Err(internal("a threshold that is not a quantity")),
                };
                Ok(match t {
                    Threshold::Value(v) => Threshold::Value(v * k),
                    Threshold::Times(r, v) => Threshold::Times(r, v * k),
                })
            }
            _ => Err(internal(format!(
                "a threshold expected, found an expression of type {}",
                q.ty
            ))),
        }
    }

    pub(super) fn window(&mut self, w: &hir::Window) -> Result<Window> {
        let mut out = Window {
            lo: None,
            hi: None,
            calendar: None,
            overlap: false,
        };
        match w {
            hir::Window::Within {
                duration,
                relation,
                anchor,
            } => {
                let a = self.date(anchor)?;
                let n = days(duration).ok_or_else(|| internal("a window of no fixed length"))?;
                let (lo, hi) = match relation {
                    Relation::Before => (-n, -1),
                    Relation::After => (1, n),
                    Relation::Around => (-n, n),
                    Relation::OnOrBefore => (-n, 0),
                    Relation::OnOrAfter => (0, n),
                    Relation::On => (0, 0),
                };
                out.lo = Some(a.clone().offset(lo));
                out.hi = Some(a.offset(hi));
            }
            hir::Window::Between { from, to } => {
                out.lo = Some(self.date(from)?);
                out.hi = Some(self.date(to)?);
            }
            hir::Window::Relative { relation, anchor } => {
                let a = self.date(anchor)?;
                match relation {
                    Relation::Before => out.hi = Some(a.offset(-1)),
                    Relation::After => out.lo = Some(a.offset(1)),
                    Relation::OnOrBefore => out.hi = Some(a),
                    Relation::OnOrAfter => out.lo = Some(a),
                    Relation::On | Relation::Around => {
                        out.lo = Some(a.clone());
                        out.hi = Some(a);
                    }
                }
            }
            hir::Window::During(_) => {
                out.lo = Some(Date::It);
                out.hi = Some(Date::ItEnd);
            }
            hir::Window::Same { unit, anchor } => {
                let a = self.date(anchor)?;
                match unit {
                    SameUnit::Day => {
                        out.lo = Some(a.clone());
                        out.hi = Some(a);
                    }
                    SameUnit::Month => out.calendar = Some(Calendar::SameMonth(a)),
                    SameUnit::Year => out.calendar = Some(Calendar::SameYear(a)),
                    SameUnit::Stay => out.calendar = Some(Calendar::SameStay(a)),
                }
            }
            hir::Window::Overlapping(w) => {
                out = self.window(w)?;
                if out.calendar.is_some() {
                    return Err(internal("`overlapping` a calendar window"));
                }
                out.overlap = true;
            }
        }
        Ok(out)
    }
}

/// The lab item a grade table grades.
fn r_item(t: &hir::GradeTable) -> DefId {
    t.lab
}

/// The catalogue item an event target names.
fn lab_item(hir: &hir::Hir, target: &Expr) -> Option<DefId> {
    match &target.kind {
        H::Def(id) if hir.def(*id).ty == Type::LabItem => Some(*id),
        _ => None,
    }
}

/// The catalogue item an expanded lab query is about, through filters, windows and selections.
pub(super) fn lab_item_of(hir: &hir::Hir, e: &Expr) -> Option<DefId> {
    match &e.kind {
        H::Event {
            domain: EventDomain::Lab,
            target,
        } => lab_item(hir, target),
        H::Where { expr, .. }
        | H::Window { expr, .. }
        | H::Select { expr, .. }
        | H::Having { expr, .. }
        | H::Inlined { body: expr, .. }
        | H::Compare { lhs: expr, .. }
        | H::Grade { events: expr, .. } => lab_item_of(hir, expr),
        _ => None,
    }
}

/// A checked filter in the CIR's terms.
fn filter_of(f: &hir::Filter) -> Result<cir::Filter> {
    let lit = |l: &hir::Literal| match l {
        hir::Literal::Text(t) => cir::Literal::Text(t.clone()),
        hir::Literal::Number(n) => cir::Literal::Number(*n),
        hir::Literal::Int(n) => cir::Literal::Int(*n),
        hir::Literal::Bool(b) => cir::Literal::Bool(*b),
        hir::Literal::Date(d) => cir::Literal::Date(*d),
    };
    Ok(match f {
        hir::Filter::Column(c) => cir::Filter::Column(c),
        hir::Filter::Compare { column, op, value } => cir::Filter::Compare {
            column,
            op: cmp(*op),
            value: lit(value),
        },
        hir::Filter::In {
            column,
            values,
            negated,
        } => cir::Filter::In {
            column,
            values: values.iter().map(lit).collect(),
            negated: *negated,
        },
        hir::Filter::Not(x) => cir::Filter::Not(Box::new(filter_of(x)?)),
        hir::Filter::And(a, b) => {
            cir::Filter::And(Box::new(filter_of(a)?), Box::new(filter_of(b)?))
        }
        hir::Filter::Or(a, b) => cir::Filter::Or(Box::new(filter_of(a)?), Box::new(filter_of(b)?)),
        hir::Filter::Error => return Err(internal("a filter in error")),
    })
}

/// Pushes a column filter down to the tables it filters; it commutes with windows, value
/// comparisons and `having`, not with choosing one event (`Err` then).
fn push_filter(ev: Events, f: &cir::Filter) -> std::result::Result<Events, ()> {
    Ok(match ev {
        Events::Source(mut s) => {
            s.filters.push(f.clone());
            Events::Source(s)
        }
        Events::Union(es) => Events::Union(
            es.into_iter()
                .map(|e| push_filter(e, f))
                .collect::<std::result::Result<_, _>>()?,
        ),
        Events::Value {
            input,
            op,
            threshold,
        } => Events::Value {
            input: Box::new(push_filter(*input, f)?),
            op,
            threshold,
        },
        Events::Grade {
            input,
            grading,
            rules,
            op,
            grade,
        } => Events::Grade {
            input: Box::new(push_filter(*input, f)?),
            grading,
            rules,
            op,
            grade,
        },
        Events::Window { input, window } => Events::Window {
            input: Box::new(push_filter(*input, f)?),
            window,
        },
        Events::Having { input, cond } => Events::Having {
            input: Box::new(push_filter(*input, f)?),
            cond,
        },
        Events::Pick { .. } => return Err(()),
    })
}
