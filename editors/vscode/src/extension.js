// The govc extension for VS Code: the `gov` language (highlighting comes from
// syntaxes/gov.tmLanguage.json) and a client for `govc lsp`, the language
// server, spoken to over stdio.
//
// Plain JavaScript (CommonJS), so the package needs no build step.
'use strict';

const vscode = require('vscode');
const { LanguageClient, TransportKind } = require('vscode-languageclient/node');

/** The client of the running server, if one was started. */
let client;

/** The command that starts the server: `govc.path` (default `govc`) with `lsp`. */
function serverOptions(config) {
  const configured = config.get('path');
  const command = typeof configured === 'string' && configured.trim() !== '' ? configured.trim() : 'govc';
  return { command, args: ['lsp'], transport: TransportKind.stdio };
}

/** What the client asks of the server: every `.gov` file, on disk or unsaved. */
function clientOptions(watcher) {
  return {
    documentSelector: [
      { scheme: 'file', language: 'gov' },
      { scheme: 'untitled', language: 'gov' },
    ],
    synchronize: { fileEvents: watcher },
    outputChannelName: 'govc',
  };
}

/** Starts a client for the configured server; reports a missing binary instead of failing. */
async function start(context) {
  const config = vscode.workspace.getConfiguration('govc');
  const server = serverOptions(config);
  const watcher = vscode.workspace.createFileSystemWatcher('**/*.gov');
  context.subscriptions.push(watcher);
  client = new LanguageClient('govc', 'govc language server', server, clientOptions(watcher));
  try {
    await client.start();
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    client = undefined;
    void vscode.window.showErrorMessage(
      `govc: could not start the language server \`${server.command} lsp\` (${message}). ` +
        'Install govc or set `govc.path` to its binary.',
    );
  }
}

async function stop() {
  if (client === undefined) {
    return;
  }
  const running = client;
  client = undefined;
  await running.stop();
}

async function restart(context) {
  await stop();
  await start(context);
}

async function activate(context) {
  context.subscriptions.push(
    vscode.commands.registerCommand('govc.restartServer', () => restart(context)),
    vscode.workspace.onDidChangeConfiguration((event) => {
      if (event.affectsConfiguration('govc.path')) {
        void restart(context);
      }
    }),
  );
  await start(context);
}

function deactivate() {
  return stop();
}

module.exports = { activate, deactivate, serverOptions, clientOptions };
