// rnn-native export --format torch: PyTorch (Debian's /usr/bin/python3 with python3-torch) runs the
// exported loader on a held text and must give the float64 reference's logits. Budget: 30 s.
import assert from 'assert';
import { spawnSync } from 'child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import path from 'path';
import { readCheckpoint } from '../lib';
import { exportedModel, ExportedModel } from '../lib/export/exported-model';
import { writeExport } from '../lib/export/export-dir';
import { TORCH_FORMAT } from '../lib/export/torch';
import { CellKind, ModelShape, nextLogits, parameterTable, zeroState } from '../lib/model/reference';
import { Corpus } from '../lib/text/corpus';
import { Rng } from '../lib/util/random';
import { exportedRun, generatedText, UNICODE_TEXT } from './helpers';


/** Debian's Python, which python3-torch installs into (the python3 first on PATH may lack torch). */
const PYTHON = '/usr/bin/python3';

/** Why PYTHON cannot run torch, or undefined when it can. */
function torchMissing(): string | undefined {
  const probe = spawnSync(PYTHON, ['-c', 'import torch'], { encoding: 'utf8' });
  if (probe.error) return `${PYTHON} cannot run (${probe.error.message})`;
  return probe.status === 0 ? undefined : `${PYTHON} has no torch (apt-get install python3-torch): ${probe.stderr.trim().split('\n').pop()}`;
}

/**
 * The conversion is held in float64: the float32 weights are exact there, so PyTorch and the
 * reference differ only by float64 rounding (measured ≤ 2.3e-14 here).
 */
const FLOAT64_TOLERANCE = 1e-9;
/**
 * float32 (the loader's default) adds float32 rounding, which a recurrence with large weights
 * amplifies: measured up to 8.5e-6 here (rnn, 2 layers), and 5.7e-5 over 3,000 symbols of another
 * seed's σ = 0.3 rnn. A bound for the float32 path, not for the conversion (docs/export.md "torch").
 */
const FLOAT32_TOLERANCE = 1e-4;

/** What PyTorch computed for one export (see PYTORCH_RUN). */
interface TorchResult {
  ids: number[];
  logits: Record<'float32' | 'float64', number[]>;
  /** float64 logits of the text fed in two pieces, the state carried from the first to the second. */
  pieces: number[];
  /** float64: generate(the text's first 5 characters, 40, temperature=0). */
  greedy: string;
}

/** Loads every export in float32 and float64 with the first one's loader (each holds the same file) and runs it on the text. */
const PYTORCH_RUN = `
import json, sys, torch
jobs = json.load(open(sys.argv[1], encoding="utf-8"))
sys.path.insert(0, jobs[0]["dir"])
import load_rnn_native as rn
flat = lambda logits: logits.double().flatten().tolist()
results = []
with torch.no_grad():
    for job in jobs:
        result = {"logits": {}}
        for name, dtype in (("float32", torch.float32), ("float64", torch.float64)):
            model = rn.load(job["dir"], dtype)
            ids = model.encode(job["text"])
            result["logits"][name] = flat(model(ids)[0])
        half = len(ids) // 2
        first, state = model(ids[:half])
        second, _ = model(ids[half:], state)
        result["pieces"] = flat(torch.cat([first, second]))
        result["ids"] = ids.tolist()
        result["greedy"] = model.generate(job["text"][:5], 40, temperature=0)
        results.append(result)
json.dump(results, open(sys.argv[2], "w"))
`;

function runPyTorch(dir: string, jobs: { dir: string; text: string }[]): TorchResult[] {
  const [jobFile, resultFile] = [path.join(dir, 'jobs.json'), path.join(dir, 'results.json')];
  writeFileSync(jobFile, JSON.stringify(jobs));
  const python = spawnSync(PYTHON, ['-c', PYTORCH_RUN, jobFile, resultFile], { encoding: 'utf8', timeout: 60_000 });
  assert.strictEqual(python.status, 0, python.stderr);
  return JSON.parse(readFileSync(resultFile, 'utf8')) as TorchResult[];
}

/** Every weight (biases too) drawn from N(0, 0.3²) and rounded to float32, as checkpoints hold them. */
function randomModel(shape: ModelShape, vocabulary: string[], seed: number): ExportedModel {
  const rng = Rng.fromSeed(seed);
  const params = Float64Array.from({ length: parameterTable(shape).total }, () => Math.fround(0.3 * rng.normal()));
  return { shape, vocabulary, params };
}

/** The reference's logits after each symbol of `ids`, from a zero state, flat. */
function referenceLogits(model: ExportedModel, ids: ArrayLike<number>): Float64Array {
  const state = zeroState(model.shape, 1);
  const out = new Float64Array(ids.length * model.shape.vocab);
  for (let t = 0; t < ids.length; t++) out.set(nextLogits(model.shape, model.params, state, ids[t]), t * model.shape.vocab);
  return out;
}

