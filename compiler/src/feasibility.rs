//! Feasibility requests (stage: items → script → plans; 集計情報): the items a researcher
//! asks about — stdlib drug code sets, conditions and lab items, or code prefixes — are read
//! from an items file (or the standard catalogue), each checked against the stdlib with a
//! did-you-mean; they become a script of one cohort per item (`index = every …`) that the
//! ordinary front end checks and lowers, and then the feasibility plans
//! (`codegen::feasibility`).

use mid_grammar::ast::Span;

use crate::codegen::feasibility::{Calendar, Item, ItemKind, Request, feasibility_plans};
use crate::diag::{Code, Diagnostic, Label};
use crate::source::SourceMap;
use crate::{CompileError, CompileOptions, Compiled, NamedPlan};

/// The 28 lab items MID-NET names as examples of what it holds (`../shared/domain.md`).
pub const MIDNET_LABS: [&str; 28] = [
    "rbc",
    "wbc",
    "hemoglobin",
    "hematocrit",
    "platelets",
    "pt_activity",
    "pt_inr",
    "albumin",
    "ck",
    "ast",
    "alt",
    "ldh",
    "alp",
    "ggt",
    "creatinine",
    "bun",
    "glucose",
    "hba1c",
    "triglycerides",
    "total_cholesterol",
    "hdl_c",
    "ldl_c",
    "sodium",
    "potassium",
    "chloride",
    "calcium",
    "total_bilirubin",
    "direct_bilirubin",
];

/// One line of an items file.
#[derive(Debug, Clone, PartialEq)]
pub struct ItemLine {
    pub kind: ItemKind,
    /// The item's name in the outputs: the stdlib name, or `yj 2189015` / `icd10 I21`.
    pub name: String,
    /// A stdlib name, or a code prefix (`None`).
    pub stdlib: Option<String>,
    pub code: Option<String>,
    /// Where the line's item is in the file.
    pub span: Span,
}

/// A compiled feasibility request.
pub struct Feasibility {
    /// The items as read.
    pub items: Vec<ItemLine>,
    /// The generated script (one cohort per item), compiled to its IR.
    pub script: String,
    pub compiled: Compiled,
    pub request: Request,
    /// The feasibility plans, in execution order.
    pub plans: Vec<NamedPlan>,
}

/// Why a request did not compile: the items file's diagnostics (with its sources), or the
/// generated script's.
pub enum FeasibilityError {
    Items(SourceMap, Vec<Diagnostic>),
    Script(CompileError),
}

/// The stdlib module an item kind names from, and the keyword that declares its names.
fn module(kind: ItemKind) -> (&'static str, &'static str) {
    match kind {
        ItemKind::Drug => ("drugs", "codes"),
        ItemKind::Condition => ("conditions", "codes"),
        ItemKind::Lab => ("labs", "lab"),
    }
}

fn module_text(name: &str) -> &'static str {
    crate::source::stdlib()
        .iter()
        .find(|m| m.name == name)
        .map(|m| m.text)
        .unwrap_or("")
}

/// The names a stdlib module declares with `keyword`, in file order; with `sections`, only
/// those under a `// ---- <section>` heading that is listed.
fn declared(module: &str, keyword: &str, sections: Option<&[&str]>) -> Vec<String> {
    let mut section = String::new();
    let mut out = Vec::new();
    for line in module_text(module).lines() {
        if let Some(h) = line.strip_prefix("// ---- ") {
            section = h.trim().to_string();
            continue;
        }
        if sections.is_some_and(|s| !s.contains(&section.as_str())) {
            continue;
        }
        let Some(rest) = line.strip_prefix(keyword).and_then(|r| r.strip_prefix(' ')) else {
            continue;
        };
        let name: String = rest
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
            .collect();
        if !name.is_empty() {
            out.push(name);
        }
    }
    out
}

