//! The parse driver (stage: source text → AST + syntax errors): lexes, sets comments aside,
//! guards nesting depth, runs the LR(1) parser with error recovery and turns every failure into
//! a `SyntaxError` with a byte span. Never panics, whatever the input.

use logos::Logos;

use crate::ast::{self, Span};
use crate::lexer::Token;
use crate::parser;

/// Deeper nesting than this is refused before parsing: later stages recurse over the tree.
pub const MAX_NESTING: usize = 128;

/// Expressions nested deeper than this are refused after parsing. The links of a chain of
/// one operator (`a or b or c …`) do not count here, but towards `MAX_TERMS`.
pub const MAX_DEPTH: usize = 1000;

/// No path through an expression may be longer than this, chains included: the later stages
/// recurse along it (20,000 levels use well under the compiler thread's stack).
pub const MAX_TERMS: usize = 20_000;

/// The AST of one file and every syntax error found in it.
#[derive(Debug, Clone)]
pub struct Parsed {
    pub file: ast::File,
    pub errors: Vec<SyntaxError>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct SyntaxError {
    pub kind: SyntaxErrorKind,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq)]
pub enum SyntaxErrorKind {
    /// A character that starts no token.
    InvalidCharacter { text: String },
    /// A string literal without its closing quote on the same line.
    UnterminatedString,
    /// A backslash escape that means nothing.
    InvalidEscape { text: String },
    /// A token where the grammar expects something else.
    UnexpectedToken {
        found: String,
        expected: Vec<String>,
    },
    /// The file ends in the middle of something.
    UnexpectedEnd { expected: Vec<String> },
    /// Parentheses, brackets or braces nested deeper than `MAX_NESTING`.
    TooDeep { limit: usize },
    /// A chain of more terms than `MAX_TERMS` in one expression.
    TooLong { limit: usize },
    /// The bytes are not UTF-8.
    NotUtf8,
    /// A date written with slashes (`2019/01/01`).
    SlashDate { text: String },
    /// A duration with a minus sign (`within -30 days`): durations have no sign.
    NegativeDuration { text: String },
}

/// An error from the lexer or a semantic action, carried through lalrpop.
#[derive(Debug, Clone, PartialEq)]
pub struct LexicalError {
    pub kind: SyntaxErrorKind,
    pub span: Span,
}

pub(crate) type LalrpopError<'src> = lalrpop_util::ParseError<usize, Token<'src>, LexicalError>;
pub(crate) type Recovered<'src> = lalrpop_util::ErrorRecovery<usize, Token<'src>, LexicalError>;

/// Decodes a file's bytes, or says where the first byte that is not UTF-8 is.
pub fn decode(bytes: &[u8]) -> Result<&str, SyntaxError> {
    std::str::from_utf8(bytes).map_err(|e| {
        let at = e.valid_up_to();
        let len = e.error_len().unwrap_or(bytes.len() - at).max(1);
        SyntaxError {
            kind: SyntaxErrorKind::NotUtf8,
            span: Span::new(at, at + len),
        }
    })
}

/// Parses one file. Returns the tree it could build and every syntax error, sorted by position.
pub fn source_to_ast(src: &str) -> Parsed {
    let mut errors = Vec::new();
    let mut lexed = lex(src, &mut errors);
    negative_durations(src, &mut lexed.tokens, &mut errors);

    if let Some(span) = lexed.too_deep {
        errors.push(SyntaxError {
            kind: SyntaxErrorKind::TooDeep { limit: MAX_NESTING },
            span,
        });
        return finish(src, ast::File::default(), errors);
    }

    let mut recovered = Vec::new();
    let tokens = lexed
        .tokens
        .into_iter()
        .map(|(l, t, r)| Ok::<_, LexicalError>((l, t, r)));
    let result = parser::FileParser::new().parse(&mut recovered, tokens);
    for r in recovered {
        errors.push(convert(r.error, src.len()));
    }
    let mut file = match result {
        Ok(file) => file,
        Err(e) => {
            errors.push(convert(e, src.len()));
            ast::File::default()
        }
    };
    if let Some((span, kind)) = too_deep(&file) {
        errors.push(SyntaxError { kind, span });
        return finish(src, ast::File::default(), errors);
    }
    attach_docs(&mut file, &lexed.docs, &lexed.module_docs);
    file.comments = lexed.comments;
    finish(src, file, errors)
}

