//! The console summary of a run (runtime): attrition tables and the first rows of each
//! report, suppressed exactly as the files are, the validation of each outcome definition,
//! and what was written where.

use std::path::Path;

use arrow::array::RecordBatch;
use mid_compiler::{Compiled, OutputKind};

use super::tables::{attrition_table, report_table, text_view};
use super::{Results, Written, batch};

pub fn print_summary(c: &Compiled, results: &Results, written: &[Written], out: &Path, secs: f64) {
    for o in &c.outputs {
        match &o.kind {
            OutputKind::Attrition {
                cohort,
                labels,
                threshold: th,
            } => {
                crate::outln!("cohort {cohort}");
                if let Ok(b) = batch(results, &o.plan)
                    && let Ok(t) = attrition_table(&b, labels, *th)
                    && let Ok(t) = text_view(&t, true)
                {
                    print_batch(&t);
                }
            }
            OutputKind::Report {
                report,
                cohorts,
                strata,
                counts,
                threshold: th,
                ..
            } => {
                // A withheld report describes individuals: not on the console either.
                if !written
                    .iter()
                    .any(|w| w.kind == "report" && &w.name == report)
                {
                    crate::outln!(
                        "report {report}: withheld (its rows would describe individuals)"
                    );
                    continue;
                }
                crate::outln!("report {report}");
                if let Ok(b) = batch(results, &o.plan)
                    && let Ok(t) = report_table(&b, strata, counts, *th, cohorts)
                    && let Ok(t) = text_view(&t, true)
                {
                    print_batch(&t.slice(0, t.num_rows().min(30)));
                    if t.num_rows() > 30 {
                        crate::outln!("  … {} more rows in the file", t.num_rows() - 30);
                    }
                }
            }
            OutputKind::Table1 {
                table,
                cohorts,
                plans,
                rows,
                threshold,
            } => {
                crate::outln!("table1 {table}");
                if let Ok(t) =
                    super::table1::from_results(results, cohorts, plans, rows, *threshold)
                    && let Ok(lines) = super::table1::wide(&t)
                {
                    print_lines(&lines);
                }
            }
            OutputKind::Export { .. } | OutputKind::Coverage { .. } | OutputKind::LabUnits => {}
        }
    }
    for o in &c.cir.outcomes {
        for (name, v) in &o.definitions {
            if name == &o.name {
                crate::outln!("outcome {}: its own definition, {}", o.name, v.describe());
            } else {
                crate::outln!("outcome {} uses {name}: {}", o.name, v.describe());
            }
        }
    }
    for w in written {
        let where_ = if w.leaves_site {
            "aggregate"
        } else {
            "patient-level, stays at the site"
        };
        crate::outln!(
            "wrote {}/{} ({} rows, {where_})",
            out.display(),
            w.path,
            w.rows
        );
    }
    crate::outln!(
        "wrote {}/run.json; aggregate counts: 0, <10 (or the report's threshold), else rounded to 10; exact counts in {}/{}/; {:.1} s",
        out.display(),
        out.display(),
        super::SITE_ONLY,
        secs
    );
}

/// Lines of cells, each column as wide as its widest cell (the first left-aligned).
fn print_lines(lines: &[Vec<String>]) {
    let cols = lines.iter().map(Vec::len).max().unwrap_or(0);
    let width: Vec<usize> = (0..cols)
        .map(|j| {
            lines
                .iter()
                .filter_map(|l| l.get(j))
                .map(|c| c.chars().count())
                .max()
                .unwrap_or(0)
        })
        .collect();
    for l in lines {
        let mut out = String::from(" ");
        for (j, c) in l.iter().enumerate() {
            let pad = width[j].saturating_sub(c.chars().count());
            if j == 0 {
                out.push_str(&format!(" {c}{}", " ".repeat(pad)));
            } else {
                out.push_str(&format!("  {}{c}", " ".repeat(pad)));
            }
        }
        crate::outln!("{}", out.trim_end());
    }
}

fn print_batch(b: &RecordBatch) {
    match arrow::util::pretty::pretty_format_batches(std::slice::from_ref(b)) {
        Ok(t) => crate::outln!("{t}"),
        Err(e) => crate::outln!("(cannot show the table: {e})"),
    }
}
