//! Giving a checked program cohort semantics (stage: HIR → CIR): definitions and parameters
//! inlined, windows turned into inclusive day bounds, filters pushed to their tables, lab
//! thresholds converted into each item's unit, outcome windows defaulted and validation
//! metadata collected.

use std::rc::Rc;

use mid_grammar::ast::{self, Relation, SameUnit, Span};

use crate::cir::{
    self, Calendar, Codes, Cond, Count, Date, Events, Pick, Threshold, Value, Window,
};
use crate::diagnostics::{Diagnostic, Label};
use crate::hir::{self, DefKind, Expr, ExprKind as H, Hir, QuantityUnit};
use crate::source::FileId;
use crate::types::{EventDomain, Type};
use crate::units;

/// Lowers a checked program. Call only when `ast_to_hir` reported no errors.
pub fn hir_to_cir(hir: &Hir) -> (cir::Program, Vec<Diagnostic>) {
    let mut l = Lower {
        hir,
        errors: Vec::new(),
        cohort: None,
        used: Vec::new(),
    };
    let mut p = cir::Program {
        study: hir.study.clone(),
        ..Default::default()
    };
    for id in &hir.script_defs {
        let def = hir.def(*id);
        match &def.kind {
            DefKind::Cohort(c) => {
                l.cohort = Some(CohortInfo {
                    name: def.name.clone(),
                    eras: eras(c),
                });
                if let Some(c) = l.cohort_def(&def.name, c, def.file, def.span) {
                    p.cohorts.push(c);
                }
                l.cohort = None;
            }
            DefKind::Outcome(o) => {
                let cohort = hir.def(o.cohort);
                let DefKind::Cohort(c) = &cohort.kind else {
                    continue;
                };
                l.cohort = Some(CohortInfo {
                    name: cohort.name.clone(),
                    eras: eras(c),
                });
                l.used.clear();
                let env = Env::default();
                let mut events = l.events(&o.value, &env);
                if let Events::Pick {
                    input,
                    pick: Pick::First,
                } = events
                {
                    events = *input;
                }
                if !has_window(&events) {
                    events = Events::Window {
                        input: Box::new(events),
                        window: Window {
                            lo: Some(Date::Index.offset(1)),
                            hi: Some(Date::End),
                            calendar: None,
                        },
                    };
                }
                let mut definitions = std::mem::take(&mut l.used);
                definitions.sort_by(|a, b| a.0.cmp(&b.0));
                definitions.dedup_by(|a, b| a.0 == b.0);
                p.outcomes.push(cir::Outcome {
                    name: def.name.clone(),
                    cohort: cohort.name.clone(),
                    events,
                    definitions,
                });
                l.cohort = None;
            }
            _ => {}
        }
    }
    for e in &hir.exports {
        let cohort = hir.def(e.cohort);
        let DefKind::Cohort(c) = &cohort.kind else {
            continue;
        };
        l.cohort = Some(CohortInfo {
            name: cohort.name.clone(),
            eras: eras(c),
        });
        let env = Env::default();
        let columns = e
            .columns
            .iter()
            .map(|c| (c.name.clone(), l.value(&c.expr, &env)))
            .collect();
        p.exports.push(cir::Export {
            cohort: cohort.name.clone(),
            columns,
        });
        l.cohort = None;
    }
    for r in &hir.reports {
        let first = hir.def(r.cohorts[0]);
        let DefKind::Cohort(c) = &first.kind else {
            continue;
        };
        l.cohort = Some(CohortInfo {
            name: first.name.clone(),
            eras: eras(c),
        });
        let env = Env::default();
        let strata = r
            .strata
            .iter()
            .map(|s| match s {
                hir::Stratum::Sex => cir::Stratum::Sex,
                hir::Stratum::Hospital => cir::Stratum::Hospital,
                hir::Stratum::AgeBand(w) => cir::Stratum::AgeBand(*w),
                hir::Stratum::Year => cir::Stratum::Year,
                hir::Stratum::Month => cir::Stratum::Month,
                hir::Stratum::Period => cir::Stratum::Period,
                hir::Stratum::Cohort => cir::Stratum::Cohort,
                hir::Stratum::TestingHistory(e) => cir::Stratum::TestingHistory(l.events(e, &env)),
                hir::Stratum::Condition { name, cond } => cir::Stratum::Condition {
                    name: name.clone(),
                    cond: l.cond(cond, &env),
                },
            })
            .collect();
        p.reports.push(cir::Report {
            name: r.name.clone(),
            cohorts: r.cohorts.iter().map(|c| hir.def(*c).name.clone()).collect(),
            outcomes: r
                .outcomes
                .iter()
                .map(|o| hir.def(*o).name.clone())
                .collect(),
            strata,
            suppress_below: r.suppress_below,
        });
        l.cohort = None;
    }
    let mut errors = l.errors;
    crate::diagnostics::normalise(&mut errors);
    (p, errors)
}

