// A sweep directory: sweep.json (the plan), one ordinary run directory per run, and per finished
// run its done marker (RUN/done.json, written by sweep-task once train exited 0).
import { accessSync, constants, existsSync, readdirSync, statSync } from 'fs';
import path from 'path';
import { UserError } from '../util/errors';
import { describeWriteError, makeDirectory, readUserFile, writeFileAtomic } from '../util/files';
import { parseOptions } from '../util/options';
import { OptionSpecs } from '../util/option-values';
import { readValCsv } from '../report/plot';
import { readLossLog } from '../run/loss-log';
import { holdLock, refuseIfLocked } from '../run/run-dir';
import { PlannedRun } from './sweep-plan';

export const SWEEP_FILE = 'sweep.json';
export const DONE_FILE = 'done.json';

export interface SweepFile {
  version: 1;
  created: string;
  /** train's --data of every run (absolute), or null: the demo corpus, or a --data that varies. */
  data: string | null;
  runs: PlannedRun[];
}

/** What done.json holds: when the run finished, and its last losses. */
export interface DoneMarker {
  finished: string;
  step: number;
  smoothLoss: number | null;
  valLoss: number | null;
}

export const sweepFilePath = (dir: string) => path.join(dir, SWEEP_FILE);
export const runDirOf = (dir: string, run: PlannedRun) => path.join(dir, run.dir);
export const donePathOf = (dir: string, run: PlannedRun) => path.join(dir, run.dir, DONE_FILE);
export const logPathOf = (dir: string, run: PlannedRun) => path.join(dir, 'logs', `${run.dir}.log`);
/** The lock of the runner of the sweep (sweep, sweep --resume); a run's name never makes it (.X.lock). */
/** The lock a sweep runner holds while it runs the sweep. */
export const sweepLockPath = (dir: string) => path.join(dir, '.lock');
/** The lock of the task that runs `run` (sweep-task), beside the run directory rather than in it. */
export const taskLockPathOf = (dir: string, run: PlannedRun) => path.join(dir, `.${run.dir}.lock`);

/** A new sweep: DIR must not exist or be empty (a sweep there is continued with --resume). */
export function createSweep(dir: string, runs: PlannedRun[]): SweepFile {
  if (existsSync(dir) && statSync(dir).isDirectory()) refuseIfLocked(sweepLockPath(dir), dir);
  if (existsSync(sweepFilePath(dir))) throw new UserError(`--out ${dir}: already holds a sweep; continue it with: rnn-native sweep --resume ${dir}`);
  if (existsSync(dir) && (!statSync(dir).isDirectory() || readdirSync(dir).length > 0)) {
    throw new UserError(`--out ${dir}: exists and is not an empty directory; choose another --out`);
  }
  const data = commonData(runs);
  const sweep: SweepFile = { version: 1, created: new Date().toISOString(), data, runs };
  makeDirectory(dir, `--out ${dir}`);
  lockSweep(dir);
  // Another sweep may have been written here between the checks above and the lock.
  if (existsSync(sweepFilePath(dir))) throw new UserError(`--out ${dir}: already holds a sweep; continue it with: rnn-native sweep --resume ${dir}`);
  for (const run of runs) makeDirectory(runDirOf(dir, run));
  makeDirectory(path.join(dir, 'logs'));
  writeFileAtomic(sweepFilePath(dir), JSON.stringify(sweep, null, 2) + '\n');
  return sweep;
}

/**
 * Takes the sweep for this process until it exits, so that two runners never run one sweep (each
 * would report the other's runs as failed); a lock of a process that is gone is taken over.
 */
export function lockSweep(dir: string): void {
  holdLock(sweepLockPath(dir), dir);
}

/** Refuses a runner while a task of the sweep runs outside it (GNU parallel, a Slurm task, another runner's). */
export function refuseRunningTasks(dir: string, sweep: SweepFile): void {
  for (const run of sweep.runs) refuseIfLocked(taskLockPathOf(dir, run), runDirOf(dir, run));
}

/** The --data all runs share (absolute), else null. */
function commonData(runs: PlannedRun[]): string | null {
  const data = runs.map((run) => {
    const at = run.args.indexOf('--data');
    return at < 0 ? null : run.args[at + 1];
  });
  return data.every((d) => d === data[0]) ? data[0] : null;
}

