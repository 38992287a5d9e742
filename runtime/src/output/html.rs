//! The HTML study report (runtime): one self-contained page (inline CSS and SVG, no script,
//! nothing fetched) with every cohort's attrition diagram, an age–sex pyramid, the incidence
//! of each outcome with its 95 % intervals, Table 1, the outcome definitions' validation,
//! the data coverage by hospital, and the script with its cohort IR. Every number and every
//! picture shows counts as the files do (0, rounded to 10, or `<10`); a hidden count is drawn
//! as a dashed outline with no length, never to scale.

use std::collections::{BTreeMap, HashSet};
use std::fmt::Write as _;

use arrow::array::{Array, Float64Array, RecordBatch, StringArray};
use arrow::compute::cast;
use arrow::datatypes::DataType;
use mid_compiler::outputs::Summary;
use mid_compiler::{Compiled, OutputKind};

use super::coverage::Coverage;
use super::tables::{self, RATE};
use super::{Results, Written, batch, table1};
use crate::disclosure::{self, Shown, THRESHOLD};
use crate::error::{Error, Result};
use crate::network::summary::esc;

/// The file the report is written to, beside `run.json`.
pub const FILE: &str = "report.html";

const STYLE: &str = "body{font-family:sans-serif;margin:1.5em auto;max-width:1100px;color:#222;line-height:1.35}h1{font-size:1.5em}h2{font-size:1.2em;border-bottom:1px solid #ddd;margin-top:1.6em}h3{font-size:1em;margin:.8em 0 .3em}table{border-collapse:collapse;margin:.5em 0 1em}td,th{border:1px solid #ccc;padding:.2em .5em;text-align:right;font-size:.9em}th{background:#f4f4f4}td.l,th.l{text-align:left}pre{background:#f7f7f7;border:1px solid #ddd;padding:.6em;overflow-x:auto;font-size:.8em}figure{display:inline-block;vertical-align:top;margin:0 1.5em 1em 0}figcaption{font-size:.85em;color:#555;max-width:520px}.box{fill:#e8f0fe;stroke:#3b6fd1}.out{fill:#fdecea;stroke:#c62828}.F{fill:#c2185b}.M{fill:#1565c0}.dot{fill:#2e7d32}.ci{stroke:#2e7d32;stroke-width:2}.hidden{fill:none;stroke:#999;stroke-dasharray:3,2}.note{color:#555;font-size:.9em}";

/// Text columns of a table (counts as shown: `<10`), empty where null.
fn texts(b: &RecordBatch) -> Result<Vec<(String, Vec<String>)>> {
    let shown = tables::text_view(b, false)?;
    let mut out = Vec::new();
    for (f, a) in shown.schema().fields().iter().zip(shown.columns()) {
        let a = cast(a, &DataType::Utf8).map_err(|e| Error::context(f.name(), e))?;
        let s = a
            .as_any()
            .downcast_ref::<StringArray>()
            .ok_or_else(|| Error::new(format!("{} is not text", f.name())))?;
        out.push((
            f.name().clone(),
            (0..s.len())
                .map(|i| {
                    if s.is_null(i) {
                        String::new()
                    } else {
                        s.value(i).to_string()
                    }
                })
                .collect(),
        ));
    }
    Ok(out)
}

fn column<'a>(cols: &'a [(String, Vec<String>)], name: &str) -> Option<&'a [String]> {
    cols.iter()
        .find(|(n, _)| n == name)
        .map(|(_, v)| v.as_slice())
}

