//! The AST printed as text (`mid compile --emit ast`): one line per declaration or statement,
//! expressions as fully parenthesised S-expressions so precedence is visible at a glance.

use std::fmt::Write;

use crate::ast::*;

/// Prints a file's tree.
pub fn file(f: &File) -> String {
    let mut out = String::new();
    for line in &f.doc {
        let _ = writeln!(out, "//! {line}");
    }
    if let Some(h) = &f.header {
        let kw = match h.kind {
            HeaderKind::Study => "study",
            HeaderKind::Module => "module",
        };
        let _ = writeln!(out, "{kw} {}", h.name.name);
    }
    for item in &f.items {
        for line in &item.doc {
            let _ = writeln!(out, "/// {line}");
        }
        self::item(&mut out, &item.kind);
    }
    out
}

fn item(out: &mut String, kind: &ItemKind) {
    match kind {
        ItemKind::Import(i) => {
            let path: Vec<&str> = i.path.iter().map(|p| p.name.as_str()).collect();
            let names = match &i.names {
                ImportNames::Single => String::new(),
                ImportNames::All => ".*".to_string(),
                ImportNames::List(list) => {
                    let items: Vec<String> = list
                        .iter()
                        .map(|n| match &n.alias {
                            Some(a) => format!("{} as {}", n.name.name, a.name),
                            None => n.name.name.clone(),
                        })
                        .collect();
                    format!(".{{{}}}", items.join(", "))
                }
            };
            let _ = writeln!(out, "import {}{names}", path.join("."));
        }
        ItemKind::Codes(c) => {
            let domain = c
                .domain
                .as_ref()
                .map(|d| format!(": {}", d.name))
                .unwrap_or_default();
            let _ = writeln!(out, "codes {}{domain} = {}", c.name.name, expr(&c.value));
        }
        ItemKind::Define(d) => define(out, d),
        ItemKind::Lab(l) => {
            let title = l
                .title
                .as_ref()
                .map(|t| format!(" {:?}", t.value))
                .unwrap_or_default();
            let _ = writeln!(out, "lab {}{title}", l.name.name);
            props(out, &l.props, "  ");
        }
        ItemKind::Grading(g) => {
            let title = g
                .title
                .as_ref()
                .map(|t| format!(" {:?}", t.value))
                .unwrap_or_default();
            let _ = writeln!(out, "grading {}{title}", g.name.name);
            props(out, &g.props, "  ");
            for t in &g.tables {
                let _ = writeln!(out, "  for {}", expr(&t.lab));
                for r in &t.rules {
                    let _ = writeln!(
                        out,
                        "    grade {} when {} {}",
                        r.grade.text,
                        r.op.symbol(),
                        expr(&r.value)
                    );
                }
            }
        }
        ItemKind::Cohort(c) => {
            let params = c.params.as_ref().map(|ps| {
                let ps: Vec<String> = ps
                    .iter()
                    .map(|p| format!("{}: {}", p.name.name, p.ty.name.name))
                    .collect();
                format!("({})", ps.join(", "))
            });
            let from = c.from.as_ref().map(|t| {
                let args: Vec<String> = t.args.iter().map(expr).collect();
                format!(" = {}({})", t.template.name, args.join(", "))
            });
            let _ = writeln!(
                out,
                "cohort {}{}{}",
                c.name.name,
                params.unwrap_or_default(),
                from.unwrap_or_default()
            );
            for s in &c.stmts {
                stmt(out, &s.kind);
            }
        }
        ItemKind::Outcome(o) => {
            let _ = writeln!(
                out,
                "outcome {} in {} = {}",
                o.name.name,
                o.cohorts
                    .iter()
                    .map(|c| c.name.as_str())
                    .collect::<Vec<_>>()
                    .join(", "),
                expr(&o.value)
            );
        }
        ItemKind::Export(e) => {
            let cols: Vec<String> = e.columns.iter().map(expr).collect();
            let name = e
                .name
                .as_ref()
                .map(|n| format!("{} = ", n.name))
                .unwrap_or_default();
            let by =
                e.by.as_ref()
                    .map(|b| format!(" by {}", b.name))
                    .unwrap_or_default();
            let _ = writeln!(
                out,
                "export {name}{}{by} with [{}]",
                e.cohort.name,
                cols.join(", ")
            );
        }
        ItemKind::Report(r) => {
            let cohorts: Vec<&str> = r.cohorts.iter().map(|c| c.name.as_str()).collect();
            let outcomes: Vec<&str> = r.outcomes.iter().map(|c| c.name.as_str()).collect();
            let strata: Vec<String> = r
                .strata
                .iter()
                .map(|s| match s {
                    Stratum::AgeBand { width, .. } => format!("(age-band {})", expr(width)),
                    Stratum::Calendar { unit, .. } => match unit {
                        CalendarUnit::Year => "year".to_string(),
                        CalendarUnit::Month => "month".to_string(),
                        CalendarUnit::Quarter => "quarter".to_string(),
                        CalendarUnit::FiscalYear => "fiscal year".to_string(),
                    },
                    Stratum::Expr(e) => expr(e),
                })
                .collect();
            let suppress = r
                .suppress_below
                .as_ref()
                .map(|n| format!(" suppress below {}", n.text))
                .unwrap_or_default();
            let _ = writeln!(
                out,
                "report [{}] with [{}] by [{}]{suppress}",
                cohorts.join(", "),
                outcomes.join(", "),
                strata.join(", ")
            );
        }
        ItemKind::Table1(t) => {
            let cohorts: Vec<&str> = t.cohorts.iter().map(|c| c.name.as_str()).collect();
            let rows: Vec<String> = t
                .rows
                .iter()
                .map(|r| match &r.name {
                    Some(n) => format!("{} as {}", expr(&r.expr), n.name),
                    None => expr(&r.expr),
                })
                .collect();
            let name = t
                .name
                .as_ref()
                .map(|n| format!("{} = ", n.name))
                .unwrap_or_default();
            let _ = writeln!(
                out,
                "table1 {name}[{}] with [{}]",
                cohorts.join(", "),
                rows.join(", ")
            );
        }
        ItemKind::Error => {
            let _ = writeln!(out, "<error>");
        }
    }
}

