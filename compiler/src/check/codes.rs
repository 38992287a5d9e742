//! Code sets (stage: AST → HIR): code literals, code systems and their domains, code ranges and lists.

use mid_grammar::ast::{self, ExprKind as A};

use super::{CheckError, Checker, Cx, suggest};
use crate::codes::{CodeDomain, CodeError, System};
use crate::hir::{DefKind, Expr, ExprKind as H};
use crate::types::Type;

impl Checker<'_> {
    pub(super) fn code_lit(
        &mut self,
        system: &ast::Ident,
        code: &ast::StrLit,
        to: Option<&ast::StrLit>,
        e: &ast::Expr,
        cx: &Cx,
    ) -> Expr {
        let Some(sys) = self.system(system, cx) else {
            return self.err_expr(e, cx);
        };
        let Some(domain) = self.system_domain(sys, system, cx) else {
            return self.err_expr(e, cx);
        };
        let Some(code_n) = self.code_text(sys, code, cx) else {
            return self.err_expr(e, cx);
        };
        let to_n = match to {
            Some(t) => match self.code_text(sys, t, cx) {
                Some(t_n) => {
                    // A range of local codes stays within one hospital's codes.
                    let one_hospital = sys != System::Local
                        || crate::codes::split_local(&t_n).map(|x| x.0)
                            == crate::codes::split_local(&code_n).map(|x| x.0);
                    if t_n.len() != code_n.len() || t_n < code_n || !one_hospital {
                        self.error(CheckError::BadCodeRange {
                            at: (cx.file, e.span),
                            from: code_n.clone(),
                            to: t_n.clone(),
                        });
                        return self.err_expr(e, cx);
                    }
                    Some(t_n)
                }
                None => return self.err_expr(e, cx),
            },
            None => None,
        };
        self.unknown_code(sys, &code_n, to_n.as_deref(), e, cx);
        self.mk(
            H::Code {
                system: sys,
                domain,
                code: code_n,
                to: to_n,
            },
            Type::Codes(domain),
            e,
            cx,
        )
    }

    /// Warns of a code no reference list knows (only in the script: the stdlib is checked
    /// on its own).
    fn unknown_code(&mut self, sys: System, code: &str, to: Option<&str>, e: &ast::Expr, cx: &Cx) {
        if Some(cx.file) == self.hir.file
            && crate::codes::in_reference(sys, code, to) == Some(false)
        {
            self.error(CheckError::UnknownCode {
                at: (cx.file, e.span),
                system: sys.name(),
                code: match to {
                    Some(t) => format!("{code}..{t}"),
                    None => code.to_string(),
                },
            });
        }
    }

    pub(super) fn system(&mut self, system: &ast::Ident, cx: &Cx) -> Option<System> {
        match System::parse(&system.name) {
            Some(s) => Some(s),
            None => {
                let suggestion = suggest(&system.name, System::ALL.iter().map(|s| s.name()));
                self.error(CheckError::UnknownSystem {
                    at: (cx.file, system.span),
                    name: system.name.clone(),
                    suggestion,
                });
                None
            }
        }
    }

    pub(super) fn system_domain(
        &mut self,
        sys: System,
        at: &ast::Ident,
        cx: &Cx,
    ) -> Option<CodeDomain> {
        let domains = sys.domains();
        match cx.want_domain {
            Some(want) if domains.contains(&want) => Some(want),
            Some(want) => {
                let allowed: Vec<&'static str> = System::ALL
                    .iter()
                    .filter(|s| s.domains().contains(&want))
                    .map(|s| s.name())
                    .collect();
                self.error(CheckError::SystemNotInDomain {
                    at: (cx.file, at.span),
                    system: sys.name(),
                    domain: want.name(),
                    allowed,
                });
                None
            }
            None if domains.len() == 1 => Some(domains[0]),
            None => {
                self.error(CheckError::AmbiguousSystem {
                    at: (cx.file, at.span),
                    system: sys.name(),
                });
                None
            }
        }
    }

    pub(super) fn code_text(&mut self, sys: System, code: &ast::StrLit, cx: &Cx) -> Option<String> {
        match sys.normalise(&code.value) {
            Ok(c) => Some(c),
            Err(CodeError::Empty | CodeError::Shape) => {
                self.error(CheckError::BadCode {
                    at: (cx.file, code.span),
                    system: sys.name(),
                    code: code.value.clone(),
                    shape: sys.shape(),
                });
                None
            }
        }
    }

    /// `icd10("I21", "I22")`: a list of codes of one system.
    pub(super) fn code_list(
        &mut self,
        sys: System,
        i: &ast::Ident,
        args: &[ast::Expr],
        e: &ast::Expr,
        cx: &Cx,
    ) -> Expr {
        let Some(domain) = self.system_domain(sys, i, cx) else {
            return self.err_expr(e, cx);
        };
        let mut items = Vec::new();
        let mut ok = true;
        for a in args {
            match &a.kind {
                A::Str(s) => {
                    let lit = ast::StrLit {
                        value: s.clone(),
                        span: a.span,
                    };
                    match self.code_text(sys, &lit, cx) {
                        Some(c) => items.push({
                            self.unknown_code(sys, &c, None, a, cx);
                            self.mk(
                                H::Code {
                                    system: sys,
                                    domain,
                                    code: c,
                                    to: None,
                                },
                                Type::Codes(domain),
                                a,
                                cx,
                            )
                        }),
                        None => ok = false,
                    }
                }
                _ => {
                    self.error(CheckError::CodeListItem {
                        at: (cx.file, a.span),
                        system: sys.name(),
                    });
                    ok = false;
                }
            }
        }
        if !ok {
            return self.err_expr(e, cx);
        }
        if items.is_empty() {
            self.error(CheckError::EmptyCodeList {
                at: (cx.file, e.span),
            });
            return self.err_expr(e, cx);
        }
        self.mk(H::CodeList(items), Type::Codes(domain), e, cx)
    }

    /// `codes name: domain = …`: a named code set, of its declared domain.
    pub(super) fn codes_item(&mut self, c: &ast::CodesDecl, cx: Cx) -> (DefKind, Type) {
        let file = cx.file;
        let mut ccx = cx.clone();
        let domain = match &c.domain {
            Some(d) => match CodeDomain::parse(&d.name) {
                Some(dom) => Some(dom),
                None => {
                    let suggestion = suggest(&d.name, CodeDomain::ALL.iter().map(|d| d.name()));
                    self.error(CheckError::UnknownName {
                        at: (file, d.span),
                        name: d.name.clone(),
                        suggestion,
                    });
                    None
                }
            },
            None => None,
        };
        ccx.want_domain = domain;
        let x = self.expr(&c.value, &ccx);
        let x = self.settle(x, &ccx);
        let ty = match (x.ty, domain) {
            (Type::Codes(d), Some(want)) if d != want => {
                self.error(CheckError::WrongDomain {
                    at: (x.file, x.span),
                    expected: format!("Codes<{}>", want.name()),
                    found: format!("Codes<{}>", d.name()),
                    context: format!("`codes {}: {}`", c.name.name, want.name()),
                });
                Type::Error
            }
            (Type::Codes(d), _) => Type::Codes(d),
            (Type::Error, _) => Type::Error,
            (other, _) => {
                self.mismatch(
                    &x,
                    "codes (`icd10 \"I63\"`, a union with `or`, a difference with `-`)",
                    other,
                    "a code set",
                    None,
                );
                Type::Error
            }
        };
        (DefKind::Codes(x), ty)
    }
}

