//! Expression helpers (stage: CIR → plans): columns, casts, comparisons, identifiers, and
//! the predicates of code sets and column filters.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use arrow_schema::DataType;
use datafusion_common::{Column, ScalarValue, TableReference};
use datafusion_expr::{Expr, LogicalPlan, cast, in_list, lit, not};
use datafusion_functions::expr_fn::{
    character_length, coalesce, ends_with, left, starts_with, substring,
};

use crate::cdm::ColumnType;
use crate::cir::{Cmp, Codes, Filter, Literal};
use crate::codes::System;

/// An aggregate used as a window function (`max(x) OVER (…)`): the builder's
/// `partition_by` only applies to window function expressions.
pub(super) fn window_agg(udaf: Arc<datafusion_expr::AggregateUDF>, arg: Expr) -> Expr {
    Expr::from(datafusion_expr::expr::WindowFunction::new(udaf, vec![arg]))
}

pub(super) fn c(name: &str) -> Expr {
    Expr::Column(Column::new_unqualified(name))
}

/// Join keys: the columns `names` of the relation `rel`.
pub(super) fn keys_of<S: AsRef<str>>(rel: &str, names: &[S]) -> Vec<Column> {
    names
        .iter()
        .map(|k| Column::new(Some(TableReference::bare(rel)), k.as_ref()))
        .collect()
}

pub(super) fn qc(rel: &str, name: &str) -> Expr {
    Expr::Column(Column::new(Some(TableReference::bare(rel)), name))
}

pub(super) fn day(e: Expr) -> Expr {
    cast(e, DataType::Int32)
}

pub(super) fn as_date(e: Expr) -> Expr {
    cast(e, DataType::Date32)
}

pub(super) fn null_f64() -> Expr {
    lit(ScalarValue::Float64(None))
}

pub(super) fn null_i64() -> Expr {
    lit(ScalarValue::Int64(None))
}

pub(super) fn null_i32() -> Expr {
    lit(ScalarValue::Int32(None))
}

/// `CASE WHEN w1 THEN t1 WHEN w2 THEN t2 … ELSE otherwise END`, the arms in order; no arm
/// is `otherwise` itself.
pub(super) fn case_when(
    arms: impl IntoIterator<Item = (Expr, Expr)>,
    otherwise: Expr,
) -> datafusion_common::Result<Expr> {
    let mut b: Option<datafusion_expr::conditional_expressions::CaseBuilder> = None;
    for (w, t) in arms {
        b = Some(match b {
            None => datafusion_expr::when(w, t),
            Some(mut b) => b.when(w, t),
        });
    }
    match b {
        Some(mut b) => b.otherwise(otherwise),
        None => Ok(otherwise),
    }
}

pub(super) fn cmp(a: Expr, op: Cmp, b: Expr) -> Expr {
    match op {
        Cmp::Eq => a.eq(b),
        Cmp::Ne => a.not_eq(b),
        Cmp::Lt => a.lt(b),
        Cmp::Le => a.lt_eq(b),
        Cmp::Gt => a.gt(b),
        Cmp::Ge => a.gt_eq(b),
    }
}

pub(super) fn and_all(exprs: Vec<Expr>) -> Expr {
    exprs
        .into_iter()
        .reduce(Expr::and)
        .unwrap_or_else(|| lit(true))
}

/// Any of `exprs`, as a balanced tree: a long `or` stays shallow for the optimiser's
/// recursion.
pub(super) fn or_balanced(mut exprs: Vec<Expr>) -> Expr {
    match exprs.len() {
        0 => lit(false),
        1 => exprs.remove(0),
        n => {
            let right = exprs.split_off(n / 2);
            or_balanced(exprs).or(or_balanced(right))
        }
    }
}

/// A readable identifier from any text: `drug (thiamazole or ptu)` → `drug_thiamazole_or_ptu`.
pub(super) fn ident(text: &str) -> String {
    let out = slug(text, 40);
    if out.is_empty() { "events".into() } else { out }
}

/// A readable identifier that is one text's own: `ident`, and when that cut the text short,
/// a hash of the whole text after it. A column computed once per context and found again
/// by its name (an event's date, a lab value) needs it: two queries that differ only after
/// the cut (`… in [index - 180 .. index - 1]` and `… in [index - 180 .. index]`) would
/// otherwise share one column, the second reading the first's dates.
pub(super) fn key_ident(text: &str) -> String {
    let short = ident(text);
    if slug(text, usize::MAX) == short {
        return short;
    }
    format!("{short}_{}", short_hash(text))
}

