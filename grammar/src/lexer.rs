//! The lexer (stage: source text → tokens). Built on logos; byte spans throughout.
//!
//! Comments are not tokens: plain comments go to a side list so tools can keep them, doc
//! comments (`///` for the next item, `//!` for the module) are tokens the parser attaches.

use logos::Logos;

/// A token of `.mid` source.
#[derive(Logos, Debug, Clone, Copy, PartialEq)]
#[logos(skip r"[ \t\r\n\f\u{3000}]+")]
pub enum Token<'src> {
    // ---- items and statements
    #[token("study")]
    Study,
    #[token("module")]
    Module,
    #[token("import")]
    Import,
    #[token("codes")]
    Codes,
    #[token("define")]
    Define,
    #[token("cohort")]
    Cohort,
    #[token("outcome")]
    Outcome,
    #[token("export")]
    Export,
    #[token("report")]
    Report,
    #[token("table1")]
    Table1,
    #[token("to")]
    To,
    #[token("grading")]
    Grading,
    #[token("grade")]
    Grade,
    #[token("validated")]
    Validated,
    #[token("provisional")]
    Provisional,
    #[token("index")]
    Index,
    #[token("require")]
    Require,
    #[token("exclude")]
    Exclude,
    #[token("end")]
    End,
    #[token("start")]
    Start,
    #[token("era")]
    Era,
    #[token("periods")]
    Periods,
    #[token("gap")]
    Gap,
    #[token("grace")]
    Grace,
    #[token("then")]
    Then,
    #[token("until")]
    Until,
    #[token("from")]
    From,
    #[token("with")]
    With,
    #[token("by")]
    By,
    #[token("suppress")]
    Suppress,
    #[token("below")]
    Below,
    #[token("when")]
    When,
    #[token("for")]
    For,

    // ---- domains of events
    #[token("diagnosis")]
    Diagnosis,
    #[token("drug")]
    Drug,
    #[token("lab")]
    Lab,
    #[token("procedure")]
    Procedure,
    #[token("visit")]
    Visit,

    // ---- selectors and counting
    #[token("first")]
    First,
    #[token("last")]
    Last,
    #[token("nth")]
    Nth,
    #[token("every")]
    Every,
    #[token("at")]
    At,
    #[token("least")]
    Least,
    #[token("most")]
    Most,
    #[token("exactly")]
    Exactly,
    #[token("no")]
    No,
    #[token("day")]
    Day,
    #[token("days")]
    Days,
    #[token("week")]
    Week,
    #[token("weeks")]
    Weeks,
    #[token("month")]
    Month,
    #[token("months")]
    Months,
    #[token("year")]
    Year,
    #[token("quarter")]
    Quarter,
    #[token("fiscal")]
    Fiscal,
    #[token("years")]
    Years,
    #[token("stay")]
    Stay,
    #[token("visits")]
    Visits,
    #[token("records")]
    Records,
    #[token("of")]
    Of,

    // ---- conditions, filters and windows
    #[token("where")]
    Where,
    #[token("having")]
    Having,
    #[token("within")]
    Within,
    #[token("between")]
    Between,
    #[token("before")]
    Before,
    #[token("after")]
    After,
    #[token("around")]
    Around,
    #[token("overlapping")]
    Overlapping,
    #[token("on")]
    On,
    #[token("during")]
    During,
    #[token("same")]
    Same,
    #[token("as")]
    As,
    #[token("it")]
    It,
    #[token("observed")]
    Observed,
    #[token("observation")]
    Observation,
    #[token("age")]
    Age,
    #[token("band")]
    Band,
    #[token("in")]
    In,
    #[token("and")]
    And,
    #[token("or")]
    Or,
    #[token("not")]
    Not,
    #[token("true")]
    True,
    #[token("false")]
    False,
    /// The multiplication sign of quantities relative to a reference: `3 x ULN`.
    /// Only `×` lexes as this; an `x` right after a number is turned into it by the parse
    /// driver, so `x` stays usable as a name everywhere else.
    #[token("×")]
    Times,

    // ---- literals
    #[regex(r"[A-Za-z_][A-Za-z0-9_]*", |lex| lex.slice())]
    Ident(&'src str),
    #[regex(r"[0-9][0-9_]*(\.[0-9]+)?", |lex| lex.slice())]
    Number(&'src str),
    #[regex(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", |lex| lex.slice())]
    Date(&'src str),
    /// `2019/01/01`: a date written with slashes (refused with its own error, not divided).
    #[regex(r"[0-9]{4}/[0-9]{1,2}/[0-9]{1,2}", |lex| lex.slice())]
    SlashDate(&'src str),
    /// A string literal, quotes included; escapes are decoded by the parser.
    #[regex(r#""([^"\\\n]|\\.)*""#, |lex| lex.slice())]
    Str(&'src str),
    /// A unit written as one word: `/uL`, `mg/dL`, `x10^4/uL`, `10^3/uL`, `mL/min/1.73m2`.
    #[regex(r"/[A-Za-zµμ][A-Za-z0-9µμ.]*(/[A-Za-z0-9µμ.]+)*", |lex| lex.slice())]
    #[regex(r"[A-Za-zµμ][A-Za-zµμ0-9]*(/[A-Za-z0-9µμ.]+)+", |lex| lex.slice())]
    #[regex(r"[x×]?10\^[0-9]+(/[A-Za-zµμ][A-Za-z0-9µμ.]*)*", |lex| lex.slice())]
    /// Bare unit words that cannot be names.
    #[token("fL", |lex| lex.slice())]
    #[token("pg", |lex| lex.slice())]
    #[token("sec", |lex| lex.slice())]
    #[token("ratio", |lex| lex.slice())]
    #[token("pH", |lex| lex.slice())]
    #[token("COI", |lex| lex.slice())]
    Unit(&'src str),

    // ---- punctuation
    #[token("%")]
    Percent,
    #[token("(")]
    LParen,
    #[token(")")]
    RParen,
    #[token("{")]
    LBrace,
    #[token("}")]
    RBrace,
    #[token("[")]
    LBracket,
    #[token("]")]
    RBracket,
    #[token(",")]
    Comma,
    #[token(":")]
    Colon,
    #[token(";")]
    Semi,
    #[token(".")]
    Dot,
    #[token("..")]
    DotDot,
    #[token("*")]
    Star,
    #[token("/")]
    Slash,
    #[token("+")]
    Plus,
    #[token("-")]
    Minus,
    #[token("=")]
    Eq,
    #[token("!=")]
    Ne,
    #[token("<")]
    Lt,
    #[token("<=")]
    Le,
    #[token(">")]
    Gt,
    #[token(">=")]
    Ge,

    /// `/// text`: documents the next item.
    #[regex(r"///[^\n]*", |lex| lex.slice(), priority = 10, allow_greedy = true)]
    DocComment(&'src str),
    /// `//! text`: documents the module.
    #[regex(r"//![^\n]*", |lex| lex.slice(), priority = 10, allow_greedy = true)]
    ModuleDoc(&'src str),
    /// `// text`: kept aside as trivia, never reaches the parser.
    #[regex(r"//[^\n]*", |lex| lex.slice(), priority = 3, allow_greedy = true)]
    Comment(&'src str),
}

/// The tokens of `src` with their byte ranges, comments included (a character that starts no
/// token as `Err`): for tools that keep the text around tokens (`format`, templates' labels).
pub fn tokens(src: &str) -> impl Iterator<Item = (Result<Token<'_>, ()>, std::ops::Range<usize>)> {
    Token::lexer(src).spanned()
}

impl Token<'_> {
    /// How the token is named in messages.
    pub fn describe(&self) -> String {
        match self {
            Token::Ident(s) => format!("name `{s}`"),
            Token::Number(s) => format!("number `{s}`"),
            Token::Date(s) => format!("date `{s}`"),
            Token::SlashDate(s) => format!("`{s}`"),
            Token::Str(s) => format!("text {s}"),
            Token::Unit(s) => format!("unit `{s}`"),
            Token::DocComment(_) => "doc comment".to_string(),
            Token::ModuleDoc(_) => "module doc comment".to_string(),
            Token::Comment(_) => "comment".to_string(),
            other => format!("`{}`", other.text()),
        }
    }

    /// The fixed spelling of a keyword or punctuation token.
    pub fn text(&self) -> &str {
        match self {
            Token::Study => "study",
            Token::Module => "module",
            Token::Import => "import",
            Token::Codes => "codes",
            Token::Define => "define",
            Token::Cohort => "cohort",
            Token::Outcome => "outcome",
            Token::Export => "export",
            Token::Report => "report",
            Token::Table1 => "table1",
            Token::To => "to",
            Token::Grading => "grading",
            Token::Grade => "grade",
            Token::Validated => "validated",
            Token::Provisional => "provisional",
            Token::Index => "index",
            Token::Require => "require",
            Token::Exclude => "exclude",
            Token::End => "end",
            Token::Start => "start",
            Token::Era => "era",
            Token::Periods => "periods",
            Token::Gap => "gap",
            Token::Grace => "grace",
            Token::Then => "then",
            Token::Until => "until",
            Token::From => "from",
            Token::With => "with",
            Token::By => "by",
            Token::Suppress => "suppress",
            Token::Below => "below",
            Token::When => "when",
            Token::For => "for",
            Token::Diagnosis => "diagnosis",
            Token::Drug => "drug",
            Token::Lab => "lab",
            Token::Procedure => "procedure",
            Token::Visit => "visit",
            Token::First => "first",
            Token::Last => "last",
            Token::Nth => "nth",
            Token::Every => "every",
            Token::At => "at",
            Token::Least => "least",
            Token::Most => "most",
            Token::Exactly => "exactly",
            Token::No => "no",
            Token::Day => "day",
            Token::Days => "days",
            Token::Week => "week",
            Token::Weeks => "weeks",
            Token::Month => "month",
            Token::Months => "months",
            Token::Year => "year",
            Token::Quarter => "quarter",
            Token::Fiscal => "fiscal",
            Token::Years => "years",
            Token::Stay => "stay",
            Token::Visits => "visits",
            Token::Records => "records",
            Token::Of => "of",
            Token::Where => "where",
            Token::Having => "having",
            Token::Within => "within",
            Token::Between => "between",
            Token::Before => "before",
            Token::After => "after",
            Token::Around => "around",
            Token::Overlapping => "overlapping",
            Token::On => "on",
            Token::During => "during",
            Token::Same => "same",
            Token::As => "as",
            Token::It => "it",
            Token::Observed => "observed",
            Token::Observation => "observation",
            Token::Age => "age",
            Token::Band => "band",
            Token::In => "in",
            Token::And => "and",
            Token::Or => "or",
            Token::Not => "not",
            Token::True => "true",
            Token::False => "false",
            Token::Times => "x",
            Token::Percent => "%",
            Token::LParen => "(",
            Token::RParen => ")",
            Token::LBrace => "{",
            Token::RBrace => "}",
            Token::LBracket => "[",
            Token::RBracket => "]",
            Token::Comma => ",",
            Token::Colon => ":",
            Token::Semi => ";",
            Token::Dot => ".",
            Token::DotDot => "..",
            Token::Star => "*",
            Token::Slash => "/",
            Token::Plus => "+",
            Token::Minus => "-",
            Token::Eq => "=",
            Token::Ne => "!=",
            Token::Lt => "<",
            Token::Le => "<=",
            Token::Gt => ">",
            Token::Ge => ">=",
            Token::Ident(s)
            | Token::Number(s)
            | Token::Date(s)
            | Token::SlashDate(s)
            | Token::Str(s)
            | Token::Unit(s)
            | Token::DocComment(s)
            | Token::ModuleDoc(s)
            | Token::Comment(s) => s,
        }
    }
}
