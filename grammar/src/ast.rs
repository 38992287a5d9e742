//! The abstract syntax tree (stage: tokens → AST). Mirrors what was written, with byte spans;
//! it knows nothing of types, data or meaning.

use std::fmt;

/// A byte range in one source file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct Span {
    pub start: usize,
    pub end: usize,
}

impl Span {
    pub fn new(start: usize, end: usize) -> Span {
        Span { start, end }
    }

    /// The smallest span covering both.
    pub fn to(self, other: Span) -> Span {
        Span::new(self.start.min(other.start), self.end.max(other.end))
    }
}

impl fmt::Display for Span {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}..{}", self.start, self.end)
    }
}

/// A name as written.
#[derive(Debug, Clone, PartialEq)]
pub struct Ident {
    pub name: String,
    pub span: Span,
}

/// A string literal, escapes decoded.
#[derive(Debug, Clone, PartialEq)]
pub struct StrLit {
    pub value: String,
    pub span: Span,
}

/// A whole `.mid` file.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct File {
    /// `//!` lines at the top.
    pub doc: Vec<String>,
    pub header: Option<Header>,
    pub items: Vec<Item>,
    /// Plain `//` comments, kept for tools.
    pub comments: Vec<Comment>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Comment {
    pub text: String,
    pub span: Span,
}

/// `study name` (a script) or `module name` (a library file).
#[derive(Debug, Clone, PartialEq)]
pub struct Header {
    pub kind: HeaderKind,
    pub name: Ident,
    pub span: Span,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HeaderKind {
    Study,
    Module,
}

/// A top-level declaration.
#[derive(Debug, Clone, PartialEq)]
pub struct Item {
    /// `///` lines just above the item.
    pub doc: Vec<String>,
    pub kind: ItemKind,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq)]
pub enum ItemKind {
    Import(Import),
    Codes(CodesDecl),
    Define(DefineDecl),
    Lab(LabDecl),
    Grading(GradingDecl),
    Cohort(CohortDecl),
    Outcome(OutcomeDecl),
    Export(ExportDecl),
    Report(ReportDecl),
    Table1(Table1Decl),
    /// A declaration the parser could not read; its error is already reported.
    Error,
}

/// `import labs.{alt, ast as got}`, `import outcomes.neutropenia`, `import labs.*`, `import labs`.
#[derive(Debug, Clone, PartialEq)]
pub struct Import {
    pub path: Vec<Ident>,
    pub names: ImportNames,
}

#[derive(Debug, Clone, PartialEq)]
pub enum ImportNames {
    /// `import labs.alt`: the last path segment is the name.
    Single,
    /// `import labs.{a, b as c}`
    List(Vec<ImportName>),
    /// `import labs.*`
    All,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ImportName {
    pub name: Ident,
    pub alias: Option<Ident>,
}

/// `codes name: domain = expr`
#[derive(Debug, Clone, PartialEq)]
pub struct CodesDecl {
    pub name: Ident,
    pub domain: Option<Ident>,
    pub value: Expr,
}

/// `define name(params): Type = expr validated { ... }`
#[derive(Debug, Clone, PartialEq)]
pub struct DefineDecl {
    pub name: Ident,
    pub params: Option<Vec<Param>>,
    pub ty: Option<TypeExpr>,
    pub value: Expr,
    pub validation: Option<Validation>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Param {
    pub name: Ident,
    pub ty: TypeExpr,
    pub default: Option<Expr>,
    pub span: Span,
}

/// A type as written: `Duration`, `Codes<drug>`, `Events<lab>`.
#[derive(Debug, Clone, PartialEq)]
pub struct TypeExpr {
    pub name: Ident,
    pub arg: Option<Ident>,
    pub span: Span,
}

/// `validated { ppv = 95.7 % ... }` or `provisional { note = "..." }`.
#[derive(Debug, Clone, PartialEq)]
pub struct Validation {
    pub status: ValidationStatus,
    pub props: Vec<Prop>,
    pub span: Span,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ValidationStatus {
    Validated,
    Provisional,
}

/// `key qualifier = value` inside a block.
#[derive(Debug, Clone, PartialEq)]
pub struct Prop {
    pub key: Ident,
    pub qualifier: Option<Ident>,
    pub value: PropValue,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq)]
pub enum PropValue {
    Expr(Expr),
    /// `unit = mg/dL`
    Unit(Unit),
    /// `10 .. 42 U/L`, `-2 .. 2 mmol/L`
    Range {
        low: Number,
        high: Number,
        unit: Option<Unit>,
        span: Span,
    },
}

/// `lab alt "ALT (GPT)" { codes = analyte "3B045"  unit = U/L ... }`
#[derive(Debug, Clone, PartialEq)]
pub struct LabDecl {
    pub name: Ident,
    pub title: Option<StrLit>,
    pub props: Vec<Prop>,
}

/// `grading ctcae_grade "CTCAE v5.0" { for alt { grade 1 when > 1 x ULN ... } }`
#[derive(Debug, Clone, PartialEq)]
pub struct GradingDecl {
    pub name: Ident,
    pub title: Option<StrLit>,
    pub props: Vec<Prop>,
    pub tables: Vec<GradeTable>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct GradeTable {
    pub lab: Expr,
    pub rules: Vec<GradeRule>,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq)]
pub struct GradeRule {
    pub grade: Number,
    pub op: CmpOp,
    pub value: Expr,
    pub span: Span,
}

/// `cohort name { index = ...  require ...  exclude ...  end = ... }`
#[derive(Debug, Clone, PartialEq)]
pub struct CohortDecl {
    pub name: Ident,
    /// `cohort new_users(d: Codes<drug>) { … }`: a template, made into cohorts by others.
    pub params: Option<Vec<Param>>,
    /// `cohort users = new_users(thiamazole) { … }`: the template's statements with these
    /// arguments, then the cohort's own.
    pub from: Option<TemplateUse>,
    pub stmts: Vec<CohortStmt>,
}

/// `new_users(thiamazole, propylthiouracil)` after `cohort users =`.
#[derive(Debug, Clone, PartialEq)]
pub struct TemplateUse {
    pub template: Ident,
    pub args: Vec<Expr>,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq)]
pub struct CohortStmt {
    pub kind: CohortStmtKind,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq)]