/// Eight hex digits of the text's SHA-256: a name part that is the same in every run.
pub(super) fn short_hash(text: &str) -> String {
    use sha2::Digest;
    let h = sha2::Sha256::digest(text.as_bytes());
    h.iter().take(4).map(|b| format!("{b:02x}")).collect()
}

/// `text` as a lower-case word of ASCII letters, digits and single `_`, cut at about `max`
/// characters; empty when `text` has no ASCII letter or digit.
pub(super) fn slug(text: &str, max: usize) -> String {
    let mut out = String::new();
    for ch in text.chars() {
        if ch.is_ascii_alphanumeric() {
            out.push(ch.to_ascii_lowercase());
        } else if !out.ends_with('_') && !out.is_empty() {
            out.push('_');
        }
        if out.len() >= max {
            break;
        }
    }
    out.trim_end_matches('_').to_string()
}

/// Dates used as window bounds (and calendar anchors) that must be computed as columns.
pub(super) fn column_names(plan: &LogicalPlan) -> Vec<String> {
    plan.schema()
        .fields()
        .iter()
        .map(|f| f.name().clone())
        .collect()
}

/// Re-qualifies the unqualified columns of an expression (for join conditions).
pub(super) trait Requalify {
    fn transform_columns(self, relation: &str) -> Expr;
}

impl Requalify for Expr {
    fn transform_columns(self, relation: &str) -> Expr {
        use datafusion_common::tree_node::{Transformed, TreeNode};
        self.transform(|e| match e {
            Expr::Column(col_) if col_.relation.is_none() => {
                Ok(Transformed::yes(qc(relation, &col_.name)))
            }
            other => Ok(Transformed::no(other)),
        })
        .map(|t| t.data)
        .unwrap_or_else(|_| lit(false))
    }
}

/// A code pattern (`_` stands for one character) as tests of slices of the column, never a
/// per-row regular expression: the literal start, the literal end, any literal run between,
/// and the length (a LIKE with `_` took 1.7 s per read of the 59 M-row lab table).
fn pattern_pred(colx: Expr, code: &str) -> Expr {
    let n = code.chars().count();
    let mut tests: Vec<Expr> = runs(code)
        .into_iter()
        .map(|(start, run)| run_test(&colx, start, run, n))
        .collect();
    tests.push(character_length(colx).eq(lit(n as i64)));
    tests
        .into_iter()
        .reduce(Expr::and)
        .unwrap_or_else(|| lit(true))
}

/// The test of one literal run of a pattern of `n` characters: its start, its end, or the
/// slice between.
fn run_test(colx: &Expr, start: usize, run: String, n: usize) -> Expr {
    let len = run.chars().count();
    if start == 0 {
        starts_with(colx.clone(), lit(run))
    } else if start + len == n {
        ends_with(colx.clone(), lit(run))
    } else {
        substring(colx.clone(), lit(start as i64 + 1), lit(len as i64)).eq(lit(run))
    }
}

/// A JLAC10 pattern that names an analyte and a specimen only (`3C015____023_____`): the
/// analyte and the specimen (characters 10–12), which the `analyte` and `specimen` columns
/// hold (the data checks hold them to the code).
fn specimen_pattern(code: &str) -> Option<(String, String)> {
    let r = runs(code);
    match r.as_slice() {
        [(0, a), (9, s)] if code.chars().count() == 17 && a.len() == 5 && s.len() == 3 => {
            Some((a.clone(), s.clone()))
        }
        _ => None,
    }
}

/// The literal runs of a pattern: (start, text), in order.
fn runs(code: &str) -> Vec<(usize, String)> {
    let chars: Vec<char> = code.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        if chars[i] == '_' {
            i += 1;
            continue;
        }
        let start = i;
        while i < chars.len() && chars[i] != '_' {
            i += 1;
        }
        out.push((start, chars[start..i].iter().collect()));
    }
    out
}

