//! The formatter (stage: source text → source text, `mid fmt`): one layout for every script.
//! It changes only the space between tokens, never a token, and keeps every comment and the
//! line breaks the author chose: indentation by block (two spaces) and by continuation (two
//! more), one space between tokens except around `.`, inside `( )` and `Codes<…>`, before
//! `,` and `:`, and after a unary minus; two spaces before a trailing comment; at most one
//! blank line; no trailing space; one final newline. The result is checked to lex to the
//! same tokens and comments, so formatting cannot change what a script means.

use crate::lexer::Token;

/// Why a source cannot be formatted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FormatError {
    /// The source does not parse: format only what parses (the parser's errors say why).
    Syntax,
    /// The layout would have changed the tokens (a bug in the formatter; nothing is written).
    Changed,
}

/// Words that end a line which the next one continues (`define x =`, `… or`).
fn continues_after(t: &Token) -> bool {
    matches!(
        t,
        Token::Eq
            | Token::Comma
            | Token::Or
            | Token::And
            | Token::With
            | Token::By
            | Token::LParen
            | Token::Plus
            | Token::Minus
            | Token::Having
            | Token::Where
            | Token::Not
    )
}

/// Words that start a line continuing the one before (`  or lab ast > 3 x ULN`).
fn continues_before(t: &Token) -> bool {
    matches!(
        t,
        Token::Or
            | Token::And
            | Token::With
            | Token::By
            | Token::Having
            | Token::Where
            | Token::Then
            | Token::Until
            | Token::Within
            | Token::Between
            | Token::Overlapping
            | Token::Plus
            | Token::Minus
            | Token::DotDot
            | Token::RParen
            | Token::Validated
            | Token::Provisional
    )
}

/// A token with its text and whether a line break (and a blank line) came before it.
struct Item<'s> {
    tok: Token<'s>,
    text: &'s str,
    breaks: usize,
}

fn lex(src: &str) -> Option<Vec<Item<'_>>> {
    let mut out = Vec::new();
    let mut last_end = 0;
    for (tok, range) in crate::lexer::tokens(src) {
        let tok = tok.ok()?;
        let gap = &src[last_end..range.start];
        out.push(Item {
            tok,
            text: &src[range.clone()],
            breaks: gap.matches('\n').count(),
        });
        last_end = range.end;
    }
    Some(out)
}

/// Tokens and comments as text, for checking that a layout kept them.
fn token_texts(src: &str) -> Option<Vec<String>> {
    lex(src).map(|items| items.iter().map(|i| i.text.to_string()).collect())
}

/// `src` in the canonical layout.
pub fn format(src: &str) -> Result<String, FormatError> {
    if !crate::source_to_ast(src).errors.is_empty() {
        return Err(FormatError::Syntax);
    }
    let items = lex(src).ok_or(FormatError::Syntax)?;
    let out = layout(&items);
    if token_texts(&out) != token_texts(src) {
        return Err(FormatError::Changed);
    }
    Ok(out)
}

/// How an opening bracket lays out its contents.
#[derive(Clone, Copy, PartialEq)]
enum Open {
    /// `{` ending its line: a block, its lines indented two spaces more than the line that
    /// opened it (held here).
    Block(usize),
    /// `{ index = first drug x }` on one line: spaced.
    Inline,
    /// `labs.{alt, ast}`, `(`, `[`: tight.
    Tight,
}

fn layout(items: &[Item]) -> String {
    let mut out = String::new();
    let mut stack: Vec<Open> = Vec::new();
    // The last code token of the lines so far, the indentation of the current line, and how
    // many `having` the current statement has opened (its conditions indent one more level).
    let mut last_code: Option<&Token> = None;
    let mut line_indent = 0usize;
    let mut havings = 0usize;
    let mut type_arg = false;
    for (i, it) in items.iter().enumerate() {
        let prev = i.checked_sub(1).map(|j| &items[j]);
        let next = items.get(i + 1);
        let comment = matches!(
            it.tok,
            Token::Comment(_) | Token::DocComment(_) | Token::ModuleDoc(_)
        );
        if prev.is_none() || it.breaks > 0 {
            if prev.is_some() {
                out.push('\n');
                if it.breaks > 1 {
                    out.push('\n');
                }
            }
            let block = stack.iter().rev().find_map(|o| match o {
                Open::Block(opener) => Some(*opener),
                _ => None,
            });
            let base = block.map_or(0, |b| b + 2);
            let closing =
                matches!(it.tok, Token::RBrace) && matches!(stack.last(), Some(Open::Block(_)));
            line_indent = if closing {
                block.unwrap_or(0)
            } else {
                let inside_brackets = stack
                    .iter()
                    .rev()
                    .take_while(|o| !matches!(o, Open::Block(_)))
                    .count()
                    > 0;
                let continued = inside_brackets
                    || last_code.is_some_and(continues_after)
                    || (!comment && continues_before(&it.tok));
                if !continued {
                    havings = 0;
                }
                let level = match it.tok {
                    _ if !continued => 0,
                    Token::Validated | Token::Provisional => {
                        havings = 0;
                        1
                    }
                    Token::Having => havings + 2,
                    _ => 1 + havings,
                };
                base + 2 * level
            };
            out.push_str(&" ".repeat(line_indent));
        } else if let Some(p) = prev
            && space_between(p, it, prev_of(items, i), stack.last().copied(), type_arg)
        {
            out.push(' ');
            if comment {
                out.push(' ');
            }
        }
        out.push_str(it.text);
        match it.tok {
            Token::LBrace => {
                let same_line = next.is_some_and(|n| n.breaks == 0);
                let after_dot = prev.is_some_and(|p| matches!(p.tok, Token::Dot));
                stack.push(if after_dot {
                    Open::Tight
                } else if same_line {
                    Open::Inline
                } else {
                    Open::Block(line_indent)
                });
            }
            Token::LParen | Token::LBracket => stack.push(Open::Tight),
            Token::RParen | Token::RBracket | Token::RBrace => {
                stack.pop();
            }
            Token::Lt if prev.is_some_and(is_type_name) => type_arg = true,
            Token::Gt if type_arg => type_arg = false,
            Token::Having => havings += 1,
            _ => {}
        }
        if !comment {
            last_code = Some(&it.tok);
        }
    }
    out.push('\n');
    out
}

