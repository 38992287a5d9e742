//! The high-level IR (stage: AST → HIR): every name resolved to its definition, every
//! expression typed, codes and units validated. Still shaped like the source; `hir_to_cir`
//! gives it cohort semantics.

use mid_grammar::ast::{self, Span};

use crate::cdm::Column;
use crate::codes::{CodeDomain, System};
use crate::source::FileId;
use crate::types::{EventDomain, Type};
use crate::units::{Relative, UnitDef};
pub use crate::validation::Validation;

/// A definition's index in `Hir::defs`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct DefId(pub u32);

/// A checked program: the stdlib definitions it can reach and the user's script.
#[derive(Debug, Clone, Default)]
pub struct Hir {
    pub defs: Vec<Def>,
    /// The script's own file.
    pub file: Option<FileId>,
    pub study: Option<String>,
    /// The script's definitions, in source order.
    pub script_defs: Vec<DefId>,
    pub exports: Vec<Export>,
    pub reports: Vec<Report>,
    pub table1s: Vec<Table1>,
}

impl Hir {
    pub fn def(&self, id: DefId) -> &Def {
        &self.defs[id.0 as usize]
    }
}

#[derive(Debug, Clone)]
pub struct Def {
    pub name: String,
    /// `labs`, `outcomes`, … for the stdlib; the study (or `main`) for the script.
    pub module: String,
    pub file: FileId,
    /// The name where it is declared.
    pub span: Span,
    pub doc: Vec<String>,
    pub ty: Type,
    pub kind: DefKind,
}

impl Def {
    /// `labs.alt` for stdlib definitions, `new_users` for the script's.
    pub fn qualified(&self) -> String {
        if self.module.is_empty() {
            self.name.clone()
        } else {
            format!("{}.{}", self.module, self.name)
        }
    }
}

#[derive(Debug, Clone)]
pub enum DefKind {
    /// Not checked yet, or its checking failed.
    Pending,
    Codes(Expr),
    Value {
        params: Option<Vec<Param>>,
        body: Expr,
        validation: Option<Box<Validation>>,
    },
    Lab(Box<LabItem>),
    Grading(Box<Grading>),
    Cohort(Box<Cohort>),
    /// A cohort with parameters, checked once with them unbound; each cohort made from it
    /// holds its statements with the arguments bound.
    CohortTemplate(Box<Template>),
    Outcome(Box<Outcome>),
}

#[derive(Debug, Clone)]
pub struct Template {
    pub params: Vec<Param>,
    pub cohort: Cohort,
}

#[derive(Debug, Clone)]
pub struct Param {
    pub name: String,
    pub ty: Type,
    pub default: Option<Expr>,
    pub span: Span,
}

