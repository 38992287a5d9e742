//! Semantic diff of two programs (stage: CIR × CIR → changes): what a reviewer needs to see
//! when a script changes. Cohorts, outcomes and reports are aligned by name, steps by their
//! label, exports by their cohort; a changed step, entry, era or outcome also lists the codes
//! its code sets gained and lost (expanded: definitions and the stdlib are inlined in the
//! CIR). The texts are the cohort IR's own (`cir::print`), so a diff reads like `--emit cir`.

use std::collections::BTreeSet;
use std::fmt::Write;

use serde::Serialize;

use crate::cir::visit::Visitor;
use crate::cir::{self, Cohort, Program};

/// One difference between two programs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Change {
    /// `study`, `cohort`, `entry`, `era`, `step`, `end`, `periods`, `outcome`, `export` or
    /// `report`.
    pub what: &'static str,
    /// `added`, `removed`, `changed` or `moved`.
    pub change: &'static str,
    /// The cohort a cohort part belongs to (or an export's cohort).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cohort: Option<String>,
    /// A step's label, an era's, outcome's or report's name, an export column's name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub old: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub new: Option<String>,
    /// A step's position (from 1) before and after.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub old_position: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub new_position: Option<usize>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub codes_added: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub codes_removed: Vec<String>,
}

impl Change {
    fn new(what: &'static str, change: &'static str) -> Change {
        Change {
            what,
            change,
            cohort: None,
            name: None,
            old: None,
            new: None,
            old_position: None,
            new_position: None,
            codes_added: Vec::new(),
            codes_removed: Vec::new(),
        }
    }

    fn cohort(mut self, c: &str) -> Change {
        self.cohort = Some(c.to_string());
        self
    }

    fn name(mut self, n: &str) -> Change {
        self.name = Some(n.to_string());
        self
    }

    fn texts(mut self, old: Option<String>, new: Option<String>) -> Change {
        self.old = old;
        self.new = new;
        self
    }

    /// The codes `new` has and `old` has not, and the other way round.
    fn codes(mut self, old: BTreeSet<String>, new: BTreeSet<String>) -> Change {
        self.codes_added = new.difference(&old).cloned().collect();
        self.codes_removed = old.difference(&new).cloned().collect();
        self
    }
}

