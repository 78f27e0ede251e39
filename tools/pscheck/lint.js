// lint: the rules pscheck applies beyond syntax. Each finding names its
// rule; docs/development.md describes them.
//
//   ps51     Windows PowerShell 5.1 only: no PowerShell 7 operators
//            (&& || ?? ??= ?. ?[] ? :), cmdlets or parameters
//   call     a call of a module function passes only parameters the
//            function declares and every mandatory one that is visible
//   cmdlet   a called cmdlet exists in cmdlets.json and has the parameters
//            passed to it
//   binder   a mandatory string or collection parameter allows what it can
//            receive ([AllowEmptyString()], [AllowEmptyCollection()],
//            [AllowNull()]) or is marked "# pscheck: checked <reason>"
//   console  nothing writes to the console directly (Write-Host, Out-Host,
//            [Console]::Write/WriteLine/Out.Write/OpenStandardOutput/...)
//            or reads stdin; only the framing host (host.ps1) owns the
//            console. [Console]::SetOut/SetError capture is allowed
'use strict';

const path = require('path');
const ast = require('./psast');
const table = require('./cmdlets.json');

/** Common parameters of every cmdlet and advanced function, with their aliases (about_CommonParameters, 5.1). */
const COMMON = {
  Verbose: ['vb'], Debug: ['db'], ErrorAction: ['ea'], WarningAction: ['wa'], InformationAction: ['infa'],
  ErrorVariable: ['ev'], WarningVariable: ['wv'], InformationVariable: ['iv'], OutVariable: ['ov'],
  OutBuffer: ['ob'], PipelineVariable: ['pv'],
};
/** The risk-mitigation parameters of a command that supports ShouldProcess. */
const SHOULD_PROCESS = { WhatIf: ['wi'], Confirm: ['cf'] };

/** Files that own the console: the framing host writes response frames to stdout and its log to stderr. */
const CONSOLE_OWNERS = new Set(['host.ps1']);

const CHECKED_MARKER = /#\s*pscheck:\s*checked\s+\S/;

const VALUE_TYPES = new Set([
  'bool', 'boolean', 'byte', 'sbyte', 'char', 'int', 'int16', 'int32', 'int64', 'long', 'short', 'uint16', 'uint32',
  'uint64', 'ushort', 'uint', 'ulong', 'single', 'float', 'double', 'decimal', 'datetime', 'timespan', 'guid',
  'intptr', 'uintptr',
]);
const GENERIC_COLLECTIONS = /^(System\.Collections\.Generic\.|System\.Collections\.ObjectModel\.)?(List|IList|ICollection|Collection|HashSet|ISet|LinkedList|SortedSet)\[(.+)\]$/i;
const PLAIN_COLLECTIONS = /^(System\.)?(array|(System\.Collections\.)?(ArrayList|IList|ICollection))$/i;

/** Lower-cased type name without "System." for comparisons. */
function shortType(type) {
  return type.replace(/^System\./i, '').toLowerCase();
}

/**
 * Classifies a parameter type for the binder rule: {kind: 'string'} or
 * {kind: 'collection', element: 'string' | 'value' | 'reference'} or null.
 */
