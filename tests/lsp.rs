//! `mid lsp` driven as an editor drives it: JSON-RPC messages over the process's standard
//! input and output — diagnostics as the script changes, hover, definitions (the script's
//! and the stdlib's), completion, symbols, formatting, shutdown.

use std::io::{BufRead, BufReader, Read, Write};
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};

use serde_json::{Value, json};

struct Server {
    child: Child,
    input: ChildStdin,
    output: BufReader<ChildStdout>,
    next: i64,
    /// Notifications read while waiting for a response.
    notes: Vec<Value>,
}

impl Server {
    fn start(cache: &std::path::Path) -> Server {
        let mut child = Command::new(env!("CARGO_BIN_EXE_mid"))
            .arg("lsp")
            .env("XDG_CACHE_HOME", cache)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("mid lsp starts");
        let input = child.stdin.take().expect("stdin");
        let output = BufReader::new(child.stdout.take().expect("stdout"));
        Server {
            child,
            input,
            output,
            next: 0,
            notes: Vec::new(),
        }
    }

    fn send(&mut self, msg: &Value) {
        let body = msg.to_string();
        write!(self.input, "Content-Length: {}\r\n\r\n{body}", body.len()).expect("write");
        self.input.flush().expect("flush");
    }

    fn read(&mut self) -> Value {
        let mut len = 0;
        loop {
            let mut line = String::new();
            assert!(
                self.output.read_line(&mut line).expect("a header") > 0,
                "server closed"
            );
            let line = line.trim_end();
            if line.is_empty() {
                break;
            }
            if let Some(n) = line.strip_prefix("Content-Length: ") {
                len = n.parse().expect("a length");
            }
        }
        let mut body = vec![0; len];
        self.output.read_exact(&mut body).expect("a body");
        serde_json::from_slice(&body).expect("JSON")
    }

    fn request(&mut self, method: &str, params: Value) -> Value {
        self.next += 1;
        let id = self.next;
        self.send(&json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params}));
        loop {
            let m = self.read();
            if m["id"] == id {
                assert!(m.get("error").is_none(), "{method}: {m}");
                return m["result"].clone();
            }
            self.notes.push(m);
        }
    }

    fn notify(&mut self, method: &str, params: Value) {
        self.send(&json!({"jsonrpc": "2.0", "method": method, "params": params}));
    }

    /// The next diagnostics published for `uri`.
    fn diagnostics(&mut self, uri: &str) -> Vec<Value> {
        loop {
            let m = if let Some(i) = self
                .notes
                .iter()
                .position(|n| n["method"] == "textDocument/publishDiagnostics")
            {
                self.notes.remove(i)
            } else {
                self.read()
            };
            if m["method"] == "textDocument/publishDiagnostics" && m["params"]["uri"] == uri {
                return m["params"]["diagnostics"]
                    .as_array()
                    .expect("a list")
                    .clone();
            }
        }
    }
}

/// One text field of every item of a list result (completion labels, symbol names).
fn field<'a>(list: &'a Value, key: &str) -> Vec<&'a str> {
    list.as_array()
        .expect("a list")
        .iter()
        .map(|x| x[key].as_str().expect("text"))
        .collect()
}

fn at(uri: &str, line: u32, character: u32) -> Value {
    json!({"textDocument": {"uri": uri}, "position": {"line": line, "character": character}})
}

