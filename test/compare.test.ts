// rnn-native compare: sweep and run directories side by side (table, JSON, plot, compare.md/html).
import assert from 'assert';
import { spawnSync } from 'child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import path from 'path';
import { PNG } from 'pngjs';
import { compareRuns, comparisonTable, ComparedRun } from '../lib/report/compare';
import { comparePlotSvg, runStyle } from '../lib/report/compare-plot';
import { parseLossCsv } from '../lib/report/plot';
import { LossRow } from '../lib/run/run-dir';
import { demoText } from '../lib/text/demo';

const cli = path.join(__dirname, '..', 'dist', 'cli.js');
const run = (args: string[], cwd?: string) =>
  spawnSync('nice', ['-n', '19', process.execPath, cli, ...args], { encoding: 'utf8', cwd, env: { ...process.env, RNN_NATIVE_BACKEND: '' } });

const TRAIN = ['--hidden', '8', '--steps', '300', '--log-every', '10'];

/** TRAIN with the flags of `extra` given there instead (train refuses a flag given twice). */
function trainArgs(extra: string[]): string[] {
  const flags = new Set(extra.filter((arg) => arg.startsWith('--')));
  const base = TRAIN.filter((arg, i) => !flags.has(arg) && !(i > 0 && flags.has(TRAIN[i - 1])));
  return [...base, ...extra];
}

/** The smooth losses per character of a run's loss.csv, read here independently of lib/report/compare.ts. */
function smoothPerChar(dir: string): { best: number; final: number } {
  const rows = parseLossCsv(readFileSync(path.join(dir, 'loss.csv'), 'utf8'), 'loss.csv');
  const seqLength = JSON.parse(readFileSync(path.join(dir, 'config.json'), 'utf8')).seqLength;
  return { best: Math.min(...rows.map((r) => r.smoothLoss)) / seqLength, final: rows[rows.length - 1].smoothLoss / seqLength };
}

/** The data rows of the terminal table (between the header line and the closing note). */
/** The table's lines of compare's output: without the baselines' lines, the note and the files' line. */
const withoutBaselines = (text: string) => text.trimEnd().split('\n').filter((line) => !line.startsWith('for scale: '));
const tableRows = (stdout: string) => withoutBaselines(stdout).slice(1, -2);
const cellsOf = (line: string) => line.trim().split(/\s+/);

