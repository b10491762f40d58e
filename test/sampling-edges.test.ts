// Edges of 0.5.0's sampling features found by trying to break them (adv20). Budget: 60 s.
import assert from 'assert';
import { spawnSync } from 'child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import path from 'path';

const CLI = path.join(__dirname, '..', 'dist', 'cli.js');
const run = (args: string[], timeout = 60000) => spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', timeout });

describe('sampling edges (adv20)', function () {
  this.timeout(120000);
  let dir = '';
  before(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'adv20-'));
    const text = readFileSync(path.join(__dirname, '..', '..', 'shared', 'data', 'tinyshakespeare.txt'), 'utf8').slice(0, 5000);
    writeFileSync(path.join(dir, 't.txt'), text);
    const r = run(['train', '--data', path.join(dir, 't.txt'), '--out', path.join(dir, 'run'), '--hidden', '8', '--steps', '50']);
    assert.strictEqual(r.status, 0, r.stderr);
  });

  // beam.ts copies each beam's whole history at every step ([...parent.symbols, symbol]) and the
  // tie rule compares whole histories: time grows as W · L², so lengths the cap allows (W · L ≤ 10⁷)
  // never finish. Measured (hidden 12): --beam 1 --length 12,500 0.7 s, 50,000 22 s (argmax: 0.2 s);
  // --beam 100 --length 2,000 7 s, 8,000 70 s.
  it('--beam 1 --length 50000 takes about as long as --argmax (linear in the length)', () => {
    const started = Date.now();
    const r = run(['sample', '--model', path.join(dir, 'run'), '--beam', '1', '--length', '50000'], 15000);
    const seconds = (Date.now() - started) / 1000;
    assert.strictEqual(r.status, 0, `did not finish in 15 s (${seconds.toFixed(1)} s): ${r.signal ?? r.stderr}`);
    const argmax = run(['sample', '--model', path.join(dir, 'run'), '--argmax', '--length', '50000']);
    assert.strictEqual(r.stdout, argmax.stdout, '--beam 1 is --argmax');
  });
});