/// The standard request as an items file: every stdlib drug class, the conditions of the
/// validated outcome definitions and the chronic conditions designs select on, and the 28
/// lab items MID-NET names.
pub fn standard_items() -> String {
    let mut out = String::from(
        "# The standard feasibility request (mid feasibility without --items).\n# Drug classes of the stdlib:\n",
    );
    for d in declared("drugs", "codes", Some(&["classes"])) {
        out.push_str(&format!("drug {d}\n"));
    }
    out.push_str(
        "# Conditions of the validated outcome definitions, and conditions designs select on:\n",
    );
    for c in declared(
        "conditions",
        "codes",
        Some(&[
            "the validated outcomes",
            "conditions study designs select on",
        ]),
    ) {
        out.push_str(&format!("condition {c}\n"));
    }
    out.push_str("# The lab items MID-NET names:\n");
    for l in MIDNET_LABS {
        out.push_str(&format!("lab {l}\n"));
    }
    out
}

fn valid_code(kind: ItemKind, code: &str) -> bool {
    match kind {
        ItemKind::Drug => {
            (1..=12).contains(&code.len())
                && code
                    .chars()
                    .all(|c| c.is_ascii_digit() || c.is_ascii_uppercase())
        }
        ItemKind::Condition => {
            (1..=5).contains(&code.len())
                && code.starts_with(|c: char| c.is_ascii_uppercase())
                && code[1..].chars().all(|c| c.is_ascii_digit())
        }
        ItemKind::Lab => false,
    }
}

/// Reads an items file: one item per line (`drug statins`, `condition hypertension`,
/// `lab alt`, `drug "2189015"` for a YJ prefix, `condition "I21"` for an ICD-10 prefix);
/// `#` starts a comment. Every bad line is a diagnostic naming it.
pub fn read_items(name: &str, text: &str) -> Result<Vec<ItemLine>, FeasibilityError> {
    let mut sources = SourceMap::new();
    let file = sources.add(name, text, false);
    let mut diags = Vec::new();
    let mut items: Vec<ItemLine> = Vec::new();
    let mut offset = 0;
    for line in text.split_inclusive('\n') {
        let start = offset;
        offset += line.len();
        let body = line.split('#').next().unwrap_or("").trim_end();
        let lead = body.len() - body.trim_start().len();
        let body = body.trim_start();
        if body.is_empty() {
            continue;
        }
        let span = Span::new(start + lead, start + lead + body.len());
        let mut words = body.splitn(2, char::is_whitespace);
        let kind_word = words.next().unwrap_or("");
        let what = words.next().unwrap_or("").trim();
        let kind = match kind_word {
            "drug" => ItemKind::Drug,
            "condition" | "diagnosis" => ItemKind::Condition,
            "lab" => ItemKind::Lab,
            _ => {
                diags.push(
                    Diagnostic::new(
                        Code::ItemLine,
                        format!("`{kind_word}` is not a kind of item"),
                        Label::new(file, span, "expected `drug`, `condition` or `lab` first"),
                    )
                    .with_help("write one item per line: `drug statins`, `condition hypertension`, `lab alt`, `drug \"2189015\"`, `condition \"I21\"`"),
                );
                continue;
            }
        };
        let item = if let Some(code) = what.strip_prefix('"').and_then(|w| w.strip_suffix('"')) {
            if !valid_code(kind, code) {
                diags.push(
                    Diagnostic::new(
                        Code::ItemLine,
                        format!("\"{code}\" is not {} code prefix", match kind {
                            ItemKind::Drug => "a YJ",
                            ItemKind::Condition => "an ICD-10",
                            ItemKind::Lab => "a lab",
                        }),
                        Label::new(file, span, "this code"),
                    )
                    .with_help(match kind {
                        ItemKind::Drug => "a YJ prefix is 1 to 12 digits or capital letters: `drug \"2189015\"`",
                        ItemKind::Condition => "an ICD-10 prefix is a capital letter and up to 4 digits, without the dot: `condition \"I21\"`",
                        ItemKind::Lab => "a lab item is named by its stdlib name (`lab alt`); its codes, unit and conversions come with it",
                    }),
                );
                continue;
            }
            ItemLine {
                kind,
                name: format!(
                    "{} {code}",
                    if kind == ItemKind::Drug {
                        "yj"
                    } else {
                        "icd10"
                    }
                ),
                stdlib: None,
                code: Some(code.to_string()),
                span,
            }
        } else {
            let ok = !what.is_empty()
                && what.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
                && !what.starts_with(|c: char| c.is_ascii_digit());
            let (m, keyword) = module(kind);
            let known = declared(m, keyword, None);
            if !ok || !known.iter().any(|k| k == what) {
                let suggestion =
                    crate::check::names::suggest(what, known.iter().map(String::as_str));
                diags.push(
                    Diagnostic::new(
                        Code::UnknownItem,
                        if what.is_empty() {
                            format!("a {kind_word} item without its name")
                        } else {
                            format!("the stdlib has no {} `{what}`", kind.name())
                        },
                        Label::new(file, span, format!("not in module {m}")),
                    )
                    .with_help(match suggestion {
                        Some(s) => format!("did you mean `{kind_word} {s}`?"),
                        None => format!(
                            "`mid feasibility --list` shows every {} the stdlib has; a code prefix is written in quotes",
                            kind.name()
                        ),
                    }),
                );
                continue;
            }
            ItemLine {
                kind,
                name: what.to_string(),
                stdlib: Some(what.to_string()),
                code: None,
                span,
            }
        };
        if let Some(earlier) = items
            .iter()
            .find(|i| i.name == item.name && i.kind == item.kind)
        {
            diags.push(
                Diagnostic::new(
                    Code::DuplicateItem,
                    format!("{} {} is asked for twice", item.kind.name(), item.name),
                    Label::new(file, item.span, "again here"),
                )
                .with_label(Label::new(file, earlier.span, "first here")),
            );
            continue;
        }
        items.push(item);
    }
    if items.is_empty() && diags.is_empty() {
        diags.push(Diagnostic::new(
            Code::ItemLine,
            "the items file asks for nothing",
            Label::new(file, Span::new(0, 0), "no item in this file"),
        ));
    }
    if diags.is_empty() {
        Ok(items)
    } else {
        Err(FeasibilityError::Items(sources, diags))
    }
}

