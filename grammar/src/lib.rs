//! The .mid grammar: lexer (logos), parser (lalrpop) and the syntax tree. Knows nothing of
//! types, data or IO; `source_to_ast` is its one entry point.

pub mod ast;
pub mod format;
pub mod lexer;
pub mod parse;
pub mod pretty;

lalrpop_util::lalrpop_mod!(
    #[allow(clippy::all, clippy::pedantic, unused)]
    parser
);

pub use parse::{Parsed, SyntaxError, SyntaxErrorKind, source_to_ast};

#[cfg(test)]
mod corpus {
    //! The parser corpus: `tests/parser/ok/*.mid` parse with no error, `err/*.mid` with at
    //! least one; each snapshot shows the source and the tree (or the errors).

    use std::fmt::Write;
    use std::path::Path;

    fn render(path: &Path) -> (String, usize) {
        let src = std::fs::read_to_string(path).expect("a corpus file");
        let parsed = crate::source_to_ast(&src);
        let mut out = format!("## source\n{}\n", src.trim_end());
        if parsed.errors.is_empty() {
            let _ = write!(out, "\n## tree\n{}", crate::pretty::file(&parsed.file));
        } else {
            let _ = writeln!(out, "\n## errors");
            for e in &parsed.errors {
                let text = src.get(e.span.start..e.span.end).unwrap_or("");
                let _ = writeln!(
                    out,
                    "{}..{} {:?}: {:?}",
                    e.span.start, e.span.end, text, e.kind
                );
            }
            let _ = write!(
                out,
                "\n## tree (recovered)\n{}",
                crate::pretty::file(&parsed.file)
            );
        }
        (out, parsed.errors.len())
    }

    #[test]
    fn ok_files_parse_without_errors() {
        insta::glob!("../../tests/parser/ok", "*.mid", |path| {
            let (out, errors) = render(path);
            assert_eq!(errors, 0, "{out}");
            insta::assert_snapshot!(out);
        });
    }

    #[test]
    fn err_files_report_errors_and_recover() {
        insta::glob!("../../tests/parser/err", "*.mid", |path| {
            let (out, errors) = render(path);
            assert!(errors > 0, "{out}");
            insta::assert_snapshot!(out);
        });
    }
}