/// Tests of patterns (`_` = any character) of one column. A JLAC10 analyte on some
/// specimens tests the `analyte` and `specimen` columns, never the 17-character code
/// (reading it doubled a lab scan's time); the others are grouped (`grouped_patterns`).
fn patterns_test(column: &str, codes: &[&str]) -> Vec<Expr> {
    let mut tests = Vec::new();
    let mut rest = Vec::new();
    let mut by_analyte: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for code in codes {
        match specimen_pattern(code).filter(|_| column == "jlac10") {
            Some((a, s)) => by_analyte.entry(a).or_default().push(s),
            None => rest.push(*code),
        }
    }
    for (analyte, mut specimens) in by_analyte {
        specimens.sort();
        specimens.dedup();
        let s = if specimens.len() == 1 {
            c("specimen").eq(lit(specimens.remove(0)))
        } else {
            in_list(
                c("specimen"),
                specimens.into_iter().map(lit).collect(),
                false,
            )
        };
        tests.push(c("analyte").eq(lit(analyte)).and(s));
    }
    tests.extend(grouped_patterns(c(column), &rest));
    tests
}

/// Tests of patterns of one column, in their order: patterns of one shape (length and run
/// positions) that differ in one run only become one test with that run as an IN list;
/// the others their own `pattern_pred`.
fn grouped_patterns(colx: Expr, codes: &[&str]) -> Vec<Expr> {
    // Shape: length and (start, length) of each run.
    let shape = |code: &str| {
        (
            code.chars().count(),
            runs(code)
                .iter()
                .map(|(s, t)| (*s, t.chars().count()))
                .collect::<Vec<_>>(),
        )
    };
    let mut groups: Vec<(Vec<&str>, usize)> = Vec::new();
    'next: for code in codes {
        for (members, differing) in groups.iter_mut() {
            if shape(members[0]) != shape(code) {
                continue;
            }
            let (a, b) = (runs(members[0]), runs(code));
            let diff: Vec<usize> = (0..a.len()).filter(|&k| a[k].1 != b[k].1).collect();
            // Joins a group whose members differ in the same one run, or a lone pattern.
            let ok = match diff.as_slice() {
                [k] => members.len() == 1 || *differing == *k,
                [] => true,
                _ => false,
            };
            if ok {
                if let [k] = diff.as_slice() {
                    *differing = *k;
                }
                if !members.contains(code) {
                    members.push(code);
                }
                continue 'next;
            }
        }
        groups.push((vec![code], usize::MAX));
    }
    groups
        .into_iter()
        .map(|(members, differing)| {
            if members.len() == 1 {
                return pattern_pred(colx.clone(), members[0]);
            }
            let first = runs(members[0]);
            let (start, len) = (first[differing].0, first[differing].1.chars().count());
            let mut tests = Vec::new();
            let n = members[0].chars().count();
            for (k, (s, text)) in first.into_iter().enumerate() {
                if k == differing {
                    let mut list: Vec<String> =
                        members.iter().map(|m| runs(m)[k].1.clone()).collect();
                    list.sort();
                    tests.push(in_list(
                        substring(colx.clone(), lit(start as i64 + 1), lit(len as i64)),
                        list.into_iter().map(lit).collect(),
                        false,
                    ));
                } else {
                    tests.push(run_test(&colx, s, text, n));
                }
            }
            tests.push(character_length(colx.clone()).eq(lit(n as i64)));
            tests
                .into_iter()
                .reduce(Expr::and)
                .unwrap_or_else(|| lit(true))
        })
        .collect()
}

/// The predicate of a code set on its table's columns. JLAC10 codes that name their analyte
/// (the first 5 characters) are guarded by a test of the `analyte` column, which the Parquet
/// reader evaluates first and cheaply on every row, so the `jlac10` tests only see the rows
/// of those analytes (the data checks hold `analyte` to the start of `jlac10`).
pub(super) fn codes_pred(codes: &Codes) -> Expr {
    guarded(codes, codes_test(codes))
}

/// `test` (of the rows of `codes`) behind the analyte guard of `codes`, when it has JLAC10
/// codes and each of its codes names its analyte.
pub(super) fn guarded(codes: &Codes, test: Expr) -> Expr {
    let mut set = BTreeSet::new();
    if mentions_jlac10(codes) && analytes(codes, &mut set) && !leads_with_guard(&test) {
        analyte_in(set).and(test)
    } else {
        test
    }
}

