//! Name resolution and type checking (stage: AST → HIR). Loads the stdlib modules a script
//! imports, resolves every name, checks types, codes and units, and reports every error of
//! the program once: an expression already in error has type `Error` and is accepted
//! everywhere after, so one mistake gives one diagnostic.

mod errors;
mod expr;
mod items;

use std::collections::BTreeMap;
use std::rc::Rc;

use mid_grammar::ast::{self, Span};

use crate::diagnostics::Diagnostic;
use crate::hir::{self, DefId, DefKind, Hir};
use crate::source::{self, FileId, SourceMap};
use crate::types::{Domains, Type};

use errors::At;
pub use errors::CheckError;
pub(crate) use expr::selects_one;

/// Resolves and type-checks a parsed script against the stdlib. `sources` gains the stdlib
/// files the script reaches, so diagnostics can point into them.
pub fn ast_to_hir(
    script: &ast::File,
    file: FileId,
    sources: &mut SourceMap,
) -> (Hir, Vec<Diagnostic>) {
    let mut c = Checker::new(sources);
    c.hir.file = Some(file);
    c.hir.study = script.header.as_ref().map(|h| h.name.name.clone());
    let module_name = String::new();
    let scope = c.collect_module(script, file, &module_name);
    c.script_scope = Some(scope);
    // Check every definition of the script (stdlib definitions are checked when reached).
    let ids: Vec<DefId> = c.scopes[scope].own.values().copied().collect();
    let mut ordered = ids;
    ordered.sort_by_key(|id| c.hir.defs[id.0 as usize].span.start);
    for id in &ordered {
        c.ensure(*id, (file, c.hir.defs[id.0 as usize].span));
    }
    c.hir.script_defs = ordered;
    c.check_exports_reports(script, scope, file);
    let mut diags: Vec<Diagnostic> = c.errors.iter().map(CheckError::to_diagnostic).collect();
    diags.extend(c.extra);
    crate::diagnostics::normalise(&mut diags);
    (c.hir, diags)
}

/// Checks every stdlib module on its own (for `mid check --stdlib` and the tests).
pub fn check_stdlib(sources: &mut SourceMap) -> (Hir, Vec<Diagnostic>) {
    let mut c = Checker::new(sources);
    for m in source::stdlib() {
        if let Some(scope) = c.load_module(m.name, None) {
            let ids: Vec<DefId> = c.scopes[scope].own.values().copied().collect();
            for id in ids {
                let at = (
                    c.hir.defs[id.0 as usize].file,
                    c.hir.defs[id.0 as usize].span,
                );
                c.ensure(id, at);
            }
        }
    }
    let mut diags: Vec<Diagnostic> = c.errors.iter().map(CheckError::to_diagnostic).collect();
    diags.extend(c.extra);
    crate::diagnostics::normalise(&mut diags);
    (c.hir, diags)
}

/// The names visible in one file.
struct Scope {
    file: FileId,
    /// Defined in this file.
    own: BTreeMap<String, DefId>,
    /// Brought in by `import m.{a, b}` or `import m.a`.
    imported: BTreeMap<String, DefId>,
    /// `import m`: module name → scope index.
    modules: BTreeMap<String, usize>,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum State {
    Pending,
    InProgress,
    Done,
}

/// A definition waiting to be checked.
struct PendingDef {
    scope: usize,
    item: ast::Item,
}

pub(crate) struct Checker<'s> {
    sources: &'s mut SourceMap,
    hir: Hir,
    errors: Vec<CheckError>,
    /// Syntax errors of stdlib files, already diagnostics.
    extra: Vec<Diagnostic>,
    scopes: Vec<Scope>,
    /// Stdlib modules by name: `None` while loading (an import cycle), else the scope.
    modules: BTreeMap<String, Option<usize>>,
    pending: BTreeMap<DefId, PendingDef>,
    state: Vec<State>,
    script_scope: Option<usize>,
}

/// What checking an expression can see.
#[derive(Clone)]
pub(crate) struct Cx {
    pub scope: usize,
    pub file: FileId,
    /// Parameters of the definition being checked.
    pub params: Rc<Vec<(String, Type)>>,
    /// Inside a cohort: its eras, and which statement.
    pub cohort: Option<Rc<CohortCx>>,
    /// Inside `having`: the domains `it` is.
    pub it: Option<Domains>,
    /// Inside a definition: anchors are allowed and checked where it is used.
    pub in_define: bool,
    /// Code literals here belong to this domain (the target of `drug …`, a `codes x: drug`).
    pub want_domain: Option<crate::codes::CodeDomain>,
}

#[derive(Debug, Default)]
pub(crate) struct CohortCx {
    pub eras: Vec<String>,
    /// Checking the `index = …` statement: no index yet.
    pub in_index: bool,
    /// Checking the `end = …` statement: no end yet.
    pub in_end: bool,
}

impl<'s> Checker<'s> {
    fn new(sources: &'s mut SourceMap) -> Checker<'s> {
        Checker {
            sources,
            hir: Hir::default(),
            errors: Vec::new(),
            extra: Vec::new(),
            scopes: Vec::new(),
            modules: BTreeMap::new(),
            pending: BTreeMap::new(),
            state: Vec::new(),
            script_scope: None,
        }
    }

    pub(crate) fn error(&mut self, e: CheckError) {
        self.errors.push(e);
    }

    pub(crate) fn text(&self, file: FileId, span: Span) -> String {
        let t = &self.sources.get(file).text;
        let s = span.start.min(t.len());
        let e = span.end.min(t.len()).max(s);
        t.get(s..e).unwrap_or("").to_string()
    }

    /// Loads a stdlib module by name (parsing and collecting it once).
    fn load_module(&mut self, name: &str, from: Option<At>) -> Option<usize> {
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
    fn collect_module(&mut self, f: &ast::File, file: FileId, module: &str) -> usize {
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

    fn import(&mut self, scope: usize, file: FileId, i: &ast::Import) {
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
                }
            }
        }
    }

    /// Checks a definition if it is not yet, and returns its type. `from` is where it is used,
    /// for the cycle error.
    pub(crate) fn ensure(&mut self, id: DefId, from: At) -> Type {
        match self.state[id.0 as usize] {
            State::Done => return self.hir.defs[id.0 as usize].ty,
            State::InProgress => {
                let name = self.hir.defs[id.0 as usize].name.clone();
                self.error(CheckError::Cycle { at: from, name });
                return Type::Error;
            }
            State::Pending => {}
        }
        self.state[id.0 as usize] = State::InProgress;
        let Some(p) = self.pending.remove(&id) else {
            self.state[id.0 as usize] = State::Done;
            return Type::Error;
        };
        let file = self.scopes[p.scope].file;
        let (kind, ty) = self.check_item(id, &p.item, p.scope, file);
        let def = &mut self.hir.defs[id.0 as usize];
        def.kind = kind;
        def.ty = ty;
        self.state[id.0 as usize] = State::Done;
        ty
    }

    fn base_cx(&self, scope: usize, file: FileId) -> Cx {
        Cx {
            scope,
            file,
            params: Rc::new(Vec::new()),
            cohort: None,
            it: None,
            in_define: false,
            want_domain: None,
        }
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