describe('compare', function () {
  const dir = mkdtempSync(path.join(tmpdir(), 'rnn-compare-'));
  const at = (...parts: string[]) => path.join(dir, ...parts);
  let outs = 0;
  const freshOut = () => at(`out-${++outs}`);

  before(function () {
    const runs: [string, string[]][] = [
      ['base', []],
      ['eta05', ['--eta', '0.05']],
      ['h16', ['--hidden', '16']],
      ['val', ['--val-fraction', '0.1', '--eval-every', '100']],
      ['val-eta05', ['--val-fraction', '0.1', '--eval-every', '100', '--eta', '0.05']],
    ];
    for (const [name, extra] of runs) {
      const result = run(['train', ...trainArgs(extra), '--out', at(name), '--quiet']);
      assert.strictEqual(result.status, 0, result.stderr);
    }
    // An interrupted run: loss.csv up to step 150 of 300.
    cpSync(at('h16'), at('stopped'), { recursive: true });
    const lines = readFileSync(at('stopped', 'loss.csv'), 'utf8').split('\n').filter((line, i) => i === 0 || (line !== '' && Number(line.split(',')[0]) <= 150));
    writeFileSync(at('stopped', 'loss.csv'), lines.join('\n') + '\n');
    // A sweep as `rnn-native sweep` plans it: two runs done, the third not started.
    mkdirSync(at('sweep'));
    cpSync(at('eta05'), at('sweep', 'run-000'), { recursive: true });
    cpSync(at('base'), at('sweep', 'run-001'), { recursive: true });
    const entry = (index: number, eta: string) => ({ index, dir: `run-00${index}`, varied: { eta: Number(eta) }, args: ['--eta', eta, ...TRAIN] });
    const plan = { version: 1, created: new Date().toISOString(), data: null, runs: [entry(0, '0.05'), entry(1, '0.1'), entry(2, '0.2')] };
    writeFileSync(at('sweep', 'sweep.json'), JSON.stringify(plan, null, 2));
  });

  after(() => rmSync(dir, { recursive: true, force: true }));

  it('finds the options that differ between run directories, and labels each run by them', () => {
    const c = compareRuns([at('base'), at('eta05'), at('h16')]);
    assert.deepStrictEqual(c.options, ['hidden', 'eta']);
    const byName = Object.fromEntries(c.runs.map((r) => [r.name, r]));
    assert.deepStrictEqual(byName.eta05.options, { hidden: 8, eta: 0.05 });
    assert.deepStrictEqual(byName.h16.options, { hidden: 16, eta: 0.1 });
    assert.strictEqual(byName.eta05.label, 'hidden=8 eta=0.05');
    assert.strictEqual(compareRuns([at('base'), at('val')]).options.join(' '), 'val-fraction eval-every');
    // Nothing differs: runs are named by their directories.
    const same = compareRuns([at('base'), at('sweep', 'run-001')]);
    assert.deepStrictEqual(same.options, []);
    assert.deepStrictEqual(same.runs.map((r) => r.label).sort(), ['base', path.join('sweep', 'run-001')].sort());
  });

  it('prints a table of the runs sorted by best smooth loss, with the metrics of their files', () => {
    const dirs = ['base', 'eta05', 'h16'].map((name) => at(name));
    const result = run(['compare', ...dirs, '--out', freshOut()]);
    assert.strictEqual(result.status, 0, result.stderr);
    const lines = withoutBaselines(result.stdout);
    assert.deepStrictEqual(cellsOf(lines[0]).slice(0, 3), ['run', 'hidden', 'eta']);
    const rows = tableRows(result.stdout).map(cellsOf);
    assert.strictEqual(rows.length, 3);
    const expected = ['base', 'eta05', 'h16'].sort((a, b) => smoothPerChar(at(a)).best - smoothPerChar(at(b)).best);
    assert.deepStrictEqual(rows.map((r) => r[0]), expected);
    for (const row of rows) {
      const { best, final } = smoothPerChar(at(row[0]));
      assert.deepStrictEqual(row.slice(3, 6), ['300', best.toFixed(3), final.toFixed(3)], row.join(' '));
      const speed = Number(row[6]);
      assert.ok(Number.isInteger(speed) && speed > 0, `updates/s of ${row[0]}: ${row[6]}`);
    }
    assert.match(lines[lines.length - 2], /^sorted by best smooth loss, lowest first; losses in nats per character$/);
    // The baselines of their one text (the demo corpus), computed here from its characters' counts.
    const characters = Array.from(demoText());
    const counts = new Map<string, number>();
    for (const ch of characters) counts.set(ch, (counts.get(ch) ?? 0) + 1);
    const unigram = -[...counts.values()].reduce((sum, n) => sum + (n / characters.length) * Math.log(n / characters.length), 0);
    const scale = result.stdout.split('\n').filter((line) => line.startsWith('for scale: '));
    assert.deepStrictEqual(scale, [`for scale: ln K ${Math.log(counts.size).toFixed(3)}, unigram ${unigram.toFixed(3)} nats/char (the demo corpus)`]);
    assert.ok(lines.slice(0, -1).every((line) => line.length <= 79), 'the table fits 80 columns');
  });

  it('sorts by --sort: a metric (losses lowest first, speed most first) or an option', () => {
    const dirs = [at('base'), at('eta05'), at('h16')];
    const speeds = (c: ReturnType<typeof compareRuns>) => c.runs.map((r) => r.updatesPerSecond!);
    const bySpeed = compareRuns(dirs, 'speed');
    assert.deepStrictEqual(speeds(bySpeed), [...speeds(bySpeed)].sort((a, b) => b - a));
    assert.deepStrictEqual(compareRuns(dirs, 'eta').runs.map((r) => r.options.eta), [0.05, 0.1, 0.1]);
    assert.deepStrictEqual(compareRuns(dirs, 'hidden').runs.map((r) => r.options.hidden), [8, 8, 16]);
    const finals = compareRuns(dirs, 'final').runs.map((r) => r.finalSmoothPerChar!);
    assert.deepStrictEqual(finals, [...finals].sort((a, b) => a - b));
    const result = run(['compare', ...dirs, '--sort', 'eta', '--out', freshOut()]);
    assert.deepStrictEqual(tableRows(result.stdout).map((line) => cellsOf(line)[2]), ['0.05', '0.1', '0.1']);
  });

  it('a sweep that varies --steps: the option (--steps) and the steps done (steps) are two columns, and --sort steps sorts by the steps done', () => {
    // run-000: --steps 200, done; run-001: --steps 300, done; run-002: --steps 1000, stopped at 250.
    const runs: [number, number][] = [[200, 200], [300, 300], [1000, 250]];
    mkdirSync(at('steps-sweep'));
    runs.forEach(([steps, reached], i) => {
      const d = at('steps-sweep', `run-00${i}`);
      cpSync(at('base'), d, { recursive: true });
      const config = JSON.parse(readFileSync(path.join(d, 'config.json'), 'utf8'));
      writeFileSync(path.join(d, 'config.json'), JSON.stringify({ ...config, steps }, null, 2) + '\n');
      const lines = readFileSync(path.join(d, 'loss.csv'), 'utf8').split('\n').filter((line, j) => j === 0 || (line !== '' && Number(line.split(',')[0]) <= reached));
      writeFileSync(path.join(d, 'loss.csv'), lines.join('\n') + '\n');
    });
    const entry = (index: number, steps: number) => ({ index, dir: `run-00${index}`, varied: { steps }, args: trainArgs(['--steps', String(steps)]) });
    const plan = { version: 1, created: new Date().toISOString(), data: null, runs: runs.map(([steps], i) => entry(i, steps)) };
    writeFileSync(at('steps-sweep', 'sweep.json'), JSON.stringify(plan, null, 2));

    const c = compareRuns([at('steps-sweep')], 'steps');
    assert.deepStrictEqual(c.runs.map((r) => [r.steps, r.options.steps]), [[300, 300], [250, 1000], [200, 200]], 'steps done, most first');
    const lines = comparisonTable(c, 200).split('\n');
    assert.match(lines[0], /^run +--steps +steps +best smooth/);
    assert.deepStrictEqual(lines.slice(1, 4).map((line) => cellsOf(line).slice(0, 3)), [
      ['run-001', '300', '300'],
      ['run-002', '1000', '250/1000'],
      ['run-000', '200', '200'],
    ]);
    assert.match(lines[4], /^sorted by steps done, most first/);
    // Squeezed, the metrics go before the option: the option column is not taken for the steps done.
    const narrow = comparisonTable(compareRuns([at('steps-sweep')]), 30).split('\n');
    assert.match(narrow[0], /^run +--st\S* +smooth$/, narrow.join('\n'));
    const out = freshOut();
    assert.strictEqual(run(['compare', at('steps-sweep'), '--out', out]).status, 0);
    assert.match(readFileSync(path.join(out, 'compare.md'), 'utf8'), /\| run \| --steps \| status \| steps \| best smooth \|/);
  });

  it('sorts by best validation loss when every run has one, and shows it', () => {
    const c = compareRuns([at('val'), at('val-eta05')]);
    assert.strictEqual(c.sort, 'val');
    const best = (name: string) => {
      const rows = readFileSync(at(name, 'val.csv'), 'utf8').trim().split('\n').slice(1);
      return Math.min(...rows.map((line) => Number(line.split(',')[2])));
    };
    assert.deepStrictEqual(c.runs.map((r) => r.bestValLoss), ['val', 'val-eta05'].map(best).sort((a, b) => a - b));
    const result = run(['compare', at('val'), at('val-eta05'), '--out', freshOut()]);
    assert.strictEqual(result.status, 0, result.stderr);
    assert.match(result.stdout.split('\n')[0], / val /);
    assert.match(result.stdout, /sorted by best validation loss, lowest first/);
    // Not every run has one: best smooth loss, the runs without validation shown with "-".
    const mixed = compareRuns([at('val'), at('base')]);
    assert.strictEqual(mixed.sort, 'smooth');
    assert.deepStrictEqual(mixed.runs.map((r) => r.bestValLoss === null), mixed.runs.map((r) => r.name === 'base'));
  });

  it('reads a sweep directory: its runs with their varied options, unfinished and not started runs shown so', () => {
    const result = run(['compare', at('sweep'), at('stopped'), '--json', '--out', freshOut()]);
    assert.strictEqual(result.status, 0, result.stderr);
    const c = JSON.parse(result.stdout);
    assert.deepStrictEqual(c.options.slice(0, 2), ['eta', 'hidden']);
    const byName = Object.fromEntries(c.runs.map((r: ComparedRun) => [r.name, r]));
    assert.deepStrictEqual(Object.keys(byName).sort(), ['stopped', 'sweep/run-000', 'sweep/run-001', 'sweep/run-002']);
    assert.strictEqual(byName['sweep/run-000'].status, 'finished');
    assert.strictEqual(byName['sweep/run-000'].options.eta, 0.05);
    assert.deepStrictEqual([byName['sweep/run-002'].status, byName['sweep/run-002'].steps, byName['sweep/run-002'].options.eta], ['not started', 0, 0.2]);
    assert.deepStrictEqual([byName.stopped.status, byName.stopped.steps, byName.stopped.targetSteps, byName.stopped.options.hidden], ['unfinished', 150, 300, 16]);
    assert.strictEqual(c.runs[c.runs.length - 1].name, 'sweep/run-002', 'a run without results goes last');
    const table = run(['compare', at('sweep'), at('stopped'), '--out', freshOut()]).stdout;
    assert.match(table, /sweep\/run-002 .*not started/);
    assert.match(table, /stopped .* 150\/300 /);
  });

  it('--json: one object with the sort, the options, the runs with their options and metrics, and the files', () => {
    const out = freshOut();
    const result = run(['compare', at('base'), at('val'), '--json', '--out', out]);
    assert.strictEqual(result.status, 0, result.stderr);
    assert.strictEqual(result.stdout.trimEnd().split('\n').length, 1, 'one line');
    const c = JSON.parse(result.stdout);
    assert.deepStrictEqual(Object.keys(c), ['sort', 'options', 'runs', 'baselines', 'files']);
    assert.deepStrictEqual(Object.keys(c.runs[0]).sort(), [
      'bestSmoothLoss', 'bestSmoothPerChar', 'bestValLoss', 'bestValStep', 'dir', 'finalSmoothLoss', 'finalSmoothPerChar', 'label',
      'name', 'options', 'seqLength', 'status', 'steps', 'targetSteps', 'trainingSeconds', 'updatesPerSecond',
    ]);
    const val = c.runs.find((r: ComparedRun) => r.name === 'val');
    assert.strictEqual(val.dir, at('val'));
    assert.strictEqual(val.bestSmoothPerChar, val.bestSmoothLoss / val.seqLength);
    assert.strictEqual(val.bestSmoothPerChar, smoothPerChar(at('val')).best);
    assert.deepStrictEqual(c.files, { markdownPath: path.join(out, 'compare.md'), htmlPath: path.join(out, 'compare.html'), svgPath: path.join(out, 'compare.svg'), pngPath: path.join(out, 'compare.png') });
  });

  it('writes compare.md, compare.html, compare.svg and a valid compare.png: one curve and legend entry per started run', () => {
    const out = freshOut();
    const result = run(['compare', at('sweep'), at('val'), at('h16'), '--out', out]);
    assert.strictEqual(result.status, 0, result.stderr);
    const c = compareRuns([at('sweep'), at('val'), at('h16')]);
    const started = c.runs.filter((r) => r.status !== 'not started');
    const svg = readFileSync(path.join(out, 'compare.svg'), 'utf8');
    assert.match(svg, /^<svg xmlns="http:\/\/www.w3.org\/2000\/svg"[^>]* viewBox="0 0 \d+ \d+"/);
    assert.strictEqual((svg.match(/class="smooth-loss"/g) ?? []).length, started.length);
    assert.strictEqual((svg.match(/class="val-loss"/g) ?? []).length, 1);
    const legend = [...svg.matchAll(/<g class="legend-entry" data-run="\d+"><title>([^<]*)<\/title>/g)].map((m) => m[1]);
    assert.deepStrictEqual(legend, started.map((r) => r.label));
    assert.ok(legend.includes('eta=0.05 hidden=8 val-fraction=0 eval-every=1000'), legend.join(' | '));
    const png = PNG.sync.read(readFileSync(path.join(out, 'compare.png')));
    const width = Number(/width="(\d+)"/.exec(svg)![1]);
    assert.strictEqual(png.width, 2 * width);
    const markdown = readFileSync(path.join(out, 'compare.md'), 'utf8');
    assert.match(markdown, /!\[[^\]]+\]\(compare\.png\)/);
    assert.strictEqual((markdown.match(/^\| sweep\/run-00\d /gm) ?? []).length, 3);
    const html = readFileSync(path.join(out, 'compare.html'), 'utf8');
    assert.ok(html.includes(svg.trimEnd()), 'the SVG inline');
    assert.match(html, /<td>not started<\/td>/);
  });

  it('gives twelve and more runs distinct line styles', () => {
    const rows: LossRow[] = [1, 2, 3].map((step) => ({ step, epoch: 1, loss: 80, smoothLoss: 80 - step, elapsed: step }));
    const runs = Array.from({ length: 14 }, (_, i) => ({ label: `eta=${i}`, seqLength: 25, rows, validation: [] }));
    const svg = comparePlotSvg(runs);
    const styles = [...svg.matchAll(/<path class="smooth-loss" data-run="\d+" d="[^"]+" fill="none" (stroke="[^"]+" stroke-width="[^"]+"(?: stroke-dasharray="[^"]+")?)/g)].map((m) => m[1]);
    assert.strictEqual(styles.length, 14);
    assert.strictEqual(new Set(styles).size, 14);
    assert.strictEqual(new Set(Array.from({ length: 40 }, (_, i) => JSON.stringify(runStyle(i)))).size, 40);
  });

  it('fits the table in the terminal: shorter headers, cut names, fewer columns, never the sort column', () => {
    const c = compareRuns([at('sweep'), at('stopped'), at('val'), at('h16')]);
    for (const columns of [80, 60, 40]) {
      const lines = comparisonTable(c, columns).split('\n');
      assert.ok(lines.every((line) => Array.from(line).length <= columns - 1), `${columns}:\n${lines.join('\n')}`);
      assert.strictEqual(lines.length, c.runs.length + 2 + c.baselines.length);
    }
    const wide = comparisonTable(c, 200).split('\n')[0];
    assert.match(wide, /best smooth +final smooth +best val +upd\/s/);
    for (const columns of [40, 30]) {
      const narrow = comparisonTable(compareRuns([at('sweep'), at('stopped'), at('val'), at('h16')], 'speed'), columns).split('\n');
      assert.match(narrow[0], /^run +.* upd\/s$/, 'the sort column stays');
      assert.ok(narrow.every((line) => Array.from(line).length <= columns - 1), narrow.join('\n'));
    }
  });

  it('a squeezed table cuts option values only as far as different values stay different', () => {
    const settings = [
      ['--eta', '0.002152', '--sigma', '0.01136', '--clip', '8.252', '--epsilon', '1.234e-8', '--seed', '12345'],
      ['--eta', '0.002172', '--sigma', '0.003305', '--clip', '4.166', '--epsilon', '5.678e-8', '--seed', '67890'],
    ];
    const dirs = settings.map((options, i) => {
      const result = run(['train', ...trainArgs(['--steps', '30', ...options]), '--out', at(`long-values-${i}`), '--quiet']);
      assert.strictEqual(result.status, 0, result.stderr);
      return at(`long-values-${i}`);
    });
    for (const columns of [60, 50]) {
      const lines = comparisonTable(compareRuns(dirs), columns).split('\n');
      assert.ok(lines.every((line) => Array.from(line).length <= columns - 1), lines.join('\n'));
      const header = cellsOf(lines[0]);
      for (const option of ['eta', 'sigma', 'clip', 'epsilon', 'seed'].filter((name) => header.includes(name))) {
        const [a, b] = lines.slice(1, -1).map((line) => cellsOf(line)[header.indexOf(option)]);
        assert.notStrictEqual(a, b, `${columns} columns, ${option}:\n${lines.join('\n')}`);
      }
    }
  });

  it('writes into the sweep directory when it is the only argument, else into the current directory', () => {
    const cwd = freshOut();
    mkdirSync(cwd);
    assert.strictEqual(run(['compare', at('sweep')], cwd).status, 0);
    assert.ok(existsSync(at('sweep', 'compare.html')) && existsSync(at('sweep', 'compare.png')));
    assert.deepStrictEqual(readdirSync(cwd), []);
    assert.strictEqual(run(['compare', at('sweep'), at('base')], cwd).status, 0);
    assert.deepStrictEqual(readdirSync(cwd).sort(), ['compare.html', 'compare.md', 'compare.png', 'compare.svg']);
  });

  it('overwrites its own earlier output, and refuses a file of the same name that is not its own', () => {
    const out = freshOut();
    assert.strictEqual(run(['compare', at('base'), at('h16'), '--out', out]).status, 0);
    const again = run(['compare', at('base'), at('eta05'), '--out', out]);
    assert.strictEqual(again.status, 0, again.stderr);
    assert.match(readFileSync(path.join(out, 'compare.md'), 'utf8'), /eta05/);
    for (const name of ['compare.md', 'compare.html', 'compare.svg', 'compare.png']) {
      const mine = freshOut();
      mkdirSync(mine);
      writeFileSync(path.join(mine, name), 'my own notes\n');
      const result = run(['compare', at('base'), at('h16'), '--out', mine]);
      assert.strictEqual(result.status, 2, name);
      assert.strictEqual(result.stderr, `rnn-native: ${path.join(mine, name)}: exists and was not written by rnn-native compare; move it away or give another --out\n`);
      assert.deepStrictEqual(readdirSync(mine), [name], 'nothing written');
      assert.strictEqual(readFileSync(path.join(mine, name), 'utf8'), 'my own notes\n');
    }
  });

  it('refuses what is neither a sweep nor a run directory, and a bad --sort: one line, exit code 2, nothing written', () => {
    writeFileSync(at('a-file'), 'x');
    mkdirSync(at('empty'));
    mkdirSync(at('bad-sweep'));
    writeFileSync(at('bad-sweep', 'sweep.json'), JSON.stringify({ version: 2, runs: [] }));
    mkdirSync(at('no-runs'));
    writeFileSync(at('no-runs', 'sweep.json'), JSON.stringify({ version: 1, runs: [] }));
    cpSync(at('base'), at('damaged'), { recursive: true });
    writeFileSync(at('damaged', 'loss.csv'), readFileSync(at('base', 'loss.csv'), 'utf8') + '310,1,x\n');
    const cases: [string[], RegExp][] = [
      [[], /compare needs sweep directories or run directories/],
      [[at('missing')], /missing: no such directory$/],
      [[at('a-file')], /a-file: is not a directory \(give sweep directories or run directories\)$/],
      [[at('base'), at('empty')], /empty: is neither a sweep directory \(no sweep\.json\) nor a run directory \(no config\.json\)$/],
      [[at('bad-sweep')], /sweep\.json: version 2, this rnn-native reads version 1; not a sweep plan of rnn-native sweep$/],
      [[at('no-runs')], /no-runs: no runs to compare \(sweep\.json lists none\)$/],
      [[at('base'), at('damaged')], /damaged\/loss\.csv: line 32: expected five numbers/],
      [[at('base'), '--out', at('a-file')], /--out .*a-file: exists and is not a directory$/],
      [[at('base'), at('h16'), '--sort', 'eta'], /--sort must be one of val, smooth, final, steps, speed, hidden \(a metric or a differing option\), got "eta"$/],
      [[at('base'), at('h16'), '--sort', 'val'], /--sort val: none of the runs has a validation loss \(train with --val-fraction\)$/],
    ];
    for (const [args, message] of cases) {
      const cwd = freshOut();
      mkdirSync(cwd);
      const result = run(['compare', ...args], cwd);
      assert.strictEqual(result.status, 2, args.join(' '));
      assert.strictEqual(result.stdout, '');
      assert.strictEqual(result.stderr.split('\n').length, 2, result.stderr);
      assert.match(result.stderr.trimEnd(), message);
      assert.deepStrictEqual(readdirSync(cwd), [], 'nothing written');
    }
  });
});