function classify(type) {
  if (!type) return null;
  if (shortType(type) === 'string') return { kind: 'string' };
  let element = null;
  const arr = /^(.+)\[\]$/.exec(type);
  const gen = GENERIC_COLLECTIONS.exec(type);
  if (arr) element = arr[1];
  else if (gen) element = gen[3];
  else if (PLAIN_COLLECTIONS.test(type)) element = 'System.Object';
  else return null;
  const e = shortType(element);
  if (e === 'string') return { kind: 'collection', element: 'string' };
  if (VALUE_TYPES.has(e) || /^nullable\[/.test(e)) return { kind: 'collection', element: 'value' };
  return { kind: 'collection', element: 'reference' };
}

/** The lines covered by a parameter declaration and the line before it. */
function parameterLines(param) {
  return { first: param.node.startPosition.row, last: param.node.endPosition.row + 1 };
}

/** True when a parameter is a mandatory string that the binder keeps from being empty. */
function refusesEmptyString(p) {
  return p && p.mandatory && classify(p.type) && classify(p.type).kind === 'string' && !p.hasAttribute('AllowEmptyString');
}

/**
 * True when every call of fn passes parameter p a value that cannot be an
 * empty string: fn is reached only by the calls the module shows (its
 * name is in no string, so nothing exports it or calls it by name), and
 * each of them names p with a non-empty string literal, or with a
 * variable that is a mandatory string parameter of the calling function
 * and so was already refused by the binder when empty.
 */
function neverEmpty(fn, p, module) {
  if (module.mentioned.has(fn.name.toLowerCase())) return false;
  const calls = module.calls.filter((c) => c.name && c.name.toLowerCase() === fn.name.toLowerCase() && !c.invoked);
  if (calls.length === 0) return false;
  const names = acceptedNames(fn.params, fn.advanced, fn.shouldProcess);
  for (const call of calls) {
    let value = null;
    for (let i = 0; i < call.elements.length; i++) {
      const e = call.elements[i];
      if (e.kind !== 'parameter' || resolve(names, e.name).param !== p.name) continue;
      value = call.elements[i + 1] && call.elements[i + 1].kind === 'argument' ? call.elements[i + 1].node.text.trim() : null;
    }
    const caller = ast.ancestorOfType(call.node, 'function_statement');
    const callerFn = caller ? module.functions.get(ast.childOfType(caller, 'function_name').text.toLowerCase()) : null;
    if (value === null || !nonEmptyValue(value, callerFn)) return false;
  }
  return true;
}

/**
 * The literal text of the inside of a string: what remains once the
 * variables and subexpressions of a double-quoted string are taken out
 * (their values may be empty; the rest is always in the result).
 */
function literalText(inside) {
  return inside.replace(/\$\{[^}]*\}|\$\([^)]*\)|\$[A-Za-z_][A-Za-z0-9_:]*/g, '');
}

/**
 * True when the text of an argument is a string that cannot be empty: a
 * non-empty literal or bare word, a format (-f) whose literal text is not
 * empty, a concatenation with a non-empty literal, or a mandatory string
 * parameter of the calling function that the binder refuses when empty.
 */
function nonEmptyValue(value, callerFn) {
  if (/^'[^']+'$/.test(value) || /^[A-Za-z][A-Za-z0-9_.]*$/.test(value)) return true;
  if (/^"[^"]*"$/.test(value) && literalText(value.slice(1, -1)).length > 0) return true;
  const format = /^\(\s*(?:'([^']*)'|"([^"]*)")\s+-f\s/.exec(value);
  if (format && literalText(format[1] ?? format[2]).replace(/\{\d+(,[^}]*)?(:[^}]*)?\}/g, '').length > 0) return true;
  if (/^\(.*\+\s*'[^']+'\s*\)$/.test(value) || /^\(\s*'[^']+'\s*\+.*\)$/.test(value)) return true;
  const variable = /^\$([A-Za-z_][A-Za-z0-9_]*)$/.exec(value);
  if (!variable || !callerFn) return false;
  return refusesEmptyString(callerFn.params.find((q) => q.name.toLowerCase() === variable[1].toLowerCase()));
}

/** Reports mandatory string and collection parameters that refuse what they can receive. */
function binderRule(fn, comments, module, report) {
  for (const p of fn.params) {
    if (!p.mandatory) continue;
    const cls = classify(p.type);
    if (!cls) continue;
    if (cls.kind === 'string' && neverEmpty(fn, p, module)) continue;
    const need = [];
    if (cls.kind === 'string') {
      if (!p.hasAttribute('AllowEmptyString')) need.push('[AllowEmptyString()] (an empty string)');
    } else {
      if (!p.hasAttribute('AllowEmptyCollection')) need.push('[AllowEmptyCollection()] (an empty collection)');
      if (cls.element === 'string' && !p.hasAttribute('AllowEmptyString')) need.push('[AllowEmptyString()] (an empty string element)');
      if (cls.element === 'reference' && !p.hasAttribute('AllowNull')) need.push('[AllowNull()] (a $null element)');
    }
    if (need.length === 0) continue;
    const span = parameterLines(p);
    if (comments.some((c) => c.line >= span.first && c.line <= span.last && CHECKED_MARKER.test(c.text))) continue;
    report(p.line, p.col, 'binder',
      `${fn.name} -${p.name}: mandatory [${p.type}] is refused by the parameter binder when it receives ${need.map((n) => n.replace(/^\S+ \((.*)\)$/, '$1')).join(' or ')}; ` +
      `declare ${need.map((n) => n.split(' ')[0]).join(', ')} or mark it "# pscheck: checked <why it never gets one>"`);
  }
}

