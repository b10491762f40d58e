// rnn-native export's command line: what it refuses (one line, exit 2, nothing written) and the
// output directory rule (new, empty or an earlier export; only the export's own files replaced).
// Budget: 15 s.
import assert from 'assert';
import { spawnSync } from 'child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import path from 'path';
import { generatedText } from './helpers';

const cli = path.join(__dirname, '..', 'dist', 'cli.js');
const run = (args: string[]) => spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8' });

describe('rnn-native export', function () {
  this.timeout(15000);
  let dir: string;
  let runDir: string;

  before(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'rnn-export-'));
    writeFileSync(path.join(dir, 'text.txt'), generatedText(3000));
    runDir = path.join(dir, 'run');
    const trained = run(['train', '--data', path.join(dir, 'text.txt'), '--hidden', '8', '--steps', '20', '--out', runDir, '--quiet']);
    assert.strictEqual(trained.status, 0, trained.stderr);
  });

  function refused(args: string[], message: RegExp): void {
    const result = run(['export', ...args]);
    assert.strictEqual(result.status, 2, result.stderr);
    assert.match(result.stderr, message);
    assert.strictEqual(result.stderr.trim().split('\n').length, 1, result.stderr);
    assert.strictEqual(result.stdout, '');
  }

  it('refuses missing and wrong arguments in one line', () => {
    const out = path.join(dir, 'never');
    refused([runDir, '--out', out], /--format is required: onnx, torch, web/);
    refused([runDir, '--format', 'tflite', '--out', out], /--format must be one of onnx, torch, web, got "tflite"/);
    refused([runDir, '--format', 'web'], /--out is required/);
    refused(['--format', 'web', '--out', out], /export needs a run directory or a checkpoint file/);
    refused([path.join(dir, 'text.txt'), '--format', 'web', '--out', out], /text\.txt/);
    refused([dir, '--format', 'web', '--out', out], /holds no checkpoint yet/);
    refused([runDir, runDir, '--format', 'web', '--out', out], /unexpected argument/);
    assert.deepStrictEqual(readdirSync(dir).sort(), ['run', 'text.txt'], 'nothing written');
  });

  it('never writes into a directory it did not make, nor over a file it did not write', () => {
    const foreign = path.join(dir, 'foreign');
    mkdirSync(foreign);
    writeFileSync(path.join(foreign, 'notes.txt'), 'mine');
    refused([runDir, '--format', 'web', '--out', foreign], /foreign is not empty and holds no rnn-native-export\.json/);
    assert.deepStrictEqual(readdirSync(foreign), ['notes.txt']);
    refused([runDir, '--format', 'web', '--out', path.join(foreign, 'notes.txt')], /is a file, not a directory/);
    assert.strictEqual(readFileSync(path.join(foreign, 'notes.txt'), 'utf8'), 'mine');
  });

  it('exports again into its own directory, replacing only its files', () => {
    const out = path.join(dir, 'web');
    const first = run(['export', runDir, '--format', 'web', '--out', out]);
    assert.strictEqual(first.status, 0, first.stderr);
    assert.match(first.stdout, /^wrote web export of .*best\.safetensors to .*web: index\.html, model\.safetensors, rnn-native\.mjs, rnn_native\.wasm\n/);
    writeFileSync(path.join(out, 'notes.txt'), 'mine');
    const again = run(['export', path.join(runDir, 'best.safetensors'), '--format', 'web', '--out', out]);
    assert.strictEqual(again.status, 0, again.stderr);
    assert.strictEqual(readFileSync(path.join(out, 'notes.txt'), 'utf8'), 'mine');
    const manifest = JSON.parse(readFileSync(path.join(out, 'rnn-native-export.json'), 'utf8'));
    assert.deepStrictEqual(manifest.files, ['index.html', 'model.safetensors', 'rnn-native.mjs', 'rnn_native.wasm']);
    // A file of an export's name that the export did not write (its manifest lost) is never replaced.
    writeFileSync(path.join(out, 'rnn-native-export.json'), JSON.stringify({ format: 'web', files: ['index.html'] }));
    writeFileSync(path.join(out, 'model.safetensors'), 'not ours');
    refused([runDir, '--format', 'web', '--out', out], /holds model\.safetensors, which no export wrote/);
    assert.strictEqual(readFileSync(path.join(out, 'model.safetensors'), 'utf8'), 'not ours');
  });
});