/// Every difference from `old` to `new`, in the order of `new`'s program (removals where the
/// removed part stood).
pub fn diff(old: &Program, new: &Program) -> Vec<Change> {
    let mut out = Vec::new();
    if old.study != new.study {
        out.push(Change::new("study", "changed").texts(old.study.clone(), new.study.clone()));
    }
    for (o, n) in pairs(&old.cohorts, &new.cohorts, |c| c.name.clone()) {
        match (o, n) {
            (Some(o), Some(n)) => cohort(o, n, &mut out),
            (Some(o), None) => out.push(
                Change::new("cohort", "removed")
                    .name(&o.name)
                    .texts(Some(cohort_text(o)), None),
            ),
            (None, Some(n)) => out.push(
                Change::new("cohort", "added")
                    .name(&n.name)
                    .texts(None, Some(cohort_text(n))),
            ),
            (None, None) => {}
        }
    }
    for (o, n) in pairs(&old.outcomes, &new.outcomes, |o| o.name.clone()) {
        let text = |o: &cir::Outcome| {
            let mut lines = vec![format!("in {}: {}", o.cohorts.join(", "), cir::outcome(o))];
            lines.extend(cir::outcome_definitions(o));
            lines.join("\n")
        };
        let codes = |o: Option<&cir::Outcome>| {
            let mut c = Codes::default();
            if let Some(o) = o {
                c.events(&o.events);
            }
            c.0
        };
        if let Some(c) = changed("outcome", o.map(text), n.map(text)) {
            let name = o.or(n).map(|x| x.name.as_str()).unwrap_or_default();
            out.push(c.name(name).codes(codes(o), codes(n)));
        }
    }
    for (o, n) in pairs(&old.exports, &new.exports, |e| e.cohort.clone()) {
        let cohort = o.or(n).map(|e| e.cohort.as_str()).unwrap_or_default();
        let columns = |e: Option<&cir::Export>| match e {
            Some(e) => {
                let rows = if e.by_period {
                    "one per entry and period"
                } else {
                    "one per entry"
                };
                std::iter::once(("(rows)".to_string(), rows.to_string()))
                    .chain(
                        e.columns
                            .iter()
                            .map(|(n, _)| n)
                            .chain(e.tested.iter().map(|(n, _)| n))
                            .zip(cir::export_columns(e))
                            .map(|(name, text)| (name.clone(), text)),
                    )
                    .collect()
            }
            None => Vec::new(),
        };
        match (o, n) {
            (Some(_), Some(_)) => {
                for (a, b) in pairs(&columns(o), &columns(n), |c| c.0.clone()) {
                    let name = a.or(b).map(|c| c.0.as_str()).unwrap_or_default();
                    if let Some(c) =
                        changed("export", a.map(|c| c.1.clone()), b.map(|c| c.1.clone()))
                    {
                        out.push(c.cohort(cohort).name(name));
                    }
                }
            }
            _ => {
                let text = |e: Option<&cir::Export>| e.map(|e| cir::export_columns(e).join(", "));
                if let Some(c) = changed("export", text(o), text(n)) {
                    out.push(c.cohort(cohort));
                }
            }
        }
    }
    for (o, n) in pairs(&old.reports, &new.reports, |r| r.name.clone()) {
        if let Some(c) = changed("report", o.map(cir::report), n.map(cir::report)) {
            let name = o.or(n).map(|r| r.name.as_str()).unwrap_or_default();
            out.push(c.name(name));
        }
    }
    for (o, n) in pairs(&old.table1s, &new.table1s, |t| t.name.clone()) {
        if let Some(c) = changed("table1", o.map(cir::table1), n.map(cir::table1)) {
            let name = o.or(n).map(|t| t.name.as_str()).unwrap_or_default();
            out.push(c.name(name));
        }
    }
    out
}

/// The differences of one cohort present in both programs.
fn cohort(o: &Cohort, n: &Cohort, out: &mut Vec<Change>) {
    let name = n.name.as_str();
    let codes_of = |f: &dyn Fn(&mut Codes)| {
        let mut c = Codes::default();
        f(&mut c);
        c.0
    };
    if let Some(c) = changed("entry", Some(cir::entry(o)), Some(cir::entry(n))) {
        out.push(c.cohort(name).codes(
            codes_of(&|c| c.events(&o.entry.events)),
            codes_of(&|c| c.events(&n.entry.events)),
        ));
    }
    for (a, b) in pairs(&o.eras, &n.eras, |e| e.name.clone()) {
        if let Some(c) = changed("era", a.map(cir::era), b.map(cir::era)) {
            let era = a.or(b).map(|e| e.name.as_str()).unwrap_or_default();
            out.push(c.cohort(name).name(era).codes(
                codes_of(&|c| a.iter().for_each(|e| c.events(&e.events))),
                codes_of(&|c| b.iter().for_each(|e| c.events(&e.events))),
            ));
        }
    }
    // Steps by label (the k-th step of a label with the k-th of the same label).
    let keys = |steps: &[cir::Step]| numbered(steps.iter().map(|s| s.label.clone()));
    let (ko, kn) = (keys(&o.steps), keys(&n.steps));
    let common_old: Vec<&(String, usize)> = ko.iter().filter(|k| kn.contains(k)).collect();
    let common_new: Vec<&(String, usize)> = kn.iter().filter(|k| ko.contains(k)).collect();
    // Steps outside the longest common order of both are the ones that moved.
    let kept = longest_common(&common_old, &common_new);
    for (j, key) in kn.iter().enumerate() {
        let s = &n.steps[j];
        match ko.iter().position(|k| k == key) {
            None => out.push(Change {
                new_position: Some(j + 1),
                ..Change::new("step", "added")
                    .cohort(name)
                    .name(&s.label)
                    .texts(None, Some(cir::step(s)))
                    .codes(BTreeSet::new(), codes_of(&|c| c.cond(&s.cond)))
            }),
            Some(i) => {
                let p = &o.steps[i];
                let (a, b) = (cir::step(p), cir::step(s));
                if a != b {
                    out.push(Change {
                        old_position: Some(i + 1),
                        new_position: Some(j + 1),
                        ..Change::new("step", "changed")
                            .cohort(name)
                            .name(&s.label)
                            .texts(Some(a), Some(b))
                            .codes(
                                codes_of(&|c| c.cond(&p.cond)),
                                codes_of(&|c| c.cond(&s.cond)),
                            )
                    });
                } else if !kept.contains(&key) {
                    out.push(Change {
                        old_position: Some(i + 1),
                        new_position: Some(j + 1),
                        ..Change::new("step", "moved").cohort(name).name(&s.label)
                    });
                }
            }
        }
    }
    for (i, key) in ko.iter().enumerate() {
        if !kn.contains(key) {
            let s = &o.steps[i];
            out.push(Change {
                old_position: Some(i + 1),
                ..Change::new("step", "removed")
                    .cohort(name)
                    .name(&s.label)
                    .texts(Some(cir::step(s)), None)
                    .codes(codes_of(&|c| c.cond(&s.cond)), BTreeSet::new())
            });
        }
    }
    if let Some(c) = changed("end", Some(cir::date(&o.end)), Some(cir::date(&n.end))) {
        out.push(c.cohort(name));
    }
    let periods = |c: &Cohort| c.periods.as_ref().map(cir::periods);
    if let Some(c) = changed("periods", periods(o), periods(n)) {
        out.push(c.cohort(name));
    }
}