/** All names (parameters, aliases, common parameters) a command accepts, as {lower name: canonical}. */
function acceptedNames(params, advanced, shouldProcess) {
  const names = new Map();
  for (const p of params) {
    names.set(p.name.toLowerCase(), p.name);
    for (const a of p.aliases || []) names.set(a.toLowerCase(), p.name);
  }
  const add = (group) => {
    for (const [name, aliases] of Object.entries(group)) {
      if (!names.has(name.toLowerCase())) names.set(name.toLowerCase(), name);
      for (const a of aliases) if (!names.has(a.toLowerCase())) names.set(a.toLowerCase(), name);
    }
  };
  if (advanced) add(COMMON);
  if (shouldProcess) add(SHOULD_PROCESS);
  return names;
}

/**
 * Resolves a parameter name as the PowerShell binder does: an exact name or
 * alias wins; otherwise a prefix of exactly one parameter is accepted.
 * Returns {param} or {error}.
 */
function resolve(names, given) {
  const lower = given.toLowerCase();
  if (names.has(lower)) return { param: names.get(lower) };
  const matches = new Set();
  for (const [name, canonical] of names) if (name.startsWith(lower)) matches.add(canonical);
  if (matches.size === 1) return { param: [...matches][0] };
  if (matches.size > 1) return { error: `is ambiguous: it is a prefix of ${[...matches].sort().join(', ')}` };
  return { error: 'is not a parameter' };
}

/**
 * Finds what a splatted variable holds when that is statically visible: a
 * hashtable literal assigned once in the enclosing function, plus keys
 * added with $v.Key = ..., $v['Key'] = ... or $v.Add('Key', ...).
 * Returns {keys, complete} or null when the variable is not a visible
 * hashtable; complete is false when a key is added that cannot be read.
 */
function splatKeys(call, variable) {
  const scope = ast.ancestorOfType(call.node, 'function_statement') || ast.rootOf(call.node);
  const name = variable.toLowerCase();
  const assignments = [];
  let complete = true;
  const keys = new Set();
  ast.walk(scope, (n) => {
    if (n.type === 'assignment_expression') {
      const left = n.children[0];
      const lt = left.text.trim().toLowerCase();
      if (lt === `$${name}`) assignments.push(n);
      else if (lt.startsWith(`$${name}.`) || lt.startsWith(`$${name}[`)) {
        const member = /^\$[a-z0-9_]+\.([a-z0-9_]+)$/i.exec(left.text.trim());
        const index = /^\$[a-z0-9_]+\[\s*'([^']+)'\s*\]$/i.exec(left.text.trim());
        if (member) keys.add(member[1]);
        else if (index) keys.add(index[1]);
        else complete = false;
      }
    }
    if (n.type === 'invokation_expression' && n.text.toLowerCase().startsWith(`$${name}.add(`)) {
      const key = /^\$[a-z0-9_]+\.add\(\s*'([^']+)'/i.exec(n.text);
      if (key) keys.add(key[1]);
      else complete = false;
    }
  });
  if (assignments.length !== 1) return null;
  let hash = null;
  ast.walk(assignments[0].children[assignments[0].children.length - 1], (n) => {
    if (!hash && n.type === 'hash_literal_expression') hash = n;
  });
  const value = assignments[0].children[assignments[0].children.length - 1].text.trim();
  if (!hash || !value.startsWith('@{')) return null;
  const body = ast.childOfType(hash, 'hash_literal_body');
  for (const entry of body ? body.children : []) {
    if (entry.type !== 'hash_entry') continue;
    const key = ast.childOfType(entry, 'key_expression');
    const text = key ? key.text.trim() : '';
    if (/^[A-Za-z_][A-Za-z0-9_]*$/.test(text) || /^'[^']*'$/.test(text)) keys.add(ast.unquote(text));
    else complete = false;
  }
  return { keys: [...keys], complete };
}

