//! Name resolution and type checking (stage: AST → HIR). Loads the stdlib modules a script
//! imports, resolves every name, checks types, codes and units, and reports every error of
//! the program once: an expression already in error has type `Error` and is accepted
//! everywhere after, so one mistake gives one diagnostic.

mod calls;
mod codes;
mod coerce;
mod cohorts;
mod definitions;
pub(crate) mod errors;
mod events;
pub mod expand;
mod expr;
mod labs;
pub(crate) mod names;
mod operators;
mod outputs;
mod time;
mod uses;

use std::collections::BTreeMap;
use std::rc::Rc;

use mid_grammar::ast::{self, Span};

use crate::diag::Diagnostic;
use crate::hir::{DefId, DefKind, Hir};
use crate::source::{self, FileId, SourceMap};
use crate::types::{Domains, Type};

use errors::At;
pub use errors::CheckError;
pub(crate) use names::suggest;

/// Resolves and type-checks a parsed script against the stdlib. `sources` gains the stdlib
/// files the script reaches, so diagnostics can point into them.
pub fn ast_to_hir(
    script: &ast::File,
    file: FileId,
    sources: &mut SourceMap,
) -> (Hir, Vec<Diagnostic>) {
    // A stdlib module checked as a file of its own (`mid check stdlib/outcomes.mid`) is the
    // stdlib: its definitions may be validated. Only its exact text is.
    let is_stdlib = script.header.as_ref().is_some_and(|h| {
        h.kind == ast::HeaderKind::Module
            && source::stdlib()
                .iter()
                .any(|m| m.name == h.name.name && *m.text == *sources.get(file).text)
    });
    let mut c = Checker::new(sources);
    c.script_is_stdlib = is_stdlib;
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
    // The rules over uses need a well-typed script; warnings do not stop them (a warning
    // once hid every later error of the script: found by the fuzzer, `check::tests`).
    let clean = c.errors.iter().all(|e| !e.to_diagnostic().is_error())
        && c.extra.iter().all(|d| !d.is_error());
    if clean {
        let more = uses::check_uses(&c.hir);
        c.errors.extend(more);
        c.unused(scope);
    }
    let mut diags: Vec<Diagnostic> = c.errors.iter().map(CheckError::to_diagnostic).collect();
    diags.extend(c.extra);
    crate::diag::normalise(&mut diags);
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
    crate::diag::normalise(&mut diags);
    (c.hir, diags)
}

/// The names visible in one file.
pub(super) struct Scope {
    file: FileId,
    /// Defined in this file.
    own: BTreeMap<String, DefId>,
    /// Brought in by `import m.{a, b}` or `import m.a`.
    imported: BTreeMap<String, DefId>,
    /// `import m`: module name → scope index.
    modules: BTreeMap<String, usize>,
}

#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum State {
    Pending,
    InProgress,
    Done,
}

/// A definition waiting to be checked.
pub(super) struct PendingDef {
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
    /// The script is a stdlib module's own text.
    script_is_stdlib: bool,
    /// Definitions some name resolved to (for unused definitions).
    used_defs: std::collections::BTreeSet<DefId>,
    /// Names imported one by one into a scope, with where, and whether one was used.
    imports: Vec<Import>,
}

/// A name imported by `import m.{a}`: used or not.
pub(super) struct Import {
    scope: usize,
    name: String,
    at: At,
    used: bool,
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
            script_is_stdlib: false,
            used_defs: Default::default(),
            imports: Vec::new(),
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

    /// Warnings for names imported or defined in the script and never used.
    fn unused(&mut self, scope: usize) {
        let mut found = Vec::new();
        for i in self.imports.iter().filter(|i| i.scope == scope && !i.used) {
            found.push(CheckError::UnusedImport {
                at: i.at,
                name: i.name.clone(),
            });
        }
        // A file without a cohort is a library: its definitions are what it offers.
        let study = self.scopes[scope]
            .own
            .values()
            .any(|id| matches!(self.hir.defs[id.0 as usize].kind, DefKind::Cohort(_)));
        for id in self.scopes[scope].own.values().filter(|_| study) {
            let d = &self.hir.defs[id.0 as usize];
            if matches!(d.kind, DefKind::Codes(_) | DefKind::Value { .. })
                && !self.used_defs.contains(id)
            {
                found.push(CheckError::UnusedDefinition {
                    at: (d.file, d.span),
                    name: d.name.clone(),
                });
            }
        }
        self.errors.extend(found);
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
}
