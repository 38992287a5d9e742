//! Checking expressions (stage: AST → HIR): names, types, codes, units, windows and filters.

use mid_grammar::ast::{self, BinOp, CmpOp, ExprKind as A};

use super::{CheckError, Checker, Cx, suggest};
use crate::cdm::{Column, ColumnType};
use crate::codes::{CodeDomain, CodeError, System};
use crate::hir::{self, Builtin, Expr, ExprKind as H, Filter, Literal, QuantityUnit};
use crate::types::{Domains, EventDomain, Measure, Type};
use crate::units::{self, Relative};

impl Checker<'_> {
    pub(crate) fn mk(&self, kind: H, ty: Type, e: &ast::Expr, cx: &Cx) -> Expr {
        Expr {
            kind,
            ty,
            span: e.span,
            file: cx.file,
        }
    }

    pub(crate) fn err_expr(&self, e: &ast::Expr, cx: &Cx) -> Expr {
        self.mk(H::Error, Type::Error, e, cx)
    }

    /// Checks any expression.
    pub(crate) fn expr(&mut self, e: &ast::Expr, cx: &Cx) -> Expr {
        match &e.kind {
            A::Name(i) => self.name(i, e, cx),
            A::Path(p) => self.path(p, e, cx),
            A::Number(n) => self.mk(H::Number(n.value()), Type::Number, e, cx),
            A::Quantity { value, unit } => self.quantity(value, unit, e, cx),
            A::Date(d) => match crate::dates::parse(d) {
                Some(days) => self.mk(H::Date(days), Type::Date, e, cx),
                None => {
                    self.error(CheckError::Invalid {
                        at: (cx.file, e.span),
                        message: format!("{d} is not a date"),
                        label: "no such day".into(),
                        help: Some("dates are written YYYY-MM-DD".into()),
                    });
                    self.err_expr(e, cx)
                }
            },
            A::Str(s) => self.mk(H::Text(s.clone()), Type::Text, e, cx),
            A::Bool(b) => self.mk(H::Bool(*b), Type::Bool, e, cx),
            A::CodeLit { system, code, to } => self.code_lit(system, code, to.as_ref(), e, cx),
            A::Call { callee, args } => self.call(callee, args, e, cx),
            A::Binary { op, lhs, rhs } => self.binary(*op, lhs, rhs, e, cx),
            A::Not(inner) => {
                let x = self.expr(inner, cx);
                let x = self.settle(x, cx);
                let x = self.condition(x, "`not`");
                self.mk(H::Not(Box::new(x)), Type::Bool, e, cx)
            }
            A::In {
                lhs,
                values,
                negated,
            } => self.in_list(lhs, values, *negated, e, cx),
            A::Event { domain, target } => self.event(*domain, target, e, cx),
            A::Select { selector, expr } => self.select(selector, expr, e, cx),
            A::Where { expr, filter } => {
                let x = self.expr(expr, cx);
                let filter = match x.ty {
                    Type::Events(d) => match d.single() {
                        Some(dom) => self.filter(filter, dom, cx),
                        None => {
                            self.error(CheckError::Invalid {
                                at: (cx.file, expr.span),
                                message: "`where` filters one kind of event".into(),
                                label: format!("this has {d} events"),
                                help: Some(
                                    "filter each kind separately, then combine them with `or`"
                                        .into(),
                                ),
                            });
                            Filter::Error
                        }
                    },
                    Type::Error => Filter::Error,
                    other => {
                        self.mismatch(&x, "events", other, "`where`", None);
                        Filter::Error
                    }
                };
                let ty = if matches!(filter, Filter::Error) && x.ty.events().is_none() {
                    Type::Error
                } else {
                    x.ty
                };
                self.mk(
                    H::Where {
                        expr: Box::new(x),
                        filter,
                    },
                    ty,
                    e,
                    cx,
                )
            }
            A::Having { expr, cond } => {
                let x = self.expr(expr, cx);
                let it = match x.ty {
                    Type::Events(d) => Some(d),
                    Type::Error => None,
                    other => {
                        self.mismatch(&x, "events", other, "`having`", None);
                        None
                    }
                };
                let mut inner = cx.clone();
                inner.it = it.or(Some(Domains::default()));
                let c = self.expr(cond, &inner);
                let c = self.condition(c, "`having`");
                let ty = if it.is_some() { x.ty } else { Type::Error };
                self.mk(
                    H::Having {
                        expr: Box::new(x),
                        cond: Box::new(c),
                    },
                    ty,
                    e,
                    cx,
                )
            }
            A::Window { expr, window } => self.window(expr, window, e, cx),
            A::Anchor(a) => self.anchor(a, e, cx),
            A::AgeAt(a) => {
                let x = self.expr(a, cx);
                let x = self.date(x, "`age at`");
                self.mk(H::AgeAt(Box::new(x)), Type::Number, e, cx)
            }
            A::Observed {
                duration,
                direction,
                anchor,
            } => {
                let d = self.expr(duration, cx);
                let days = self.const_duration(&d, "`observed`");
                let a = self.expr(anchor, cx);
                let a = self.date(a, "`observed`");
                self.mk(
                    H::Observed {
                        days: days.unwrap_or(0),
                        direction: *direction,
                        anchor: Box::new(a),
                    },
                    Type::Bool,
                    e,
                    cx,
                )
            }
            A::Paren(inner) => {
                let x = self.expr(inner, cx);
                Expr { span: e.span, ..x }
            }
            A::Error => self.err_expr(e, cx),
        }
    }

    fn name(&mut self, i: &ast::Ident, e: &ast::Expr, cx: &Cx) -> Expr {
        if let Some(pos) = cx.params.iter().position(|(n, _)| *n == i.name) {
            let ty = cx.params[pos].1;
            return self.mk(H::Param(pos), ty, e, cx);
        }
        let scope = &self.scopes[cx.scope];
        let found = scope
            .own
            .get(&i.name)
            .or_else(|| scope.imported.get(&i.name))
            .copied();
        if let Some(id) = found {
            let ty = self.ensure(id, (cx.file, i.span));
            return self.mk(H::Def(id), ty, e, cx);
        }
        if let Some(b) = Builtin::ALL.into_iter().find(|b| b.name() == i.name) {
            let ty = match b {
                Builtin::Death => Type::Date,
                Builtin::Sex | Builtin::Hospital => Type::Text,
                Builtin::Earliest | Builtin::Latest => {
                    self.error(CheckError::Invalid {
                        at: (cx.file, e.span),
                        message: format!("`{}` is a function", b.name()),
                        label: "needs arguments".into(),
                        help: Some(format!("write `{}(a, b, …)`", b.name())),
                    });
                    return self.err_expr(e, cx);
                }
            };
            return self.mk(H::Builtin(b), ty, e, cx);
        }
        if self.scopes[cx.scope].modules.contains_key(&i.name) {
            self.error(CheckError::Invalid {
                at: (cx.file, e.span),
                message: format!("`{}` is a module", i.name),
                label: "a module, not a value".into(),
                help: Some(format!("name one of its definitions: `{}.…`", i.name)),
            });
            return self.err_expr(e, cx);
        }
        // A bare word that names nothing may be a value of a coded column (`inpatient`, `F`);
        // the comparison it is in checks that.
        self.mk(H::Word(i.name.clone()), Type::Word, e, cx)
    }

    /// Reports a word that ended up where a value was needed as an unknown name.
    pub(crate) fn unknown_word(&mut self, x: &Expr, cx: &Cx) {
        if let H::Word(w) = &x.kind {
            let names = self.visible_names(cx);
            let suggestion = suggest(w, names.iter().map(String::as_str));
            self.error(CheckError::UnknownName {
                at: (x.file, x.span),
                name: w.clone(),
                suggestion,
            });
        }
    }

    /// A word left where a value is needed, with no scope at hand for a suggestion: an
    /// unknown name.
    fn stray_word(&mut self, x: Expr) -> Expr {
        if let H::Word(w) = &x.kind {
            self.error(CheckError::UnknownName {
                at: (x.file, x.span),
                name: w.clone(),
                suggestion: None,
            });
        }
        poisoned(x)
    }

    /// Turns a leftover word into an error (unknown name) so it does not travel on.
    pub(crate) fn settle(&mut self, x: Expr, cx: &Cx) -> Expr {
        if x.ty == Type::Word {
            self.unknown_word(&x, cx);
            return poisoned(x);
        }
        x
    }

    fn path(&mut self, p: &[ast::Ident], e: &ast::Expr, cx: &Cx) -> Expr {
        let module = &p[0];
        let Some(scope) = self.scopes[cx.scope].modules.get(&module.name).copied() else {
            let names = self.visible_names(cx);
            let suggestion = suggest(&module.name, names.iter().map(String::as_str));
            self.error(CheckError::UnknownName {
                at: (cx.file, module.span),
                name: module.name.clone(),
                suggestion: suggestion
                    .or_else(|| Some(format!("import {}", module.name)))
                    .filter(|_| true),
            });
            return self.err_expr(e, cx);
        };
        if p.len() != 2 {
            self.error(CheckError::Invalid {
                at: (cx.file, e.span),
                message: "a path names a module and one of its definitions".into(),
                label: "too many parts".into(),
                help: None,
            });
            return self.err_expr(e, cx);
        }
        let name = &p[1];
        match self.scopes[scope].own.get(&name.name).copied() {
            Some(id) => {
                let ty = self.ensure(id, (cx.file, name.span));
                self.mk(H::Def(id), ty, e, cx)
            }
            None => {
                let suggestion = suggest(
                    &name.name,
                    self.scopes[scope].own.keys().map(String::as_str),
                );
                self.error(CheckError::NotInModule {
                    at: (cx.file, name.span),
                    module: module.name.clone(),
                    name: name.name.clone(),
                    suggestion,
                });
                self.err_expr(e, cx)
            }
        }
    }

    fn quantity(&mut self, value: &ast::Number, unit: &ast::Unit, e: &ast::Expr, cx: &Cx) -> Expr {
        let v = value.value();
        if let Some(days) = units::duration_days(&unit.text) {
            return self.mk(
                H::Duration((v * days as f64).round() as i64),
                Type::Duration,
                e,
                cx,
            );
        }
        if let Some(rel) = unit.text.strip_prefix("x ") {
            return match Relative::parse(rel) {
                Some(r) => self.mk(
                    H::Quantity {
                        value: v,
                        unit: QuantityUnit::Relative(r),
                    },
                    Type::Quantity(Measure::Relative(r)),
                    e,
                    cx,
                ),
                None => {
                    let suggestion = suggest(rel, Relative::WORDS.iter().copied());
                    self.error(CheckError::UnknownUnit {
                        at: (cx.file, unit.span),
                        unit: format!("x {rel}"),
                        suggestion: suggestion.map(|s| format!("x {s}")),
                    });
                    self.err_expr(e, cx)
                }
            };
        }
        // `10 x10^4/uL` is 10 in units of 10^4/uL.
        match units::lookup(&unit.text) {
            Some(u) => self.mk(
                H::Quantity {
                    value: v,
                    unit: QuantityUnit::Unit(u),
                },
                Type::Quantity(Measure::Dim(u.dimension)),
                e,
                cx,
            ),
            None => {
                let suggestion = suggest(&unit.text, units::UNITS.iter().map(|u| u.name));
                self.error(CheckError::UnknownUnit {
                    at: (cx.file, unit.span),
                    unit: unit.text.clone(),
                    suggestion,
                });
                self.err_expr(e, cx)
            }
        }
    }

    fn code_lit(
        &mut self,
        system: &ast::Ident,
        code: &ast::StrLit,
        to: Option<&ast::StrLit>,
        e: &ast::Expr,
        cx: &Cx,
    ) -> Expr {
        let Some(sys) = self.system(system, cx) else {
            return self.err_expr(e, cx);
        };
        let Some(domain) = self.system_domain(sys, system, cx) else {
            return self.err_expr(e, cx);
        };
        let Some(code_n) = self.code_text(sys, code, cx) else {
            return self.err_expr(e, cx);
        };
        let to_n = match to {
            Some(t) => {
                match self.code_text(sys, t, cx) {
                    Some(t_n) => {
                        if t_n.len() != code_n.len() || t_n < code_n {
                            self.error(CheckError::Invalid {
                            at: (cx.file, e.span),
                            message: "a code range runs from a lower to a higher code of the same length".into(),
                            label: format!("\"{code_n}\"..\"{t_n}\""),
                            help: Some("write it low to high, e.g. icd10 \"C00\"..\"C97\"".into()),
                        });
                            return self.err_expr(e, cx);
                        }
                        Some(t_n)
                    }
                    None => return self.err_expr(e, cx),
                }
            }
            None => None,
        };
        self.mk(
            H::Code {
                system: sys,
                domain,
                code: code_n,
                to: to_n,
            },
            Type::Codes(domain),
            e,
            cx,
        )
    }

    fn system(&mut self, system: &ast::Ident, cx: &Cx) -> Option<System> {
        match System::parse(&system.name) {
            Some(s) => Some(s),
            None => {
                let suggestion = suggest(&system.name, System::ALL.iter().map(|s| s.name()));
                self.error(CheckError::UnknownSystem {
                    at: (cx.file, system.span),
                    name: system.name.clone(),
                    suggestion,
                });
                None
            }
        }
    }

    fn system_domain(&mut self, sys: System, at: &ast::Ident, cx: &Cx) -> Option<CodeDomain> {
        let domains = sys.domains();
        match cx.want_domain {
            Some(want) if domains.contains(&want) => Some(want),
            Some(want) => {
                let allowed: Vec<&'static str> = System::ALL
                    .iter()
                    .filter(|s| s.domains().contains(&want))
                    .map(|s| s.name())
                    .collect();
                self.error(CheckError::SystemNotInDomain {
                    at: (cx.file, at.span),
                    system: sys.name(),
                    domain: want.name(),
                    allowed,
                });
                None
            }
            None if domains.len() == 1 => Some(domains[0]),
            None => {
                self.error(CheckError::AmbiguousSystem {
                    at: (cx.file, at.span),
                    system: sys.name(),
                });
                None
            }
        }
    }

    fn code_text(&mut self, sys: System, code: &ast::StrLit, cx: &Cx) -> Option<String> {
        match sys.normalise(&code.value) {
            Ok(c) => Some(c),
            Err(CodeError::Empty | CodeError::Shape) => {
                self.error(CheckError::BadCode {
                    at: (cx.file, code.span),
                    system: sys.name(),
                    code: code.value.clone(),
                    shape: sys.shape(),
                });
                None
            }
        }
    }

    fn call(&mut self, callee: &ast::Expr, args: &[ast::Expr], e: &ast::Expr, cx: &Cx) -> Expr {
        // A code system applied to a list: `icd10("I21", "I22")`.
        if let A::Name(i) = &callee.kind
            && let Some(sys) = System::parse(&i.name)
        {
            let Some(domain) = self.system_domain(sys, i, cx) else {
                return self.err_expr(e, cx);
            };
            let mut items = Vec::new();
            let mut ok = true;
            for a in args {
                match &a.kind {
                    A::Str(s) => {
                        let lit = ast::StrLit {
                            value: s.clone(),
                            span: a.span,
                        };
                        match self.code_text(sys, &lit, cx) {
                            Some(c) => items.push(self.mk(
                                H::Code {
                                    system: sys,
                                    domain,
                                    code: c,
                                    to: None,
                                },
                                Type::Codes(domain),
                                a,
                                cx,
                            )),
                            None => ok = false,
                        }
                    }
                    _ => {
                        self.error(CheckError::Invalid {
                            at: (cx.file, a.span),
                            message: format!("`{}(…)` lists codes in quotes", sys.name()),
                            label: "not a code".into(),
                            help: Some(format!("write {}(\"…\", \"…\")", sys.name())),
                        });
                        ok = false;
                    }
                }
            }
            if !ok {
                return self.err_expr(e, cx);
            }
            if items.is_empty() {
                self.error(CheckError::Invalid {
                    at: (cx.file, e.span),
                    message: "an empty list of codes matches nothing".into(),
                    label: "no codes".into(),
                    help: None,
                });
                return self.err_expr(e, cx);
            }
            return self.mk(H::CodeList(items), Type::Codes(domain), e, cx);
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
        let f = self.expr(callee, cx);
        let f = self.settle(f, cx);
        let H::Def(id) = f.kind else {
            if !f.ty.is_error() {
                self.error(CheckError::Invalid {
                    at: (cx.file, callee.span),
                    message: "only definitions with parameters and gradings can be called".into(),
                    label: format!("this is {}", f.ty),
                    help: None,
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
                let Some(lab) = self.lab_item_of(&x) else {
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
                        at: (cx.file, e.span),
                        name: def.name.clone(),
                        expected,
                        found: args.len(),
                        def: Some((def.file, def.span)),
                    });
                    return self.err_expr(e, cx);
                }
                let mut xs = Vec::new();
                for (a, p) in args.iter().zip(params.iter()) {
                    let mut acx = cx.clone();
                    if let Type::Codes(d) = p.ty {
                        acx.want_domain = Some(d);
                    }
                    let x = self.expr(a, &acx);
                    let x = self.settle(x, cx);
                    xs.push(self.expect(
                        x,
                        p.ty,
                        &format!("argument `{}` of `{}`", p.name, def.name),
                    ));
                }
                self.mk(H::Call { def: id, args: xs }, ty, e, cx)
            }
            (_, Type::Error) => self.err_expr(e, cx),
            (_, ty) => {
                self.error(CheckError::Invalid {
                    at: (cx.file, callee.span),
                    message: format!("`{}` takes no arguments", def.name),
                    label: format!("this is {ty}"),
                    help: Some(format!("write `{}` without parentheses", def.name)),
                });
                self.err_expr(e, cx)
            }
        }
    }

    fn shadowed(&self, name: &str, cx: &Cx) -> bool {
        let s = &self.scopes[cx.scope];
        s.own.contains_key(name)
            || s.imported.contains_key(name)
            || cx.params.iter().any(|(n, _)| n == name)
    }

    /// The catalogue item a lab query is about, through filters and windows.
    pub(crate) fn lab_item_of(&self, x: &Expr) -> Option<hir::DefId> {
        match &x.kind {
            H::Event {
                domain: EventDomain::Lab,
                target,
            } => match &target.kind {
                H::Def(id) if self.hir.def(*id).ty == Type::LabItem => Some(*id),
                _ => None,
            },
            H::Where { expr, .. }
            | H::Window { expr, .. }
            | H::Select { expr, .. }
            | H::Having { expr, .. } => self.lab_item_of(expr),
            H::Compare { lhs, .. } if x.ty.events().is_some() => self.lab_item_of(lhs),
            H::Def(id) => match &self.hir.def(*id).kind {
                hir::DefKind::Value {
                    params: None, body, ..
                } => self.lab_item_of(body),
                _ => None,
            },
            _ => None,
        }
    }

    fn binary(
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
                        self.error(CheckError::Invalid {
                            at: (cx.file, e.span),
                            message: "code sets combine with `or` (union) and `-` (difference)".into(),
                            label: "`and` of code sets".into(),
                            help: Some("to require two kinds of records, query each: `diagnosis a and diagnosis b`".into()),
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

    fn arith(&mut self, op: BinOp, a: Expr, b: Expr, e: &ast::Expr, cx: &Cx) -> Expr {
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
            (BinOp::Add | BinOp::Sub, Type::Date, Type::Duration) => Type::Date,
            // One chosen event stands for its date: `(last drug x after index) + 30 days`.
            (BinOp::Add | BinOp::Sub, Type::Events(_), Type::Duration) if selects_one(&a) => {
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

    fn compare(
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
                    self.error(CheckError::Invalid {
                        at: (cx.file, e.span),
                        message: "text compares with `=` or `!=`".into(),
                        label: "not an order".into(),
                        help: None,
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

    fn lab_compare(&mut self, op: CmpOp, a: Expr, b: Expr, e: &ast::Expr, cx: &Cx) -> Expr {
        let Some(item) = self.lab_item_of(&a) else {
            self.error(CheckError::Invalid {
                at: (a.file, a.span),
                message: "only a lab catalogue item has values in known units".into(),
                label: "these are lab codes, not an item".into(),
                help: Some(
                    "query an item of the catalogue, e.g. `lab alt > 3 x ULN` (import labs.{alt})"
                        .into(),
                ),
            });
            return self.err_expr(e, cx);
        };
        let def = self.hir.def(item).clone();
        let hir::DefKind::Lab(lab) = &def.kind else {
            return self.err_expr(e, cx);
        };
        let Some(lab_unit) = lab.unit else {
            self.error(CheckError::Invalid {
                at: (a.file, a.span),
                message: format!("`{}` has qualitative results, not values", def.name),
                label: "no values to compare".into(),
                help: Some(format!(
                    "filter its text results: `lab {} where value_text in (\"(2+)\", \"(3+)\")`",
                    def.name
                )),
            });
            return self.err_expr(e, cx);
        };
        let dim = lab_unit.dimension;
        match b.ty {
            Type::Quantity(Measure::Dim(d)) if d == dim => {}
            Type::Quantity(Measure::Relative(_)) => {}
            Type::Quantity(Measure::Dim(d)) => {
                // Analyte-specific conversions (mmol/L glucose) make other dimensions fine.
                let converts = matches!(&b.kind, H::Quantity { unit: QuantityUnit::Unit(u), .. }
                    if lab.units.iter().any(|(name, _)| name == u.name));
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

    fn in_list(
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
                    self.error(CheckError::Invalid {
                        at: (cx.file, v.span),
                        message: format!("`{}` holds text", col.name),
                        label: "not text".into(),
                        help: None,
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

    fn event(&mut self, domain: ast::Domain, target: &ast::Expr, e: &ast::Expr, cx: &Cx) -> Expr {
        let dom = match domain {
            ast::Domain::Diagnosis => EventDomain::Diagnosis,
            ast::Domain::Drug => EventDomain::Drug,
            ast::Domain::Lab => EventDomain::Lab,
            ast::Domain::Procedure => EventDomain::Procedure,
            ast::Domain::Visit => EventDomain::Visit,
        };
        let ty = Type::Events(Domains::one(dom));
        if dom == EventDomain::Visit {
            let kind = match &target.kind {
                A::Name(i) if i.name == "any" => None,
                A::Name(i) if crate::cdm::VISIT_KIND_VALUES.contains(&i.name.as_str()) => {
                    Some(i.name.clone())
                }
                A::Name(i) => {
                    let mut values: Vec<&'static str> = crate::cdm::VISIT_KIND_VALUES.to_vec();
                    values.push("any");
                    let suggestion = suggest(&i.name, values.iter().copied());
                    self.error(CheckError::UnknownValue {
                        at: (cx.file, target.span),
                        column: "visit kind".into(),
                        value: i.name.clone(),
                        suggestion,
                        values,
                    });
                    return self.err_expr(e, cx);
                }
                _ => {
                    self.error(CheckError::Invalid {
                        at: (cx.file, target.span),
                        message: "`visit` takes a kind of visit".into(),
                        label: "not a kind of visit".into(),
                        help: Some("write `visit inpatient`, `visit outpatient`, `visit emergency` or `visit any`".into()),
                    });
                    return self.err_expr(e, cx);
                }
            };
            let t = self.mk(H::VisitKind(kind), Type::Text, target, cx);
            return self.mk(
                H::Event {
                    domain: dom,
                    target: Box::new(t),
                },
                ty,
                e,
                cx,
            );
        }
        let want = dom.code_domain().expect("non-visit domains have codes");
        let mut tcx = cx.clone();
        tcx.want_domain = Some(want);
        let t = self.expr(target, &tcx);
        let t = self.settle(t, cx);
        match t.ty {
            Type::Codes(d) if d == want => {}
            Type::LabItem if dom == EventDomain::Lab => {}
            Type::Error => return self.err_expr(e, cx),
            Type::Codes(d) => {
                self.error(CheckError::WrongDomain {
                    at: (t.file, t.span),
                    expected: format!("Codes<{}>", want.name()),
                    found: format!("Codes<{}>", d.name()),
                    context: format!("`{}`", dom.name()),
                });
                return self.err_expr(e, cx);
            }
            Type::Events(_) => {
                self.error(CheckError::Mismatch {
                    at: (t.file, t.span),
                    expected: format!("Codes<{}>", want.name()),
                    found: t.ty,
                    context: format!("`{}`", dom.name()),
                    help: Some(
                        "this is already a query of events: use it without the domain word".into(),
                    ),
                });
                return self.err_expr(e, cx);
            }
            other => {
                let expected = if dom == EventDomain::Lab {
                    "a lab item or Codes<lab>".to_string()
                } else {
                    format!("Codes<{}>", want.name())
                };
                self.mismatch(&t, &expected, other, &format!("`{}`", dom.name()), None);
                return self.err_expr(e, cx);
            }
        }
        self.mk(
            H::Event {
                domain: dom,
                target: Box::new(t),
            },
            ty,
            e,
            cx,
        )
    }

    fn select(
        &mut self,
        selector: &ast::Selector,
        inner: &ast::Expr,
        e: &ast::Expr,
        cx: &Cx,
    ) -> Expr {
        let x = self.expr(inner, cx);
        let x = self.settle(x, cx);
        let count = |n: &ast::Number| n.value().max(0.0) as u32;
        let unit = |u: &ast::CountUnit| match u {
            ast::CountUnit::Default | ast::CountUnit::Days => hir::CountUnit::Days,
            ast::CountUnit::Visits => hir::CountUnit::Visits,
            ast::CountUnit::Records => hir::CountUnit::Records,
        };
        let sel = match selector {
            ast::Selector::First => hir::Selector::First,
            ast::Selector::Last => hir::Selector::Last,
            ast::Selector::Every => hir::Selector::Every,
            ast::Selector::No => hir::Selector::No,
            ast::Selector::Nth(n) => {
                if n.value() < 1.0 || n.value().fract() != 0.0 {
                    self.error(CheckError::Invalid {
                        at: (cx.file, n.span),
                        message: "`nth` counts from 1".into(),
                        label: "not a whole number from 1".into(),
                        help: None,
                    });
                }
                hir::Selector::Nth(count(n))
            }
            ast::Selector::AtLeast(n, u) => hir::Selector::AtLeast(count(n), unit(u)),
            ast::Selector::AtMost(n, u) => hir::Selector::AtMost(count(n), unit(u)),
            ast::Selector::Exactly(n, u) => hir::Selector::Exactly(count(n), unit(u)),
        };
        let ty = match x.ty {
            Type::Events(d) => match sel {
                hir::Selector::First
                | hir::Selector::Last
                | hir::Selector::Nth(_)
                | hir::Selector::Every => Type::Events(d),
                _ => Type::Bool,
            },
            Type::Error => return self.err_expr(e, cx),
            other => {
                self.mismatch(
                    &x,
                    "events",
                    other,
                    "a selector (`first`, `no`, `at least` …)",
                    None,
                );
                return self.err_expr(e, cx);
            }
        };
        if let hir::Selector::AtLeast(_, hir::CountUnit::Visits)
        | hir::Selector::AtMost(_, hir::CountUnit::Visits)
        | hir::Selector::Exactly(_, hir::CountUnit::Visits) = sel
            && x.ty.events().is_some_and(|d| d.contains(EventDomain::Lab))
        {
            self.error(CheckError::Invalid {
                at: (cx.file, e.span),
                message: "lab results are not tied to visits".into(),
                label: "counted by visit".into(),
                help: Some("count `days of` lab results instead".into()),
            });
        }
        self.mk(
            H::Select {
                selector: sel,
                expr: Box::new(x),
            },
            ty,
            e,
            cx,
        )
    }

    fn window(&mut self, inner: &ast::Expr, w: &ast::Window, e: &ast::Expr, cx: &Cx) -> Expr {
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
        let window = match w {
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
                    self.error(CheckError::Invalid {
                        at: (a.file, a.span),
                        message: "`during` takes `it`, the event a `having` is about".into(),
                        label: "not `it`".into(),
                        help: Some("for the stay of another date write `same stay as …`".into()),
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
        };
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

    fn anchor(&mut self, a: &ast::Anchor, e: &ast::Expr, cx: &Cx) -> Expr {
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

    /// A filter of `where`, over the columns of `dom`'s table.
    fn filter(&mut self, f: &ast::Expr, dom: EventDomain, cx: &Cx) -> Filter {
        let table = dom.table();
        let column = |c: &mut Self, i: &ast::Ident| -> Option<&'static Column> {
            match table.column(&i.name) {
                Some(col) => Some(col),
                None => {
                    let fields: Vec<&'static str> =
                        table.columns().iter().map(|c| c.name).collect();
                    let suggestion = suggest(&i.name, fields.iter().copied());
                    c.error(CheckError::UnknownField {
                        at: (cx.file, i.span),
                        table: table.name(),
                        name: i.name.clone(),
                        suggestion,
                        fields,
                    });
                    None
                }
            }
        };
        match &f.kind {
            A::Name(i) => match column(self, i) {
                Some(col) if col.ty == ColumnType::Bool => Filter::Column(col),
                Some(col) => {
                    self.error(CheckError::Invalid {
                        at: (cx.file, f.span),
                        message: format!("`{}` is not a yes/no column", col.name),
                        label: "needs a comparison".into(),
                        help: Some(format!("compare it: `{} = …`", col.name)),
                    });
                    Filter::Error
                }
                None => Filter::Error,
            },
            A::Not(inner) => match self.filter(inner, dom, cx) {
                Filter::Error => Filter::Error,
                x => Filter::Not(Box::new(x)),
            },
            A::Binary {
                op: BinOp::And,
                lhs,
                rhs,
            }
            | A::Binary {
                op: BinOp::Or,
                lhs,
                rhs,
            } => {
                let a = self.filter(lhs, dom, cx);
                let b = self.filter(rhs, dom, cx);
                if matches!(a, Filter::Error) || matches!(b, Filter::Error) {
                    return Filter::Error;
                }
                if matches!(f.kind, A::Binary { op: BinOp::And, .. }) {
                    Filter::And(Box::new(a), Box::new(b))
                } else {
                    Filter::Or(Box::new(a), Box::new(b))
                }
            }
            A::Binary {
                op: BinOp::Cmp(op),
                lhs,
                rhs,
            } => {
                let A::Name(i) = &lhs.kind else {
                    return Filter::Error;
                };
                let Some(col) = column(self, i) else {
                    return Filter::Error;
                };
                match self.literal(col, rhs, cx) {
                    Some(value) => {
                        if col.ty == ColumnType::Text && !matches!(op, CmpOp::Eq | CmpOp::Ne) {
                            self.error(CheckError::Invalid {
                                at: (cx.file, f.span),
                                message: "text compares with `=` or `!=`".into(),
                                label: "not an order".into(),
                                help: None,
                            });
                            return Filter::Error;
                        }
                        Filter::Compare {
                            column: col,
                            op: *op,
                            value,
                        }
                    }
                    None => Filter::Error,
                }
            }
            A::In {
                lhs,
                values,
                negated,
            } => {
                let A::Name(i) = &lhs.kind else {
                    return Filter::Error;
                };
                let Some(col) = column(self, i) else {
                    return Filter::Error;
                };
                let mut lits = Vec::new();
                for v in values {
                    match self.literal(col, v, cx) {
                        Some(l) => lits.push(l),
                        None => return Filter::Error,
                    }
                }
                Filter::In {
                    column: col,
                    values: lits,
                    negated: *negated,
                }
            }
            _ => Filter::Error,
        }
    }

    /// A value written for a column, checked against its type and closed set.
    fn literal(&mut self, col: &'static Column, v: &ast::Expr, cx: &Cx) -> Option<Literal> {
        let bad = |c: &mut Self, what: &str| {
            c.error(CheckError::Invalid {
                at: (cx.file, v.span),
                message: format!("`{}` holds {}", col.name, what),
                label: "a value of another kind".into(),
                help: None,
            });
            None
        };
        match (col.ty, &v.kind) {
            (ColumnType::Text, A::Name(i)) => self
                .check_value(col, &i.name, (cx.file, v.span))
                .then(|| Literal::Text(i.name.clone())),
            (ColumnType::Text, A::Str(s)) => self
                .check_value(col, s, (cx.file, v.span))
                .then(|| Literal::Text(s.clone())),
            (ColumnType::Text, A::Number(n)) if col.values.is_some() => {
                // DPC categories look like numbers: `dpc_category = 11`.
                self.check_value(col, &n.text, (cx.file, v.span))
                    .then(|| Literal::Text(n.text.clone()))
            }
            (ColumnType::Text, _) => bad(self, "text"),
            (ColumnType::Int64 | ColumnType::Int32, A::Number(n)) if n.value().fract() == 0.0 => {
                Some(Literal::Int(n.value() as i64))
            }
            (ColumnType::Int64 | ColumnType::Int32, _) => bad(self, "whole numbers"),
            (ColumnType::Float64, A::Number(n)) => Some(Literal::Number(n.value())),
            (ColumnType::Float64, _) => bad(self, "numbers"),
            (ColumnType::Bool, A::Bool(b)) => Some(Literal::Bool(*b)),
            (ColumnType::Bool, _) => bad(self, "yes/no (true or false)"),
            (ColumnType::Date, A::Date(d)) => match crate::dates::parse(d) {
                Some(days) => Some(Literal::Date(days)),
                None => bad(self, "dates (YYYY-MM-DD)"),
            },
            (ColumnType::Date, _) => bad(self, "dates (YYYY-MM-DD)"),
        }
    }

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
            Type::Events(_) if selects_one(&x) => x,
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

    /// A duration known when compiling, in days.
    pub(crate) fn const_duration(&mut self, x: &Expr, context: &str) -> Option<i64> {
        match (&x.kind, x.ty) {
            (_, Type::Error) => None,
            (H::Duration(d), _) => {
                if *d < 0 {
                    self.error(CheckError::Invalid {
                        at: (x.file, x.span),
                        message: "a duration cannot be negative".into(),
                        label: "negative".into(),
                        help: None,
                    });
                    return None;
                }
                Some(*d)
            }
            (_, Type::Duration) => match self.eval_duration(x) {
                Some(d) => Some(d),
                None => {
                    self.error(CheckError::Invalid {
                        at: (x.file, x.span),
                        message: format!("{context} needs a fixed duration"),
                        label: "not known when compiling".into(),
                        help: Some("write a number of days, weeks, months or years".into()),
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

    fn eval_duration(&self, x: &Expr) -> Option<i64> {
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
            || (want == Type::Date && x.ty.events().is_some() && selects_one(&x));
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

fn num(x: &Expr) -> Option<f64> {
    match x.kind {
        H::Number(n) => Some(n),
        _ => None,
    }
}

/// Whether an event expression yields at most one event per patient or entry.
pub(crate) fn selects_one(x: &Expr) -> bool {
    match &x.kind {
        H::Select { selector, .. } => matches!(
            selector,
            hir::Selector::First | hir::Selector::Last | hir::Selector::Nth(_)
        ),
        H::Window { expr, .. } | H::Where { expr, .. } | H::Having { expr, .. } => {
            selects_one(expr)
        }
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
fn poisoned(x: Expr) -> Expr {
    Expr {
        kind: H::Error,
        ty: Type::Error,
        ..x
    }
}