/** Checks a call of a module function against the function's declaration. */
function callRule(call, fn, report) {
  const names = acceptedNames(fn.params, fn.advanced, fn.shouldProcess);
  const byName = new Map(fn.params.map((p) => [p.name, p]));
  const bound = new Set();
  const positional = [];
  for (let i = 0; i < call.elements.length; i++) {
    const e = call.elements[i];
    if (e.kind === 'argument') {
      positional.push(e);
      continue;
    }
    const r = resolve(names, e.name);
    if (r.error) {
      const hint = fn.advanced ? '' : ' (a function without [CmdletBinding()] puts it in $args unseen)';
      report(e.node.startPosition.row + 1, e.node.startPosition.column + 1, 'call',
        `${call.name} -${e.name} ${r.error} of function ${fn.name} (line ${fn.line})${hint}`);
      continue;
    }
    bound.add(r.param);
    const p = byName.get(r.param);
    const takesValue = p ? !p.isSwitch : !['Verbose', 'Debug', 'WhatIf', 'Confirm'].includes(r.param);
    if ((e.colon || takesValue) && call.elements[i + 1] && call.elements[i + 1].kind === 'argument') i++;
  }
  let visible = true;
  for (const s of call.splats) {
    const found = splatKeys(call, s.variable);
    if (!found) {
      visible = false;
      continue;
    }
    if (!found.complete) visible = false;
    for (const key of found.keys) {
      const r = resolve(names, key);
      if (r.error) {
        report(s.node.startPosition.row + 1, s.node.startPosition.column + 1, 'call',
          `${call.name} @${s.variable}: key '${key}' ${r.error} of function ${fn.name} (line ${fn.line})`);
      } else {
        bound.add(r.param);
      }
    }
  }
  // Positional arguments bind, in order, to the parameters that take a
  // position: those with Position = n, or all non-switch parameters in
  // declaration order when none has one and positional binding is on.
  const explicit = fn.params.filter((p) => p.sets.some((s) => s.position !== undefined));
  let slots = explicit.length > 0
    ? explicit.slice().sort((a, b) => Math.min(...a.sets.map((s) => s.position ?? 1e9)) - Math.min(...b.sets.map((s) => s.position ?? 1e9)))
    : (fn.positionalBinding ? fn.params.filter((p) => !p.isSwitch) : []);
  slots = slots.filter((p) => !bound.has(p.name));
  const remaining = fn.params.find((p) => p.sets.some((s) => s.remaining));
  for (const arg of positional) {
    const slot = slots.shift();
    if (slot) bound.add(slot.name);
    else if (remaining) bound.add(remaining.name);
    else if (fn.advanced) {
      report(arg.node.startPosition.row + 1, arg.node.startPosition.column + 1, 'call',
        `${call.name}: the argument ${JSON.stringify(arg.node.text.slice(0, 30))} binds to no parameter of function ${fn.name} (line ${fn.line})`);
    }
  }
  if (!visible) return;
  // A call must satisfy the mandatory parameters of one parameter set.
  const sets = new Set();
  for (const p of fn.params) for (const s of p.sets) if (s.set !== '__AllParameterSets') sets.add(s.set);
  if (sets.size === 0) sets.add('__AllParameterSets');
  let best = null;
  for (const set of sets) {
    const missing = fn.params.filter((p) => p.sets.some((s) => s.mandatory && (s.set === set || s.set === '__AllParameterSets')) &&
      !bound.has(p.name) && !(call.piped && p.pipeline));
    if (!best || missing.length < best.length) best = missing;
  }
  if (best && best.length > 0) {
    report(call.line, call.col, 'call',
      `${call.name} does not pass the mandatory parameter${best.length > 1 ? 's' : ''} ${best.map((p) => '-' + p.name).join(', ')} of function ${fn.name} (line ${fn.line}); PowerShell would prompt for ${best.length > 1 ? 'them' : 'it'} and fail non-interactively`);
  }
}

