// The run report (report.md, report.html), the report command and train --report.
import assert from 'assert';
import { spawnSync } from 'child_process';
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import path from 'path';
import { readCheckpoint } from '../lib/run/checkpoint';
import { UserError } from '../lib/util/errors';
import { checkSize, parseSamples, REPORT_GRADCHECK_ENTRIES, writeReport } from '../lib/report/report';
import { formatValRow, VAL_HEADER, ValRow } from '../lib/run/val-log';
import { UNICODE_TEXT } from './helpers';

const cli = path.join(__dirname, '..', 'dist', 'cli.js');
const run = (args: string[]) =>
  spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8', env: { ...process.env, RNN_NATIVE_BACKEND: '' } });

/** The level-2 headings of a Markdown report, in order. */
const sections = (markdown: string) => [...markdown.matchAll(/^## (.+)$/gm)].map((m) => m[1]);

/** The content of the fenced code block that follows `heading`. */
function codeAfter(markdown: string, heading: string): string {
  const rest = markdown.slice(markdown.indexOf(heading));
  const match = /^(`{3,})text\n([\s\S]*?)\n\1$/m.exec(rest);
  assert.ok(match, `no code block after ${heading}`);
  return match[2];
}

const SECTIONS = ['Configuration', 'Gradient check', 'Loss', 'Samples during training', 'A passage from the best checkpoint', 'Speed'];
const TRAIN = ['--steps', '300', '--hidden', '16', '--log-every', '10', '--sample-every', '100', '--sample-length', '40'];

describe('run report', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'rnn-report-'));
  const text = path.join(dir, 'text.txt');
  writeFileSync(text, UNICODE_TEXT.repeat(20));
  const runDir = path.join(dir, 'run');
  let copies = 0;
  const OUTPUTS = ['report.md', 'report.html', 'loss.svg', 'loss.png'];
  /** A copy of the trained run without any report, to change without disturbing the others. */
  const copy = () => {
    const to = path.join(dir, `copy-${++copies}`);
    cpSync(runDir, to, { recursive: true, filter: (from) => !OUTPUTS.includes(path.basename(from)) });
    return to;
  };

  before(() => {
    const result = run(['train', '--data', text, ...TRAIN, '--out', runDir, '--quiet']);
    assert.strictEqual(result.status, 0, result.stderr);
  });

  it('parses samples.txt blocks in order, text kept exactly', () => {
    const content = '--- step 10, smooth loss 5.000 ---\nab\n\ncd\n\n--- step 20, smooth loss 4.500 ---\n--- x\n\n\n';
    assert.deepStrictEqual(parseSamples(content, 's'), [
      { step: 10, smoothLoss: 5, text: 'ab\n\ncd' },
      { step: 20, smoothLoss: 4.5, text: '--- x\n' },
    ]);
    assert.deepStrictEqual(parseSamples('', 's'), []);
    assert.throws(() => parseSamples('hello\n', 's.txt'), (e: Error) => e instanceof UserError && /s\.txt: does not start with/.test(e.message));
  });

  it('writes report.md and report.html with every section, the samples in order and a 1,000-character passage', () => {
    const written = writeReport(runDir);
    assert.deepStrictEqual(written, {
      markdownPath: path.join(runDir, 'report.md'),
      htmlPath: path.join(runDir, 'report.html'),
      svgPath: path.join(runDir, 'loss.svg'),
      pngPath: path.join(runDir, 'loss.png'),
      warnings: [],
    });
    const md = readFileSync(written.markdownPath, 'utf8');
    assert.deepStrictEqual(sections(md), SECTIONS);
    assert.match(md, /^# Training report: run$/m);
    assert.match(md, /^\| hidden \| 16 \|$/m);
    assert.match(md, /^\| data \| .*text\.txt \|$/m);
    assert.match(md, /^!\[Smooth loss against the update step\]\(loss\.png\)$/m);

    const samples = parseSamples(readFileSync(path.join(runDir, 'samples.txt'), 'utf8'), 'samples.txt');
    assert.deepStrictEqual(samples.map((s) => s.step), [100, 200, 300]);
    const headings = [...md.matchAll(/^### Step (\d+), smooth loss ([\d.]+)$/gm)];
    assert.deepStrictEqual(headings.map((m) => [Number(m[1]), m[2]]), samples.map((s) => [s.step, s.smoothLoss.toFixed(3)]));
    for (const sample of samples) assert.strictEqual(codeAfter(md, `### Step ${sample.step},`), sample.text);

    const passage = codeAfter(md, '## A passage');
    assert.strictEqual(Array.from(passage).length, 1000);
    assert.match(md, /1000 characters sampled from best\.safetensors \(step 300, smooth loss [\d.]+\) with seed 42 and temperature 1,/);
    assert.match(md, /^- Speed: \d+ updates\/s \(step 300 \/ training time\)\.$/m);
    assert.match(md, /^- Training time: [\d.]+ s \(elapsed\\_s of the last loss\.csv row: the time spent training/m);
    assert.match(md, /^- Wall time: [\d.]+ s /m);

    const html = readFileSync(written.htmlPath, 'utf8');
    assert.deepStrictEqual([...html.matchAll(/<h2>(.+?)<\/h2>/g)].map((m) => m[1]), SECTIONS);
    assert.match(html, /<figure role="img" aria-label="[^"]+"><svg xmlns="http:\/\/www\.w3\.org\/2000\/svg"/);
    assert.strictEqual((html.match(/<pre>/g) ?? []).length, 4, 'three samples and the passage');
    assert.ok(!/(src|href)=/.test(html), 'nothing to load');
  });

  it('tabulates the gradient check of the run\'s model: five parameters, numeric and native errors, targets met', () => {
    const md = readFileSync(writeReport(runDir).markdownPath, 'utf8');
    assert.match(md, /The run's model, rnn, 1 layer of m=16, B=1 \(1328 parameters, K = 32\), checked as rnn, 1 layer of m=16, B=1\. On the first 25 characters of .*text\.txt:/);
    assert.ok(!md.includes('To fit the report'), 'a model this small is checked whole');
    const table = md.slice(md.indexOf('| parameter |')).split('\n\n')[0].split('\n');
    assert.strictEqual(
      table[0],
      '| parameter | numeric: max relative error | numeric: max absolute error | native: max relative error | native: max absolute error | numeric: max scaled error | native: max scaled error |'
    );
    const rows = table.slice(2).map((row) => row.split('|').slice(1, -1).map((cell) => cell.trim()));
    assert.deepStrictEqual(rows.map((row) => row[0]), ['U', 'W', 'V', 'b', 'c']);
    for (const row of rows) {
      const [numericRelative, , nativeRelative] = row.slice(1).map(Number);
      assert.ok(row.slice(1).every((cell) => /^\d\.\d\de[+-]\d+$/.test(cell)), row.join(' '));
      assert.ok(numericRelative <= 1e-6 && nativeRelative <= 1e-4, row.join(' '));
    }
    assert.match(md, /Targets \(max scaled error\): numeric ≤ 1e-8, native ≤ 1e-5: met\./);
  });

  it('escapes what it reads from files, in HTML and in Markdown', () => {
    const run2 = copy();
    const nasty = '<script>alert(1)</script> & ```` "quoted"';
    writeFileSync(path.join(run2, 'samples.txt'), `--- step 100, smooth loss 9.000 ---\n${nasty}\n\n`);
    const config = JSON.parse(readFileSync(path.join(run2, 'config.json'), 'utf8'));
    writeFileSync(path.join(run2, 'config.json'), JSON.stringify({ ...config, note: '<img src=x onerror=alert(1)> | *a*' }));
    writeReport(run2);
    const html = readFileSync(path.join(run2, 'report.html'), 'utf8');
    assert.ok(html.includes('<pre>&lt;script&gt;alert(1)&lt;/script&gt; &amp; ```` &quot;quoted&quot;</pre>'));
    assert.ok(html.includes('<td>&lt;img src=x onerror=alert(1)&gt; | *a*</td>'));
    assert.ok(!html.includes('<script') && !html.includes('<img'));
    const md = readFileSync(path.join(run2, 'report.md'), 'utf8');
    assert.strictEqual(codeAfter(md, '### Step 100'), nasty, 'a fence longer than the text’s backticks');
    assert.match(md, /^\| note \| &lt;img src=x onerror=alert\(1\)&gt; \\\| \\\*a\\\* \|$/m);
  });

  it('checks the demo corpus when the run has no data file, and reports a gradient check it could not run', () => {
    // A run of the demo corpus (config.json must match its checkpoints: the report checks that).
    const demo = path.join(dir, 'demo-run');
    const trained = run(['train', '--hidden', '4', '--steps', '20', '--log-every', '10', '--sample-every', '0', '--out', demo, '--quiet']);
    assert.strictEqual(trained.status, 0, trained.stderr);
    writeReport(demo);
    const md = readFileSync(path.join(demo, 'report.md'), 'utf8');
    assert.match(md, /^\| data \| null \(the built-in demo corpus\) \|$/m);
    assert.match(md, /The run's model, rnn, 1 layer of m=4, B=1 \(\d+ parameters, K = \d+\), checked as rnn, 1 layer of m=4, B=1\. On the first 25 characters of the built-in demo corpus \(nlp-corpus\):/);

    const moved = copy();
    const config = JSON.parse(readFileSync(path.join(moved, 'config.json'), 'utf8'));
    writeFileSync(path.join(moved, 'config.json'), JSON.stringify({ ...config, data: path.join(dir, 'gone.txt') }));
    const written = writeReport(moved);
    assert.strictEqual(written.warnings.length, 1);
    assert.match(written.warnings[0], /^gradient check not run: .*gone\.txt: no such file.*; give a text with --gradcheck-data$/);
    assert.ok(readFileSync(path.join(moved, 'report.md'), 'utf8').includes('gradient check not run'));
  });

  describe('of an LSTM/GRU model', () => {
    it("checks the run's own model, lstm 2 layers of m = 8, B = 2, dropout 0.3, at its size: a row per tensor, targets met", () => {
      const general = path.join(dir, 'general-run');
      const model = ['--cell', 'lstm', '--layers', '2', '--hidden', '8', '--batch', '2', '--dropout', '0.3'];
      const trained = run(['train', '--data', text, ...model, '--steps', '20', '--log-every', '10', '--sample-every', '0', '--out', general, '--quiet']);
      assert.strictEqual(trained.status, 0, trained.stderr);
      const written = writeReport(general);
      assert.deepStrictEqual(written.warnings, []);
      const md = readFileSync(written.markdownPath, 'utf8');
      assert.match(md, /The run's model, lstm, 2 layers of m=8, B=2, dropout 0\.3 \(\d+ parameters, K = 32\), checked as lstm, 2 layers of m=8, B=2, dropout 0\.3\. On the first 25 characters of 2 equal slices of .*text\.txt/);
      assert.ok(!md.includes('To fit the report'), 'a model this small is checked whole');
      const table = md.slice(md.indexOf('| parameter |')).split('\n\n')[0].split('\n');
      const rows = table.slice(2).map((row) => row.split('|').slice(1, -1).map((cell) => cell.trim()));
      assert.deepStrictEqual(rows.map((row) => row[0]), ['layers.0.Wx', 'layers.0.Wh', 'layers.0.b', 'layers.1.Wx', 'layers.1.Wh', 'layers.1.b', 'V', 'c']);
      for (const row of rows) assert.ok(row.slice(1).every((cell) => /^\d\.\d\de[+-]\d+$/.test(cell)), row.join(' '));
      assert.match(md, /Targets \(max scaled error\): numeric ≤ 1e-8, native ≤ 1e-5: met\./);
    });

    it('checks the model an rnn run trained with --optimizer adam: its own m, rows U, W, V, b, c', () => {
      const adam = path.join(dir, 'adam-run');
      const trained = run(['train', '--data', text, '--hidden', '6', '--optimizer', 'adam', '--steps', '20', '--log-every', '10', '--sample-every', '0', '--out', adam, '--quiet']);
      assert.strictEqual(trained.status, 0, trained.stderr);
      const md = readFileSync(writeReport(adam).markdownPath, 'utf8');
      assert.match(md, /The run's model, rnn, 1 layer of m=6, B=1 \(\d+ parameters, K = 32\), checked as rnn, 1 layer of m=6, B=1\./);
      const table = md.slice(md.indexOf('| parameter |')).split('\n\n')[0].split('\n');
      assert.deepStrictEqual(table.slice(2).map((row) => row.split('|')[1].trim()), ['U', 'W', 'V', 'b', 'c']);
      assert.match(md, /Targets \(max scaled error\): numeric ≤ 1e-8, native ≤ 1e-5: met\./);
    });

    it('checks a large model on random entries, then fewer streams, then a smaller m, and says why', () => {
      const lstm = { cell: 'lstm', layers: 2, hidden: 128, batch: 50, dropout: 0.5 } as const;
      const size = checkSize(lstm, 65);
      assert.deepStrictEqual(size.options, { ...lstm, batch: 2, entries: REPORT_GRADCHECK_ENTRIES });
      assert.strictEqual(size.parameters, 4 * 128 * (65 + 128 + 1) + 4 * 128 * (128 + 128 + 1) + 65 * 129);
      assert.deepStrictEqual(size.reasons, [
        `a numeric check of all ${size.parameters} parameters would take too long, so it checks ${REPORT_GRADCHECK_ENTRIES} random entries of each tensor`,
        "it reads 2 streams, not the run's 50",
      ]);
      const huge = checkSize({ ...lstm, hidden: 512, layers: 3 }, 65);
      assert.strictEqual(huge.options.batch, 2);
      assert.ok(huge.options.hidden < 512 && huge.options.hidden >= 5, `${huge.options.hidden}`);
      assert.strictEqual(huge.reasons[2], `it checks m = ${huge.options.hidden}, not the run's 512`);
      const small = checkSize({ cell: 'gru', layers: 1, hidden: 8, batch: 3, dropout: 0 }, 65);
      assert.deepStrictEqual([small.options.entries, small.options.batch, small.reasons], [undefined, 3, []]);
    });
  });

  describe('with val.csv', () => {
    /** A copy of the run with val.csv of the given (step, loss) rows. */
    const withVal = (losses: [number, number][]) => {
      const d = copy();
      const rows: ValRow[] = losses.map(([step, valLoss]) => ({ step, epoch: 1, valLoss, elapsed: step / 1000 }));
      writeFileSync(path.join(d, 'val.csv'), [VAL_HEADER, ...rows.map(formatValRow)].map((line) => line + '\n').join(''));
      return d;
    };
    const bestStep = () => readCheckpoint(path.join(runDir, 'best.safetensors')).training.step;
    const bits = (nats: number) => (nats / Math.LN2).toFixed(3);

    it('states the best and the last validation loss, in nats and bits per character, and the step of best.safetensors', () => {
      const best = bestStep();
      assert.ok(best > 50, `best.safetensors at step ${best}`);
      const d = withVal([[50, 3.1], [best, 2.6134], [best + 7, 2.75]]);
      const md = readFileSync(writeReport(d).markdownPath, 'utf8');
      assert.deepStrictEqual(sections(md), SECTIONS);
      assert.match(md, /^!\[Smooth training loss and validation loss against the update step\]\(loss\.png\)$/m);
      assert.ok(md.includes(`\n- Best validation loss: 2.613 nats (${bits(2.6134)} bits) per character, at step ${best} (epoch 1).\n`), md);
      assert.ok(md.includes(`\n- Last validation loss: 2.750 nats (${bits(2.75)} bits) per character, at step ${best + 7} (epoch 1); 3 evaluations in val.csv.\n`), md);
      assert.match(md, /^- Smooth training loss at step 300, ÷ seqLength 25: \d+\.\d{3} nats \(\d+\.\d{3} bits\) per character\.$/m);
      assert.ok(md.includes(`\n- best.safetensors is the checkpoint of step ${best}, that of the lowest validation loss`), md);
      const html = readFileSync(path.join(d, 'report.html'), 'utf8');
      assert.ok(html.includes(`<li>Best validation loss: 2.613 nats (${bits(2.6134)} bits) per character, at step ${best} (epoch 1).</li>`));
      assert.match(html, /<path class="val-loss" d="M[^"]+"/);
    });

    it('says so when best.safetensors is not the checkpoint of the lowest validation loss', () => {
      const other = bestStep() === 100 ? 200 : 100;
      const d = withVal([[other, 2.5]]);
      const md = readFileSync(writeReport(d).markdownPath, 'utf8');
      assert.ok(md.includes(`- best.safetensors is the checkpoint of step ${bestStep()}, not of step ${other}, that of the lowest validation loss in val.csv`), md);
    });

    it('keeps the report of a run without validation (or with only the header of val.csv)', () => {
      const d = copy();
      writeFileSync(path.join(d, 'val.csv'), VAL_HEADER + '\n');
      const md = readFileSync(writeReport(d).markdownPath, 'utf8');
      assert.ok(!md.includes('validation'), md);
      assert.strictEqual(readFileSync(path.join(d, 'loss.svg'), 'utf8'), readFileSync(path.join(writeReport(copy()).svgPath), 'utf8').replace(/copy-\d+/g, path.basename(d)));
    });

    it('refuses a damaged val.csv with one line and exit code 2, writing nothing', () => {
      const d = withVal([[100, 3]]);
      writeFileSync(path.join(d, 'val.csv'), `${VAL_HEADER}\n100,1,3,0.1\n200,1,-1,0.2\n`);
      const result = run(['report', d]);
      assert.strictEqual(result.status, 2, result.stderr);
      assert.strictEqual(result.stderr.trim().split('\n').length, 1, result.stderr);
      assert.match(result.stderr.trim(), /val\.csv: line 3: expected four numbers/);
      assert.deepStrictEqual(OUTPUTS.filter((file) => existsSync(path.join(d, file))), []);
    });
  });

  describe('rnn-native report', () => {
    it('writes the report with the given seed and temperature', () => {
      const run3 = copy();
      const result = run(['report', run3, '--seed', '7', '--temperature', '0.5', '--gradcheck-data', text]);
      assert.strictEqual(result.status, 0, result.stderr);
      assert.strictEqual(
        result.stdout,
        `report: ${path.join(run3, 'report.html')} and ${path.join(run3, 'report.md')} (plot: ${path.join(run3, 'loss.svg')}, ${path.join(run3, 'loss.png')})\n`
      );
      const md = readFileSync(path.join(run3, 'report.md'), 'utf8');
      assert.match(md, /with seed 7 and temperature 0\.5,/);
      const sampled = run(['sample', '--model', run3, '--length', '1000', '--seed', '7', '--temperature', '0.5']);
      assert.strictEqual(codeAfter(md, '## A passage') + '\n', sampled.stdout, 'the passage is what `sample` prints');
    });

    const bad: [string, (d: string) => string[], RegExp][] = [
      ['a missing run directory', (d) => ['report', path.join(d, 'nope')], /nope: no such directory$/],
      ['a file for a run directory', () => ['report', text], /text\.txt: is not a run directory$/],
      ['a directory without config.json', (d) => (rmSync(path.join(d, 'config.json')), ['report', d]), /holds no config\.json/],
      ['a run without loss.csv', (d) => (rmSync(path.join(d, 'loss.csv')), ['report', d]), /holds no loss\.csv/],
      ['a run without a checkpoint', (d) => (['best', 'latest'].forEach((f) => rmSync(path.join(d, `${f}.safetensors`))), ['report', d]), /holds no checkpoint yet \(the run stopped before writing one, or it is no run directory\)$/m],
      ['a malformed samples.txt', (d) => (writeFileSync(path.join(d, 'samples.txt'), 'junk\n'), ['report', d]), /samples\.txt: does not start with/],
      ['a missing --gradcheck-data', (d) => ['report', d, '--gradcheck-data', path.join(d, 'gone.txt')], /gone\.txt: no such file/],
      ['a negative --temperature', (d) => ['report', d, '--temperature=-1'], /--temperature must be a number ≥ 0/],
      ['no run directory', () => ['report'], /report needs a run directory/],
    ];
    for (const [what, args, message] of bad) {
      it(`rejects ${what} with one line and exit code 2, writing nothing`, () => {
        const d = copy();
        const result = run(args(d));
        assert.strictEqual(result.status, 2, result.stderr);
        assert.strictEqual(result.stderr.trim().split('\n').length, 1, result.stderr);
        assert.match(result.stderr.trim(), message);
        assert.deepStrictEqual(OUTPUTS.filter((file) => existsSync(path.join(d, file))), []);
      });
    }
  });

  describe('train --report and the end-of-training chart', () => {
    it('train --report writes report.md, report.html, loss.svg and loss.png, and prints the chart', () => {
      const out = path.join(dir, 'with-report');
      const result = run(['train', '--data', text, ...TRAIN, '--out', out, '--report']);
      assert.strictEqual(result.status, 0, result.stderr);
      for (const file of OUTPUTS) assert.ok(existsSync(path.join(out, file)), file);
      assert.deepStrictEqual(sections(readFileSync(path.join(out, 'report.md'), 'utf8')), SECTIONS);
      const lines = result.stdout.split('\n');
      const done = lines.findIndex((line) => line.startsWith('done: step 300'));
      assert.ok(done > 0, result.stdout);
      assert.strictEqual(lines[done + 1], 'smooth loss from step 10 to 300:');
      assert.ok(lines.slice(done + 2, done + 13).every((line) => /^ +\d+\.\d\d [┼┤]/.test(line)), result.stdout);
      assert.match(lines[done + 13], /^best smooth loss \d+\.\d{3} \(best\.safetensors\); final \d+\.\d{3}$/);
      assert.strictEqual(lines[done + 14], `report: ${path.join(out, 'report.html')} and ${path.join(out, 'report.md')} (plot: ${path.join(out, 'loss.svg')}, ${path.join(out, 'loss.png')})`);
    });

    it('prints no chart with --json or --quiet', () => {
      const json = run(['train', '--data', text, ...TRAIN, '--out', path.join(dir, 'json'), '--json', '--report']);
      assert.strictEqual(json.status, 0, json.stderr);
      assert.ok(json.stdout.trim().split('\n').every((line) => JSON.parse(line).event), 'only JSON lines');
      assert.ok(existsSync(path.join(dir, 'json', 'report.html')));
      const quiet = run(['train', '--data', text, ...TRAIN, '--out', path.join(dir, 'quiet'), '--quiet']);
      assert.strictEqual(quiet.status, 0, quiet.stderr);
      assert.match(quiet.stdout, /^done: step 300 .*\n$/);
    });
  });
});