/// Sorts the errors and keeps one per line: after an error the parser skips ahead to the
/// next declaration or statement, and what it trips over on the same line is a follow-on.
fn finish(src: &str, file: ast::File, mut errors: Vec<SyntaxError>) -> Parsed {
    errors.sort_by_key(|e| (e.span.start, e.span.end));
    errors.dedup_by(|a, b| a.span == b.span);
    let line_of = |at: usize| {
        src.get(..at.min(src.len()))
            .map_or(0, |s| s.matches('\n').count())
    };
    let mut last_line = None;
    errors.retain(|e| {
        let line = line_of(e.span.start);
        let keep = last_line != Some(line);
        last_line = Some(line);
        keep
    });
    Parsed { file, errors }
}

struct Lexed<'src> {
    tokens: Vec<(usize, Token<'src>, usize)>,
    comments: Vec<ast::Comment>,
    docs: Vec<(Span, String)>,
    module_docs: Vec<(Span, String)>,
    too_deep: Option<Span>,
}

/// `-30 days` where a duration stands (not `index - 30 days`): one error here, and the
/// parser reads `30 days`, so nothing after it cascades.
fn negative_durations(
    src: &str,
    tokens: &mut Vec<(usize, Token<'_>, usize)>,
    errors: &mut Vec<SyntaxError>,
) {
    let unit = |t: &Token<'_>| {
        matches!(
            t,
            Token::Day
                | Token::Days
                | Token::Week
                | Token::Weeks
                | Token::Month
                | Token::Months
                | Token::Year
                | Token::Years
        )
    };
    // A minus after one of these is a subtraction.
    let operand = |t: &Token<'_>| {
        matches!(
            t,
            Token::Ident(_)
                | Token::Number(_)
                | Token::Date(_)
                | Token::Str(_)
                | Token::RParen
                | Token::RBracket
                | Token::Index
                | Token::End
                | Token::Start
                | Token::It
        ) || unit(t)
    };
    let mut i = 0;
    while i + 2 < tokens.len() {
        let is_negative = matches!(tokens[i].1, Token::Minus)
            && matches!(tokens[i + 1].1, Token::Number(_))
            && unit(&tokens[i + 2].1)
            && (i == 0 || !operand(&tokens[i - 1].1));
        if is_negative {
            let (start, end) = (tokens[i].0, tokens[i + 2].2);
            errors.push(SyntaxError {
                kind: SyntaxErrorKind::NegativeDuration {
                    text: src[start..end].to_string(),
                },
                span: Span::new(start, end),
            });
            tokens.remove(i);
        }
        i += 1;
    }
}

fn lex<'src>(src: &'src str, errors: &mut Vec<SyntaxError>) -> Lexed<'src> {
    let mut out = Lexed {
        tokens: Vec::new(),
        comments: Vec::new(),
        docs: Vec::new(),
        module_docs: Vec::new(),
        too_deep: None,
    };
    let mut depth = 0usize;
    let mut lexer = Token::lexer(src);
    while let Some(tok) = lexer.next() {
        let range = lexer.span();
        let span = Span::new(range.start, range.end);
        match tok {
            Ok(Token::Comment(text)) => out.comments.push(ast::Comment {
                text: text.to_string(),
                span,
            }),
            Ok(Token::DocComment(text)) => out.docs.push((span, doc_text(text, 3))),
            Ok(Token::ModuleDoc(text)) => out.module_docs.push((span, doc_text(text, 3))),
            Ok(tok) => {
                // `3 x ULN`: an `x` after a number is the multiplication sign.
                let tok = match (tok, out.tokens.last()) {
                    (Token::Ident("x"), Some((_, Token::Number(_), _))) => Token::Times,
                    (t, _) => t,
                };
                match tok {
                    Token::LParen | Token::LBracket | Token::LBrace => {
                        depth += 1;
                        if depth > MAX_NESTING && out.too_deep.is_none() {
                            out.too_deep = Some(span);
                        }
                    }
                    Token::RParen | Token::RBracket | Token::RBrace => {
                        depth = depth.saturating_sub(1);
                    }
                    _ => {}
                }
                // A date with slashes is one error here, not a division and a type error;
                // the parser reads a stand-in date, so nothing after it cascades.
                let tok = if let Token::SlashDate(text) = tok {
                    errors.push(SyntaxError {
                        kind: SyntaxErrorKind::SlashDate {
                            text: text.to_string(),
                        },
                        span,
                    });
                    Token::Date("2000-01-01")
                } else {
                    tok
                };
                out.tokens.push((span.start, tok, span.end));
            }
            Err(()) => {
                let text = &src[range.clone()];
                if text.starts_with('"') {
                    // An unterminated string: skip to the end of the line so its words do
                    // not turn into a cascade of errors.
                    let rest = &src[range.end..];
                    let skip = rest.find('\n').unwrap_or(rest.len());
                    lexer.bump(skip);
                    errors.push(SyntaxError {
                        kind: SyntaxErrorKind::UnterminatedString,
                        span: Span::new(range.start, range.end + skip),
                    });
                } else {
                    errors.push(SyntaxError {
                        kind: SyntaxErrorKind::InvalidCharacter {
                            text: text.to_string(),
                        },
                        span,
                    });
                }
            }
        }
    }
    out
}