/** Checks a call of a cmdlet against the cmdlet table, and refuses PowerShell 7 cmdlets and parameters. */
function cmdletRule(call, report) {
  const lower = call.name.toLowerCase();
  const ps7 = table.powershell7.cmdlets[Object.keys(table.powershell7.cmdlets).find((k) => k.toLowerCase() === lower)];
  if (ps7) {
    report(call.line, call.col, 'ps51', `${call.name} does not exist in Windows PowerShell 5.1 (${ps7})`);
    return;
  }
  const key = Object.keys(table.cmdlets).find((k) => k.toLowerCase() === lower);
  if (!key) {
    report(call.line, call.col, 'cmdlet',
      `${call.name} is neither a function of the module nor a cmdlet of tools/pscheck/cmdlets.json (add it there from its documentation, or fix the name)`);
    return;
  }
  const cmdlet = table.cmdlets[key];
  const params = cmdlet.parameters.map((name) => ({ name, aliases: (cmdlet.aliases || {})[name] || [] }));
  const names = acceptedNames(params, true, false);
  const ps7params = table.powershell7.parameters[key] || {};
  for (const e of call.elements) {
    if (e.kind !== 'parameter') continue;
    const r = resolve(names, e.name);
    if (!r.error) continue;
    const p7 = Object.keys(ps7params).find((k) => k.toLowerCase().startsWith(e.name.toLowerCase()));
    if (p7) {
      report(e.node.startPosition.row + 1, e.node.startPosition.column + 1, 'ps51',
        `${key} -${e.name}: ${ps7params[p7]}; Windows PowerShell 5.1 does not have it`);
    } else {
      report(e.node.startPosition.row + 1, e.node.startPosition.column + 1, 'cmdlet',
        `${key} -${e.name} ${r.error} of the cmdlet (${cmdlet.module}, ${cmdlet.source})`);
    }
  }
}

/** Reports the PowerShell 7 pipeline chain operators, which the grammar parses. */
function chainRule(tree, report) {
  ast.walk(tree.rootNode, (n) => {
    if (n.type === 'pipeline_chain_tail') {
      report(n.startPosition.row + 1, n.startPosition.column + 1, 'ps51',
        `the pipeline chain operator ${n.text.trim()} is PowerShell 7; Windows PowerShell 5.1 cannot parse it (use if ($?) or try/catch)`);
    }
  });
}

/** Static members of [Console] that write to stdout or stderr, or read stdin (the request channel). */
const CONSOLE_STATIC = new Set(['write', 'writeline', 'openstandardoutput', 'openstandarderror', 'openstandardinput', 'in', 'read', 'readline', 'readkey']);
/** The writers [Console]::Out and [Console]::Error, whose Write* methods write to stdout and stderr. */
const CONSOLE_WRITERS = new Set(['out', 'error']);
/** The hook functions an extension defines; a Pester test may simulate one that writes to the console. */
const HOOK_FUNCTION = /^Invoke-(PreStart|PostStart|PreStop|PostStop)Hook$/i;

/** The text of the member_name that follows the node's "::" or "." sibling, or ''. */
function memberAfter(node) {
  const op = node.nextSibling;
  const member = op && (op.type === '::' || op.type === '.') ? op.nextSibling : null;
  return member && member.type === 'member_name' ? member.text.trim() : '';
}

/**
 * The console access a [Console] type literal makes, as a description, or
 * null when it neither writes to stdout or stderr nor reads stdin: the
 * capture and restore of D11 ([Console]::SetOut, [Console]::SetError,
 * reading [Console]::Out to put it back) and properties such as
 * [Console]::OutputEncoding are allowed.
 */
function consoleAccess(literal) {
  const member = memberAfter(literal);
  if (CONSOLE_STATIC.has(member.toLowerCase())) return `::${member}`;
  if (!CONSOLE_WRITERS.has(member.toLowerCase())) return null;
  // [Console]::Out.WriteLine(...): the access [Console]::Out is followed
  // by ".WriteLine" in the invocation or access around it.
  const access = literal.parent;
  if (!access || access.type !== 'member_access') return null;
  const method = memberAfter(access);
  return method.toLowerCase().startsWith('write') ? `::${member}.${method}` : null;
}

