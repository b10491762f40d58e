// The local runner of `sweep --jobs N`: each unfinished run as a child process `sweep-task DIR I`
// of this package's CLI, N at a time, its output in DIR/logs/<run>.log. A line per run (start,
// finish, failure) and an overall one. SIGINT/SIGTERM are passed to every child, which
// checkpoints, and the runner waits for them; `sweep --resume DIR` goes on from there.
import { spawn } from 'child_process';
import { closeSync, existsSync, openSync, readFileSync } from 'fs';
import path from 'path';
import { exitCodeOf, fitLine, printLine, writeOut } from '../util/output';
import { DoneMarker, donePathOf, isFinished, lastLosses, logPathOf, runDirOf, SweepFile } from './sweep';
import { PlannedRun } from './sweep-plan';

export type RunnerMode = 'tty' | 'plain' | 'json';

/** What the runner reports: one JSON object per event with --json, a line otherwise. */
export type SweepEvent =
  | { event: 'start'; index: number; dir: string; varied: PlannedRun['varied'] }
  | { event: 'finish'; index: number; dir: string; step: number; smoothLoss: number | null; valLoss: number | null; seconds: number }
  | { event: 'fail'; index: number; dir: string; code: number | null; signal: string | null; log: string }
  | { event: 'stopped'; index: number; dir: string; step: number; checkpoint: boolean }
  | { event: 'progress'; done: number; running: number; failed: number; total: number };

export interface SweepOutcome {
  finished: number;
  failed: PlannedRun[];
  /** The signal that stopped the sweep, if one did. */
  signal?: NodeJS.Signals;
}

const CLI = path.join(__dirname, '..', 'cli.js');

export function runSweep(dir: string, sweep: SweepFile, jobs: number, mode: RunnerMode): Promise<SweepOutcome> {
  const total = sweep.runs.length;
  const queue = sweep.runs.filter((run) => !isFinished(dir, run));
  let done = total - queue.length;
  const failed: PlannedRun[] = [];
  const running = new Map<number, ReturnType<typeof spawn>>();
  let stopSignal: NodeJS.Signals | undefined;
  const columns = () => process.stdout.columns;

  const report = (e: SweepEvent) => {
    if (mode === 'json') return printLine(JSON.stringify(e));
    const line = eventLine(e, sweep.runs[(e as { index?: number }).index ?? 0], mode === 'tty' ? columns() ?? 80 : undefined);
    if (mode === 'tty') writeOut(`\r\x1b[K${line}\n`);
    else printLine(line);
  };
  const overall = () => {
    const e: SweepEvent = { event: 'progress', done, running: running.size, failed: failed.length, total };
    if (mode === 'json') return printLine(JSON.stringify(e));
    const line = overallLine(e, stopSignal, mode === 'tty' ? columns() ?? 80 : undefined);
    if (mode === 'tty') writeOut(`\r\x1b[K${line}`);
    else printLine(line);
  };

  return new Promise((resolve) => {
    const onSignal = (signal: NodeJS.Signals) => {
      // The first signal stops the sweep with a checkpoint of each run; a second is passed on too,
      // and train then stops at once (without a new checkpoint).
      stopSignal ??= signal;
      for (const child of running.values()) child.kill(signal);
      overall();
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);

    const launchNext = () => {
      while (stopSignal === undefined && running.size < jobs && queue.length > 0) launch(queue.shift()!);
      if (running.size > 0) return;
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
      if (mode === 'tty') writeOut('\n');
      resolve({ finished: done, failed, signal: stopSignal });
    };

    const launch = (run: PlannedRun) => {
      let log: number;
      try {
        log = openSync(logPathOf(dir, run), 'a');
      } catch {
        // Its log cannot be opened (the disk changed under the sweep): the run fails, the others go on.
        failed.push(run);
        report({ event: 'fail', index: run.index, dir: run.dir, code: null, signal: null, log: logPathOf(dir, run) });
        return;
      }
      const started = Date.now();
      // Its own process group: a Ctrl-C on the terminal reaches the runner only, which passes it
      // on once (a second signal would stop train without its checkpoint). The IPC channel tells
      // the task when the runner is gone (killed): it then stops as on SIGTERM, see sweep-task.
      const child = spawn(process.execPath, [CLI, 'sweep-task', dir, String(run.index)], { detached: true, stdio: ['ignore', log, log, 'ipc'] });
      running.set(run.index, child);
      report({ event: 'start', index: run.index, dir: run.dir, varied: run.varied });
      if (mode !== 'plain') overall(); // a log gets the overall line when a run ends
      let ended = false;
      const onEnd = (code: number | null, signal: NodeJS.Signals | null) => {
        if (ended) return;
        ended = true;
        closeSync(log);
        running.delete(run.index);
        if (code === 0 && isFinished(dir, run)) {
          done++;
          const marker = JSON.parse(readFileSync(donePathOf(dir, run), 'utf8')) as DoneMarker;
          const { step, smoothLoss, valLoss } = marker;
          report({ event: 'finish', index: run.index, dir: run.dir, step, smoothLoss, valLoss, seconds: (Date.now() - started) / 1000 });
        } else if (stopSignal !== undefined && (signal !== null || code === exitCodeOf('SIGINT') || code === exitCodeOf('SIGTERM'))) {
          // A child stopped while it was starting (before train took the signal) has no checkpoint.
          const checkpoint = existsSync(path.join(runDirOf(dir, run), 'latest.safetensors'));
          report({ event: 'stopped', index: run.index, dir: run.dir, step: safeStep(runDirOf(dir, run)), checkpoint });
        } else {
          failed.push(run);
          report({ event: 'fail', index: run.index, dir: run.dir, code, signal, log: logPathOf(dir, run) });
        }
        overall();
        launchNext();
      };
      child.on('exit', onEnd);
      // A child that could not be started (no 'exit' may follow): a failed run.
      child.on('error', () => onEnd(null, null));
    };

    launchNext();
  });
}

