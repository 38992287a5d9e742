//! Editor queries (stage: a checked script → answers for `mid lsp`): the name at a place and
//! the definition it means, what that is (hover), the script's symbols, and completions for
//! the place being typed. Pure: the language server turns them into protocol messages.

use std::ops::Range;

use mid_grammar::lexer::{Token, tokens};

use crate::Checked;
use crate::cdm::Table;
use crate::codes::System;
use crate::hir::{DefId, DefKind, Expr, ExprKind as H};
use crate::source::{stdlib, stdlib_declarations};

/// A name in the text: where it is and the module written before it (`labs.alt`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NameAt {
    pub name: String,
    pub span: Range<usize>,
    pub module: Option<String>,
}

/// The name at a byte offset (on it or just after it).
pub fn name_at(text: &str, offset: usize) -> Option<NameAt> {
    let toks: Vec<(Result<Token<'_>, ()>, Range<usize>)> = tokens(text).collect();
    let i = toks.iter().position(|(t, r)| {
        matches!(t, Ok(Token::Ident(_))) && r.start <= offset && offset <= r.end
    })?;
    let (Ok(Token::Ident(name)), span) = &toks[i] else {
        return None;
    };
    // `module.name`: an identifier and a dot before it.
    let module = match (
        i.checked_sub(2).map(|j| &toks[j]),
        toks.get(i.wrapping_sub(1)),
    ) {
        (Some((Ok(Token::Ident(m)), _)), Some((Ok(Token::Dot), _))) if i >= 2 => {
            Some((*m).to_string())
        }
        _ => None,
    };
    Some(NameAt {
        name: (*name).to_string(),
        span: span.clone(),
        module,
    })
}

/// The definition a name means: the script's own first, then the stdlib's it imports.
pub fn resolve(c: &Checked, n: &NameAt) -> Option<DefId> {
    let defs = c.hir.defs.iter().enumerate();
    let id = |i: usize| DefId(i as u32);
    if let Some(m) = &n.module {
        return defs
            .clone()
            .find(|(_, d)| d.name == n.name && d.module == *m)
            .map(|(i, _)| id(i));
    }
    defs.clone()
        .find(|(_, d)| d.name == n.name && d.file == c.file)
        .or_else(|| defs.clone().find(|(_, d)| d.name == n.name))
        .map(|(i, _)| id(i))
}

/// What a definition is, in Markdown: its type, its documentation and what it stands for
/// (a code set's codes, a lab item's unit and reference interval, an outcome's validation).
pub fn hover(c: &Checked, id: DefId) -> String {
    let d = c.hir.def(id);
    let mut out = format!("**{}**: `{}`", d.qualified(), d.ty);
    if !d.doc.is_empty() {
        out.push_str("\n\n");
        out.push_str(&d.doc.join("\n"));
    }
    match &d.kind {
        DefKind::Codes(e) => {
            let mut codes = Vec::new();
            code_list(&crate::check::expand::expand(&c.hir, e), false, &mut codes);
            let n = codes.len();
            let shown: Vec<String> = codes.into_iter().take(40).collect();
            out.push_str(&format!(
                "\n\n{n} code pattern(s): {}{}",
                shown.join(", "),
                if n > 40 { ", …" } else { "" }
            ));
        }
        DefKind::Lab(item) => {
            if let Some(t) = &item.title {
                out.push_str(&format!("\n\n{t}"));
            }
            match item.unit {
                Some(u) => out.push_str(&format!("\n\nunit: `{}`", u.name)),
                None => out.push_str("\n\nqualitative: (+)/(-) results, no unit"),
            }
            let units: Vec<String> = item.units.iter().map(|u| format!("`{}`", u.unit)).collect();
            if !units.is_empty() {
                out.push_str(&format!("; converted from {}", units.join(", ")));
            }
            let r = &item.reference;
            match (r.male, r.female) {
                (Some(m), Some(f)) if m == f => {
                    out.push_str(&format!("\n\nreference interval {}–{}", m.0, m.1));
                }
                (m, f) => {
                    if let Some(m) = m {
                        out.push_str(&format!("\n\nreference interval, men {}–{}", m.0, m.1));
                    }
                    if let Some(f) = f {
                        out.push_str(&format!("\n\nreference interval, women {}–{}", f.0, f.1));
                    }
                }
            }
            for m in &r.methods {
                out.push_str(&format!(
                    "\n\nreference interval by the {} method {}–{} (results up to {})",
                    m.method,
                    m.range.0,
                    m.range.1,
                    crate::dates::format(m.last_day)
                ));
            }
            if let Some(dv) = &item.derived {
                let f: Vec<&str> = dv
                    .factors
                    .iter()
                    .map(|x| c.hir.def(*x).name.as_str())
                    .collect();
                out.push_str(&format!("\n\ncomputed: {} × {}", f.join(" × "), dv.scale));
            }
            if let Some(s) = &item.source {
                out.push_str(&format!("\n\nsource: {s}"));
            }
        }
        DefKind::Value {
            validation: Some(v),
            ..
        } => {
            if let Ok(serde_json::Value::Object(m)) = serde_json::to_value(v.as_ref()) {
                out.push_str("\n\nvalidation:");
                for (k, v) in m {
                    if !v.is_null() && v != serde_json::Value::Bool(false) {
                        let v = v.as_str().map_or_else(|| v.to_string(), str::to_string);
                        out.push_str(&format!("\n- {k}: {v}"));
                    }
                }
            }
        }
        DefKind::Grading(g) => {
            if let Some(t) = &g.title {
                out.push_str(&format!("\n\n{t}"));
            }
            let items: Vec<&str> = g
                .tables
                .iter()
                .map(|t| c.hir.def(t.lab).name.as_str())
                .collect();
            out.push_str(&format!("\n\ngrades: {}", items.join(", ")));
        }
        _ => {}
    }
    out
}

/// The codes of an expanded code set, as written (`yj 2432001`); under `except`, prefixed.
fn code_list(e: &Expr, except: bool, out: &mut Vec<String>) {
    match &e.kind {
        H::Code {
            system, code, to, ..
        } => out.push(format!(
            "{}{} {code}{}",
            if except { "except " } else { "" },
            system.name(),
            to.as_ref().map(|t| format!("-{t}")).unwrap_or_default()
        )),
        H::CodeList(xs) => xs.iter().for_each(|x| code_list(x, except, out)),
        H::Union(a, b) => {
            code_list(a, except, out);
            code_list(b, except, out);
        }
        H::Difference(a, b) => {
            code_list(a, except, out);
            code_list(b, !except, out);
        }
        H::Inlined { body, .. } => code_list(body, except, out),
        _ => {}
    }
}

/// A declaration of the script, for the editor's outline.
#[derive(Debug, Clone, PartialEq)]
pub struct Symbol {
    pub name: String,
    /// `codes`, `lab`, `grading`, `cohort`, `template`, `outcome`, `define`.
    pub kind: &'static str,
    pub span: crate::source::FileId,
    pub at: Range<usize>,
}

/// The script's own declarations, in source order.
pub fn symbols(c: &Checked) -> Vec<Symbol> {
    c.hir
        .script_defs
        .iter()
        .map(|id| c.hir.def(*id))
        .filter(|d| d.file == c.file)
        .map(|d| Symbol {
            name: d.name.clone(),
            kind: kind_word(&d.kind),
            span: d.file,
            at: d.span.start..d.span.end,
        })
        .collect()
}

fn kind_word(k: &DefKind) -> &'static str {
    match k {
        DefKind::Codes(_) => "codes",
        DefKind::Lab(_) => "lab",
        DefKind::Grading(_) => "grading",
        DefKind::Cohort(_) => "cohort",
        DefKind::CohortTemplate(_) => "template",
        DefKind::Outcome(_) => "outcome",
        DefKind::Value { .. } | DefKind::Pending => "define",
    }
}

