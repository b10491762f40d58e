// Edges of the sampling features found by trying to break them. Budget: 60 s.
import assert from 'assert';
import { spawnSync } from 'child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import path from 'path';

const CLI = path.join(__dirname, '..', 'dist', 'cli.js');
const run = (args: string[], timeout = 60000) => spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', timeout });

describe('sampling edges', function () {
  this.timeout(120000);
  let dir = '';
  before(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'rnn-sampling-edges-'));
    const text = readFileSync(path.join(__dirname, '..', '..', 'shared', 'data', 'tinyshakespeare.txt'), 'utf8').slice(0, 5000);
    writeFileSync(path.join(dir, 't.txt'), text);
    const r = run(['train', '--data', path.join(dir, 't.txt'), '--out', path.join(dir, 'run'), '--hidden', '8', '--steps', '50']);
    assert.strictEqual(r.status, 0, r.stderr);
  });

  // A guard against time quadratic in the length (each beam copying its whole history every step
  // made 50,000 characters take 22 s, against 0.2 s for --argmax), not a speed measurement: the
  // limit is 75 times the linear time.
  it('--beam 1 --length 50000 takes about as long as --argmax (linear in the length)', () => {
    const started = Date.now();
    const r = run(['sample', '--model', path.join(dir, 'run'), '--beam', '1', '--length', '50000'], 15000);
    const seconds = (Date.now() - started) / 1000;
    assert.strictEqual(r.status, 0, `did not finish in 15 s (${seconds.toFixed(1)} s): ${r.signal ?? r.stderr}`);
    const argmax = run(['sample', '--model', path.join(dir, 'run'), '--argmax', '--length', '50000']);
    assert.strictEqual(r.stdout, argmax.stdout, '--beam 1 is --argmax');
  });
});