fn define(out: &mut String, d: &DefineDecl) {
    let params = match &d.params {
        None => String::new(),
        Some(ps) => {
            let ps: Vec<String> = ps
                .iter()
                .map(|p| {
                    let default = p
                        .default
                        .as_ref()
                        .map(|e| format!(" = {}", expr(e)))
                        .unwrap_or_default();
                    format!("{}: {}{default}", p.name.name, ty(&p.ty))
                })
                .collect();
            format!("({})", ps.join(", "))
        }
    };
    let t =
        d.ty.as_ref()
            .map(|t| format!(": {}", ty(t)))
            .unwrap_or_default();
    let _ = writeln!(
        out,
        "define {}{params}{t} = {}",
        d.name.name,
        expr(&d.value)
    );
    if let Some(v) = &d.validation {
        let status = match v.status {
            ValidationStatus::Validated => "validated",
            ValidationStatus::Provisional => "provisional",
        };
        let _ = writeln!(out, "  {status}");
        props(out, &v.props, "    ");
    }
}

fn ty(t: &TypeExpr) -> String {
    match &t.arg {
        Some(a) => format!("{}<{}>", t.name.name, a.name),
        None => t.name.name.clone(),
    }
}

fn props(out: &mut String, props: &[Prop], indent: &str) {
    for p in props {
        let q = p
            .qualifier
            .as_ref()
            .map(|q| format!(" {}", q.name))
            .unwrap_or_default();
        let v = match &p.value {
            PropValue::Expr(e) => expr(e),
            PropValue::Unit(u) => format!("(unit {})", u.text),
            PropValue::Range {
                low, high, unit, ..
            } => {
                let u = unit
                    .as_ref()
                    .map(|u| format!(" {}", u.text))
                    .unwrap_or_default();
                format!("(range {} {}{u})", low.text, high.text)
            }
        };
        let _ = writeln!(out, "{indent}{}{q} = {v}", p.key.name);
    }
}

fn stmt(out: &mut String, s: &CohortStmtKind) {
    let label = |l: &Option<StrLit>| {
        l.as_ref()
            .map(|l| format!(" {:?}", l.value))
            .unwrap_or_default()
    };
    let line = match s {
        CohortStmtKind::Index(e) => format!("index = {}", expr(e)),
        CohortStmtKind::Require { label: l, cond } => format!("require{} {}", label(l), expr(cond)),
        CohortStmtKind::Exclude { label: l, cond } => format!("exclude{} {}", label(l), expr(cond)),
        CohortStmtKind::End(e) => format!("end = {}", expr(e)),
        CohortStmtKind::Era {
            name,
            events,
            gap,
            grace,
        } => {
            let gap = gap
                .as_ref()
                .map(|g| format!(" gap {}", expr(g)))
                .unwrap_or_default();
            let grace = grace
                .as_ref()
                .map(|g| format!(" grace {}", expr(g)))
                .unwrap_or_default();
            format!("era {} = {}{gap}{grace}", name.name, expr(events))
        }
        CohortStmtKind::Periods {
            length,
            from,
            until,
            then_until,
        } => {
            let mut s = format!("periods of {}", expr(length));
            if let Some(f) = from {
                s += &format!(" from {}", expr(f));
            }
            if let Some(u) = until {
                s += &format!(" until {}", expr(u));
            }
            if let Some(t) = then_until {
                s += &format!(" then until {}", expr(t));
            }
            s
        }
        CohortStmtKind::Error => "<error>".to_string(),
    };
    let _ = writeln!(out, "  {line}");
}