/** The last logged step of a stopped run (0 when it logged nothing readable). */
function safeStep(runDir: string): number {
  try {
    return lastLosses(runDir).step;
  } catch {
    return 0;
  }
}

const varied = (run: PlannedRun) =>
  Object.entries(run.varied)
    .map(([key, value]) => `${key}=${value}`)
    .join(' ');

const loss = (x: number | null) => (x === null ? '–' : x.toFixed(3));

/** A run's line: in full, or on a terminal of `columns` the longest form that fits. */
export function eventLine(e: SweepEvent, run: PlannedRun, columns: number | undefined): string {
  const name = `${run.dir} (${varied(run)})`;
  let forms: string[];
  switch (e.event) {
    case 'start':
      forms = [`${name}: started`, `${run.dir}: started`];
      break;
    case 'finish': {
      const val = e.valLoss === null ? '' : `, validation loss ${loss(e.valLoss)}`;
      const shortVal = e.valLoss === null ? '' : ` val ${loss(e.valLoss)}`;
      forms = [
        `${name}: finished at step ${e.step}, smooth loss ${loss(e.smoothLoss)}${val} (${e.seconds.toFixed(1)} s)`,
        `${run.dir}: finished, smooth ${loss(e.smoothLoss)}${shortVal} (${e.seconds.toFixed(1)} s)`,
      ];
      break;
    }
    case 'fail': {
      const why = e.signal !== null ? `killed by ${e.signal}` : e.code !== null ? `exit ${e.code}` : 'could not start';
      forms = [`${name}: failed (${why}); see ${e.log}`, `${run.dir}: failed (${why}); see ${path.relative('.', e.log) || e.log}`, `${run.dir}: failed (${why})`];
      break;
    }
    case 'stopped':
      forms = e.checkpoint
        ? [`${name}: stopped at step ${e.step} (checkpointed)`, `${run.dir}: stopped at step ${e.step}`]
        : [`${name}: stopped before its first checkpoint`, `${run.dir}: stopped, no checkpoint`];
      break;
    default:
      forms = [''];
  }
  return columns !== undefined ? fitLine(forms, columns) : forms[0];
}

/** The overall line: in full, or on a terminal of `columns` the longest form that fits. */
export function overallLine(e: Extract<SweepEvent, { event: 'progress' }>, stopping: NodeJS.Signals | undefined, columns: number | undefined): string {
  const stop = stopping ? `, stopping (${stopping})` : '';
  const forms = [`sweep: ${e.done}/${e.total} done, ${e.running} running, ${e.failed} failed${stop}`, `${e.done}/${e.total} done, ${e.running} run, ${e.failed} failed`];
  return columns !== undefined ? fitLine(forms, columns) : forms[0];
}
