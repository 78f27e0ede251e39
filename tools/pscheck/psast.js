// psast: reads what the lint rules need from a tree-sitter PowerShell tree:
// function declarations with their parameters, and command calls with the
// parameters and arguments they pass.
'use strict';

/** Calls fn on node and every node below it, depth first. */
function walk(node, fn) {
  fn(node);
  for (const child of node.children) walk(child, fn);
}

/** Returns the first child of the given type, or null. */
function childOfType(node, type) {
  return node.children.find((c) => c.type === type) || null;
}

/** Returns the nearest ancestor of the given type, or null. */
function ancestorOfType(node, type) {
  for (let p = node.parent; p; p = p.parent) {
    if (p.type === type) return p;
  }
  return null;
}

/** Returns the root of the tree a node belongs to. */
function rootOf(node) {
  let n = node;
  while (n.parent) n = n.parent;
  return n;
}

/** Strips the quotes of a PowerShell string literal's text. */
function unquote(text) {
  const t = text.trim();
  if (t.length >= 2 && ((t[0] === "'" && t.endsWith("'")) || (t[0] === '"' && t.endsWith('"')))) {
    return t.slice(1, -1);
  }
  return t;
}

/** Returns the text inside the brackets of a type literal: [System.String] gives "System.String". */
function typeText(node) {
  const spec = childOfType(node, 'type_spec');
  return spec ? spec.text.replace(/\s+/g, '') : node.text.replace(/^\[|\]$/g, '');
}

/**
 * Reads one attribute ([Name(args)]) into {name, args, positional}:
 * args maps lower-cased named arguments to their text ("" for a bare
 * "Mandatory"); positional holds the text of the other arguments.
 */
function readAttribute(node) {
  const nameNode = childOfType(node, 'attribute_name');
  const attr = { name: nameNode ? nameNode.text.replace(/\s+/g, '') : '', args: {}, positional: [], node };
  const argsNode = childOfType(node, 'attribute_arguments');
  if (argsNode) {
    for (const arg of argsNode.children) {
      if (arg.type !== 'attribute_argument') continue;
      const simple = arg.children[0];
      if (simple && simple.type === 'simple_name') {
        const value = arg.children.slice(2).map((c) => c.text).join('');
        attr.args[simple.text.toLowerCase()] = value;
      } else {
        attr.positional.push(arg.text);
      }
    }
  }
  return attr;
}

/** True when an attribute argument's text means $true (a bare name counts). */
function isTrue(value) {
  return value !== undefined && (value === '' || /^\$true$/i.test(value.trim()) || value.trim() === '1');
}

/** The string values written in an attribute's positional arguments ([Alias('a', 'b')]). */
function stringArguments(attr) {
  const out = [];
  for (const text of attr.positional) {
    for (const m of text.matchAll(/'([^']*)'|"([^"]*)"/g)) out.push(m[1] !== undefined ? m[1] : m[2]);
  }
  return out;
}

/**
 * Reads a script_parameter into a description of the parameter: its name,
 * type text, attributes by lower-cased name, whether it is a switch, its
 * aliases, and the parameter sets it is mandatory in.
 */
function readParameter(node) {
  const variable = childOfType(node, 'variable');
  const name = variable ? variable.text.replace(/^\$/, '').replace(/^\{|\}$/g, '') : '';
  const param = {
    name,
    type: '',
    attributes: [],
    aliases: [],
    sets: [], // one entry per [Parameter()]: {set, mandatory, position, pipeline}
    node,
    line: node.startPosition.row + 1,
    col: node.startPosition.column + 1,
  };
  const list = childOfType(node, 'attribute_list');
  for (const a of list ? list.children : []) {
    if (a.type !== 'attribute') continue;
    const literal = childOfType(a, 'type_literal');
    if (literal) {
      param.type = typeText(literal);
      continue;
    }
    const attr = readAttribute(a);
    param.attributes.push(attr);
    const lower = attr.name.toLowerCase();
    if (lower === 'alias') param.aliases.push(...stringArguments(attr));
    if (lower === 'parameter') {
      param.sets.push({
        set: attr.args.parametersetname !== undefined ? unquote(attr.args.parametersetname) : '__AllParameterSets',
        mandatory: isTrue(attr.args.mandatory),
        position: attr.args.position !== undefined ? Number(attr.args.position) : undefined,
        pipeline: isTrue(attr.args.valuefrompipeline) || isTrue(attr.args.valuefrompipelinebypropertyname),
        remaining: isTrue(attr.args.valuefromremainingarguments),
      });
    }
  }
  param.isSwitch = /^(System\.Management\.Automation\.)?switch(Parameter)?$/i.test(param.type);
  param.mandatory = param.sets.some((s) => s.mandatory);
  param.pipeline = param.sets.some((s) => s.pipeline);
  param.hasAttribute = (name) => param.attributes.some((a) => a.name.toLowerCase() === name.toLowerCase());
  return param;
}