/// A completion for the place being typed.
#[derive(Debug, Clone, PartialEq)]
pub struct Completion {
    pub label: String,
    /// `keyword`, `name`, `module`, `column`, `value`, `unit`, `system`.
    pub kind: &'static str,
    pub detail: String,
    /// A stdlib name not imported yet: the line that imports it.
    pub import: Option<String>,
}

const KEYWORDS: &[&str] = &[
    "study",
    "import",
    "codes",
    "define",
    "cohort",
    "outcome",
    "export",
    "report",
    "table1",
    "index",
    "end",
    "require",
    "exclude",
    "era",
    "periods",
    "first",
    "last",
    "nth",
    "every",
    "no",
    "within",
    "before",
    "after",
    "between",
    "and",
    "or",
    "not",
    "days",
    "years",
    "on",
    "around",
    "same",
    "month",
    "year",
    "during",
    "having",
    "where",
    "observed",
    "overlapping",
    "at",
    "least",
    "most",
    "exactly",
    "age",
    "band",
    "by",
    "with",
    "of",
    "value",
    "grade",
    "count",
    "records",
    "from",
    "to",
    "in",
    "suppress",
    "below",
];

const BUILTINS: &[(&str, &str)] = &[
    ("sex", "the patient's sex: F, M or U"),
    ("hospital", "the hospital"),
    ("death", "the date of death (in-hospital deaths only)"),
    (
        "earliest",
        "earliest(a, b, …): the first of the dates that exist",
    ),
    (
        "latest",
        "latest(a, b, …): the last of the dates that exist",
    ),
    ("censoring", "export column: what ended follow-up"),
    (
        "index_drug",
        "export column: the code set that set the index",
    ),
];

