// The web export as a person uses it: the folder served over http from 127.0.0.1 and opened in
// headless Chromium (Debian's package, driven by playwright-core); the page's text equals
// `rnn-native sample --backend wasm`'s. Without /usr/bin/chromium the test is skipped, loudly.
// Budget: 40 s.
import assert from 'assert';
import { spawnSync } from 'child_process';
import { createReadStream, existsSync, mkdtempSync, statSync, writeFileSync } from 'fs';
import http from 'http';
import { AddressInfo } from 'net';
import { tmpdir } from 'os';
import path from 'path';
import { pathToFileURL } from 'url';
import { Browser, chromium, Page } from 'playwright-core';
import { generatedText } from './helpers';

const CHROMIUM = '/usr/bin/chromium';
const cli = path.join(__dirname, '..', 'dist', 'cli.js');
const TYPES: Record<string, string> = { '.html': 'text/html', '.mjs': 'text/javascript', '.wasm': 'application/wasm' };

const run = (args: string[]) => spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8' });

/** A static server of one folder on 127.0.0.1, as `python3 -m http.server` would serve it. */
function serve(dir: string): Promise<http.Server> {
  const server = http.createServer((request, response) => {
    const name = new URL(request.url ?? '/', 'http://127.0.0.1').pathname.slice(1) || 'index.html';
    const file = path.join(dir, name);
    if (name.includes('/') || !existsSync(file)) return void response.writeHead(404).end();
    response.writeHead(200, { 'content-type': TYPES[path.extname(file)] ?? 'application/octet-stream' });
    createReadStream(file).pipe(response);
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}

/** The page's text for the form's values (unset fields keep their defaults). */
async function generated(page: Page, fields: Record<string, string>): Promise<string> {
  for (const [id, value] of Object.entries(fields)) await page.fill(`#${id}`, value);
  await page.click('#generate');
  await page.waitForFunction("document.body.dataset.state === 'done'");
  return (await page.textContent('#output')) ?? '';
}

describe('web export in headless Chromium', function () {
  this.timeout(40000);
  let dir: string;
  let web: string;
  let server: http.Server;
  let browser: Browser;
  const problems: string[] = [];

  before(async function () {
    if (!existsSync(CHROMIUM)) {
      console.warn(`\n  *** SKIPPED: ${CHROMIUM} is absent, so the web export was NOT checked in a browser (apt-get install -y chromium) ***\n`);
      this.skip();
    }
    dir = mkdtempSync(path.join(tmpdir(), 'rnn-web-'));
    writeFileSync(path.join(dir, 'text.txt'), generatedText(8000));
    const trained = run(['train', '--data', path.join(dir, 'text.txt'), '--cell', 'lstm', '--layers', '2', '--hidden', '32', '--batch', '8', '--steps', '80', '--optimizer', 'adam', '--eta', '0.01', '--out', path.join(dir, 'run'), '--quiet']);
    assert.strictEqual(trained.status, 0, trained.stderr);
    web = path.join(dir, 'web');
    const exported = run(['export', path.join(dir, 'run'), '--format', 'web', '--out', web]);
    assert.strictEqual(exported.status, 0, exported.stderr);
    server = await serve(web);
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox', '--disable-gpu'] });
  });

  after(async () => {
    await browser?.close();
    server?.close();
  });

  async function openPage(url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`): Promise<Page> {
    const page = await browser.newPage({ viewport: { width: 900, height: 700 } });
    page.on('pageerror', (error) => problems.push(error.message));
    page.on('console', (message) => message.type() === 'error' && problems.push(message.text()));
    await page.goto(url);
    await page.waitForFunction("['ready', 'failed'].includes(document.body.dataset.state)");
    return page;
  }

  it('page, module and engine weigh at most 300 KB before the model', () => {
    const bytes = ['index.html', 'rnn-native.mjs', 'rnn_native.wasm'].reduce((total, name) => total + statSync(path.join(web, name)).size, 0);
    assert.ok(bytes <= 300 * 1024, `${bytes} bytes`);
  });

  it('generates the text of sample --backend wasm for the same seed and options, and names the model', async () => {
    const page = await openPage();
    assert.strictEqual(await page.textContent('#model'), 'LSTM, 2 × 32 units, 16 characters — computed in this page (WebAssembly)');
    const sample = (args: string[]) => {
      const result = run(['sample', '--model', path.join(dir, 'run'), '--backend', 'wasm', ...args]);
      assert.strictEqual(result.status, 0, result.stderr);
      return result.stdout.replace(/\n$/, '');
    };
    assert.strictEqual(await generated(page, { length: '300' }), sample(['--length', '300']));
    const options = { prime: 'the not', length: '500', temperature: '0.7', topK: '4', topP: '0.9', seed: '3' };
    const expected = sample(['--prime', 'the not', '--length', '500', '--temperature', '0.7', '--top-k', '4', '--top-p', '0.9', '--seed', '3']);
    assert.strictEqual(await generated(page, options), expected);
    assert.match((await page.textContent('#status')) ?? '', /^507 characters in \d+\.\d\d s$/);
    assert.deepStrictEqual(problems, []);
    await page.close();
  });

  it('says how to serve the folder when opened from file://', async () => {
    const page = await openPage(pathToFileURL(path.join(web, 'index.html')).href);
    assert.match((await page.textContent('#status')) ?? '', /serve this folder, e\.g\. python3 -m http\.server/);
    assert.strictEqual(await page.isDisabled('#generate'), true);
    await page.close();
  });
});
