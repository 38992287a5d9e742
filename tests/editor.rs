//! The editor extension (`editors/vscode`): its TextMate grammar passes the annotated samples
//! under vscode-tmgrammar-test (installed from npm by `npm ci` when missing), and highlights
//! every keyword the lexer knows.

use std::path::Path;
use std::process::Command;

fn extension() -> &'static Path {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../editors/vscode"))
}

#[test]
fn the_grammar_passes_its_samples() {
    let dir = extension();
    if !dir.join("node_modules/.bin/vscode-tmgrammar-test").exists() {
        let ci = Command::new("npm")
            .args(["ci", "--ignore-scripts", "--no-audit", "--no-fund"])
            .current_dir(dir)
            .output()
            .expect("npm runs (Debian's npm; .ci/run installs it)");
        assert!(
            ci.status.success(),
            "npm ci: {}",
            String::from_utf8_lossy(&ci.stderr)
        );
    }
    let t = Command::new("npm")
        .arg("test")
        .current_dir(dir)
        .output()
        .expect("npm test runs");
    let out = String::from_utf8_lossy(&t.stdout);
    assert!(
        t.status.success(),
        "{out}{}",
        String::from_utf8_lossy(&t.stderr)
    );
    assert!(out.contains("sample.mid run successfuly"), "{out}");
}

#[test]
fn the_grammar_knows_every_keyword() {
    let lexer = include_str!("../grammar/src/lexer.rs");
    let grammar = std::fs::read_to_string(extension().join("syntaxes/mid.tmLanguage.json"))
        .expect("the grammar");
    let json: serde_json::Value = serde_json::from_str(&grammar).expect("JSON");
    let keywords = &json["repository"]["keywords"]["patterns"];
    let alternatives: Vec<String> = keywords
        .as_array()
        .expect("patterns")
        .iter()
        .filter_map(|p| p["match"].as_str())
        .flat_map(|m| {
            let inner = m
                .trim_start_matches("\\b(")
                .split(")\\b")
                .next()
                .unwrap_or_default();
            inner.split('|').map(str::to_string).collect::<Vec<_>>()
        })
        .collect();
    let mut missing = Vec::new();
    for line in lexer.lines() {
        let Some(rest) = line.trim().strip_prefix("#[token(\"") else {
            continue;
        };
        let word: String = rest.chars().take_while(|c| *c != '"').collect();
        if word.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
            && !alternatives.contains(&word)
        {
            missing.push(word);
        }
    }
    assert!(
        missing.is_empty(),
        "keywords the grammar does not highlight: {missing:?}"
    );
}