/// Completions at `offset` of `text`; `c` is the last check of the text (its names).
pub fn completions(c: Option<&Checked>, text: &str, offset: usize) -> Vec<Completion> {
    let offset = offset.min(text.len());
    let line_start = text[..offset].rfind('\n').map_or(0, |i| i + 1);
    let before = &text[line_start..offset];
    let trimmed = before.trim_start();
    let item = |label: &str, kind: &'static str, detail: String| Completion {
        label: label.to_string(),
        kind,
        detail,
        import: None,
    };
    // `import labs.{` or `import labs.`: the module's names; `import `: the modules.
    if let Some(rest) = trimmed.strip_prefix("import ") {
        if let Some((module, _)) = rest.split_once('.') {
            return stdlib_declarations()
                .iter()
                .filter(|d| d.module == module.trim())
                .map(|d| item(&d.name, "name", format!("{} in {}", d.keyword, d.module)))
                .collect();
        }
        return stdlib()
            .iter()
            .map(|m| item(m.name, "module", "stdlib module".into()))
            .collect();
    }
    // `lab alt > 3 `: the units of the item's dimension.
    if let Some(name) = lab_before_number(before)
        && let Some(c) = c
        && let Some(id) = resolve(
            c,
            &NameAt {
                name: name.clone(),
                span: 0..0,
                module: None,
            },
        )
        && let DefKind::Lab(l) = &c.hir.def(id).kind
    {
        let mut out: Vec<Completion> = Vec::new();
        if let Some(u) = l.unit {
            out.push(item(u.name, "unit", format!("{name}'s unit")));
        }
        for conv in &l.units {
            if !out.iter().any(|x| x.label == conv.unit) {
                out.push(item(
                    &conv.unit,
                    "unit",
                    format!("converted into {name}'s unit"),
                ));
            }
        }
        for rel in ["x ULN", "x LLN"] {
            out.push(item(rel, "unit", "times the reference limit".into()));
        }
        return out;
    }
    // `drug x where `: the table's columns; `where setting = `: the column's values.
    if let Some((table, col)) = where_context(before) {
        return match col {
            Some(col) => table
                .column(&col)
                .and_then(|c| c.values)
                .unwrap_or_default()
                .iter()
                .map(|v| item(v, "value", format!("a value of {}.{col}", table.name())))
                .collect(),
            None => table
                .columns()
                .iter()
                .filter(|c| !["hospital_id", "patient_id"].contains(&c.name))
                .map(|c| item(c.name, "column", format!("a column of {}", table.name())))
                .collect(),
        };
    }
    let mut out: Vec<Completion> = Vec::new();
    let mut seen = std::collections::BTreeSet::new();
    if let Some(c) = c {
        // The script's own names, and the stdlib names its imports bring.
        let imported = imported(c);
        for d in &c.hir.defs {
            let in_scope = d.file == c.file
                || imported
                    .iter()
                    .any(|(m, n)| *m == d.module && n.as_ref().is_none_or(|n| *n == d.name));
            if in_scope && seen.insert(d.name.clone()) {
                let detail = if d.ty == crate::types::Type::Error {
                    kind_word(&d.kind).to_string()
                } else {
                    format!("{} {}", kind_word(&d.kind), d.ty)
                };
                out.push(item(&d.name, "name", detail));
            }
        }
    }
    for (name, what) in BUILTINS {
        if seen.insert((*name).to_string()) {
            out.push(item(name, "name", (*what).into()));
        }
    }
    for kw in KEYWORDS {
        out.push(item(kw, "keyword", "keyword".into()));
    }
    for s in System::ALL {
        out.push(item(s.name(), "system", "code system".into()));
    }
    // The stdlib's other names, each with the import that brings it.
    for d in stdlib_declarations() {
        if seen.insert(d.name.clone()) {
            out.push(Completion {
                import: Some(format!("import {}.{{{}}}", d.module, d.name)),
                ..item(
                    &d.name,
                    "name",
                    format!("{} in {} (adds the import)", d.keyword, d.module),
                )
            });
        }
    }
    out
}

/// What the script imports: (module, name), no name for `import m.*`.
fn imported(c: &Checked) -> Vec<(String, Option<String>)> {
    use mid_grammar::ast::{ImportNames, ItemKind};
    let mut out = Vec::new();
    for item in &c.ast.items {
        let ItemKind::Import(i) = &item.kind else {
            continue;
        };
        let path: Vec<&str> = i.path.iter().map(|p| p.name.as_str()).collect();
        match &i.names {
            ImportNames::Single if path.len() >= 2 => {
                out.push((
                    path[..path.len() - 1].join("."),
                    Some(path[path.len() - 1].into()),
                ));
            }
            ImportNames::List(names) => {
                for n in names {
                    out.push((path.join("."), Some(n.name.name.clone())));
                }
            }
            ImportNames::All => out.push((path.join("."), None)),
            ImportNames::Single => {}
        }
    }
    out
}

