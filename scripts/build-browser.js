// Bundles lib/browser.ts into wasm/rnn-native.mjs, the ES module `rnn-native/browser`: no Node
// APIs, minified, beside the engine it loads (wasm/rnn_native.wasm, found through import.meta.url
// as browsers and bundlers resolve it).
const esbuild = require('esbuild');
const path = require('path');

const root = path.join(__dirname, '..');
esbuild.buildSync({
  entryPoints: [path.join(root, 'lib', 'browser.ts')],
  outfile: path.join(root, 'wasm', 'rnn-native.mjs'),
  bundle: true,
  format: 'esm',
  platform: 'browser',
  target: 'es2020',
  minify: true,
  legalComments: 'none',
  banner: { js: 'const RNN_NATIVE_WASM_URL = new URL("./rnn_native.wasm", import.meta.url).href;' },
  logLevel: 'warning',
});