/// The place of an expression nested deeper than `MAX_DEPTH` or longer than `MAX_TERMS`,
/// found without recursion.
fn too_deep(file: &ast::File) -> Option<(Span, SyntaxErrorKind)> {
    let mut roots: Vec<&ast::Expr> = Vec::new();
    for item in &file.items {
        match &item.kind {
            ast::ItemKind::Codes(c) => roots.push(&c.value),
            ast::ItemKind::Define(d) => roots.push(&d.value),
            ast::ItemKind::Outcome(o) => roots.push(&o.value),
            ast::ItemKind::Export(e) => roots.extend(&e.columns),
            ast::ItemKind::Cohort(c) => {
                if let Some(t) = &c.from {
                    roots.extend(&t.args);
                }
                for p in c.params.iter().flatten() {
                    roots.extend(&p.default);
                }
                for s in &c.stmts {
                    match &s.kind {
                        ast::CohortStmtKind::Index(e) | ast::CohortStmtKind::End(e) => {
                            roots.push(e)
                        }
                        ast::CohortStmtKind::Require { cond, .. }
                        | ast::CohortStmtKind::Exclude { cond, .. } => roots.push(cond),
                        ast::CohortStmtKind::Era { events, .. } => roots.push(events),
                        _ => {}
                    }
                }
            }
            _ => {}
        }
    }
    // (expression, nesting depth, path length)
    let mut stack: Vec<(&ast::Expr, usize, usize)> = roots.into_iter().map(|e| (e, 1, 1)).collect();
    while let Some((e, d, path)) = stack.pop() {
        if d > MAX_DEPTH {
            return Some((e.span, SyntaxErrorKind::TooDeep { limit: MAX_DEPTH }));
        }
        if path > MAX_TERMS {
            return Some((e.span, SyntaxErrorKind::TooLong { limit: MAX_TERMS }));
        }
        // The left operand of `a or b` that is itself an `or` continues the chain.
        let chain_op = match &e.kind {
            ast::ExprKind::Binary { op, .. } => Some(op),
            _ => None,
        };
        for (i, c) in children(e).into_iter().enumerate() {
            let link = i == 0
                && matches!((&c.kind, chain_op), (ast::ExprKind::Binary { op, .. }, Some(outer)) if op == outer);
            stack.push((c, if link { d } else { d + 1 }, path + 1));
        }
    }
    None
}

/// The sub-expressions of an expression.
fn children(e: &ast::Expr) -> Vec<&ast::Expr> {
    use ast::ExprKind as K;
    match &e.kind {
        K::Call { callee, args } => std::iter::once(callee.as_ref()).chain(args).collect(),
        K::Binary { lhs, rhs, .. } | K::DaysBetween { from: lhs, to: rhs } => vec![lhs, rhs],
        K::Not(x) | K::AgeAt(x) | K::Paren(x) | K::ValueOf { events: x, .. } => vec![x],
        K::In { lhs, values, .. } => std::iter::once(lhs.as_ref()).chain(values).collect(),
        K::Event { target, .. } => vec![target],
        K::Select { expr, .. } => vec![expr],
        K::Where { expr, filter } => vec![expr, filter],
        K::Having { expr, cond } => vec![expr, cond],
        K::Window { expr, window } => {
            let mut v: Vec<&ast::Expr> = vec![expr];
            let mut window = window;
            while let ast::Window::Overlapping(w) = window {
                window = w;
            }
            match window {
                ast::Window::Within {
                    duration, anchor, ..
                } => v.extend([duration.as_ref(), anchor.as_ref()]),
                ast::Window::Between { from, to } => v.extend([from.as_ref(), to.as_ref()]),
                ast::Window::Relative { anchor, .. }
                | ast::Window::During(anchor)
                | ast::Window::Same { anchor, .. } => v.push(anchor),
                ast::Window::Overlapping(_) => {}
            }
            v
        }
        K::Observed {
            duration, anchor, ..
        } => vec![duration, anchor],
        _ => vec![],
    }
}

fn doc_text(raw: &str, prefix: usize) -> String {
    let text = &raw[prefix.min(raw.len())..];
    text.strip_prefix(' ')
        .unwrap_or(text)
        .trim_end()
        .to_string()
}

