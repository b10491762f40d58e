// Logs of any length: loss.csv is read as a stream, its figures exact, only the drawn curve thinned;
// a resume keeps the rows up to its checkpoint without holding the file.
import assert from 'assert';
import { spawnSync } from 'child_process';
import { appendFileSync, copyFileSync, mkdirSync, mkdtempSync, readFileSync, statSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import path from 'path';
import { compareRuns } from '../lib/report/compare';
import { buildLossPlot, lossPlotSvg, parseLossCsv } from '../lib/report/plot';
import { DRAWN_ROWS, readGrowingLossLog, readLossLog } from '../lib/run/loss-log';
import { findCutLossRow, LOSS_HEADER, LossRow, RunDir } from '../lib/run/run-dir';
import { UserError } from '../lib/util/errors';
import { generatedText } from './helpers';

const cli = path.join(__dirname, '..', 'dist', 'cli.js');
const run = (args: string[]) => spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8', env: { ...process.env, RNN_NATIVE_BACKEND: '' } });

const ROWS = 300_000;
/** The step of the lowest smooth loss, logged twice over (a tie: the first counts). */
const LOWEST_AT = 123_457;

/** Rows as train writes them (full-precision losses, elapsed_s to 3 places), over several epochs, lowest at LOWEST_AT and again later. */
function rowLines(from: number, to: number): string {
  const lines: string[] = [];
  for (let step = from; step <= to; step++) {
    const smooth = step === LOWEST_AT || step === LOWEST_AT + 1000 ? 10.25 : 60 - 20 * Math.tanh(step / 50_000) + Math.sin(step / 997);
    lines.push(`${step},${1 + Math.floor(step / 70_000)},${smooth + 5 * Math.sin(step * 12.9898)},${smooth},${(step / 900).toFixed(3)}`);
  }
  return lines.map((line) => line + '\n').join('');
}

const svgPoints = (svg: string, cls: string) => (new RegExp(`class="${cls}" d="([^"]+)"`).exec(svg)![1].match(/[ML]/g) ?? []).length;
const subtitle = (svg: string) => /<text x="78" y="42" fill="#555">([^<]*)</.exec(svg)![1];

describe('logs of any length', function () {
  const dir = mkdtempSync(path.join(tmpdir(), 'rnn-long-logs-'));
  const csvText = LOSS_HEADER + '\n' + rowLines(1, ROWS);
  const all: LossRow[] = parseLossCsv(csvText, 'loss.csv');
  let runDir: string;

  before(function () {
    const data = path.join(dir, 'text.txt');
    writeFileSync(data, generatedText(5_000));
    runDir = path.join(dir, 'run');
    const result = run(['train', '--data', data, '--hidden', '8', '--steps', '20', '--sample-every', '0', '--quiet', '--out', runDir]);
    assert.strictEqual(result.status, 0, result.stderr);
    writeFileSync(path.join(runDir, 'loss.csv'), csvText);
  });

  it('reads loss.csv as a stream: the figures of a whole parse, and at most DRAWN_ROWS rows kept to draw', () => {
    const log = readLossLog(path.join(runDir, 'loss.csv'));
    const lowest = all.reduce((best, row) => (row.smoothLoss < best.smoothLoss ? row : best));
    assert.strictEqual(log.count, ROWS);
    assert.deepStrictEqual([log.first, log.last, log.lowest], [all[0], all[ROWS - 1], lowest]);
    assert.strictEqual(log.lowest.step, LOWEST_AT, 'the first of two equal lowest');
    const losses = all.flatMap((row) => [row.loss, row.smoothLoss]);
    assert.deepStrictEqual(log.extent, [losses.reduce((a, b) => Math.min(a, b)), losses.reduce((a, b) => Math.max(a, b))]);
    assert.ok(log.drawn.length <= DRAWN_ROWS + 1 && log.drawn.length > DRAWN_ROWS / 2, `${log.drawn.length} rows drawn`);
    assert.deepStrictEqual([log.drawn[0], log.drawn[log.drawn.length - 1]], [all[0], all[ROWS - 1]]);
    assert.deepStrictEqual(log.epochStarts.map((row) => row.epoch), [2, 3, 4, 5]);
  });

  it('plots it with the exact subtitle and a bounded number of points', () => {
    const plot = buildLossPlot(runDir);
    assert.strictEqual(subtitle(plot.svg), subtitle(lossPlotSvg(all)), 'the figures of the whole log');
    assert.match(subtitle(plot.svg), /^300,000 updates, 5 epochs, final smooth loss .*, lowest 10\.25$/);
    assert.ok(plot.rows.length <= DRAWN_ROWS + 1);
    assert.ok(svgPoints(plot.svg, 'smooth-loss') <= 1500, `${svgPoints(plot.svg, 'smooth-loss')} points`);
  });

  it('compares it with the exact figures, leaving out a row being appended', () => {
    appendFileSync(path.join(runDir, 'loss.csv'), `${ROWS + 1},5,1.5,1.5`);
    try {
      const [compared] = compareRuns([runDir]).runs;
      const seqLength = compared.seqLength;
      const last = all[ROWS - 1];
      assert.deepStrictEqual(
        [compared.steps, compared.bestSmoothLoss, compared.finalSmoothLoss, compared.bestSmoothPerChar, compared.trainingSeconds, compared.updatesPerSecond],
        [ROWS, 10.25, last.smoothLoss, 10.25 / seqLength, last.elapsed, last.step / last.elapsed]
      );
      assert.ok(compared.rows.length <= DRAWN_ROWS + 1);
    } finally {
      writeFileSync(path.join(runDir, 'loss.csv'), csvText);
    }
  });

  it('refuses a damaged log as a whole parse does: the same line named, also across read chunks', () => {
    const file = path.join(dir, 'damaged.csv');
    const lines = csvText.split('\n');
    const damages: [string, (lines: string[]) => string[]][] = [
      ['a row of other characters past the first MiB', (l) => l.map((line, i) => (i === 40_000 ? 'ü,ß,€,🙂' + line : line))],
      ['steps that go back before a damaged row', (l) => l.map((line, i) => (i === 10 ? l[5] : i === 200_000 ? 'x' : line))],
      ['steps that go back', (l) => l.map((line, i) => (i === 250_000 ? l[5] : line))],
      ['a blank line in the middle', (l) => l.map((line, i) => (i === 99_999 ? '' : line))],
      ['carriage returns and a blank end', (l) => [...l.map((line) => line + '\r'), '', '']],
    ];
    for (const [what, damage] of damages) {
      const text = damage(lines).join('\n');
      writeFileSync(file, text);
      const whole = (() => {
        try {
          return parseLossCsv(text, file).length;
        } catch (error) {
          return (error as Error).message;
        }
      })();
      const streamed = (() => {
        try {
          return readLossLog(file).count;
        } catch (error) {
          assert.ok(error instanceof UserError, what);
          return (error as Error).message;
        }
      })();
      assert.strictEqual(streamed, whole, what);
    }
    writeFileSync(file, LOSS_HEADER + '\n');
    assert.strictEqual(readGrowingLossLog(file), undefined, 'only the header: not started');
  });

  describe('resume', () => {
    /** A run directory to resume (config.json and latest.safetensors of the run) with loss.csv's `text`. */
    const resumable = (text: string) => {
      const d = path.join(dir, `resume-${Math.random().toString(36).slice(2)}`);
      mkdirSync(d);
      for (const name of ['config.json', 'latest.safetensors']) copyFileSync(path.join(runDir, name), path.join(d, name));
      writeFileSync(path.join(d, 'loss.csv'), text);
      return d;
    };
    const STEP = 250_000;
    const kept = LOSS_HEADER + '\n' + rowLines(1, STEP);

    it('keeps the rows up to the checkpoint’s step byte for byte, and drops the rest and a row cut short', () => {
      const d = resumable(csvText + `${ROWS + 1},5,1.2`);
      assert.deepStrictEqual(findCutLossRow(path.join(d, 'loss.csv')), { line: ROWS + 2, byteOffset: Buffer.byteLength(csvText), step: ROWS + 1 });
      RunDir.open(d).truncateAfter(STEP);
      assert.ok(readFileSync(path.join(d, 'loss.csv'), 'utf8') === kept);
    });

    it('leaves a loss.csv that is already right as it was (not rewritten)', () => {
      const d = resumable(kept);
      const before = statSync(path.join(d, 'loss.csv'));
      RunDir.open(d).truncateAfter(STEP);
      const after = statSync(path.join(d, 'loss.csv'));
      assert.deepStrictEqual([after.ino, after.size], [before.ino, before.size]);
    });

    it('writes carriage returns away and the header back', () => {
      const crlf = resumable(csvText.replace(/\n/g, '\r\n'));
      RunDir.open(crlf).truncateAfter(STEP);
      assert.ok(readFileSync(path.join(crlf, 'loss.csv'), 'utf8') === kept);
      const headerless = resumable(csvText.slice(LOSS_HEADER.length + 1));
      RunDir.open(headerless).truncateAfter(STEP);
      assert.ok(readFileSync(path.join(headerless, 'loss.csv'), 'utf8') === kept);
    });

    it('refuses a damaged row before the checkpoint’s step, naming it, and changes nothing', () => {
      const damaged = csvText.replace('\n200000,', '\n200000,x');
      const d = resumable(damaged);
      assert.throws(() => RunDir.open(d).truncateAfter(STEP), /loss\.csv: line 200001: expected five numbers .*; correct or remove that line, then resume$/);
      assert.ok(readFileSync(path.join(d, 'loss.csv'), 'utf8') === damaged);
    });
  });
});