/// The token before `items[i - 1]`.
fn prev_of<'a, 's>(items: &'a [Item<'s>], i: usize) -> Option<&'a Item<'s>> {
    i.checked_sub(2).map(|j| &items[j])
}

/// `Codes`, `Events`, `Quantity`: a type name whose argument follows in `< >`.
fn is_type_name(it: &Item) -> bool {
    matches!(it.tok, Token::Ident("Codes" | "Events" | "Quantity"))
}

/// Whether one space separates `p` and `t` on a line (`before` is the token before `p`).
fn space_between(
    p: &Item,
    t: &Item,
    before: Option<&Item>,
    open: Option<Open>,
    type_arg: bool,
) -> bool {
    use Token as T;
    if matches!(t.tok, T::Comment(_) | T::DocComment(_) | T::ModuleDoc(_)) {
        return true;
    }
    // Inside `Codes<drug>`.
    if type_arg || (matches!(t.tok, T::Lt) && is_type_name(p)) {
        return false;
    }
    match (&p.tok, &t.tok) {
        (T::Dot, _) | (_, T::Dot) => false,
        (T::LParen | T::LBracket, _) => false,
        (_, T::RParen | T::RBracket | T::Comma | T::Colon | T::Semi) => false,
        // `labs.{alt}` is tight, `{ index = … }` spaced.
        (T::LBrace, _) => open != Some(Open::Tight),
        (_, T::RBrace) => open != Some(Open::Tight),
        // A call: `icd10("I21")`, `nth(2)`, `earliest(…)`; `drug (a or b)` keeps its space.
        (T::Ident(_) | T::Nth, T::LParen) => false,
        // Code ranges are tight (`"K70".."K77"`), number ranges spaced (`4.35 .. 5.55`).
        (T::Str(_), T::DotDot) | (T::DotDot, T::Str(_)) => false,
        // A unary minus sticks to its operand.
        (T::Minus, _) => !before.is_none_or(|b| {
            matches!(
                b.tok,
                T::LParen
                    | T::LBracket
                    | T::Comma
                    | T::Eq
                    | T::Ne
                    | T::Lt
                    | T::Le
                    | T::Gt
                    | T::Ge
                    | T::Colon
                    | T::When
                    | T::Plus
                    | T::Minus
                    | T::Star
                    | T::Slash
                    | T::DotDot
            )
        }),
        _ => true,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spacing_indentation_and_comments() {
        let src = "study   s\nimport labs.{ alt ,ast }\n\n\n\ncodes x : drug = yj \"2432001\"   // a drug\ncodes r: diagnosis = icd10 \"K70\" .. \"K77\"\ncohort c(d :Codes< drug >, n: Duration = 30 days) {\n      index = first drug d\n  exclude drug ( d or x ) within n before index\n// why\n    require age at index >= 15 and\n  sex = F\n}\ncohort e = c(x) { require lab alt > 1 /uL }\nlab t { reference = - 2 .. 2 }\n";
        let out = format(src).expect("formats");
        assert_eq!(
            out,
            "study s\nimport labs.{alt, ast}\n\ncodes x: drug = yj \"2432001\"  // a drug\ncodes r: diagnosis = icd10 \"K70\"..\"K77\"\ncohort c(d: Codes<drug>, n: Duration = 30 days) {\n  index = first drug d\n  exclude drug (d or x) within n before index\n  // why\n  require age at index >= 15 and\n    sex = F\n}\ncohort e = c(x) { require lab alt > 1 /uL }\nlab t { reference = -2 .. 2 }\n"
        );
        assert_eq!(format(&out).as_deref(), Ok(out.as_str()), "idempotent");
    }

    #[test]
    fn continuation_lines() {
        let src = "define a =\nlab alt > 3 x ULN\nor lab ast > 3 x ULN\nreport c, d with o\nby sex\nlab alt \"ALT\" {\n  reference male = 4.35 .. 5.55 10^6/uL\n}\n";
        assert_eq!(
            format(src).as_deref(),
            Ok(
                "define a =\n  lab alt > 3 x ULN\n  or lab ast > 3 x ULN\nreport c, d with o\n  by sex\nlab alt \"ALT\" {\n  reference male = 4.35 .. 5.55 10^6/uL\n}\n"
            )
        );
    }

    #[test]
    fn what_does_not_parse_is_not_formatted() {
        assert_eq!(format("cohort c {"), Err(FormatError::Syntax));
    }
}
