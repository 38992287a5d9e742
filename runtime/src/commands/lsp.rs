//! `mid lsp`: a language server over standard input and output (the Language Server
//! Protocol, through `lsp-server`, the synchronous transport rust-analyzer is built on):
//! diagnostics as the script changes, hover, go to definition (into the stdlib too, whose
//! modules are written once to a cache directory so an editor can open them), completion,
//! the document's symbols and formatting. Every answer comes from the compiler's check of the
//! current text (`mid_compiler::ide`); the server keeps only the texts.

use std::collections::HashMap;
use std::path::PathBuf;
use std::process::ExitCode;

use lsp_server::{Connection, Message, Notification, Request, Response};
use lsp_types::notification::Notification as _;
use lsp_types::request::Request as _;
use lsp_types::{
    CompletionItem, CompletionItemKind, CompletionOptions, CompletionParams, Diagnostic,
    DiagnosticSeverity, DidChangeTextDocumentParams, DidCloseTextDocumentParams,
    DidOpenTextDocumentParams, DocumentFormattingParams, DocumentSymbol, DocumentSymbolParams,
    GotoDefinitionParams, Hover, HoverContents, HoverParams, HoverProviderCapability, Location,
    MarkupContent, MarkupKind, NumberOrString, OneOf, Position, PublishDiagnosticsParams, Range,
    ServerCapabilities, SymbolKind, TextDocumentSyncCapability, TextDocumentSyncKind, TextEdit,
    Url,
};
use mid_compiler::diag::Severity;
use mid_compiler::{Checked, ide};

use crate::error::{Error, Result};

/// Arguments of `mid lsp` (none: it speaks on standard input and output).
#[derive(Debug, Clone, clap::Args)]
pub struct LspArgs {}

pub fn lsp(_args: &LspArgs) -> Result<ExitCode> {
    let (connection, io) = Connection::stdio();
    let caps = ServerCapabilities {
        text_document_sync: Some(TextDocumentSyncCapability::Kind(TextDocumentSyncKind::FULL)),
        hover_provider: Some(HoverProviderCapability::Simple(true)),
        definition_provider: Some(OneOf::Left(true)),
        completion_provider: Some(CompletionOptions {
            trigger_characters: Some(vec![".".into(), "{".into(), " ".into()]),
            ..Default::default()
        }),
        document_symbol_provider: Some(OneOf::Left(true)),
        document_formatting_provider: Some(OneOf::Left(true)),
        ..Default::default()
    };
    let caps = serde_json::to_value(caps).map_err(|e| Error::context("mid lsp", e))?;
    connection
        .initialize(caps)
        .map_err(|e| Error::context("mid lsp: initialize", e))?;
    let mut server = Server {
        conn: &connection,
        docs: HashMap::new(),
        parsed: HashMap::new(),
    };
    server.run()?;
    drop(connection);
    io.join().map_err(|e| Error::context("mid lsp", e))?;
    Ok(ExitCode::SUCCESS)
}

struct Server<'c> {
    conn: &'c Connection,
    docs: HashMap<Url, String>,
    /// Each document's last check that parsed: the names completion offers while the line
    /// being typed does not parse yet.
    parsed: HashMap<Url, Checked>,
}