/// Adds to `out` the analyte of every code of `codes`; false when one names none (a JLAC10
/// code whose first five characters are not all written, a range, another system).
fn analytes(codes: &Codes, out: &mut BTreeSet<String>) -> bool {
    match codes {
        Codes::Match {
            system: System::Analyte,
            code,
            to: None,
            ..
        } if code.chars().count() == 5 && !code.contains('_') => {
            out.insert(code.clone());
            true
        }
        Codes::Match {
            system: System::Jlac10,
            code,
            to: None,
            ..
        } => {
            let analyte: String = code.chars().take_while(|&ch| ch != '_').take(5).collect();
            let named = analyte.chars().count() == 5;
            if named {
                out.insert(analyte);
            }
            named
        }
        Codes::Any(cs) => cs.iter().all(|x| analytes(x, out)),
        Codes::Except(a, _) => analytes(a, out),
        Codes::Match { .. } => false,
    }
}

/// The analytes every row passing `e` has, when `e` is guarded by its analytes.
pub(super) fn analytes_passing(e: &Expr) -> Option<BTreeSet<String>> {
    guard_of(e).map(|(set, _)| set)
}

/// The analyte `e` tests for and nothing else (`analyte = x`), if it is such a test.
pub(super) fn analyte_alone(e: &Expr) -> Option<String> {
    match guard_of(e) {
        Some((set, true)) if set.len() == 1 => set.into_iter().next(),
        _ => None,
    }
}

/// `analyte = x`, or `analyte IN (…)` for several.
pub(super) fn analyte_in(set: BTreeSet<String>) -> Expr {
    let mut list: Vec<Expr> = set.into_iter().map(lit).collect();
    if list.len() == 1 {
        c("analyte").eq(list.remove(0))
    } else {
        in_list(c("analyte"), list, false)
    }
}

/// An `or` of code tests (a shared scan's, the lab items' of the unit coverage) behind one
/// analyte guard: the union of its members' guards, when every member is guarded or a test
/// of the analyte alone, and one is not the latter.
pub(super) fn analyte_guarded(test: Expr) -> Expr {
    match guard_of(&test) {
        Some((set, false)) if !leads_with_guard(&test) => analyte_in(set).and(test),
        _ => test,
    }
}

/// Whether `e` is an analyte test and more (`analyte = x AND …`): a guard of its own. A
/// second guard before it would be dropped by DataFusion's simplifier as a duplicate in a
/// way that puts the analyte test last in the Parquet row filter, so the specimen column
/// was decoded for every lab row.
fn leads_with_guard(e: &Expr) -> bool {
    use datafusion_expr::{BinaryExpr, Operator};
    matches!(e, Expr::BinaryExpr(BinaryExpr { left, op: Operator::And, .. })
        if matches!(guard_of(left), Some((_, true))))
}

/// The analytes every row passing `e` has and whether `e` tests the analyte alone:
/// `analyte = x` and `analyte IN (…)` (alone), a test behind one of them (`… AND …`), an OR
/// of such.
fn guard_of(e: &Expr) -> Option<(BTreeSet<String>, bool)> {
    use datafusion_expr::{BinaryExpr, Operator};
    let analyte = |e: &Expr| matches!(e, Expr::Column(col) if col.name == "analyte");
    let text = |e: &Expr| match e {
        Expr::Literal(ScalarValue::Utf8(Some(s)), _) if s.chars().count() == 5 => Some(s.clone()),
        _ => None,
    };
    match e {
        Expr::BinaryExpr(BinaryExpr { left, op, right }) => match op {
            Operator::Eq if analyte(left) => Some(([text(right)?].into(), true)),
            Operator::And => Some((guard_of(left).filter(|(_, alone)| *alone)?.0, false)),
            Operator::Or => {
                let (mut set, a) = guard_of(left)?;
                let (more, b) = guard_of(right)?;
                set.extend(more);
                Some((set, a && b))
            }
            _ => None,
        },
        Expr::InList(l) if !l.negated && analyte(&l.expr) => Some((
            l.list.iter().map(text).collect::<Option<BTreeSet<_>>>()?,
            true,
        )),
        _ => None,
    }
}

/// Whether a code set has JLAC10 codes.
fn mentions_jlac10(codes: &Codes) -> bool {
    match codes {
        Codes::Match { system, .. } => *system == System::Jlac10,
        Codes::Any(cs) => cs.iter().any(mentions_jlac10),
        Codes::Except(a, b) => mentions_jlac10(a) || mentions_jlac10(b),
    }
}

/// Every code whose first `len` characters lie between the bounds (of one length).
fn code_range(colx: Expr, from: &str, to: &str) -> Expr {
    let mut upper = to.to_string();
    let last = upper.pop().expect("codes are not empty");
    upper.push(char::from_u32(last as u32 + 1).unwrap_or(last));
    colx.clone()
        .gt_eq(lit(from.to_string()))
        .and(colx.lt(lit(upper)))
}