/// One cohort's attrition as boxes and arrows: each step's persons remaining in a box, the
/// persons it removed in a box to the side.
fn attrition_svg(cohort: &str, t: &RecordBatch) -> Result<String> {
    let cols = texts(t)?;
    let (Some(label), Some(removed), Some(remaining)) = (
        column(&cols, "label"),
        column(&cols, "removed"),
        column(&cols, "remaining"),
    ) else {
        return Err(Error::new("an attrition table without its columns"));
    };
    let (bw, bh, gap, side) = (300.0, 40.0, 22.0, 140.0);
    let h = label.len() as f64 * (bh + gap);
    let w = bw + 40.0 + side;
    let mut s = format!(
        "<svg role=\"img\" aria-label=\"attrition of {c}\" class=\"attrition\" width=\"{w}\" height=\"{h}\" viewBox=\"0 0 {w} {h}\">\n<defs><marker id=\"arrow-{c}\" markerWidth=\"8\" markerHeight=\"8\" refX=\"7\" refY=\"4\" orient=\"auto\"><path d=\"M0,0 L8,4 L0,8 z\" fill=\"#555\"/></marker></defs>\n",
        c = esc(cohort)
    );
    for (i, l) in label.iter().enumerate() {
        let y = i as f64 * (bh + gap);
        let _ = writeln!(
            s,
            "<rect class=\"box\" x=\"0\" y=\"{y}\" width=\"{bw}\" height=\"{bh}\" rx=\"4\"/><text x=\"8\" y=\"{}\" font-size=\"11\">{}</text><text x=\"8\" y=\"{}\" font-size=\"12\" font-weight=\"bold\">persons: {}</text>",
            y + 16.0,
            esc(&clip(l, 48)),
            y + 34.0,
            esc(&remaining[i])
        );
        if i > 0 {
            // The arrow from the step before, and what this step removed.
            let _ = writeln!(
                s,
                "<line x1=\"{x}\" y1=\"{}\" x2=\"{x}\" y2=\"{}\" stroke=\"#555\" marker-end=\"url(#arrow-{c})\"/>",
                y - gap,
                y - 1.0,
                x = bw / 2.0,
                c = esc(cohort)
            );
            let ym = y - gap / 2.0;
            let _ = writeln!(
                s,
                "<line x1=\"{}\" y1=\"{ym}\" x2=\"{}\" y2=\"{ym}\" stroke=\"#c62828\" marker-end=\"url(#arrow-{c})\"/><rect class=\"out\" x=\"{}\" y=\"{}\" width=\"{side}\" height=\"22\" rx=\"3\"/><text x=\"{}\" y=\"{}\" font-size=\"11\">removed: {}</text>",
                bw / 2.0,
                bw + 38.0,
                bw + 40.0,
                ym - 11.0,
                bw + 46.0,
                ym + 4.0,
                esc(&removed[i]),
                c = esc(cohort)
            );
        }
    }
    s.push_str("</svg>\n");
    Ok(s)
}

fn clip(s: &str, n: usize) -> String {
    if s.chars().count() <= n {
        s.to_string()
    } else {
        format!("{}…", s.chars().take(n - 1).collect::<String>())
    }
}

/// Ten-year age bands by sex of one cohort's Table 1 rows, as they may leave.
fn pyramid_counts(b: &RecordBatch) -> Result<BTreeMap<(i64, String), Shown>> {
    let age = b
        .column_by_name("age")
        .ok_or_else(|| Error::new("no age"))?;
    let age = cast(age, &DataType::Float64).map_err(|e| Error::context("age", e))?;
    let age = age
        .as_any()
        .downcast_ref::<Float64Array>()
        .ok_or_else(|| Error::new("age is not a number"))?;
    let sex = b
        .column_by_name("sex")
        .ok_or_else(|| Error::new("no sex"))?;
    let sex = cast(sex, &DataType::Utf8).map_err(|e| Error::context("sex", e))?;
    let sex = sex
        .as_any()
        .downcast_ref::<StringArray>()
        .ok_or_else(|| Error::new("sex is not text"))?;
    let who = table1::persons_of(b)?;
    let mut cells: BTreeMap<(i64, String), (u64, HashSet<&str>)> = BTreeMap::new();
    for (i, person) in who.iter().enumerate() {
        if age.is_null(i) || sex.is_null(i) {
            continue;
        }
        let band = ((age.value(i) / 10.0).floor() as i64 * 10).clamp(0, 90);
        let c = cells.entry((band, sex.value(i).to_string())).or_default();
        c.0 += 1;
        c.1.insert(person.as_str());
    }
    Ok(cells
        .into_iter()
        .map(|(k, (entries, persons))| {
            let p = disclosure::persons(persons.len() as u64, THRESHOLD);
            let s = if p.is_hidden() {
                Shown::Suppressed
            } else {
                disclosure::persons(entries, THRESHOLD)
            };
            (k, s)
        })
        .collect())
}