impl Server<'_> {
    fn run(&mut self) -> Result<()> {
        for msg in &self.conn.receiver {
            match msg {
                Message::Request(req) => {
                    if self
                        .conn
                        .handle_shutdown(&req)
                        .map_err(|e| Error::context("mid lsp", e))?
                    {
                        return Ok(());
                    }
                    let id = req.id.clone();
                    let resp = match self.request(req) {
                        Ok(v) => Response::new_ok(id, v),
                        Err(e) => Response::new_err(id, -32603, e.to_string()),
                    };
                    self.send(Message::Response(resp))?;
                }
                Message::Notification(n) => self.notification(n)?,
                Message::Response(_) => {}
            }
        }
        Ok(())
    }

    fn send(&self, m: Message) -> Result<()> {
        self.conn
            .sender
            .send(m)
            .map_err(|e| Error::context("mid lsp: send", e))
    }

    fn notification(&mut self, n: Notification) -> Result<()> {
        let bad = |e: serde_json::Error| Error::context(format!("mid lsp: {}", n.method), e);
        match n.method.as_str() {
            lsp_types::notification::DidOpenTextDocument::METHOD => {
                let p: DidOpenTextDocumentParams =
                    serde_json::from_value(n.params.clone()).map_err(bad)?;
                self.docs
                    .insert(p.text_document.uri.clone(), p.text_document.text);
                self.publish(&p.text_document.uri)?;
            }
            lsp_types::notification::DidChangeTextDocument::METHOD => {
                let p: DidChangeTextDocumentParams =
                    serde_json::from_value(n.params.clone()).map_err(bad)?;
                // Full synchronisation: the last change is the whole text.
                if let Some(c) = p.content_changes.into_iter().last() {
                    self.docs.insert(p.text_document.uri.clone(), c.text);
                }
                self.publish(&p.text_document.uri)?;
            }
            lsp_types::notification::DidCloseTextDocument::METHOD => {
                let p: DidCloseTextDocumentParams =
                    serde_json::from_value(n.params.clone()).map_err(bad)?;
                self.docs.remove(&p.text_document.uri);
                self.parsed.remove(&p.text_document.uri);
                // An editor clears what it showed for a closed file.
                self.notify::<lsp_types::notification::PublishDiagnostics>(
                    PublishDiagnosticsParams {
                        uri: p.text_document.uri,
                        diagnostics: Vec::new(),
                        version: None,
                    },
                )?;
            }
            _ => {}
        }
        Ok(())
    }

    fn notify<N: lsp_types::notification::Notification>(&self, params: N::Params) -> Result<()> {
        self.send(Message::Notification(Notification::new(
            N::METHOD.to_string(),
            params,
        )))
    }

    fn text(&self, uri: &Url) -> Result<&str> {
        self.docs
            .get(uri)
            .map(String::as_str)
            .ok_or_else(|| Error::new(format!("{uri} is not open")))
    }

    fn check(&self, uri: &Url) -> Result<Checked> {
        let text = self.text(uri)?;
        Ok(mid_compiler::check_file(&file_name(uri), text.as_bytes()))
    }

    /// The script's diagnostics, at their places in it.
    fn publish(&mut self, uri: &Url) -> Result<()> {
        let c = self.check(uri)?;
        self.publish_checked(uri, &c)?;
        if !parse_failed(&c) {
            self.parsed.insert(uri.clone(), c);
        }
        Ok(())
    }

    fn publish_checked(&self, uri: &Url, c: &Checked) -> Result<()> {
        let text = self.text(uri)?;
        let diagnostics = c
            .diagnostics
            .iter()
            .filter(|d| d.primary.file == c.file)
            .map(|d| {
                let mut message = d.message.clone();
                if let Some(h) = &d.help {
                    message.push_str(&format!("\nhelp: {h}"));
                }
                Diagnostic {
                    range: range(text, d.primary.span.start, d.primary.span.end),
                    severity: Some(match d.severity {
                        Severity::Error => DiagnosticSeverity::ERROR,
                        Severity::Warning => DiagnosticSeverity::WARNING,
                    }),
                    code: Some(NumberOrString::String(d.code.as_str().to_string())),
                    source: Some("mid".into()),
                    message,
                    ..Default::default()
                }
            })
            .collect();
        self.notify::<lsp_types::notification::PublishDiagnostics>(PublishDiagnosticsParams {
            uri: uri.clone(),
            diagnostics,
            version: None,
        })
    }

    fn request(&mut self, req: Request) -> Result<serde_json::Value> {
        let bad = |e: serde_json::Error| Error::context(format!("mid lsp: {}", req.method), e);
        let json = |v: Option<serde_json::Value>| Ok(v.unwrap_or(serde_json::Value::Null));
        let to =
            |v: serde_json::Result<serde_json::Value>| v.map_err(|e| Error::context("mid lsp", e));
        match req.method.as_str() {
            lsp_types::request::HoverRequest::METHOD => {
                let p: HoverParams = serde_json::from_value(req.params.clone()).map_err(bad)?;
                let uri = p.text_document_position_params.text_document.uri;
                let c = self.check(&uri)?;
                let text = self.text(&uri)?;
                let at = offset(text, p.text_document_position_params.position);
                let Some(n) = ide::name_at(text, at) else {
                    return json(None);
                };
                let Some(id) = ide::resolve(&c, &n) else {
                    return json(None);
                };
                json(Some(to(serde_json::to_value(Hover {
                    contents: HoverContents::Markup(MarkupContent {
                        kind: MarkupKind::Markdown,
                        value: ide::hover(&c, id),
                    }),
                    range: Some(range(text, n.span.start, n.span.end)),
                }))?))
            }
            lsp_types::request::GotoDefinition::METHOD => {
                let p: GotoDefinitionParams =
                    serde_json::from_value(req.params.clone()).map_err(bad)?;
                let uri = p.text_document_position_params.text_document.uri;
                let c = self.check(&uri)?;
                let text = self.text(&uri)?;
                let at = offset(text, p.text_document_position_params.position);
                let Some(id) = ide::name_at(text, at).and_then(|n| ide::resolve(&c, &n)) else {
                    return json(None);
                };
                let d = c.hir.def(id);
                let file = c.sources.get(d.file);
                let target = if d.file == c.file {
                    uri.clone()
                } else {
                    stdlib_file(&file.name, &file.text)?
                };
                json(Some(to(serde_json::to_value(Location {
                    uri: target,
                    range: range(&file.text, d.span.start, d.span.end),
                }))?))
            }
            lsp_types::request::Completion::METHOD => {
                let p: CompletionParams =
                    serde_json::from_value(req.params.clone()).map_err(bad)?;
                let uri = p.text_document_position.text_document.uri;
                let now = self.check(&uri)?;
                let c = if parse_failed(&now) {
                    self.parsed.get(&uri)
                } else {
                    Some(&now)
                };
                let text = self.text(&uri)?;
                let at = offset(text, p.text_document_position.position);
                let items: Vec<CompletionItem> = ide::completions(c, text, at)
                    .into_iter()
                    .map(|x| CompletionItem {
                        kind: Some(match x.kind {
                            "keyword" => CompletionItemKind::KEYWORD,
                            "module" => CompletionItemKind::MODULE,
                            "column" => CompletionItemKind::FIELD,
                            "value" => CompletionItemKind::ENUM_MEMBER,
                            "unit" => CompletionItemKind::UNIT,
                            "system" => CompletionItemKind::CONSTANT,
                            _ => CompletionItemKind::VARIABLE,
                        }),
                        detail: Some(x.detail),
                        // A stdlib name brings its import, on its own line after the others.
                        additional_text_edits: x.import.map(|line| {
                            vec![TextEdit {
                                range: {
                                    let p = import_place(text);
                                    Range { start: p, end: p }
                                },
                                new_text: format!("{line}\n"),
                            }]
                        }),
                        label: x.label,
                        ..Default::default()
                    })
                    .collect();
                json(Some(to(serde_json::to_value(items))?))
            }
            lsp_types::request::DocumentSymbolRequest::METHOD => {
                let p: DocumentSymbolParams =
                    serde_json::from_value(req.params.clone()).map_err(bad)?;
                let c = self.check(&p.text_document.uri)?;
                let text = self.text(&p.text_document.uri)?;
                #[allow(deprecated)]
                let symbols: Vec<DocumentSymbol> = ide::symbols(&c)
                    .into_iter()
                    .map(|s| DocumentSymbol {
                        name: s.name,
                        detail: Some(s.kind.into()),
                        kind: match s.kind {
                            "cohort" | "template" => SymbolKind::CLASS,
                            "outcome" => SymbolKind::EVENT,
                            "lab" => SymbolKind::FIELD,
                            "grading" => SymbolKind::ENUM,
                            "codes" => SymbolKind::CONSTANT,
                            _ => SymbolKind::FUNCTION,
                        },
                        tags: None,
                        deprecated: None,
                        range: range(text, s.at.start, s.at.end),
                        selection_range: range(text, s.at.start, s.at.end),
                        children: None,
                    })
                    .collect();
                json(Some(to(serde_json::to_value(symbols))?))
            }
            lsp_types::request::Formatting::METHOD => {
                let p: DocumentFormattingParams =
                    serde_json::from_value(req.params.clone()).map_err(bad)?;
                let text = self.text(&p.text_document.uri)?;
                // A text that does not parse is left as it is (its diagnostics say why).
                let Ok(formatted) = mid_grammar::format::format(text) else {
                    return json(None);
                };
                if formatted == text {
                    return json(Some(serde_json::json!([])));
                }
                json(Some(to(serde_json::to_value(vec![TextEdit {
                    range: range(text, 0, text.len()),
                    new_text: formatted,
                }]))?))
            }
            other => Err(Error::new(format!("mid lsp: no method {other}"))),
        }
    }
}

