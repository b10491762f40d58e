// Crash and resume, over and over: starts `train` in a child process, SIGKILLs it at a seeded random
// moment (during start-up, while training, or right after a "checkpoint" event, when the next
// checkpoint write is a few milliseconds away), checks the run directory, and resumes.
//
//   npx ts-node -P tsconfig.json scripts/crash-resume.ts [--kills N] [--seed S] [--keep] [--json]
//
// After each kill: latest.safetensors (and best.safetensors when present) must load with
// readCheckpoint; the step of latest never goes backwards; best is at least as good as the best
// loss latest records; the next resume must start (emit an event) or, if killed before it could,
// must not have failed on its own. At the end, one last resume runs to completion and loss.csv
// must read as one run (a header, then strictly increasing steps). Exit 1 when a check failed.
// Needs dist/cli.js (npm run build:ts).
import { ChildProcess, spawn, spawnSync } from 'child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import path from 'path';
import { readCheckpoint } from '../lib/run/checkpoint';
import { Rng } from '../lib/util/random';
import { generatedText } from './generated-text';

const root = path.join(__dirname, '..');
const cli = path.join(root, 'dist', 'cli.js');
const SHAKESPEARE = path.join(root, '..', 'shared', 'data', 'tinyshakespeare.txt');

export interface CrashOptions {
  kills: number;
  seed: number;
  /** Work directory (default: a new temporary one, removed at the end unless keep). */
  work?: string;
  keep?: boolean;
  /** Progress lines (default: none). */
  log?: (line: string) => void;
}

export interface CrashFigures {
  kills: number;
  /** Kills by moment: start-up (0–400 ms after spawn), running (0–300 ms after the first event), after a checkpoint event. */
  moments: { startup: number; running: number; afterCheckpoint: number };
  /** Resume processes started, and how many of them were seen training (emitted an event) before the kill. */
  resumes: number;
  resumesSeenTraining: number;
  /** Kills of the first run before its first checkpoint (the directory could not be resumed and was started again). */
  killedBeforeFirstCheckpoint: number;
  /** What `train --resume` and `train --out` said about such a directory (once). */
  beforeFirstCheckpointMessages: string[];
  /** Checkpoint files loaded with readCheckpoint after the kills (latest + best). */
  checkpointsVerified: number;
  unreadable: number;
  /** Kills after which latest.safetensors had a newer step than after the previous kill. */
  progressed: number;
  firstStep: number;
  lastStep: number;
  /** Leftover .*.tmp files in the run directory: after the last kill, and the most seen at once. */
  tempFiles: number;
  tempFilesMax: number;
  tempFileNames: string[];
  /** The final resume to completion, and the loss.csv check. */
  finalResumeOk: boolean;
  lossCsvOk: boolean;
  failures: string[];
  seconds: number;
}

/** A ~200 KB text: tinyshakespeare when ../shared has it, else a generated one. */
function writeText(file: string): void {
  if (existsSync(SHAKESPEARE)) {
    writeFileSync(file, readFileSync(SHAKESPEARE).subarray(0, 200_000));
    return;
  }
  writeFileSync(file, generatedText(200_000));
}

type Moment = keyof CrashFigures['moments'];

interface Killed {
  /** Events the child printed before it was killed. */
  events: number;
  /** Set when the child exited by itself (not by our SIGKILL). */
  exitedAlone?: { code: number | null; signal: NodeJS.Signals | null; stderr: string };
}

