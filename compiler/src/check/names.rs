//! Names (stage: AST → HIR): names, paths into modules and leftover words.

use mid_grammar::ast::{self};

use std::collections::BTreeMap;

use super::coerce::poisoned;
use super::errors::At;
use super::{CheckError, Checker, Cx, PendingDef, Scope, State};
use crate::hir::{self, Builtin, DefId, DefKind, Expr, ExprKind as H};
use crate::source;
use crate::source::FileId;
use crate::types::Type;

impl Checker<'_> {
    pub(super) fn name(&mut self, i: &ast::Ident, e: &ast::Expr, cx: &Cx) -> Expr {
        if let Some(pos) = cx.params.iter().position(|(n, _)| *n == i.name) {
            let ty = cx.params[pos].1;
            return self.mk(H::Param(pos), ty, e, cx);
        }
        let found = self.lookup(cx.scope, &i.name);
        if let Some(id) = found {
            let ty = self.ensure(id, (cx.file, i.span));
            return self.def_ref(id, ty, &i.name, e, cx);
        }
        if let Some(b) = Builtin::ALL.into_iter().find(|b| b.name() == i.name) {
            let ty = match b {
                Builtin::Death => Type::Date,
                Builtin::Sex | Builtin::Hospital | Builtin::Censoring | Builtin::IndexDrug => {
                    Type::Text
                }
                Builtin::Earliest | Builtin::Latest => {
                    self.error(CheckError::FunctionAsValue {
                        at: (cx.file, e.span),
                        name: b.name().to_string(),
                    });
                    return self.err_expr(e, cx);
                }
            };
            return self.mk(H::Builtin(b), ty, e, cx);
        }
        if self.scopes[cx.scope].modules.contains_key(&i.name) {
            self.error(CheckError::ModuleAsValue {
                at: (cx.file, e.span),
                name: i.name.clone(),
            });
            return self.err_expr(e, cx);
        }
        // A bare word that names nothing may be a value of a coded column (`inpatient`, `F`);
        // the comparison it is in checks that.
        self.mk(H::Word(i.name.clone()), Type::Word, e, cx)
    }

    /// The definition a name means in a scope (its own, or imported), noting the use.
    pub(super) fn lookup(&mut self, scope: usize, name: &str) -> Option<hir::DefId> {
        let s = &self.scopes[scope];
        let id = s.own.get(name).or_else(|| s.imported.get(name)).copied()?;
        if !s.own.contains_key(name) {
            for i in self.imports.iter_mut() {
                if i.scope == scope && i.name == name {
                    i.used = true;
                }
            }
        }
        self.used_defs.insert(id);
        Some(id)
    }

    /// A definition named without a call: a definition with parameters is called with its
    /// defaults (`hys_law` is `hys_law()`), or is an error when a parameter has none.
    fn def_ref(&mut self, id: hir::DefId, ty: Type, name: &str, e: &ast::Expr, cx: &Cx) -> Expr {
        if let hir::DefKind::Value {
            params: Some(params),
            ..
        } = &self.hir.def(id).kind
        {
            if params.iter().any(|p| p.default.is_none()) {
                self.error(CheckError::FunctionAsValue {
                    at: (cx.file, e.span),
                    name: name.to_string(),
                });
                return self.err_expr(e, cx);
            }
            return self.mk(
                H::Call {
                    def: id,
                    args: vec![],
                },
                ty,
                e,
                cx,
            );
        }
        self.mk(H::Def(id), ty, e, cx)
    }

    /// Reports a word that ended up where a value was needed as an unknown name.
    pub(crate) fn unknown_word(&mut self, x: &Expr, cx: &Cx) {
        if let H::Word(w) = &x.kind {
            let names = self.visible_names(cx);
            let suggestion = suggest(w, names.iter().map(String::as_str));
            self.error(CheckError::UnknownName {
                at: (x.file, x.span),
                name: w.clone(),
                suggestion,
            });
        }
    }

    /// A word left where a value is needed, with no scope at hand for a suggestion: an
    /// unknown name.
    pub(super) fn stray_word(&mut self, x: Expr) -> Expr {
        if let H::Word(w) = &x.kind {
            self.error(CheckError::UnknownName {
                at: (x.file, x.span),
                name: w.clone(),
                suggestion: None,
            });
        }
        poisoned(x)
    }

    /// Turns a leftover word into an error (unknown name) so it does not travel on.
    pub(crate) fn settle(&mut self, x: Expr, cx: &Cx) -> Expr {
        if x.ty == Type::Word {
            self.unknown_word(&x, cx);
            return poisoned(x);
        }
        x
    }

    pub(super) fn path(&mut self, p: &[ast::Ident], e: &ast::Expr, cx: &Cx) -> Expr {
        let module = &p[0];
        let Some(scope) = self.scopes[cx.scope].modules.get(&module.name).copied() else {
            let names = self.visible_names(cx);
            let suggestion = suggest(&module.name, names.iter().map(String::as_str));
            self.error(CheckError::UnknownName {
                at: (cx.file, module.span),
                name: module.name.clone(),
                suggestion: suggestion
                    .or_else(|| Some(format!("import {}", module.name)))
                    .filter(|_| true),
            });
            return self.err_expr(e, cx);
        };
        if p.len() != 2 {
            self.error(CheckError::LongPath {
                at: (cx.file, e.span),
            });
            return self.err_expr(e, cx);
        }
        let name = &p[1];
        match self.scopes[scope].own.get(&name.name).copied() {
            Some(id) => {
                self.used_defs.insert(id);
                let ty = self.ensure(id, (cx.file, name.span));
                self.def_ref(id, ty, &name.name, e, cx)
            }
            None => {
                let suggestion = suggest(
                    &name.name,
                    self.scopes[scope].own.keys().map(String::as_str),
                );
                self.error(CheckError::NotInModule {
                    at: (cx.file, name.span),
                    module: module.name.clone(),
                    name: name.name.clone(),
                    suggestion,
                });
                self.err_expr(e, cx)
            }
        }
    }

    pub(super) fn shadowed(&self, name: &str, cx: &Cx) -> bool {
        let s = &self.scopes[cx.scope];
        s.own.contains_key(name)
            || s.imported.contains_key(name)
            || cx.params.iter().any(|(n, _)| n == name)
    }

    /// Loads a stdlib module by name (parsing and collecting it once).
    pub(super) fn load_module(&mut self, name: &str, from: Option<At>) -> Option<usize> {
        match self.modules.get(name) {
            Some(Some(scope)) => return Some(*scope),
            Some(None) => {
                // Imports of stdlib modules are acyclic by construction; a cycle is a stdlib bug
                // reported at the import.
                if let Some(at) = from {
                    self.error(CheckError::Cycle {
                        at,
                        name: name.to_string(),
                    });
                }
                return None;
            }
            None => {}
        }
        let Some(m) = source::stdlib().iter().find(|m| m.name == name) else {
            if let Some(at) = from {
                let available: Vec<String> = source::stdlib()
                    .iter()
                    .map(|m| m.name.to_string())
                    .collect();
                let suggestion = suggest(name, available.iter().map(String::as_str));
                self.error(CheckError::UnknownModule {
                    at,
                    name: name.to_string(),
                    suggestion,
                    available,
                });
            }
            return None;
        };
        self.modules.insert(name.to_string(), None);
        let file = self
            .sources
            .add(format!("stdlib/{}.mid", m.name), m.text, true);
        let parsed = mid_grammar::source_to_ast(m.text);
        for e in &parsed.errors {
            self.extra.push(crate::syntax_diagnostic(e, file));
        }
        let scope = self.collect_module(&parsed.file, file, m.name);
        self.modules.insert(name.to_string(), Some(scope));
        Some(scope)
    }

    /// Allocates a definition for every declaration of a file and resolves its imports.
    pub(super) fn collect_module(&mut self, f: &ast::File, file: FileId, module: &str) -> usize {
        let scope = self.scopes.len();
        self.scopes.push(Scope {
            file,
            own: BTreeMap::new(),
            imported: BTreeMap::new(),
            modules: BTreeMap::new(),
        });
        for item in &f.items {
            let name = match &item.kind {
                ast::ItemKind::Codes(c) => &c.name,
                ast::ItemKind::Define(d) => &d.name,
                ast::ItemKind::Lab(l) => &l.name,
                ast::ItemKind::Grading(g) => &g.name,
                ast::ItemKind::Cohort(c) => &c.name,
                ast::ItemKind::Outcome(o) => &o.name,
                _ => continue,
            };
            if let Some(first) = self.scopes[scope].own.get(&name.name).copied() {
                let first_span = self.hir.defs[first.0 as usize].span;
                self.error(CheckError::Duplicate {
                    at: (file, name.span),
                    name: name.name.clone(),
                    first: (file, first_span),
                });
                continue;
            }
            let id = DefId(self.hir.defs.len() as u32);
            self.hir.defs.push(hir::Def {
                name: name.name.clone(),
                module: module.to_string(),
                file,
                span: name.span,
                doc: item.doc.clone(),
                ty: Type::Error,
                kind: DefKind::Pending,
            });
            self.state.push(State::Pending);
            self.pending.insert(
                id,
                PendingDef {
                    scope,
                    item: item.clone(),
                },
            );
            self.scopes[scope].own.insert(name.name.clone(), id);
        }
        for item in &f.items {
            if let ast::ItemKind::Import(i) = &item.kind {
                self.import(scope, file, i);
            }
        }
        scope
    }

    pub(super) fn import(&mut self, scope: usize, file: FileId, i: &ast::Import) {
        let module_ident = &i.path[0];
        let (module_name, names): (String, Vec<(ast::Ident, Option<ast::Ident>)>) = match &i.names {
            ast::ImportNames::Single if i.path.len() == 1 => {
                // `import labs`: the module itself, for `labs.alt`.
                if let Some(m) =
                    self.load_module(&module_ident.name, Some((file, module_ident.span)))
                {
                    self.scopes[scope]
                        .modules
                        .insert(module_ident.name.clone(), m);
                }
                return;
            }
            ast::ImportNames::Single => {
                let last = i.path.last().expect("a path has a segment").clone();
                (join_path(&i.path[..i.path.len() - 1]), vec![(last, None)])
            }
            ast::ImportNames::List(list) => (
                join_path(&i.path),
                list.iter()
                    .map(|n| (n.name.clone(), n.alias.clone()))
                    .collect(),
            ),
            ast::ImportNames::All => (join_path(&i.path), vec![]),
        };
        let first_span = i.path[0].span;
        let path_span = i.path[0]
            .span
            .to(i.path[i.path.len().saturating_sub(1)].span);
        let at = (
            file,
            if names.is_empty() {
                path_span
            } else {
                first_span.to(path_span)
            },
        );
        let Some(m) = self.load_module(&module_name, Some(at)) else {
            // Reported once: the names it would have brought are known, of no type, so
            // their uses raise nothing more.
            for (name, alias) in &names {
                self.poison(scope, alias.as_ref().unwrap_or(name), &module_name);
            }
            return;
        };
        if matches!(i.names, ast::ImportNames::All) {
            let all: Vec<(String, DefId)> = self.scopes[m]
                .own
                .iter()
                .map(|(k, v)| (k.clone(), *v))
                .collect();
            for (k, v) in all {
                self.scopes[scope].imported.insert(k, v);
            }
            return;
        }
        for (name, alias) in names {
            match self.scopes[m].own.get(&name.name).copied() {
                Some(id) => {
                    let local = alias.as_ref().unwrap_or(&name).name.clone();
                    if let Some(existing) = self.scopes[scope].own.get(&local).copied() {
                        let first = (file, self.hir.defs[existing.0 as usize].span);
                        self.error(CheckError::Duplicate {
                            at: (file, name.span),
                            name: local.clone(),
                            first,
                        });
                    }
                    self.imports.push(super::Import {
                        scope,
                        name: local.clone(),
                        at: (file, alias.as_ref().unwrap_or(&name).span),
                        used: false,
                    });
                    self.scopes[scope].imported.insert(local, id);
                }
                None => {
                    let suggestion =
                        suggest(&name.name, self.scopes[m].own.keys().map(String::as_str));
                    self.error(CheckError::NotInModule {
                        at: (file, name.span),
                        module: module_name.clone(),
                        name: name.name.clone(),
                        suggestion,
                    });
                    self.poison(scope, alias.as_ref().unwrap_or(&name), &module_name);
                }
            }
        }
    }

    /// A name a failed import would have brought: in scope, already checked, of no type
    /// (`Type::Error` silences every check of its uses), so one mistake is one error.
    fn poison(&mut self, scope: usize, name: &ast::Ident, module: &str) {
        if self.scopes[scope].own.contains_key(&name.name) {
            return;
        }
        let id = DefId(self.hir.defs.len() as u32);
        self.hir.defs.push(hir::Def {
            name: name.name.clone(),
            module: module.to_string(),
            file: self.scopes[scope].file,
            span: name.span,
            doc: Vec::new(),
            ty: Type::Error,
            kind: DefKind::Pending,
        });
        self.state.push(State::Done);
        self.scopes[scope].imported.insert(name.name.clone(), id);
    }

    /// Every name visible in a scope (for "did you mean").
    pub(crate) fn visible_names(&self, cx: &Cx) -> Vec<String> {
        let s = &self.scopes[cx.scope];
        let mut names: Vec<String> = s.own.keys().cloned().collect();
        names.extend(s.imported.keys().cloned());
        names.extend(cx.params.iter().map(|(n, _)| n.clone()));
        names.extend(hir::Builtin::ALL.iter().map(|b| b.name().to_string()));
        names.sort();
        names.dedup();
        names
    }
}

