// train(options, { signal, onProgress }): a training run off the main thread. The run is the one
// `rnn-native train --json` makes, in a worker thread (lib/library/train-worker.ts); its events
// come back as the same objects, and an AbortSignal stops it with a checkpoint as Ctrl-C does.
import { realpathSync } from 'fs';
import path from 'path';
import { Worker } from 'worker_threads';
import { BackendChoice } from '../engine/backend';
import { checkOptions, cliSpec, ModelConfig, RunConfig, TRAINING_OPTIONS } from '../model/config';
import { checkValue, OptionSpec } from '../util/option-values';
import { PresetName } from '../model/presets';
import { EndEvent, RunEvent } from '../run/run';
import { refuseConflicts, TRAIN_OPTIONS, TrainFlags } from '../run/train-setup';
import { UserError } from '../util/errors';

/** train's options: the flags of `rnn-native train` by their library names (seqLength for --seq-length...). */
export type TrainOptions = Partial<ModelConfig & Omit<RunConfig, 'time'>> & {
  /** A time budget as the command line's --time takes it: "90s", "10m", "1h30m". */
  time?: string;
  /** UTF-8 text: a file, a folder (its files, recursively) or a glob, or a list of them (default: the built-in demo corpus). */
  data?: string | string[];
  /** Joins the texts of several files (default a newline; the escapes \n, \t and \\ as on the command line). */
  separator?: string;
  /** The token cache of big texts (default $XDG_CACHE_HOME/rnn-native or ~/.cache/rnn-native). */
  cacheDir?: string;
  preset?: PresetName;
  /** The run directory of a new run (default runs/<date-time>, under the working directory). */
  out?: string;
  /** Continues the run in this directory from its latest.safetensors. */
  resume?: string;
  /**
   * A new run from a trained model's weights (fine-tuning): a checkpoint file, or a run directory
   * (its best.safetensors). The model (cell, hidden, layers, vocabulary) is the checkpoint's; the
   * text must use only characters of its vocabulary. As --init-from.
   */
  initFrom?: string;
  epochs?: number;
  backend?: BackendChoice;
};

/** An event of the run: the objects `rnn-native train --json` prints, one per line. */
export type TrainEvent = RunEvent | EndEvent;

export interface TrainControl {
  /** Stops the run with a checkpoint (latest.safetensors), as Ctrl-C stops `rnn-native train`. */
  signal?: AbortSignal;
  /** Called with each event, on the main thread. An error it throws stops the run (with a checkpoint) and rejects train's promise. */
  onProgress?: (event: TrainEvent) => void;
}

export interface TrainResult {
  /** done: trained to its last step; stopped: the signal stopped it (resume it with { resume: out }); diverged: a loss or weight became infinite or NaN. */
  status: 'done' | 'stopped' | 'diverged';
  /** The run directory (loadModel reads it). */
  out: string;
  /** The step reached. */
  step: number;
  /** The last event: 'done', 'stopped' or 'diverged'. */
  last: TrainEvent;
}

/** What the worker posts, and what it is sent. */
export type ToMain = { type: 'event'; event: TrainEvent } | { type: 'result'; result: TrainResult } | { type: 'error'; message: string; userError: boolean; stack?: string };
export type ToWorker = { type: 'stop' };

/** The options train accepts, by library name, checked as the command line checks its flags. */
const TRAIN_SPECS: Record<string, OptionSpec> = {
  ...Object.fromEntries(TRAINING_OPTIONS.map((row) => [row.key, cliSpec(row)])),
  data: TRAIN_OPTIONS.data,
  separator: TRAIN_OPTIONS.separator,
  cacheDir: TRAIN_OPTIONS['cache-dir'],
  preset: TRAIN_OPTIONS.preset,
  out: TRAIN_OPTIONS.out,
  resume: TRAIN_OPTIONS.resume,
  initFrom: TRAIN_OPTIONS['init-from'],
  epochs: TRAIN_OPTIONS.epochs,
};

/** The command line's flag of each option whose library name differs (the option table's, and initFrom). */
const FLAG_OF = new Map<string, string>([...TRAINING_OPTIONS.map((row): [string, string] => [row.key, row.flag]), ['initFrom', 'init-from'], ['cacheDir', 'cache-dir']]);

/**
 * Trains in a worker thread: the main thread's event loop stays free. Resolves when the run has
 * ended and its directory is released: done, stopped by the signal (with a checkpoint) or diverged.
 * Rejects with a UserError for a bad option (nothing written), and at once with the signal's
 * reason when it is aborted already.
 */
