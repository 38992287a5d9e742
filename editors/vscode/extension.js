// The mid extension's client: starts `mid lsp` (the command in the `mid.path` setting) for
// .mid files; highlighting comes from the TextMate grammar, everything else from the server.
const vscode = require("vscode");
const { LanguageClient } = require("vscode-languageclient/node");

let client;

function activate(context) {
  const command = vscode.workspace.getConfiguration("mid").get("path", "mid");
  const server = { command, args: ["lsp"] };
  client = new LanguageClient(
    "mid",
    "mid language server",
    { run: server, debug: server },
    { documentSelector: [{ scheme: "file", language: "mid" }] }
  );
  context.subscriptions.push({ dispose: () => client && client.stop() });
  return client.start();
}

function deactivate() {
  return client ? client.stop() : undefined;
}

module.exports = { activate, deactivate };
