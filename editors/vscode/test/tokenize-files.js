// Tokenizes .gov files with the extension's TextMate grammar, as VS Code does,
// and fails on any `invalid.illegal` token (the grammar marks what it does not
// understand) and on comments that are not scoped as comments: the grammar must
// cover every construct the repository's valid files use.
//
// usage: node test/tokenize-files.js FILE...
'use strict';

const fs = require('node:fs');
const path = require('node:path');
const vsctm = require('vscode-textmate');
const oniguruma = require('vscode-oniguruma');

const grammarPath = path.join(__dirname, '..', 'syntaxes', 'gov.tmLanguage.json');
const wasm = fs.readFileSync(require.resolve('vscode-oniguruma/release/onig.wasm')).buffer;

async function loadGrammar() {
  await oniguruma.loadWASM(wasm);
  const registry = new vsctm.Registry({
    onigLib: Promise.resolve({
      createOnigScanner: (patterns) => new oniguruma.OnigScanner(patterns),
      createOnigString: (s) => new oniguruma.OnigString(s),
    }),
    loadGrammar: async (scopeName) =>
      scopeName === 'source.gov'
        ? vsctm.parseRawGrammar(fs.readFileSync(grammarPath, 'utf8'), grammarPath)
        : null,
  });
  return registry.loadGrammar('source.gov');
}

/** The problems in one file, as `file:line:col: message` strings. */
function check(grammar, file) {
  const problems = [];
  // VS Code drops a leading byte-order mark when it opens a file; so does this.
  const lines = fs.readFileSync(file, 'utf8').replace(/^\uFEFF/, '').split(/\r?\n/);
  let stack = vsctm.INITIAL;
  lines.forEach((line, index) => {
    const result = grammar.tokenizeLine(line, stack);
    stack = result.ruleStack;
    for (const token of result.tokens) {
      const text = line.slice(token.startIndex, token.endIndex);
      const at = `${file}:${index + 1}:${token.startIndex + 1}`;
      if (token.scopes.some((s) => s.startsWith('invalid.'))) {
        problems.push(`${at}: \`${text}\` is ${token.scopes.join(' ')}`);
      }
      const inString = token.scopes.some((s) => s.startsWith('string.'));
      if (text.startsWith('#') && !inString && !token.scopes.some((s) => s.startsWith('comment.'))) {
        problems.push(`${at}: comment \`${text}\` is ${token.scopes.join(' ')}`);
      }
    }
  });
  return problems;
}

async function main() {
  const files = process.argv.slice(2);
  if (files.length === 0) {
    console.error('usage: node test/tokenize-files.js FILE...');
    process.exit(2);
  }
  const grammar = await loadGrammar();
  const problems = files.flatMap((file) => check(grammar, file));
  for (const problem of problems) {
    console.error(problem);
  }
  console.log(`TextMate grammar: ${files.length} files tokenized, ${problems.length} problems`);
  process.exit(problems.length === 0 ? 0 : 1);
}

main().catch((error) => {
  console.error(error);
  process.exit(2);
});