/// Up to how many prefixes of one length a test writes as a LIKE each. A LIKE of a prefix
/// compares the bytes a text view holds inline; `left(col, n) IN (…)` cuts a new string
/// from every row first. Measured on the 1 M-patient network (a count with the test pushed
/// into the Parquet scan): two ICD-10 prefixes over 14.7 M diagnosis rows 0.016 s as LIKEs
/// against 0.115 s as `left … IN`; over 6.3 M drug rows, 8 YJ prefixes 0.025 s against
/// 0.036 s, 16 prefixes 0.060 s against 0.042 s, 39 prefixes 0.165 s against 0.046 s.
pub(super) const LIKE_PREFIXES: usize = 8;

/// The test of text `col` starting with one of `prefixes` (each `len` characters long):
/// a LIKE each for a few, one `left(col, len) IN (…)` (a hash lookup) for more.
pub(super) fn prefix_test(col: Expr, len: usize, prefixes: Vec<String>) -> Expr {
    if prefixes.len() <= LIKE_PREFIXES {
        return prefixes
            .into_iter()
            .map(|p| col.clone().like(lit(format!("{p}%"))))
            .reduce(Expr::or)
            .unwrap_or_else(|| lit(false));
    }
    in_list(
        left(col, lit(len as i64)),
        prefixes.into_iter().map(lit).collect(),
        false,
    )
}

/// The prefix test `t` is, as (the column, the prefixes' length, the prefixes): a LIKE of
/// a plain prefix, or a `left(col, n) IN (…)` of text literals.
pub(super) fn prefixes_of(t: &Expr) -> Option<(Expr, usize, Vec<String>)> {
    match t {
        Expr::Like(datafusion_expr::Like {
            negated: false,
            expr,
            pattern,
            escape_char: None,
            case_insensitive: false,
        }) => {
            let Expr::Literal(ScalarValue::Utf8(Some(p)), _) = pattern.as_ref() else {
                return None;
            };
            let prefix = p.strip_suffix('%')?;
            if prefix.is_empty() || prefix.contains(['%', '_', '\\']) {
                return None;
            }
            Some((
                expr.as_ref().clone(),
                prefix.chars().count(),
                vec![prefix.to_string()],
            ))
        }
        Expr::InList(l) if !l.negated => {
            let Expr::ScalarFunction(f) = l.expr.as_ref() else {
                return None;
            };
            let [col, Expr::Literal(ScalarValue::Int64(Some(n)), _)] = f.args.as_slice() else {
                return None;
            };
            if f.name() != "left" {
                return None;
            }
            let prefixes = l
                .list
                .iter()
                .map(|v| match v {
                    Expr::Literal(ScalarValue::Utf8(Some(p)), _)
                        if p.chars().count() == *n as usize =>
                    {
                        Some(p.clone())
                    }
                    _ => None,
                })
                .collect::<Option<Vec<_>>>()?;
            Some((col.clone(), *n as usize, prefixes))
        }
        _ => None,
    }
}

