// rnn-native export's command line: what it refuses (one line, exit 2, nothing written) and the
// output directory rule (new, empty or an earlier export; only the export's own files replaced).
// Budget: 15 s.
import assert from 'assert';
import { spawnSync } from 'child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from 'fs';
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

  it('refuses a manifest that is null, and a link where its file would go', () => {
    const nulled = path.join(dir, 'nulled');
    mkdirSync(nulled);
    writeFileSync(path.join(nulled, 'rnn-native-export.json'), 'null');
    refused([runDir, '--format', 'onnx', '--out', nulled], /rnn-native-export\.json is not an export manifest \(no list of files\)/);
    const linked = path.join(dir, 'linked');
    mkdirSync(linked);
    writeFileSync(path.join(linked, 'rnn-native-export.json'), JSON.stringify({ format: 'onnx', files: ['config.json', '../text.txt'] }));
    symlinkSync('/nonexistent-target', path.join(linked, 'config.json'));
    refused([runDir, '--format', 'onnx', '--out', linked], /linked: config\.json is not a regular file \(a link or a directory\)/);
    assert.deepStrictEqual(readdirSync(linked).sort(), ['config.json', 'rnn-native-export.json']);
  });

  it("refuses an earlier export of another format, and removes what an earlier export of its own wrote and it does not", () => {
    const out = path.join(dir, 'switched');
    assert.strictEqual(run(['export', runDir, '--format', 'onnx', '--out', out]).status, 0);
    refused([runDir, '--format', 'torch', '--out', out], /--out .*switched holds an export in onnx format: choose another directory for torch \(or remove that one\)/);
    assert.deepStrictEqual(readdirSync(out).sort(), ['config.json', 'model.onnx', 'rnn-native-export.json']);
    // An earlier version's onnx export that wrote one more file: it goes, and the manifest lists the new.
    writeFileSync(path.join(out, 'vocabulary.txt'), 'old');
    writeFileSync(path.join(out, 'rnn-native-export.json'), JSON.stringify({ format: 'onnx', files: ['config.json', 'model.onnx', 'vocabulary.txt'] }));
    assert.strictEqual(run(['export', runDir, '--format', 'onnx', '--out', out]).status, 0);
    assert.deepStrictEqual(readdirSync(out).sort(), ['config.json', 'model.onnx', 'rnn-native-export.json']);
    assert.deepStrictEqual(JSON.parse(readFileSync(path.join(out, 'rnn-native-export.json'), 'utf8')).files, ['config.json', 'model.onnx']);
  });

  it('takes up an export stopped half-way: its manifest lists every file, its stale temporary file goes', () => {
    const out = path.join(dir, 'stopped');
    mkdirSync(out);
    // What a stop during the writing leaves: the manifest written first, one file staged by a process now gone.
    writeFileSync(path.join(out, 'rnn-native-export.json'), JSON.stringify({ format: 'web', files: ['index.html', 'model.safetensors', 'rnn-native.mjs', 'rnn_native.wasm'] }));
    writeFileSync(path.join(out, '.model.safetensors.999999999.tmp'), 'half');
    const again = run(['export', runDir, '--format', 'web', '--out', out]);
    assert.strictEqual(again.status, 0, again.stderr);
    assert.strictEqual(existsSync(path.join(out, '.model.safetensors.999999999.tmp')), false);
    assert.deepStrictEqual(readdirSync(out).sort(), ['index.html', 'model.safetensors', 'rnn-native-export.json', 'rnn-native.mjs', 'rnn_native.wasm']);
  });

  it("refuses weights beyond float32's range (a ts run's) in every format", function () {
    const huge = path.join(dir, 'huge');
    const trained = run(['train', '--data', path.join(dir, 'text.txt'), '--backend', 'ts', '--eta', '3e38', '--hidden', '8', '--steps', '20', '--out', huge, '--quiet']);
    assert.strictEqual(trained.status, 0, trained.stderr);
    for (const format of ['onnx', 'torch', 'web']) {
      refused([huge, '--format', format, '--out', path.join(dir, `huge-${format}`)], /the model holds weights beyond float32's range \(±3\.4e38\), which no export format can hold/);
      assert.strictEqual(existsSync(path.join(dir, `huge-${format}`)), false);
    }
  });
});