pub enum CohortStmtKind {
    Index(Expr),
    Require {
        label: Option<StrLit>,
        cond: Expr,
    },
    Exclude {
        label: Option<StrLit>,
        cond: Expr,
    },
    End(Expr),
    /// `era exposure = drug x gap 30 days grace 30 days`
    Era {
        name: Ident,
        events: Expr,
        gap: Option<Expr>,
        grace: Option<Expr>,
    },
    /// `periods of 14 days from index until index + 140 days then until end`
    Periods {
        length: Expr,
        from: Option<Expr>,
        until: Option<Expr>,
        then_until: Option<Expr>,
    },
    Error,
}

/// `outcome name in cohort, cohort… = expr`: one definition, an outcome of each cohort.
#[derive(Debug, Clone, PartialEq)]
pub struct OutcomeDecl {
    pub name: Ident,
    pub cohorts: Vec<Ident>,
    pub value: Expr,
}

/// `export cohort with col, col, ...`
#[derive(Debug, Clone, PartialEq)]
pub struct ExportDecl {
    /// `export analysis = c with …`: the output's own name (its file), else the cohort's.
    pub name: Option<Ident>,
    pub cohort: Ident,
    /// `export c by period with …`: one row per entry and follow-up period (the checker
    /// accepts only `period`).
    pub by: Option<Ident>,
    pub columns: Vec<Expr>,
}

/// `report cohort, cohort with outcome by stratum, stratum suppress below 10`
#[derive(Debug, Clone, PartialEq)]
pub struct ReportDecl {
    /// `report table2 = c with …`: the report's own name, else one made of its cohorts and
    /// outcomes.
    pub name: Option<Ident>,
    pub cohorts: Vec<Ident>,
    pub outcomes: Vec<Ident>,
    pub strata: Vec<Stratum>,
    pub suppress_below: Option<Number>,
}

/// `table1 baseline = a, b with age, sex, diabetes, value of last lab alt before index`:
/// baseline characteristics by cohort.
#[derive(Debug, Clone, PartialEq)]
pub struct Table1Decl {
    /// Its own name (its file), else `table1`.
    pub name: Option<Ident>,
    pub cohorts: Vec<Ident>,
    pub rows: Vec<Table1Row>,
}