/// An age–sex pyramid: women to the left, men to the right, a band per row.
fn pyramid_svg(cohort: &str, cells: &BTreeMap<(i64, String), Shown>) -> String {
    let top = cells
        .values()
        .filter_map(|s| s.value())
        .max()
        .unwrap_or(0)
        .max(10) as f64;
    let (half, row, mid) = (150.0, 18.0, 40.0);
    let bands: Vec<i64> = (0..=9).rev().map(|b| b * 10).collect();
    let w = 2.0 * half + mid;
    let h = bands.len() as f64 * row + 20.0;
    let mut s = format!(
        "<svg role=\"img\" aria-label=\"age and sex of {c}\" class=\"pyramid\" width=\"{w}\" height=\"{h}\" viewBox=\"0 0 {w} {h}\">\n",
        c = esc(cohort)
    );
    for (i, band) in bands.iter().enumerate() {
        let y = i as f64 * row;
        let label = if *band == 90 {
            "90+".to_string()
        } else {
            format!("{band}–{}", band + 9)
        };
        let _ = writeln!(
            s,
            "<text x=\"{}\" y=\"{}\" font-size=\"10\" text-anchor=\"middle\">{label}</text>",
            half + mid / 2.0,
            y + 12.0
        );
        for (sex, left) in [("F", true), ("M", false)] {
            let Some(shown) = cells.get(&(*band, sex.to_string())) else {
                continue;
            };
            match shown.value() {
                Some(n) => {
                    let len = n as f64 / top * (half - 30.0);
                    let x = if left { half - len } else { half + mid };
                    let tx = if left { x - 3.0 } else { x + len + 3.0 };
                    let anchor = if left { "end" } else { "start" };
                    let _ = writeln!(
                        s,
                        "<rect class=\"{sex}\" x=\"{x:.1}\" y=\"{}\" width=\"{len:.1}\" height=\"{}\"><title>{label} {sex}: {n}</title></rect><text x=\"{tx:.1}\" y=\"{}\" font-size=\"9\" text-anchor=\"{anchor}\">{n}</text>",
                        y + 2.0,
                        row - 4.0,
                        y + 12.0
                    );
                }
                None => {
                    let x = if left { half - 14.0 } else { half + mid };
                    let _ = writeln!(
                        s,
                        "<rect class=\"hidden\" x=\"{x}\" y=\"{}\" width=\"14\" height=\"{}\"><title>{label} {sex}: fewer than 10 (suppressed)</title></rect>",
                        y + 2.0,
                        row - 4.0
                    );
                }
            }
        }
    }
    let _ = writeln!(
        s,
        "<text x=\"{}\" y=\"{}\" font-size=\"10\" text-anchor=\"middle\">women</text><text x=\"{}\" y=\"{}\" font-size=\"10\" text-anchor=\"middle\">men</text></svg>",
        half / 2.0,
        h - 4.0,
        half + mid + half / 2.0,
        h - 4.0
    );
    s
}

