// rnn-native/browser: text from an exported model (`rnn-native export --format web`) in a web page
// or any bundler, on the WebAssembly engine, with no Node APIs. The same model, seed and options
// give exactly the text of `rnn-native sample --backend wasm`.
import { wasmEngine } from './engine/wasm-engine';
import { modelBackend, ModelBackend } from './engine/model-backend';
import { drawnText, GenerateOptions, streamed, textRequest } from './engine/sampling';
import { Vocabulary } from './text/vocabulary';
import { decodeSafetensors } from './run/safetensors';
import { webModelOf, WebModelInfo } from './export/web-model';

export { WebModelInfo } from './export/web-model';
export { GenerateOptions } from './engine/sampling';

/** A page's next task: a timer (a page has no setImmediate). */
const nextTask = () => new Promise<void>((resolve) => setTimeout(resolve, 0));

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
  const draw = (options: GenerateOptions, what: string, chunk?: number) => streamed(drawnText(backend, vocab, textRequest(options, what, chunk)), nextTask);
  const generate = (options: GenerateOptions = {}) => draw(options, 'generate', 16);
  const text = async (options: GenerateOptions = {}) => {
    let all = '';
    for await (const piece of draw(options, 'text')) all += piece;
    return all;
  };
  return { info, generate, text };
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
