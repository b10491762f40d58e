// The web export: a static folder with a text generator page, the model, the browser module and
// the WebAssembly engine it runs on (served over http: browsers refuse WebAssembly from file://).
import { existsSync, readFileSync } from 'fs';
import path from 'path';
import { UserError } from '../util/errors';
import { shellWord } from '../util/shell';
import { WASM_FILE } from '../engine/wasm';
import { ExportFormat } from './exported-model';
import { encodeWebModel } from './web-model';
import { WEB_PAGE } from './web-page';

/** The browser module (scripts/build-browser.js), beside the engine. */
export const BROWSER_MODULE = path.join(path.dirname(WASM_FILE), 'rnn-native.mjs');

function built(file: string, how: string): Uint8Array {
  if (!existsSync(file)) throw new UserError(`${file} is missing (${how} builds it)`);
  return readFileSync(file);
}

export const WEB_FORMAT: ExportFormat = {
  help: 'a page that generates text in the browser, on WebAssembly',
  next: (dir) => `serve it over http (browsers refuse file://), then open http://127.0.0.1:8000/\n  python3 -m http.server -d ${shellWord(dir)} 8000`,
  files: (model) => [
    { name: 'index.html', content: WEB_PAGE },
    { name: 'model.safetensors', content: encodeWebModel(model) },
    { name: 'rnn-native.mjs', content: built(BROWSER_MODULE, 'npm run build:ts') },
    { name: 'rnn_native.wasm', content: built(WASM_FILE, 'npm run build:wasm') },
  ],
};