fn join_path(p: &[ast::Ident]) -> String {
    p.iter()
        .map(|i| i.name.as_str())
        .collect::<Vec<_>>()
        .join(".")
}

/// The closest candidate to a misspelt name, if one is close enough to be what was meant.
pub(crate) fn suggest<'a>(name: &str, candidates: impl Iterator<Item = &'a str>) -> Option<String> {
    let mut best: Option<(f64, &str)> = None;
    for c in candidates {
        if c == name {
            continue;
        }
        let score = strsim::jaro_winkler(&name.to_lowercase(), &c.to_lowercase());
        let close = score >= 0.85 || strsim::levenshtein(name, c) <= 2.min(name.len() / 2);
        if close && best.is_none_or(|(b, _)| score > b) {
            best = Some((score, c));
        }
    }
    best.map(|(_, c)| c.to_string())
}

#[cfg(test)]
mod tests {
    use crate::testing::{check, errors};

    #[test]
    fn a_script_name_resolves_to_its_definition() {
        insta::assert_snapshot!(check(
            r#"codes x: drug = yj "2432001"
cohort c { index = first drug x }"#
        ), @r#"
        x : Codes<drug> = yj "2432001":Codes<drug>
        c : Cohort
          index = (First (drug x:Codes<drug>):Events<drug>):Events<drug>
        "#);
    }

    #[test]
    fn an_unknown_name_suggests_the_closest() {
        insta::assert_snapshot!(check(
            r#"codes thiamazole: drug = yj "2432001"
cohort c { index = first drug thiamazol }"#
        ), @r#"
        thiamazole : Codes<drug> = yj "2432001":Codes<drug>
        c : Cohort
          index = <error>:<error>
        --
        E0101 2:31 unknown name `thiamazol` (not defined or imported) help: did you mean `thiamazole`?
        "#);
    }

    #[test]
    fn a_stdlib_name_needs_its_import() {
        insta::assert_snapshot!(errors(
            r#"cohort c { index = first lab alt }"#
        ), @"E0101 1:30 unknown name `alt` (not defined or imported) help: `alt` is in `labs`: add `import labs.{alt}`");
    }

    #[test]
    fn imports_by_list_alias_and_module() {
        insta::assert_snapshot!(check(
            r#"import labs.{alt as gpt}
import conditions
cohort c {
  index = first lab gpt > 3 x ULN
  require diagnosis conditions.hyperthyroidism within 30 days around index
}"#
        ), @"
        c : Cohort
          index = (First (> (lab labs.alt:Lab):Events<lab> 3 x ULN:Quantity<multiple of ULN>):Events<lab>):Events<lab>
          require (window (diagnosis conditions.hyperthyroidism:Codes<diagnosis>):Events<diagnosis> within 30 days:Duration Around Index:Date):Events<diagnosis>
        ");
    }

    #[test]
    fn a_module_is_not_a_value() {
        insta::assert_snapshot!(errors(
            r#"import conditions
cohort c { index = first diagnosis conditions }"#
        ), @"E0108 2:36 `conditions` is a module (a module, not a value) help: name one of its definitions: `conditions.…`");
    }

    #[test]
    fn a_definition_with_defaults_named_alone_is_called_with_them() {
        insta::assert_snapshot!(check(
            r#"import grades.{hys_law}
cohort c { index = first hys_law }"#
        ), @"
        c : Cohort
          index = (First (call grades.hys_law ):Events<lab>):Events<lab>
        ");
    }
}
