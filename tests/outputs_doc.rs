//! docs/outputs.md's snippets, run as an analyst would: the R one with `Rscript` on a run's
//! CSV files, the pandas one with Python on its Parquet files (`.ci/run` installs R and
//! pandas when missing). SAS is not installable here; its snippet is not run.

use std::path::Path;
use std::process::Command;

use crate::common::mid;

/// The fenced block of `lang` in docs/outputs.md, with the example's output directory
/// replaced by `out`.
fn snippet(lang: &str, out: &Path) -> String {
    let doc =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/outputs.md"))
            .expect("docs/outputs.md");
    let start = doc
        .find(&format!("```{lang}\n"))
        .unwrap_or_else(|| panic!("a {lang} snippet"))
        + lang.len()
        + 4;
    let end = start + doc[start..].find("```").expect("its end");
    doc[start..end].replace(
        "out/thiamazole_granulocytopenia/",
        &format!("{}/", out.display()),
    )
}

/// Runs the thiamazole example on the demo network into a new directory.
pub fn run_example(extra: &[&str]) -> std::path::PathBuf {
    let out = tempfile::tempdir().expect("tmp").keep().join("out");
    let script = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../examples/thiamazole_granulocytopenia/study.mid")
        .display()
        .to_string();
    let o = out.display().to_string();
    let mut args = vec!["run", &script, "--out", &o];
    args.extend_from_slice(extra);
    let r = mid(&args);
    assert!(r.status.success(), "{}", String::from_utf8_lossy(&r.stderr));
    out
}

fn ran(mut c: Command, what: &str) -> String {
    let o = c
        .output()
        .unwrap_or_else(|e| panic!("{what} runs (.ci/run installs it): {e}"));
    assert!(
        o.status.success(),
        "{what}: {}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8_lossy(&o.stdout).into_owned()
}

#[test]
fn the_r_and_pandas_snippets_read_a_runs_outputs() {
    // R reads the CSV files: flags as logicals (`!persons_suppressed` would fail on text),
    // hidden counts as NA.
    let csv = run_example(&["--csv"]);
    let mut r = Command::new("Rscript");
    r.args(["-e", &snippet("r", &csv)]);
    let printed = ran(r, "Rscript");
    assert!(printed.contains("thiamazole_users"), "{printed}");
    // pandas reads the Parquet files.
    let parquet = run_example(&[]);
    let mut py = Command::new("python3");
    py.args(["-c", &snippet("python", &parquet)]);
    let printed = ran(py, "python3 with pandas and pyarrow");
    assert!(printed.contains("thiamazole_users"), "{printed}");
}