/// The test of a code set, unguarded.
fn codes_test(codes: &Codes) -> Expr {
    match codes {
        Codes::Match {
            system,
            domain,
            code,
            to,
        } => {
            let Some((column, marker)) = system.column(*domain) else {
                return lit(false);
            };
            // A local code is its hospital's: `H03:Y10123` is Y10123 at H03, matched
            // exactly (local codes have no known structure to take prefixes of).
            if *system == System::Local
                && let Some((hospital, own)) = crate::codes::split_local(code)
            {
                let colx = c(column);
                let pred = match to.as_deref().and_then(crate::codes::split_local) {
                    Some((_, to)) => code_range(colx, own, to),
                    None => colx.eq(lit(own.to_string())),
                };
                let pred = c("hospital_id").eq(lit(hospital.to_string())).and(pred);
                return match marker {
                    Some(m) => c("code_system").eq(lit(m)).and(pred),
                    None => pred,
                };
            }
            let colx = c(column);
            let pred = match to {
                Some(to) => code_range(colx, code, to),
                None if code.contains('_') => patterns_test(column, &[code])
                    .into_iter()
                    .reduce(Expr::or)
                    .unwrap_or_else(|| lit(false)),
                None if is_complete(*system, code) => colx.eq(lit(code.clone())),
                None => colx.like(lit(format!("{code}%"))),
            };
            match marker {
                Some(m) => c("code_system").eq(lit(m)).and(pred),
                None => pred,
            }
        }
        Codes::Any(cs) => {
            // Complete codes of one column become one IN list.
            let mut exact: BTreeMap<(&'static str, Option<&'static str>), Vec<Expr>> =
                BTreeMap::new();
            // Prefixes of one length on one column, tested together (`prefix_test`).
            let mut prefixes: BTreeMap<(&'static str, Option<&'static str>, usize), Vec<String>> =
                BTreeMap::new();
            let mut others = Vec::new();
            // Patterns (`_` = any character) of one column, tested together
            // (`patterns_test`).
            let mut patterns: BTreeMap<(&'static str, Option<&'static str>), Vec<&str>> =
                BTreeMap::new();
            for x in cs {
                if let Codes::Match {
                    system,
                    domain,
                    code,
                    to: None,
                } = x
                    && *system != System::Local
                    && let Some(key) = system.column(*domain)
                {
                    if code.contains('_') {
                        patterns.entry(key).or_default().push(code);
                    } else if is_complete(*system, code) {
                        exact.entry(key).or_default().push(lit(code.clone()));
                    } else {
                        let len = code.chars().count();
                        prefixes
                            .entry((key.0, key.1, len))
                            .or_default()
                            .push(code.clone());
                    }
                    continue;
                }
                others.push(codes_test(x));
            }
            for ((column, marker), codes) in patterns {
                for p in patterns_test(column, &codes) {
                    others.push(match marker {
                        Some(m) => c("code_system").eq(lit(m)).and(p),
                        None => p,
                    });
                }
            }
            for ((column, marker, len), list) in prefixes {
                let p = prefix_test(c(column), len, list);
                others.push(match marker {
                    Some(m) => c("code_system").eq(lit(m)).and(p),
                    None => p,
                });
            }
            let mut preds = Vec::new();
            for ((column, marker), list) in exact {
                let p = if list.len() == 1 {
                    c(column).eq(list.into_iter().next().expect("one"))
                } else {
                    in_list(c(column), list, false)
                };
                preds.push(match marker {
                    Some(m) => c("code_system").eq(lit(m)).and(p),
                    None => p,
                });
            }
            preds.extend(others);
            preds
                .into_iter()
                .reduce(Expr::or)
                .unwrap_or_else(|| lit(false))
        }
        Codes::Except(a, b) => codes_test(a).and(not(coalesce(vec![codes_test(b), lit(false)]))),
    }
}

/// The column and the codes of a code set made only of complete codes of one column (no
/// prefixes, ranges, wildcards or exceptions).
pub(super) fn complete_codes(codes: &Codes) -> Option<(&'static str, Vec<String>)> {
    match codes {
        Codes::Match {
            system,
            domain,
            code,
            to: None,
        } if is_complete(*system, code) && !code.contains('_') => {
            let (column, marker) = system.column(*domain)?;
            marker.is_none().then(|| (column, vec![code.clone()]))
        }
        Codes::Any(cs) => {
            let mut column = None;
            let mut out = Vec::new();
            for x in cs {
                let (col, mut codes) = complete_codes(x)?;
                if *column.get_or_insert(col) != col {
                    return None;
                }
                out.append(&mut codes);
            }
            Some((column?, out))
        }
        _ => None,
    }
}

/// The distinct terms of an `or`, with the `IN` lists over one expression made one list:
/// (the merged lists, in the order their expressions first come; the other terms, in order).
pub(super) fn merged_terms<'a>(
    terms: impl IntoIterator<Item = &'a Expr>,
) -> (Vec<Expr>, Vec<Expr>) {
    let mut lists: Vec<(Expr, Vec<Expr>)> = Vec::new();
    let mut others: Vec<Expr> = Vec::new();
    for t in terms {
        match t {
            Expr::InList(l) if !l.negated => {
                let at = match lists.iter().position(|(e, _)| e == l.expr.as_ref()) {
                    Some(at) => at,
                    None => {
                        lists.push((l.expr.as_ref().clone(), Vec::new()));
                        lists.len() - 1
                    }
                };
                for v in &l.list {
                    if !lists[at].1.contains(v) {
                        lists[at].1.push(v.clone());
                    }
                }
            }
            other if !others.contains(other) => others.push(other.clone()),
            _ => {}
        }
    }
    let lists = lists
        .into_iter()
        .map(|(e, list)| in_list(e, list, false))
        .collect();
    (lists, others)
}