/// One outcome's incidence per row of a report, with its 95 % interval: a dot and a line
/// where the rate is shown; a dashed box where its counts are hidden.
fn incidence_svg(
    report: &str,
    outcome: &str,
    t: &RecordBatch,
    strata: &[String],
) -> Result<String> {
    let num = |suffix: &str| -> Option<Float64Array> {
        t.column_by_name(&format!("{outcome}{suffix}"))
            .and_then(|a| a.as_any().downcast_ref::<Float64Array>().cloned())
    };
    let (Some(rate), Some(lo), Some(hi)) = (num(RATE[0]), num(RATE[1]), num(RATE[2])) else {
        return Ok(String::new());
    };
    let cols = texts(t)?;
    let labels: Vec<String> = (0..t.num_rows())
        .map(|i| {
            strata
                .iter()
                .filter_map(|s| column(&cols, s).map(|v| v[i].clone()))
                .collect::<Vec<_>>()
                .join(" · ")
        })
        .collect();
    // The axis reaches the highest upper limit of a row with events (a row without any has
    // an upper limit that would flatten the others); longer intervals run off its end.
    let highest = |with_events: bool| {
        (0..t.num_rows())
            .filter(|&i| {
                hi.is_valid(i) && rate.is_valid(i) && (!with_events || rate.value(i) > 0.0)
            })
            .map(|i| hi.value(i))
            .fold(0.0f64, f64::max)
    };
    let top = match highest(true) {
        0.0 => highest(false),
        h => h,
    }
    .max(1.0);
    let (lw, pw, row) = (230.0, 380.0, 18.0);
    let w = lw + pw + 20.0;
    let h = t.num_rows() as f64 * row + 30.0;
    let mut s = format!(
        "<svg role=\"img\" aria-label=\"incidence of {o} in {r}\" class=\"incidence\" width=\"{w}\" height=\"{h}\" viewBox=\"0 0 {w} {h}\">\n",
        o = esc(outcome),
        r = esc(report)
    );
    let x = |v: f64| lw + v.min(top) / top * pw;
    for (i, label) in labels.iter().enumerate() {
        let y = i as f64 * row + 10.0;
        let _ = writeln!(
            s,
            "<text x=\"{}\" y=\"{}\" font-size=\"10\" text-anchor=\"end\">{}</text>",
            lw - 6.0,
            y + 4.0,
            esc(&clip(label, 40))
        );
        if rate.is_valid(i) && lo.is_valid(i) && hi.is_valid(i) {
            let _ = writeln!(
                s,
                "<line class=\"ci\" x1=\"{:.1}\" y1=\"{y}\" x2=\"{:.1}\" y2=\"{y}\"/><circle class=\"dot\" cx=\"{:.1}\" cy=\"{y}\" r=\"3.5\"><title>{}: {} per 1,000 person-years (95 % CI {}–{})</title></circle>",
                x(lo.value(i)),
                x(hi.value(i)),
                x(rate.value(i)),
                esc(label),
                rate.value(i),
                lo.value(i),
                hi.value(i)
            );
        } else {
            let _ = writeln!(
                s,
                "<rect class=\"hidden\" x=\"{lw}\" y=\"{}\" width=\"16\" height=\"10\"><title>{}: not shown (its counts are hidden)</title></rect>",
                y - 5.0,
                esc(label)
            );
        }
    }
    let base = h - 18.0;
    let _ = writeln!(
        s,
        "<line x1=\"{lw}\" y1=\"{base}\" x2=\"{}\" y2=\"{base}\" stroke=\"#999\"/><text x=\"{lw}\" y=\"{}\" font-size=\"9\">0</text><text x=\"{}\" y=\"{}\" font-size=\"9\" text-anchor=\"end\">{top:.0} per 1,000 person-years</text></svg>",
        lw + pw,
        base + 12.0,
        lw + pw,
        base + 12.0
    );
    Ok(s)
}

/// An HTML table of text rows, the first a header.
fn html_table(id: &str, lines: &[Vec<String>]) -> String {
    let mut s = format!("<table id=\"{id}\">\n");
    for (i, l) in lines.iter().enumerate() {
        let tag = if i == 0 { "th" } else { "td" };
        s.push_str("<tr>");
        for (j, c) in l.iter().enumerate() {
            // Figures to the right, words to the left.
            let figure = c
                .chars()
                .next()
                .is_some_and(|ch| ch.is_ascii_digit() || ch == '<' || ch == '-');
            let class = if j == 0 || !figure {
                " class=\"l\""
            } else {
                ""
            };
            let _ = write!(s, "<{tag}{class}>{}</{tag}>", esc(c));
        }
        s.push_str("</tr>\n");
    }
    s.push_str("</table>\n");
    s
}