fn eras(c: &hir::Cohort) -> Vec<String> {
    c.stmts
        .iter()
        .filter_map(|s| match &s.kind {
            hir::StmtKind::Era { name, .. } => Some(name.clone()),
            _ => None,
        })
        .collect()
}

fn has_window(e: &Events) -> bool {
    match e {
        Events::Window { .. } => true,
        Events::Source(_) => false,
        Events::Union(es) => es.iter().any(has_window),
        Events::Value { input, .. }
        | Events::Grade { input, .. }
        | Events::Having { input, .. }
        | Events::Pick { input, .. } => has_window(input),
    }
}

struct CohortInfo {
    name: String,
    eras: Vec<String>,
}

/// Arguments of the definitions being inlined: parameter `i` is `args[i]`, to be lowered in
/// the environment of the call.
#[derive(Clone, Default)]
struct Env {
    args: Rc<Vec<(Expr, Env)>>,
}

struct Lower<'h> {
    hir: &'h Hir,
    errors: Vec<Diagnostic>,
    cohort: Option<CohortInfo>,
    /// Validated definitions met while lowering an outcome.
    used: Vec<(String, hir::Validation)>,
}

impl Lower<'_> {
    fn error(
        &mut self,
        file: FileId,
        span: Span,
        code: &'static str,
        message: String,
        label: &str,
        help: Option<String>,
    ) {
        let mut d = Diagnostic::error(code, message, Label::new(file, span, label));
        if let Some(h) = help {
            d = d.with_help(h);
        }
        self.errors.push(d);
    }

    fn cohort_def(
        &mut self,
        name: &str,
        c: &hir::Cohort,
        file: FileId,
        span: Span,
    ) -> Option<cir::Cohort> {
        let env = Env::default();
        let mut entry = None;
        let mut eras = Vec::new();
        let mut steps = Vec::new();
        let mut end = None;
        let mut periods = None;
        for s in &c.stmts {
            match &s.kind {
                hir::StmtKind::Index(e) => {
                    let ev = self.events(e, &env);
                    let (pick, events) = match ev {
                        Events::Pick { input, pick } => (pick, *input),
                        other => (Pick::Every, other),
                    };
                    entry = Some(cir::Entry {
                        pick,
                        events,
                        text: s.text.clone(),
                    });
                }
                hir::StmtKind::Require { label, cond } | hir::StmtKind::Exclude { label, cond } => {
                    let exclude = matches!(s.kind, hir::StmtKind::Exclude { .. });
                    let c = self.cond(cond, &env);
                    let kw = if exclude { "exclude" } else { "require" };
                    let label = match label {
                        Some(l) => format!("{kw} \"{l}\""),
                        None => one_line(&s.text),
                    };
                    steps.push(cir::Step {
                        label,
                        exclude,
                        cond: c,
                    });
                }
                hir::StmtKind::End(e) => end = Some(self.date(e, &env)),
                hir::StmtKind::Era {
                    name,
                    events,
                    gap,
                    grace,
                } => {
                    let ev = self.events(events, &env);
                    eras.push(cir::Era {
                        name: name.clone(),
                        events: ev,
                        gap: *gap,
                        grace: *grace,
                    });
                }
                hir::StmtKind::Periods {
                    length,
                    from,
                    until,
                    then_until,
                } => {
                    let from_d = self.date(from, &env);
                    let until_d = self.date(until, &env);
                    let (fb, fo) = split_offset(&from_d);
                    let (ub, uo) = split_offset(&until_d);
                    if fb != ub || uo < fo {
                        self.error(
                            until.file,
                            until.span,
                            "E0306",
                            "periods need a fixed length of follow-up".into(),
                            "not a fixed number of days after the start",
                            Some("write e.g. `periods of 14 days from index + 1 day until index + 140 days`; add `then until end` for the rest".into()),
                        );
                        continue;
                    }
                    let days = uo - fo + 1;
                    let count = ((days + length - 1) / length) as u32;
                    let last_until = then_until.as_ref().map(|t| self.date(t, &env));
                    periods = Some(cir::Periods {
                        length: *length,
                        from: from_d,
                        count,
                        last_until,
                    });
                }
            }
        }
        let Some(entry) = entry else {
            self.error(
                file,
                span,
                "E0301",
                format!("cohort `{name}` has no index"),
                "no index",
                None,
            );
            return None;
        };
        Some(cir::Cohort {
            name: name.to_string(),
            at: Some((file, span)),
            entry,
            eras,
            steps,
            end,
            periods,
        })
    }

    // ---- code sets

    fn codes(&mut self, e: &Expr, env: &Env) -> Option<Codes> {
        match &e.kind {
            H::Code {
                system,
                domain,
                code,
                to,
            } => Some(Codes::Match {
                system: *system,
                domain: *domain,
                code: code.clone(),
                to: to.clone(),
            }),
            H::CodeList(items) => Some(Codes::Any(
                items.iter().filter_map(|i| self.codes(i, env)).collect(),
            )),
            H::Union(a, b) => {
                let mut out = Vec::new();
                for x in [a, b] {
                    match self.codes(x, env)? {
                        Codes::Any(mut xs) => out.append(&mut xs),
                        c => out.push(c),
                    }
                }
                Some(Codes::Any(out))
            }
            H::Difference(a, b) => Some(Codes::Except(
                Box::new(self.codes(a, env)?),
                Box::new(self.codes(b, env)?),
            )),
            H::Def(id) => match &self.hir.def(*id).kind {
                DefKind::Codes(x) => self.codes(x, &Env::default()),
                DefKind::Value {
                    params: None, body, ..
                } => self.codes(body, &Env::default()),
                _ => None,
            },
            H::Param(i) => {
                let (arg, aenv) = env.args.get(*i)?.clone();
                self.codes(&arg, &aenv)
            }
            H::Call { def, args } => {
                let (body, cenv) = self.inline(*def, args, env)?;
                self.codes(&body, &cenv)
            }
            _ => None,
        }
    }

    /// The body of a called definition and the environment binding its parameters.
    fn inline(&mut self, def: hir::DefId, args: &[Expr], env: &Env) -> Option<(Expr, Env)> {
        let d = self.hir.def(def);
        let DefKind::Value {
            params: Some(params),
            body,
            validation,
        } = &d.kind
        else {
            return None;
        };
        if let Some(v) = validation {
            self.used.push((d.qualified(), v.clone()));
        }
        let mut bound = Vec::new();
        for (i, p) in params.iter().enumerate() {
            match args.get(i) {
                Some(a) => bound.push((a.clone(), env.clone())),
                None => bound.push((p.default.clone()?, Env::default())),
            }
        }
        Some((
            body.clone(),
            Env {
                args: Rc::new(bound),
            },
        ))
    }

    fn lab_spec(&mut self, id: hir::DefId) -> Option<cir::LabSpec> {
        let d = self.hir.def(id);
        let DefKind::Lab(item) = &d.kind else {
            return None;
        };
        let codes = item
            .codes
            .as_ref()
            .and_then(|c| self.codes(c, &Env::default()));
        let derived = match &item.derived {
            Some(dv) => {
                let mut parts = Vec::new();
                for f in &dv.factors {
                    parts.push(self.lab_spec(*f)?);
                }
                Some((parts, dv.scale))
            }
            None => None,
        };
        Some(cir::LabSpec {
            item: d.name.clone(),
            codes,
            unit: item.unit.map(|u| u.name.to_string()),
            units: item
                .units
                .iter()
                .map(|(n, f)| (units::normalise(n), *f))
                .collect(),
            reference: item.reference.clone(),
            derived,
        })
    }

    // ---- events

    fn events(&mut self, e: &Expr, env: &Env) -> Events {
        match &e.kind {
            H::Event { domain, target } => {
                let text = String::new();
                let mut src = cir::Source {
                    domain: *domain,
                    codes: None,
                    filters: vec![],
                    visit_kind: None,
                    lab: None,
                    text,
                    at: Some((e.file, e.span)),
                };
                match &target.kind {
                    H::VisitKind(k) => src.visit_kind = k.clone(),
                    _ if *domain == EventDomain::Lab && self.lab_item(target, env).is_some() => {
                        let id = self.lab_item(target, env).expect("checked just above");
                        src.lab = self.lab_spec(id);
                        src.text = self.hir.def(id).name.clone();
                    }
                    _ => {
                        src.codes = self.codes(target, env);
                        src.text = describe_target(self.hir, target);
                    }
                }
                Events::Source(Box::new(src))
            }
            H::Where { expr, filter } => {
                let inner = self.events(expr, env);
                match push_filter(inner, filter) {
                    Ok(ev) => ev,
                    Err(ev) => {
                        self.error(
                            e.file,
                            e.span,
                            "E0311",
                            "a `where` filter after choosing one event".into(),
                            "filters the chosen event",
                            Some(
                                "filter before choosing: `first diagnosis x where not suspected`"
                                    .into(),
                            ),
                        );
                        ev
                    }
                }
            }
            H::Compare { op, lhs, rhs } if lhs.ty == Type::Grades => {
                let H::Grade { grading, events } = &lhs.kind else {
                    return self.never(e);
                };
                let input = self.events(events, env);
                let item = self.lab_item_of(events, env);
                let g = self.hir.def(*grading);
                let DefKind::Grading(gr) = &g.kind else {
                    return self.never(e);
                };
                let rules = gr
                    .tables
                    .iter()
                    .find(|t| Some(t.lab) == item)
                    .map(|t| {
                        t.rules
                            .iter()
                            .map(|r| (r.grade, r.op, self.threshold(&r.value, t.lab)))
                            .collect()
                    })
                    .unwrap_or_default();
                let grade = self.number(rhs, env).unwrap_or(0.0);
                Events::Grade {
                    input: Box::new(input),
                    grading: g.name.clone(),
                    rules,
                    op: *op,
                    grade,
                }
            }
            H::Compare { op, lhs, rhs } => {
                let input = self.events(lhs, env);
                let Some(item) = self.lab_item_of(lhs, env) else {
                    return input;
                };
                let threshold = self.threshold_env(rhs, item, env);
                Events::Value {
                    input: Box::new(input),
                    op: *op,
                    threshold,
                }
            }
            H::Window { expr, window } => {
                let input = self.events(expr, env);
                let w = self.window(window, env);
                Events::Window {
                    input: Box::new(input),
                    window: w,
                }
            }
            H::Having { expr, cond } => {
                let input = self.events(expr, env);
                let c = self.cond(cond, env);
                Events::Having {
                    input: Box::new(input),
                    cond: Box::new(c),
                }
            }
            H::Select { selector, expr } => {
                let input = self.events(expr, env);
                let pick = match selector {
                    hir::Selector::First => Pick::First,
                    hir::Selector::Last => Pick::Last,
                    hir::Selector::Nth(n) => Pick::Nth(*n),
                    _ => return input,
                };
                Events::Pick {
                    input: Box::new(input),
                    pick,
                }
            }
            H::Or(a, b) => {
                let mut out = Vec::new();
                for x in [a, b] {
                    match self.events(x, env) {
                        Events::Union(mut xs) => out.append(&mut xs),
                        ev => out.push(ev),
                    }
                }
                Events::Union(out)
            }
            H::Def(id) => {
                let d = self.hir.def(*id);
                match &d.kind {
                    DefKind::Value {
                        params: None,
                        body,
                        validation,
                    } => {
                        if let Some(v) = validation {
                            self.used.push((d.qualified(), v.clone()));
                        }
                        let body = body.clone();
                        self.events(&body, &Env::default())
                    }
                    _ => self.never(e),
                }
            }
            H::Param(i) => match env.args.get(*i).cloned() {
                Some((arg, aenv)) => self.events(&arg, &aenv),
                None => self.never(e),
            },
            H::Call { def, args } => match self.inline(*def, args, env) {
                Some((body, cenv)) => self.events(&body, &cenv),
                None => self.never(e),
            },
            _ => self.never(e),
        }
    }

    /// A checked program never reaches here; an empty union keeps going without a panic.
    fn never(&mut self, _e: &Expr) -> Events {
        Events::Union(vec![])
    }

    fn lab_item(&self, target: &Expr, env: &Env) -> Option<hir::DefId> {
        match &target.kind {
            H::Def(id) if self.hir.def(*id).ty == Type::LabItem => Some(*id),
            H::Param(i) => {
                let (arg, aenv) = env.args.get(*i)?;
                self.lab_item(arg, aenv)
            }
            _ => None,
        }
    }

    fn lab_item_of(&self, e: &Expr, env: &Env) -> Option<hir::DefId> {
        match &e.kind {
            H::Event {
                domain: EventDomain::Lab,
                target,
            } => self.lab_item(target, env),
            H::Where { expr, .. }
            | H::Window { expr, .. }
            | H::Select { expr, .. }
            | H::Having { expr, .. } => self.lab_item_of(expr, env),
            H::Compare { lhs, .. } => self.lab_item_of(lhs, env),
            H::Grade { events, .. } => self.lab_item_of(events, env),
            H::Def(id) => match &self.hir.def(*id).kind {
                DefKind::Value {
                    params: None, body, ..
                } => self.lab_item_of(body, &Env::default()),
                _ => None,
            },
            H::Param(i) => {
                let (arg, aenv) = env.args.get(*i)?;
                self.lab_item_of(arg, aenv)
            }
            H::Call { def, args } => {
                let d = self.hir.def(*def);
                let DefKind::Value {
                    params: Some(_),
                    body,
                    ..
                } = &d.kind
                else {
                    return None;
                };
                let bound: Vec<(Expr, Env)> =
                    args.iter().map(|a| (a.clone(), env.clone())).collect();
                self.lab_item_of(
                    body,
                    &Env {
                        args: Rc::new(bound),
                    },
                )
            }
            _ => None,
        }
    }

    fn threshold(&mut self, q: &Expr, item: hir::DefId) -> Threshold {
        self.threshold_env(q, item, &Env::default())
    }

    /// A quantity as a threshold in the item's own unit.
    fn threshold_env(&mut self, q: &Expr, item: hir::DefId, env: &Env) -> Threshold {
        match &q.kind {
            H::Quantity {
                value,
                unit: QuantityUnit::Relative(r),
            } => Threshold::Times(*r, *value),
            H::Quantity {
                value,
                unit: QuantityUnit::Unit(u),
            } => {
                let DefKind::Lab(lab) = &self.hir.def(item).kind else {
                    return Threshold::Value(*value);
                };
                let factor = lab
                    .units
                    .iter()
                    .find(|(n, _)| units::normalise(n) == units::normalise(u.name))
                    .map(|(_, f)| *f)
                    .or_else(|| lab.unit.and_then(|to| units::factor(u, to)))
                    .unwrap_or(1.0);
                Threshold::Value(value * factor)
            }
            H::Param(i) => match env.args.get(*i).cloned() {
                Some((arg, aenv)) => self.threshold_env(&arg, item, &aenv),
                None => Threshold::Value(0.0),
            },
            H::Def(id) => match &self.hir.def(*id).kind {
                DefKind::Value {
                    params: None, body, ..
                } => {
                    let body = body.clone();
                    self.threshold_env(&body, item, &Env::default())
                }
                _ => Threshold::Value(0.0),
            },
            H::Arith { op, lhs, rhs } => {
                // `k * 3 x ULN` and the like: scale a threshold by a constant.
                let (t, k) = match (self.number(lhs, env), self.number(rhs, env)) {
                    (Some(k), None) => (self.threshold_env(rhs, item, env), k),
                    (None, Some(k)) => (
                        self.threshold_env(lhs, item, env),
                        if *op == ast::BinOp::Div { 1.0 / k } else { k },
                    ),
                    _ => return Threshold::Value(0.0),
                };
                match t {
                    Threshold::Value(v) => Threshold::Value(v * k),
                    Threshold::Times(r, v) => Threshold::Times(r, v * k),
                }
            }
            _ => Threshold::Value(0.0),
        }
    }

    fn number(&mut self, e: &Expr, env: &Env) -> Option<f64> {
        match &e.kind {
            H::Number(n) => Some(*n),
            H::Param(i) => {
                let (arg, aenv) = env.args.get(*i).cloned()?;
                self.number(&arg, &aenv)
            }
            H::Def(id) => match &self.hir.def(*id).kind {
                DefKind::Value {
                    params: None, body, ..
                } => {
                    let body = body.clone();
                    self.number(&body, &Env::default())
                }
                _ => None,
            },
            H::Arith { op, lhs, rhs } => {
                let a = self.number(lhs, env)?;
                let b = self.number(rhs, env)?;
                Some(match op {
                    ast::BinOp::Add => a + b,
                    ast::BinOp::Sub => a - b,
                    ast::BinOp::Mul => a * b,
                    _ => a / b,
                })
            }
            _ => None,
        }
    }

    fn duration(&mut self, e: &Expr, env: &Env) -> Option<i64> {
        match &e.kind {
            H::Duration(d) => Some(*d),
            H::Param(i) => {
                let (arg, aenv) = env.args.get(*i).cloned()?;
                self.duration(&arg, &aenv)
            }
            H::Def(id) => match &self.hir.def(*id).kind {
                DefKind::Value {
                    params: None, body, ..
                } => {
                    let body = body.clone();
                    self.duration(&body, &Env::default())
                }
                _ => None,
            },
            H::Arith { op, lhs, rhs } => {
                let a = self
                    .duration(lhs, env)
                    .map(|x| x as f64)
                    .or_else(|| self.number(lhs, env))?;
                let b = self
                    .duration(rhs, env)
                    .map(|x| x as f64)
                    .or_else(|| self.number(rhs, env))?;
                let v = match op {
                    ast::BinOp::Add => a + b,
                    ast::BinOp::Sub => a - b,
                    ast::BinOp::Mul => a * b,
                    _ => a / b,
                };
                Some(v.round() as i64)
            }
            _ => None,
        }
    }

    fn window(&mut self, w: &hir::Window, env: &Env) -> Window {
        let mut out = Window {
            lo: None,
            hi: None,
            calendar: None,
        };
        match w {
            hir::Window::Within {
                duration,
                relation,
                anchor,
            } => {
                let a = self.date(anchor, env);
                let n = self.duration(duration, env).unwrap_or(0);
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
                out.lo = Some(self.date(from, env));
                out.hi = Some(self.date(to, env));
            }
            hir::Window::Relative { relation, anchor } => {
                let a = self.date(anchor, env);
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
                let a = self.date(anchor, env);
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
        }
        out
    }

    // ---- dates, conditions, values

    fn date(&mut self, e: &Expr, env: &Env) -> Date {
        match &e.kind {
            H::Anchor(a) => match a {
                hir::Anchor::Index => Date::Index,
                hir::Anchor::End => Date::End,
                hir::Anchor::It => Date::It,
                hir::Anchor::StartOfObservation => Date::StartOfObservation,
                hir::Anchor::EndOfObservation => Date::EndOfObservation,
                hir::Anchor::EraStart(n) | hir::Anchor::EraEnd(n) => {
                    let known = self.cohort.as_ref().is_some_and(|c| c.eras.contains(n));
                    if !known {
                        let cohort = self
                            .cohort
                            .as_ref()
                            .map(|c| c.name.clone())
                            .unwrap_or_default();
                        self.error(
                            e.file,
                            e.span,
                            "E0309",
                            format!("cohort `{cohort}` has no era `{n}`"),
                            "no such era here",
                            Some(format!(
                                "declare it in the cohort: `era {n} = drug … gap 30 days`"
                            )),
                        );
                    }
                    if matches!(a, hir::Anchor::EraStart(_)) {
                        Date::EraStart(n.clone())
                    } else {
                        Date::EraEnd(n.clone())
                    }
                }
            },
            H::Builtin(hir::Builtin::Death) => Date::Death,
            H::Date(d) => Date::Literal(*d),
            H::Arith { op, lhs, rhs } => {
                let (d, n) = if lhs.ty == Type::Date || lhs.ty.events().is_some() {
                    (lhs, rhs)
                } else {
                    (rhs, lhs)
                };
                let base = self.date(d, env);
                let days = self.duration(n, env).unwrap_or(0);
                base.offset(if *op == ast::BinOp::Sub { -days } else { days })
            }
            H::Extreme { latest, args } => {
                let ds = args.iter().map(|a| self.date(a, env)).collect();
                if *latest {
                    Date::Latest(ds)
                } else {
                    Date::Earliest(ds)
                }
            }
            H::Def(id) => match &self.hir.def(*id).kind {
                DefKind::Value {
                    params: None, body, ..
                } if body.ty == Type::Date => {
                    let body = body.clone();
                    self.date(&body, &Env::default())
                }
                _ => Date::Event(Box::new(self.events(e, env))),
            },
            H::Param(i) => match env.args.get(*i).cloned() {
                Some((arg, aenv)) => self.date(&arg, &aenv),
                None => Date::Index,
            },
            H::Call { def, args } if e.ty == Type::Date => match self.inline(*def, args, env) {
                Some((body, cenv)) => self.date(&body, &cenv),
                None => Date::Index,
            },
            _ => Date::Event(Box::new(self.events(e, env))),
        }
    }

    fn cond(&mut self, e: &Expr, env: &Env) -> Cond {
        match &e.kind {
            H::Bool(b) => Cond::Const(*b),
            H::And(a, b) => Cond::And(Box::new(self.cond(a, env)), Box::new(self.cond(b, env))),
            H::Or(a, b) if e.ty == Type::Bool => {
                Cond::Or(Box::new(self.cond(a, env)), Box::new(self.cond(b, env)))
            }
            H::Not(a) => Cond::Not(Box::new(self.cond(a, env))),
            H::Select { selector, expr } if e.ty == Type::Bool => {
                let events = self.events(expr, env);
                let unit = |u: hir::CountUnit| match u {
                    hir::CountUnit::Days => cir::CountUnit::Days,
                    hir::CountUnit::Visits => cir::CountUnit::Visits,
                    hir::CountUnit::Records => cir::CountUnit::Records,
                };
                let count = match selector {
                    hir::Selector::No => Count::None,
                    hir::Selector::AtLeast(n, u) => Count::AtLeast(*n, unit(*u)),
                    hir::Selector::AtMost(n, u) => Count::AtMost(*n, unit(*u)),
                    hir::Selector::Exactly(n, u) => Count::Exactly(*n, unit(*u)),
                    _ => Count::Any,
                };
                Cond::Exists { events, count }
            }
            H::Observed {
                days,
                direction,
                anchor,
            } => {
                let anchor = self.date(anchor, env);
                Cond::Observed {
                    days: *days,
                    before: *direction == ast::Direction::Before,
                    anchor,
                }
            }
            H::Window { expr, window } if expr.ty == Type::Date => {
                let date = self.date(expr, env);
                let window = self.window(window, env);
                Cond::DateIn { date, window }
            }
            H::Compare { op, lhs, rhs } if e.ty == Type::Bool => {
                let l = self.value(lhs, env);
                let r = self.value(rhs, env);
                Cond::Compare {
                    lhs: l,
                    op: *op,
                    rhs: r,
                }
            }
            H::Def(id) => match &self.hir.def(*id).kind {
                DefKind::Value {
                    params: None, body, ..
                } if body.ty == Type::Bool => {
                    let body = body.clone();
                    self.cond(&body, &Env::default())
                }
                _ => Cond::Exists {
                    events: self.events(e, env),
                    count: Count::Any,
                },
            },
            H::Param(i) => match env.args.get(*i).cloned() {
                Some((arg, aenv)) => self.cond(&arg, &aenv),
                None => Cond::Const(false),
            },
            H::Call { def, args } if e.ty == Type::Bool => match self.inline(*def, args, env) {
                Some((body, cenv)) => self.cond(&body, &cenv),
                None => Cond::Const(false),
            },
            _ if e.ty.events().is_some() => Cond::Exists {
                events: self.events(e, env),
                count: Count::Any,
            },
            _ => Cond::Const(false),
        }
    }

    fn value(&mut self, e: &Expr, env: &Env) -> Value {
        match (&e.kind, e.ty) {
            (H::Number(n), _) => Value::Number(*n),
            (H::Text(t), _) => Value::Text(t.clone()),
            (H::Bool(b), _) => Value::Bool(*b),
            (H::AgeAt(d), _) => Value::Age(self.date(d, env)),
            (H::Builtin(hir::Builtin::Sex), _) => Value::Sex,
            (H::Builtin(hir::Builtin::Hospital), _) => Value::Hospital,
            (H::Def(id), Type::Outcome) => Value::Outcome(self.hir.def(*id).name.clone()),
            (H::Param(i), _) => match env.args.get(*i).cloned() {
                Some((arg, aenv)) => self.value(&arg, &aenv),
                None => Value::Number(0.0),
            },
            (_, Type::Number) => Value::Number(self.number(e, env).unwrap_or(0.0)),
            (_, Type::Date) => Value::Date(self.date(e, env)),
            (_, Type::Events(_)) if crate::check::selects_one(e) => Value::Date(self.date(e, env)),
            _ => Value::Cond(Box::new(self.cond(e, env))),
        }
    }
}