/** sweep.json of DIR, checked: each run's args must be train's (by `specs`), its dir a plain name inside DIR. */
export function readSweep(dir: string, specs: OptionSpecs): SweepFile {
  const file = sweepFilePath(dir);
  if (!existsSync(file)) throw new UserError(`${dir}: holds no ${SWEEP_FILE} (not a sweep directory)`);
  let value: SweepFile;
  try {
    value = JSON.parse(readUserFile(file).toString('utf8'));
  } catch (error) {
    if (error instanceof UserError) throw error;
    throw new UserError(`${file}: damaged (not JSON)`);
  }
  const bad = (what: string) => new UserError(`${file}: damaged: ${what}`);
  if (typeof value !== 'object' || value === null || value.version !== 1) throw bad('version must be 1');
  if (!Array.isArray(value.runs) || value.runs.length === 0) throw bad('runs must be a non-empty list');
  value.runs.forEach((run, i) => {
    if (typeof run !== 'object' || run === null || run.index !== i) throw bad(`runs[${i}].index must be ${i}`);
    if (typeof run.dir !== 'string' || !/^[\w.-]+$/.test(run.dir) || run.dir.startsWith('.')) throw bad(`runs[${i}].dir must be a plain directory name`);
    if (!Array.isArray(run.args) || run.args.some((arg) => typeof arg !== 'string')) throw bad(`runs[${i}].args must be a list of strings`);
    if (run.args.some((arg) => /^--(out|resume)(=|$)/.test(arg))) throw bad(`runs[${i}].args must not hold --out or --resume`);
    let given: Record<string, unknown>;
    try {
      given = parseOptions(run.args, specs) as Record<string, unknown>;
    } catch (error) {
      if (error instanceof UserError) throw bad(`runs[${i}].args: ${error.message}`);
      throw error;
    }
    const unlike = unlikeArgs(run.varied, given);
    if (unlike !== undefined) throw bad(`runs[${i}].varied${unlike}; make them agree`);
  });
  return value;
}

/**
 * How a run's label (varied, what its lines and compare show) differs from what its args train,
 * else undefined: a label must never name values the run does not train with.
 */
function unlikeArgs(varied: unknown, given: Record<string, unknown>): string | undefined {
  if (typeof varied !== 'object' || varied === null || Array.isArray(varied)) return ' must be an object';
  for (const [key, value] of Object.entries(varied)) {
    const arg = given[key];
    if (arg !== value) return `.${key} is ${JSON.stringify(value)}, but its args give ${arg === undefined ? `no --${key}` : `--${key} ${arg}`}`;
  }
  return undefined;
}

/**
 * Before the local runner starts a run: the sweep directory and its logs/ must take new files (a
 * read-only copy, a logs/ that is a file), else a UserError now rather than a crash mid-sweep.
 */
export function checkWritable(dir: string): void {
  const logs = path.join(dir, 'logs');
  makeDirectory(logs);
  for (const where of [dir, logs]) {
    try {
      accessSync(where, constants.W_OK);
    } catch (error) {
      throw new UserError(`${where}: cannot write (${describeWriteError(error as NodeJS.ErrnoException)})`);
    }
  }
}

export const isFinished = (dir: string, run: PlannedRun) => existsSync(donePathOf(dir, run));

/** The last smooth loss and validation loss a run logged (null where it logged none). */
export function lastLosses(runDir: string): { step: number; smoothLoss: number | null; valLoss: number | null } {
  const lossPath = path.join(runDir, 'loss.csv');
  const valPath = path.join(runDir, 'val.csv');
  const loss = existsSync(lossPath) ? readLossLog(lossPath).last : undefined;
  const valLoss = existsSync(valPath) ? (readValCsv(valPath).at(-1)?.valLoss ?? null) : null;
  return { step: loss?.step ?? 0, smoothLoss: loss?.smoothLoss ?? null, valLoss };
}

export function writeDone(dir: string, run: PlannedRun): DoneMarker {
  const marker: DoneMarker = { finished: new Date().toISOString(), ...lastLosses(runDirOf(dir, run)) };
  writeFileAtomic(donePathOf(dir, run), JSON.stringify(marker, null, 2) + '\n');
  return marker;
}