/// The study report of a run: its compiled script, the plans' results, the files written
/// and the data coverage.
pub fn study_report(
    c: &Compiled,
    results: &Results,
    written: &[Written],
    coverage: &Coverage,
) -> Result<String> {
    let study = c.cir.study.clone().unwrap_or_else(|| "study".into());
    let mut out = String::new();
    out.push_str("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n");
    let _ = writeln!(out, "<title>{} — study report</title>", esc(&study));
    let _ = writeln!(out, "<style>{STYLE}</style>\n</head>\n<body>");
    let _ = writeln!(out, "<h1>{} — study report</h1>", esc(&study));
    out.push_str("<p class=\"note\">Counts of persons are shown as 0, rounded to the nearest 10, or as &lt;10 when they are 1&ndash;9; person-days are rounded to 100. A hidden count is drawn as a dashed outline with no length. Rates and intervals come from the published counts.</p>\n");

    // Attrition.
    out.push_str("<section id=\"attrition\">\n<h2>Cohorts: attrition</h2>\n");
    for o in &c.outputs {
        if let OutputKind::Attrition {
            cohort,
            labels,
            threshold,
        } = &o.kind
        {
            let t = tables::attrition_table(&batch(results, &o.plan)?, labels, *threshold)?;
            let _ = writeln!(
                out,
                "<figure data-cohort=\"{c}\">{}<figcaption>Cohort <b>{c}</b>: the persons entering, then those left after each step, and those each step removed.</figcaption></figure>",
                attrition_svg(cohort, &t)?,
                c = esc(cohort)
            );
        }
    }
    out.push_str("</section>\n");

    // The age–sex pyramid, from a Table 1 with `age` and `sex`.
    out.push_str("<section id=\"pyramid\">\n<h2>Age and sex at index</h2>\n");
    let with_age_sex = c.outputs.iter().find_map(|o| match &o.kind {
        OutputKind::Table1 {
            cohorts,
            plans,
            rows,
            ..
        } if rows
            .iter()
            .any(|r| r.name == "age" && r.summary == Summary::Continuous)
            && rows
                .iter()
                .any(|r| r.name == "sex" && r.summary == Summary::Categorical) =>
        {
            Some((cohorts, plans))
        }
        _ => None,
    });
    match with_age_sex {
        Some((cohorts, plans)) => {
            for (cohort, plan) in cohorts.iter().zip(plans) {
                let cells = pyramid_counts(&batch(results, plan)?)?;
                let _ = writeln!(
                    out,
                    "<figure data-cohort=\"{c}\">{}<figcaption>Cohort <b>{c}</b>: persons by ten-year age band at index and sex (sex unknown not drawn).</figcaption></figure>",
                    pyramid_svg(cohort, &cells),
                    c = esc(cohort)
                );
            }
        }
        None => out.push_str("<p class=\"note\">No Table 1 with <code>age</code> and <code>sex</code>: add <code>table1 a, b with age, sex</code> to the script to draw the cohorts' age and sex.</p>\n"),
    }
    out.push_str("</section>\n");

    // Incidence with intervals, from each written report.
    out.push_str("<section id=\"incidence\">\n<h2>Incidence</h2>\n");
    let mut drawn = 0;
    for o in &c.outputs {
        let OutputKind::Report {
            report,
            cohorts,
            outcomes,
            strata,
            counts,
            threshold,
            ..
        } = &o.kind
        else {
            continue;
        };
        if !written
            .iter()
            .any(|w| w.kind == "report" && &w.name == report)
        {
            let _ = writeln!(
                out,
                "<p class=\"note\">Report <b>{}</b> was withheld: its rows would describe individuals.</p>",
                esc(report)
            );
            continue;
        }
        let t = tables::report_table(
            &batch(results, &o.plan)?,
            strata,
            counts,
            *threshold,
            cohorts,
        )?;
        let by: Vec<String> = strata.iter().map(|s| s.column.clone()).collect();
        for outcome in outcomes {
            let svg = incidence_svg(report, outcome, &t, &by)?;
            if svg.is_empty() {
                continue;
            }
            drawn += 1;
            let _ = writeln!(
                out,
                "<figure data-report=\"{r}\">{svg}<figcaption>Report <b>{r}</b>: incidence of <b>{o}</b> per 1,000 person-years with its exact 95 % interval{}.</figcaption></figure>",
                if by.is_empty() {
                    String::new()
                } else {
                    format!(", by {}", esc(&by.join(", ")))
                },
                r = esc(report),
                o = esc(outcome)
            );
        }
    }
    if drawn == 0 {
        out.push_str("<p class=\"note\">No report of an outcome to draw.</p>\n");
    }
    out.push_str("</section>\n");

    // Table 1.
    out.push_str("<section id=\"table1\">\n<h2>Table 1: characteristics at index</h2>\n");
    let mut any = false;
    for o in &c.outputs {
        if let OutputKind::Table1 {
            table,
            cohorts,
            plans,
            rows,
            threshold,
        } = &o.kind
        {
            any = true;
            let t = table1::from_results(results, cohorts, plans, rows, *threshold)?;
            let _ = writeln!(out, "<h3>{}</h3>", esc(table));
            out.push_str(&html_table(
                &format!("table1-{}", esc(table)),
                &table1::wide(&t)?,
            ));
        }
    }
    if !any {
        out.push_str("<p class=\"note\">The script has no <code>table1</code>.</p>\n");
    }
    out.push_str("</section>\n");

    // Outcome definitions.
    out.push_str("<section id=\"outcomes\">\n<h2>Outcome definitions and their validation</h2>\n");
    let mut lines = vec![vec![
        "outcome".to_string(),
        "definition".to_string(),
        "validation".to_string(),
    ]];
    for o in &c.cir.outcomes {
        for (name, v) in &o.definitions {
            lines.push(vec![o.name.clone(), name.clone(), v.describe()]);
        }
    }
    out.push_str(&html_table("validation", &lines));
    out.push_str("</section>\n");

    // Coverage by hospital.
    out.push_str("<section id=\"coverage\">\n<h2>Data coverage by hospital</h2>\n<p class=\"note\">Rows of each table the script reads, at each hospital, and the rows each of its code sets and lab items matched (0, rounded to 10, or &lt;10).</p>\n");
    for (table, hospitals) in &coverage.tables {
        let sources: Vec<String> = hospitals
            .iter()
            .flat_map(|h| h.matched.keys().cloned())
            .collect::<std::collections::BTreeSet<_>>()
            .into_iter()
            .collect();
        let mut lines = vec![
            [
                "hospital".to_string(),
                "rows".to_string(),
                "without a standard code".to_string(),
            ]
            .into_iter()
            .chain(sources.iter().cloned())
            .collect::<Vec<_>>(),
        ];
        let shown = |n: i64| disclosure::persons(n.max(0) as u64, THRESHOLD).text(THRESHOLD);
        for h in hospitals {
            let mut l = vec![
                h.hospital.clone(),
                shown(h.rows),
                h.without_standard_code.map(shown).unwrap_or_default(),
            ];
            l.extend(
                sources
                    .iter()
                    .map(|s| h.matched.get(s).map(|n| shown(*n)).unwrap_or_default()),
            );
            lines.push(l);
        }
        let _ = writeln!(out, "<h3>{}</h3>", esc(table));
        out.push_str(&html_table(&format!("coverage-{}", esc(table)), &lines));
    }
    out.push_str("</section>\n");

    // The script and its cohort IR.
    let script = c.checked.sources.get(c.checked.file).text.clone();
    let _ = writeln!(
        out,
        "<section id=\"script\">\n<h2>The script</h2>\n<pre>{}</pre>\n<h2>Its cohort IR</h2>\n<pre>{}</pre>\n</section>",
        esc(script.trim_end()),
        esc(mid_compiler::cir::print(&c.cir).trim_end())
    );
    out.push_str("</body>\n</html>\n");
    Ok(out)
}
