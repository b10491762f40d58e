// rnn-native sweep: plans a grid and/or random search over train's options into a sweep
// directory, then runs it here (--jobs N) or writes it for GNU parallel or Slurm (--emit).
import { existsSync, statSync } from 'fs';
import os from 'os';
import path from 'path';
import { UserError } from '../util/errors';
import { optionHelp, parseOptions } from '../util/options';
import { OptionSpecs } from '../util/option-values';
import { exitCodeOf, printLine } from '../util/output';
import { checkWritable, createSweep, lockSweep, readSweep, refuseRunningTasks, SweepFile } from '../sweep/sweep';
import { checkSlurmMem, checkSlurmPartition, checkSlurmTime, writeJobList, writeSlurmScript } from '../sweep/sweep-emit';
import { shellWord } from '../util/shell';
import { MAX_RUNS, planSweep } from '../sweep/sweep-plan';
import { runSweep } from '../sweep/sweep-runner';
import { refuseEditedRuns } from '../sweep/edited-plan';
import { TRAIN_OPTIONS } from '../run/train-setup';
import { absoluteValue, expandInputs } from '../text/inputs';

/**
 * train's options that every run of a sweep may take (the runner gives --out/--resume; output is
 * the sweep's). --init-from is not one yet: a sweep's runs start from random weights.
 */
const { out: _out, resume: _resume, json: _json, quiet: _quiet, 'init-from': _initFrom, ...RUN_OPTIONS } = TRAIN_OPTIONS;

const SWEEP_OPTIONS = {
  grid: { kind: 'string', help: 'every combination of the values: "eta=0.01,0.1 hidden=100,200"' },
  random: { kind: 'integer', min: 1, max: MAX_RUNS, help: 'this many settings drawn from --range' },
  range: { kind: 'string', help: 'what --random draws: "eta=1e-3:1e-1:log hidden=64:256 cell=rnn,lstm"' },
  repeat: { kind: 'integer', min: 1, max: 1000, help: 'runs per setting, with the seeds --seed, --seed + 1, ... (default 1)' },
  out: { kind: 'string', help: 'sweep directory (default sweeps/<date-time>)' },
  resume: { kind: 'string', help: 'go on with the sweep in this directory: finished runs are skipped' },
  jobs: { kind: 'integer', min: 1, max: 1024, help: 'runs at a time (default: one per core)' },
  emit: { kind: 'choice', choices: ['parallel', 'slurm'], help: 'only write jobs.txt for GNU parallel or sweep.slurm for sbatch' },
  'slurm-time': { kind: 'string', help: 'time limit of each array task (default 1:00:00)' },
  'slurm-mem': { kind: 'string', help: 'memory of each array task (default 1G)' },
  'slurm-cpus': { kind: 'integer', min: 1, max: 1024, help: 'CPUs of each array task (default --threads, else 1)' },
  'slurm-partition': { kind: 'string', help: 'Slurm partition (default: the cluster\'s)' },
  json: { kind: 'flag', help: 'print JSON lines, one object per event' },
} satisfies OptionSpecs;

const OPTIONS = { ...SWEEP_OPTIONS, ...RUN_OPTIONS } satisfies OptionSpecs;
type Options = ReturnType<typeof parseOptions<typeof OPTIONS>>;

const PLAN_KEYS = ['grid', 'random', 'range', 'repeat', 'out', 'emit', 'slurm-time', 'slurm-mem', 'slurm-cpus', 'slurm-partition'] as const;
const SLURM_KEYS = ['slurm-time', 'slurm-mem', 'slurm-cpus', 'slurm-partition'] as const;

const USAGE = `usage: rnn-native sweep [--grid SPEC] [--random N --range SPEC] [--repeat K] [train options]
                        [--jobs N | --emit parallel|slurm] [--out DIR]
       rnn-native sweep --resume DIR [--jobs N]

${optionHelp(SWEEP_OPTIONS)}

Every other option is train's (rnn-native train --help), given to every run.`;