/** Runs the child and SIGKILLs it at the moment chosen; resolves when it is gone. */
function runAndKill(args: string[], moment: Moment, rng: Rng): Promise<Killed> {
  return new Promise((resolve) => {
    const env = { ...process.env, RNN_NATIVE_BACKEND: '' };
    const child: ChildProcess = spawn(process.execPath, [cli, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let killed = false;
    let events = 0;
    let checkpoints = 0;
    let stdout = '';
    let stderr = '';
    const kill = () => {
      if (killed) return;
      killed = true;
      child.kill('SIGKILL');
    };
    const waitCheckpoints = 1 + Math.floor(rng.uniform() * 4);
    const delayAfterCheckpoint = rng.uniform() < 0.5 ? 0 : Math.floor(rng.uniform() * 5);
    const runningDelay = Math.floor(rng.uniform() * 300);
    if (moment === 'startup') setTimeout(kill, Math.floor(rng.uniform() * 400));
    child.stdout!.on('data', (chunk: Buffer) => {
      stdout += chunk.toString('utf8');
      let newline: number;
      while ((newline = stdout.indexOf('\n')) >= 0) {
        const line = stdout.slice(0, newline);
        stdout = stdout.slice(newline + 1);
        events++;
        if (events === 1 && moment === 'running') setTimeout(kill, runningDelay);
        if (moment === 'afterCheckpoint' && line.includes('"event":"checkpoint"') && ++checkpoints === waitCheckpoints) {
          if (delayAfterCheckpoint === 0) kill();
          else setTimeout(kill, delayAfterCheckpoint);
        }
      }
    });
    child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
    // Safety net: a child that never reaches the chosen moment is killed after 10 s.
    const timer = setTimeout(kill, 10_000);
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      resolve({ events, ...(killed ? {} : { exitedAlone: { code, signal, stderr } }) });
    });
  });
}

