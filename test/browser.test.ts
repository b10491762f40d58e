// report.html as a person sees it: opened in headless Chromium (Debian's package), screenshotted,
// and checked that the plot is drawn. Without /usr/bin/chromium the test is skipped, loudly.
import assert from 'assert';
import { spawnSync } from 'child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import path from 'path';
import { pathToFileURL } from 'url';
import { chromium } from 'playwright-core';
import { PNG } from 'pngjs';
import { SMOOTH_COLOR } from '../lib/report/plot';
import { writeReport } from '../lib/report/report';
import { UNICODE_TEXT } from './helpers';

const CHROMIUM = '/usr/bin/chromium';
const ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'];
const cli = path.join(__dirname, '..', 'dist', 'cli.js');

/** The points of an SVG path made of M and L commands. */
const pathPoints = (d: string): [number, number][] =>
  [...d.matchAll(/[ML]\s*(-?[\d.]+)[ ,](-?[\d.]+)/g)].map((m) => [Number(m[1]), Number(m[2])]);

/** Pixels whose colour differs from `background` by more than `tolerance` (sum over R, G, B), and those near `color`. */
function countPixels(png: PNG, background: number[], color: number[], tolerance: number): { drawn: number; colored: number } {
  let drawn = 0;
  let colored = 0;
  const distance = (i: number, [r, g, b]: number[]) => Math.abs(png.data[i] - r) + Math.abs(png.data[i + 1] - g) + Math.abs(png.data[i + 2] - b);
  for (let i = 0; i < png.data.length; i += 4) {
    if (distance(i, background) > tolerance) drawn++;
    if (distance(i, color) <= tolerance) colored++;
  }
  return { drawn, colored };
}

describe('report in headless Chromium', function () {
  let runDir: string;

  before(function () {
    if (!existsSync(CHROMIUM)) {
      console.warn(`\n  *** SKIPPED: ${CHROMIUM} is absent, so report.html was NOT checked in a browser (apt-get install -y chromium) ***\n`);
      this.skip();
    }
    const dir = mkdtempSync(path.join(tmpdir(), 'rnn-browser-'));
    const text = path.join(dir, 'text.txt');
    writeFileSync(text, UNICODE_TEXT.repeat(20));
    runDir = path.join(dir, 'run');
    const args = ['train', '--data', text, '--steps', '300', '--hidden', '16', '--log-every', '5', '--sample-every', '100', '--out', runDir, '--quiet'];
    const trained = spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8' });
    assert.strictEqual(trained.status, 0, trained.stderr);
    writeReport(runDir);
  });

  it('draws the loss plot: a path of many points, and a screenshot that is not blank', async function () {
    this.timeout(30000);
    const userDataDir = mkdtempSync(path.join(tmpdir(), 'rnn-chromium-'));
    const context = await chromium.launchPersistentContext(userDataDir, { executablePath: CHROMIUM, headless: true, args: ARGS });
    try {
      const page = await context.newPage();
      const requests: string[] = [];
      const problems: string[] = [];
      page.on('request', (request) => requests.push(request.url()));
      page.on('pageerror', (error) => problems.push(error.message));
      page.on('console', (message) => message.type() === 'error' && problems.push(message.text()));
      const url = pathToFileURL(path.join(runDir, 'report.html')).href;
      await page.goto(url);

      const rows = readFileSync(path.join(runDir, 'loss.csv'), 'utf8').trim().split('\n').length - 1;
      const d = await page.locator('figure svg path.smooth-loss').getAttribute('d');
      const points = pathPoints(d ?? '');
      assert.strictEqual(points.length, rows, 'one point per loss.csv row');
      assert.ok(points.length >= 50, `${points.length} points`);
      assert.ok(points.every(([x, y], i) => x >= 0 && x <= 800 && y >= 0 && y <= 450 && (i === 0 || x > points[i - 1][0])));

      const figure = page.locator('figure svg');
      const box = await figure.boundingBox();
      assert.ok(box && box.width >= 700 && box.height >= 390, `the plot is ${box?.width}×${box?.height} on the page`);
      const shot = PNG.sync.read(await figure.screenshot());
      const smooth = [1, 3, 5].map((i) => parseInt(SMOOTH_COLOR.slice(i, i + 2), 16));
      const { drawn, colored } = countPixels(shot, [255, 255, 255], smooth, 60);
      assert.ok(drawn > 0.02 * shot.width * shot.height, `${drawn} of ${shot.width * shot.height} pixels drawn`);
      // The curve is ~700 px long and 2 px wide; the legend's swatch alone is ~60 pixels.
      assert.ok(colored > 600, `${colored} pixels of the smooth-loss colour`);

      assert.deepStrictEqual(requests, [url], 'the page loads nothing but itself');
      assert.deepStrictEqual(problems, []);
    } finally {
      await context.close();
      rmSync(userDataDir, { recursive: true, force: true });
    }
  });
});
