// An ESLint rule that reports every relative import taking part in an import cycle, type-only
// imports included: import-x/no-cycle skips `import type`, and type-only circles still tangle
// the layers (a contract that names a stage's type, a stage that names the contract's).
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';

const specifier =
  /(?:^|[\s;])(?:import|export)\s[^'";]*?from\s*['"](\.{1,2}\/[^'"]+)['"]|import\(\s*['"](\.{1,2}\/[^'"]+)['"]\s*\)/g;
const skipped = new Set(['node_modules', 'dist', '.git', '.tools', '.state', '.pathgen', '.scratch', 'coverage']);

function sourceFiles(dir, out = []) {
  for (const name of readdirSync(dir)) {
    if (skipped.has(name)) continue;
    const full = path.join(dir, name);
    if (statSync(full).isDirectory()) sourceFiles(full, out);
    else if (/\.(ts|mts)$/.test(name) && !name.endsWith('.d.ts')) out.push(full);
  }
  return out;
}

function resolveImport(from, spec) {
  const target = path.resolve(path.dirname(from), spec);
  for (const candidate of [target.replace(/\.js$/, '.ts'), target.replace(/\.mjs$/, '.mts'), target]) {
    if (existsSync(candidate) && statSync(candidate).isFile()) return candidate;
  }
  return undefined;
}

/** Strongly connected components of the import graph (Tarjan); a file maps to its component's id when that has 2+ files. */
function cyclicComponents(graph) {
  const index = new Map();
  const low = new Map();
  const stack = [];
  const onStack = new Set();
  const component = new Map();
  let counter = 0;
  let components = 0;
  const visit = (start) => {
    // Iterative, so a deep import chain cannot overflow the stack.
    const work = [[start, 0]];
    index.set(start, counter);
    low.set(start, counter++);
    stack.push(start);
    onStack.add(start);
    while (work.length > 0) {
      const frame = work[work.length - 1];
      const [node, edge] = frame;
      const edges = graph.get(node) ?? [];
      if (edge < edges.length) {
        frame[1] += 1;
        const next = edges[edge];
        if (!index.has(next)) {
          index.set(next, counter);
          low.set(next, counter++);
          stack.push(next);
          onStack.add(next);
          work.push([next, 0]);
        } else if (onStack.has(next)) low.set(node, Math.min(low.get(node), index.get(next)));
        continue;
      }
      work.pop();
      if (work.length > 0) {
        const parent = work[work.length - 1][0];
        low.set(parent, Math.min(low.get(parent), low.get(node)));
      }
      if (low.get(node) === index.get(node)) {
        const members = [];
        let member;
        do {
          member = stack.pop();
          onStack.delete(member);
          members.push(member);
        } while (member !== node);
        if (members.length > 1) {
          components += 1;
          for (const file of members) component.set(file, components);
        }
      }
    }
  };
  for (const node of graph.keys()) if (!index.has(node)) visit(node);
  return component;
}

let cached;
function analysis(root) {
  if (cached?.root === root) return cached;
  const graph = new Map();
  for (const file of sourceFiles(root)) {
    const text = readFileSync(file, 'utf8');
    const targets = [];
    for (const match of text.matchAll(specifier)) {
      const target = resolveImport(file, match[1] ?? match[2]);
      if (target) targets.push(target);
    }
    graph.set(file, targets);
  }
  cached = { root, component: cyclicComponents(graph) };
  return cached;
}

const rule = {
  meta: {
    type: 'problem',
    docs: { description: 'no import cycles between relative modules, type-only imports included' },
    schema: [],
    messages: {
      cycle: 'import cycle: {{target}} leads back to this file (move the shared part down to a module both can import)',
    },
  },
  create(context) {
    const file = context.filename;
    const { component } = analysis(context.cwd);
    const own = component.get(file);
    if (own === undefined) return {};
    const check = (node) => {
      const spec = node.source?.value;
      if (typeof spec !== 'string' || !spec.startsWith('.')) return;
      const target = resolveImport(file, spec);
      if (target && component.get(target) === own) {
        context.report({ node: node.source, messageId: 'cycle', data: { target: spec } });
      }
    };
    return {
      ImportDeclaration: check,
      ExportNamedDeclaration: check,
      ExportAllDeclaration: check,
      ImportExpression: check,
    };
  },
};

export default { rules: { 'import-cycles': rule } };