/// Whether a check stopped at syntax (E00xx): its names are not all there.
fn parse_failed(c: &Checked) -> bool {
    c.diagnostics
        .iter()
        .any(|d| d.is_error() && d.code.as_str().starts_with("E00"))
}

/// The file name diagnostics and the checker use: the path of a `file:` URI.
fn file_name(uri: &Url) -> String {
    uri.to_file_path()
        .map(|p| p.display().to_string())
        .unwrap_or_else(|_| uri.to_string())
}

/// A stdlib module (`stdlib/labs.mid`) as a file an editor can open: written once per
/// version of its text under the cache directory.
fn stdlib_file(name: &str, text: &str) -> Result<Url> {
    use sha2::Digest;
    let base = std::env::var_os("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")))
        .unwrap_or_else(std::env::temp_dir);
    let hash = sha2::Sha256::digest(text.as_bytes());
    let dir = base.join("mid").join(format!(
        "stdlib-{:02x}{:02x}{:02x}{:02x}",
        hash[0], hash[1], hash[2], hash[3]
    ));
    let file = dir.join(name.rsplit('/').next().unwrap_or(name));
    if !file.exists() {
        std::fs::create_dir_all(&dir)
            .and_then(|_| std::fs::write(&file, text))
            .map_err(|e| Error::context(format!("cannot write {}", file.display()), e))?;
    }
    Url::from_file_path(&file).map_err(|_| Error::new(format!("no URI for {}", file.display())))
}

