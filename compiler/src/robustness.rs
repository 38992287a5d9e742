//! Robustness of the whole compiler (lexer, parser, checker, lowering, code generation) on
//! hostile input: a bounded number of generated inputs — random bytes, and mutations of real
//! scripts — plus empty, non-UTF-8, 10 MB and deeply nested files. Nothing may panic or
//! overflow the stack; every failure must be a diagnostic. (`fuzz/` runs the same entry
//! point under libFuzzer without a bound.)

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

    /// A small deterministic generator (xorshift), so failures reproduce.
    struct Rng(u64);

    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0
        }
        fn below(&mut self, n: usize) -> usize {
            (self.next() % n.max(1) as u64) as usize
        }
    }

    const SEEDS: &[&str] = &[
        include_str!("../../examples/thiamazole_granulocytopenia/study.mid"),
        include_str!("../../examples/statins_liver/study.mid"),
        include_str!("../../examples/pah_liver_injury/study.mid"),
        include_str!("../../tests/parser/ok/every_construct.mid"),
        include_str!("../../stdlib/grades.mid"),
    ];

    /// Words the mutations splice in: keywords, punctuation, literals of every kind.
    const WORDS: &[&str] = &[
        "cohort",
        "index",
        "=",
        "first",
        "drug",
        "lab",
        "diagnosis",
        "visit",
        "inpatient",
        "having",
        "during",
        "it",
        "where",
        "within",
        "180",
        "days",
        "before",
        "after",
        "around",
        "between",
        "and",
        "or",
        "not",
        "no",
        "at least 2",
        "(",
        ")",
        "{",
        "}",
        ",",
        "x",
        "ULN",
        "1500 /uL",
        "3 x ULN",
        "\"I50\"",
        "icd10",
        "yj \"2432001\"",
        "end",
        "earliest(",
        "report",
        "export",
        "with",
        "by",
        "sex",
        "age band 10 years",
        "periods of 14 days",
        "era e =",
        "gap",
        "grace",
        "define f(a: Number) =",
        "import labs.*",
        "ctcae_grade(",
        ">=",
        "..",
        "-",
        "+",
        "*",
        "/",
        "2014-01-01",
        "%",
        "validated {",
        "\n",
        "です",
    ];

    fn mutate(rng: &mut Rng, src: &str) -> Vec<u8> {
        let mut bytes = src.as_bytes().to_vec();
        for _ in 0..1 + rng.below(6) {
            let at = rng.below(bytes.len() + 1);
            match rng.below(5) {
                0 => {
                    let w = WORDS[rng.below(WORDS.len())];
                    bytes.splice(at..at, format!(" {w} ").into_bytes());
                }
                1 => {
                    let end = (at + rng.below(40)).min(bytes.len());
                    bytes.drain(at..end);
                }
                2 => {
                    let b = (rng.next() & 0xff) as u8;
                    if at < bytes.len() {
                        bytes[at] = b;
                    }
                }
                3 => {
                    // Duplicate a slice somewhere else.
                    let end = (at + rng.below(60)).min(bytes.len());
                    let piece = bytes[at..end].to_vec();
                    let to = rng.below(bytes.len() + 1);
                    bytes.splice(to..to, piece);
                }
                _ => bytes.truncate(at),
            }
        }
        bytes
    }

    #[test]
    fn generated_inputs_never_panic() {
        let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
        let mut failures = Vec::new();
        for i in 0..1200 {
            let input: Vec<u8> = if i % 4 == 0 {
                (0..rng.below(300))
                    .map(|_| (rng.next() & 0xff) as u8)
                    .collect()
            } else {
                let seed = SEEDS[rng.below(SEEDS.len())];
                mutate(&mut rng, seed)
            };
            let result = std::panic::catch_unwind(|| compile_bytes(&input));
            match result {
                Ok(codes) => assert!(
                    !codes.contains(&"internal"),
                    "an internal error on input {i}: {}",
                    String::from_utf8_lossy(&input)
                ),
                Err(_) => failures.push(String::from_utf8_lossy(&input).into_owned()),
            }
        }
        assert!(
            failures.is_empty(),
            "{} inputs panicked; first:\n{}",
            failures.len(),
            failures[0]
        );
    }

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
        let chain = vec!["icd10 \"I50\""; 900].join(" or ");
        let codes = compile_bytes(format!("codes a: diagnosis = {chain}").as_bytes());
        assert!(codes.is_empty(), "{codes:?}");
        let chain = vec!["icd10 \"I50\""; 50_000].join(" or ");
        assert_eq!(
            compile_bytes(format!("codes a: diagnosis = {chain}").as_bytes()),
            vec!["E0006"]
        );
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
        assert!(compile_bytes(src.as_bytes()).is_empty());
        // One mistake at the end of 10 MB is found and placed.
        src.push_str("codes broken: diagnosis = icd10 \"Z9Q\"\n");
        assert_eq!(compile_bytes(src.as_bytes()), vec!["E0203"]);
    }
}
