//! `mid package`: makes the execution request a researcher sends to every hospital (one
//! file, `network::package`), or shows one to a hospital officer or a reviewer.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use mid_compiler::CompileOptions;

use super::{Color, compile_script};
use crate::engine::Engine;
use crate::error::{Error, Result};
use crate::network::package::{FORMAT, Package};

/// Arguments of `mid package`.
#[derive(Debug, Clone, clap::Args)]
pub struct PackageArgs {
    /// The script to package.
    #[arg(required_unless_present = "show", conflicts_with = "show")]
    pub file: Option<PathBuf>,
    /// The package file to write (`study.midpkg`).
    #[arg(long, required_unless_present = "show", conflicts_with = "show")]
    pub out: Option<PathBuf>,
    /// Print what a package will run and exactly what will leave the hospital.
    #[arg(long, value_name = "FILE.midpkg")]
    pub show: Option<PathBuf>,
    /// The on-site center's audit trail, to record the package in.
    #[arg(long, conflicts_with = "show")]
    pub audit: Option<PathBuf>,
    /// Who makes it (recorded in the audit trail); the user name by default.
    #[arg(long, conflicts_with = "show")]
    pub operator: Option<String>,
    /// Colour diagnostics.
    #[arg(long, value_enum, default_value_t = Color::Auto)]
    pub color: Color,
}

pub fn package(args: &PackageArgs) -> Result<ExitCode> {
    if let Some(path) = &args.show {
        let p = Package::read(path)?;
        crate::out!("{}", p.show());
        return Ok(ExitCode::SUCCESS);
    }
    let (Some(file), Some(out)) = (&args.file, &args.out) else {
        return Err(Error::usage(
            "give a script and --out, or --show FILE.midpkg",
        ));
    };
    refuse_to_replace(out)?;
    let compiled = compile_script(file, args.color, &CompileOptions::default())?;
    let name = file.file_name().map_or_else(
        || file.display().to_string(),
        |n| n.to_string_lossy().into_owned(),
    );
    let package = Package::build(&compiled, &name)?;
    let input = ("script".to_string(), package.script.sha256.clone());
    publish(&package, out, args.audit.as_deref(), &args.operator, input)?;
    crate::outln!(
        "wrote {} (request {}, {} plans; `mid package --show {}` shows what it runs and returns)",
        out.display(),
        &package.id[..12],
        package.plans.len(),
        out.display()
    );
    Ok(ExitCode::SUCCESS)
}

/// Checks that what a hospital will run reads back as what was compiled (before the package
/// leaves), writes it to `out` and records it in the audit trail `audit`, if any, with the
/// source it was made from.
pub(crate) fn publish(
    package: &Package,
    out: &Path,
    audit: Option<&Path>,
    operator: &Option<String>,
    source: (String, String),
) -> Result<()> {
    let engine = Engine::without_data()?;
    package.plans(&engine.ctx.task_ctx())?;
    write_atomic(out, package.to_json().as_bytes())?;
    if let Some(log) = audit {
        let head = crate::network::audit::append(
            log,
            crate::network::audit::Event {
                actor: super::site::operator(operator),
                place: "on-site center".into(),
                action: "package".into(),
                inputs: std::collections::BTreeMap::from([source]),
                outputs: std::collections::BTreeMap::from([(
                    "package".to_string(),
                    package.id.clone(),
                )]),
            },
        )?;
        super::site::print_head(log, &head);
    }
    Ok(())
}

/// `--out` may be a new file or an earlier package, nothing else.
pub(crate) fn refuse_to_replace(out: &Path) -> Result<()> {
    if !out.exists() {
        return Ok(());
    }
    let earlier = std::fs::read(out)
        .ok()
        .and_then(|b| serde_json::from_slice::<serde_json::Value>(&b).ok())
        .and_then(|v| v.get("format").and_then(|f| f.as_str()).map(String::from));
    match earlier {
        Some(f) if f == FORMAT => Ok(()),
        _ => Err(Error::usage(format!(
            "{} exists and is not a request package; mid will not replace it",
            out.display()
        ))),
    }
}

/// Writes beside `path`, then renames into place: no partial package is ever left.
fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    use std::io::Write;
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let cannot = |e: std::io::Error| Error::context(format!("cannot write {}", path.display()), e);
    let mut tmp = tempfile::Builder::new()
        .prefix(".mid-package-")
        .tempfile_in(dir)
        .map_err(cannot)?;
    tmp.write_all(bytes).map_err(cannot)?;
    tmp.as_file().sync_all().map_err(cannot)?;
    tmp.persist(path).map_err(|e| cannot(e.error))?;
    Ok(())
}