/// `… lab alt > 3 ` (a number just typed after a comparison of a lab item): the item.
fn lab_before_number(before: &str) -> Option<String> {
    let words: Vec<&str> = before.split_whitespace().collect();
    let n = words.len();
    // … lab NAME OP NUMBER (and the cursor after a space)
    if n >= 4 && before.ends_with(' ') {
        let (lab, name, op, num) = (words[n - 4], words[n - 3], words[n - 2], words[n - 1]);
        if lab == "lab"
            && ["<", "<=", ">", ">=", "=", "!="].contains(&op)
            && num.parse::<f64>().is_ok()
        {
            return Some(name.to_string());
        }
    }
    None
}

/// Inside `<domain> … where`: the domain's table, and the column when a value is asked for
/// (`where setting = `).
fn where_context(before: &str) -> Option<(Table, Option<String>)> {
    let at = before.rfind(" where ")?;
    let head = &before[..at];
    let table = ["diagnosis", "drug", "lab", "procedure", "visit"]
        .iter()
        .filter_map(|d| head.rfind(&format!("{d} ")).map(|i| (i, *d)))
        .max_by_key(|(i, _)| *i)
        .and_then(|(_, d)| Table::from_name(d))?;
    let tail = &before[at + " where ".len()..];
    let words: Vec<&str> = tail.split_whitespace().collect();
    match words.as_slice() {
        [] => Some((table, None)),
        [_col] if !tail.ends_with(' ') => Some((table, None)),
        [col, "="] | [col, "!="] | [col, "=", _] | [col, "!=", _] => {
            Some((table, Some((*col).to_string())))
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn checked(text: &str) -> Checked {
        crate::check_file("t.mid", text.as_bytes())
    }

    #[test]
    fn names_resolve_to_the_script_and_the_stdlib() {
        let text = "import labs.{alt}\ncodes x: drug = yj \"2432001\"\ncohort c { index = first drug x\n  exclude lab alt > 100 U/L before index }\n";
        let c = checked(text);
        assert!(!c.has_errors());
        let at = text.rfind("drug x").unwrap() + 5;
        let n = name_at(text, at).expect("a name");
        assert_eq!(n.name, "x");
        let d = c.hir.def(resolve(&c, &n).expect("x"));
        assert_eq!((d.file, d.name.as_str()), (c.file, "x"));
        let alt = name_at(text, text.rfind("alt").unwrap()).expect("alt");
        let id = resolve(&c, &alt).expect("alt");
        assert_eq!(c.hir.def(id).module, "labs");
        let h = hover(&c, id);
        assert!(
            h.contains("unit: `U/L`") && h.contains("reference interval"),
            "{h}"
        );
        let h = hover(&c, resolve(&c, &n).unwrap());
        assert!(h.contains("yj 2432001"), "{h}");
    }

    #[test]
    fn completions_follow_the_place() {
        let text = "import labs.{alt}\ncohort c { index = first drug x where ";
        let c = checked(text);
        let cols = completions(Some(&c), text, text.len());
        assert!(
            cols.iter()
                .any(|x| x.label == "setting" && x.kind == "column"),
            "{cols:?}"
        );
        let text2 = "cohort c { index = first drug x where setting = ";
        let vals = completions(None, text2, text2.len());
        assert!(vals.iter().any(|x| x.label == "outpatient"), "{vals:?}");
        // Units: from the last check of the whole script (the line being typed may not parse).
        let text3 = "import labs.{alt}\ncohort c { index = first lab alt > 3 U/L }\n";
        let c3 = checked(text3);
        assert!(!c3.has_errors());
        let at = text3.find("U/L").unwrap();
        let units = completions(Some(&c3), text3, at);
        assert!(
            units.iter().any(|x| x.label == "U/L" && x.kind == "unit"),
            "{units:?}"
        );
        assert!(units.iter().any(|x| x.label == "IU/L"), "{units:?}");
        // In scope: the script's names and the imported ones; the rest bring their import.
        let names = completions(Some(&c3), text3, text3.len());
        let alt = names.iter().find(|x| x.label == "alt").expect("alt");
        assert_eq!(alt.import, None);
        let ast = names.iter().find(|x| x.label == "ast").expect("ast");
        assert_eq!(ast.import.as_deref(), Some("import labs.{ast}"));
        let text4 = "import labs.";
        let names = completions(None, text4, text4.len());
        assert!(names.iter().any(|x| x.label == "alt"), "{names:?}");
        let all = completions(None, "", 0);
        let glucose = all.iter().find(|x| x.label == "glucose").expect("glucose");
        assert_eq!(glucose.import.as_deref(), Some("import labs.{glucose}"));
    }
}
