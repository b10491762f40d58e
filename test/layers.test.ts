// Imports point one way: the library (lib/, but for the command-line entry lib/cli.ts) never
// imports lib/commands/, and tests and scripts never import each other (what both need lives in
// harness/ or lib/).
import assert from 'assert';
import { readdirSync, readFileSync } from 'fs';
import path from 'path';

const root = path.join(__dirname, '..');

/** The modules a TypeScript file imports, as written. */
function importsOf(file: string): string[] {
  const source = readFileSync(file, 'utf8');
  return [...source.matchAll(/^\s*(?:import|export)\s[^;]*?from\s+'([^']+)'/gm), ...source.matchAll(/require\('([^']+)'\)/g)].map((m) => m[1]);
}

function filesIn(dir: string): string[] {
  return readdirSync(path.join(root, dir)).filter((name) => name.endsWith('.ts')).map((name) => path.join(root, dir, name));
}

describe('layers', () => {
  it('lib/ never imports lib/commands/ (only lib/cli.ts does)', () => {
    const offenders = filesIn('lib')
      .filter((file) => path.basename(file) !== 'cli.ts')
      .flatMap((file) => importsOf(file).filter((m) => m.startsWith('./commands')).map((m) => `${path.basename(file)} → ${m}`));
    assert.deepStrictEqual(offenders, []);
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