/// Gives each item the `///` lines between the previous item and itself, and the file the
/// `//!` lines before its first item.
fn attach_docs(file: &mut ast::File, docs: &[(Span, String)], module_docs: &[(Span, String)]) {
    let first_item = file.items.first().map_or(usize::MAX, |i| i.span.start);
    file.doc = module_docs
        .iter()
        .filter(|(s, _)| s.start < first_item)
        .map(|(_, t)| t.clone())
        .collect();
    let mut prev_end = file.header.as_ref().map_or(0, |h| h.span.end);
    // The lexer gives the doc lines in source order, so each item's are found by binary
    // search: a pass over every doc line per item was most of checking a 10 MB file.
    debug_assert!(docs.is_sorted_by_key(|(s, _)| s.start));
    for item in &mut file.items {
        let from = docs.partition_point(|(s, _)| s.start < prev_end);
        item.doc = docs[from..]
            .iter()
            .take_while(|(s, _)| s.end <= item.span.start)
            .map(|(_, t)| t.clone())
            .collect();
        prev_end = item.span.end;
    }
}

fn convert(e: LalrpopError<'_>, src_len: usize) -> SyntaxError {
    use lalrpop_util::ParseError as P;
    match e {
        P::InvalidToken { location } => SyntaxError {
            kind: SyntaxErrorKind::InvalidCharacter {
                text: String::new(),
            },
            span: Span::new(location, location + 1),
        },
        P::UnrecognizedEof { location, expected } => SyntaxError {
            kind: SyntaxErrorKind::UnexpectedEnd {
                expected: friendly_expected(&expected),
            },
            span: Span::new(location.min(src_len), src_len),
        },
        P::UnrecognizedToken {
            token: (l, tok, r),
            expected,
        } => SyntaxError {
            kind: SyntaxErrorKind::UnexpectedToken {
                found: tok.describe(),
                expected: friendly_expected(&expected),
            },
            span: Span::new(l, r),
        },
        P::ExtraToken { token: (l, tok, r) } => SyntaxError {
            kind: SyntaxErrorKind::UnexpectedToken {
                found: tok.describe(),
                expected: vec![],
            },
            span: Span::new(l, r),
        },
        P::User { error } => SyntaxError {
            kind: error.kind,
            span: error.span,
        },
    }
}

/// Turns lalrpop's terminal names into words for people: `"require"` → `require`,
/// `IDENT` → a name.
fn friendly_expected(expected: &[String]) -> Vec<String> {
    let mut out: Vec<String> = expected
        .iter()
        .map(|e| match e.as_str() {
            "IDENT" => "a name".to_string(),
            "NUMBER" => "a number".to_string(),
            "DATE" => "a date".to_string(),
            "STR" => "a text in quotes".to_string(),
            "UNIT" => "a unit".to_string(),
            other => format!("`{}`", other.trim_matches('"')),
        })
        .collect();
    out.sort();
    out.dedup();
    out
}

/// Decodes a string literal (quotes included) written at byte `at`.
pub(crate) fn unquote<'src>(raw: &str, at: usize) -> Result<String, LalrpopError<'src>> {
    let inner = &raw[1..raw.len() - 1];
    let mut out = String::with_capacity(inner.len());
    let mut chars = inner.char_indices();
    while let Some((i, c)) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some((_, '"')) => out.push('"'),
            Some((_, '\\')) => out.push('\\'),
            Some((_, 'n')) => out.push('\n'),
            Some((_, 't')) => out.push('\t'),
            other => {
                let end = other.map_or(inner.len(), |(j, ch)| j + ch.len_utf8());
                return Err(lalrpop_util::ParseError::User {
                    error: LexicalError {
                        kind: SyntaxErrorKind::InvalidEscape {
                            text: inner[i..end].to_string(),
                        },
                        span: Span::new(at + 1 + i, at + 1 + end),
                    },
                });
            }
        }
    }
    Ok(out)
}

/// `first visit inpatient having C` parses as `(first visit inpatient) having C`; a selector
/// always applies to the whole query, so move it outside.
pub(crate) fn fix_having(e: ast::Expr, cond: ast::Expr, span: Span) -> ast::Expr {
    use ast::{Expr, ExprKind};
    match e.kind {
        ExprKind::Select { selector, expr } => {
            let inner = fix_having(*expr, cond, span);
            Expr::new(
                ExprKind::Select {
                    selector,
                    expr: Box::new(inner),
                },
                span,
            )
        }
        kind => Expr::new(
            ExprKind::Having {
                expr: Box::new(Expr::new(kind, e.span)),
                cond: Box::new(cond),
            },
            span,
        ),
    }
}
