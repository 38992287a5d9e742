//! Exports and reports (stage: AST → HIR): export columns, report cohorts, outcomes, strata and suppression.

use std::rc::Rc;

use mid_grammar::ast::{self, ExprKind as A};

use super::coerce::selects_one;
use super::errors::MAX_COUNT;
use super::{CheckError, Checker, CohortCx, Cx, suggest};
use crate::hir::{self, DefKind, ExprKind as H};
use crate::source::FileId;
use crate::types::{EventDomain, Type};

impl Checker<'_> {
    /// Whether a cohort splits its follow-up into periods.
    fn has_periods(&self, cohort: hir::DefId) -> bool {
        match &self.hir.def(cohort).kind {
            DefKind::Cohort(c) => c
                .stmts
                .iter()
                .any(|s| matches!(s.kind, hir::StmtKind::Periods { .. })),
            _ => false,
        }
    }

    /// Whether drug events set the cohort's index (what `index_drug` at `at` needs); E0323
    /// when they do not. An index in error was reported already.
    fn index_is_drug(&mut self, cohort: hir::DefId, at: super::errors::At) -> bool {
        let DefKind::Cohort(c) = &self.hir.def(cohort).kind else {
            return true;
        };
        let Some(entry) = c.stmts.iter().find_map(|s| match &s.kind {
            hir::StmtKind::Index(e) => Some(e),
            _ => None,
        }) else {
            return true;
        };
        if entry.ty == Type::Error
            || entry.ty.events().and_then(|d| d.single()) == Some(EventDomain::Drug)
        {
            return true;
        }
        let err = CheckError::IndexNotDrug {
            at,
            cohort: self.hir.def(cohort).name.clone(),
            entry: (entry.file, entry.span),
        };
        self.error(err);
        false
    }

    /// `value of` the one lab result per entry, or `count of` events (export columns).
    fn value_of(
        &mut self,
        func: &ast::Ident,
        events: &ast::Expr,
        cx: &Cx,
    ) -> Option<(hir::Of, hir::Expr)> {
        let what = format!("{} of", func.name.replace(' ', " of "));
        let kind = match func.name.as_str() {
            "value" => hir::Of::Value,
            "count" => hir::Of::Count,
            "max" => hir::Of::Max,
            "min" => hir::Of::Min,
            "count records" => hir::Of::Records,
            "grade" => hir::Of::Grade,
            other => {
                self.error(CheckError::ValueOf {
                    at: (cx.file, func.span),
                    what: what.clone(),
                    problem: format!(
                        "`{} of` is not a column; write `value of`, `max of`, `min of`, `grade of`, `count of` or `count of records of`",
                        other.replace(' ', " of ")
                    ),
                });
                return None;
            }
        };
        let x = self.expr(events, cx);
        let x = self.settle(x, cx);
        if x.ty == Type::Error {
            return None;
        }
        let lab = || {
            if x.ty.events().and_then(|d| d.single()) != Some(EventDomain::Lab) {
                Some("it takes lab results")
            } else if self.lab_item_of(&x).is_none() {
                Some("it takes the results of one lab item")
            } else {
                None
            }
        };
        let problem = match kind {
            // `grade of ctcae_grade(last lab alt …)`: one result per entry, graded.
            hir::Of::Grade => match &x.kind {
                H::Grade { events, .. } if selects_one(&self.hir, events) => None,
                H::Grade { .. } => Some(
                    "it takes the grade of one result per entry: `grade of ctcae_grade(last lab alt within 180 days before index)`",
                ),
                _ => Some(
                    "it takes a grading of one lab result: `grade of ctcae_grade(last lab alt within 180 days before index)`",
                ),
            },
            hir::Of::Count | hir::Of::Records => {
                x.ty.events().is_none().then_some("`count of` takes events")
            }
            hir::Of::Max | hir::Of::Min => lab().or_else(|| {
                selects_one(&self.hir, &x).then_some(
                    "it takes all the results of a window, not one (`max of lab alt within 180 days before index`)",
                )
            }),
            hir::Of::Value | hir::Of::DaysFrom => lab().or_else(|| {
                (!selects_one(&self.hir, &x))
                    .then_some("it takes one result per entry: `first`, `last` or `nth(n)`")
            }),
        };
        if let Some(p) = problem {
            self.error(CheckError::ValueOf {
                at: (cx.file, events.span),
                what,
                problem: p.into(),
            });
            return None;
        }
        Some((kind, x))
    }

    /// One export column (or Table 1 row) over a cohort's entries: `censoring`, `value of` /
    /// `count of`, or a value per entry (an outcome only of the cohort's own).
    fn export_column(
        &mut self,
        c: &ast::Expr,
        ecx: &Cx,
        cohort: hir::DefId,
        export_of: Option<&str>,
    ) -> Option<hir::ExportColumn> {
        let file = ecx.file;
        // `censoring`: what ended follow-up (an export column only), unless the
        // script names something so.
        let mut of = None;
        let mut from = None;
        let x = match &c.kind {
            A::DaysBetween { from: a, to: b } => {
                let (a, b) = (self.expr(a, ecx), self.expr(b, ecx));
                let (a, b) = (self.settle(a, ecx), self.settle(b, ecx));
                let date = |h: &hir::Hir, x: &hir::Expr| {
                    x.ty == Type::Date || matches!(x.ty, Type::Events(_)) && selects_one(h, x)
                };
                for x in [&a, &b] {
                    if x.ty != Type::Error && !date(&self.hir, x) {
                        self.mismatch(
                            x,
                            "a date (or one event: `first drug x after index`)",
                            x.ty,
                            "`days from … to …`",
                            None,
                        );
                        return None;
                    }
                }
                if a.ty == Type::Error || b.ty == Type::Error {
                    return None;
                }
                of = Some(hir::Of::DaysFrom);
                from = Some(a);
                b
            }
            A::Name(i) if i.name == "censoring" && self.lookup(ecx.scope, &i.name).is_none() => {
                self.mk(H::Builtin(hir::Builtin::Censoring), Type::Text, c, ecx)
            }
            A::Name(i) if i.name == "index_drug" && self.lookup(ecx.scope, &i.name).is_none() => {
                if !self.index_is_drug(cohort, (file, c.span)) {
                    return None;
                }
                self.mk(H::Builtin(hir::Builtin::IndexDrug), Type::Text, c, ecx)
            }
            A::ValueOf { func, events } => {
                let (kind, x) = self.value_of(func, events, ecx)?;
                of = Some(kind);
                x
            }
            _ => {
                let x = self.expr(c, ecx);
                self.settle(x, ecx)
            }
        };
        let name = column_name(&self.text(file, c.span));
        match (&x.kind, x.ty) {
            (_, Type::Error) => return None,
            (_, Type::Number | Type::Text | Type::Date | Type::Bool) => {}
            // `grade of …`: a number per entry.
            (H::Grade { .. }, Type::Grades) if of == Some(hir::Of::Grade) => {}
            (_, Type::Events(_)) if selects_one(&self.hir, &x) => {}
            (_, Type::Events(_)) => {}
            (H::Def(id), Type::Outcome) => {
                if let DefKind::Outcome(o) = &self.hir.def(*id).kind
                    && !o.cohorts.contains(&cohort)
                {
                    let oc = self.names_of(&o.cohorts);
                    self.error(CheckError::OtherCohortsOutcome {
                        at: (file, c.span),
                        outcome: self.hir.def(*id).name.clone(),
                        cohort: oc,
                        export_of: export_of.map(String::from),
                    });
                    return None;
                }
            }
            (_, other) => {
                self.mismatch(
                    &x,
                    "a value per patient (number, text, date, yes/no or an outcome)",
                    other,
                    "an export column",
                    None,
                );
                return None;
            }
        }
        Some(hir::ExportColumn {
            name,
            expr: x,
            of,
            from,
        })
    }

    /// The lab events of `tested(…)` (a report stratum or an export column by period).
    fn tested_events(
        &mut self,
        call: &ast::Expr,
        args: &[ast::Expr],
        cx: &Cx,
    ) -> Option<hir::Expr> {
        if args.len() != 1 {
            self.error(CheckError::Arity {
                at: (cx.file, call.span),
                name: "tested".into(),
                expected: "one lab query".into(),
                found: args.len(),
                def: None,
            });
            return None;
        }
        let x = self.expr(&args[0], cx);
        let x = self.settle(x, cx);
        match x.ty {
            Type::Events(d) if d.single() == Some(EventDomain::Lab) => Some(x),
            Type::Error => None,
            other => {
                self.mismatch(&x, "lab events", other, "`tested(…)`", None);
                None
            }
        }
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
                    let by_period = match &e.by {
                        None => false,
                        Some(b) if b.name != "period" => {
                            self.error(CheckError::ExportBy {
                                at: (file, b.span),
                                found: Some(b.name.clone()),
                            });
                            continue;
                        }
                        Some(b) => {
                            if !self.has_periods(cohort) {
                                self.error(CheckError::NeedsPeriods {
                                    at: (file, b.span),
                                    tested: false,
                                });
                                continue;
                            }
                            true
                        }
                    };
                    let mut columns = Vec::new();
                    let mut tested = Vec::new();
                    for c in &e.columns {
                        if let A::Call { callee, args } = &c.kind
                            && matches!(&callee.kind, A::Name(i) if i.name == "tested")
                        {
                            if !by_period {
                                self.error(CheckError::ExportBy {
                                    at: (file, c.span),
                                    found: None,
                                });
                                continue;
                            }
                            if let Some(x) = self.tested_events(c, args, &ecx) {
                                let name = column_name(&self.text(file, c.span));
                                if columns
                                    .iter()
                                    .chain(&tested)
                                    .any(|c: &hir::ExportColumn| c.name == name)
                                {
                                    self.error(CheckError::DuplicateColumn {
                                        at: (file, c.span),
                                        name: name.clone(),
                                    });
                                    continue;
                                }
                                tested.push(hir::ExportColumn {
                                    name,
                                    expr: x,
                                    of: None,
                                    from: None,
                                });
                            }
                            continue;
                        }
                        let Some(col) = self.export_column(c, &ecx, cohort, Some(&e.cohort.name))
                        else {
                            continue;
                        };
                        let name = col.name.clone();
                        if columns
                            .iter()
                            .chain(&tested)
                            .any(|c: &hir::ExportColumn| c.name == name)
                        {
                            self.error(CheckError::DuplicateColumn {
                                at: (file, c.span),
                                name: name.clone(),
                            });
                            continue;
                        }
                        columns.push(col);
                    }
                    self.hir.exports.push(hir::Export {
                        name: e.name.as_ref().map(|n| n.name.clone()),
                        cohort,
                        columns,
                        by_period,
                        tested,
                        span: item.span,
                    });
                }
                ast::ItemKind::Report(r) => self.report(r, item.span, &cx),
                ast::ItemKind::Table1(t) => self.table1(t, item.span, &cx),
                _ => {}
            }
        }
        // Two exports that would write the same file.
        let cohorts: Vec<String> = self
            .hir
            .exports
            .iter()
            .map(|e| self.hir.def(e.cohort).name.clone())
            .collect();
        let keys: Vec<(Option<&str>, &str)> = self
            .hir
            .exports
            .iter()
            .zip(&cohorts)
            .map(|(e, c)| (e.name.as_deref(), c.as_str()))
            .collect();
        let names = crate::codegen::names::export_plans(&keys);
        let mut errors = Vec::new();
        for (i, n) in names.iter().enumerate() {
            if let Some(j) = names[..i].iter().position(|m| m == n) {
                errors.push(CheckError::Duplicate {
                    at: (file, self.hir.exports[i].span),
                    name: n.trim_start_matches("export_").to_string(),
                    first: (file, self.hir.exports[j].span),
                });
            }
        }
        for e in errors {
            self.error(e);
        }
    }

    /// `table1 [name =] a, b with rows`: each row a characteristic at baseline (at or before
    /// index), checked against the first cohort's context like a report's strata.
    fn table1(&mut self, t: &ast::Table1Decl, span: ast::Span, cx: &Cx) {
        let file = cx.file;
        let Some(cohorts) = self.cohort_list(&t.cohorts, cx) else {
            return;
        };
        let mut tcx = cx.clone();
        tcx.cohort = Some(Rc::new(CohortCx {
            eras: cohorts
                .first()
                .map(|c| self.eras_of(*c))
                .unwrap_or_default(),
            ..Default::default()
        }));
        let mut rows: Vec<hir::ExportColumn> = Vec::new();
        for row in &t.rows {
            let r = &row.expr;
            // `age`: age at index, the usual first row.
            let age_at_index;
            let (r, bare_age) = match &r.kind {
                A::Name(i) if i.name == "age" && self.lookup(tcx.scope, "age").is_none() => {
                    let index = ast::Expr::new(A::Anchor(ast::Anchor::Index), i.span);
                    age_at_index = ast::Expr::new(A::AgeAt(Box::new(index)), r.span);
                    (&age_at_index, true)
                }
                _ => (r, false),
            };
            let first = cohorts[0];
            let given = row.name.as_ref();
            let Some(mut row) = self.export_column(r, &tcx, first, None) else {
                continue;
            };
            // `age` alone is named `age`; `… as diabetes`, as given.
            if let Some(n) = given {
                row.name = n.name.clone();
            } else if bare_age {
                row.name = "age".into();
            }
            if matches!(row.expr.kind, H::Builtin(hir::Builtin::IndexDrug))
                && !cohorts[1..]
                    .iter()
                    .all(|c| self.index_is_drug(*c, (file, r.span)))
            {
                continue;
            }
            let problem = match (&row.expr.kind, row.expr.ty) {
                // `value of …`, `count of …`, `days from … to …`: numbers.
                _ if row.of.is_some() => None,
                (H::Builtin(hir::Builtin::Censoring), _) => {
                    Some("`censoring` is known only at the end of follow-up, not at baseline")
                }
                (_, Type::Outcome) => {
                    Some("an outcome comes after index; Table 1 describes the cohorts at baseline")
                }
                (_, Type::Date) => Some(
                    "a date is not a characteristic: write the events (`drug x before index`) for a yes/no row",
                ),
                (H::Number(_) | H::Text(_) | H::Bool(_), _) => {
                    Some("a constant is the same for everyone: it is not a characteristic")
                }
                _ => None,
            };
            if let Some(p) = problem {
                self.error(CheckError::Table1Row {
                    at: (file, r.span),
                    problem: p.into(),
                });
                continue;
            }
            if rows.iter().any(|x| x.name == row.name) {
                self.error(CheckError::DuplicateColumn {
                    at: (file, r.span),
                    name: row.name.clone(),
                });
                continue;
            }
            rows.push(row);
        }
        let given = t.name.as_ref();
        let name = given.map_or("table1".to_string(), |n| n.name.clone());
        let taken = |h: &hir::Hir, n: &str| {
            h.reports.iter().any(|r| r.name == n) || h.table1s.iter().any(|x| x.name == n)
        };
        let name = if given.is_some() || !taken(&self.hir, &name) {
            if let Some(g) = given
                && taken(&self.hir, &name)
            {
                let first = self
                    .hir
                    .table1s
                    .iter()
                    .find(|x| x.name == name)
                    .map(|x| x.span)
                    .or_else(|| {
                        self.hir
                            .reports
                            .iter()
                            .find(|r| r.name == name)
                            .map(|r| r.span)
                    })
                    .unwrap_or(span);
                self.error(CheckError::Duplicate {
                    at: (file, g.span),
                    name: name.clone(),
                    first: (file, first),
                });
                return;
            }
            name
        } else {
            (2..)
                .map(|n| format!("table1_{n}"))
                .find(|n| !taken(&self.hir, n))
                .unwrap_or_default()
        };
        self.hir.table1s.push(hir::Table1 {
            name,
            cohorts,
            rows,
            span,
        });
    }

    pub(super) fn report(&mut self, r: &ast::ReportDecl, span: ast::Span, cx: &Cx) {
        let file = cx.file;
        let Some(cohorts) = self.cohort_list(&r.cohorts, cx) else {
            return;
        };
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
                        && !out.cohorts.iter().any(|c| cohorts.contains(c))
                    {
                        let oc = self.names_of(&out.cohorts);
                        self.error(CheckError::OtherCohortsOutcome {
                            at: (file, o.span),
                            outcome: o.name.clone(),
                            cohort: oc,
                            export_of: None,
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
        let has_periods = cohorts.iter().all(|c| self.has_periods(*c));
        let mut strata = Vec::new();
        let mut seen: Vec<(String, super::At)> = Vec::new();
        for s in &r.strata {
            let st = match s {
                ast::Stratum::AgeBand { width, .. } => {
                    let w = self.expr(width, &rcx);
                    match self.const_duration(&w, "`age band`") {
                        Some(d) if d >= 365 && d % 365 == 0 => hir::Stratum::AgeBand(d / 365),
                        Some(_) => {
                            self.error(CheckError::AgeBandYears {
                                at: (file, width.span),
                            });
                            continue;
                        }
                        None => continue,
                    }
                }
                ast::Stratum::Calendar { unit, .. } => match unit {
                    ast::CalendarUnit::Year => hir::Stratum::Year,
                    ast::CalendarUnit::Month => hir::Stratum::Month,
                    ast::CalendarUnit::Quarter => hir::Stratum::Quarter,
                    ast::CalendarUnit::FiscalYear => hir::Stratum::FiscalYear,
                },
                ast::Stratum::Expr(e) => match &e.kind {
                    A::Name(i) if i.name == "sex" => hir::Stratum::Sex,
                    A::Name(i) if i.name == "hospital" => hir::Stratum::Hospital,
                    A::Name(i) if i.name == "cohort" => hir::Stratum::Cohort,
                    // `by grade of ctcae_grade(last lab alt within 180 days before index)`.
                    A::ValueOf { func, events } if func.name == "grade" => {
                        match self.value_of(func, events, &rcx) {
                            Some((_, x)) => hir::Stratum::Grade {
                                name: column_name(&self.text(file, e.span)),
                                expr: x,
                            },
                            None => continue,
                        }
                    }
                    A::Name(i)
                        if i.name == "index_drug" && self.lookup(rcx.scope, &i.name).is_none() =>
                    {
                        if !cohorts
                            .iter()
                            .all(|c| self.index_is_drug(*c, (file, e.span)))
                        {
                            continue;
                        }
                        hir::Stratum::IndexDrug
                    }
                    A::Name(i) if i.name == "period" => {
                        if !has_periods {
                            self.error(CheckError::NeedsPeriods {
                                at: (file, e.span),
                                tested: false,
                            });
                            continue;
                        }
                        hir::Stratum::Period
                    }
                    A::Call { callee, args } if matches!(&callee.kind, A::Name(i) if i.name == "tested") =>
                    {
                        if !has_periods {
                            self.error(CheckError::NeedsPeriods {
                                at: (file, e.span),
                                tested: true,
                            });
                            continue;
                        }
                        match self.tested_events(e, args, &rcx) {
                            Some(x) => hir::Stratum::TestingHistory(x),
                            None => continue,
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
                                self.mismatch(&x, "a stratum (sex, hospital, age band …, year, fiscal year, quarter, month, period, cohort, tested(…) or a condition)", other, "`by`", None);
                                continue;
                            }
                        }
                    }
                },
            };
            let at = (
                file,
                match s {
                    ast::Stratum::AgeBand { span, .. } | ast::Stratum::Calendar { span, .. } => {
                        *span
                    }
                    ast::Stratum::Expr(e) => e.span,
                },
            );
            let column = stratum_name(&st);
            if let Some((_, first)) = seen.iter().find(|(n, _)| *n == column) {
                self.error(CheckError::DuplicateStratum {
                    at,
                    name: column,
                    first: *first,
                });
                continue;
            }
            seen.push((column, at));
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
                } else if v > MAX_COUNT {
                    self.error(CheckError::NumberTooLarge {
                        at: (file, n.span),
                        what: "a suppression threshold",
                        max: "1,000,000".into(),
                    });
                    10
                } else {
                    v as u32
                }
            }
            None => 10,
        };
        if let Some(given) = &r.name
            && let Some(first) = self.hir.reports.iter().find(|x| x.name == given.name)
        {
            self.error(CheckError::Duplicate {
                at: (file, given.span),
                name: given.name.clone(),
                first: (file, first.span),
            });
            return;
        }
        let mut name = r
            .cohorts
            .iter()
            .map(|c| c.name.clone())
            .collect::<Vec<_>>()
            .join("_");
        if let Some(given) = &r.name {
            name = given.name.clone();
        } else if !r.outcomes.is_empty() {
            name.push_str("_with_");
            name.push_str(
                &r.outcomes
                    .iter()
                    .map(|c| c.name.clone())
                    .collect::<Vec<_>>()
                    .join("_"),
            );
        }
        // A file name must stay short (many file systems allow 255 bytes): a report over many
        // cohorts or outcomes is named after the first of each and how many more.
        if name.len() > MAX_REPORT_NAME {
            let more = |names: Vec<&str>| match names.len() {
                1 => names[0].to_string(),
                n => format!("{}_and_{}_more", names[0], n - 1),
            };
            name = more(r.cohorts.iter().map(|c| c.name.as_str()).collect());
            if !r.outcomes.is_empty() {
                name.push_str("_with_");
                name.push_str(&more(r.outcomes.iter().map(|c| c.name.as_str()).collect()));
            }
            if name.len() > MAX_REPORT_NAME {
                let mut cut = MAX_REPORT_NAME;
                while !name.is_char_boundary(cut) {
                    cut -= 1;
                }
                name.truncate(cut);
            }
        }
        let n = self
            .hir
            .reports
            .iter()
            .filter(|x| x.name == name || x.name.starts_with(&format!("{name}_")))
            .count();
        // A made-up name is numbered when taken; a given one was checked above.
        if n > 0 && r.name.is_none() {
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

/// The longest report name: with `report_`, `.parquet` and a counter it stays a file name.
const MAX_REPORT_NAME: usize = 120;

/// A column name from source text: `age at index` → `age_at_index`.
pub(super) fn column_name(text: &str) -> String {
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

/// The name a report stratum is known by (its column).
fn stratum_name(s: &hir::Stratum) -> String {
    match s {
        hir::Stratum::Sex => "sex".into(),
        hir::Stratum::Hospital => "hospital".into(),
        hir::Stratum::AgeBand(_) => "age band".into(),
        hir::Stratum::Year => "year".into(),
        hir::Stratum::Month => "month".into(),
        hir::Stratum::Quarter => "quarter".into(),
        hir::Stratum::FiscalYear => "fiscal year".into(),
        hir::Stratum::Period => "period".into(),
        hir::Stratum::Cohort => "cohort".into(),
        hir::Stratum::IndexDrug => "index_drug".into(),
        hir::Stratum::Grade { name, .. } => name.clone(),
        hir::Stratum::TestingHistory(_) => "tested".into(),
        hir::Stratum::Condition { name, .. } => name.clone(),
    }
}

#[cfg(test)]
mod tests {
    use crate::testing::{check, errors};

    #[test]
    fn tables_1_are_named_and_their_rows_too() {
        let src = "codes x: drug = yj \"2432001\"\ncohort c { index = first drug x }\ncohort d { index = first drug x }\ntable1 c, d with age, sex, drug x before index as earlier\ntable1 c with age at index\ntable1 base = d with sex\n";
        let h = crate::check_file("test.mid", src.as_bytes());
        assert!(!h.has_errors(), "{:?}", h.diagnostics);
        let names: Vec<&str> = h.hir.table1s.iter().map(|t| t.name.as_str()).collect();
        assert_eq!(names, ["table1", "table1_2", "base"]);
        let rows: Vec<&str> = h.hir.table1s[0]
            .rows
            .iter()
            .map(|r| r.name.as_str())
            .collect();
        assert_eq!(rows, ["age", "sex", "earlier"]);
        assert_eq!(h.hir.table1s[1].rows[0].name, "age_at_index");
        // A name a report has already, and a row twice.
        let src = "codes x: drug = yj \"2432001\"\ncohort c { index = first drug x }\nreport base = c by sex\ntable1 base = c with sex\ntable1 c with sex, sex\n";
        let h = crate::check_file("test.mid", src.as_bytes());
        let codes: Vec<&str> = h.diagnostics.iter().map(|d| d.code.as_str()).collect();
        assert_eq!(codes, ["E0104", "E0314"], "{:?}", h.diagnostics);
    }

    #[test]
    fn named_outputs_keep_their_names_and_may_not_share_a_file() {
        let src = "codes x: drug = yj \"2432001\"\ncohort c { index = first drug x }\nexport analysis = c with sex\nexport c with sex\nreport table2 = c by sex\nreport c by sex\n";
        let h = crate::check_file("test.mid", src.as_bytes());
        let reports: Vec<&str> = h.hir.reports.iter().map(|r| r.name.as_str()).collect();
        assert_eq!(reports, ["table2", "c"]);
        let exports: Vec<Option<&str>> = h.hir.exports.iter().map(|e| e.name.as_deref()).collect();
        assert_eq!(exports, [Some("analysis"), None]);
        assert_eq!(
            crate::codegen::names::export_plans(&[
                (Some("analysis"), "c"),
                (None, "c"),
                (None, "d"),
                (None, "d")
            ]),
            ["export_analysis", "export_c", "export_d_3", "export_d_4"]
        );
        insta::assert_snapshot!(errors(
            "codes x: drug = yj \"2432001\"\ncohort c { index = first drug x }\nexport c with sex\nexport c = c with sex\nreport t = c by sex\nreport t = c by sex\n"
        ), @r#"
            E0104 4:1 `c` is defined twice (defined again here) help: give one of them another name
            E0104 6:8 `t` is defined twice (defined again here) help: give one of them another name
            "#);
    }

    #[test]
    fn a_report_over_many_cohorts_has_a_file_sized_name() {
        let mut src = String::from("codes x: drug = yj \"2432001\"\n");
        let names: Vec<String> = (0..12)
            .map(|i| format!("a_cohort_with_a_long_name_{i}"))
            .collect();
        for n in &names {
            src.push_str(&format!("cohort {n} {{ index = first drug x }}\n"));
        }
        src.push_str(&format!(
            "report {} by cohort\nreport {} by cohort\n",
            names.join(", "),
            names.join(", ")
        ));
        let c = crate::check_file("test.mid", src.as_bytes());
        let reports: Vec<&str> = c.hir.reports.iter().map(|r| r.name.as_str()).collect();
        assert_eq!(
            reports,
            [
                "a_cohort_with_a_long_name_0_and_11_more",
                "a_cohort_with_a_long_name_0_and_11_more_2"
            ]
        );
    }

    #[test]
    fn exports_and_reports() {
        insta::assert_snapshot!(check(
            r#"import labs.{alt}
codes x: drug = yj "2432001"
cohort c {
  index = first drug x
  periods of 14 days from index + 1 day until index + 56 days
}
outcome liver in c = lab alt > 3 x ULN
export c with liver, age at index, sex
report c with liver by period, tested(lab alt), sex, age band 10 years, suppress below 20"#
        ), @r#"
        x : Codes<drug> = yj "2432001":Codes<drug>
        c : Cohort
          index = (First (drug x:Codes<drug>):Events<drug>):Events<drug>
          periods of 14d from (+ Index:Date 1 days:Duration):Date until (+ Index:Date 56 days:Duration):Date
        liver : Outcome in c = (> (lab labs.alt:Lab):Events<lab> 3 x ULN:Quantity<multiple of ULN>):Events<lab>
        export c : [liver = liver:Outcome, age_at_index = (age-at Index:Date):Number, sex = sex:Text]
        report c_with_liver : cohorts [c] outcomes [liver] by [period, tested((lab labs.alt:Lab):Events<lab>), sex, age band 10y] suppress below 20
        "#);
    }

    #[test]
    fn suppression_below_ten() {
        insta::assert_snapshot!(errors(
            r#"codes x: drug = yj "2432001"
cohort c { index = first drug x }
report c by sex, suppress below 5"#
        ), @"E0308 3:33 counts below 5 would be shown (must be 10 or more) help: remove the clause (10 is the default) or raise it");
    }

    #[test]
    fn a_stratum_must_be_one() {
        insta::assert_snapshot!(errors(
            r#"codes x: drug = yj "2432001"
cohort c { index = first drug x }
report c by index, age band 6 months"#
        ), @"
        E0201 3:13 `by` needs a stratum (sex, hospital, age band …, year, fiscal year, quarter, month, period, cohort, tested(…) or a condition), found Date (this is Date)
        E0315 3:29 age bands are whole years (not whole years) help: e.g. `age band 10 years`
        ");
    }
}