/// Where a new import line goes: after the last `import` line, else after `study`, else at
/// the top.
fn import_place(text: &str) -> Position {
    let mut line = 0;
    for (i, l) in text.lines().enumerate() {
        let t = l.trim_start();
        if t.starts_with("import ") || t.starts_with("study ") {
            line = i + 1;
        }
    }
    Position {
        line: line as u32,
        character: 0,
    }
}

/// A byte offset of `text` as an LSP position (line, UTF-16 code units).
fn position(text: &str, offset: usize) -> Position {
    let offset = offset.min(text.len());
    let before = &text[..offset];
    let line = before.matches('\n').count();
    let start = before.rfind('\n').map_or(0, |i| i + 1);
    let character: usize = before[start..].chars().map(char::len_utf16).sum();
    Position {
        line: line as u32,
        character: character as u32,
    }
}

fn range(text: &str, start: usize, end: usize) -> Range {
    Range {
        start: position(text, start),
        end: position(text, end),
    }
}

/// An LSP position as a byte offset of `text`.
fn offset(text: &str, p: Position) -> usize {
    let mut at = 0;
    for (i, line) in text.split_inclusive('\n').enumerate() {
        if i == p.line as usize {
            let mut units = 0;
            for (b, ch) in line.char_indices() {
                if units >= p.character as usize || ch == '\n' {
                    return at + b;
                }
                units += ch.len_utf16();
            }
            return at + line.trim_end_matches('\n').len();
        }
        at += line.len();
    }
    text.len()
}

#[cfg(test)]
mod tests {
    use super::{Position, offset, position};

    #[test]
    fn positions_count_utf16_units() {
        let text = "a\nβγ x\n";
        let at = text.find('x').unwrap();
        let p = position(text, at);
        assert_eq!((p.line, p.character), (1, 3));
        assert_eq!(
            offset(
                text,
                Position {
                    line: 1,
                    character: 3
                }
            ),
            at
        );
        assert_eq!(
            offset(
                text,
                Position {
                    line: 5,
                    character: 0
                }
            ),
            text.len()
        );
    }
}
