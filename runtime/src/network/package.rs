//! Request packages (runtime, network): the execution request a researcher sends to every
//! hospital, one JSON file. It holds the script and the stdlib modules it uses, the cohort IR,
//! the compiled plans serialised with DataFusion's own format (`datafusion-proto`), the
//! outputs' metadata, the data it needs and what it will return. A hospital runs exactly the
//! plans in it, without compiling. Its ID is the SHA-256 of its content, so the same script
//! gives the same package, byte for byte, and any change to it is found.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;
use std::sync::Arc;

use base64::Engine as _;
use datafusion::catalog::TableProvider;
use datafusion::common::tree_node::Transformed;
use datafusion::datasource::empty::EmptyTable;
use datafusion::datasource::provider_as_source;
use datafusion::execution::TaskContext;
use datafusion::logical_expr::LogicalPlan;
use mid_compiler::outputs::Output;
use mid_compiler::{Compiled, NamedPlan, PlanKind};
use serde::{Deserialize, Serialize};

use super::frontier::{self, Level, Returned};
use crate::error::{Error, Result};
pub use crate::output::record::sha256;

/// The format a package declares; a package of another format is refused.
pub const FORMAT: &str = "mid-request/1";
/// The DataFusion whose serialised plans a package holds: plans round-trip only within one
/// DataFusion version.
pub const DATAFUSION: &str = "55";
/// The largest package mid reads: far beyond any study's plans.
const MAX_BYTES: u64 = 256 * 1024 * 1024;

/// A request package.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Package {
    pub format: String,
    /// SHA-256 (hex) of the package serialised with an empty `id`.
    pub id: String,
    pub versions: Versions,
    pub study: String,
    pub script: SourceText,
    /// The stdlib modules the script uses, by name.
    pub modules: Vec<SourceText>,
    /// The cohort IR as reviewers read it (`mid compile --emit cir`).
    pub cir: String,
    pub cir_sha256: String,
    /// SHA-256 of the plans as `mid compile --emit plan` prints them (as in `run.json`).
    pub plan_sha256: String,
    pub plans: Vec<PackagedPlan>,
    pub outputs: Vec<Output>,
    pub requirements: Requirements,
    pub returns: Vec<Returned>,
    /// A feasibility request (集計情報, docs/feasibility.md): its items and how the counts
    /// are split. Its plans return exact counts, which only the data center sees.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub feasibility: Option<FeasibilityRequest>,
}

