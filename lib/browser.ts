// rnn-native/browser: text from an exported model (`rnn-native export --format web`) in a web page
// or any bundler, on the WebAssembly engine, with no Node APIs. The same model, seed and options
// give exactly the text of `rnn-native sample --backend wasm`.
import { wasmEngine } from './engine/wasm-engine';
import { modelBackend, ModelBackend } from './engine/model-backend';
import { drawnText, MAX_TEXT_LENGTH, RULE_SPECS, TextRequest } from './engine/sampling';
import { checkOptions, SEED_SPEC } from './model/config';
import { OptionSpecs } from './util/option-values';
import { Vocabulary } from './text/vocabulary';
import { decodeSafetensors } from './run/safetensors';
import { webModelOf, WebModelInfo } from './export/web-model';

export { WebModelInfo } from './export/web-model';

/** What text is drawn with: the options of `rnn-native sample`, with its defaults. */
export interface GenerateOptions {
  /** Text that warms up the state; the output starts with it. */
  prime?: string;
  /** Characters to draw (default 1000). */
  length?: number;
  /** 0 takes the most likely character (default 1). */
  temperature?: number;
  /** The same seed gives the same text (default 42). */
  seed?: number;
  topK?: number;
  topP?: number;
  minP?: number;
  repetitionPenalty?: number;
  repetitionWindow?: number;
  /** Ends the text at the first occurrence of this (included). */
  stop?: string;
  /** Characters per piece of generate()'s stream (default 16). */
  chunk?: number;
}

export interface BrowserModel {
  readonly info: WebModelInfo;
  /** The text in pieces (prime first), the page's event loop free between pieces. */
  generate(options?: GenerateOptions): AsyncIterable<string>;
  /** The whole text. */
  text(options?: GenerateOptions): Promise<string>;
}

/** A URL (string or URL), the bytes themselves, or for the wasm module a compiled WebAssembly.Module. */
export type Source = string | { href: string } | ArrayBuffer | Uint8Array;

export interface LoadOptions {
  /** The engine, rnn_native.wasm (default: beside this module). */
  wasm?: Source | object;
}

/** Where the engine is when not given: the bundle defines this as the URL of rnn_native.wasm beside it. */
declare const RNN_NATIVE_WASM_URL: string | undefined;

/** The little of the WebAssembly API used here (lib "dom" would bring in the whole browser). */
interface WasmApi {
  compile(bytes: Uint8Array): Promise<object>;
  instantiate(module: object, imports: object): Promise<{ exports: object }>;
}
const wasmApi = (globalThis as unknown as { WebAssembly: WasmApi }).WebAssembly;

/** Loads a model exported with `rnn-native export --format web` (model.safetensors) and the engine. */
export async function loadModel(model: Source, options: LoadOptions = {}): Promise<BrowserModel> {
  const [bytes, engine] = await Promise.all([bytesOf(model), engineOf(options.wasm)]);
  const web = webModelOf(decodeSafetensors(bytes, typeof model === 'string' ? model : 'the model'));
  const backend = modelBackend({ name: 'wasm', addon: engine }, web.shape, 1, 1, web.params, false);
  return browserModel(web.info, backend, new Vocabulary(web.info.vocabulary));
}

function browserModel(info: WebModelInfo, backend: ModelBackend, vocab: Vocabulary): BrowserModel {
  const generate = (options: GenerateOptions = {}): AsyncIterable<string> => {
    const pieces = drawnText(backend, vocab, textRequest(options));
    return (async function* () {
      let paused = performance.now();
      for (const piece of pieces) {
        yield piece;
        // The page's event loop gets a turn every 25 ms or so (a piece of a big model takes longer).
        if (performance.now() - paused < 25) continue;
        await new Promise((resolve) => setTimeout(resolve, 0));
        paused = performance.now();
      }
    })();
  };
  const text = async (options: GenerateOptions = {}) => {
    let all = '';
    for await (const piece of generate({ chunk: 4096, ...options })) all += piece;
    return all;
  };
  return { info, generate, text };
}

/** generate's options, checked as the command line checks sample's. */
const GENERATE_SPECS = {
  prime: { kind: 'string', help: 'the text that warms up the state' },
  length: { kind: 'integer', min: 1, max: MAX_TEXT_LENGTH, help: 'characters to draw' },
  temperature: { kind: 'number', min: 0, max: 100, help: 'softmax temperature, 0 = argmax' },
  seed: { ...SEED_SPEC, help: 'the same seed gives the same text' },
  stop: { kind: 'string', help: 'the text that ends it' },
  chunk: { kind: 'integer', min: 1, max: 1 << 20, help: 'characters per piece' },
  ...RULE_SPECS,
} satisfies OptionSpecs;

/** The options as drawnText takes them, with the command line's defaults. */
function textRequest(options: GenerateOptions): TextRequest {
  const o = checkOptions(options, GENERATE_SPECS, 'generate');
  const rules = { topK: o.topK, topP: o.topP, minP: o.minP, repetitionPenalty: o.repetitionPenalty, repetitionWindow: o.repetitionWindow };
  const given = Object.fromEntries(Object.entries(rules).filter(([, value]) => value !== undefined));
  return { prime: o.prime, length: o.length ?? 1000, temperature: o.temperature ?? 1, seed: o.seed ?? 42, rules: given, stop: o.stop, chunk: o.chunk ?? 16 };
}

async function bytesOf(source: Source): Promise<Uint8Array> {
  if (source instanceof Uint8Array) return source;
  if (source instanceof ArrayBuffer) return new Uint8Array(source);
  const url = typeof source === 'string' ? source : source.href;
  const response = await fetch(url).catch((error: Error) => {
    throw new Error(`${url} could not be fetched (${error.message})`);
  });
  if (!response.ok) throw new Error(`${url}: ${response.status} ${response.statusText}`);
  return new Uint8Array(await response.arrayBuffer());
}

/** The engine of a compiled module, bytes or a URL (compiled asynchronously: browsers refuse big synchronous compiles). */
async function engineOf(source: Source | object | undefined) {
  const given = source ?? (typeof RNN_NATIVE_WASM_URL === 'undefined' ? undefined : RNN_NATIVE_WASM_URL);
  if (given === undefined) throw new Error('rnn-native/browser: say where rnn_native.wasm is (options.wasm)');
  const isModule = typeof given === 'object' && !(given instanceof Uint8Array) && !(given instanceof ArrayBuffer) && !('href' in given);
  const compiled = isModule ? given : await wasmApi.compile(await bytesOf(given as Source));
  const instance = await wasmApi.instantiate(compiled, {});
  try {
    return wasmEngine(instance.exports);
  } catch (error) {
    throw new Error(`rnn-native/browser: the engine given is ${(error as Error).message}`);
  }
}
