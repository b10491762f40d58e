#!/usr/bin/env node
// npm "install" hook: use a prebuilt or already built addon when one loads, else build it with
// cmake-js. (node-gyp-build's own install command can only fall back to node-gyp, not cmake-js.)
'use strict';
const fs = require('fs');
const path = require('path');
const { spawnSync } = require('child_process');

const root = path.join(__dirname, '..');
// What runs without the addon: the shipped WebAssembly module, else (a checkout without
// `npm run build:wasm`) the TypeScript reference.
const fallback = fs.existsSync(path.join(root, 'wasm', 'rnn_native.wasm')) ? 'the WebAssembly backend' : 'the slower TypeScript backend';

function addonLoads() {
  try {
    require('node-gyp-build')(root);
    return true;
  } catch {
    return false;
  }
}

if (process.env.RNN_NATIVE_SKIP_BUILD === '1') {
  console.warn(`rnn-native: RNN_NATIVE_SKIP_BUILD=1, not building the addon; ${fallback} will be used.`);
  process.exit(0);
}
if (process.env.npm_config_build_from_source !== 'true' && addonLoads()) process.exit(0);

const cmakeJs = require.resolve('cmake-js/bin/cmake-js');
const result = spawnSync(process.execPath, [cmakeJs, 'compile'], { cwd: root, stdio: 'inherit' });
if (result.status !== 0) {
  console.error(
    'rnn-native: building the native addon failed (see the CMake message above; it names what to install).\n' +
      'rnn-native: run "bash scripts/setup.sh" to install cmake, g++ and OpenBLAS, or set RNN_NATIVE_SKIP_BUILD=1 ' +
      `to install without the addon and use ${fallback}.`
  );
  process.exit(result.status || 1);
}