/// What a feasibility package asks, as `mid feasibility` was told it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FeasibilityRequest {
    /// `quarter` or `fiscal_year`.
    pub calendar: String,
    pub age_band_years: i64,
    /// The items file (or the standard request's items) and its hash.
    pub items: SourceText,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Versions {
    pub mid: String,
    pub cdm: String,
    pub datafusion: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SourceText {
    pub name: String,
    pub sha256: String,
    pub text: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PackagedPlan {
    pub name: String,
    pub kind: PlanKind,
    /// The logical plan, `datafusion-proto` bytes in base64.
    pub proto: String,
}

/// What a request needs from a hospital's data.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Requirements {
    /// CDM tables and the columns the plans read.
    pub tables: BTreeMap<String, Vec<String>>,
    /// The code sets and lab items the plans test, by table (as `coverage.json` names them).
    pub sources: BTreeMap<String, Vec<String>>,
}

/// The plan with its schema-only sources replaced by empty tables of the same schema, which
/// `datafusion-proto` serialises by name and schema; the runtime binds them by name.
fn encodable(plan: &LogicalPlan) -> Result<LogicalPlan> {
    plan.clone()
        .transform_up_with_subqueries(|p| match p {
            LogicalPlan::TableScan(mut s) => {
                let provider: Arc<dyn TableProvider> = Arc::new(EmptyTable::new(s.source.schema()));
                s.source = provider_as_source(provider);
                Ok(Transformed::yes(LogicalPlan::TableScan(s)))
            }
            other => Ok(Transformed::no(other)),
        })
        .map(|t| t.data)
        .map_err(|e| Error::context("cannot prepare a plan for the package", e))
}

/// Runs `f` on a thread with a large stack: plans nest a few hundred levels deep, and both
/// the serialiser and prost's decoder (its depth limit lifted) recurse once per level.
fn on_big_stack<T: Send>(f: impl FnOnce() -> T + Send) -> Result<T> {
    std::thread::scope(|s| {
        std::thread::Builder::new()
            .stack_size(256 * 1024 * 1024)
            .spawn_scoped(s, f)
            .map_err(|e| Error::context("cannot start a thread", e))?
            .join()
            .map_err(|_| Error::new("internal error: reading or writing a plan panicked"))
    })
}

/// A plan as package bytes.
pub fn encode(plan: &LogicalPlan) -> Result<Vec<u8>> {
    let plan = encodable(plan)?;
    on_big_stack(|| {
        datafusion_proto::bytes::logical_plan_to_bytes(&plan)
            .map(|b| b.to_vec())
            .map_err(|e| Error::context("cannot serialise a plan", e))
    })?
}

/// A plan from package bytes; its sources are schema-only until bound to data.
pub fn decode(bytes: &[u8], ctx: &TaskContext) -> Result<LogicalPlan> {
    on_big_stack(|| {
        datafusion_proto::bytes::logical_plan_from_bytes(bytes, ctx)
            .map_err(|e| Error::context("cannot read a plan of the package", e))
    })?
}

/// The CDM tables and columns the program reads (what the data contract check needs).
fn tables(compiled: &Compiled) -> BTreeMap<String, Vec<String>> {
    let mut out: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for r in mid_compiler::requirements::requirements(&compiled.cir) {
        out.entry(r.table.name().to_string())
            .or_default()
            .push(r.column.to_string());
    }
    out
}

impl Package {
    /// The package of a compiled script. `name` is the script's file name.
    pub fn build(compiled: &Compiled, name: &str) -> Result<Package> {
        // What the plans read is what the engine's optimiser leaves of their scans.
        let engine = crate::engine::Engine::without_data()?;
        let optimized = compiled
            .plans
            .iter()
            .map(|p| engine.optimize(&p.plan))
            .collect::<Result<Vec<_>>>()?;
        let returns = frontier::returns(&compiled.plans, &optimized, &tables(compiled));
        Package::assemble(compiled, name, &compiled.plans, returns, None)
    }

    /// The package of a feasibility request: its generated script, its count plans, and one
    /// table of exact counts that returns to the data center.
    pub fn feasibility(
        f: &mid_compiler::feasibility::Feasibility,
        items_name: &str,
        items_text: &str,
    ) -> Result<Package> {
        let counts = f
            .plans
            .iter()
            .find(|p| p.kind == PlanKind::Feasibility)
            .ok_or_else(|| Error::new("the request has no count plan"))?;
        let returns = vec![Returned {
            table: "feasibility".into(),
            level: Level::Counts,
            columns: counts
                .plan
                .schema()
                .fields()
                .iter()
                .map(|c| c.name().clone())
                .collect(),
            why: "exact counts per item, period, age band and sex at this hospital (no patient row, no id): the data center adds the hospitals and applies disclosure control to the network's whole cube; they are never released as they are".into(),
        }];
        let request = FeasibilityRequest {
            calendar: f.request.calendar.column().into(),
            age_band_years: f.request.age_band,
            items: SourceText {
                name: Path::new(items_name).file_name().map_or_else(
                    || items_name.to_string(),
                    |n| n.to_string_lossy().into_owned(),
                ),
                sha256: sha256(items_text.as_bytes()),
                text: items_text.to_string(),
            },
        };
        let mut package =
            Package::assemble(&f.compiled, "request.mid", &f.plans, returns, Some(request))?;
        package.study = "feasibility".into();
        package.id = package.digest();
        Ok(package)
    }

    fn assemble(
        compiled: &Compiled,
        name: &str,
        named: &[NamedPlan],
        returns: Vec<Returned>,
        feasibility: Option<FeasibilityRequest>,
    ) -> Result<Package> {
        let sources = &compiled.checked.sources;
        let script = sources.get(compiled.checked.file);
        let mut modules: Vec<SourceText> = sources
            .iter()
            .filter(|(_, f)| f.stdlib)
            .map(|(_, f)| SourceText {
                name: f.name.clone(),
                sha256: sha256(f.text.as_bytes()),
                text: f.text.to_string(),
            })
            .collect();
        modules.sort_by(|a, b| a.name.cmp(&b.name));
        let mut plans = Vec::with_capacity(named.len());
        for p in named {
            let bytes =
                encode(&p.plan).map_err(|e| Error::new(format!("plan `{}`: {e}", p.name)))?;
            plans.push(PackagedPlan {
                name: p.name.clone(),
                kind: p.kind.clone(),
                proto: base64::engine::general_purpose::STANDARD.encode(bytes),
            });
        }
        let mut sources_by_table: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for p in named {
            if let PlanKind::Coverage { table, sources } = &p.kind {
                sources_by_table.insert(table.clone(), sources.clone());
            }
        }
        let required = tables(compiled);
        let cir = mid_compiler::cir::print(&compiled.cir);
        let study = compiled.cir.study.clone().unwrap_or_else(|| {
            Path::new(name)
                .file_stem()
                .map_or_else(|| name.to_string(), |s| s.to_string_lossy().into_owned())
        });
        let mut package = Package {
            format: FORMAT.into(),
            id: String::new(),
            versions: Versions {
                mid: env!("CARGO_PKG_VERSION").into(),
                cdm: mid_compiler::cdm::CDM_VERSION.into(),
                datafusion: DATAFUSION.into(),
            },
            study,
            script: SourceText {
                name: name.to_string(),
                sha256: compiled.checked.source_sha256.clone(),
                text: script.text.to_string(),
            },
            modules,
            cir_sha256: sha256(cir.as_bytes()),
            cir,
            plan_sha256: sha256(mid_compiler::codegen::text::plans_text(named, None).as_bytes()),
            plans,
            outputs: compiled.outputs.clone(),
            requirements: Requirements {
                tables: required.clone(),
                sources: sources_by_table,
            },
            returns,
            feasibility,
        };
        package.id = package.digest();
        Ok(package)
    }

    /// The outputs that leave as aggregates: attrition tables, reports and Tables 1.
    pub fn aggregate_outputs(&self) -> Vec<Output> {
        self.outputs
            .iter()
            .filter(|o| {
                matches!(
                    o.kind,
                    mid_compiler::OutputKind::Attrition { .. }
                        | mid_compiler::OutputKind::Report { .. }
                        | mid_compiler::OutputKind::Table1 { .. }
                )
            })
            .cloned()
            .collect()
    }

    /// SHA-256 of the package serialised with an empty `id`.
    pub fn digest(&self) -> String {
        let mut bare = self.clone();
        bare.id.clear();
        sha256(bare.to_json().as_bytes())
    }

    /// The file's text: pretty JSON in field order, a final newline.
    pub fn to_json(&self) -> String {
        let mut text = serde_json::to_string_pretty(self).expect("a package serialises");
        text.push('\n');
        text
    }

    /// Reads a package and verifies it: its format and versions, its ID against its content,
    /// and each source text against its hash. The error names the file and the problem.
    pub fn read(path: &Path) -> Result<Package> {
        use std::io::Read;
        let name = path.display();
        let cannot = |e: std::io::Error| Error::new(format!("cannot read {name}: {e}"));
        let mut bytes = Vec::new();
        std::fs::File::open(path)
            .map_err(cannot)?
            .take(MAX_BYTES + 1)
            .read_to_end(&mut bytes)
            .map_err(cannot)?;
        if bytes.len() as u64 > MAX_BYTES {
            return Err(Error::new(format!(
                "{name} is larger than 256 MiB: not a request package"
            )));
        }
        let value: serde_json::Value = serde_json::from_slice(&bytes)
            .map_err(|e| Error::new(format!("{name} is not a request package (not JSON: {e})")))?;
        let format = value.get("format").and_then(|f| f.as_str()).unwrap_or("");
        if format != FORMAT {
            return Err(Error::new(if format.is_empty() {
                format!("{name} is not a request package (no `format`)")
            } else {
                format!("{name} is a `{format}` package; this mid reads `{FORMAT}`")
            }));
        }
        let p: Package = serde_json::from_value(value)
            .map_err(|e| Error::new(format!("{name} is a damaged request package: {e}")))?;
        p.verify().map_err(|e| Error::new(format!("{name}: {e}")))?;
        Ok(p)
    }

    /// Checks versions and hashes.
    pub fn verify(&self) -> std::result::Result<(), String> {
        let v = &self.versions;
        if v.mid != env!("CARGO_PKG_VERSION") || v.datafusion != DATAFUSION {
            return Err(format!(
                "the package was made by mid {} (DataFusion {}); this is mid {} (DataFusion {DATAFUSION}): its plans cannot be run here",
                v.mid,
                v.datafusion,
                env!("CARGO_PKG_VERSION")
            ));
        }
        if v.cdm != mid_compiler::cdm::CDM_VERSION {
            return Err(format!(
                "the package needs CDM {}; this mid reads CDM {}",
                v.cdm,
                mid_compiler::cdm::CDM_VERSION
            ));
        }
        let digest = self.digest();
        if digest != self.id {
            return Err(format!(
                "the package does not verify: its content hashes to {} but its ID is {} (it was changed after it was made)",
                &digest[..12],
                short(&self.id)
            ));
        }
        for s in std::iter::once(&self.script).chain(&self.modules) {
            if sha256(s.text.as_bytes()) != s.sha256 {
                return Err(format!(
                    "the source of `{}` does not match its hash",
                    s.name
                ));
            }
        }
        if sha256(self.cir.as_bytes()) != self.cir_sha256 {
            return Err("the cohort IR does not match its hash".into());
        }
        Ok(())
    }

    /// The packaged plans, decoded (sources schema-only until bound to a hospital's data),
    /// and checked to print exactly as the reviewed plans did (`plan_sha256`).
    pub fn plans(&self, ctx: &TaskContext) -> Result<Vec<NamedPlan>> {
        let plans = self.decode_plans(ctx)?;
        let text = mid_compiler::codegen::text::plans_text(&plans, None);
        if sha256(text.as_bytes()) != self.plan_sha256 {
            return Err(Error::new(
                "the package's plans do not read back as the plans it was made from (sha256 differs): they cannot be run",
            ));
        }
        Ok(plans)
    }

    fn decode_plans(&self, ctx: &TaskContext) -> Result<Vec<NamedPlan>> {
        self.plans
            .iter()
            .map(|p| {
                let bytes = base64::engine::general_purpose::STANDARD
                    .decode(&p.proto)
                    .map_err(|e| Error::new(format!("plan `{}` is damaged: {e}", p.name)))?;
                let plan = decode(&bytes, ctx)
                    .map_err(|e| Error::new(format!("plan `{}`: {e}", p.name)))?;
                // As code generation left it: one union of many inputs, not nested pairs.
                let plan = mid_compiler::codegen::flatten_unions(plan)
                    .map_err(|e| Error::new(format!("plan `{}`: {e}", p.name)))?;
                Ok(NamedPlan {
                    name: p.name.clone(),
                    kind: p.kind.clone(),
                    plan,
                })
            })
            .collect()
    }

    /// What a hospital officer or a reviewer reads before the request runs: what will run and
    /// exactly what will leave.
    pub fn show(&self) -> String {
        let mut s = String::new();
        let _ = writeln!(s, "request package {}", self.id);
        let _ = writeln!(s, "  study:    {}", self.study);
        let _ = writeln!(
            s,
            "  made by:  mid {}, CDM {}, DataFusion {}",
            self.versions.mid, self.versions.cdm, self.versions.datafusion
        );
        let lines = self.script.text.lines().count();
        let _ = writeln!(
            s,
            "  script:   {} ({lines} lines, sha256 {})",
            self.script.name,
            short(&self.script.sha256)
        );
        if !self.modules.is_empty() {
            let m: Vec<&str> = self.modules.iter().map(|m| m.name.as_str()).collect();
            let _ = writeln!(s, "  stdlib:   {}", m.join(", "));
        }
        let _ = writeln!(
            s,
            "  plans:    {} (sha256 {}), cohort IR sha256 {}",
            self.plans.len(),
            short(&self.plan_sha256),
            short(&self.cir_sha256)
        );
        let _ = writeln!(s, "\nWhat will run (the cohort IR):\n");
        for l in self.cir.trim_end().lines() {
            let _ = writeln!(s, "  {l}");
        }
        let _ = writeln!(s, "\nWhat it reads at the hospital:\n");
        for (t, cols) in &self.requirements.tables {
            let _ = writeln!(s, "  {t}: {}", cols.join(", "));
        }
        for (t, sources) in &self.requirements.sources {
            let _ = writeln!(s, "  tested in {t}: {}", sources.join("; "));
        }
        let _ = writeln!(
            s,
            "\nWhat will leave the hospital, once its officer approves it:\n"
        );
        for level in [Level::Aggregate, Level::Patient, Level::Counts] {
            // A script's package names both of its levels even when one is empty.
            let empty = !self.returns.iter().any(|r| r.level == level);
            if empty && (level == Level::Counts || self.feasibility.is_some()) {
                continue;
            }
            let _ = writeln!(
                s,
                "  {}",
                match level {
                    Level::Aggregate =>
                        "Aggregate tables (counts of persons 0, <10 or rounded to 10):",
                    Level::Patient =>
                        "Patient-level analysis data set (patient ids replaced by a keyed pseudonym; hospital kept):",
                    Level::Counts =>
                        "Exact counts, for the data center only (disclosure control is applied to the network's whole cube before anything is released):",
                }
            );
            for r in self.returns.iter().filter(|r| r.level == level) {
                let _ = writeln!(s, "    {} — {}", r.table, r.why);
                let _ = writeln!(s, "      columns: {}", r.columns.join(", "));
            }
        }
        let _ = writeln!(
            s,
            "\nNothing else leaves{}.",
            if self.feasibility.is_some() {
                ""
            } else {
                ": the data coverage and the exact counts stay at the hospital"
            }
        );
        s
    }
}

fn short(h: &str) -> &str {
    &h[..h.len().min(12)]
}
