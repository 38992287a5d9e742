//! Cohorts and outcomes (stage: AST → HIR): entry, steps, eras, end of follow-up and periods.

use std::rc::Rc;

use mid_grammar::ast::{self};

use super::coerce::selects_one;
use super::{CheckError, Checker, CohortCx, Cx, suggest};
use crate::hir::{self, DefId, DefKind, Expr, ExprKind as H};
use crate::types::{EventDomain, Type};

impl Checker<'_> {
    pub(super) fn cohort(&mut self, c: &ast::CohortDecl, cx: Cx) -> (DefKind, Type) {
        // A template: checked once with its parameters unbound, like a definition's body.
        if let Some(ps) = &c.params {
            let mut cx = cx;
            let params = self.params(ps, &cx);
            cx.params = Rc::new(params.iter().map(|p| (p.name.clone(), p.ty)).collect());
            let stmts = self.cohort_stmts(c, Vec::new(), &cx);
            return (
                DefKind::CohortTemplate(Box::new(hir::Template {
                    params,
                    cohort: hir::Cohort { stmts },
                })),
                Type::CohortTemplate,
            );
        }
        let inherited = match &c.from {
            None => Vec::new(),
            Some(t) => match self.template_use(t, &cx) {
                Some(stmts) => stmts,
                // The template or its arguments are wrong, and that is reported.
                None => return (DefKind::Pending, Type::Error),
            },
        };
        let stmts = self.cohort_stmts(c, inherited, &cx);
        // A statement the parser could not read may have been the index: say nothing more.
        let unreadable = c
            .stmts
            .iter()
            .any(|s| matches!(s.kind, ast::CohortStmtKind::Error));
        let has_index = stmts
            .iter()
            .any(|s| matches!(s.kind, hir::StmtKind::Index(_)));
        if !has_index && !unreadable {
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

    /// `cohort x = new_users(thiamazole, ptu)`: the template's statements with its parameters
    /// bound to the arguments. `None` after an error.
    fn template_use(&mut self, t: &ast::TemplateUse, cx: &Cx) -> Option<Vec<hir::Stmt>> {
        let here = (cx.file, t.template.span);
        let Some(id) = self.lookup(cx.scope, &t.template.name) else {
            let templates: Vec<String> = self.scopes[cx.scope]
                .own
                .iter()
                .filter(|(_, id)| {
                    matches!(
                        self.pending.get(id).map(|p| &p.item.kind),
                        Some(ast::ItemKind::Cohort(c)) if c.params.is_some()
                    ) || self.hir.def(**id).ty == Type::CohortTemplate
                })
                .map(|(n, _)| n.clone())
                .collect();
            let suggestion = suggest(&t.template.name, templates.iter().map(String::as_str));
            self.error(CheckError::UnknownName {
                at: here,
                name: t.template.name.clone(),
                suggestion,
            });
            return None;
        };
        match self.ensure(id, here) {
            Type::CohortTemplate => {}
            Type::Error => return None,
            other => {
                self.error(CheckError::Mismatch {
                    at: here,
                    expected: "a cohort template (`cohort name(params) { … }`)".into(),
                    found: other,
                    context: "`cohort … =`".into(),
                    help: None,
                });
                return None;
            }
        }
        let def = self.hir.def(id).clone();
        let DefKind::CohortTemplate(template) = &def.kind else {
            return None;
        };
        let given = self.arguments(&def, &template.params, &t.args, (cx.file, t.span), cx)?;
        if given.iter().any(|x| x.ty.is_error()) {
            return None;
        }
        // Left-out arguments take their defaults (checked where the template declares them).
        let mut args = given;
        for p in &template.params[args.len()..] {
            args.push(p.default.clone()?);
        }
        // Durations an era takes from the template's parameters, known now.
        let mut era_days: Vec<Option<i64>> = Vec::with_capacity(args.len());
        for a in &args {
            let x = super::expand::expand(&self.hir, a);
            era_days.push(super::expand::days(&x));
        }
        for s in &template.cohort.stmts {
            if let hir::StmtKind::Era {
                gap_param,
                grace_param,
                ..
            } = &s.kind
            {
                for i in [gap_param, grace_param].into_iter().flatten() {
                    let a = &args[*i];
                    match era_days[*i] {
                        None => self.error(CheckError::NotFixedDuration {
                            at: (a.file, a.span),
                            context: "an era's gap or grace".into(),
                        }),
                        Some(d) if d < 0 => self.error(CheckError::NegativeDuration {
                            at: (a.file, a.span),
                        }),
                        Some(d) if d > super::errors::MAX_DAYS => {
                            self.error(CheckError::NumberTooLarge {
                                at: (a.file, a.span),
                                what: "a duration",
                                max: "200 years (73,050 days)".into(),
                            })
                        }
                        Some(_) => {}
                    }
                }
            }
        }
        let bound_days = |p: &Option<usize>, fixed: i64| match p {
            Some(i) => era_days[*i].unwrap_or(0).clamp(0, super::errors::MAX_DAYS),
            None => fixed,
        };
        let bind = |e: &Expr| super::expand::bind(&self.hir, e, &args);
        // A statement's text (its attrition label when it has none) reads with the arguments.
        let names: Vec<(String, String)> = template
            .params
            .iter()
            .zip(&args)
            .map(|(p, a)| (p.name.clone(), self.text(a.file, a.span)))
            .collect();
        Some(
            template
                .cohort
                .stmts
                .iter()
                .map(|s| hir::Stmt {
                    kind: match &s.kind {
                        hir::StmtKind::Index(e) => hir::StmtKind::Index(bind(e)),
                        hir::StmtKind::Require { label, cond } => hir::StmtKind::Require {
                            label: label.clone(),
                            cond: bind(cond),
                        },
                        hir::StmtKind::Exclude { label, cond } => hir::StmtKind::Exclude {
                            label: label.clone(),
                            cond: bind(cond),
                        },
                        hir::StmtKind::End(e) => hir::StmtKind::End(bind(e)),
                        hir::StmtKind::Era {
                            name,
                            events,
                            gap,
                            grace,
                            gap_param,
                            grace_param,
                        } => hir::StmtKind::Era {
                            name: name.clone(),
                            events: bind(events),
                            gap: bound_days(gap_param, *gap),
                            grace: bound_days(grace_param, *grace),
                            gap_param: None,
                            grace_param: None,
                        },
                        hir::StmtKind::Periods {
                            length,
                            from,
                            until,
                            then_until,
                        } => hir::StmtKind::Periods {
                            length: *length,
                            from: bind(from),
                            until: bind(until),
                            then_until: then_until.as_ref().map(bind),
                        },
                    },
                    span: s.span,
                    text: with_arguments(&s.text, &names),
                })
                .collect(),
        )
    }

    /// A cohort's statements checked, after those it takes from a template (`inherited`):
    /// `index`, `end` and `periods` once among all of them, era names once.
    fn cohort_stmts(
        &mut self,
        c: &ast::CohortDecl,
        inherited: Vec<hir::Stmt>,
        cx: &Cx,
    ) -> Vec<hir::Stmt> {
        let cx = cx.clone();
        let mut first_of: std::collections::BTreeMap<&'static str, super::errors::At> =
            Default::default();
        let mut era_names: Vec<(String, super::errors::At)> = Vec::new();
        for s in &inherited {
            let (what, file) = match &s.kind {
                hir::StmtKind::Index(e) => ("index", e.file),
                hir::StmtKind::End(e) => ("end", e.file),
                hir::StmtKind::Periods { from, .. } => ("periods", from.file),
                hir::StmtKind::Era { name, events, .. } => {
                    era_names.push((name.clone(), (events.file, s.span)));
                    continue;
                }
                _ => continue,
            };
            first_of.insert(what, (file, s.span));
        }
        let eras: Vec<String> = era_names
            .iter()
            .map(|(n, _)| n.clone())
            .chain(c.stmts.iter().filter_map(|s| match &s.kind {
                ast::CohortStmtKind::Era { name, .. } => Some(name.name.clone()),
                _ => None,
            }))
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
        let mut stmts = inherited;
        for s in &c.stmts {
            let text = self.text(cx.file, s.span);
            let once = |c: &mut Self,
                        what: &'static str,
                        first_of: &mut std::collections::BTreeMap<
                &'static str,
                super::errors::At,
            >| {
                if let Some(first) = first_of.get(what) {
                    c.error(CheckError::DuplicateStatement {
                        at: (cx.file, s.span),
                        what,
                        first: *first,
                    });
                } else {
                    first_of.insert(what, (cx.file, s.span));
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
                            if selects_one(&self.hir, &x)
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
                            first: *first,
                        });
                    }
                    era_names.push((name.name.clone(), (cx.file, name.span)));
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
                    // A template's parameter may give the days; a cohort made from it binds them.
                    let days =
                        |e: &Option<ast::Expr>, what: &str, c: &mut Self| -> (i64, Option<usize>) {
                            let Some(e) = e else { return (0, None) };
                            let d = c.expr(e, &cx);
                            if let (H::Param(i), Type::Duration) = (&d.kind, d.ty) {
                                return (0, Some(*i));
                            }
                            c.warn_calendar(&d);
                            (c.const_duration(&d, what).unwrap_or(0), None)
                        };
                    let (gap, gap_param) = days(gap, "`gap`", self);
                    let (grace, grace_param) = days(grace, "`grace`", self);
                    hir::StmtKind::Era {
                        name: name.name.clone(),
                        events: x,
                        gap,
                        grace,
                        gap_param,
                        grace_param,
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
                    self.warn_calendar(&l);
                    let length = self.const_duration(&l, "`periods of`").unwrap_or(1);
                    if length == 0 {
                        self.error(CheckError::EmptyPeriod {
                            at: (l.file, l.span),
                        });
                    }
                    let length = length.max(1);
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
        stmts
    }

    /// `in cohort X`: whether the patient is a member of cohort X. Cohorts are computed in the
    /// order their uses need (a cycle is refused where it is found).
    pub(super) fn in_cohort(&mut self, i: &ast::Ident, e: &ast::Expr, cx: &Cx) -> Expr {
        match self.cohort_ref(i, cx) {
            Some(id) => self.mk(H::InCohort(id), Type::Bool, e, cx),
            None => self.err_expr(e, cx),
        }
    }

    /// The eras a cohort declares.
    /// Cohorts' names as a message lists them: `a`, `a` and `b`, `a`, `b` and `c`.
    pub(super) fn names_of(&self, cohorts: &[DefId]) -> String {
        let names: Vec<String> = cohorts
            .iter()
            .map(|c| self.hir.def(*c).name.clone())
            .collect();
        match names.split_last() {
            Some((last, rest)) if !rest.is_empty() => {
                format!("{}` and `{last}", rest.join("`, `"))
            }
            _ => names.concat(),
        }
    }

    pub(super) fn eras_of(&self, cohort: DefId) -> Vec<String> {
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

    pub(super) fn cohort_ref(&mut self, i: &ast::Ident, cx: &Cx) -> Option<DefId> {
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

    /// A list of cohorts (an outcome's, a report's), each resolved and listed once; none when
    /// one cannot be.
    pub(super) fn cohort_list(&mut self, list: &[ast::Ident], cx: &Cx) -> Option<Vec<DefId>> {
        let mut out = Vec::new();
        let mut ok = true;
        for (i, c) in list.iter().enumerate() {
            if let Some(first) = list[..i].iter().find(|f| f.name == c.name) {
                self.error(CheckError::CohortTwice {
                    at: (cx.file, c.span),
                    name: c.name.clone(),
                    first: (cx.file, first.span),
                });
                ok = false;
                continue;
            }
            match self.cohort_ref(c, cx) {
                Some(id) => out.push(id),
                None => ok = false,
            }
        }
        ok.then_some(out)
    }

    pub(super) fn outcome(&mut self, o: &ast::OutcomeDecl, cx: Cx) -> (DefKind, Type) {
        let Some(cohorts) = self.cohort_list(&o.cohorts, &cx) else {
            return (DefKind::Pending, Type::Error);
        };
        // One definition for every cohort: it may name the eras they all have.
        let mut eras = self.eras_of(cohorts[0]);
        for c in &cohorts[1..] {
            let theirs = self.eras_of(*c);
            eras.retain(|e| theirs.contains(e));
        }
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
                self.error(CheckError::OutcomeNotFirst {
                    at: (x.file, x.span),
                });
            }
            (_, Type::Events(_)) => {}
            (_, other) => self.mismatch(&x, "events", other, "an outcome", None),
        }
        (
            DefKind::Outcome(Box::new(hir::Outcome { cohorts, value: x })),
            Type::Outcome,
        )
    }
}

/// A template statement's text with each parameter name (a name token, so never inside
/// text in quotes or a comment) replaced by its argument as written.
fn with_arguments(text: &str, names: &[(String, String)]) -> String {
    use mid_grammar::lexer::{Token, tokens};
    let mut out = String::with_capacity(text.len());
    let mut last = 0;
    for (tok, span) in tokens(text) {
        if let Ok(Token::Ident(word)) = tok
            && let Some((_, arg)) = names.iter().find(|(n, _)| n == word)
        {
            out.push_str(&text[last..span.start]);
            out.push_str(arg);
            last = span.end;
        }
    }
    out.push_str(&text[last..]);
    out
}

#[cfg(test)]
mod tests {
    use crate::testing::{check, errors};

    const TEMPLATE: &str = r#"codes x: drug = yj "2432001"
codes y: drug = yj "2432002"
codes g: diagnosis = icd10 "E05"
cohort new_users(d: Codes<drug>, other: Codes<drug>, washout: Duration = 180 days) {
  index = first drug d
  exclude "washout" drug (d or other) overlapping washout before index
}
"#;

    #[test]
    fn a_cohort_from_a_template_binds_its_arguments_and_adds_statements() {
        let out = check(&format!(
            "{TEMPLATE}cohort a = new_users(x, y)\ncohort b = new_users(y, x, 90 days) {{\n  require age at index >= 15\n}}"
        ));
        insta::assert_snapshot!(out, @r#"
        x : Codes<drug> = yj "2432001":Codes<drug>
        y : Codes<drug> = yj "2432002":Codes<drug>
        g : Codes<diagnosis> = icd10 "E05":Codes<diagnosis>
        new_users : CohortTemplate (d: Codes<drug>, other: Codes<drug>, washout: Duration)
          index = (First (drug param#0:Codes<drug>):Events<drug>):Events<drug>
          exclude (window (drug (or param#0:Codes<drug> param#1:Codes<drug>):Codes<drug>):Events<drug> overlapping within param#2:Duration Before Index:Date):Events<drug>
        a : Cohort
          index = (First (drug (inlined x yj "2432001":Codes<drug>):Codes<drug>):Events<drug>):Events<drug>
          exclude (window (drug (or (inlined x yj "2432001":Codes<drug>):Codes<drug> (inlined y yj "2432002":Codes<drug>):Codes<drug>):Codes<drug>):Events<drug> overlapping within 180 days:Duration Before Index:Date):Events<drug>
        b : Cohort
          index = (First (drug (inlined y yj "2432002":Codes<drug>):Codes<drug>):Events<drug>):Events<drug>
          exclude (window (drug (or (inlined y yj "2432002":Codes<drug>):Codes<drug> (inlined x yj "2432001":Codes<drug>):Codes<drug>):Codes<drug>):Events<drug> overlapping within 90 days:Duration Before Index:Date):Events<drug>
          require (>= (age-at Index:Date):Number 15:Number):Bool
        --
        W0007 3:7 `g` is defined but not used (unused) help: remove it, or use it in a cohort, outcome, export or report
        "#);
    }

    #[test]
    fn template_arguments_are_checked_like_a_call() {
        insta::assert_snapshot!(errors(&format!(
            "{TEMPLATE}cohort a = new_users(g, y)\ncohort b = new_users(x)\ncohort c = new_user(x, y)"
        )), @r#"
        E0201 8:22 argument `d` of `new_users` needs Codes<drug>, found Codes<diagnosis> (this is Codes<diagnosis>)
        E0207 9:12 `new_users` takes 2 to 3 arguments, given 1 (wrong number of arguments)
        E0101 10:12 unknown name `new_user` (not defined or imported) help: did you mean `new_users`?
        "#);
    }

    #[test]
    fn a_cohort_from_a_template_has_one_index() {
        insta::assert_snapshot!(errors(&format!(
            "{TEMPLATE}cohort a = new_users(x, y) {{\n  index = first drug y\n}}"
        )), @"E0302 9:3 a cohort has one index (second one here)");
    }

    #[test]
    fn a_template_is_not_a_cohort_and_a_cohort_is_not_a_template() {
        insta::assert_snapshot!(errors(&format!(
            "{TEMPLATE}cohort a = new_users(x, y)\ncohort b = a(x)\noutcome o in new_users = first drug x"
        )), @r#"
        E0201 9:12 `cohort … =` needs a cohort template (`cohort name(params) { … }`), found Cohort (this is Cohort)
        E0201 10:14 this needs a cohort, found CohortTemplate (this is CohortTemplate)
        "#);
    }

    #[test]
    fn an_era_takes_its_gap_and_grace_from_the_arguments() {
        let src = r#"codes x: drug = yj "2432001"
cohort users(d: Codes<drug>, allowed: Duration = 30 days) {
  index = first drug d
  era exposure = drug d gap allowed grace allowed
  end = end of exposure
}
cohort a = users(x)
cohort b = users(x, 90 days)
"#;
        let out = crate::testing::lower(src);
        assert!(out.contains("(gap 30 days, grace 30 days)"), "{out}");
        assert!(out.contains("(gap 90 days, grace 90 days)"), "{out}");
        insta::assert_snapshot!(errors(&format!("{src}cohort c = users(x, 1 day - 4 days)\ncohort e = users(x, 300 years)")), @r"
        E0226 9:21 a duration cannot be negative (negative)
        E0228 10:21 a duration cannot be more than 200 years (73,050 days) (too large)
        ");
    }

    #[test]
    fn a_statement_text_reads_with_the_arguments() {
        let names = [
            ("d".to_string(), "thiamazole".to_string()),
            ("other".to_string(), "drugs.ptu".to_string()),
        ];
        assert_eq!(
            super::with_arguments(
                r#"exclude "d \"d\" d" drug (d or other) within 30 days before index_d"#,
                &names
            ),
            r#"exclude "d \"d\" d" drug (thiamazole or drugs.ptu) within 30 days before index_d"#
        );
    }

    #[test]
    fn membership_of_a_cohort_that_needs_it_is_a_cycle() {
        insta::assert_snapshot!(errors(
            r#"codes x: drug = yj "2432001"
cohort a {
  index = first drug x
  require in cohort b
}
cohort b {
  index = first drug x
  exclude in cohort a
}"#
        ), @"E0105 8:21 `a` is defined in terms of itself (used inside its own definition) help: definitions cannot refer to themselves, directly or through others");
    }

    #[test]
    fn a_cohort_with_every_statement() {
        insta::assert_snapshot!(check(
            r#"codes x: drug = yj "2432001"
codes y: drug = yj "2432002"
cohort c {
  index = first drug x
  require "seen" observed 180 days before index
  exclude drug (x or y) within 180 days before index
  era exposure = drug x gap 30 days grace 30 days
  end = earliest(end of exposure, first drug y after index)
  periods of 14 days from index + 1 day until index + 140 days
}"#
        ), @r#"
        x : Codes<drug> = yj "2432001":Codes<drug>
        y : Codes<drug> = yj "2432002":Codes<drug>
        c : Cohort
          index = (First (drug x:Codes<drug>):Events<drug>):Events<drug>
          require (observed 180d Before Index:Date):Bool
          exclude (window (drug (or x:Codes<drug> y:Codes<drug>):Codes<drug>):Events<drug> within 180 days:Duration Before Index:Date):Events<drug>
          era exposure = (drug x:Codes<drug>):Events<drug> gap 30d grace 30d
          end = (earliest EraEnd("exposure"):Date (First (window (drug y:Codes<drug>):Events<drug> After Index:Date):Events<drug>):Events<drug>):Date
          periods of 14d from (+ Index:Date 1 days:Duration):Date until (+ Index:Date 140 days:Duration):Date
        "#);
    }

    #[test]
    fn a_cohort_without_index_and_a_statement_twice() {
        insta::assert_snapshot!(errors(
            r#"codes x: drug = yj "2432001"
cohort c { require drug x }
cohort d {
  index = first drug x
  end = index + 1 day
  end = index + 2 days
}"#
        ), @"
        E0301 2:8 cohort `c` has no index (no index) help: add the entry event, e.g. `index = first drug x`
        E0302 6:3 a cohort has one end (second one here)
        ");
    }

    #[test]
    fn an_index_needs_one_event_per_patient() {
        insta::assert_snapshot!(errors(
            r#"codes x: drug = yj "2432001"
cohort c { index = drug x }"#
        ), @"E0305 2:20 the index needs one event per patient (which of the events?) help: say which: `first …`, `last …`, `nth(2) …` or `every …`");
    }

    #[test]
    fn an_outcome_is_the_first_event() {
        insta::assert_snapshot!(errors(
            r#"import labs.{alt}
codes x: drug = yj "2432001"
cohort c { index = first drug x }
outcome o in c = lab alt > 3 x ULN
outcome p in c = last lab alt > 3 x ULN"#
        ), @"E0312 5:18 an outcome is the first qualifying event (not `first`) help: write `first …` or leave the selector out");
    }
}