export async function crashResume(options: CrashOptions): Promise<CrashFigures> {
  const started = Date.now();
  const log = options.log ?? (() => undefined);
  const work = options.work ?? mkdtempSync(path.join(tmpdir(), 'rnn-crash-'));
  const text = path.join(work, 'text.txt');
  writeText(text);
  const dir = path.join(work, 'run');
  rmSync(dir, { recursive: true, force: true });
  const rng = Rng.fromSeed(options.seed);
  const figures: CrashFigures = {
    kills: 0,
    moments: { startup: 0, running: 0, afterCheckpoint: 0 },
    resumes: 0,
    resumesSeenTraining: 0,
    killedBeforeFirstCheckpoint: 0,
    beforeFirstCheckpointMessages: [],
    checkpointsVerified: 0,
    unreadable: 0,
    progressed: 0,
    firstStep: 0,
    lastStep: 0,
    tempFiles: 0,
    tempFilesMax: 0,
    tempFileNames: [],
    finalResumeOk: false,
    lossCsvOk: false,
    failures: [],
    seconds: 0,
  };
  const fail = (what: string) => {
    figures.failures.push(what);
    log(`FAIL: ${what}`);
  };
  const first = ['train', '--data', text, '--hidden', '32', '--checkpoint-every', '50', '--log-every', '10', '--steps', '1000000', '--out', dir, '--json'];
  const resume = ['train', '--resume', dir, '--steps', '1000000', '--json'];
  let previousStep = 0;
  let started1 = false; // a checkpoint exists, so later runs are resumes

  for (let kill = 1; kill <= options.kills; kill++) {
    const r = rng.uniform();
    const moment: Moment = r < 0.25 ? 'startup' : r < 0.5 ? 'running' : 'afterCheckpoint';
    const isResume = started1;
    const result = await runAndKill(isResume ? resume : first, moment, rng);
    if (isResume) {
      figures.resumes++;
      if (result.events > 0) figures.resumesSeenTraining++;
    }
    if (result.exitedAlone) {
      const { code, signal, stderr } = result.exitedAlone;
      fail(`kill ${kill}: the ${isResume ? 'resume' : 'first run'} exited by itself (code ${code}, signal ${signal}): ${stderr.trim()}`);
    }
    figures.kills++;
    figures.moments[moment]++;

    const latest = path.join(dir, 'latest.safetensors');
    const best = path.join(dir, 'best.safetensors');
    const temps = existsSync(dir) ? readdirSync(dir).filter((name) => name.startsWith('.') && name.endsWith('.tmp')) : [];
    figures.tempFiles = temps.length;
    figures.tempFilesMax = Math.max(figures.tempFilesMax, temps.length);
    figures.tempFileNames = temps;

    if (!existsSync(latest)) {
      if (isResume) {
        fail(`kill ${kill}: latest.safetensors is gone after a resume was killed`);
        break;
      }
      // Killed before the first checkpoint: what does the user get now?
      figures.killedBeforeFirstCheckpoint++;
      if (existsSync(dir) && figures.beforeFirstCheckpointMessages.length === 0) {
        const env = { ...process.env, RNN_NATIVE_BACKEND: '' };
        for (const args of [resume, first]) {
          const attempt = spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8', env, timeout: 20_000 });
          figures.beforeFirstCheckpointMessages.push(`${args[1]} → exit ${attempt.status}: ${attempt.stderr.trim()}`);
        }
      }
      log(`kill ${kill} (${moment}): before the first checkpoint; files: ${existsSync(dir) ? readdirSync(dir).join(' ') : '(no directory)'}; starting again`);
      rmSync(dir, { recursive: true, force: true });
      continue;
    }
    started1 = true;

    let step = -1;
    let bestRecorded: number | undefined;
    try {
      const checkpoint = readCheckpoint(latest);
      step = checkpoint.training.step;
      bestRecorded = checkpoint.run.bestSmoothLoss;
      figures.checkpointsVerified++;
    } catch (error) {
      figures.unreadable++;
      fail(`kill ${kill} (${moment}): latest.safetensors does not load: ${(error as Error).message}`);
    }
    if (existsSync(best)) {
      try {
        const checkpoint = readCheckpoint(best);
        figures.checkpointsVerified++;
        const smooth = checkpoint.training.smoothLoss;
        if (bestRecorded !== undefined && smooth !== undefined && smooth > bestRecorded) {
          fail(`kill ${kill}: best.safetensors (smooth loss ${smooth}) is worse than the best latest records (${bestRecorded})`);
        }
      } catch (error) {
        figures.unreadable++;
        fail(`kill ${kill} (${moment}): best.safetensors does not load: ${(error as Error).message}`);
      }
    }
    if (step >= 0) {
      if (step < previousStep) fail(`kill ${kill}: the step went back from ${previousStep} to ${step}`);
      if (step > previousStep) figures.progressed++;
      if (figures.firstStep === 0) figures.firstStep = step;
      previousStep = Math.max(previousStep, step);
      figures.lastStep = step;
    }
    log(`kill ${kill} (${moment}): ${isResume ? 'resume' : 'first run'} printed ${result.events} events; latest at step ${step}; temp files ${temps.length}`);
  }

  // The last resume runs to completion, and the run's files read as one run.
  if (started1) {
    const env = { ...process.env, RNN_NATIVE_BACKEND: '' };
    const target = previousStep + 100;
    const final = spawnSync(process.execPath, [cli, 'train', '--resume', dir, '--steps', String(target), '--json'], { encoding: 'utf8', env, timeout: 60_000 });
    try {
      figures.finalResumeOk = final.status === 0 && readCheckpoint(path.join(dir, 'latest.safetensors')).training.step === target;
    } catch (error) {
      fail(`final resume: ${(error as Error).message}`);
    }
    if (!figures.finalResumeOk) fail(`final resume to step ${target}: exit ${final.status}: ${final.stderr.trim()}`);
    const rows = readFileSync(path.join(dir, 'loss.csv'), 'utf8').split('\n').filter(Boolean);
    const steps = rows.slice(1).map((row) => Number(row.split(',')[0]));
    const increasing = steps.every((s, i) => Number.isInteger(s) && (i === 0 || s > steps[i - 1]));
    figures.lossCsvOk = rows[0] === 'step,epoch,loss,smooth_loss,elapsed_s' && increasing && rows.slice(1).every((row) => row.split(',').length === 5);
    if (!figures.lossCsvOk) fail('loss.csv does not read as one run (header, then strictly increasing steps, 5 fields a row)');
    const temps = readdirSync(dir).filter((name) => name.startsWith('.') && name.endsWith('.tmp'));
    figures.tempFiles = temps.length;
    figures.tempFileNames = temps;
  } else {
    fail('no kill left a checkpoint to resume from');
  }
  if (figures.unreadable > 0) fail(`${figures.unreadable} unreadable checkpoint files`);
  figures.seconds = (Date.now() - started) / 1000;
  if (!options.keep && options.work === undefined) rmSync(work, { recursive: true, force: true });
  return figures;
}