/// Splits `anchor + n` into the anchor and n.
fn split_offset(d: &Date) -> (Date, i64) {
    match d {
        Date::Offset(b, n) => (*b.clone(), *n),
        other => (other.clone(), 0),
    }
}

/// Pushes a column filter down to the tables it filters; it commutes with windows, value
/// comparisons and `having`, not with choosing one event (`Err` then).
fn push_filter(ev: Events, f: &hir::Filter) -> Result<Events, Events> {
    match ev {
        Events::Source(mut s) => {
            s.filters.push(f.clone());
            Ok(Events::Source(s))
        }
        Events::Union(es) => {
            let mut out = Vec::new();
            let mut ok = true;
            for e in es {
                match push_filter(e, f) {
                    Ok(e) => out.push(e),
                    Err(e) => {
                        ok = false;
                        out.push(e);
                    }
                }
            }
            if ok {
                Ok(Events::Union(out))
            } else {
                Err(Events::Union(out))
            }
        }
        Events::Value {
            input,
            op,
            threshold,
        } => push_filter(*input, f)
            .map(|i| Events::Value {
                input: Box::new(i),
                op,
                threshold: threshold.clone(),
            })
            .map_err(|i| Events::Value {
                input: Box::new(i),
                op,
                threshold,
            }),
        Events::Grade {
            input,
            grading,
            rules,
            op,
            grade,
        } => match push_filter(*input, f) {
            Ok(i) => Ok(Events::Grade {
                input: Box::new(i),
                grading,
                rules,
                op,
                grade,
            }),
            Err(i) => Err(Events::Grade {
                input: Box::new(i),
                grading,
                rules,
                op,
                grade,
            }),
        },
        Events::Window { input, window } => match push_filter(*input, f) {
            Ok(i) => Ok(Events::Window {
                input: Box::new(i),
                window,
            }),
            Err(i) => Err(Events::Window {
                input: Box::new(i),
                window,
            }),
        },
        Events::Having { input, cond } => match push_filter(*input, f) {
            Ok(i) => Ok(Events::Having {
                input: Box::new(i),
                cond,
            }),
            Err(i) => Err(Events::Having {
                input: Box::new(i),
                cond,
            }),
        },
        pick @ Events::Pick { .. } => Err(pick),
    }
}

fn one_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// A short name for an event target: the code set's name, or its codes.
fn describe_target(hir: &Hir, e: &Expr) -> String {
    match &e.kind {
        H::Def(id) => hir.def(*id).name.clone(),
        H::Code { system, code, .. } => format!("{} {}", system.name(), code),
        _ => "codes".into(),
    }
}
