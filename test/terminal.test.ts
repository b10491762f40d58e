// The terminal's width: the live line of train and the end-of-run chart fit it, and the line is
// redrawn when the terminal is resized.
import assert from 'assert';
import { wrapWords } from '../lib/util/output';
import { lossChart } from '../lib/report/chart';
import { createReporter, fitLines, statusLine, updateRate } from '../lib/run/reporter';
import { LossRow } from '../lib/run/run-dir';
import { Progress } from '../lib/run/run';

const WIDTHS = [120, 80, 50, 30, 20];

const PROGRESS: Progress[] = [
  { step: 12345, steps: 100000, epoch: 3, smoothLoss: 94.7, updatesPerSecond: 3559.4, eta: 25 },
  { step: 3000, steps: 3000, epoch: 12, smoothLoss: 51.234, updatesPerSecond: 11562, eta: 0 },
  { step: 1, steps: 1e12, epoch: 1, smoothLoss: undefined, updatesPerSecond: 0, eta: Infinity },
  { step: 987654321, steps: 1000000000, epoch: 4321, smoothLoss: 123.456, updatesPerSecond: 123456, eta: 3600 * 99 },
];

/** The fields a line shows, by what each looks like. */
function fieldsOf(line: string): string[] {
  const patterns: [string, RegExp][] = [
    ['bar', /^\[[#-]+\]/],
    ['step', /(^|\] +)\d+\/\d+/],
    ['epoch', /\bep(och)? \d+/],
    ['loss', /\bloss (-|\d+\.\d{3})/],
    ['speed', /\d+( updates)?\/s\b/],
    ['eta', /ETA (--:--|[\d:]+)/],
  ];
  return patterns.filter(([, pattern]) => pattern.test(line)).map(([name]) => name);
}

describe('the live line fits the terminal', () => {
  for (const p of PROGRESS) {
    it(`step ${p.step}/${p.steps}: never longer than the width, keeping the most important fields`, () => {
      let wider: string[] | undefined;
      for (const columns of WIDTHS) {
        const line = statusLine(p, columns);
        assert.ok(line.length < columns, `${columns}: ${line.length} characters: ${line}`);
        assert.ok(!/[\n\r]/.test(line));
        const fields = fieldsOf(line);
        // Narrower never shows a field that wider did not: fields go in order of importance.
        if (wider) assert.ok(fields.every((f) => wider!.includes(f)), `${columns}: ${fields} after ${wider}`);
        wider = fields;
        const step = `${p.step}/${p.steps}`;
        if (step.length < columns) assert.ok(line.includes(step), `${columns}: the step is kept: ${line}`);
        else assert.strictEqual(line, step.slice(0, columns - 1));
      }
    });
  }

  it('at 120, 80, 50, 30 and 20 columns: which fields a typical line keeps', () => {
    const kept = Object.fromEntries(WIDTHS.map((columns) => [columns, fieldsOf(statusLine(PROGRESS[0], columns))]));
    assert.deepStrictEqual(kept, {
      120: ['bar', 'step', 'epoch', 'loss', 'speed', 'eta'],
      80: ['bar', 'step', 'loss', 'speed', 'eta'],
      50: ['step', 'loss', 'eta'],
      30: ['step', 'loss'],
      20: ['step'],
    });
    assert.strictEqual(statusLine(PROGRESS[0], 120), '[###---------------------]  12345/100000  epoch 3  smooth loss 94.700  3559 updates/s  ETA 0:25');
    assert.strictEqual(statusLine(PROGRESS[0], 30), '12345/100000 loss 94.700');
  });

  it('shows a slow model its speed, not "0 updates/s"', () => {
    assert.match(statusLine({ ...PROGRESS[0], updatesPerSecond: 0.0437 }, 120), /  0\.044 updates\/s  /);
    assert.match(statusLine({ ...PROGRESS[0], updatesPerSecond: 4.567 }, 120), /  4\.6 updates\/s  /);
    assert.deepStrictEqual([0, 12.4, 3559.2].map(updateRate), ['0', '12', '3559']);
  });

  it('is redrawn within the new width when the terminal is resized, until the run is done', async () => {
    const stdout = process.stdout;
    const written: string[] = [];
    const write = stdout.write;
    const had = Object.getOwnPropertyDescriptor(stdout, 'columns');
    const listeners = stdout.listenerCount('resize');
    const setColumns = (columns: number) => Object.defineProperty(stdout, 'columns', { value: columns, configurable: true });
    const drawn = () => new Promise((resolve) => setImmediate(resolve)).then(() => written.splice(0));
    stdout.write = ((chunk: string) => written.push(chunk) > 0) as typeof stdout.write;
    try {
      setColumns(120);
      const reporter = createReporter('tty');
      reporter.progress(PROGRESS[0]);
      assert.deepStrictEqual(await drawn(), [statusLine(PROGRESS[0], 120)]);
      // 95 characters in 40 columns: a reflowing terminal made three rows of them; all are cleared.
      setColumns(40);
      stdout.emit('resize');
      assert.deepStrictEqual(await drawn(), ['\r\x1b[K\x1b[A\x1b[K\x1b[A\x1b[K', statusLine(PROGRESS[0], 40)]);
      setColumns(80);
      stdout.emit('resize');
      assert.deepStrictEqual(await drawn(), ['\r\x1b[K', statusLine(PROGRESS[0], 80)]);
      // Narrowed during a chunk of training: the line of that chunk is drawn after the 'resize'
      // event that comes with it, so no line of the old width is drawn into the narrow terminal.
      reporter.progress(PROGRESS[1]);
      setColumns(50);
      stdout.emit('resize');
      const line = statusLine(PROGRESS[1], 50);
      assert.deepStrictEqual(await drawn(), ['\r\x1b[K\x1b[A\x1b[K', line, '\r\x1b[K', line]);
      reporter.event({ event: 'done', steps: 3000, seconds: 1, updatesPerSecond: 3000, smoothLoss: 50, bestSmoothLoss: 50, out: 'runs/x', stop: 'steps', reason: 'reached step 3000' });
      assert.strictEqual(stdout.listenerCount('resize'), listeners);
      written.length = 0;
      stdout.emit('resize');
      reporter.progress(PROGRESS[1]);
      assert.deepStrictEqual(await drawn(), []);
    } finally {
      stdout.write = write;
      if (had) Object.defineProperty(stdout, 'columns', had);
      else delete (stdout as { columns?: number }).columns;
    }
  });
});

describe('the done line on a terminal', () => {
  const line = 'done: step 3000 in 0.56 s (5367 updates/s), smooth loss 68.173, best 68.173; run directory runs/x';
  it('stays one line where it fits, else breaks after its clauses', () => {
    assert.strictEqual(fitLines(line, 120), line);
    assert.strictEqual(fitLines(line, 80), 'done: step 3000 in 0.56 s (5367 updates/s)\nsmooth loss 68.173, best 68.173\nrun directory runs/x');
    assert.ok(fitLines(line, 50).split('\n').every((part) => part.length < 50));
    assert.ok(fitLines(line, 40).split('\n').every((part) => part.length < 40), fitLines(line, 40));
    // No word is split: the words are the line's, less the separators of the clauses.
    assert.deepStrictEqual(fitLines(line, 40).split(/\s+/), line.replace(/, (?=smooth)|; (?=run)/g, ' ').split(' '));
  });
});

describe('the end-of-run chart fits the terminal', () => {
  const rows: LossRow[] = Array.from({ length: 300 }, (_, i) => ({ step: (i + 1) * 100, epoch: 1, loss: 0, smoothLoss: 110 - 60 * (1 - Math.exp(-i / 50)), elapsed: i }));

  for (const columns of WIDTHS) {
    it(`${columns} columns: every line shorter than the width, the chart as wide as it allows`, () => {
      const lines = lossChart(rows, 50.5, columns).split('\n');
      for (const line of lines) assert.ok(line.length < columns, `${line.length}: ${line}`);
      const plotted = lines.filter((line) => /[┤┼]/.test(line));
      assert.strictEqual(plotted.length, 11);
      const points = plotted[0].length - plotted[0].indexOf('┼') - 1;
      assert.strictEqual(points, Math.min(60, columns - 1 - plotted[0].indexOf('┼') - 1));
      assert.match(lines[lines.length - 1], /^best (smooth loss )?50\.500/);
    });
  }

  it('without a width, as before: 60 points and 9-character labels', () => {
    const plotted = lossChart(rows, 50.5).split('\n').filter((line) => /[┤┼]/.test(line));
    assert.strictEqual(plotted[0].indexOf('┼'), 10);
    assert.strictEqual(plotted[0].length - 11, 60);
  });
});

describe('wrapWords (the first line of train on a terminal)', () => {
  const words = ['training into runs/2026-11-30T18-26-24:', '999989 characters,', 'K=195,', 'm=100,', 'seq-length 25,', 'up to step 30000,', 'native backend'];
  for (const columns of [120, 80, 50, 30]) {
    it(`fits ${columns} columns without splitting a word`, () => {
      const lines = wrapWords(words, columns).split('\n');
      assert.ok(lines.every((line) => line.length < columns || words.includes(line)), lines.join(' | '));
      assert.strictEqual(lines.join(' '), words.join(' '));
    });
  }
});