/// A change of one part, or none when both texts are the same.
fn changed(what: &'static str, old: Option<String>, new: Option<String>) -> Option<Change> {
    let change = match (&old, &new) {
        (Some(a), Some(b)) if a == b => return None,
        (Some(_), Some(_)) => "changed",
        (Some(_), None) => "removed",
        (None, Some(_)) => "added",
        (None, None) => return None,
    };
    Some(Change::new(what, change).texts(old, new))
}

/// Both lists aligned by key: the new list's order, each removed element after the one that
/// preceded it in the old list. The k-th element of a key pairs with the k-th of the other.
fn pairs<'a, T, K: PartialEq>(
    old: &'a [T],
    new: &'a [T],
    key: impl Fn(&T) -> K,
) -> Vec<(Option<&'a T>, Option<&'a T>)> {
    let keyed = |xs: &'a [T]| -> Vec<(K, usize, &'a T)> {
        numbered(xs.iter().map(&key))
            .into_iter()
            .zip(xs)
            .map(|((k, n), x)| (k, n, x))
            .collect()
    };
    let (ko, kn) = (keyed(old), keyed(new));
    let find = |ks: &[(K, usize, &'a T)], k: &K, n: usize| {
        ks.iter()
            .find(|(q, m, _)| q == k && *m == n)
            .map(|(_, _, x)| *x)
    };
    let mut out = Vec::new();
    for (k, n, x) in &kn {
        out.push((find(&ko, k, *n), Some(*x)));
    }
    for (k, n, x) in &ko {
        if find(&kn, k, *n).is_none() {
            out.push((Some(*x), None));
        }
    }
    out
}

/// Each key with how many equal keys came before it: the k-th step of a label pairs with
/// the k-th of the same label.
fn numbered<K: PartialEq>(keys: impl Iterator<Item = K>) -> Vec<(K, usize)> {
    let mut out: Vec<(K, usize)> = Vec::new();
    for k in keys {
        let n = out.iter().filter(|(q, _)| *q == k).count();
        out.push((k, n));
    }
    out
}