/** True when node is inside a function that simulates an extension hook in a Pester test file. */
function inSimulatedHook(file, node) {
  if (!/\.tests\.ps1$/i.test(path.basename(file))) return false;
  for (let fn = ast.ancestorOfType(node, 'function_statement'); fn; fn = ast.ancestorOfType(fn, 'function_statement')) {
    const name = ast.childOfType(fn, 'function_name');
    if (name && HOOK_FUNCTION.test(name.text.trim())) return true;
  }
  return false;
}

/**
 * Reports direct console writes: Write-Host and Out-Host anywhere, and
 * outside host.ps1 the [Console] members that write to stdout or stderr
 * or read stdin. A Pester test file (*.Tests.ps1) may write from a
 * function named as a hook (Invoke-PreStopHook, ...): that is the test of
 * how the module captures a hook that writes to the console.
 */
function consoleRule(file, tree, calls, report) {
  for (const call of calls) {
    const lower = (call.name || '').toLowerCase();
    if ((lower === 'write-host' || lower === 'out-host') && !inSimulatedHook(file, call.node)) {
      report(call.line, call.col, 'console',
        `${call.name} writes to the console, which is the response channel of the host; return objects, or use Write-Verbose`);
    }
  }
  if (CONSOLE_OWNERS.has(path.basename(file).toLowerCase())) return;
  ast.walk(tree.rootNode, (n) => {
    if (n.type !== 'type_literal') return;
    const t = shortType(ast.unquote(n.text.replace(/^\[|\]$/g, '').replace(/\s+/g, '')));
    if (t !== 'console') return;
    const access = consoleAccess(n);
    if (access === null || inSimulatedHook(file, n)) return;
    report(n.startPosition.row + 1, n.startPosition.column + 1, 'console',
      `[${n.text.replace(/^\[|\]$/g, '')}]${access} reaches the console directly; only the framing host (host.ps1) owns stdin, stdout and stderr ` +
      '(capturing with SetOut/SetError and restoring is allowed)');
  });
}

/**
 * Lints one parsed file of a module (the files of one directory): module
 * holds functions (lower-cased name to declaration), calls (every command
 * call in the module) and mentioned (lower-cased words that occur in a
 * string literal of the module). Returns problems as {line, col, rule,
 * message}.
 */
function lintFile(file, tree, module) {
  const functions = module.functions;
  const problems = [];
  const report = (line, col, rule, message) => problems.push({ line, col, rule, message: `[${rule}] ${message}` });
  const comments = ast.commentsOf(tree);
  for (const fn of ast.functionsOf(tree)) binderRule(fn, comments, module, report);
  const calls = ast.commandsOf(tree);
  for (const call of calls) {
    if (!call.name || call.invoked) continue;
    if (/[\\/$]/.test(call.name) || /\.(exe|cmd|bat|ps1)$/i.test(call.name)) continue;
    const fn = functions.get(call.name.toLowerCase());
    if (fn) callRule(call, fn, report);
    else cmdletRule(call, report);
  }
  chainRule(tree, report);
  consoleRule(file, tree, calls, report);
  return problems;
}

/** Builds the module description lintFile needs from the parsed trees of its files. */
function moduleOf(trees) {
  const module = { functions: new Map(), calls: [], mentioned: new Set() };
  for (const tree of trees) {
    for (const fn of ast.functionsOf(tree)) {
      if (!module.functions.has(fn.name.toLowerCase())) module.functions.set(fn.name.toLowerCase(), fn);
    }
    module.calls.push(...ast.commandsOf(tree));
    ast.walk(tree.rootNode, (n) => {
      if (n.type === 'string_literal' || n.type === 'expandable_string_literal' || n.type === 'verbatim_string_characters') {
        for (const w of n.text.toLowerCase().match(/[a-z0-9_-]+/g) || []) module.mentioned.add(w);
      }
    });
  }
  return module;
}

module.exports = { lintFile, moduleOf, classify, resolve };
