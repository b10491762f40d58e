// A gigabyte text through the token cache: the encoding's throughput, the peak memory of a 2 × 128
// LSTM training on it, and how soon a second run on the same text has done its first update.
// The text is generated here (copies of tinyshakespeare, each under a heading with a non-ASCII
// dash) into a temporary directory and removed at the end. Run: npm run bench:big-text [-- MB]
import { spawnSync } from 'child_process';
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync, statSync, writeSync } from 'fs';
import os, { tmpdir } from 'os';
import path from 'path';
import { performance } from 'perf_hooks';
import { cachedCorpus } from '../lib/text/token-cache';

const cli = path.join(__dirname, '..', 'dist', 'cli.js');
const SHAKESPEARE = path.join(__dirname, '..', '..', 'shared', 'data', 'tinyshakespeare.txt');
const megabytes = Number(process.argv[2] ?? 1000);

function generate(file: string, bytes: number): void {
  const text = readFileSync(SHAKESPEARE);
  const fd = openSync(file, 'w');
  for (let copy = 1, written = 0; written < bytes; copy++) {
    const heading = Buffer.from(`\n— copy ${copy} —\n`, 'utf8');
    writeSync(fd, heading);
    writeSync(fd, text);
    written += heading.length + text.length;
  }
  closeSync(fd);
}

/** Wall seconds and peak RSS (MB) of `rnn-native train …`, by GNU time. */
function timedTrain(args: string[]): { seconds: number; rssMB: number } {
  const start = performance.now();
  const result = spawnSync('/usr/bin/time', ['-v', process.execPath, cli, 'train', ...args], { encoding: 'utf8' });
  const seconds = (performance.now() - start) / 1000;
  if (result.status !== 0) throw new Error(result.stderr);
  const rss = /Maximum resident set size \(kbytes\): (\d+)/.exec(result.stderr);
  return { seconds, rssMB: rss ? Number(rss[1]) / 1024 : NaN };
}

const dir = mkdtempSync(path.join(tmpdir(), 'rnn-big-'));
try {
  const text = path.join(dir, 'big.txt');
  generate(text, megabytes * 1e6);
  const size = statSync(text).size;
  console.log(`machine: ${os.cpus()[0].model}, ${os.cpus().length} CPUs, node ${process.version}; text ${(size / 1e6).toFixed(0)} MB`);

  const start = performance.now();
  cachedCorpus([{ path: text, inFolder: false }], { dir: path.join(dir, 'cache-encode'), separator: '\n', source: text });
  const encodeSeconds = (performance.now() - start) / 1000;
  console.log(`encoding into the cache (in process): ${encodeSeconds.toFixed(1)} s, ${(size / 1e6 / encodeSeconds).toFixed(0)} MB/s (target ≥ 100)`);

  const model = ['--cell', 'lstm', '--layers', '2', '--hidden', '128', '--batch', '50', '--seq-length', '50', '--optimizer', 'adam'];
  const common = ['--data', text, '--cache-dir', path.join(dir, 'cache'), ...model, '--sample-every', '0', '--quiet'];
  const first = timedTrain([...common, '--steps', '200', '--val-fraction', '0.01', '--eval-every', '200', '--out', path.join(dir, 'first')]);
  console.log(`first run (encodes, 200 updates, one validation of 1 %): ${first.seconds.toFixed(1)} s, peak RSS ${first.rssMB.toFixed(0)} MB (target ≤ 400)`);
  const second = timedTrain([...common, '--steps', '1', '--out', path.join(dir, 'second')]);
  console.log(`second run (cache hit) to its first update, process start to exit: ${second.seconds.toFixed(2)} s (target ≤ 2), peak RSS ${second.rssMB.toFixed(0)} MB`);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
