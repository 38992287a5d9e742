//! The standard library: every module checks clean on its own, and every example in its doc
//! comments (indented blocks in `//!` and `///` comments) compiles and runs on the demo network.

use std::path::Path;

use crate::e2e::run;

fn stdlib_files() -> Vec<std::path::PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../stdlib");
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .expect("stdlib/")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "mid"))
        .collect();
    files.sort();
    files
}

#[test]
fn every_module_checks_clean() {
    let mut sources = mid_compiler::source::SourceMap::new();
    let (_, diags) = mid_compiler::check::check_stdlib(&mut sources);
    assert!(
        diags.is_empty(),
        "{}",
        mid_compiler::diag::render_human(&diags, &sources, Default::default())
    );
    assert_eq!(mid_compiler::source::stdlib().len(), stdlib_files().len());
    for f in stdlib_files() {
        let bytes = std::fs::read(&f).expect("a stdlib file");
        let c = mid_compiler::check_file(&f.display().to_string(), &bytes);
        assert!(
            c.diagnostics.is_empty(),
            "{}",
            mid_compiler::diag::render_human(&c.diagnostics, &c.sources, Default::default())
        );
    }
}

/// The indented code blocks of a file's doc comments.
fn doc_examples(text: &str) -> Vec<String> {
    let mut blocks = Vec::new();
    let mut current: Vec<&str> = Vec::new();
    for line in text.lines() {
        let t = line.trim_start();
        let body = t.strip_prefix("//!").or_else(|| t.strip_prefix("///"));
        match body.and_then(|b| b.strip_prefix("     ")) {
            Some(code) => current.push(code),
            None => {
                if !current.is_empty() {
                    blocks.push(current.join("\n"));
                    current.clear();
                }
            }
        }
    }
    if !current.is_empty() {
        blocks.push(current.join("\n"));
    }
    blocks
}

#[test]
fn every_doc_example_compiles_and_runs() {
    let data = mid_runtime::dataset::resolve_data(None).expect("the demo network");
    let mut n = 0;
    for f in stdlib_files() {
        let text = std::fs::read_to_string(&f).expect("a stdlib file");
        for example in doc_examples(&text) {
            let results = run(&example, &data);
            let reports = results.keys().filter(|k| k.starts_with("report_")).count();
            assert!(
                reports >= 1,
                "{}: the example reports nothing:\n{example}",
                f.display()
            );
            let members: usize = results
                .iter()
                .filter(|(k, _)| k.starts_with("cohort_"))
                .map(|(_, b)| b.num_rows())
                .sum();
            assert!(
                members > 0,
                "{}: the example's cohort is empty on the demo network:\n{example}",
                f.display()
            );
            n += 1;
        }
    }
    assert!(n >= 6, "every stdlib module has an example ({n} found)");
}

/// The drug classes common designs need find their patients on the demo network: a new
/// user's first SGLT2-inhibitor, DOAC or fluoroquinolone study is not empty, and each cohort
/// is exactly the patients with a prescription whose YJ code is of the class (counted from
/// the Parquet files, not by mid).
#[test]
fn the_common_classes_find_their_patients_on_the_demo_network() {
    let classes: [(&str, &[&str]); 4] = [
        (
            "sglt2_inhibitors",
            &["3969023", "3969019", "3969022", "3969018", "3969020"],
        ),
        ("doacs", &["3339004", "3339003", "3339002", "3339001"]),
        (
            "oral_anticoagulants",
            &["3339004", "3339003", "3339002", "3339001", "3332001"],
        ),
        ("fluoroquinolones", &["6241013", "6241008"]),
    ];
    let mut script = format!("import drugs.{{{}}}\n", classes.map(|(c, _)| c).join(", "));
    for (c, _) in &classes {
        script += &format!("cohort {c}_users {{ index = first drug {c} }}\n");
    }
    script += &format!(
        "report {} by cohort\n",
        classes.map(|(c, _)| format!("{c}_users")).join(", ")
    );
    let dir = tempfile::tempdir().expect("tmp").keep();
    let file = dir.join("classes.mid");
    std::fs::write(&file, script).expect("script");
    let out = dir.join("out");
    crate::common::ok(&crate::common::mid_run(
        &file,
        crate::common::network(),
        &out,
        &[],
    ));
    let site: serde_json::Value = serde_json::from_slice(
        &std::fs::read(out.join("site-only/run-site.json")).expect("run-site.json"),
    )
    .expect("JSON");
    let net = crate::common::loaded();
    let codes = net.drug.str("yj_code");
    let keys = net.drug.keys();
    // The patients with a prescription of these YJ prefixes, from the rows themselves.
    let users = |prefixes: &[&str]| -> std::collections::BTreeSet<_> {
        keys.iter()
            .zip(&codes)
            .filter(|(_, c)| {
                c.as_deref()
                    .is_some_and(|c| prefixes.iter().any(|p| c.starts_with(p)))
            })
            .map(|(k, _)| k.clone())
            .collect()
    };
    for (class, prefixes) in classes {
        let expected = users(prefixes);
        assert!(expected.len() >= 50, "{class}: {} users", expected.len());
        assert_eq!(
            site["tables"][format!("cohort_{class}_users")],
            expected.len(),
            "{class}"
        );
    }
    // Every oral anticoagulant has its own users (a warfarin or dabigatran study finds some).
    for (drug, prefix) in [
        ("warfarin", "3332001"),
        ("apixaban", "3339004"),
        ("rivaroxaban", "3339003"),
        ("edoxaban", "3339002"),
        ("dabigatran", "3339001"),
    ] {
        let n = users(&[prefix]).len();
        assert!(n >= 5, "{drug}: {n} users");
    }
}
