// The WebAssembly backend in Node: wasm/rnn_native.wasm, read and instantiated once, its engine
// behind the addon's interface (lib/engine/wasm-engine.ts).
import { existsSync, readFileSync, statSync } from 'fs';
import path from 'path';
import type { NativeLoad } from './native-api';
import { wasmEngine } from './wasm-engine';
import { PACKAGE_ROOT } from '../util/package';

/** Where the build puts the module (shipped in the package: it is the same on every platform). */
export const WASM_FILE = path.join(PACKAGE_ROOT, 'wasm', 'rnn_native.wasm');

/** The little of the WebAssembly API used here (@types/node 20.9 has no WebAssembly types). */
interface WasmApi {
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object, imports: object) => { exports: object };
}
const wasmApi = (globalThis as unknown as { WebAssembly: WasmApi }).WebAssembly;

let loaded: NativeLoad | undefined;

/**
 * Instantiates wasm/rnn_native.wasm once (RNN_WASM_FILE=path loads another build). Never throws:
 * on failure it returns the reason. RNN_WASM_DISABLE=1 makes it report the module as absent.
 */
export function loadWasm(): NativeLoad {
  if (loaded) return loaded;
  if (process.env.RNN_WASM_DISABLE === '1') return (loaded = { error: 'disabled by RNN_WASM_DISABLE=1' });
  const file = process.env.RNN_WASM_FILE ? path.resolve(process.env.RNN_WASM_FILE) : WASM_FILE;
  if (!existsSync(file)) return (loaded = { error: `${file} is missing (npm run build:wasm builds it)` });
  // Reading would wait for ever on a FIFO: only a regular file (or a link to one) is read.
  if (!statSync(file).isFile()) return (loaded = { error: `${file} is not a regular file` });
  try {
    const instance = new wasmApi.Instance(new wasmApi.Module(readFileSync(file)), {});
    loaded = { addon: wasmEngine(instance.exports) };
  } catch (error) {
    const reason = (error as Error).message.split('\n')[0];
    loaded = { error: reason.startsWith('not ') ? `${file} is ${reason}` : `${file} does not load (${reason})` };
  }
  return loaded;
}
