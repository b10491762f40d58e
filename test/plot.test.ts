// The loss plot (SVG and PNG) of a run, the plot command, and the text chart of train.
import assert from 'assert';
import { spawnSync } from 'child_process';
import { createHash } from 'crypto';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import path from 'path';
import { PNG } from 'pngjs';
import { lossChart } from '../lib/report/chart';
import { UserError } from '../lib/util/errors';
import { buildLossPlot, lossPlotSvg, parseLossCsv, SMOOTH_COLOR, VAL_COLOR, writeLossPlot } from '../lib/report/plot';
import { LossRow } from '../lib/run/run-dir';
import { formatValRow, VAL_HEADER, ValRow } from '../lib/run/val-log';
import { UNICODE_TEXT } from './helpers';

const cli = path.join(__dirname, '..', 'dist', 'cli.js');
const run = (args: string[]) =>
  spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8', env: { ...process.env, RNN_NATIVE_BACKEND: '' } });

const HEADER = 'step,epoch,loss,smooth_loss,elapsed_s';

/** 120 rows of a falling loss over three epochs (epochs start at steps 410 and 810). */
function syntheticCsv(): string {
  const rows = Array.from({ length: 120 }, (_, i) => {
    const step = (i + 1) * 10;
    const smooth = 80 - 30 * (1 - Math.exp(-step / 400));
    const loss = smooth + 6 * Math.sin(step);
    return [step, Math.floor((step - 1) / 400) + 1, loss.toFixed(4), smooth.toFixed(4), (step / 1000).toFixed(3)].join(',');
  });
  return [HEADER, ...rows].join('\n') + '\n';
}

/** The points of an SVG path made of M and L commands. */
function pathPoints(d: string): [number, number][] {
  return [...d.matchAll(/[ML]\s*(-?[\d.]+)[ ,](-?[\d.]+)/g)].map((m) => [Number(m[1]), Number(m[2])]);
}

function attribute(svg: string, selector: RegExp): string {
  const match = selector.exec(svg);
  assert.ok(match, `no match for ${selector}`);
  return match[1];
}

/** Pixels within `tolerance` of an RGB colour. */
function countColor(png: PNG, [r, g, b]: number[], tolerance: number): number {
  let count = 0;
  for (let i = 0; i < png.data.length; i += 4) {
    if (Math.abs(png.data[i] - r) + Math.abs(png.data[i + 1] - g) + Math.abs(png.data[i + 2] - b) <= tolerance) count++;
  }
  return count;
}

const rgb = (hex: string) => [1, 3, 5].map((i) => parseInt(hex.slice(i, i + 2), 16));

/** Every `every`-th loss row as a validation row whose loss is the smooth loss per character, plus `offset`. */
function valRowsOf(rows: LossRow[], seqLength: number, every: number, offset = 0): ValRow[] {
  return rows.filter((_, i) => (i + 1) % every === 0).map((row) => ({ step: row.step, epoch: row.epoch, valLoss: row.smoothLoss / seqLength + offset, elapsed: row.elapsed }));
}

const valCsv = (rows: ValRow[]) => [VAL_HEADER, ...rows.map(formatValRow)].map((line) => line + '\n').join('');

