#!/usr/bin/env node
// prebuildify calls its --node-gyp program as `<prog> rebuild --target=V --devdir=D [--arch=A]
// --release|--debug` and then takes the .node file from build/Release (or build/Debug).
// prebuildify has no cmake-js backend, so this shim turns that call into `cmake-js rebuild`.
// Node-API builds do not depend on the target version, so --target and --devdir are dropped.
// A prebuild is self-contained: OpenBLAS is linked statically (CMake option RNN_STATIC_OPENBLAS),
// so the shipped .node loads on a machine without OpenBLAS.
'use strict';
const path = require('path');
const { spawnSync } = require('child_process');

const args = process.argv.slice(2);
const cmakeJsArgs = ['rebuild', '--CDRNN_STATIC_OPENBLAS=ON'];
for (const arg of args) {
  if (arg === '--debug') cmakeJsArgs.push('--debug');
  else if (arg.startsWith('--arch=')) cmakeJsArgs.push('--arch', arg.slice('--arch='.length));
}
const cmakeJs = require.resolve('cmake-js/bin/cmake-js');
const result = spawnSync(process.execPath, [cmakeJs, ...cmakeJsArgs], {
  cwd: path.join(__dirname, '..'),
  stdio: 'inherit',
});
process.exit(result.status === null ? 1 : result.status);