/// The script a request is: the stdlib names it imports, a code set per code prefix, and one
/// cohort per item whose entry is every record of it (a condition's when not suspected).
pub fn script(items: &[ItemLine]) -> String {
    let mut out =
        String::from("// A feasibility request, generated by mid feasibility from its items.\n");
    for kind in [ItemKind::Drug, ItemKind::Condition, ItemKind::Lab] {
        let names: Vec<&str> = items
            .iter()
            .filter(|i| i.kind == kind)
            .filter_map(|i| i.stdlib.as_deref())
            .collect();
        if !names.is_empty() {
            out.push_str(&format!(
                "import {}.{{{}}}\n",
                module(kind).0,
                names.join(", ")
            ));
        }
    }
    for (i, item) in items.iter().enumerate() {
        let n = i + 1;
        let what = match (&item.stdlib, &item.code) {
            (Some(name), _) => name.clone(),
            (None, Some(code)) => {
                let (domain, system) = match item.kind {
                    ItemKind::Drug => ("drug", "yj"),
                    _ => ("diagnosis", "icd10"),
                };
                out.push_str(&format!("codes code_{n}: {domain} = {system} \"{code}\"\n"));
                format!("code_{n}")
            }
            (None, None) => continue,
        };
        let events = match item.kind {
            ItemKind::Drug => format!("drug {what}"),
            ItemKind::Condition => format!("diagnosis {what} where not suspected"),
            ItemKind::Lab => format!("lab {what}"),
        };
        out.push_str(&format!("cohort item_{n} {{ index = every {events} }}\n"));
    }
    out
}