describe('loss plot', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'rnn-plot-'));
  let count = 0;
  /** A directory holding loss.csv with the given content. */
  const csvDir = (content: string) => {
    const d = path.join(dir, `csv-${++count}`);
    mkdirSync(d);
    writeFileSync(path.join(d, 'loss.csv'), content);
    return d;
  };
  const rows = parseLossCsv(syntheticCsv(), 'synthetic');

  it('reads loss.csv rows', () => {
    assert.strictEqual(rows.length, 120);
    assert.deepStrictEqual(rows[0], { step: 10, epoch: 1, loss: Number((80 - 30 * (1 - Math.exp(-10 / 400)) + 6 * Math.sin(10)).toFixed(4)), smoothLoss: Number((80 - 30 * (1 - Math.exp(-10 / 400))).toFixed(4)), elapsed: 0.01 });
  });

  const malformed: [string, string, RegExp][] = [
    ['an empty file', '', /x\.csv: is empty/],
    ['a header without rows', HEADER + '\n', /x\.csv: has a header but no rows yet/],
    ['another header', 'a,b,c\n1,2,3\n', /x\.csv: line 1 is "a,b,c", expected the header step,epoch,loss/],
    ['a short row', `${HEADER}\n10,1,5,5,0.1\n20,1,5\n`, /x\.csv: line 3: expected five numbers .* got "20,1,5"/],
    ['a row that is not numbers', `${HEADER}\n10,1,NaN,5,0.1\n`, /x\.csv: line 2: expected five numbers/],
    ['a fractional step', `${HEADER}\n10.5,1,5,5,0.1\n`, /x\.csv: line 2: step and epoch must be integers/],
    ['steps that go back', `${HEADER}\n10,1,5,5,0.1\n10,1,5,5,0.2\n`, /x\.csv: line 3: step 10 does not follow step 10/],
  ];
  for (const [what, content, message] of malformed) {
    it(`rejects ${what} with a UserError naming the file and line`, () => {
      assert.throws(() => parseLossCsv(content, 'x.csv'), (error: Error) => error instanceof UserError && message.test(error.message));
    });
  }

  it('draws one smooth-loss point per row, epoch starts, axes with units, ticks, title and legend', () => {
    const svg = lossPlotSvg(rows, { name: 'my-run' });
    const smooth = pathPoints(attribute(svg, /class="smooth-loss" d="([^"]+)"/));
    const loss = pathPoints(attribute(svg, /class="loss" d="([^"]+)"/));
    assert.strictEqual(smooth.length, 120);
    assert.strictEqual(loss.length, 120);
    // x grows with the step; a falling loss is drawn rising in SVG's y (downwards) coordinates.
    assert.ok(smooth.every(([x], i) => i === 0 || x > smooth[i - 1][0]));
    assert.ok(smooth[119][1] > smooth[0][1] + 100, 'the smooth loss falls across the plot');
    assert.strictEqual((attribute(svg, /<g class="epochs">(.*?)<\/g>/s).match(/<line /g) ?? []).length, 2);
    assert.match(svg, />epoch 2</);
    assert.match(svg, />epoch 3</);
    for (const text of ['update step', 'loss (nats per sequence)', 'Smooth loss of my-run', 'smooth loss', 'loss of each logged update', 'epoch starts (first logged step)']) {
      assert.ok(svg.includes(`>${text}<`), `missing "${text}"`);
    }
    assert.match(svg, />1200</); // the last x tick
    assert.ok((svg.match(/text-anchor="end"/g) ?? []).length >= 4, 'y tick labels');
  });

  it('thins long runs to about two points per pixel column and escapes the name', () => {
    const many: LossRow[] = Array.from({ length: 50_000 }, (_, i) => ({ step: i + 1, epoch: 1, loss: 50, smoothLoss: 60 - i / 5000, elapsed: i }));
    const svg = lossPlotSvg(many, { name: '<b>&run' });
    const points = pathPoints(attribute(svg, /class="smooth-loss" d="([^"]+)"/));
    assert.ok(points.length > 1000 && points.length < 1500, `${points.length} points`);
    assert.ok(svg.includes('Smooth loss of &lt;b&gt;&amp;run'));
    assert.ok(!svg.includes('<b>'));
  });

  it('draws a run without validation exactly as before val.csv existed', () => {
    // The SHA-256 of this SVG before the validation curve was added (commit 60dfa7f).
    const svg = lossPlotSvg(rows, { name: 'my-run' });
    assert.strictEqual(createHash('sha256').update(svg).digest('hex'), '75834341093da7a4bbf1d05697945a84f8ceff07c64ccd0adaecf462a7ceb093');
    assert.strictEqual(lossPlotSvg(rows, { name: 'my-run', validation: { rows: [], seqLength: 25 } }), svg, 'no validation rows: the same plot');
    const d = csvDir(syntheticCsv());
    writeFileSync(path.join(d, 'val.csv'), VAL_HEADER + '\n');
    const plot = buildLossPlot(d);
    assert.deepStrictEqual(Object.keys(plot), ['csvPath', 'rows', 'svg']);
    assert.strictEqual(plot.svg, lossPlotSvg(rows, { name: path.basename(d) }), 'a val.csv of only its header: the same plot');
  });

  it('draws the validation loss on a right axis in nats per character: the left one ÷ seqLength', () => {
    const seqLength = 25;
    const valRows = valRowsOf(rows, seqLength, 10);
    const svg = lossPlotSvg(rows, { name: 'my-run', validation: { rows: valRows, seqLength } });
    const val = pathPoints(attribute(svg, /class="val-loss" d="([^"]+)"/));
    assert.strictEqual(val.length, 12);
    // Each validation point is the smooth loss ÷ seqLength at its step: drawn on the smooth-loss curve.
    const smooth = new Map(pathPoints(attribute(svg, /class="smooth-loss" d="([^"]+)"/)).map(([x, y]) => [x, y]));
    for (const [x, y] of val) assert.ok(Math.abs(smooth.get(x)! - y) <= 0.1, `validation point at x ${x}: y ${y}, smooth loss ${smooth.get(x)}`);
    assert.strictEqual((attribute(svg, /<g class="val-points"[^>]*>(.*?)<\/g>/s).match(/<circle /g) ?? []).length, 12);
    // Right tick labels sit where the left scale has seqLength × their value.
    const left = [...svg.matchAll(/<text x="70" y="([\d.]+)" text-anchor="end" stroke="none">([\d.]+)<\/text>/g)].map((m) => [Number(m[2]), Number(m[1])]);
    const right = [...svg.matchAll(/<text x="734" y="([\d.]+)" text-anchor="start" stroke="none">([\d.]+)<\/text>/g)].map((m) => [Number(m[2]), Number(m[1])]);
    assert.ok(left.length >= 4 && right.length >= 3, `${left.length} left and ${right.length} right ticks`);
    const leftY = (value: number) => {
      const [[v0, y0], [v1, y1]] = [left[0], left[left.length - 1]];
      return y0 + ((value - v0) / (v1 - v0)) * (y1 - y0);
    };
    for (const [value, y] of right) assert.ok(Math.abs(leftY(value * seqLength) - y) <= 0.2, `right tick ${value} at ${y}, left scale ${leftY(value * seqLength)}`);
    for (const text of ['Smooth and validation loss of my-run', 'loss (nats per sequence)', 'nats per character (left ÷ 25)', 'smooth training loss (÷ 25: per character)', 'validation loss (per character, right axis)', 'epoch starts (first logged step)']) {
      assert.ok(svg.includes(`>${text}<`), `missing "${text}"`);
    }
    const best = valRows[valRows.length - 1];
    assert.ok(svg.includes(`>per character: final validation loss ${best.valLoss.toFixed(3)}, lowest ${best.valLoss.toFixed(3)} (step 1,200); final smooth loss ${(rows[119].smoothLoss / 25).toFixed(3)}<`));
  });

  it('writes loss.svg and a loss.png with the smooth loss drawn', () => {
    const d = csvDir(syntheticCsv());
    const written = writeLossPlot(d);
    assert.strictEqual(written.svgPath, path.join(d, 'loss.svg'));
    assert.strictEqual(readFileSync(written.svgPath, 'utf8').trim(), written.svg);
    const png = PNG.sync.read(readFileSync(path.join(d, 'loss.png')));
    assert.deepStrictEqual([png.width, png.height], [1600, 900]);
    const white = countColor(png, [255, 255, 255], 0);
    assert.ok(white > 0.5 * png.width * png.height, 'a white background');
    const drawn = png.width * png.height - white;
    assert.ok(drawn > 0.02 * png.width * png.height, `${drawn} non-background pixels`);
    // The line is ~1,400 px long and ~4 px wide at this size; the legend's swatch alone is ~250 pixels.
    const smooth = countColor(png, rgb(SMOOTH_COLOR), 40);
    assert.ok(smooth > 2000, `${smooth} pixels of the smooth-loss colour`);
  });

  describe('rnn-native plot', () => {
    it('plots a run directory into RUN_DIR/loss.svg and loss.png', () => {
      const runDir = path.join(dir, 'run');
      const text = path.join(dir, 'text.txt');
      writeFileSync(text, UNICODE_TEXT.repeat(20));
      const trained = run(['train', '--data', text, '--steps', '200', '--hidden', '16', '--log-every', '10', '--out', runDir, '--quiet']);
      assert.strictEqual(trained.status, 0, trained.stderr);
      const result = run(['plot', runDir]);
      assert.strictEqual(result.status, 0, result.stderr);
      assert.strictEqual(result.stdout, `wrote ${path.join(runDir, 'loss.svg')} and ${path.join(runDir, 'loss.png')}\n`);
      const svg = readFileSync(path.join(runDir, 'loss.svg'), 'utf8');
      assert.strictEqual(pathPoints(attribute(svg, /class="smooth-loss" d="([^"]+)"/)).length, 20);
      assert.ok(PNG.sync.read(readFileSync(path.join(runDir, 'loss.png'))).width === 1600);
    });

    it('plots a loss.csv path, and -o names the SVG (the PNG goes beside it)', () => {
      const d = csvDir(syntheticCsv());
      let result = run(['plot', path.join(d, 'loss.csv')]);
      assert.strictEqual(result.status, 0, result.stderr);
      assert.ok(existsSync(path.join(d, 'loss.svg')) && existsSync(path.join(d, 'loss.png')));
      const out = path.join(dir, 'elsewhere.svg');
      result = run(['plot', d, '-o', out]);
      assert.strictEqual(result.status, 0, result.stderr);
      assert.match(readFileSync(out, 'utf8'), /^<svg /);
      assert.ok(PNG.sync.read(readFileSync(path.join(dir, 'elsewhere.png'))).height === 900);
    });

    /** A copy of the trained run of the first test, with `val` as its val.csv. */
    let copies = 0;
    const withVal = (val: string) => {
      const to = path.join(dir, `val-run-${++copies}`);
      cpSync(path.join(dir, 'run'), to, { recursive: true, filter: (from) => !/\.(svg|png)$/.test(from) });
      writeFileSync(path.join(to, 'val.csv'), val);
      return to;
    };

    it('plots val.csv beside loss.csv: the validation curve, its legend, in the PNG too', () => {
      const runDir = withVal('');
      const lossRows = parseLossCsv(readFileSync(path.join(runDir, 'loss.csv'), 'utf8'), 'loss.csv');
      const valRows = valRowsOf(lossRows, 25, 5, 0.2);
      writeFileSync(path.join(runDir, 'val.csv'), valCsv(valRows));
      const result = run(['plot', runDir]);
      assert.strictEqual(result.status, 0, result.stderr);
      const svg = readFileSync(path.join(runDir, 'loss.svg'), 'utf8');
      assert.strictEqual(pathPoints(attribute(svg, /class="val-loss" d="([^"]+)"/)).length, 4);
      assert.ok(svg.includes('>validation loss (per character, right axis)<') && svg.includes('>nats per character (left ÷ 25)<'));
      const png = PNG.sync.read(readFileSync(path.join(runDir, 'loss.png')));
      const val = countColor(png, rgb(VAL_COLOR), 40);
      assert.ok(val > 500, `${val} pixels of the validation colour`);
      assert.deepStrictEqual(buildLossPlot(runDir).validation, { rows: valRows, seqLength: 25 });
    });

    const badVal: [string, (d: string) => void, RegExp][] = [
      ['a malformed val.csv', (d) => writeFileSync(path.join(d, 'val.csv'), `${VAL_HEADER}\n100,1,2.5,0.1\n200,1,x,0.2\n`), /val\.csv: line 3: expected four numbers/],
      ['a val.csv whose steps go back', (d) => writeFileSync(path.join(d, 'val.csv'), `${VAL_HEADER}\n200,1,2.5,0.1\n100,1,2.4,0.2\n`), /val\.csv: line 3: step 100 does not follow step 200/],
      ['a val.csv without config.json', (d) => rmSync(path.join(d, 'config.json')), /val\.csv: has no config\.json beside it/],
    ];
    for (const [what, damage, message] of badVal) {
      it(`rejects ${what} with one line and exit code 2, writing nothing`, () => {
        const d = withVal(`${VAL_HEADER}\n100,1,2.5,0.1\n`);
        damage(d);
        const result = run(['plot', d]);
        assert.strictEqual(result.status, 2, result.stderr);
        assert.strictEqual(result.stderr.trim().split('\n').length, 1, result.stderr);
        assert.match(result.stderr.trim(), message);
        assert.ok(!existsSync(path.join(d, 'loss.svg')) && !existsSync(path.join(d, 'loss.png')));
      });
    }

    const emptyDir = path.join(dir, 'empty-dir');
    mkdirSync(emptyDir);
    const bad: [string, () => string[], RegExp][] = [
      ['a missing run directory', () => ['plot', path.join(dir, 'nope')], /nope: no such file or directory$/],
      ['a directory without loss.csv', () => ['plot', emptyDir], /empty-dir: holds no loss\.csv/],
      ['an empty loss.csv', () => ['plot', csvDir('')], /loss\.csv: is empty/],
      ['a malformed loss.csv', () => ['plot', csvDir(`${HEADER}\n10,1,x,5,0.1\n`)], /loss\.csv: line 2: expected five numbers/],
      ['an -o that is not .svg', () => ['plot', csvDir(syntheticCsv()), '-o', path.join(dir, 'plot.png')], /-o .*plot\.png: must end in \.svg/],
      ['an -o in a missing directory', () => ['plot', csvDir(syntheticCsv()), '-o', path.join(dir, 'no', 'p.svg')], /p\.svg: could not write \(the directory does not exist\)/],
      ['no run directory', () => ['plot'], /plot needs a run directory or a loss\.csv file/],
      ['two run directories', () => ['plot', dir, dir], /unexpected argument/],
    ];
    for (const [what, args, message] of bad) {
      it(`rejects ${what} with one line and exit code 2`, () => {
        const result = run(args());
        assert.strictEqual(result.status, 2, result.stderr);
        assert.strictEqual(result.stderr.trim().split('\n').length, 1, result.stderr);
        assert.match(result.stderr.trim(), message);
        assert.strictEqual(result.stdout, '');
      });
    }
  });
});

describe('loss chart (end of train)', () => {
  it('charts the smooth loss in at most 60 columns and states the best smooth loss', () => {
    const rows = parseLossCsv(syntheticCsv(), 'synthetic');
    const chart = lossChart(rows, 51.25);
    const lines = chart.split('\n');
    assert.strictEqual(lines[0], 'smooth loss from step 10 to 1200:');
    assert.strictEqual(lines[lines.length - 1], `best smooth loss 51.250 (best.safetensors); final ${rows[119].smoothLoss.toFixed(3)}`);
    const plotted = lines.slice(1, -1);
    assert.strictEqual(plotted.length, 11);
    assert.ok(plotted[0].startsWith(`    ${rows[0].smoothLoss.toFixed(2)} ┼`), plotted[0]);
    assert.match(plotted[10].trimEnd(), new RegExp(`^ +${rows[119].smoothLoss.toFixed(2).replace('.', '\\.')} ┤ +╰─+$`));
    assert.ok(plotted.every((line) => line.trimEnd().length <= 12 + 60));
  });

  it('with validation rows, states the best and final validation loss instead of the best smooth loss, to fit the terminal', () => {
    const rows = parseLossCsv(syntheticCsv(), 'synthetic');
    const valRows = valRowsOf(rows, 25, 30, 0.1);
    valRows[2].valLoss = 1.5; // the lowest, at step 900
    const final = rows[119].smoothLoss.toFixed(3);
    const valFinal = valRows[3].valLoss.toFixed(3);
    const wide = lossChart(rows, 51.25, Infinity, valRows).split('\n');
    assert.strictEqual(wide[wide.length - 1], `final smooth loss ${final}; validation loss per character: best 1.500 at step 900 (best.safetensors), final ${valFinal}`);
    assert.deepStrictEqual(wide.slice(0, -1), lossChart(rows, 51.25).split('\n').slice(0, -1), 'the same chart of the smooth loss');
    const narrow = lossChart(rows, 51.25, 80, valRows).split('\n');
    assert.strictEqual(narrow[narrow.length - 1], `validation loss: best 1.500 at step 900 (best.safetensors), final ${valFinal}`);
    assert.ok(narrow.every((line) => line.length < 80));
  });

  it('handles a single row without drawing', () => {
    const chart = lossChart([{ step: 5, epoch: 1, loss: 3, smoothLoss: 4, elapsed: 1 }], undefined);
    assert.strictEqual(chart, 'smooth loss from step 5 to 5:\nbest smooth loss - (best.safetensors); final 4.000');
  });
});