/// The terms of an `or` with the tests of one code column merged: its `IN` lists made one
/// list (`merged_terms`), and its prefixes of one length tested together (`prefix_test`),
/// whether written as LIKEs or as `left … IN` lists: (the merged tests, the other terms).
pub(super) fn grouped_terms<'a>(
    terms: impl IntoIterator<Item = &'a Expr>,
) -> (Vec<Expr>, Vec<Expr>) {
    let mut prefixes: Vec<((Expr, usize), Vec<String>)> = Vec::new();
    let mut rest = Vec::new();
    for t in terms {
        let Some((col, len, ps)) = prefixes_of(t) else {
            rest.push(t);
            continue;
        };
        let at = match prefixes.iter().position(|(k, _)| k.0 == col && k.1 == len) {
            Some(at) => at,
            None => {
                prefixes.push(((col, len), Vec::new()));
                prefixes.len() - 1
            }
        };
        for p in ps {
            if !prefixes[at].1.contains(&p) {
                prefixes[at].1.push(p);
            }
        }
    }
    let (mut lists, others) = merged_terms(rest);
    lists.extend(
        prefixes
            .into_iter()
            .map(|((col, len), ps)| prefix_test(col, len, ps)),
    );
    (lists, others)
}

/// The terms of an OR chain.
pub(super) fn disjuncts(e: &Expr) -> Vec<&Expr> {
    match e {
        Expr::BinaryExpr(b) if b.op == datafusion_expr::Operator::Or => {
            let mut out = disjuncts(&b.left);
            out.extend(disjuncts(&b.right));
            out
        }
        other => vec![other],
    }
}

/// A code of full length names one code, not a prefix.
pub(super) fn is_complete(system: System, code: &str) -> bool {
    matches!(
        (system, code.len()),
        (System::Yj, 12)
            | (System::Jlac10, 17)
            | (System::Analyte, 5)
            | (System::Hot9, 9)
            | (System::Receipt, 9)
            | (System::Medis, 8)
    )
}

pub(super) fn literal(l: &Literal, ty: ColumnType) -> Expr {
    match (l, ty) {
        (Literal::Text(t), _) => lit(t.clone()),
        (Literal::Int(n), ColumnType::Int32) => lit(*n as i32),
        (Literal::Int(n), _) => lit(*n),
        (Literal::Number(n), _) => lit(*n),
        (Literal::Bool(b), _) => lit(*b),
        (Literal::Date(d), _) => cast(lit(*d), DataType::Date32),
    }
}

