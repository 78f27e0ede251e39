#!/usr/bin/env node
// pscheck: a PowerShell check that needs no PowerShell.
//
// It parses every .ps1/.psm1/.psd1 file it is given (directories are searched
// recursively, skipping node_modules, testdata, .git, .cache and build) with
// the tree-sitter PowerShell grammar and prints one line per problem:
//
//   path:line:col: syntax error near "text"
//   path:line:col: missing "}"
//   path:line:col: [rule] message            (the lint rules of lint.js)
//
// It also refuses files with non-ASCII characters and no UTF-8 byte order
// mark, because Windows PowerShell 5.1 reads such files as ANSI.
//
// The grammar raises false alarms on a few valid constructs. Avoid them
// (see README.md); where that is not possible, end the line on which the
// syntax error is reported with the comment "# pscheck: allow <reason>".
// The lint rules have no such escape; the binder rule has its own marker.
//
// Usage:
//   node check.js [paths...]        check syntax and the lint rules; exit 1
//                                   when any file has a problem
//   node check.js --syntax-only [paths...]
//                                   check the syntax only
//   node check.js --self-test       prove the checker: every file under
//                                   testdata/bad must fail at its
//                                   "# expect-error-line: N [rule]" lines (and,
//                                   when a rule is named, nowhere else), every
//                                   file under testdata/good must pass
'use strict';

const fs = require('fs');
const path = require('path');
// V8 compiles the grammar's WebAssembly with its baseline compiler only:
// the optimizing tier costs several seconds of CPU per run (and holds
// the exit until it is done) for a program that parses a few files.
require('v8').setFlagsFromString('--liftoff-only');
const { Parser, Language } = require('web-tree-sitter');
const { lintFile, moduleOf } = require('./lint');

const EXTENSIONS = new Set(['.ps1', '.psm1', '.psd1']);
const SKIP_DIRS = new Set(['node_modules', 'testdata', '.git', '.cache', 'build']);
const ALLOW_PRAGMA = /#\s*pscheck:\s*allow\b/;
const EXPECT_PRAGMA = /^#\s*expect-error-line:\s*(\d+)(?:\s+(\w+))?\s*$/;

// Hints for the grammar's known false alarms, shown next to an error on a
// line that matches.
const FALSE_ALARM_HINTS = [
  {
    pattern: /"[^"]*\$[A-Za-z_][A-Za-z0-9_]*\s+#\$/,
    hint: 'the grammar misreads "$a #$b" inside a double-quoted string; use -f formatting',
  },
  {
    pattern: /\bswitch\s*(-\w+\s*)*\(.*\)\s*\{.*\{.*\}.*\}/i,
    hint: 'the grammar misreads a one-line switch; write it on several lines',
  },
];