/// A lab catalogue entry.
#[derive(Debug, Clone)]
pub struct LabItem {
    pub title: Option<String>,
    /// Which lab records are this item.
    pub codes: Option<Expr>,
    /// The unit values are compared in; `None` for qualitative results (`(+)`, `(-)`).
    pub unit: Option<&'static UnitDef>,
    /// Units hospitals report it in, each with its conversion into `unit`.
    pub units: Vec<crate::units::Conversion>,
    /// Standard reference interval (JCCLS), by sex where it differs.
    pub reference: Reference,
    /// `wbc * neutrophil_pct`: computed from other items measured the same day.
    pub derived: Option<Derived>,
    pub source: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Reference {
    pub male: Option<(f64, f64)>,
    pub female: Option<(f64, f64)>,
    /// Intervals of earlier measurement methods (`reference jscc = …`, `last_day jscc = …`).
    pub methods: Vec<crate::units::MethodInterval>,
}

#[derive(Debug, Clone)]
pub struct Derived {
    /// The factors, each a lab item; their values (in their own units) are multiplied.
    pub factors: Vec<DefId>,
    /// Constant multiplier turning the product into this item's unit.
    pub scale: f64,
}

#[derive(Debug, Clone)]
pub struct Grading {
    pub title: Option<String>,
    pub source: Option<String>,
    pub tables: Vec<GradeTable>,
}

#[derive(Debug, Clone)]
pub struct GradeTable {
    pub lab: DefId,
    pub rules: Vec<GradeRule>,
    pub span: Span,
}

#[derive(Debug, Clone)]
pub struct GradeRule {
    pub grade: u8,
    pub op: ast::CmpOp,
    pub value: Expr,
}

#[derive(Debug, Clone)]
pub struct Cohort {
    pub stmts: Vec<Stmt>,
}

#[derive(Debug, Clone)]
pub struct Stmt {
    pub kind: StmtKind,
    pub span: Span,
    /// The statement's source text, for attrition labels.
    pub text: String,
}

#[derive(Debug, Clone)]
pub enum StmtKind {
    Index(Expr),
    Require {
        label: Option<String>,
        cond: Expr,
    },
    Exclude {
        label: Option<String>,
        cond: Expr,
    },
    End(Expr),
    Era {
        name: String,
        events: Expr,
        gap: i64,
        grace: i64,
        /// In a template: the parameters that give the gap and the grace, if they do.
        gap_param: Option<usize>,
        grace_param: Option<usize>,
    },
    Periods {
        length: i64,
        from: Expr,
        until: Expr,
        then_until: Option<Expr>,
    },
}

#[derive(Debug, Clone)]
pub struct Outcome {
    /// The cohorts it is an outcome of (one definition, first event per entry of each).
    pub cohorts: Vec<DefId>,
    pub value: Expr,
}

#[derive(Debug, Clone)]
pub struct Export {
    pub name: Option<String>,
    pub cohort: DefId,
    pub columns: Vec<ExportColumn>,
    /// One row per entry and follow-up period.
    pub by_period: bool,
    /// By period: `tested(…)` columns, each lab events (tested in the period, and before).
    pub tested: Vec<ExportColumn>,
    pub span: Span,
}

/// An export column over events: `value of` the one picked lab result, `max of` / `min of`
/// the lab results, `count of` the distinct days of the events, or `count of records of`
/// their rows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Of {
    Value,
    Count,
    /// The highest or lowest value of the lab results in the window.
    Max,
    Min,
    /// The number of records (rows), not days.
    Records,
    /// A grading's grade of the one lab result per entry (`expr` is the grading of it).
    Grade,
    /// Days from the column's `from` date to its date (`expr`).
    DaysFrom,
}

#[derive(Debug, Clone)]
pub struct ExportColumn {
    pub name: String,
    pub expr: Expr,
    /// `value of …` or `count of …`: what `expr`'s events give per entry.
    pub of: Option<Of>,
    /// `days from A to B`: A (and `expr` is B).
    pub from: Option<Expr>,
}

/// `table1 a, b with rows`: baseline characteristics by cohort, one row each.
#[derive(Debug, Clone)]
pub struct Table1 {
    pub name: String,
    pub cohorts: Vec<DefId>,
    /// Checked like export columns (no outcome, date or `censoring`).
    pub rows: Vec<ExportColumn>,
    pub span: Span,
}

#[derive(Debug, Clone)]
pub struct Report {
    pub name: String,
    pub cohorts: Vec<DefId>,
    pub outcomes: Vec<DefId>,
    pub strata: Vec<Stratum>,
    pub suppress_below: u32,
    pub span: Span,
}

#[derive(Debug, Clone)]
pub enum Stratum {
    Sex,
    Hospital,
    AgeBand(i64),
    Year,
    /// April to March (年度), named by the year it starts in.
    FiscalYear,
    Quarter,
    Month,
    Period,
    Cohort,
    /// `tested(lab x)`: whether the item was tested in all, some or none of the earlier periods.
    TestingHistory(Expr),
    /// A condition: yes / no.
    Condition {
        name: String,
        cond: Expr,
    },
    /// The drug that set the index (`index_drug`).
    IndexDrug,
    /// `grade of ctcae_grade(last lab alt before index)`: the grade (`expr` is the grading).
    Grade {
        name: String,
        expr: Expr,
    },
}

/// A typed expression.
#[derive(Debug, Clone)]
pub struct Expr {
    pub kind: ExprKind,
    pub ty: Type,
    pub span: Span,
    pub file: FileId,
}

