// The loader of the native addon, and of the same engine compiled to WebAssembly; their interface
// is lib/engine/native-api.ts's, re-exported here.
import { existsSync, statSync } from 'fs';
import path from 'path';
import type { NativeAddon, NativeLoad } from './native-api';
import { loadWasm } from './wasm';
import { PACKAGE_ROOT } from '../util/package';

export type { CellKind, NativeAddon, NativeLoad, Matmul, CompiledModel, CompiledModelSpec, CompiledOptimizerSettings } from './native-api';

let loaded: NativeLoad | undefined;

/**
 * Loads the addon once (build/Release, then prebuilds/, through node-gyp-build). Never throws:
 * on failure it returns the reason. RNN_NATIVE_DISABLE=1 makes it report the addon as absent.
 * RNN_NATIVE_ADDON=/path/to/rnn_native.node loads that file instead (e.g. the sanitized build of
 * scripts/sanitize.sh, which must run with the ASan runtime in LD_PRELOAD, or the ASan runtime
 * ends the process); if it does not load, the reason names the variable and the path.
 */
export function loadNative(): NativeLoad {
  if (loaded) return loaded;
  if (process.env.RNN_NATIVE_DISABLE === '1') {
    loaded = { error: 'disabled by RNN_NATIVE_DISABLE=1' };
    return loaded;
  }
  const override = process.env.RNN_NATIVE_ADDON;
  if (override) {
    loaded = loadAddonFile(override);
    return loaded;
  }
  try {
    // eslint-disable-next-line @typescript-eslint/no-var-requires
    const nodeGypBuild: (dir: string) => NativeAddon = require('node-gyp-build');
    loaded = { addon: nodeGypBuild(PACKAGE_ROOT) };
  } catch (error) {
    const message = (error as Error).message.split('\n')[0];
    loaded = { error: message };
  }
  return loaded;
}

/**
 * The compiled addon at RNN_NATIVE_ADDON. process.dlopen, not require: require would run a .js
 * file, parse a .json one, or find `<path>.js` when the path does not exist.
 */
function loadAddonFile(override: string): NativeLoad {
  const file = path.resolve(override);
  const failed = (reason: string): NativeLoad => ({ error: `RNN_NATIVE_ADDON=${override}: could not load ${file} (${reason})` });
  if (path.extname(file) !== '.node') return failed('not a compiled addon: the path must end in .node');
  // dlopen would wait for ever on a FIFO: only a regular file (or a link to one) is loaded.
  if (existsSync(file) && !statSync(file).isFile()) return failed('not a regular file');
  const module = { exports: {} };
  try {
    process.dlopen(module, file);
  } catch (error) {
    return failed((error as Error).message.split('\n')[0]);
  }
  return { addon: module.exports as NativeAddon };
}

/** A backend built from the C++ engine: the addon, or the same engine compiled to WebAssembly (lib/engine/wasm.ts). */
export type CompiledBackend = 'native' | 'wasm';

/** The engine of a compiled backend behind the one NativeAddon interface. Never throws. */
export function loadCompiled(name: CompiledBackend): NativeLoad {
  return name === 'wasm' ? loadWasm() : loadNative();
}
