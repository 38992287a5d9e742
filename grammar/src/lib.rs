//! The .mid grammar: lexer (logos), parser (lalrpop) and the syntax tree. Knows nothing of
//! types, data or IO; `source_to_ast` is its one entry point.

pub mod ast;
pub mod lexer;
pub mod parse;
pub mod pretty;

lalrpop_util::lalrpop_mod!(
    #[allow(clippy::all, clippy::pedantic, unused)]
    parser
);

pub use parse::{source_to_ast, Parsed, SyntaxError, SyntaxErrorKind};
