// npm run bench [-- --json] [-- --record] [-- --quick]
// Measures, in one run: updates/s of the native and the TypeScript backends at m = 100, 256, 512
// (seq 25, median of several timed repetitions after a warm-up), the same figure of a plain numpy
// implementation (scripts/bench_numpy.py, single-threaded BLAS) when python3 with numpy is here,
// and the assignment's whole run (train --steps 100000, a sample every 10,000) as a child process:
// its wall time and peak RSS. Then LSTM and GRU models through the public Trainer on the
// native backend (what users get): lstm and gru, 2 layers of 128 and 512, B = 50 streams, T = 50,
// Adam, no dropout, in characters/s (updates/s × B × T), at 1 and 2 OpenBLAS threads (--threads),
// beside the sgemm-only ceiling of each model. When Debian's python3-torch is importable by
// /usr/bin/python3, the same models written in PyTorch (scripts/bench_torch.py) at 1 and 2 threads
// join both tables. The WebAssembly backend (the same engine compiled to wasm, one thread) has
// rows in both: the DD2424 configuration at each m, and the 2×128 LSTM/GRU models.
// --record appends the tables to docs/benchmarks.md with the machine.
import { spawnSync } from 'child_process';
import { appendFileSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'fs';
import os from 'os';
import path from 'path';
import { Corpus, demoCorpus, demoText, loadNative, Trainer, TrainerOptions } from '../lib';
import { loadCompiled } from '../lib/engine/native';

const root = path.join(__dirname, '..');
const shakespeare = path.join(root, '..', 'shared', 'data', 'tinyshakespeare.txt');
const args = new Set(process.argv.slice(2));
const quick = args.has('--quick');
const HIDDEN = [100, 256, 512];
const REPS = quick ? 3 : 5;
const SECONDS_PER_REP = quick ? 0.3 : 1;
/** The general model's rows: a 2×512 update takes about 1 s, hence longer repetitions. */
const GENERAL = { layers: 2, batch: 50, seqLength: 50, optimizer: 'adam', backend: 'native' } as const;
const GENERAL_MODELS = [
  { cell: 'lstm', hidden: 128 },
  { cell: 'lstm', hidden: 512 },
  { cell: 'gru', hidden: 128 },
  { cell: 'gru', hidden: 512 },
] as const;
/** The wasm backend's rows of the general model: the 2×128 models (a 2×512 update takes seconds there). */
const WASM_GENERAL_MODELS = GENERAL_MODELS.filter((model) => model.hidden === 128);
const GENERAL_REPS = quick ? 3 : 5;
const GENERAL_SECONDS_PER_REP = quick ? 0.5 : 3;

interface Row {
  backend: string;
  hidden: number;
  /** Median updates/s, and every repetition's figure. */
  updatesPerSecond: number;
  reps: number[];
}

/** A row of the general model: its shape, and characters/s = updates/s × batch × seqLength. */
interface GeneralRow {
  backend: 'native';
  cell: string;
  layers: number;
  hidden: number;
  batch: number;
  seqLength: number;
  optimizer: string;
  updatesPerSecond: number;
  charactersPerSecond: number;
  /** Every repetition's characters/s. */
  reps: number[];
  /** OpenBLAS threads of the multiplies (train --threads). */
  threads: number;
  /** The same model at 2 threads (train --threads 2). */
  twoThreads: { charactersPerSecond: number; reps: number[] };
  /** The sgemm-only ceiling: the update's matrix multiplies alone, through OpenBLAS (native/kernels/model.cc's plan). */
  ceiling: { charactersPerSecond: number; gflopsPerSecond: number };
}

/** A row of the general model on the wasm backend (one thread, no sgemm ceiling: it has no OpenBLAS). */
interface WasmGeneralRow {
  backend: 'wasm';
  cell: string;
  layers: number;
  hidden: number;
  updatesPerSecond: number;
  charactersPerSecond: number;
  reps: number[];
}

/** Debian's python3-torch lives beside Debian's python, whatever python3 is first on the PATH. */
const TORCH_PYTHON = '/usr/bin/python3';

/** One PyTorch run of scripts/bench_torch.py: its thread setting and medians (every repetition in `reps`). */
interface TorchRun {
  threads: number;
  /** OPENBLAS_NUM_THREADS in the child's environment, null when unset. */
  openblasThreads: string | null;
  vanilla?: { hidden: number; updatesPerSecond: number; reps: number[] };
  general: { cell: string; layers: number; hidden: number; updatesPerSecond: number; charactersPerSecond: number; reps: number[] }[];
}

/** The PyTorch figures, or why there are none. */
type TorchFigures = { version: string; runs: TorchRun[]; variants: TorchRun[] } | { missing: string };

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

/** Warm-up, then `reps` timed repetitions of at least `seconds` each (whole calls of train): updates/s. */
function updatesPerSecond(trainer: Trainer, reps: number, seconds: number): number[] {
  let batch = 1;
  const warmupEnd = Date.now() + 300;
  while (Date.now() < warmupEnd) {
    const started = process.hrtime.bigint();
    trainer.train(batch);
    if (Number(process.hrtime.bigint() - started) < 20e6) batch *= 2;
  }
  const rates: number[] = [];
  for (let r = 0; r < reps; r++) {
    const started = process.hrtime.bigint();
    let done = 0;
    while (Number(process.hrtime.bigint() - started) / 1e9 < seconds) {
      trainer.train(batch);
      done += batch;
    }
    rates.push(done / (Number(process.hrtime.bigint() - started) / 1e9));
  }
  return rates;
}

function measure(corpus: Corpus, backend: 'native' | 'wasm' | 'ts', hidden: number): Row {
  const reps = updatesPerSecond(new Trainer(corpus, { backend, hidden, seed: 1 }), REPS, SECONDS_PER_REP);
  return { backend, hidden, updatesPerSecond: median(reps), reps };
}

function measureGeneral(corpus: Corpus, model: (typeof GENERAL_MODELS)[number]): GeneralRow {
  const options: TrainerOptions = { ...GENERAL, ...model, seed: 1 };
  const charactersPerUpdate = GENERAL.batch * GENERAL.seqLength;
  const rates = updatesPerSecond(new Trainer(corpus, options), GENERAL_REPS, GENERAL_SECONDS_PER_REP);
  const reps = rates.map((rate) => rate * charactersPerUpdate);
  const threaded = new Trainer(corpus, options);
  threaded.setThreads(2);
  const twoReps = updatesPerSecond(threaded, GENERAL_REPS, GENERAL_SECONDS_PER_REP).map((rate) => rate * charactersPerUpdate);
  const vocab = corpus.vocabSize;
  const { seconds, flops } = loadNative().addon!.matmulSeconds(model.cell, vocab, model.hidden, GENERAL.layers, GENERAL.batch, GENERAL.seqLength, GENERAL_REPS);
  const ceiling = { charactersPerSecond: charactersPerUpdate / seconds, gflopsPerSecond: flops / seconds / 1e9 };
  const twoThreads = { charactersPerSecond: median(twoReps), reps: twoReps };
  return { ...GENERAL, ...model, updatesPerSecond: median(rates), charactersPerSecond: median(reps), reps, threads: 1, twoThreads, ceiling };
}

function measureWasmGeneral(corpus: Corpus, model: (typeof GENERAL_MODELS)[number]): WasmGeneralRow {
  const charactersPerUpdate = GENERAL.batch * GENERAL.seqLength;
  const rates = updatesPerSecond(new Trainer(corpus, { ...GENERAL, ...model, backend: 'wasm', seed: 1 }), GENERAL_REPS, GENERAL_SECONDS_PER_REP);
  const reps = rates.map((rate) => rate * charactersPerUpdate);
  return { backend: 'wasm', cell: model.cell, layers: GENERAL.layers, hidden: model.hidden, updatesPerSecond: median(rates), charactersPerSecond: median(reps), reps };
}

function numpyRow(file: string, hidden: number): Row | undefined {
  const script = path.join(__dirname, 'bench_numpy.py');
  const env = { ...process.env, OPENBLAS_NUM_THREADS: '1', OMP_NUM_THREADS: '1', MKL_NUM_THREADS: '1' };
  const result = spawnSync('python3', [script, file, String(hidden), '20', String(SECONDS_PER_REP), String(REPS)], { encoding: 'utf8', env });
  if (result.status !== 0) return undefined;
  const out = JSON.parse(result.stdout);
  return { backend: `numpy ${out.numpy}`, hidden, updatesPerSecond: median(out.updatesPerSecond), reps: out.updatesPerSecond };
}

/** Runs scripts/bench_torch.py on the same text when torch imports; it installs nothing. */
function torchFigures(file: string | undefined): TorchFigures {
  const probe = spawnSync(TORCH_PYTHON, ['-c', 'import torch'], { encoding: 'utf8' });
  if (probe.status !== 0) {
    const why = probe.error ? `${TORCH_PYTHON} is not here` : (probe.stderr.trim().split('\n').pop() ?? 'import torch failed');
    return { missing: `${why} (sudo apt-get install python3-torch)` };
  }
  const dir = mkdtempSync(path.join(os.tmpdir(), 'rnn-bench-torch-'));
  try {
    const text = file ?? path.join(dir, 'demo.txt');
    if (!file) writeFileSync(text, demoText());
    const script = path.join(__dirname, 'bench_torch.py');
    const counts = [REPS, SECONDS_PER_REP, GENERAL_REPS, GENERAL_SECONDS_PER_REP].map(String);
    const result = spawnSync(TORCH_PYTHON, [script, text, ...counts], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
    if (result.status !== 0) return { missing: `scripts/bench_torch.py failed (exit ${result.status})` };
    const out = JSON.parse(result.stdout);
    return { version: out.torch, runs: out.threads.map(torchRun), variants: out.variants.map(torchRun) };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** A child's JSON (one figure per repetition) with its medians. */
function torchRun(run: any): TorchRun {
  const vanilla = run.vanilla && { hidden: run.vanilla.hidden, updatesPerSecond: median(run.vanilla.updatesPerSecond), reps: run.vanilla.updatesPerSecond };
  const general = run.general.map((g: any) => ({
    cell: g.cell,
    layers: g.layers,
    hidden: g.hidden,
    updatesPerSecond: median(g.updatesPerSecond),
    charactersPerSecond: median(g.charactersPerSecond),
    reps: g.charactersPerSecond,
  }));
  return { threads: run.threads, openblasThreads: run.openblasThreads, vanilla, general };
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
    for (const backend of ['native', 'wasm', 'ts'] as const) {
      if (backend !== 'ts' && loadCompiled(backend).error) continue;
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
  const general = loadNative().error ? [] : GENERAL_MODELS.map((model) => {
    const row = measureGeneral(corpus, model);
    process.stderr.write(`measured native ${model.cell} ${GENERAL.layers}×${model.hidden}\n`);
    return row;
  });
  const wasmGeneral = loadCompiled('wasm').error ? [] : WASM_GENERAL_MODELS.map((model) => {
    const row = measureWasmGeneral(corpus, model);
    process.stderr.write(`measured wasm ${model.cell} ${GENERAL.layers}×${model.hidden}\n`);
    return row;
  });
  const torch = torchFigures(file);
  const torchVanilla = 'runs' in torch ? torch.runs.find((run) => run.threads === 1)?.vanilla : undefined;
  if (torchVanilla && 'version' in torch) {
    const row = { backend: `torch ${torch.version.split('.').slice(0, 2).join('.')} 1 thr`, hidden: torchVanilla.hidden, updatesPerSecond: torchVanilla.updatesPerSecond, reps: torchVanilla.reps };
    rows.splice(rows.filter((r) => r.hidden <= row.hidden).length, 0, row); // beside the other rows of its m
  }
  const figures = { date: new Date().toISOString(), corpus: file ? 'tinyshakespeare.txt' : 'demo corpus', machine: machine(), rows, assignment, general, wasmGeneral, torch };
  if (args.has('--json')) {
    process.stdout.write(JSON.stringify(figures) + '\n');
    return;
  }
  const report = [
    figures.machine,
    `${figures.corpus}, seq 25, median of ${REPS} × ${SECONDS_PER_REP} s`,
    '',
    formatTable(rows, assignment, corpus.length),
    '',
    `General model through the Trainer (native and wasm, Adam, no dropout, B = ${GENERAL.batch} streams, T = ${GENERAL.seqLength}): ` +
      `median of ${GENERAL_REPS} × ≥ ${GENERAL_SECONDS_PER_REP} s`,
    '',
    formatGeneralTable(general, wasmGeneral, torch),
  ].join('\n');
  process.stdout.write(`${report}\n`);
  if (args.has('--record')) {
    appendFileSync(path.join(root, 'docs', 'benchmarks.md'), `\n## ${figures.date.slice(0, 10)}\n\n\`\`\`\n${report}\n\`\`\`\n`);
    process.stderr.write('appended to docs/benchmarks.md\n');
  }
}

function formatTable(rows: Row[], assignment: ReturnType<typeof assignmentRun>, characters: number): string {
  const lines = ['backend          m     updates/s    chars/s      vs numpy   vs ts      vs torch   reps (updates/s)'];
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
        ratio(same('torch')).padEnd(10),
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

/**
 * Native rows at one OpenBLAS thread (with their ratio to PyTorch at 1 and 2 threads, and their share
 * of the sgemm-only ceiling) and at two (train --threads 2: the ratio to PyTorch at 2 threads, and the
 * gain over one), then PyTorch's rows; or the line saying why PyTorch is absent.
 */
function formatGeneralTable(rows: GeneralRow[], wasmRows: WasmGeneralRow[], torch: TorchFigures): string {
  if (rows.length === 0) return '(the native addon is not available)';
  const runs = 'runs' in torch ? torch.runs : [];
  const torchRow = (run: TorchRun, row: { cell: string; hidden: number }) => run.general.find((g) => g.cell === row.cell && g.hidden === row.hidden);
  const ratio = (row: { cell: string; hidden: number; charactersPerSecond: number }, threads: number) => {
    const run = runs.find((r) => r.threads === threads);
    const other = run && torchRow(run, row);
    return other ? `${(row.charactersPerSecond / other.charactersPerSecond).toFixed(2)}×` : '';
  };
  const line = (backend: string, threads: number, model: string, updates: number, chars: number, vsSame: string, vs2: string, share: string, reps: number[]) =>
    [
      backend.padEnd(11),
      String(threads).padEnd(7),
      model.padEnd(12),
      updates.toFixed(2).padStart(9).padEnd(11),
      chars.toExponential(2).padEnd(10),
      vsSame.padEnd(18),
      vs2.padEnd(10),
      share.padEnd(14),
      reps.map((r) => r.toFixed(0)).join(' '),
    ].join(' ');
  const lines = ['backend     threads model        updates/s   chars/s    ÷ torch same thr   ÷ torch 2  of sgemm ceil. reps (chars/s)'];
  for (const row of rows) {
    const model = `${row.cell} ${row.layers}×${row.hidden}`;
    const share = `${((100 * row.charactersPerSecond) / row.ceiling.charactersPerSecond).toFixed(0)} %`;
    lines.push(line(row.backend, 1, model, row.updatesPerSecond, row.charactersPerSecond, ratio(row, 1), ratio(row, 2), share, row.reps));
    const { charactersPerSecond, gflopsPerSecond } = row.ceiling;
    lines.push(line('sgemm only', 1, model, charactersPerSecond / (GENERAL.batch * GENERAL.seqLength), charactersPerSecond, '', '', `${gflopsPerSecond.toFixed(0)} GFLOP/s`, []));
    const two = row.twoThreads.charactersPerSecond;
    const vsTorch2 = ratio({ ...row, charactersPerSecond: two }, 2);
    const gain = `${(two / row.charactersPerSecond).toFixed(2)}× 1 thr`;
    lines.push(line('native', 2, model, two / (GENERAL.batch * GENERAL.seqLength), two, vsTorch2, vsTorch2, gain, row.twoThreads.reps));
    const wasm = wasmRows.find((w) => w.cell === row.cell && w.hidden === row.hidden);
    if (wasm) lines.push(line('wasm', 1, model, wasm.updatesPerSecond, wasm.charactersPerSecond, ratio(wasm, 1), ratio(wasm, 2), '', wasm.reps));
    for (const run of runs) {
      const other = torchRow(run, row);
      if (other) lines.push(line('torch', run.threads, model, other.updatesPerSecond, other.charactersPerSecond, '', '', '', other.reps));
    }
  }
  if ('missing' in torch) {
    lines.push('', `No PyTorch rows: ${torch.missing}.`);
  } else {
    lines.push('', `PyTorch ${torch.version}: torch.set_num_threads(n) with OPENBLAS_NUM_THREADS=1, each thread count in its own process. Other settings:`);
    for (const { threads, openblasThreads, general: [row] } of torch.variants) {
      const setting = `torch.set_num_threads(${threads}), OPENBLAS_NUM_THREADS ${openblasThreads ?? 'unset'}`;
      lines.push(`  ${setting}: ${row.cell} ${row.layers}×${row.hidden} ${row.charactersPerSecond.toExponential(2)} chars/s`);
    }
  }
  return lines.join('\n');
}

main();