#[test]
fn the_language_server_answers_an_editor() {
    let dir = tempfile::tempdir().expect("a directory");
    let path = dir.path().join("study.mid");
    let uri = format!("file://{}", path.display());
    let mut s = Server::start(&dir.path().join("cache"));
    let init = s.request("initialize", json!({"capabilities": {}, "processId": null}));
    let caps = &init["capabilities"];
    for c in [
        "hoverProvider",
        "definitionProvider",
        "completionProvider",
        "documentSymbolProvider",
        "documentFormattingProvider",
    ] {
        assert!(!caps[c].is_null(), "{c} in {init}");
    }
    s.notify("initialized", json!({}));

    // A mistake is reported where it is, with its code.
    let broken = "import labs.{alt}\ncodes x: drug = yj \"2432001\"\ncohort c {\n  index = first drug y\n}\n";
    s.notify(
        "textDocument/didOpen",
        json!({"textDocument": {"uri": uri, "languageId": "mid", "version": 1, "text": broken}}),
    );
    let d = s.diagnostics(&uri);
    assert_eq!(d.len(), 1, "{d:?}");
    assert_eq!(d[0]["code"], "E0101");
    assert_eq!(d[0]["range"]["start"], json!({"line": 3, "character": 21}));
    assert!(d[0]["message"].as_str().unwrap().contains("`y`"), "{d:?}");

    // Fixed: no diagnostics.
    let text = "import labs.{alt}\ncodes x: drug = yj \"2432001\"\ncohort c {\n  index = first drug x where setting = \"outpatient\"\n  exclude lab alt > 100 U/L within 90 days before index\n}\n";
    s.notify(
        "textDocument/didChange",
        json!({"textDocument": {"uri": uri, "version": 2}, "contentChanges": [{"text": text}]}),
    );
    assert!(s.diagnostics(&uri).is_empty());

    // Hover: a lab item's unit and reference interval; a code set's codes.
    let h = s.request("textDocument/hover", at(&uri, 4, 14));
    let v = h["contents"]["value"].as_str().expect("markdown");
    assert!(
        v.contains("labs.alt") && v.contains("U/L") && v.contains("reference interval"),
        "{v}"
    );
    let h = s.request("textDocument/hover", at(&uri, 3, 22));
    assert!(
        h["contents"]["value"]
            .as_str()
            .unwrap()
            .contains("yj 2432001"),
        "{h}"
    );

    // Definition: the script's own, and the stdlib's in a file the editor can open.
    let def = s.request("textDocument/definition", at(&uri, 3, 22));
    assert_eq!(def["uri"], uri);
    assert_eq!(def["range"]["start"], json!({"line": 1, "character": 6}));
    let def = s.request("textDocument/definition", at(&uri, 4, 14));
    let target = def["uri"].as_str().expect("a URI");
    assert!(target.ends_with("/labs.mid"), "{def}");
    let file = std::fs::read_to_string(target.trim_start_matches("file://")).expect("written");
    let line = def["range"]["start"]["line"].as_u64().unwrap() as usize;
    assert!(file.lines().nth(line).unwrap().contains("alt"), "{def}");

    // Completion: a table's columns after `where`, the units of the item's dimension, and a
    // stdlib name that brings its import.
    let (l, ch) = (3, "  index = first drug x where ".len() as u32);
    let items = s.request("textDocument/completion", at(&uri, l, ch));
    let labels = field(&items, "label");
    assert!(
        labels.contains(&"setting") && labels.contains(&"days_supply"),
        "{labels:?}"
    );
    let items = s.request(
        "textDocument/completion",
        at(&uri, 4, "  exclude lab alt > 100 ".len() as u32),
    );
    assert!(
        items
            .as_array()
            .unwrap()
            .iter()
            .any(|i| i["label"] == "IU/L"),
        "{items}"
    );
    let items = s.request("textDocument/completion", at(&uri, 6, 0));
    let glucose = items
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["label"] == "glucose")
        .expect("glucose");
    assert_eq!(
        glucose["additionalTextEdits"][0]["newText"],
        "import labs.{glucose}\n"
    );

    // Symbols: the script's declarations.
    let syms = s.request(
        "textDocument/documentSymbol",
        json!({"textDocument": {"uri": uri}}),
    );
    let names = field(&syms, "name");
    assert_eq!(names, ["x", "c"]);

    // Formatting: the layout `mid fmt` gives.
    let messy = "codes   x: drug = yj \"2432001\"\ncohort c {\nindex = first drug x\n}\n";
    s.notify(
        "textDocument/didChange",
        json!({"textDocument": {"uri": uri, "version": 3}, "contentChanges": [{"text": messy}]}),
    );
    let edits = s.request(
        "textDocument/formatting",
        json!({"textDocument": {"uri": uri}, "options": {"tabSize": 2, "insertSpaces": true}}),
    );
    let want = mid_grammar::format::format(messy).expect("it formats");
    assert_ne!(want, messy);
    assert_eq!(edits[0]["newText"], want, "{edits}");

    // An example as it stands: no diagnostics; hover on a stdlib outcome definition shows its
    // validation metadata; a stdlib lab item's definition opens; names complete.
    let example = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../examples/thiamazole_granulocytopenia/study.mid"
    ))
    .expect("the example");
    let ex_uri = format!("file://{}", dir.path().join("thiamazole.mid").display());
    s.notify(
        "textDocument/didOpen",
        json!({"textDocument": {"uri": ex_uri, "languageId": "mid", "version": 1, "text": example}}),
    );
    assert!(s.diagnostics(&ex_uri).is_empty());
    let place = |needle: &str, nth: usize| {
        let at = example
            .match_indices(needle)
            .nth(nth)
            .expect("in the example")
            .0;
        let line = example[..at].matches('\n').count() as u32;
        let col = (at - example[..at].rfind('\n').map_or(0, |i| i + 1)) as u32;
        (line, col)
    };
    let (l, c) = place("neutropenia", 0);
    let h = s.request("textDocument/hover", at(&ex_uri, l, c + 2));
    let v = h["contents"]["value"].as_str().expect("markdown");
    assert!(
        v.contains("outcomes.neutropenia") && v.contains("status"),
        "{v}"
    );
    let (l, c) = place("neutrophil_count", 0);
    let def = s.request("textDocument/definition", at(&ex_uri, l, c + 1));
    assert!(def["uri"].as_str().unwrap().ends_with("/labs.mid"), "{def}");
    let (l, c) = place("thiamazole_users", 1);
    let def = s.request("textDocument/definition", at(&ex_uri, l, c + 1));
    assert_eq!(def["uri"], ex_uri);
    let items = s.request("textDocument/completion", at(&ex_uri, l, c));
    let labels = field(&items, "label");
    assert!(
        labels.contains(&"thiamazole_users") && labels.contains(&"granulocytopenia"),
        "{labels:?}"
    );

    s.request("shutdown", Value::Null);
    s.notify("exit", Value::Null);
    let status = s.child.wait().expect("it exits");
    assert!(status.success(), "{status}");
}