/// The elements of a longest common subsequence of `a` and `b`.
fn longest_common<T: PartialEq + Copy>(a: &[T], b: &[T]) -> Vec<T> {
    let (n, m) = (a.len(), b.len());
    let mut len = vec![vec![0usize; m + 1]; n + 1];
    for i in (0..n).rev() {
        for j in (0..m).rev() {
            len[i][j] = if a[i] == b[j] {
                len[i + 1][j + 1] + 1
            } else {
                len[i + 1][j].max(len[i][j + 1])
            };
        }
    }
    let (mut i, mut j, mut out) = (0, 0, Vec::new());
    while i < n && j < m {
        if a[i] == b[j] {
            out.push(a[i]);
            i += 1;
            j += 1;
        } else if len[i + 1][j] >= len[i][j + 1] {
            i += 1;
        } else {
            j += 1;
        }
    }
    out
}

/// A whole cohort as the cohort IR prints it, without the `cohort` line.
fn cohort_text(c: &Cohort) -> String {
    let text = cir::print(&Program {
        cohorts: vec![c.clone()],
        ..Default::default()
    });
    text.lines()
        .filter(|l| !l.is_empty() && !l.starts_with("cohort "))
        .map(str::trim)
        .collect::<Vec<_>>()
        .join("\n")
}

/// The codes a part of the CIR tests, each as the cohort IR prints it (`yj "2432001"`, lab
/// items' codes too).
#[derive(Default)]
struct Codes(BTreeSet<String>);

impl Codes {
    fn codes(&mut self, c: &cir::Codes) {
        match c {
            cir::Codes::Match { .. } => {
                self.0.insert(cir::codes(c));
            }
            cir::Codes::Any(cs) => cs.iter().for_each(|c| self.codes(c)),
            // What is taken away is still a code the part names.
            cir::Codes::Except(a, b) => {
                self.codes(a);
                self.codes(b);
            }
        }
    }

    fn lab(&mut self, l: &cir::LabSpec) {
        if let Some(c) = &l.codes {
            self.codes(c);
        }
        if let Some((factors, _)) = &l.derived {
            factors.iter().for_each(|f| self.lab(f));
        }
    }
}

impl Visitor for Codes {
    fn source(&mut self, s: &cir::Source) {
        if let Some(c) = &s.codes {
            self.codes(c);
        }
        if let Some(l) = &s.lab {
            self.lab(l);
        }
    }
}