/// One row of a Table 1: `diagnosis diabetes before index as diabetes`.
#[derive(Debug, Clone, PartialEq)]
pub struct Table1Row {
    pub expr: Expr,
    /// Its name in the table, else one made of its text.
    pub name: Option<Ident>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Stratum {
    /// `age band 10 years`
    AgeBand {
        width: Expr,
        span: Span,
    },
    /// `year`, `month`: calendar time of index.
    Calendar {
        unit: CalendarUnit,
        span: Span,
    },
    Expr(Expr),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CalendarUnit {
    Year,
    /// April to March (年度).
    FiscalYear,
    Quarter,
    Month,
}

/// A number as written (kept as text so printing is exact).
#[derive(Debug, Clone, PartialEq)]
pub struct Number {
    pub text: String,
    pub span: Span,
}

impl Number {
    pub fn value(&self) -> f64 {
        self.text.replace('_', "").parse().unwrap_or(f64::NAN)
    }
}

/// A unit as written after a number.
#[derive(Debug, Clone, PartialEq)]
pub struct Unit {
    pub text: String,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Expr {
    pub kind: ExprKind,
    pub span: Span,
}

impl Expr {
    pub fn new(kind: ExprKind, span: Span) -> Expr {
        Expr { kind, span }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum ExprKind {
    /// `alt`
    Name(Ident),
    /// `labs.alt`
    Path(Vec<Ident>),
    Number(Number),
    /// `1500 /uL`, `180 days`, `3 x ULN`, `10 %`
    Quantity {
        value: Number,
        unit: Unit,
    },
    Date(String),
    Str(String),
    Bool(bool),
    /// `icd10 "I63"`, `icd10 "C00".."C97"`
    CodeLit {
        system: Ident,
        code: StrLit,
        to: Option<StrLit>,
    },
    /// `f(a, b)`
    Call {
        callee: Box<Expr>,
        args: Vec<Expr>,
    },
    Binary {
        op: BinOp,
        lhs: Box<Expr>,
        rhs: Box<Expr>,
    },
    Not(Box<Expr>),
    /// `source in (claim, dpc)`, `kind not in (...)`
    In {
        lhs: Box<Expr>,
        values: Vec<Expr>,
        negated: bool,
    },
    /// `lab alt`, `visit inpatient`, `drug (a or b)`
    Event {
        domain: Domain,
        target: Box<Expr>,
    },
    /// `first E`, `no E`, `at least 2 days of E`
    Select {
        selector: Selector,
        expr: Box<Expr>,
    },
    /// `E where filter`
    Where {
        expr: Box<Expr>,
        filter: Box<Expr>,
    },
    /// `E having condition`
    Having {
        expr: Box<Expr>,
        cond: Box<Expr>,
    },
    /// `E within 180 days before index`
    Window {
        expr: Box<Expr>,
        window: Window,
    },
    Anchor(Anchor),
    /// `age at index`
    AgeAt(Box<Expr>),
    /// `value of last lab alt within 180 days before index`: `func` is the word before `of`
    /// (the checker accepts `value`).
    ValueOf {
        func: Ident,
        events: Box<Expr>,
    },
    /// `days from index to first drug x after index`: days between two dates (an export
    /// column).
    DaysBetween {
        from: Box<Expr>,
        to: Box<Expr>,
    },
    /// `in cohort X`: the patient is a member of cohort X (an entry that passed its steps).
    InCohort(Ident),
    /// `observed 180 days before index`
    Observed {
        duration: Box<Expr>,
        direction: Direction,
        anchor: Box<Expr>,
    },
    /// `(e)`: kept so that `(first x) having c` stays what was written.
    Paren(Box<Expr>),
    /// Could not be parsed; the error is already reported.
    Error,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Domain {
    Diagnosis,
    Drug,
    Lab,
    Procedure,
    Visit,
}

impl Domain {
    pub fn name(self) -> &'static str {
        match self {
            Domain::Diagnosis => "diagnosis",
            Domain::Drug => "drug",
            Domain::Lab => "lab",
            Domain::Procedure => "procedure",
            Domain::Visit => "visit",
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum Anchor {
    Index,
    End,
    /// The event a `having` condition is about.
    It,
    StartOfObservation,
    EndOfObservation,
    /// `start of exposure`: the start of a named era.
    StartOf(Ident),
    /// `end of exposure`: the end of a named era.
    EndOf(Ident),
}

#[derive(Debug, Clone, PartialEq)]
pub enum Selector {
    First,
    Last,
    /// `nth(2)`
    Nth(Number),
    Every,
    AtLeast(Number, CountUnit),
    AtMost(Number, CountUnit),
    Exactly(Number, CountUnit),
    /// `no E`: none at all.
    No,
}

/// What `at least N` counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CountUnit {
    /// Unspecified: distinct days.
    Default,
    Days,
    Visits,
    Records,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    Before,
    After,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Window {
    /// `within 180 days before index`
    Within {
        duration: Box<Expr>,
        relation: Relation,
        anchor: Box<Expr>,
    },
    /// `between a and b`
    Between { from: Box<Expr>, to: Box<Expr> },
    /// `before a`, `after a`, `on or before a`, `on or after a`, `on a`
    Relative {
        relation: Relation,
        anchor: Box<Expr>,
    },
    /// `during it`: within the stay (or day) of a visit event.
    During(Box<Expr>),
    /// `same day as a`, `same month as a`, `same stay as a`, `same year as a`
    Same { unit: SameUnit, anchor: Box<Expr> },
    /// `overlapping 180 days before index`: events whose days (a supply's, a stay's) meet
    /// the window, not only those that start in it.
    Overlapping(Box<Window>),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Relation {
    Before,
    After,
    Around,
    OnOrBefore,
    OnOrAfter,
    On,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SameUnit {
    Day,
    Month,
    Year,
    Stay,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BinOp {
    Or,
    And,
    Add,
    Sub,
    Mul,
    Div,
    Cmp(CmpOp),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CmpOp {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
}

impl CmpOp {
    pub fn symbol(self) -> &'static str {
        match self {
            CmpOp::Eq => "=",
            CmpOp::Ne => "!=",
            CmpOp::Lt => "<",
            CmpOp::Le => "<=",
            CmpOp::Gt => ">",
            CmpOp::Ge => ">=",
        }
    }
}