/// Prints an expression as an S-expression.
pub fn expr(e: &Expr) -> String {
    match &e.kind {
        ExprKind::Name(i) => i.name.clone(),
        ExprKind::Path(p) => p
            .iter()
            .map(|i| i.name.as_str())
            .collect::<Vec<_>>()
            .join("."),
        ExprKind::Number(n) => n.text.clone(),
        ExprKind::Quantity { value, unit } => format!("{} {}", value.text, unit.text),
        ExprKind::Date(d) => d.clone(),
        ExprKind::Str(s) => format!("{s:?}"),
        ExprKind::Bool(b) => b.to_string(),
        ExprKind::CodeLit { system, code, to } => match to {
            Some(to) => format!("({} {:?}..{:?})", system.name, code.value, to.value),
            None => format!("({} {:?})", system.name, code.value),
        },
        ExprKind::Call { callee, args } => {
            let args: Vec<String> = args.iter().map(expr).collect();
            format!("(call {} {})", expr(callee), args.join(" "))
        }
        ExprKind::Binary { op, lhs, rhs } => {
            let op = match op {
                BinOp::Or => "or",
                BinOp::And => "and",
                BinOp::Add => "+",
                BinOp::Sub => "-",
                BinOp::Mul => "*",
                BinOp::Div => "/",
                BinOp::Cmp(c) => c.symbol(),
            };
            format!("({op} {} {})", expr(lhs), expr(rhs))
        }
        ExprKind::Not(e) => format!("(not {})", expr(e)),
        ExprKind::In {
            lhs,
            values,
            negated,
        } => {
            let vs: Vec<String> = values.iter().map(expr).collect();
            let op = if *negated { "not-in" } else { "in" };
            format!("({op} {} [{}])", expr(lhs), vs.join(" "))
        }
        ExprKind::Event { domain, target } => format!("({} {})", domain.name(), expr(target)),
        ExprKind::Select { selector, expr: e } => format!("({} {})", sel(selector), expr(e)),
        ExprKind::Where { expr: e, filter } => format!("(where {} {})", expr(e), expr(filter)),
        ExprKind::Having { expr: e, cond } => format!("(having {} {})", expr(e), expr(cond)),
        ExprKind::Window { expr: e, window } => format!("(window {} {})", expr(e), win(window)),
        ExprKind::Anchor(a) => anchor(a),
        ExprKind::AgeAt(a) => format!("(age-at {})", expr(a)),
        ExprKind::ValueOf { func, events } => format!("({}-of {})", func.name, expr(events)),
        ExprKind::DaysBetween { from, to } => format!("(days-from {} to {})", expr(from), expr(to)),
        ExprKind::InCohort(i) => format!("(in-cohort {})", i.name),
        ExprKind::Observed {
            duration,
            direction,
            anchor,
        } => {
            let d = match direction {
                Direction::Before => "before",
                Direction::After => "after",
            };
            format!("(observed {} {d} {})", expr(duration), expr(anchor))
        }
        ExprKind::Paren(e) => expr(e),
        ExprKind::Error => "<error>".to_string(),
    }
}

fn anchor(a: &Anchor) -> String {
    match a {
        Anchor::Index => "index".into(),
        Anchor::End => "end".into(),
        Anchor::It => "it".into(),
        Anchor::StartOfObservation => "start-of-observation".into(),
        Anchor::EndOfObservation => "end-of-observation".into(),
        Anchor::StartOf(i) => format!("(start-of {})", i.name),
        Anchor::EndOf(i) => format!("(end-of {})", i.name),
    }
}

fn sel(s: &Selector) -> String {
    let unit = |u: &CountUnit| match u {
        CountUnit::Default => "",
        CountUnit::Days => " days",
        CountUnit::Visits => " visits",
        CountUnit::Records => " records",
    };
    match s {
        Selector::First => "first".into(),
        Selector::Last => "last".into(),
        Selector::Nth(n) => format!("nth {}", n.text),
        Selector::Every => "every".into(),
        Selector::No => "no".into(),
        Selector::AtLeast(n, u) => format!("at-least {}{}", n.text, unit(u)),
        Selector::AtMost(n, u) => format!("at-most {}{}", n.text, unit(u)),
        Selector::Exactly(n, u) => format!("exactly {}{}", n.text, unit(u)),
    }
}

fn rel(r: Relation) -> &'static str {
    match r {
        Relation::Before => "before",
        Relation::After => "after",
        Relation::Around => "around",
        Relation::OnOrBefore => "on-or-before",
        Relation::OnOrAfter => "on-or-after",
        Relation::On => "on",
    }
}

fn win(w: &Window) -> String {
    match w {
        Window::Within {
            duration,
            relation,
            anchor,
        } => format!(
            "within {} {} {}",
            expr(duration),
            rel(*relation),
            expr(anchor)
        ),
        Window::Between { from, to } => format!("between {} {}", expr(from), expr(to)),
        Window::Relative { relation, anchor } => format!("{} {}", rel(*relation), expr(anchor)),
        Window::During(a) => format!("during {}", expr(a)),
        Window::Same { unit, anchor } => {
            let u = match unit {
                SameUnit::Day => "day",
                SameUnit::Month => "month",
                SameUnit::Year => "year",
                SameUnit::Stay => "stay",
            };
            format!("same-{u} {}", expr(anchor))
        }
        Window::Overlapping(w) => format!("overlapping {}", win(w)),
    }
}