/// The changes for people: one block per cohort, then outcomes, exports and reports; a last
/// line counts them.
pub fn text(changes: &[Change]) -> String {
    let mut out = String::new();
    if changes.is_empty() {
        out.push_str("no differences\n");
        return out;
    }
    let mut current: Option<&str> = None;
    for c in changes {
        let cohort = c.cohort.as_deref().filter(|_| c.what != "export");
        if cohort != current {
            if let Some(name) = cohort {
                let _ = writeln!(out, "cohort {name}");
            }
            current = cohort;
        }
        let indent = if cohort.is_some() { "  " } else { "" };
        let mut head = match (c.what, &c.name) {
            ("step", Some(label)) => format!("step ({label})"),
            ("export", _) => match (&c.cohort, &c.name) {
                (Some(co), Some(col)) => format!("export {co}, column {col}"),
                (Some(co), None) => format!("export {co}"),
                _ => "export".into(),
            },
            (what, Some(n)) => format!("{what} {n}"),
            (what, None) => what.to_string(),
        };
        let position = match (c.change, c.old_position, c.new_position) {
            ("moved", Some(a), Some(b)) => format!(": moved from step {a} to step {b}"),
            ("added", _, Some(b)) => format!(": added as step {b}"),
            ("removed", Some(a), _) => format!(": removed (was step {a})"),
            ("changed", Some(a), Some(b)) if a != b => {
                format!(": changed (step {a}, now step {b})")
            }
            (change, _, _) => format!(": {change}"),
        };
        head.push_str(&position);
        let _ = writeln!(out, "{indent}{head}");
        for (sign, text) in [("-", &c.old), ("+", &c.new)] {
            if let Some(t) = text {
                for line in t.lines() {
                    let _ = writeln!(out, "{indent}  {sign} {line}");
                }
            }
        }
        if !c.codes_added.is_empty() || !c.codes_removed.is_empty() {
            let mut parts = Vec::new();
            if !c.codes_added.is_empty() {
                parts.push(format!("added {}", c.codes_added.join(", ")));
            }
            if !c.codes_removed.is_empty() {
                parts.push(format!("removed {}", c.codes_removed.join(", ")));
            }
            let _ = writeln!(out, "{indent}  codes {}", parts.join("; "));
        }
    }
    let _ = writeln!(
        out,
        "{} difference{}",
        changes.len(),
        if changes.len() == 1 { "" } else { "s" }
    );
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn program(src: &str) -> Program {
        match crate::compile_file("test.mid", src.as_bytes(), &Default::default()) {
            Ok(c) => c.cir,
            Err(_) => panic!("the script compiles"),
        }
    }

    const BASE: &str = r#"codes x: drug = yj "2432001"
codes y: drug = yj "2432002"
codes g: diagnosis = icd10 "E05"
cohort c {
  index = first drug x
  require "seen" observed 180 days before index
  exclude "prior" drug (x or y) within 180 days before index
  require "graves" diagnosis g within 30 days around index
}
outcome o in c = first diagnosis g after index
report c with o by sex
"#;

    #[test]
    fn the_same_program_has_no_differences() {
        let p = program(BASE);
        assert!(diff(&p, &p).is_empty());
        assert_eq!(text(&[]), "no differences\n");
    }

    #[test]
    fn an_added_step_a_changed_window_and_codes() {
        let new = BASE
            .replace(
                "  require \"graves\"",
                "  require \"adult\" age at index >= 18\n  require \"graves\"",
            )
            .replace(
                "drug (x or y) within 180 days",
                "drug (x or icd_y) overlapping 365 days",
            )
            .replace(
                "codes y: drug",
                "codes icd_y: drug = yj \"2432003\"\ncodes y: drug",
            );
        insta::assert_snapshot!(text(&diff(&program(BASE), &program(&new))), @r#"
        cohort c
          step (exclude "prior"): changed
            - exclude if some drug[(yj "2432001" or yj "2432002")] in [index - 180 .. index - 1]
            + exclude if some drug[(yj "2432001" or yj "2432003")] overlapping [index - 365 .. index - 1]
            codes added yj "2432003"; removed yj "2432002"
          step (require "adult"): added as step 3
            + age at index >= 18
        2 differences
        "#);
    }

    #[test]
    fn a_moved_and_a_removed_step_an_end_and_outputs() {
        let new = r#"codes x: drug = yj "2432001"
codes y: drug = yj "2432002"
codes g: diagnosis = icd10 "E05"
cohort c {
  index = first drug x
  require "graves" diagnosis g within 30 days around index
  require "seen" observed 180 days before index
  end = index + 90 days
}
outcome o in c = first diagnosis g after index
outcome p in c = first drug y after index
report c with o by sex, age band 10 years
"#;
        let changes = diff(&program(BASE), &program(new));
        insta::assert_snapshot!(text(&changes), @r#"
        cohort c
          step (require "seen"): moved from step 1 to step 2
          step (exclude "prior"): removed (was step 2)
            - exclude if some drug[(yj "2432001" or yj "2432002")] in [index - 180 .. index - 1]
            codes removed yj "2432001", yj "2432002"
          end: changed
            - earliest(end of observation, death)
            + earliest(index + 90, end of observation, death)
        outcome p: added
          + in c: first of drug[yj "2432002"] in [index + 1 ..)
          + its own definition: study-specific, not validated
          codes added yj "2432002"
        report c_with_o: changed
          - cohorts [c] outcomes [o] by [sex], counts below 10 suppressed
          + cohorts [c] outcomes [o] by [sex, age band 10 years], counts below 10 suppressed
        5 differences
        "#);
        let json = serde_json::to_string(&changes[0]).expect("json");
        assert_eq!(
            json,
            r#"{"what":"step","change":"moved","cohort":"c","name":"require \"seen\"","old_position":1,"new_position":2}"#
        );
    }
}
