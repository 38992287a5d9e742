//! Robustness of the whole compiler (lexer, parser, checker, lowering, code generation) on
//! hostile input of the shapes a fuzzer rarely reaches: empty, non-UTF-8, 10 MB and deeply
//! nested files, and very long chains. Nothing may panic or overflow the stack; every failure
//! must be a diagnostic. (Mutated and generated inputs are the `mid-fuzz` crate's campaign,
//! run test-sized by `cargo test` and long by its command, docs/reliability.md.)

/// Compiles bytes as `mid compile` does; returns the codes of the errors (warnings are no
/// failure), or `internal` for an internal error (which a test treats as a failure).
pub fn compile_bytes(bytes: &[u8]) -> Vec<&'static str> {
    let errors = |d: &[crate::diag::Diagnostic]| {
        d.iter()
            .filter(|d| d.is_error())
            .map(|d| d.code.as_str())
            .collect()
    };
    match crate::compile_file("fuzz.mid", bytes, &crate::CompileOptions::default()) {
        Ok(c) => errors(&c.checked.diagnostics),
        Err(crate::CompileError::Diagnostics(c)) => errors(&c.diagnostics),
        Err(crate::CompileError::Internal(..)) => vec!["internal"],
    }
}

#[cfg(test)]
mod tests {
    use super::compile_bytes;

    #[test]
    fn empty_and_blank_files_are_fine() {
        assert!(compile_bytes(b"").is_empty());
        assert!(compile_bytes(b"   \n\t\n// only a comment\n").is_empty());
    }

    #[test]
    fn bytes_that_are_not_utf8_are_one_diagnostic() {
        assert_eq!(
            compile_bytes(b"codes a: diagnosis = icd10 \"I50\" \xff\xfe\n"),
            vec!["E0007"]
        );
    }

    #[test]
    fn ten_thousand_nested_parentheses_are_a_diagnostic_not_a_stack_overflow() {
        let src = format!("define x = {}1{}", "(".repeat(10_000), ")".repeat(10_000));
        assert_eq!(compile_bytes(src.as_bytes()), vec!["E0006"]);
        // Unbalanced too.
        let src = format!("define x = {}", "(".repeat(10_000));
        assert!(compile_bytes(src.as_bytes()).contains(&"E0006"));
        // Long chains of operators nest without parentheses: fine up to the depth limit,
        // a diagnostic beyond it.
        let chain = vec!["icd10 \"I50\""; 5_000].join(" or ");
        let codes = compile_bytes(format!("codes a: diagnosis = {chain}").as_bytes());
        assert!(codes.is_empty(), "{codes:?}");
        let chain = vec!["icd10 \"I50\""; 50_000].join(" or ");
        assert_eq!(
            compile_bytes(format!("codes a: diagnosis = {chain}").as_bytes()),
            vec!["E0006"]
        );
    }

    /// A long `or` of event queries (as a generated script might write) checks, and the
    /// queries of one table become one scan, each row once.
    #[test]
    fn a_three_thousand_term_or_is_one_scan() {
        let n = 3_000;
        let mut src = String::new();
        for i in 0..n {
            src.push_str(&format!(
                "codes c{i}: diagnosis = icd10 \"I{}\"\n",
                10 + i % 90
            ));
        }
        let terms: Vec<String> = (0..n).map(|i| format!("diagnosis c{i}")).collect();
        src.push_str(&format!(
            "codes x: drug = yj \"2432001\"\ncohort c {{\n  index = first drug x\n  exclude ({}) within 30 days before index\n}}\n",
            terms.join(" or ")
        ));
        let c = crate::compile_file("or.mid", src.as_bytes(), &Default::default())
            .unwrap_or_else(|_| panic!("compiles"));
        // The step is decided in its own plan.
        let steps = c
            .plans
            .iter()
            .find(|p| p.name.starts_with("tmp_steps_c_step_"))
            .expect("the step's plan");
        let text = steps.plan.display_indent().to_string();
        assert_eq!(
            text.matches("TableScan: diagnosis").count(),
            1,
            "{}",
            &text[..2000.min(text.len())]
        );
        assert!(!text.contains("Union"));
    }

    #[test]
    fn a_ten_megabyte_file_is_checked() {
        let mut src = String::from(
            "import labs.{alt}\ncodes thiamazole: drug = yj \"2432001\"\ncohort c {\n  index = first drug thiamazole\n  require lab alt < 3 x ULN within 30 days before index\n}\n",
        );
        let mut i = 0;
        while src.len() < 10 * 1024 * 1024 {
            src.push_str(&format!("/// code set {i}\ncodes set_{i}: diagnosis = icd10 \"I50\" or icd10 \"I{:02}\" // 注釈\n", i % 100));
            i += 1;
        }
        // One mistake at the end of 10 MB is found and placed, and it is the only diagnostic:
        // the 10 MB before it checked clean (one compile: each is most of this crate's tests).
        src.push_str("codes broken: diagnosis = icd10 \"Z9Q\"\n");
        assert_eq!(compile_bytes(src.as_bytes()), vec!["E0203"]);
    }
}
