// Which backend computes the model (and making one of it): the float64 TypeScript reference ('ts') or the float32 C++
// engine, as the native addon ('native') or compiled to WebAssembly ('wasm', lib/engine/wasm.ts).
import { UserError } from '../util/errors';
import { CompiledBackend, loadCompiled, NativeAddon } from './native';
import { BackendName, ModelBackend, modelBackend } from './model-backend';
import { ModelShape } from '../model/reference';

export type BackendChoice = BackendName | 'auto';
const BACKEND_CHOICES: readonly unknown[] = ['auto', 'native', 'wasm', 'ts'];

export interface BackendSelection {
  name: BackendName;
  /** Why the native backend was not used, when 'auto' fell back to 'wasm' or 'ts'. */
  warning?: string;
}

/**
 * Picks the backend: an explicit 'native', 'wasm' or 'ts' wins, then the environment variable
 * RNN_NATIVE_BACKEND, then 'auto': native when the addon loads, else wasm when the WebAssembly
 * module loads, else ts, with a warning naming the fallback and why.
 */
export function selectBackend(choice: BackendChoice = 'auto'): BackendSelection {
  if (!BACKEND_CHOICES.includes(choice)) throw new UserError(`backend must be one of ${BACKEND_CHOICES.join(', ')}, got ${JSON.stringify(choice)}`);
  const fromEnv = process.env.RNN_NATIVE_BACKEND;
  if (choice === 'auto' && fromEnv !== undefined && fromEnv !== '') {
    if (!BACKEND_CHOICES.includes(fromEnv)) {
      throw new UserError(`RNN_NATIVE_BACKEND must be native, wasm, ts or auto, got "${fromEnv}"`);
    }
    choice = fromEnv as BackendChoice;
  }
  if (choice === 'ts') return { name: 'ts' };
  if (choice !== 'auto') {
    compiled(choice);
    return { name: choice };
  }
  const native = loadCompiled('native');
  if (native.addon) return { name: 'native' };
  const wasm = loadCompiled('wasm');
  if (wasm.addon) return { name: 'wasm', warning: `native addon unavailable (${native.error}); using the WebAssembly backend` };
  return { name: 'ts', warning: `native addon unavailable (${native.error}) and no WebAssembly backend (${wasm.error}); using the slower TypeScript backend` };
}

/** The engine of a compiled backend, or a UserError saying why it cannot load. */
export function compiled(name: CompiledBackend): NativeAddon {
  const { addon, error } = loadCompiled(name);
  if (!addon) throw new UserError(`the ${name} backend cannot load: ${error}`);
  return addon;
}

/** A backend of this name on the initial parameters (a compiled one that cannot load is a UserError). */
export function createModelBackend(name: BackendName, shape: ModelShape, streams: number, seqLength: number, initial: Float64Array, adam: boolean): ModelBackend {
  return modelBackend(name === 'ts' ? { name } : { name, addon: compiled(name) }, shape, streams, seqLength, initial, adam);
}