export async function sweepCommand(argv: string[]): Promise<number> {
  const o = parseOptions(argv, OPTIONS);
  if (o.help) {
    printLine(USAGE);
    return 0;
  }
  const jobs = o.jobs ?? (os.availableParallelism?.() ?? os.cpus().length);
  if (o.resume !== undefined) {
    const given = [...PLAN_KEYS, ...Object.keys(RUN_OPTIONS)].filter((key) => (o as Record<string, unknown>)[key] !== undefined);
    if (given.length > 0) throw new UserError(`a resumed sweep keeps its plan and options; leave out --${given[0]}`);
    const sweep = readSweep(o.resume, TRAIN_OPTIONS);
    lockSweep(o.resume);
    refuseRunningTasks(o.resume, sweep);
    refuseEditedRuns(o.resume, sweep, TRAIN_OPTIONS);
    return run(o.resume, sweep, jobs, o);
  }
  const slurmGiven = SLURM_KEYS.find((key) => o[key] !== undefined);
  if (slurmGiven !== undefined && o.emit !== 'slurm') throw new UserError(`--${slurmGiven} is for --emit slurm`);
  const slurm = o.emit === 'slurm' ? slurmOptions(o) : undefined;
  if (o.grid === undefined && o.random === undefined && (o.repeat ?? 1) === 1) {
    throw new UserError('a sweep needs --grid, --random with --range, or --repeat (see --help)');
  }
  if (o.data !== undefined && o.data.length > 1) throw new UserError('a sweep takes one --data: a file, a folder, or a glob in quotes');
  const common = Object.fromEntries(Object.keys(RUN_OPTIONS).flatMap((key) => {
    const value = key === 'data' ? o.data?.[0] : (o as Record<string, string | number | boolean | undefined>)[key];
    return value === undefined ? [] : [[key, key === 'data' ? absoluteValue(String(value)) : value]];
  }));
  const runs = planSweep({ grid: o.grid, random: o.random, ranges: o.range, repeat: o.repeat, common }, RUN_OPTIONS);
  refuseMissingData(runs.map((r) => r.args));
  // Only now, with every input checked, is anything written.
  const dir = o.out ?? defaultOutDir();
  const sweep = createSweep(dir, runs);
  if (o.emit === 'parallel') {
    const file = writeJobList(dir, sweep);
    announce(o, `sweep: ${runs.length} runs planned in ${dir}; run them with:\n  parallel --will-cite --jobs ${jobs} < ${shellWord(file)}`, { jobs: file });
    return 0;
  }
  if (slurm !== undefined) {
    const file = writeSlurmScript(dir, sweep, { ...slurm, jobs: o.jobs });
    announce(o, `sweep: ${runs.length} runs planned in ${dir}; submit them with:\n  sbatch ${shellWord(path.resolve(file))}`, { slurm: file });
    return 0;
  }
  return run(dir, sweep, jobs, o);
}

function slurmOptions(o: Options) {
  return {
    time: checkSlurmTime(o['slurm-time'] ?? '1:00:00'),
    mem: checkSlurmMem(o['slurm-mem'] ?? '1G'),
    cpus: o['slurm-cpus'] ?? o.threads ?? 1,
    partition: o['slurm-partition'] === undefined ? undefined : checkSlurmPartition(o['slurm-partition']),
  };
}

/** Each --data of the plan must name files (a file, a folder or a glob), before any run starts. */
function refuseMissingData(argLists: string[][]): void {
  for (const args of argLists) {
    const at = args.indexOf('--data');
    if (at < 0) continue;
    for (const { path: file } of expandInputs([args[at + 1]])) {
      if (!existsSync(file) || !statSync(file).isFile()) throw new UserError(`--data ${file}: no such file`);
    }
  }
}

function announce(o: Options, line: string, files: Record<string, string>): void {
  printLine(o.json ? JSON.stringify({ event: 'planned', ...files }) : line);
}

async function run(dir: string, sweep: SweepFile, jobs: number, o: Options): Promise<number> {
  const mode = o.json ? 'json' : process.stdout.isTTY ? 'tty' : 'plain';
  checkWritable(dir);
  const outcome = await runSweep(dir, sweep, jobs, mode);
  const total = sweep.runs.length;
  if (mode === 'json') {
    const failed = outcome.failed.map((r) => r.dir);
    printLine(JSON.stringify({ event: 'end', finished: outcome.finished, total, failed, signal: outcome.signal ?? null, dir }));
  }
  if (outcome.signal !== undefined) {
    process.stderr.write(
      `rnn-native: sweep stopped by ${outcome.signal}: ${outcome.finished} of ${total} runs finished; ` +
        `go on with: npx rnn-native sweep --resume ${shellWord(dir)}\n`
    );
    return exitCodeOf(outcome.signal);
  }
  if (outcome.failed.length > 0) {
    const names = outcome.failed.map((r) => r.dir).join(', ');
    process.stderr.write(`rnn-native: ${outcome.failed.length} of ${total} runs failed: ${names} (their logs: ${path.join(dir, 'logs')})\n`);
    return 1;
  }
  if (mode !== 'json') printLine(`sweep: all ${total} runs finished in ${dir}`);
  return 0;
}

function defaultOutDir(): string {
  const stamp = new Date().toISOString().replace(/\.\d+Z$/, '').replace(/:/g, '-');
  let dir = path.join('sweeps', stamp);
  for (let n = 2; existsSync(dir); n++) dir = path.join('sweeps', `${stamp}-${n}`);
  return dir;
}