pub(super) fn filter_pred(f: &Filter) -> Expr {
    match f {
        Filter::Column(col_) => c(col_.name),
        Filter::Compare { column, op, value } => {
            cmp(c(column.name), *op, literal(value, column.ty))
        }
        Filter::In {
            column,
            values,
            negated,
        } => in_list(
            c(column.name),
            values.iter().map(|v| literal(v, column.ty)).collect(),
            *negated,
        ),
        Filter::Not(x) => not(filter_pred(x)),
        Filter::And(a, b) => filter_pred(a).and(filter_pred(b)),
        Filter::Or(a, b) => filter_pred(a).or(filter_pred(b)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A few prefixes are a LIKE each; more are one `left … IN` list. Either way a test
    /// read back as prefixes (`grouped_terms`) is the same prefixes.
    #[test]
    fn a_few_prefixes_are_likes_and_more_one_list() {
        let codes = |n: usize| (0..n).map(|i| format!("21890{i:02}")).collect::<Vec<_>>();
        let few = prefix_test(c("yj_code"), 7, codes(LIKE_PREFIXES));
        assert_eq!(few.to_string().matches(" LIKE ").count(), LIKE_PREFIXES);
        assert!(!few.to_string().contains("left("));
        let many = prefix_test(c("yj_code"), 7, codes(LIKE_PREFIXES + 1));
        assert!(
            many.to_string().starts_with("left(yj_code, Int64(7)) IN"),
            "{many}"
        );
        for t in [few, many] {
            let parts = disjuncts(&t);
            let (merged, others) = grouped_terms(parts);
            assert!(others.is_empty());
            assert_eq!(merged, vec![t.clone()]);
        }
    }

    /// A pattern becomes its literal runs at their places and its length: a run at the
    /// start, one in the middle, one at the end.
    #[test]
    fn a_code_pattern_is_tested_by_slices() {
        insta::assert_snapshot!(
            pattern_pred(c("jlac10"), "2A_60__51").to_string(),
            @r#"starts_with(jlac10, Utf8("2A")) AND substr(jlac10, Int64(4), Int64(2)) = Utf8("60") AND ends_with(jlac10, Utf8("51")) AND character_length(jlac10) = Int64(9)"#
        );
        insta::assert_snapshot!(
            pattern_pred(c("jlac10"), "__x").to_string(),
            @r#"ends_with(jlac10, Utf8("x")) AND character_length(jlac10) = Int64(3)"#
        );
    }

    /// JLAC10 codes that name their analyte are guarded by it; analyte codes and codes too
    /// short to name one are not.
    #[test]
    fn jlac10_codes_are_guarded_by_their_analyte() {
        use crate::codes::CodeDomain;
        let m = |system, code: &str| Codes::Match {
            system,
            domain: CodeDomain::Lab,
            code: code.into(),
            to: None,
        };
        let blood = Codes::Any(vec![
            m(System::Analyte, "2A010"),
            m(System::Jlac10, "2A990__________52"),
            m(System::Jlac10, "2A160"),
        ]);
        insta::assert_snapshot!(
            codes_pred(&blood).to_string(),
            @r#"analyte IN ([Utf8("2A010"), Utf8("2A160"), Utf8("2A990")]) AND (analyte = Utf8("2A010") OR starts_with(jlac10, Utf8("2A990")) AND ends_with(jlac10, Utf8("52")) AND character_length(jlac10) = Int64(17) OR jlac10 LIKE Utf8("2A160%"))"#
        );
        insta::assert_snapshot!(
            codes_pred(&Codes::Any(vec![m(System::Analyte, "2A010"), m(System::Analyte, "2A020")])).to_string(),
            @r#"analyte IN ([Utf8("2A010"), Utf8("2A020")])"#
        );
        insta::assert_snapshot!(codes_pred(&m(System::Jlac10, "2A9")).to_string(), @r#"jlac10 LIKE Utf8("2A9%")"#);
    }

    /// An analyte on some specimens reads the `analyte` and `specimen` columns; other
    /// patterns that differ in one run are one IN test on that run; others keep their own
    /// tests.
    #[test]
    fn patterns_differing_in_one_run_are_one_test() {
        use crate::codes::CodeDomain;
        let m = |code: &str| Codes::Match {
            system: System::Jlac10,
            domain: CodeDomain::Lab,
            code: code.into(),
            to: None,
        };
        insta::assert_snapshot!(
            codes_pred(&Codes::Any(vec![
                m("3C015____023_____"),
                m("3C015____022_____"),
                m("2A990__________55"),
            ]))
            .to_string(),
            @r#"analyte IN ([Utf8("2A990"), Utf8("3C015")]) AND (analyte = Utf8("3C015") AND specimen IN ([Utf8("022"), Utf8("023")]) OR starts_with(jlac10, Utf8("2A990")) AND ends_with(jlac10, Utf8("55")) AND character_length(jlac10) = Int64(17))"#
        );
        insta::assert_snapshot!(
            codes_pred(&Codes::Any(vec![m("5F0161410023_____"), m("5F0161410022_____")]))
                .to_string(),
            @r#"analyte = Utf8("5F016") AND substr(jlac10, Int64(1), Int64(12)) IN ([Utf8("5F0161410022"), Utf8("5F0161410023")]) AND character_length(jlac10) = Int64(17)"#
        );
    }

    /// A local code is its hospital's, matched exactly, never grouped with another
    /// hospital's into one list.
    #[test]
    fn local_codes_test_their_hospital() {
        use crate::codes::CodeDomain;
        let m = |code: &str, to: Option<&str>| Codes::Match {
            system: System::Local,
            domain: CodeDomain::Drug,
            code: code.into(),
            to: to.map(Into::into),
        };
        insta::assert_snapshot!(
            codes_pred(&Codes::Any(vec![m("H01:Y9", None), m("H02:Y9", None)])).to_string(),
            @r#"hospital_id = Utf8("H01") AND local_code = Utf8("Y9") OR hospital_id = Utf8("H02") AND local_code = Utf8("Y9")"#
        );
        insta::assert_snapshot!(
            codes_pred(&m("H01:Y100", Some("H01:Y199"))).to_string(),
            @r#"hospital_id = Utf8("H01") AND local_code >= Utf8("Y100") AND local_code < Utf8("Y19:")"#
        );
    }
}