export async function train(options: TrainOptions = {}, control: TrainControl = {}): Promise<TrainResult> {
  const flags = flagsOf(checkOptions(options, TRAIN_SPECS, 'train'));
  refuseConflicts(flags);
  checkControl(control);
  control.signal?.throwIfAborted();
  const dir = runDirectoryOf(flags);
  if (dir !== undefined && TRAINING_HERE.has(dir)) {
    throw new UserError(`${dir}: in use by another train() of this process; await it (or abort it) first`);
  }
  if (dir !== undefined) TRAINING_HERE.add(dir);
  try {
    return await trainInWorker(flags, control);
  } finally {
    if (dir !== undefined) TRAINING_HERE.delete(dir);
  }
}

/**
 * The run directories this process's train() calls are training. Their workers share the
 * process's pid, which the run's lock holds: the lock cannot tell them apart, so this set does.
 */
const TRAINING_HERE = new Set<string>();

/** The run directory a call names (--out or --resume), as one path whatever way it is written. */
function runDirectoryOf(flags: TrainFlags): string | undefined {
  const given = flags.resume ?? flags.out;
  if (typeof given !== 'string') return undefined;
  const resolved = path.resolve(given);
  try {
    return realpathSync(resolved);
  } catch {
    return resolved; // not made yet
  }
}

/** The command line's options of the library's; a duration ("10m") becomes its seconds, as the command line parses it. */
function flagsOf(options: TrainOptions): TrainFlags {
  const kind = (key: string) => TRAIN_SPECS[key]?.kind;
  const parsed = (key: string, value: unknown) => (kind(key) === 'duration' || kind(key) === 'paths' ? checkValue(key, TRAIN_SPECS[key], value) : value);
  return Object.fromEntries(Object.entries(options).filter(([, value]) => value !== undefined).map(([key, value]) => [FLAG_OF.get(key) ?? key, parsed(key, value)]));
}

function checkControl(control: TrainControl): void {
  if (typeof control !== 'object' || control === null) throw new UserError('train: the second argument must be an object: { signal, onProgress }');
  const unknown = Object.keys(control).find((key) => key !== 'signal' && key !== 'onProgress');
  if (unknown !== undefined) throw new UserError(`train: unknown control "${unknown}"; the controls are signal and onProgress`);
  if (control.signal !== undefined && !(control.signal instanceof AbortSignal)) throw new UserError('train: signal must be an AbortSignal');
  if (control.onProgress !== undefined && typeof control.onProgress !== 'function') throw new UserError('train: onProgress must be a function');
}

function trainInWorker(flags: TrainFlags, { signal, onProgress }: TrainControl): Promise<TrainResult> {
  return new Promise((resolve, reject) => {
    const worker = startWorker(flags);
    const stop = () => worker.postMessage({ type: 'stop' } satisfies ToWorker);
    let result: TrainResult | undefined;
    // The first error, kept even when it is undefined (a handler may throw anything).
    let failure: { error: unknown } | undefined;
    const fail = (error: unknown) => {
      failure ??= { error };
      stop();
    };
    signal?.addEventListener('abort', stop, { once: true });
    worker.on('message', (message: ToMain) => {
      if (message.type === 'event') {
        try {
          const returned: unknown = onProgress?.(message.event);
          // An async handler is not awaited, but its rejection is its error.
          if (returned instanceof Promise) returned.catch(fail);
        } catch (error) {
          fail(error);
        }
      } else if (message.type === 'result') {
        result = message.result;
      } else {
        failure ??= { error: workerError(message) };
      }
    });
    worker.on('error', (error) => (failure ??= { error }));
    // Settled only when the thread has ended: the run directory's lock is released by then.
    worker.on('exit', (code) => {
      signal?.removeEventListener('abort', stop);
      if (failure !== undefined) reject(failure.error);
      else if (result !== undefined) resolve(result);
      else reject(new Error(`train: the training thread ended (exit code ${code}) before its run did`));
    });
  });
}

/**
 * The worker beside this file: compiled JavaScript in dist/, or under ts-node (the tests) its
 * TypeScript source, which the thread then compiles itself (it does not inherit ts-node).
 */
function startWorker(flags: TrainFlags): Worker {
  const script = path.join(__dirname, `train-worker${path.extname(__filename)}`);
  if (!script.endsWith('.ts')) return new Worker(script, { workerData: flags });
  const [tsNode, project] = [require.resolve('ts-node'), path.join(__dirname, '..', '..', 'tsconfig.json')];
  const code = `require(${JSON.stringify(tsNode)}).register({ transpileOnly: true, project: ${JSON.stringify(project)} }); require(${JSON.stringify(script)});`;
  return new Worker(code, { eval: true, workerData: flags });
}

function workerError(message: Extract<ToMain, { type: 'error' }>): Error {
  if (message.userError) return new UserError(message.message);
  const error = new Error(message.message);
  if (message.stack) error.stack = message.stack;
  return error;
}
