// Shared by the tests: corpora and the backends' parameter comparison.
import { existsSync } from 'fs';
import path from 'path';
import { Corpus } from '../lib';
import { generatedText } from '../harness/generated-text';

export { generatedText };

export const SHAKESPEARE = path.join(__dirname, '..', '..', 'shared', 'data', 'tinyshakespeare.txt');

/** tinyshakespeare when ../shared has it, else a generated English-like text of ~200 KB. */
export function trainingCorpus(): Corpus {
  if (existsSync(SHAKESPEARE)) return Corpus.fromFile(SHAKESPEARE);
  return Corpus.fromText(generatedText(200_000));
}

/** Text with characters outside the BMP, a flag (two code points), umlauts and CRLF line ends. */
export const UNICODE_TEXT =
  'Grüße 🙂 aus Köln\r\nzweite Zeile 🇩🇪 mit 𝄞\r\n€ und ü und 🙂 noch einmal\r\nThe end.\r\n';

/**
 * The backends built from the C++ engine, each held to the same tests: the addon and the same
 * engine compiled to WebAssembly. The .wasm is built by scripts/setup.sh (npm run build:wasm):
 * tests of it fail when it is missing, they do not skip.
 */
export const COMPILED_BACKENDS = ['native', 'wasm'] as const;
