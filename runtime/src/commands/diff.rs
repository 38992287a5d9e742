//! `mid diff OLD NEW`: what changed between two versions of a study, scripts or request
//! packages, at the level of the cohort IR (cohorts, steps by label, windows, codes, outputs),
//! and with `--plans` a line diff of each plan that changed. Exit 0 when equal, 1 when
//! different, 2 when either side cannot be read or compiled (as `diff` does).

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use mid_compiler::diff::Change;
use mid_compiler::{CompileOptions, Compiled};

use super::{Color, Format, compile_source, read_script};
use crate::error::{Error, Result};
use crate::network::package::Package;

/// Arguments of `mid diff`.
#[derive(Debug, Clone, clap::Args)]
pub struct DiffArgs {
    /// The old version: a script (`.mid`) or a request package (`.midpkg`).
    pub old: PathBuf,
    /// The new version.
    pub new: PathBuf,
    /// Also diff the DataFusion plans, line by line, for each plan that changed.
    #[arg(long)]
    pub plans: bool,
    /// `human` text, or `json` for tools.
    #[arg(long, value_enum, default_value_t = Format::Human)]
    pub format: Format,
    /// Colour diagnostics.
    #[arg(long, value_enum, default_value_t = Color::Auto)]
    pub color: Color,
}

/// One plan that differs: its name, and what happened to it.
#[derive(Debug, serde::Serialize)]
struct PlanChange {
    name: String,
    change: &'static str,
    /// A unified diff of the plan's text.
    diff: String,
}

pub fn diff(args: &DiffArgs) -> Result<ExitCode> {
    // Every failure to read or compile a side exits 2: 1 means "different".
    let options = CompileOptions { plans: args.plans };
    let old = load(&args.old, args.color, &options).map_err(|e| Error::usage(e.to_string()))?;
    let new = load(&args.new, args.color, &options).map_err(|e| Error::usage(e.to_string()))?;
    let changes = mid_compiler::diff::diff(&old.cir, &new.cir);
    let plans = if args.plans {
        plan_changes(&old, &new)
    } else {
        Vec::new()
    };
    match args.format {
        Format::Human => crate::out!("{}", human(&changes, &plans)),
        Format::Json => {
            let v = serde_json::json!({
                "equal": changes.is_empty() && plans.is_empty(),
                "changes": changes,
                "plans": plans,
            });
            let text = serde_json::to_string_pretty(&v)
                .map_err(|e| Error::new(format!("cannot write JSON: {e}")))?;
            crate::outln!("{text}");
        }
    }
    Ok(if changes.is_empty() && plans.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

/// A script, or the script of a request package (verified, and made with this mid's stdlib),
/// compiled.
fn load(path: &Path, color: Color, options: &CompileOptions) -> Result<Compiled> {
    let is_package = path.extension().is_some_and(|e| e == "midpkg");
    let (name, text) = if is_package {
        let p = Package::read(path)?;
        if p.feasibility.is_some() {
            return Err(Error::new(format!(
                "{} is a feasibility request: `mid diff` compares study scripts",
                path.display()
            )));
        }
        for m in &p.modules {
            let current = mid_compiler::source::stdlib()
                .iter()
                .find(|s| m.name == format!("stdlib/{}.mid", s.name));
            if current.map(|s| s.text) != Some(m.text.as_str()) {
                return Err(Error::new(format!(
                    "{} was made with another stdlib: its `{}` differs from this mid's, so its script would not compile to what it holds; diff it with the mid that made it",
                    path.display(),
                    m.name
                )));
            }
        }
        (
            format!("{} ({})", path.display(), p.script.name),
            p.script.text.into_bytes(),
        )
    } else {
        (path.display().to_string(), read_script(path)?)
    };
    compile_source(&name, &text, color, options, false)
}

/// The plans added, removed or changed, aligned by name, each with a unified diff.
fn plan_changes(old: &Compiled, new: &Compiled) -> Vec<PlanChange> {
    let text = |c: &Compiled, name: &str| {
        c.plans
            .iter()
            .find(|p| p.name == name)
            .map(|p| mid_compiler::codegen::text::plans_text(std::slice::from_ref(p), None))
    };
    let mut names: Vec<&str> = new.plans.iter().map(|p| p.name.as_str()).collect();
    for p in &old.plans {
        if !names.contains(&p.name.as_str()) {
            names.push(&p.name);
        }
    }
    let mut out = Vec::new();
    for name in names {
        let (a, b) = (text(old, name), text(new, name));
        let change = match (&a, &b) {
            (Some(x), Some(y)) if x == y => continue,
            (Some(_), Some(_)) => "changed",
            (Some(_), None) => "removed",
            (None, Some(_)) => "added",
            (None, None) => continue,
        };
        let (a, b) = (a.unwrap_or_default(), b.unwrap_or_default());
        let diff = similar::TextDiff::from_lines(&a, &b)
            .unified_diff()
            .context_radius(3)
            .header(&format!("old/{name}"), &format!("new/{name}"))
            .to_string();
        out.push(PlanChange {
            name: name.to_string(),
            change,
            diff,
        });
    }
    out
}

/// The text for people: the semantic changes, then the plan diffs.
fn human(changes: &[Change], plans: &[PlanChange]) -> String {
    let mut out = if changes.is_empty() && !plans.is_empty() {
        "no differences in the cohort IR\n".to_string()
    } else {
        mid_compiler::diff::text(changes)
    };
    if !plans.is_empty() {
        out.push_str(&format!("\nplans: {} changed\n", plans.len()));
        for p in plans {
            out.push_str(&format!("\n{} ({})\n{}", p.name, p.change, p.diff));
        }
    }
    if !out.ends_with('\n') {
        out.push('\n');
    }
    out
}
