// Imports point one way. lib/ is in folders by layer, each importing only its own and lower ones:
// util, model, text, engine, run, export, report, sweep, library, serve, cli, then the entries lib/index.ts, lib/cli.ts and
// lib/browser.ts (the browser module: test/browser-module.test.ts holds it to no Node APIs);
// no module reaches itself through its imports; and tests and scripts never import each other
// (what both need lives in harness/ or lib/).
import assert from 'assert';
import { existsSync, readdirSync, readFileSync, statSync } from 'fs';
import path from 'path';

const root = path.join(__dirname, '..');
const lib = path.join(root, 'lib');

/** The layers of lib/, lowest first. */
const LAYERS = ['util', 'model', 'text', 'engine', 'run', 'export', 'report', 'sweep', 'library', 'serve', 'cli'];

/** The modules a TypeScript file imports (types included), as written. */
function importsOf(file: string): string[] {
  const source = readFileSync(file, 'utf8');
  return [...source.matchAll(/^\s*(?:import|export)\s[^;]*?from\s+'([^']+)'/gm), ...source.matchAll(/require\('([^']+)'\)/g)].map((m) => m[1]);
}

function filesIn(dir: string): string[] {
  return readdirSync(path.join(root, dir)).filter((name) => name.endsWith('.ts')).map((name) => path.join(root, dir, name));
}

/** Every .ts file under lib/, recursively. */
function libFiles(dir = lib): string[] {
  return readdirSync(dir).flatMap((name) => {
    const full = path.join(dir, name);
    return statSync(full).isDirectory() ? libFiles(full) : name.endsWith('.ts') ? [full] : [];
  });
}

/** The lib/ module a relative import names, or undefined for a package or a JSON file. */
function resolved(from: string, spec: string): string | undefined {
  if (!spec.startsWith('.')) return undefined;
  const base = path.resolve(path.dirname(from), spec);
  return [`${base}.ts`, path.join(base, 'index.ts')].find((candidate) => existsSync(candidate));
}

/** A lib/ file's layer: its folder's rank, or one above them all for the entries at the top. */
function rank(file: string): number {
  const folder = path.relative(lib, file).split(path.sep)[0];
  const index = LAYERS.indexOf(folder);
  return index >= 0 ? index : LAYERS.length;
}

const label = (file: string) => path.relative(lib, file);

/** The circles of an import graph, each as the path from a module back to it. */
function circlesIn(graph: Map<string, string[]>): string[][] {
  const circles: string[][] = [];
  const state = new Map<string, 'open' | 'done'>();
  const visit = (node: string, trail: string[]) => {
    if (state.get(node) === 'done') return;
    if (state.get(node) === 'open') {
      circles.push([...trail.slice(trail.indexOf(node)), node]);
      return;
    }
    state.set(node, 'open');
    for (const next of graph.get(node) ?? []) visit(next, [...trail, node]);
    state.set(node, 'done');
  };
  for (const node of graph.keys()) visit(node, []);
  return circles;
}

describe('layers', () => {
  it('lib/ is only folders of the layers and the three entries', () => {
    const top = readdirSync(lib).filter((name) => !name.endsWith('.json'));
    assert.deepStrictEqual(top.sort(), [...LAYERS, 'browser.ts', 'cli.ts', 'index.ts'].sort());
  });

  it('each lib/ module imports only its own layer and those below it', () => {
    const offenders = libFiles().flatMap((file) =>
      importsOf(file)
        .map((spec) => resolved(file, spec))
        .filter((target): target is string => target !== undefined && rank(target) > rank(file))
        .map((target) => `${label(file)} → ${label(target)}`)
    );
    assert.deepStrictEqual(offenders, []);
  });

  it('no lib/ module reaches itself through its imports', () => {
    const graph = new Map(libFiles().map((file) => [file, importsOf(file).map((spec) => resolved(file, spec)).filter((t): t is string => t !== undefined)]));
    assert.deepStrictEqual(circlesIn(graph).map((circle) => circle.map(label).join(' → ')), []);
  });

  it('the checks see an import upward and a circle', () => {
    const [low, high] = [path.join(lib, 'util', 'errors.ts'), path.join(lib, 'cli', 'train.ts')];
    assert.ok(rank(low) < rank(high) && rank(high) < rank(path.join(lib, 'index.ts')));
    assert.strictEqual(resolved(path.join(lib, 'run', 'trainer.ts'), '../engine/engine'), path.join(lib, 'engine', 'engine.ts'));
    const graph = new Map([['a', ['b']], ['b', ['c']], ['c', ['a']], ['d', ['a']]]);
    assert.deepStrictEqual(circlesIn(graph), [['a', 'b', 'c', 'a']]);
    assert.deepStrictEqual(circlesIn(new Map([['a', ['b']], ['b', []]])), []);
  });

  it('tests and scripts do not import each other', () => {
    const offenders = [
      ...filesIn('test').flatMap((file) => importsOf(file).filter((m) => m.startsWith('../scripts')).map((m) => `${path.basename(file)} → ${m}`)),
      ...filesIn('scripts').flatMap((file) => importsOf(file).filter((m) => m.startsWith('../test')).map((m) => `${path.basename(file)} → ${m}`)),
      ...filesIn('harness').flatMap((file) => importsOf(file).filter((m) => /^\.\.\/(test|scripts)/.test(m)).map((m) => `${path.basename(file)} → ${m}`)),
    ];
    assert.deepStrictEqual(offenders, []);
  });
});
