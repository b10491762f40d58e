// The browser module (wasm/rnn-native.mjs, bundled from lib/browser.ts) in Node: it bundles for
// the browser with no Node API, and an exported model gives exactly the text of
// `rnn-native sample --backend wasm`. The page itself is tested in Chromium (test/web-export.test.ts).
// Budget: 15 s.
import assert from 'assert';
import { spawnSync } from 'child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import path from 'path';
import { build } from 'esbuild';
import { sampleCheckpoint } from '../lib/run/sample-checkpoint';
import { BROWSER_MODULE } from '../lib/export/web';
import { WASM_FILE } from '../lib/engine/wasm';
import type * as Browser from '../lib/browser';
import { decodeSafetensors, encodeSafetensors } from '../lib/run/safetensors';
import { generatedText } from './helpers';

const root = path.join(__dirname, '..');
const cli = path.join(root, 'dist', 'cli.js');
// ts-node compiles import() to require(): the ES module is loaded through a real import().
const importModule = new Function('url', 'return import(url)') as (url: string) => Promise<typeof Browser>;

function run(args: string[]) {
  return spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8' });
}

describe('the browser module', function () {
  this.timeout(15000);
  let dir: string;
  let browser: typeof Browser;
  const wasm = () => readFileSync(WASM_FILE);

  before(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'rnn-browser-module-'));
    writeFileSync(path.join(dir, 'text.txt'), generatedText(6000));
    for (const [cell, layers] of [['rnn', '1'], ['lstm', '2'], ['gru', '3']]) {
      const trained = run(['train', '--data', path.join(dir, 'text.txt'), '--cell', cell, '--layers', layers, '--hidden', '24', '--batch', '4', '--steps', '60', '--optimizer', 'adam', '--eta', '0.01', '--out', path.join(dir, cell), '--quiet']);
      assert.strictEqual(trained.status, 0, trained.stderr);
      const exported = run(['export', path.join(dir, cell), '--format', 'web', '--out', path.join(dir, `${cell}-web`)]);
      assert.strictEqual(exported.status, 0, exported.stderr);
    }
    browser = await importModule(`file://${BROWSER_MODULE}`);
  });

  it('bundles for the browser from lib/browser.ts with no Node API, and the built module imports nothing', async () => {
    // With platform 'browser', esbuild cannot resolve a Node module: one import of fs or util fails the build.
    const result = await build({ entryPoints: [path.join(root, 'lib', 'browser.ts')], bundle: true, write: false, format: 'esm', platform: 'browser', logLevel: 'silent' });
    assert.strictEqual(result.errors.length, 0);
    const built = readFileSync(BROWSER_MODULE, 'utf8');
    assert.doesNotMatch(built, /\bimport\s*[\w{*"']|\brequire\(|\bprocess\.|\bBuffer\b/);
  });

  const cases: [string, Browser.GenerateOptions][] = [
    ['rnn', {}],
    ['rnn', { length: 300, seed: 9, topK: 3 }],
    ['lstm', { prime: 'the ', length: 300, temperature: 0.7, seed: 5, topP: 0.6 }],
    ['gru', { length: 400, seed: 11, minP: 0.05, repetitionPenalty: 1.3, repetitionWindow: 16, stop: 'e' }],
    ['gru', { prime: 'o', length: 50, temperature: 0 }],
  ];
  for (const [cell, options] of cases) {
    it(`${cell} ${JSON.stringify(options)}: the text of sample --backend wasm`, async () => {
      const model = await browser.loadModel(readFileSync(path.join(dir, `${cell}-web`, 'model.safetensors')), { wasm: wasm() });
      const { topK, topP, minP, repetitionPenalty, repetitionWindow, ...rest } = options;
      const rules = Object.fromEntries(Object.entries({ topK, topP, minP, repetitionPenalty, repetitionWindow }).filter(([, v]) => v !== undefined));
      const request = { length: 1000, temperature: 1, seed: 42, ...rest, rules, backend: 'wasm' as const };
      const expected = Array.from(sampleCheckpoint(path.join(dir, cell, 'best.safetensors'), request).pieces).join('');
      assert.strictEqual(await model.text(options), expected);
      let streamed = '';
      for await (const piece of model.generate({ ...options, chunk: 7 })) streamed += piece;
      assert.strictEqual(streamed, expected, 'the same text in pieces of 7');
    });
  }

  it('tells its model: cell, layers, hidden size and vocabulary', async () => {
    const model = await browser.loadModel(readFileSync(path.join(dir, 'lstm-web', 'model.safetensors')), { wasm: wasm() });
    assert.deepStrictEqual({ ...model.info, vocabulary: model.info.vocabulary.length }, { cell: 'lstm', layers: 2, hidden: 24, vocabulary: new Set(generatedText(6000)).size });
  });

  it('refuses what is not a web model, unknown options and bad values, in one line', async () => {
    const load = (bytes: Uint8Array) => browser.loadModel(bytes, { wasm: wasm() });
    await assert.rejects(load(readFileSync(path.join(dir, 'rnn', 'best.safetensors'))), /^UserError: not an rnn-native web model: its format is "rnn-native-checkpoint"$/);
    await assert.rejects(load(Uint8Array.of(1, 2, 3)), /not a valid safetensors file/);
    // Beside the module by default: Node's fetch reads no file:// URL (a page's fetch reads http).
    await assert.rejects(browser.loadModel(readFileSync(path.join(dir, 'rnn-web', 'model.safetensors'))), /^Error: file:.*\/wasm\/rnn_native\.wasm could not be fetched/);
    const emptyModule = Uint8Array.of(0, 0x61, 0x73, 0x6d, 1, 0, 0, 0);
    await assert.rejects(browser.loadModel(readFileSync(path.join(dir, 'rnn-web', 'model.safetensors')), { wasm: emptyModule }), /^Error: rnn-native\/browser: the engine given is not rnn-native's WebAssembly module \(it lacks memory/);
    const model = await load(readFileSync(path.join(dir, 'rnn-web', 'model.safetensors')));
    await assert.rejects(model.text({ topk: 3 } as Browser.GenerateOptions), /^UserError: text: unknown option "topk"; did you mean "topK"\?/);
    await assert.rejects(model.text({ temperature: -1 }), /^UserError: temperature must be a number ≥ 0 and ≤ 100, got "-1"$/);
    await assert.rejects(model.text({ topP: 0 }), /topP must be/);
    await assert.rejects(model.text({ length: '50' } as unknown as Browser.GenerateOptions), /^UserError: length must be an integer from 1 to 100000000, got "50"$/);
    await assert.rejects(model.text({ stop: 5 } as unknown as Browser.GenerateOptions), /^UserError: stop must be a string, got 5$/);
    await assert.rejects(model.text({ prime: null } as unknown as Browser.GenerateOptions), /^UserError: prime must be a string, got null$/);
    await assert.rejects(model.text({ prime: 'of€' }), /characters not in the vocabulary: "€"/);
  });

  it('refuses a crafted model: weights not finite, sizes not plain integers or beyond the limits', async () => {
    const good = decodeSafetensors(readFileSync(path.join(dir, 'rnn-web', 'model.safetensors')), 'model');
    const crafted = (metadata: Record<string, string>, edit = (_: Float32Array) => {}) => {
      const tensors = Object.fromEntries(Object.entries(good.tensors).map(([name, t]) => [name, { ...t, data: Float32Array.from(t.data) }]));
      edit(tensors.V.data as Float32Array);
      return browser.loadModel(encodeSafetensors(tensors, { ...good.metadata, ...metadata }), { wasm: wasm() });
    };
    await assert.rejects(crafted({}, (v) => (v[3] = NaN)), /^UserError: not an rnn-native web model: tensor V holds values that are not finite$/);
    await assert.rejects(crafted({}, (v) => (v[0] = Infinity)), /tensor V holds values that are not finite/);
    for (const hidden of ['0x18', ' 24', '24.0', '1000000000']) {
      await assert.rejects(crafted({ hidden }), /^UserError: not an rnn-native web model: its layers and hidden units must be integers from 1 to 64 and 8192$/, hidden);
    }
    await assert.rejects(crafted({ layers: '64', hidden: '8192' }), /weights are over the limit of 50000000$/);
  });
});
