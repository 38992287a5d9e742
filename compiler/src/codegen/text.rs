//! The plans as text (stage: plans → text): what `mid compile --emit plan` prints, what the
//! case-file snapshots show and what `run.json` hashes: one text for all three, every plan
//! under a header naming it and its kind, in execution order.

use std::fmt::Write;

use datafusion_expr::LogicalPlan;

use super::{NamedPlan, PlanKind};

/// Every plan under a header naming it, in execution order. With `optimized`, the plans
/// after an optimiser (one per plan, in the same order) are shown instead.
pub fn plans_text(plans: &[NamedPlan], optimized: Option<&[LogicalPlan]>) -> String {
    let mut out = String::new();
    for (i, p) in plans.iter().enumerate() {
        let plan = optimized.and_then(|o| o.get(i)).unwrap_or(&p.plan);
        let _ = writeln!(out, "-- {} ({})", p.name, kind_word(&p.kind));
        let _ = writeln!(out, "{}", plan.display_indent());
        out.push('\n');
    }
    out
}

/// What a plan is, in the reviewer's words.
pub fn kind_word(k: &PlanKind) -> &'static str {
    match k {
        PlanKind::Entries { .. } => "cohort entries",
        PlanKind::Steps { .. } => "cohort steps",
        PlanKind::Attrition { .. } => "attrition",
        PlanKind::Cohort { .. } => "cohort",
        PlanKind::Outcome { .. } => "outcome",
        PlanKind::Export { .. } => "export, patient-level, stays at the site",
        PlanKind::Report { .. } => "report, aggregate",
        PlanKind::Intermediate { .. } => "intermediate, computed once for the plan after it",
        PlanKind::Shared { .. } => "shared scan, read once for every plan that tests these codes",
        PlanKind::Coverage { .. } => "data coverage by hospital, site-only",
        PlanKind::LabUnits => "lab units that cannot be converted, by hospital, site-only",
        PlanKind::Feasibility => {
            "feasibility counts, exact: disclosure control applies to the whole cube"
        }
    }
}
