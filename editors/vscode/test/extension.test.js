// Unit tests of src/extension.js with stand-ins for the `vscode` API and the
// language client: which command it starts, for which documents, and how it
// reacts to a missing binary, a restart and a change of `govc.path`.
'use strict';

const assert = require('node:assert/strict');
const Module = require('node:module');
const path = require('node:path');
const test = require('node:test');

/** Records what the extension did, reset per test. */
const world = {
  settings: {},
  clients: [],
  commands: new Map(),
  configListeners: [],
  errors: [],
  startFails: false,
};

class FakeLanguageClient {
  constructor(id, name, server, client) {
    Object.assign(this, { id, name, server, client, started: false, stopped: false });
    world.clients.push(this);
  }
  async start() {
    if (world.startFails) {
      throw new Error('spawn govc ENOENT');
    }
    this.started = true;
  }
  async stop() {
    this.stopped = true;
  }
}

const fakeVscode = {
  workspace: {
    getConfiguration: (section) => {
      assert.equal(section, 'govc');
      return { get: (key) => world.settings[key] };
    },
    createFileSystemWatcher: (glob) => ({ glob, dispose() {} }),
    onDidChangeConfiguration: (listener) => {
      world.configListeners.push(listener);
      return { dispose() {} };
    },
  },
  commands: {
    registerCommand: (name, run) => {
      world.commands.set(name, run);
      return { dispose() {} };
    },
  },
  window: {
    showErrorMessage: async (message) => {
      world.errors.push(message);
    },
  },
};

const fakeClientModule = { LanguageClient: FakeLanguageClient, TransportKind: { stdio: 0, ipc: 1 } };

const originalLoad = Module._load;
Module._load = function load(request, parent, isMain) {
  if (request === 'vscode') {
    return fakeVscode;
  }
  if (request === 'vscode-languageclient/node') {
    return fakeClientModule;
  }
  return originalLoad.call(this, request, parent, isMain);
};
const extension = require(path.join(__dirname, '..', 'src', 'extension.js'));

async function activated(settings) {
  Object.assign(world, { settings, clients: [], errors: [], configListeners: [], startFails: false });
  world.commands.clear();
  const context = { subscriptions: [] };
  await extension.activate(context);
  return context;
}

test('starts `govc lsp` over stdio by default', async () => {
  await activated({});
  assert.equal(world.clients.length, 1);
  const [client] = world.clients;
  assert.equal(client.started, true);
  assert.deepEqual(client.server, { command: 'govc', args: ['lsp'], transport: 0 });
  assert.deepEqual(client.client.documentSelector, [
    { scheme: 'file', language: 'gov' },
    { scheme: 'untitled', language: 'gov' },
  ]);
  assert.equal(client.client.synchronize.fileEvents.glob, '**/*.gov');
  await extension.deactivate();
  assert.equal(client.stopped, true);
});

test('uses the binary named by govc.path', async () => {
  await activated({ path: ' /opt/govc/bin/govc ' });
  assert.equal(world.clients[0].server.command, '/opt/govc/bin/govc');
  await extension.deactivate();
  await activated({ path: '' });
  assert.equal(world.clients[0].server.command, 'govc');
  await extension.deactivate();
});

test('a missing binary gives an error message naming the setting, not a failure', async () => {
  Object.assign(world, { settings: { path: 'nowhere/govc' }, clients: [], errors: [] });
  world.startFails = true;
  await extension.activate({ subscriptions: [] });
  world.startFails = false;
  assert.equal(world.errors.length, 1);
  assert.match(world.errors[0], /nowhere\/govc lsp/);
  assert.match(world.errors[0], /govc\.path/);
  await extension.deactivate();
});

test('the restart command and a change of govc.path start a new server', async () => {
  await activated({});
  await world.commands.get('govc.restartServer')();
  assert.equal(world.clients.length, 2);
  assert.equal(world.clients[0].stopped, true);
  assert.equal(world.clients[1].started, true);

  world.settings.path = '/usr/local/bin/govc';
  for (const listener of world.configListeners) {
    listener({ affectsConfiguration: (section) => section === 'govc.path' });
  }
  await new Promise((resolve) => setImmediate(resolve));
  assert.equal(world.clients.length, 3);
  assert.equal(world.clients[2].server.command, '/usr/local/bin/govc');

  for (const listener of world.configListeners) {
    listener({ affectsConfiguration: () => false });
  }
  await new Promise((resolve) => setImmediate(resolve));
  assert.equal(world.clients.length, 3, 'an unrelated setting does not restart the server');
  await extension.deactivate();
});

test('the manifest contributes the language, the grammar and the settings', () => {
  const manifest = require(path.join(__dirname, '..', 'package.json'));
  const [language] = manifest.contributes.languages;
  assert.equal(language.id, 'gov');
  assert.deepEqual(language.extensions, ['.gov']);
  assert.equal(manifest.contributes.grammars[0].scopeName, 'source.gov');
  assert.equal(manifest.contributes.configuration.properties['govc.path'].default, 'govc');
  assert.ok(manifest.contributes.commands.some((c) => c.command === 'govc.restartServer'));
  const grammar = require(path.join(__dirname, '..', manifest.contributes.grammars[0].path));
  assert.equal(grammar.scopeName, 'source.gov');
});

test('the language configuration compiles and indents blocks and lists', () => {
  const config = require(path.join(__dirname, '..', 'language-configuration.json'));
  assert.equal(config.comments.lineComment, '#');
  const word = new RegExp(`^(?:${config.wordPattern})$`);
  for (const w of ['db-password', 'multi_az', '200GiB', '0.5', '8080']) {
    assert.match(w, word);
  }
  const increase = new RegExp(config.indentationRules.increaseIndentPattern);
  const decrease = new RegExp(config.indentationRules.decreaseIndentPattern);
  for (const line of ['service api {', '  environments = [', 'phase "build" {  # comment']) {
    assert.match(line, increase, line);
  }
  for (const line of ['  port = 8080', '  aws { region = "eu-west-1" }', '  x = [a, b]', '  # a { comment']) {
    assert.doesNotMatch(line, increase, line);
  }
  assert.match('  }', decrease);
  assert.match(']', decrease);
  assert.doesNotMatch('  a = 1 }', decrease);
  const docLine = new RegExp(config.onEnterRules[0].beforeText);
  assert.match('  ## The project.', docLine);
  assert.doesNotMatch('  # plain', docLine);
  const pairs = config.autoClosingPairs.map((p) => p.open + p.close);
  assert.deepEqual(pairs, ['{}', '[]', '""']);
});