/** The prime and `length` symbols after it, each the reference's most likely one. */
function referenceGreedy(model: ExportedModel, prime: Int32Array, length: number): string {
  const state = zeroState(model.shape, 1);
  const symbols = Array.from(prime);
  let logits: Float64Array = new Float64Array(0);
  for (const id of prime) logits = nextLogits(model.shape, model.params, state, id);
  for (let i = 0; i < length; i++) {
    const next = logits.indexOf(Math.max(...logits));
    symbols.push(next);
    logits = nextLogits(model.shape, model.params, state, next);
  }
  return symbols.map((id) => model.vocabulary[id]).join('');
}

function maxDifference(a: ArrayLike<number>, b: ArrayLike<number>): number {
  assert.strictEqual(a.length, b.length);
  let max = 0;
  for (let i = 0; i < a.length; i++) max = Math.max(max, Math.abs(a[i] - b[i]));
  return max;
}

describe('export --format torch', function () {
  this.timeout(30000);
  const dir = mkdtempSync(path.join(tmpdir(), 'rnn-export-torch-'));
  const text = UNICODE_TEXT + generatedText(3000).slice(0, 400);
  const corpus = Corpus.fromText(text);
  const ids = corpus.vocab.encode(text);
  after(() => rmSync(dir, { recursive: true, force: true }));

  const missing = torchMissing();
  /** Skips the rest of a test, saying why, when there is no torch to run the export with. */
  function needTorch(test: Mocha.Context): void {
    if (!missing) return;
    console.warn(`      SKIPPED the PyTorch checks of the torch export: ${missing}`);
    test.skip();
  }

  it('PyTorch on the exported files gives the float64 reference logits: rnn, lstm, gru × 1, 2, 3 layers', function () {
    needTorch(this);
    const models: ExportedModel[] = [];
    const jobs: { dir: string; text: string }[] = [];
    for (const cell of ['rnn', 'lstm', 'gru'] as CellKind[]) {
      for (const layers of [1, 2, 3]) {
        const model = randomModel({ cell, vocab: corpus.vocab.size, hidden: 24, layers }, [...corpus.vocabulary], 100 * layers + models.length);
        const out = path.join(dir, `${cell}-${layers}`);
        writeExport(out, 'torch', TORCH_FORMAT.files(model));
        models.push(model);
        jobs.push({ dir: out, text });
      }
    }
    const results = runPyTorch(dir, jobs);
    models.forEach((model, i) => {
      const { cell, layers } = model.shape;
      const what = `${cell}, ${layers} layer(s)`;
      const { ids: torchIds, logits, pieces, greedy } = results[i];
      assert.deepStrictEqual(torchIds, Array.from(ids), `${what}: the loader's encode`);
      const expected = referenceLogits(model, ids);
      const [d32, d64, dPieces] = [maxDifference(logits.float32, expected), maxDifference(logits.float64, expected), maxDifference(pieces, expected)];
      console.log(`      ${what}: max |Δ| float32 ${d32.toExponential(2)}, float64 ${d64.toExponential(2)}`);
      assert.ok(d64 <= FLOAT64_TOLERANCE, `${what}: float64 max |Δ| ${d64} > ${FLOAT64_TOLERANCE}`);
      assert.ok(dPieces <= FLOAT64_TOLERANCE, `${what}: the text in two pieces, max |Δ| ${dPieces} > ${FLOAT64_TOLERANCE}`);
      assert.ok(d32 <= FLOAT32_TOLERANCE, `${what}: float32 max |Δ| ${d32} > ${FLOAT32_TOLERANCE}`);
      assert.strictEqual(greedy, referenceGreedy(model, ids.subarray(0, 5), 40), `${what}: generate at temperature 0`);
    });
  });

  it('through the CLI: a trained run exports the files TORCH_FORMAT makes, and the loader samples from them as a script', function () {
    const { runDir, out, stdout } = exportedRun(dir, 'torch', 30);
    assert.match(stdout, /wrote torch export of .*best\.safetensors to .*: model\.safetensors, config\.json, load_rnn_native\.py\ntry it \(Python with torch\): python3 .*load_rnn_native\.py PRIME\n$/);
    const expected = TORCH_FORMAT.files(exportedModel(readCheckpoint(path.join(runDir, 'best.safetensors')), runDir));
    assert.deepStrictEqual(readdirSync(out).sort(), ['config.json', 'load_rnn_native.py', 'model.safetensors', 'rnn-native-export.json']);
    for (const { name, content } of expected) assert.ok(readFileSync(path.join(out, name)).equals(Buffer.from(content)), name);
    const config = JSON.parse(readFileSync(path.join(out, 'config.json'), 'utf8'));
    assert.deepStrictEqual([config.cell, config.layers, config.hidden, config.input.batch_first], ['lstm', 2, 16, false]);

    needTorch(this);
    const sampled = spawnSync(PYTHON, [path.join(out, 'load_rnn_native.py'), 'the ', '30'], { encoding: 'utf8', timeout: 30_000 });
    assert.strictEqual(sampled.status, 0, sampled.stderr);
    assert.strictEqual(Array.from(sampled.stdout.replace(/\n$/, '')).length, 34, sampled.stdout);
    assert.ok(sampled.stdout.startsWith('the '), sampled.stdout);
  });
});