/**
 * Reads a function_statement into {name, params, advanced, shouldProcess,
 * positionalBinding, line}. A function is advanced (it takes the common
 * parameters) when it has [CmdletBinding()] or any [Parameter()] attribute.
 */
function readFunction(node) {
  const nameNode = childOfType(node, 'function_name');
  const fn = {
    name: nameNode ? nameNode.text : '',
    params: [],
    advanced: false,
    shouldProcess: false,
    positionalBinding: true,
    node,
    line: node.startPosition.row + 1,
  };
  let paramList = null;
  const inline = childOfType(node, 'function_parameter_declaration');
  if (inline) paramList = childOfType(inline, 'parameter_list');
  const block = childOfType(node, 'script_block');
  const paramBlock = block ? childOfType(block, 'param_block') : null;
  if (paramBlock) {
    paramList = childOfType(paramBlock, 'parameter_list') || paramList;
    const attrs = childOfType(paramBlock, 'attribute_list');
    for (const a of attrs ? attrs.children : []) {
      if (a.type !== 'attribute') continue;
      const attr = readAttribute(a);
      if (attr.name.toLowerCase() === 'cmdletbinding') {
        fn.advanced = true;
        fn.shouldProcess = isTrue(attr.args.supportsshouldprocess);
        if (attr.args.positionalbinding !== undefined && !isTrue(attr.args.positionalbinding)) fn.positionalBinding = false;
      }
    }
  }
  for (const p of paramList ? paramList.children : []) {
    if (p.type === 'script_parameter') fn.params.push(readParameter(p));
  }
  if (fn.params.some((p) => p.sets.length > 0)) fn.advanced = true;
  return fn;
}

/** Returns every function declared in a tree, as readFunction describes them. */
function functionsOf(tree) {
  const out = [];
  walk(tree.rootNode, (n) => {
    if (n.type === 'function_statement') out.push(readFunction(n));
  });
  return out;
}

const REDIRECTION = /^[0-9*]?>>?(&[0-9])?/;

/**
 * Reads a command node into {name, nameNode, parameters, positional,
 * splats, piped}: parameters are {name, node, hasColonValue, valueNode}
 * in call order, positional are the argument nodes that no parameter
 * name precedes, splats the @variables, piped whether the command gets
 * pipeline input. Which argument a parameter name consumes depends on
 * whether the parameter is a switch, so the raw element list is kept too.
 */
function readCommand(node) {
  const nameNode = childOfType(node, 'command_name');
  const call = {
    name: nameNode ? nameNode.text : null,
    nameNode,
    invoked: childOfType(node, 'command_invokation_operator') !== null,
    elements: [],
    splats: [],
    piped: false,
    node,
    line: node.startPosition.row + 1,
    col: node.startPosition.column + 1,
  };
  const prev = node.previousSibling;
  call.piped = prev !== null && prev.type === '|';
  const elements = childOfType(node, 'command_elements');
  const children = elements ? elements.children : [];
  // The grammar splits an argument such as $list.ToArray() into
  // "$list.ToArray" and "()"; a piece that no separator precedes
  // continues the previous argument.
  let separated = true;
  for (let i = 0; i < children.length; i++) {
    const c = children[i];
    const joined = !separated;
    separated = c.type === 'command_argument_sep';
    if (joined && c.type !== 'command_argument_sep' && call.elements.length > 0 &&
        call.elements[call.elements.length - 1].kind === 'argument') {
      continue;
    }
    if (c.type === 'command_argument_sep') {
      if (c.text.trim() === ':' && call.elements.length > 0) {
        const last = call.elements[call.elements.length - 1];
        if (last.kind === 'parameter') last.colon = true;
      }
      continue;
    }
    if (c.type === 'redirection' || (c.type === 'generic_token' && REDIRECTION.test(c.text))) continue;
    if (c.type === 'command_parameter') {
      call.elements.push({ kind: 'parameter', name: c.text.replace(/^-/, '').replace(/:$/, ''), colon: c.text.endsWith(':'), node: c });
      continue;
    }
    const splat = /^@[A-Za-z_][A-Za-z0-9_]*$/.exec(c.text.trim());
    if (splat) {
      call.splats.push({ variable: c.text.trim().slice(1), node: c });
      continue;
    }
    call.elements.push({ kind: 'argument', node: c });
  }
  return call;
}

/** Returns every command call in a tree, as readCommand describes them. */
function commandsOf(tree) {
  const out = [];
  walk(tree.rootNode, (n) => {
    if (n.type === 'command') out.push(readCommand(n));
  });
  return out;
}

/** Returns the comments of a tree with their line numbers. */
function commentsOf(tree) {
  const out = [];
  walk(tree.rootNode, (n) => {
    if (n.type === 'comment') out.push({ line: n.startPosition.row + 1, endLine: n.endPosition.row + 1, text: n.text });
  });
  return out;
}

module.exports = {
  walk, childOfType, ancestorOfType, rootOf, unquote, functionsOf, commandsOf, commentsOf, readFunction, readCommand,
};