/// Compiles a feasibility request: the items file's text (or `standard_items()`), the
/// calendar and the age band width in years.
pub fn compile(
    name: &str,
    text: &str,
    calendar: Calendar,
    age_band: i64,
) -> Result<Feasibility, FeasibilityError> {
    let items = read_items(name, text)?;
    let script = script(&items);
    let compiled = crate::compile_file(
        "feasibility request (generated)",
        script.as_bytes(),
        &CompileOptions { plans: false },
    )
    .map_err(FeasibilityError::Script)?;
    let request = Request {
        items: items
            .iter()
            .enumerate()
            .map(|(i, item)| Item {
                name: item.name.clone(),
                kind: item.kind,
                cohort: format!("item_{}", i + 1),
            })
            .collect(),
        calendar,
        age_band,
    };
    let plans = match feasibility_plans(&compiled.cir, &request) {
        Ok(Ok(p)) => p,
        Ok(Err(e)) => {
            let checked = compiled.checked;
            return Err(FeasibilityError::Script(CompileError::Internal(
                Box::new(checked),
                e,
            )));
        }
        Err((i, message)) => {
            let mut sources = SourceMap::new();
            let file = sources.add(name, text, false);
            return Err(FeasibilityError::Items(
                sources,
                vec![Diagnostic::new(
                    Code::ItemNotCountable,
                    message,
                    Label::new(file, items[i].span, "this item"),
                )],
            ));
        }
    };
    Ok(Feasibility {
        items,
        script,
        compiled,
        request,
        plans,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn errors(text: &str) -> Vec<String> {
        match read_items("items.txt", text) {
            Ok(_) => Vec::new(),
            Err(FeasibilityError::Items(sources, diags)) => diags
                .iter()
                .map(|d| {
                    let (line, col) = sources.line_col(d.primary.file, d.primary.span.start);
                    format!(
                        "{} {line}:{col} {} ({})",
                        d.code,
                        d.message,
                        d.help.clone().unwrap_or_default()
                    )
                })
                .collect(),
            Err(FeasibilityError::Script(_)) => vec!["script".into()],
        }
    }

    #[test]
    fn the_standard_request_is_the_catalogue() {
        let items = read_items("standard", &standard_items()).unwrap_or_else(|_| panic!("reads"));
        let count = |k: ItemKind| items.iter().filter(|i| i.kind == k).count();
        assert_eq!(count(ItemKind::Lab), 28);
        assert!(count(ItemKind::Drug) >= 25, "{}", count(ItemKind::Drug));
        assert!(items.iter().any(|i| i.name == "statins"));
        assert!(items.iter().any(|i| i.name == "heart_failure_codes"));
        assert!(items.iter().any(|i| i.name == "hypertension"));
        // Look-alikes are no conditions of the catalogue, single ingredients no classes.
        assert!(
            !items
                .iter()
                .any(|i| i.name == "old_mi" || i.name == "atorvastatin")
        );
    }

    #[test]
    fn bad_lines_are_named() {
        insta::assert_snapshot!(errors(
            "drug statinz\n# a comment\n  lab alt  # and one after\nlab alt\npill aspirin\ncondition \"i21\"\ndrug\n"
        ).join("\n"), @r#"
        F0002 1:1 the stdlib has no drug `statinz` (did you mean `drug statins`?)
        F0003 4:1 lab alt is asked for twice ()
        F0001 5:1 `pill` is not a kind of item (write one item per line: `drug statins`, `condition hypertension`, `lab alt`, `drug "2189015"`, `condition "I21"`)
        F0001 6:1 "i21" is not an ICD-10 code prefix (an ICD-10 prefix is a capital letter and up to 4 digits, without the dot: `condition "I21"`)
        F0002 7:1 a drug item without its name (`mid feasibility --list` shows every drug the stdlib has; a code prefix is written in quotes)
        "#);
    }

    #[test]
    fn a_derived_lab_item_is_not_counted() {
        match compile("items.txt", "lab neutrophil_count\n", Calendar::Quarter, 10) {
            Err(FeasibilityError::Items(_, d)) => {
                assert_eq!(d[0].code, Code::ItemNotCountable);
                assert!(d[0].message.contains("derived"), "{}", d[0].message);
            }
            _ => panic!("a derived item is refused"),
        }
    }

    #[test]
    fn every_kind_compiles() {
        let f = compile(
            "items.txt",
            "drug statins\ndrug \"2189015\"\ncondition hypertension\ncondition \"I21\"\nlab alt\nlab hba1c\n",
            Calendar::Quarter,
            10,
        )
        .unwrap_or_else(|_| panic!("compiles"));
        insta::assert_snapshot!(f.script, @r#"
        // A feasibility request, generated by mid feasibility from its items.
        import drugs.{statins}
        import conditions.{hypertension}
        import labs.{alt, hba1c}
        cohort item_1 { index = every drug statins }
        codes code_2: drug = yj "2189015"
        cohort item_2 { index = every drug code_2 }
        cohort item_3 { index = every diagnosis hypertension where not suspected }
        codes code_4: diagnosis = icd10 "I21"
        cohort item_4 { index = every diagnosis code_4 where not suspected }
        cohort item_5 { index = every lab alt }
        cohort item_6 { index = every lab hba1c }
        "#);
        assert_eq!(f.plans.last().map(|p| p.name.as_str()), Some("feasibility"));
    }
}
