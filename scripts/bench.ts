// npm run bench [-- --json] [-- --record] [-- --quick]
// Measures, in one run: updates/s of the native and the TypeScript backends at m = 100, 256, 512
// (seq 25, median of several timed repetitions after a warm-up), the same figure of a plain numpy
// implementation (scripts/bench_numpy.py, single-threaded BLAS) when python3 with numpy is here,
// and the assignment's whole run (train --steps 100000, a sample every 10,000) as a child process:
// its wall time and peak RSS. --record appends the table to BENCHMARKS.md with the machine.
import { spawnSync } from 'child_process';
import { appendFileSync, existsSync, mkdtempSync, readFileSync, rmSync } from 'fs';
import os from 'os';
import path from 'path';
import { Corpus, demoCorpus, loadNative, Trainer } from '../lib';

const root = path.join(__dirname, '..');
const shakespeare = path.join(root, '..', 'shared', 'data', 'tinyshakespeare.txt');
const args = new Set(process.argv.slice(2));
const quick = args.has('--quick');
const HIDDEN = [100, 256, 512];
const REPS = quick ? 3 : 5;
const SECONDS_PER_REP = quick ? 0.3 : 1;

interface Row {
  backend: string;
  hidden: number;
  /** Median updates/s, and every repetition's figure. */
  updatesPerSecond: number;
  reps: number[];
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

/** Warm-up, then REPS timed repetitions of about SECONDS_PER_REP each. */
function measure(corpus: Corpus, backend: 'native' | 'ts', hidden: number): Row {
  const trainer = new Trainer(corpus, { backend, hidden, seed: 1 });
  let batch = 1;
  const warmupEnd = Date.now() + 300;
  while (Date.now() < warmupEnd) {
    const started = process.hrtime.bigint();
    trainer.train(batch);
    if (Number(process.hrtime.bigint() - started) < 20e6) batch *= 2;
  }
  const reps: number[] = [];
  for (let r = 0; r < REPS; r++) {
    const started = process.hrtime.bigint();
    let done = 0;
    while (Number(process.hrtime.bigint() - started) / 1e9 < SECONDS_PER_REP) {
      trainer.train(batch);
      done += batch;
    }
    reps.push(done / (Number(process.hrtime.bigint() - started) / 1e9));
  }
  return { backend, hidden, updatesPerSecond: median(reps), reps };
}

function numpyRow(file: string, hidden: number): Row | undefined {
  const script = path.join(__dirname, 'bench_numpy.py');
  const env = { ...process.env, OPENBLAS_NUM_THREADS: '1', OMP_NUM_THREADS: '1', MKL_NUM_THREADS: '1' };
  const result = spawnSync('python3', [script, file, String(hidden), '20', String(SECONDS_PER_REP), String(REPS)], { encoding: 'utf8', env });
  if (result.status !== 0) return undefined;
  const out = JSON.parse(result.stdout);
  return { backend: `numpy ${out.numpy}`, hidden, updatesPerSecond: median(out.updatesPerSecond), reps: out.updatesPerSecond };
}

/** The assignment's run through the CLI, in a child process that reports its own peak RSS. */
function assignmentRun(file: string | undefined): { seconds: number; maxRssMB: number; updatesPerSecond: number } {
  const out = mkdtempSync(path.join(os.tmpdir(), 'rnn-bench-'));
  const cliArgs = ['train', '--steps', '100000', '--sample-every', '10000', '--out', path.join(out, 'run'), '--json'];
  if (file) cliArgs.push('--data', file);
  const runner = `require(${JSON.stringify(path.join(root, 'dist', 'cli.js'))}).main(${JSON.stringify(cliArgs)})
    .then((code) => { process.stderr.write('maxRSS ' + process.resourceUsage().maxRSS + '\\n'); process.exitCode = code; });`;
  const started = process.hrtime.bigint();
  const result = spawnSync(process.execPath, ['-e', runner], { encoding: 'utf8', maxBuffer: 64 << 20 });
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  rmSync(out, { recursive: true, force: true });
  if (result.status !== 0) throw new Error(`the assignment run failed: ${result.stderr}`);
  const done = result.stdout.trim().split('\n').map((line) => JSON.parse(line)).find((e) => e.event === 'done');
  const maxRssMB = Number(/maxRSS (\d+)/.exec(result.stderr)![1]) / 1024;
  return { seconds, maxRssMB, updatesPerSecond: done.updatesPerSecond };
}

function machine(): string {
  const cpu = os.cpus()[0]?.model ?? 'unknown CPU';
  const flags = readFileSync('/proc/cpuinfo', 'utf8').match(/^flags\s*:(.*)$/m)?.[1] ?? '';
  const simd = ['avx512f', 'avx2', 'fma'].filter((f) => flags.split(' ').includes(f)).join(', ');
  const numpy = spawnSync('python3', ['-c', 'import numpy; print(numpy.__version__)'], { encoding: 'utf8' }).stdout.trim();
  return [
    `${cpu}, ${os.cpus().length} cores (${simd}), ${Math.round(os.totalmem() / 2 ** 30)} GiB, ${os.type()} ${os.release()}`,
    `Node ${process.version}; ${loadNative().addon?.blasInfo() ?? 'no native addon'}; numpy ${numpy || 'absent'}`,
  ].join('\n');
}

function main(): void {
  const file = existsSync(shakespeare) ? shakespeare : undefined;
  const corpus = file ? Corpus.fromFile(file) : demoCorpus();
  const rows: Row[] = [];
  for (const hidden of HIDDEN) {
    for (const backend of ['native', 'ts'] as const) {
      if (backend === 'native' && loadNative().error) continue;
      rows.push(measure(corpus, backend, hidden));
      process.stderr.write(`measured ${backend} m=${hidden}\n`);
    }
    if (file) {
      const numpy = numpyRow(file, hidden);
      if (numpy) rows.push(numpy);
      process.stderr.write(`measured numpy m=${hidden}${numpy ? '' : ': python3 with numpy is not here'}\n`);
    }
  }
  const assignment = assignmentRun(file);
  const figures = { date: new Date().toISOString(), corpus: file ? 'tinyshakespeare.txt' : 'demo corpus', machine: machine(), rows, assignment };
  if (args.has('--json')) {
    process.stdout.write(JSON.stringify(figures) + '\n');
    return;
  }
  const table = formatTable(rows, assignment, corpus.length);
  process.stdout.write(`${figures.machine}\n${figures.corpus}, seq 25, median of ${REPS} × ${SECONDS_PER_REP} s\n\n${table}\n`);
  if (args.has('--record')) {
    const record = `\n## ${figures.date.slice(0, 10)}\n\n\`\`\`\n${figures.machine}\n${figures.corpus}, seq 25, median of ${REPS} × ${SECONDS_PER_REP} s\n\n${table}\n\`\`\`\n`;
    appendFileSync(path.join(root, 'BENCHMARKS.md'), record);
    process.stderr.write('appended to BENCHMARKS.md\n');
  }
}

function formatTable(rows: Row[], assignment: ReturnType<typeof assignmentRun>, characters: number): string {
  const lines = ['backend          m     updates/s    chars/s      vs numpy   vs ts      reps (updates/s)'];
  for (const row of rows) {
    const same = (prefix: string) => rows.find((r) => r.hidden === row.hidden && r.backend.startsWith(prefix));
    const ratio = (other: Row | undefined) => (other && other !== row ? `${(row.updatesPerSecond / other.updatesPerSecond).toFixed(1)}×` : '');
    lines.push(
      [
        row.backend.padEnd(16),
        String(row.hidden).padEnd(5),
        row.updatesPerSecond.toFixed(0).padStart(9).padEnd(13),
        (row.updatesPerSecond * 25).toExponential(2).padEnd(12),
        ratio(same('numpy')).padEnd(10),
        ratio(same('ts')).padEnd(10),
        row.reps.map((r) => r.toFixed(0)).join(' '),
      ].join(' ')
    );
  }
  lines.push(
    '',
    `train --steps 100000 --sample-every 10000 (CLI, native): ${assignment.seconds.toFixed(1)} s wall, ` +
      `${assignment.updatesPerSecond.toFixed(0)} updates/s, peak RSS ${assignment.maxRssMB.toFixed(0)} MB ` +
      `(corpus ${(characters / 2 ** 20).toFixed(1)} MiB of index array)`
  );
  return lines.join('\n');
}

main();
