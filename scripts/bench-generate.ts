// How fast a trained-size model streams text: a 2 × 128 LSTM drawing 1,000 characters from a
// checkpoint on the native and wasm backends (in this process: the file read, the model made, the
// text drawn), and in the web export's page in Chromium (the Generate click to the last piece).
// Medians of 7. Run: npm run bench:generate
import { spawnSync } from 'child_process';
import { createReadStream, existsSync, mkdtempSync, writeFileSync } from 'fs';
import http from 'http';
import { AddressInfo } from 'net';
import os, { tmpdir } from 'os';
import path from 'path';
import { performance } from 'perf_hooks';
import { chromium } from 'playwright-core';
import { sampleCheckpoint } from '../lib/run/sample-checkpoint';

const RUNS = 7;
const LENGTH = 1000;
const CHROMIUM = '/usr/bin/chromium';
const cli = path.join(__dirname, '..', 'dist', 'cli.js');

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];

function exec(args: string[]): void {
  const result = spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8' });
  if (result.status !== 0) throw new Error(result.stderr);
}

function backendSeconds(file: string, backend: 'native' | 'wasm'): number {
  const seconds = [];
  for (let i = 0; i < RUNS; i++) {
    const start = performance.now();
    const text = Array.from(sampleCheckpoint(file, { length: LENGTH, temperature: 1, seed: i, backend }).pieces).join('');
    seconds.push((performance.now() - start) / 1000);
    if ([...text].length !== LENGTH) throw new Error(`drew ${[...text].length} characters`);
  }
  return median(seconds);
}

async function pageSeconds(web: string): Promise<number> {
  const server = http.createServer((request, response) => {
    const file = path.join(web, new URL(request.url ?? '/', 'http://x').pathname.slice(1) || 'index.html');
    const type = { '.html': 'text/html', '.mjs': 'text/javascript', '.wasm': 'application/wasm' }[path.extname(file)];
    if (!existsSync(file)) return void response.writeHead(404).end();
    response.writeHead(200, { 'content-type': type ?? 'application/octet-stream' });
    createReadStream(file).pipe(response);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox', '--disable-gpu'] });
  try {
    const page = await browser.newPage();
    await page.goto(`http://127.0.0.1:${(server.address() as AddressInfo).port}/`);
    await page.waitForFunction("document.body.dataset.state === 'ready'");
    await page.fill('#length', String(LENGTH));
    const seconds = [];
    for (let i = 0; i < RUNS; i++) {
      await page.fill('#seed', String(i));
      const start = performance.now();
      await page.click('#generate');
      await page.waitForFunction("document.body.dataset.state === 'done'", undefined, { polling: 5 });
      seconds.push((performance.now() - start) / 1000);
    }
    return median(seconds);
  } finally {
    await browser.close();
    server.close();
  }
}

async function main(): Promise<void> {
  const dir = mkdtempSync(path.join(tmpdir(), 'rnn-bench-generate-'));
  const text = path.join(dir, 'text.txt');
  // 65 distinct characters, as tinyshakespeare has: the output layer's size matters.
  writeFileSync(text, Array.from({ length: 20000 }, (_, i) => String.fromCharCode(32 + ((i * 7919) % 65))).join(''));
  const run = path.join(dir, 'run');
  exec(['train', '--data', text, '--cell', 'lstm', '--layers', '2', '--hidden', '128', '--steps', '1', '--out', run, '--quiet']);
  exec(['export', run, '--format', 'web', '--out', path.join(dir, 'web')]);
  const file = path.join(run, 'best.safetensors');
  console.log(`${os.cpus()[0].model}, ${os.cpus().length} cores; a 2 × 128 LSTM, K = 65, ${LENGTH} characters, median of ${RUNS}`);
  for (const backend of ['native', 'wasm'] as const) console.log(`${backend.padEnd(8)} ${backendSeconds(file, backend).toFixed(3)} s (the checkpoint read, the model made, the text drawn)`);
  if (existsSync(CHROMIUM)) console.log(`page     ${(await pageSeconds(path.join(dir, 'web'))).toFixed(3)} s (Chromium: the Generate click to the last piece shown)`);
  else console.log(`page     skipped: ${CHROMIUM} is absent`);
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
