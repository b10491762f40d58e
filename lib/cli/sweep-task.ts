// rnn-native sweep-task DIR INDEX: runs run INDEX of the sweep in DIR to its end, as GNU parallel,
// a Slurm array task or the local runner start it. Idempotent: a finished run is left as it is
// (exit 0), an interrupted one resumes from its latest checkpoint (train --resume: the same
// updates, none twice), and SIGTERM/SIGINT stop it with a checkpoint and a non-zero exit (as train).
import { existsSync } from 'fs';
import path from 'path';
import { readCheckpoint } from '../run/checkpoint';
import { UserError } from '../util/errors';
import { optionHelp, parseCommandLine } from '../util/options';
import { printLine } from '../util/output';
import { shellWord } from '../util/shell';
import { RUN_DEFAULTS } from '../model/config';
import { clearRunWithoutCheckpoint, holdLock, owesEvaluation, refuseIfLocked, validationsSinceBest } from '../run/run-dir';
import { readRunConfig } from '../run/run-config';
import { isFinished, readSweep, runDirOf, sweepLockPath, taskLockPathOf, writeDone } from '../sweep/sweep';
import { PlannedRun } from '../sweep/sweep-plan';
import { refuseEditedRun } from '../sweep/edited-plan';
import { TRAIN_OPTIONS } from '../run/train-setup';
import { trainCommand } from './train';

export async function sweepTaskCommand(argv: string[]): Promise<number> {
  const { options, operands } = parseCommandLine(argv, {}, 2);
  if (options.help) {
    printLine(`usage: rnn-native sweep-task SWEEP_DIR INDEX\n\nruns (or resumes) run INDEX of the sweep; exits 0 when it is finished\n\n${optionHelp({})}`);
    return 0;
  }
  if (operands.length < 2) throw new UserError('sweep-task needs a sweep directory and a run index (see --help)');
  const [dir, indexText] = operands;
  const sweep = readSweep(dir, TRAIN_OPTIONS);
  const index = /^\d+$/.test(indexText) ? Number(indexText) : NaN;
  if (!(index < sweep.runs.length)) throw new UserError(`sweep-task: the index must be an integer from 0 to ${sweep.runs.length - 1}, got "${indexText}"`);
  const run = sweep.runs[index];
  // Started by hand while the sweep's runner works (it holds DIR/.lock): the runner's task of
  // this run would find it locked and report it failed, so the task is the runner's to start.
  if (process.channel === undefined) refuseIfLocked(sweepLockPath(dir), dir);
  stopWithRunner();
  // One task per run at a time: a second start of the same task (a requeue while the first still
  // runs) is refused here, before it looks at or clears anything of the run.
  holdLock(taskLockPathOf(dir, run), runDirOf(dir, run));
  refuseEditedRun(dir, run, TRAIN_OPTIONS);
  if (isFinished(dir, run)) {
    printLine(`${runDirOf(dir, run)}: already finished`);
    return 0;
  }
  const args = trainArgsNow(dir, run);
  const code = args === undefined ? 0 : await trainCommand(args, `npx rnn-native sweep --resume ${shellWord(dir)}`);
  if (code === 0) writeDone(dir, run);
  return code;
}

/**
 * Started by the local runner (an IPC channel): when the runner is gone (kill -9, a closed
 * terminal), stop as on its SIGTERM, with a checkpoint, rather than train on unwatched; its
 * --resume goes on. The channel does not keep the task alive.
 */
function stopWithRunner(): void {
  if (process.channel === undefined) return;
  process.channel.unref();
  process.once('disconnect', () => process.kill(process.pid, 'SIGTERM'));
}

/**
 * train's arguments for the run as it is now: a new run, or a resume from latest.safetensors. A
 * run that reached its last step (or its --early-stop) but was stopped before its done marker
 * needs none: undefined.
 */
function trainArgsNow(dir: string, run: PlannedRun): string[] | undefined {
  const runDir = runDirOf(dir, run);
  const latest = path.join(runDir, 'latest.safetensors');
  if (!existsSync(latest)) {
    // Stopped before its first checkpoint: nothing to resume, and a new start writes the same
    // files again (the run is deterministic), so what it logged is cleared for it.
    clearRunWithoutCheckpoint(runDir);
    return [...run.args, '--out', runDir];
  }
  const { training, run: record } = readCheckpoint(latest);
  const config = readRunConfig(path.join(runDir, 'config.json'), 'refuse');
  const steps = typeof config?.steps === 'number' ? config.steps : undefined;
  const evalEvery = typeof config?.evalEvery === 'number' ? config.evalEvery : RUN_DEFAULTS.evalEvery;
  const owed = owesEvaluation(runDir, training.step, { valFraction: training.config.valFraction, evalEvery, steps, owed: record.evaluationOwed });
  if (steps !== undefined && training.step >= steps && !owed) return undefined;
  // Stopped by --early-stop (train exited 0) but not marked done: a resume would be refused.
  const earlyStop = typeof config?.earlyStop === 'number' ? config.earlyStop : 0;
  if (earlyStop > 0 && !owed && validationsSinceBest(runDir, training.step) >= earlyStop) return undefined;
  // --preset picks the model of a new run; the resumed run keeps its own.
  return ['--resume', runDir, ...withoutPreset(run.args)];
}

function withoutPreset(args: string[]): string[] {
  const at = args.indexOf('--preset');
  return at < 0 ? args : [...args.slice(0, at), ...args.slice(at + 2)];
}