#[derive(Debug, Clone)]
pub enum ExprKind {
    Def(DefId),
    /// A parameter of the enclosing definition, by position.
    Param(usize),
    Builtin(Builtin),
    Number(f64),
    Quantity {
        value: f64,
        unit: QuantityUnit,
    },
    /// A duration in days.
    Duration(i64),
    /// Days since 1970-01-01.
    Date(i32),
    Text(String),
    Bool(bool),
    /// A value of a coded column, checked against the column's values where it is used.
    Word(String),
    Code {
        system: System,
        domain: CodeDomain,
        code: String,
        to: Option<String>,
    },
    CodeList(Vec<Expr>),
    Union(Box<Expr>, Box<Expr>),
    Difference(Box<Expr>, Box<Expr>),
    And(Box<Expr>, Box<Expr>),
    Or(Box<Expr>, Box<Expr>),
    Not(Box<Expr>),
    Compare {
        op: ast::CmpOp,
        lhs: Box<Expr>,
        rhs: Box<Expr>,
    },
    Arith {
        op: ast::BinOp,
        lhs: Box<Expr>,
        rhs: Box<Expr>,
    },
    Event {
        domain: EventDomain,
        target: Box<Expr>,
    },
    /// `visit inpatient`
    VisitKind(Option<String>),
    Select {
        selector: Selector,
        expr: Box<Expr>,
    },
    Where {
        expr: Box<Expr>,
        filter: Filter,
    },
    Having {
        expr: Box<Expr>,
        cond: Box<Expr>,
    },
    Window {
        expr: Box<Expr>,
        window: Window,
    },
    Anchor(Anchor),
    AgeAt(Box<Expr>),
    /// `in cohort X`: membership of an earlier cohort of the script.
    InCohort(DefId),
    Observed {
        days: i64,
        direction: ast::Direction,
        anchor: Box<Expr>,
    },
    Call {
        def: DefId,
        args: Vec<Expr>,
    },
    /// `earliest(a, b, …)` (`latest` = false) or `latest(…)`; missing dates are skipped.
    Extreme {
        latest: bool,
        args: Vec<Expr>,
    },
    Grade {
        grading: DefId,
        events: Box<Expr>,
    },
    /// A definition (or a call of one) replaced by its body, its parameters by their
    /// arguments (`check::expand`). The node's span is where it is used; the body keeps the
    /// definition's own spans. The checker never produces it; lowering reads only these.
    Inlined {
        def: DefId,
        body: Box<Expr>,
    },
    Error,
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum QuantityUnit {
    Unit(&'static UnitDef),
    Relative(Relative),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Builtin {
    Earliest,
    Latest,
    Death,
    Sex,
    Hospital,
    /// Which term of the end of follow-up ended it (an export column only: not in `ALL`,
    /// so no other place resolves the name).
    Censoring,
    /// Which code sets (a class's members) the entry events on the index day belong to (an
    /// export column or Table 1 row of a cohort whose index is a drug; not in `ALL`).
    IndexDrug,
}

impl Builtin {
    pub fn name(self) -> &'static str {
        match self {
            Builtin::Earliest => "earliest",
            Builtin::Latest => "latest",
            Builtin::Death => "death",
            Builtin::Sex => "sex",
            Builtin::Hospital => "hospital",
            Builtin::Censoring => "censoring",
            Builtin::IndexDrug => "index_drug",
        }
    }

    pub const ALL: [Builtin; 5] = [
        Builtin::Earliest,
        Builtin::Latest,
        Builtin::Death,
        Builtin::Sex,
        Builtin::Hospital,
    ];
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Selector {
    First,
    Last,
    Nth(u32),
    Every,
    No,
    AtLeast(u32, CountUnit),
    AtMost(u32, CountUnit),
    Exactly(u32, CountUnit),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CountUnit {
    Days,
    Visits,
    Records,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Anchor {
    Index,
    End,
    It,
    StartOfObservation,
    EndOfObservation,
    /// Start of a named era of the enclosing cohort.
    EraStart(String),
    /// End of a named era (last day covered plus grace).
    EraEnd(String),
}

/// A filter on the columns of an event's table.
#[derive(Debug, Clone)]
pub enum Filter {
    /// A boolean column: `not suspected`, `main`.
    Column(&'static Column),
    Compare {
        column: &'static Column,
        op: ast::CmpOp,
        value: Literal,
    },
    In {
        column: &'static Column,
        values: Vec<Literal>,
        negated: bool,
    },
    Not(Box<Filter>),
    And(Box<Filter>, Box<Filter>),
    Or(Box<Filter>, Box<Filter>),
    /// Already reported.
    Error,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Literal {
    Text(String),
    Number(f64),
    Int(i64),
    Bool(bool),
    Date(i32),
}

#[derive(Debug, Clone)]
pub enum Window {
    Within {
        /// A `Duration`: constant, or a parameter of the enclosing definition.
        duration: Box<Expr>,
        relation: ast::Relation,
        anchor: Box<Expr>,
    },
    Between {
        from: Box<Expr>,
        to: Box<Expr>,
    },
    Relative {
        relation: ast::Relation,
        anchor: Box<Expr>,
    },
    During(Box<Expr>),
    Same {
        unit: ast::SameUnit,
        anchor: Box<Expr>,
    },
    /// Events whose days (date to end date) meet the window.
    Overlapping(Box<Window>),
}

/// The HIR as text (`mid compile --emit hir`): each definition of the script with its type, and
/// expressions with every name resolved (stdlib names qualified) and typed.
pub fn print(h: &Hir) -> String {
    use std::fmt::Write;
    let mut out = String::new();
    let p = Printer { h };
    for id in &h.script_defs {
        let d = h.def(*id);
        let _ = write!(out, "{} : {}", d.name, d.ty);
        match &d.kind {
            DefKind::Codes(e) => {
                let _ = writeln!(out, " = {}", p.expr(e));
            }
            DefKind::Value {
                params,
                body,
                validation,
            } => {
                if let Some(ps) = params {
                    let ps: Vec<String> =
                        ps.iter().map(|x| format!("{}: {}", x.name, x.ty)).collect();
                    let _ = write!(out, " ({})", ps.join(", "));
                }
                let _ = writeln!(out, " = {}", p.expr(body));
                if let Some(v) = validation {
                    let _ = writeln!(out, "  {}", v.describe());
                }
            }
            DefKind::Cohort(c) => {
                let _ = writeln!(out);
                cohort_lines(&p, c, &mut out);
            }
            DefKind::CohortTemplate(t) => {
                let ps: Vec<String> = t
                    .params
                    .iter()
                    .map(|x| format!("{}: {}", x.name, x.ty))
                    .collect();
                let _ = writeln!(out, " ({})", ps.join(", "));
                cohort_lines(&p, &t.cohort, &mut out);
            }
            DefKind::Outcome(o) => {
                let cohorts: Vec<&str> =
                    o.cohorts.iter().map(|c| h.def(*c).name.as_str()).collect();
                let _ = writeln!(out, " in {} = {}", cohorts.join(", "), p.expr(&o.value));
            }
            DefKind::Lab(l) => {
                let _ = writeln!(out);
                if let Some(c) = &l.codes {
                    let _ = writeln!(out, "  codes = {}", p.expr(c));
                }
                if let Some(u) = l.unit {
                    let units: Vec<String> = l
                        .units
                        .iter()
                        .map(|c| {
                            if c.offset == 0.0 {
                                format!("{} x{}", c.unit, c.factor)
                            } else {
                                format!("{} x{} + {}", c.unit, c.factor, c.offset)
                            }
                        })
                        .collect();
                    let _ = writeln!(out, "  unit = {} (from {})", u.name, units.join(", "));
                }
                for (sex, r) in [("male", l.reference.male), ("female", l.reference.female)] {
                    if let Some((lo, hi)) = r {
                        let _ = writeln!(out, "  reference {sex} = {lo} .. {hi}");
                    }
                }
                for m in &l.reference.methods {
                    let _ = writeln!(
                        out,
                        "  reference {} = {} .. {} last_day {}",
                        m.method,
                        m.range.0,
                        m.range.1,
                        crate::dates::format(m.last_day)
                    );
                }
                if let Some(d) = &l.derived {
                    let fs: Vec<String> = d.factors.iter().map(|f| h.def(*f).qualified()).collect();
                    let _ = writeln!(out, "  derived = {} x {}", fs.join(" * "), d.scale);
                }
            }
            DefKind::Grading(g) => {
                let _ = writeln!(out);
                for t in &g.tables {
                    let rules: Vec<String> = t
                        .rules
                        .iter()
                        .map(|r| format!("{} if {} {}", r.grade, r.op.symbol(), p.expr(&r.value)))
                        .collect();
                    let _ = writeln!(out, "  {}: {}", h.def(t.lab).qualified(), rules.join("; "));
                }
            }
            DefKind::Pending => {
                let _ = writeln!(out);
            }
        }
    }
    for e in &h.exports {
        let cols: Vec<String> = e
            .columns
            .iter()
            .map(|c| format!("{} = {}", c.name, p.expr(&c.expr)))
            .collect();
        let _ = writeln!(
            out,
            "export {} : [{}]",
            h.def(e.cohort).name,
            cols.join(", ")
        );
    }
    for r in &h.reports {
        let names = |ids: &[DefId]| {
            ids.iter()
                .map(|i| h.def(*i).name.clone())
                .collect::<Vec<_>>()
                .join(", ")
        };
        let strata: Vec<String> = r
            .strata
            .iter()
            .map(|s| match s {
                Stratum::Sex => "sex".to_string(),
                Stratum::Hospital => "hospital".to_string(),
                Stratum::AgeBand(w) => format!("age band {w}y"),
                Stratum::Year => "year".to_string(),
                Stratum::Month => "month".to_string(),
                Stratum::Quarter => "quarter".to_string(),
                Stratum::FiscalYear => "fiscal year".to_string(),
                Stratum::Period => "period".to_string(),
                Stratum::Cohort => "cohort".to_string(),
                Stratum::IndexDrug => "index_drug".to_string(),
                Stratum::Grade { name, expr } => format!("{name} = grade of {}", p.expr(expr)),
                Stratum::TestingHistory(e) => format!("tested({})", p.expr(e)),
                Stratum::Condition { name, cond } => format!("{name} = {}", p.expr(cond)),
            })
            .collect();
        let _ = writeln!(
            out,
            "report {} : cohorts [{}] outcomes [{}] by [{}] suppress below {}",
            r.name,
            names(&r.cohorts),
            names(&r.outcomes),
            strata.join(", "),
            r.suppress_below
        );
    }
    out
}

/// One expression as the HIR text prints it (names qualified, types shown, no spans): two
/// expressions that print the same mean the same.
pub fn expr_text(h: &Hir, e: &Expr) -> String {
    Printer { h }.expr(e)
}

/// A cohort's statements, one per line.
fn cohort_lines(p: &Printer, c: &Cohort, out: &mut String) {
    use std::fmt::Write;
    for s in &c.stmts {
        let line = match &s.kind {
            StmtKind::Index(e) => format!("index = {}", p.expr(e)),
            StmtKind::Require { cond, .. } => format!("require {}", p.expr(cond)),
            StmtKind::Exclude { cond, .. } => format!("exclude {}", p.expr(cond)),
            StmtKind::End(e) => format!("end = {}", p.expr(e)),
            StmtKind::Era {
                name,
                events,
                gap,
                grace,
                gap_param,
                grace_param,
            } => {
                let days = |d: i64, p: &Option<usize>| match p {
                    Some(i) => format!("param#{i}"),
                    None => format!("{d}d"),
                };
                format!(
                    "era {name} = {} gap {} grace {}",
                    p.expr(events),
                    days(*gap, gap_param),
                    days(*grace, grace_param)
                )
            }
            StmtKind::Periods {
                length,
                from,
                until,
                then_until,
            } => {
                let then = then_until
                    .as_ref()
                    .map(|t| format!(" then until {}", p.expr(t)))
                    .unwrap_or_default();
                format!(
                    "periods of {length}d from {} until {}{then}",
                    p.expr(from),
                    p.expr(until)
                )
            }
        };
        let _ = writeln!(out, "  {line}");
    }
}

struct Printer<'h> {
    h: &'h Hir,
}

fn filter_text(f: &Filter) -> String {
    let lit = |l: &Literal| match l {
        Literal::Text(t) => format!("{t:?}"),
        Literal::Number(n) => format!("{n}"),
        Literal::Int(n) => format!("{n}"),
        Literal::Bool(b) => format!("{b}"),
        Literal::Date(d) => crate::dates::format(*d),
    };
    match f {
        Filter::Column(c) => c.name.to_string(),
        Filter::Compare { column, op, value } => {
            format!("({} {} {})", op.symbol(), column.name, lit(value))
        }
        Filter::In {
            column,
            values,
            negated,
        } => format!(
            "({}in {} [{}])",
            if *negated { "not " } else { "" },
            column.name,
            values.iter().map(lit).collect::<Vec<_>>().join(" ")
        ),
        Filter::Not(x) => format!("(not {})", filter_text(x)),
        Filter::And(a, b) => format!("(and {} {})", filter_text(a), filter_text(b)),
        Filter::Or(a, b) => format!("(or {} {})", filter_text(a), filter_text(b)),
        Filter::Error => "<error>".into(),
    }
}

impl Printer<'_> {
    fn window(&self, w: &Window) -> String {
        match w {
            Window::Within {
                duration,
                relation,
                anchor,
            } => format!(
                "within {} {relation:?} {}",
                self.expr(duration),
                self.expr(anchor)
            ),
            Window::Between { from, to } => {
                format!("between {} {}", self.expr(from), self.expr(to))
            }
            Window::Relative { relation, anchor } => {
                format!("{relation:?} {}", self.expr(anchor))
            }
            Window::During(a) => format!("during {}", self.expr(a)),
            Window::Same { unit, anchor } => format!("same {unit:?} as {}", self.expr(anchor)),
            Window::Overlapping(w) => format!("overlapping {}", self.window(w)),
        }
    }

    fn expr(&self, e: &Expr) -> String {
        let inner = match &e.kind {
            ExprKind::Def(id) => return format!("{}:{}", self.h.def(*id).qualified(), e.ty),
            ExprKind::Param(i) => format!("param#{i}"),
            ExprKind::Builtin(b) => b.name().to_string(),
            ExprKind::Number(n) => format!("{n}"),
            ExprKind::Quantity { value, unit } => match unit {
                QuantityUnit::Unit(u) => format!("{value} {}", u.name),
                QuantityUnit::Relative(r) => format!("{value} x {}", r.word()),
            },
            ExprKind::Duration(d) => format!("{d} days"),
            ExprKind::Date(d) => crate::dates::format(*d),
            ExprKind::Text(t) => format!("{t:?}"),
            ExprKind::Bool(b) => b.to_string(),
            ExprKind::Word(w) => w.clone(),
            ExprKind::Code {
                system, code, to, ..
            } => match to {
                Some(t) => format!("{} {code:?}..{t:?}", system.name()),
                None => format!("{} {code:?}", system.name()),
            },
            ExprKind::CodeList(xs) => format!(
                "[{}]",
                xs.iter()
                    .map(|x| self.expr(x))
                    .collect::<Vec<_>>()
                    .join(" ")
            ),
            ExprKind::Union(a, b) => format!("(or {} {})", self.expr(a), self.expr(b)),
            ExprKind::Difference(a, b) => format!("(- {} {})", self.expr(a), self.expr(b)),
            ExprKind::And(a, b) => format!("(and {} {})", self.expr(a), self.expr(b)),
            ExprKind::Or(a, b) => format!("(or {} {})", self.expr(a), self.expr(b)),
            ExprKind::Not(a) => format!("(not {})", self.expr(a)),
            ExprKind::Compare { op, lhs, rhs } => {
                format!("({} {} {})", op.symbol(), self.expr(lhs), self.expr(rhs))
            }
            ExprKind::Arith { op, lhs, rhs } => {
                let o = match op {
                    ast::BinOp::Add => "+",
                    ast::BinOp::Sub => "-",
                    ast::BinOp::Mul => "*",
                    _ => "/",
                };
                format!("({o} {} {})", self.expr(lhs), self.expr(rhs))
            }
            ExprKind::Event { domain, target } => {
                format!("({} {})", domain.name(), self.expr(target))
            }
            ExprKind::VisitKind(k) => k.clone().unwrap_or_else(|| "any".into()),
            ExprKind::Select { selector, expr } => format!("({selector:?} {})", self.expr(expr)),
            ExprKind::Where { expr, filter } => {
                format!("(where {} {})", self.expr(expr), filter_text(filter))
            }
            ExprKind::Having { expr, cond } => {
                format!("(having {} {})", self.expr(expr), self.expr(cond))
            }
            ExprKind::Window { expr, window } => {
                format!("(window {} {})", self.expr(expr), self.window(window))
            }
            ExprKind::Anchor(a) => format!("{a:?}"),
            ExprKind::AgeAt(a) => format!("(age-at {})", self.expr(a)),
            ExprKind::InCohort(id) => format!("(in-cohort {})", self.h.def(*id).name),
            ExprKind::Observed {
                days,
                direction,
                anchor,
            } => format!("(observed {days}d {direction:?} {})", self.expr(anchor)),
            ExprKind::Call { def, args } => format!(
                "(call {} {})",
                self.h.def(*def).qualified(),
                args.iter()
                    .map(|a| self.expr(a))
                    .collect::<Vec<_>>()
                    .join(" ")
            ),
            ExprKind::Extreme { latest, args } => format!(
                "({} {})",
                if *latest { "latest" } else { "earliest" },
                args.iter()
                    .map(|a| self.expr(a))
                    .collect::<Vec<_>>()
                    .join(" ")
            ),
            ExprKind::Grade { grading, events } => format!(
                "(grade {} {})",
                self.h.def(*grading).qualified(),
                self.expr(events)
            ),
            ExprKind::Inlined { def, body } => format!(
                "(inlined {} {})",
                self.h.def(*def).qualified(),
                self.expr(body)
            ),
            ExprKind::Error => "<error>".into(),
        };
        format!("{inner}:{}", e.ty)
    }
}
