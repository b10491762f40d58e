// Shared by the tests: corpora and the backends' parameter comparison.
import { spawnSync } from 'child_process';
import { createHash } from 'crypto';
import { existsSync, writeFileSync } from 'fs';
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

/**
 * A checkpoint's bytes with its digest made right again (as docs/checkpoints.md defines it: SHA-256
 * of the file with the digest's 64 digits read as "0"s), for tests that edit a file on purpose to
 * reach the reader's checks behind the digest. Bytes without one digest key come back unchanged.
 */
export function resealed(bytes: Buffer): Buffer {
  const out = Buffer.from(bytes);
  if (out.length < 8) return out;
  const headerLength = Number(out.readBigUInt64LE(0));
  const header = out.subarray(8, Math.min(out.length, 8 + headerLength));
  const key = Buffer.from('"digest_sha256":"');
  const first = header.indexOf(key);
  if (first < 0 || header.indexOf(key, first + 1) >= 0 || first + key.length + 64 > header.length) return out;
  const at = 8 + first + key.length;
  out.fill('0', at, at + 64);
  out.write(createHash('sha256').update(out).digest('hex'), at, 'latin1');
  return out;
}

/**
 * A small 2 × 16 LSTM run trained by the CLI in `dir` (run/), then exported in `format` to
 * `dir/out`: the run directory, the export directory and what export printed.
 */
export function exportedRun(dir: string, format: string, steps: number): { runDir: string; out: string; stdout: string } {
  const cli = path.join(__dirname, '..', 'dist', 'cli.js');
  const run = (args: string[]) => spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8', env: { ...process.env, RNN_NATIVE_BACKEND: '' } });
  const textFile = path.join(dir, 'text.txt');
  writeFileSync(textFile, generatedText(20_000));
  const runDir = path.join(dir, 'run');
  const trained = run(['train', '--data', textFile, '--cell', 'lstm', '--layers', '2', '--hidden', '16', '--steps', String(steps), '--sample-every', '0', '--quiet', '--out', runDir]);
  if (trained.status !== 0) throw new Error(trained.stderr);
  const out = path.join(dir, 'out');
  const exported = run(['export', runDir, '--format', format, '--out', out]);
  if (exported.status !== 0) throw new Error(exported.stderr);
  return { runDir, out, stdout: exported.stdout };
}