// The PowerShell 7 operators that start with "?" (??, ??=, ?., ?[], ? :)
// are syntax errors for the grammar, as for Windows PowerShell 5.1.
const PS7_OPERATOR = /\?\?|\?\.|\?\[|\s\?\s|^\s*\?/;

/** Loads the grammar once and returns a ready parser. */
async function newParser() {
  await Parser.init();
  const wasm = require.resolve('tree-sitter-powershell/tree-sitter-powershell.wasm');
  const language = await Language.load(wasm);
  const parser = new Parser();
  parser.setLanguage(language);
  return parser;
}

/** Expands files and directories into the list of PowerShell files to check. */
function collect(inputs) {
  const files = [];
  const walk = (dir) => {
    for (const entry of fs.readdirSync(dir, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
      const full = path.join(dir, entry.name);
      if (entry.isDirectory()) {
        if (!SKIP_DIRS.has(entry.name)) walk(full);
      } else if (entry.isFile() && EXTENSIONS.has(path.extname(entry.name).toLowerCase())) {
        files.push(full);
      }
    }
  };
  for (const input of inputs) {
    const stat = fs.statSync(input);
    if (stat.isDirectory()) walk(input);
    else files.push(input);
  }
  return files;
}

/** Returns a short, single-line excerpt of a node's text. */
function excerpt(text) {
  const line = text.split(/\r?\n/)[0].trim();
  return line.length > 40 ? line.slice(0, 40) + '...' : line;
}

/**
 * Returns where an error node really starts: an ERROR node may begin with
 * the comments in front of the faulty statement, which would point the
 * report at the comment.
 */
function errorStart(node) {
  const children = node.children;
  for (let i = 0; i < children.length; i++) {
    if (children[i].type !== 'comment') {
      return children[i].startPosition;
    }
  }
  return node.startPosition;
}

/** Reads and parses one file: {text, lines, hasBOM, tree}. The caller deletes the tree. */
function parseFile(parser, file) {
  const buf = fs.readFileSync(file);
  const hasBOM = buf.length >= 3 && buf[0] === 0xef && buf[1] === 0xbb && buf[2] === 0xbf;
  const text = buf.toString('utf8', hasBOM ? 3 : 0);
  return { file, text, lines: text.split('\n'), hasBOM, tree: parser.parse(text) };
}

/**
 * Checks one parsed file and returns its problems as {line, col, message},
 * lines and columns counted from 1: syntax errors, then the lint rules
 * (lint.js) for the module the file belongs to.
 */
function checkParsed(parsed, module) {
  const { text, lines, hasBOM, tree } = parsed;
  const problems = [];

  if (!hasBOM) {
    for (let i = 0; i < lines.length; i++) {
      const col = lines[i].search(/[^\x00-\x7f]/);
      if (col >= 0) {
        problems.push({
          line: i + 1,
          col: col + 1,
          message: 'non-ASCII character in a file without a UTF-8 byte order mark (Windows PowerShell 5.1 reads it as ANSI)',
        });
        break;
      }
    }
  }

  const seen = new Set();
  const visit = (node) => {
    if (node.isError || node.isMissing) {
      const start = errorStart(node);
      const line = start.row + 1;
      const col = start.column + 1;
      const key = `${line}:${col}`;
      if (seen.has(key)) return;
      seen.add(key);
      const source = lines[line - 1] || '';
      if (ALLOW_PRAGMA.test(source)) return;
      const rest = (lines[start.row] || '').slice(start.column);
      let message = node.isMissing
        ? `missing "${node.type}"`
        : `syntax error near "${excerpt(rest)}"`;
      if (!node.isMissing && PS7_OPERATOR.test(node.text)) {
        message = `[ps51] ${message}: a PowerShell 7 operator (?? ??= ?. ?[] or ? :) that Windows PowerShell 5.1 cannot parse`;
      }
      const alarm = FALSE_ALARM_HINTS.find((h) => h.pattern.test(source));
      if (alarm) message += ` (${alarm.hint})`;
      problems.push({ line, col, message });
      return; // the children of an error node repeat the same error
    }
    if (node.hasError) {
      for (const child of node.children) visit(child);
    }
  };
  visit(tree.rootNode);
  if (module) problems.push(...lintFile(parsed.file, tree, module));
  problems.sort((a, b) => a.line - b.line || a.col - b.col);
  return problems;
}

/** Checks one file on its own: it is its own module. */
function checkFile(parser, file) {
  const parsed = parseFile(parser, file);
  try {
    return checkParsed(parsed, moduleOf([parsed.tree]));
  } finally {
    parsed.tree.delete();
  }
}

/** True when directory a is directory b or lies below it. */
function within(a, b) {
  const rel = path.relative(b, a);
  return rel === '' || (!rel.startsWith('..') && !path.isAbsolute(rel));
}

/**
 * Checks the given paths, prints the problems and returns the exit code.
 * With lint off only the syntax is checked (the lint rules are for the
 * module's code, not for every script of the repository).
 */
function run(parser, inputs, lint) {
  const files = collect(inputs);
  if (files.length === 0) {
    console.error('pscheck: no PowerShell files found');
    return 1;
  }
  const parsed = files.map((file) => parseFile(parser, file));
  // The files of one directory form one module (the .psm1 dot-sources
  // them), and the scripts of a directory below it (extensions, tests)
  // call its functions: a file sees the functions, calls and strings of
  // its own directory and of the directories above and below it.
  const modules = new Map();
  const moduleFor = (dir) => {
    if (!modules.has(dir)) {
      const related = parsed.filter((p) => within(path.dirname(p.file), dir) || within(dir, path.dirname(p.file)));
      modules.set(dir, moduleOf(related.map((p) => p.tree)));
    }
    return modules.get(dir);
  };
  let failed = 0;
  for (const p of parsed) {
    const problems = checkParsed(p, lint ? moduleFor(path.dirname(p.file)) : null);
    for (const q of problems) console.log(`${p.file}:${q.line}:${q.col}: ${q.message}`);
    if (problems.length > 0) failed++;
  }
  for (const p of parsed) p.tree.delete();
  if (failed > 0) {
    console.error(`pscheck: ${failed} of ${files.length} files have errors`);
    return 1;
  }
  console.error(`pscheck: ${files.length} files OK${lint ? '' : ' (syntax only)'}`);
  return 0;
}

/**
 * Proves the checker on its fixtures: each bad file must report an error on
 * every line named by an "# expect-error-line: N" comment, each good file
 * must report nothing.
 */
function selfTest(parser) {
  const root = path.join(__dirname, 'testdata');
  const failures = [];
  const fixtures = (dir) => fs.readdirSync(path.join(root, dir))
    .filter((n) => EXTENSIONS.has(path.extname(n).toLowerCase()))
    .sort()
    .map((n) => path.join(root, dir, n));
  const badFiles = fixtures('bad');
  const goodFiles = fixtures('good');

  if (badFiles.length === 0) failures.push('no fixtures in testdata/bad');
  if (goodFiles.length === 0) failures.push('no fixtures in testdata/good');

  for (const file of badFiles) {
    const expected = fs.readFileSync(file, 'utf8').split('\n')
      .map((l) => EXPECT_PRAGMA.exec(l.trim()))
      .filter(Boolean)
      .map((m) => ({ line: Number(m[1]), rule: m[2] }));
    const problems = checkFile(parser, file);
    if (expected.length === 0) {
      failures.push(`${file}: no "# expect-error-line: N" comment`);
      continue;
    }
    if (problems.length === 0) {
      failures.push(`${file}: expected errors on lines ${expected.map((e) => e.line).join(', ')}, found none`);
      continue;
    }
    for (const want of expected) {
      const tag = want.rule ? `[${want.rule}] ` : '';
      if (!problems.some((p) => p.line === want.line && p.message.startsWith(tag))) {
        failures.push(`${file}: expected an error ${tag}on line ${want.line}, found ${problems.map((p) => `${p.line}: ${p.message}`).join('; ')}`);
      }
    }
    // A rule fixture must report nothing else: a finding on a line without
    // an expectation is a false alarm of the rule under test.
    if (expected.some((e) => e.rule)) {
      for (const p of problems) {
        if (!expected.some((e) => e.line === p.line)) failures.push(`${file}: unexpected error on line ${p.line}: ${p.message}`);
      }
    }
    console.log(`  caught  ${path.relative(__dirname, file)}: ${problems.map((p) => `${p.line}:${p.col} ${p.message}`).join('; ')}`);
  }
  for (const file of goodFiles) {
    const problems = checkFile(parser, file);
    if (problems.length > 0) {
      failures.push(`${file}: expected no errors, found ${problems.map((p) => `${p.line}:${p.col} ${p.message}`).join('; ')}`);
      continue;
    }
    console.log(`  clean   ${path.relative(__dirname, file)}: no errors`);
  }
  for (const f of failures) console.log(`  failed  ${f}`);
  console.error(failures.length === 0
    ? `pscheck self-test: ${badFiles.length} bad and ${goodFiles.length} good fixtures behave`
    : `pscheck self-test: ${failures.length} failures`);
  return failures.length === 0 ? 0 : 1;
}

async function main(argv) {
  const parser = await newParser();
  if (argv[0] === '--self-test') {
    if (argv.length > 1) {
      console.error('usage: node check.js --self-test');
      return 2;
    }
    return selfTest(parser);
  }
  const syntaxOnly = argv[0] === '--syntax-only';
  const inputs = syntaxOnly ? argv.slice(1) : argv;
  if (inputs.length === 0 || inputs[0].startsWith('-')) {
    console.error('usage: node check.js [--syntax-only] <file or directory>... | --self-test');
    return 2;
  }
  return run(parser, inputs, !syntaxOnly);
}

main(process.argv.slice(2)).then(
  (code) => { process.exitCode = code; },
  (err) => { console.error(`pscheck: ${err && err.stack ? err.stack : err}`); process.exitCode = 2; },
);
