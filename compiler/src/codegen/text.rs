//! The plans as text (stage: plans → text): what `mid compile --emit plan` prints, what the
//! case-file snapshots show and what `run.json` hashes: one text for all three, every plan
//! under a header naming it and its kind, in execution order. A node whose line would be
//! wider than `WIDTH` lists its items one per line (and a `[[…]]` list inside it too), so a
//! changed column or aggregate changes its own line of the text, not one line of 2,000
//! characters.

use std::fmt::Write;

use datafusion_expr::LogicalPlan;

use super::{NamedPlan, PlanKind};

/// Every plan under a header naming it, in execution order. With `optimized`, the plans
/// after an optimiser (one per plan, in the same order) are shown instead.
pub fn plans_text(plans: &[NamedPlan], optimized: Option<&[LogicalPlan]>) -> String {
    // Each plan's text stands alone, so the second half is written on another thread (a
    // tenth of `mid compile`), on a stack as large as the compiler's: the text recurses
    // down the plan.
    let half = plans.len() / 2;
    if half < 8 {
        return text_of(plans, optimized, 0..plans.len());
    }
    std::thread::scope(|s| {
        let later = std::thread::Builder::new()
            .name("mid-plan-text".into())
            .stack_size(crate::STACK)
            .spawn_scoped(s, || text_of(plans, optimized, half..plans.len()));
        let mut out = text_of(plans, optimized, 0..half);
        let rest = match later.map(|h| h.join()) {
            Ok(Ok(text)) => text,
            Ok(Err(panic)) => std::panic::resume_unwind(panic),
            // No thread to be had: this one writes it.
            Err(_) => text_of(plans, optimized, half..plans.len()),
        };
        out.push_str(&rest);
        out
    })
}

/// The text of the plans at `range`.
fn text_of(
    plans: &[NamedPlan],
    optimized: Option<&[LogicalPlan]>,
    range: std::ops::Range<usize>,
) -> String {
    let mut out = String::new();
    for i in range {
        let p = &plans[i];
        let plan = optimized.and_then(|o| o.get(i)).unwrap_or(&p.plan);
        let _ = writeln!(out, "-- {} ({})", p.name, kind_word(&p.kind));
        for line in plan.display_indent().to_string().lines() {
            wrap(line, &mut out);
        }
        out.push('\n');
    }
    out
}

/// The widest line a node keeps on one line.
pub const WIDTH: usize = 100;

/// One line of a plan's text, its items on lines of their own when it is too wide.
fn wrap(line: &str, out: &mut String) {
    let body = line.trim_start();
    let indent = &line[..line.len() - body.len()];
    let split = body.find(": ").map(|i| (&body[..i + 1], &body[i + 2..]));
    let (Some((node, rest)), true) = (split, line.chars().count() > WIDTH) else {
        let _ = writeln!(out, "{line}");
        return;
    };
    let _ = writeln!(out, "{indent}{node}");
    let items = top_level(rest, ", ");
    let inner = format!("{indent}    ");
    for (i, item) in items.iter().enumerate() {
        let comma = if i + 1 < items.len() { "," } else { "" };
        // `aggr=[[a, b]]`: the list's items one per line too.
        let list = item
            .find("=[[")
            .filter(|_| item.ends_with("]]") && inner.len() + item.chars().count() > WIDTH);
        match list {
            Some(at) => {
                let (key, list) = (&item[..at + 3], &item[at + 3..item.len() - 2]);
                let _ = writeln!(out, "{inner}{key}");
                let parts = top_level(list, ", ");
                for (j, part) in parts.iter().enumerate() {
                    let c = if j + 1 < parts.len() { "," } else { "" };
                    let _ = writeln!(out, "{inner}    {part}{c}");
                }
                let _ = writeln!(out, "{inner}]]{comma}");
            }
            None => {
                let _ = writeln!(out, "{inner}{item}{comma}");
            }
        }
    }
}

/// `text` split at `sep` where it is outside brackets and quotes.
fn top_level<'a>(text: &'a str, sep: &str) -> Vec<&'a str> {
    let mut out = Vec::new();
    let (mut depth, mut quoted, mut start) = (0i32, false, 0);
    let bytes = text.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'"' => quoted = !quoted,
            b'(' | b'[' | b'{' if !quoted => depth += 1,
            b')' | b']' | b'}' if !quoted => depth -= 1,
            _ if !quoted && depth == 0 && bytes[i..].starts_with(sep.as_bytes()) => {
                out.push(&text[start..i]);
                i += sep.len();
                start = i;
                continue;
            }
            _ => {}
        }
        i += 1;
    }
    out.push(&text[start..]);
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
        PlanKind::Table1 { .. } => {
            "Table 1 rows of one cohort, summarised (aggregate) by the runtime"
        }
        PlanKind::Intermediate { .. } => "intermediate, computed once for the plan after it",
        PlanKind::Shared { entered: true, .. } => {
            "shared scan of the rows later plans test, for the patients the cohorts entered"
        }
        PlanKind::Shared { table, .. } if table == "patient" => {
            "shared scan of the patients, read once for every plan that joins them"
        }
        PlanKind::Shared { .. } => "shared scan, read once for every plan that tests these codes",
        PlanKind::Coverage { .. } => "data coverage by hospital, site-only",
        PlanKind::LabUnits => "lab units that cannot be converted, by hospital, site-only",
        PlanKind::Totals { .. } => {
            "a table's rows by hospital, the same for every script: reused while its files are unchanged, site-only"
        }
        PlanKind::Feasibility => {
            "feasibility counts, exact: disclosure control applies to the whole cube"
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_wide_node_lists_its_items_one_per_line() {
        let mut out = String::new();
        let items: Vec<String> = (0..12).map(|i| format!("t.column_{i} AS c_{i}")).collect();
        wrap(&format!("  Projection: {}", items.join(", ")), &mut out);
        wrap(
            "    Aggregate: groupBy=[[t.hospital_id, t.patient_id]], aggr=[[count(Int32(1)) FILTER (WHERE t.a, b) AS n_1, max(t.day) AS last_day_of_the_follow_up_period]]",
            &mut out,
        );
        wrap("  Filter: t.a = Utf8(\"x, y\")", &mut out);
        // Text outside quotes that is not ASCII is cut only at the separator.
        let long = format!("  Projection: {}", ["t.名前 AS 名前"; 12].join(", "));
        let mut wrapped = String::new();
        wrap(&long, &mut wrapped);
        assert_eq!(wrapped.lines().count(), 13, "{wrapped}");
        assert_eq!(
            out,
            "  Projection:\n      t.column_0 AS c_0,\n      t.column_1 AS c_1,\n      t.column_2 AS c_2,\n      t.column_3 AS c_3,\n      t.column_4 AS c_4,\n      t.column_5 AS c_5,\n      t.column_6 AS c_6,\n      t.column_7 AS c_7,\n      t.column_8 AS c_8,\n      t.column_9 AS c_9,\n      t.column_10 AS c_10,\n      t.column_11 AS c_11\n    Aggregate:\n        groupBy=[[t.hospital_id, t.patient_id]],\n        aggr=[[\n            count(Int32(1)) FILTER (WHERE t.a, b) AS n_1,\n            max(t.day) AS last_day_of_the_follow_up_period\n        ]]\n  Filter: t.a = Utf8(\"x, y\")\n"
        );
    }
}