#[cfg(test)]
mod tests {
    use crate::testing::{check, errors};

    #[test]
    fn code_sets_prefixes_ranges_lists_and_differences() {
        insta::assert_snapshot!(check(
            r#"codes a: diagnosis = icd10 "I63"
codes b: diagnosis = icd10 "C00".."C97" - icd10 "C44"
codes c: diagnosis = icd10("E101", "E111")"#
        ), @r#"
        a : Codes<diagnosis> = icd10 "I63":Codes<diagnosis>
        b : Codes<diagnosis> = (- icd10 "C00".."C97":Codes<diagnosis> icd10 "C44":Codes<diagnosis>):Codes<diagnosis>
        c : Codes<diagnosis> = [icd10 "E101":Codes<diagnosis> icd10 "E111":Codes<diagnosis>]:Codes<diagnosis>
        "#);
    }

    #[test]
    fn a_code_of_the_wrong_shape() {
        insta::assert_snapshot!(errors(
            r#"codes x: drug = yj "ABC""#
        ), @r#"E0203 1:20 "ABC" cannot be a yj code (not a yj code)"#);
    }

    #[test]
    fn a_system_of_another_domain() {
        insta::assert_snapshot!(errors(
            r#"codes x: drug = icd10 "I63""#
        ), @"E0204 1:17 `icd10` codes are not drug codes (icd10 is not a drug code system)");
    }

    #[test]
    fn an_ambiguous_system_needs_a_domain() {
        insta::assert_snapshot!(errors(
            r#"codes x = receipt "140038099""#
        ), @r#"E0209 1:11 `receipt` codes exist in several domains (which domain?) help: declare the domain: `codes name: procedure = receipt "…"`, or use the codes directly in `drug …`/`procedure …`"#);
    }

    #[test]
    fn a_range_written_backwards() {
        insta::assert_snapshot!(errors(
            r#"codes x: diagnosis = icd10 "C97".."C00""#
        ), @r#"E0212 1:22 a code range runs from a lower to a higher code of the same length ("C97".."C00") help: write it low to high, e.g. icd10 "C00".."C97"; a range of local codes is one hospital's: local "H03:Y100".."H03:Y199""#);
    }

    #[test]
    fn an_empty_list() {
        insta::assert_snapshot!(errors(
            r#"codes x: diagnosis = icd10()"#
        ), @"E0214 1:22 an empty list of codes matches nothing (no codes)");
    }
}
