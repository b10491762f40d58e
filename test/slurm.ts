// The single-node Slurm cluster of scripts/slurm-local.sh for the tests, and the few client calls
// they make: submit a job array, watch its tasks, requeue one. There is no accounting daemon, so
// no sacct: task states come from `scontrol show job`, which keeps finished jobs for MinJobAge.
import { spawnSync } from 'child_process';
import { existsSync, readFileSync } from 'fs';
import path from 'path';

const SCRIPT = path.join(__dirname, '..', 'scripts', 'slurm-local.sh');
const SLURM_DIR = process.env.RNN_SLURM_DIR ?? '/var/tmp/rnn-native-slurm';
export const SLURM_CONF = path.join(SLURM_DIR, 'slurm.conf');

/** The environment the Slurm client commands (and the jobs they submit) need to find the cluster. */
export function slurmEnv(): NodeJS.ProcessEnv {
  return { ...process.env, SLURM_CONF };
}

const NEEDED = ['sbatch', 'squeue', 'scontrol', 'sinfo', 'slurmctld', 'slurmd', 'munged'];

/** The first Slurm or munge command not installed, or undefined when all are. */
export function missingSlurmCommand(): string | undefined {
  // The daemons are in /usr/sbin, which is not on a Debian user's PATH.
  const env = { ...process.env, PATH: `${process.env.PATH}:/usr/sbin:/sbin` };
  return NEEDED.find((name) => spawnSync('sh', ['-c', `command -v ${name}`], { env }).status !== 0);
}

/** The last lines of the daemons' logs, for failure messages. */
export function daemonLogTails(lines = 15): string {
  const logs = ['slurmctld.log', 'slurmd.log'].map((name) => path.join(SLURM_DIR, 'log', name));
  const tail = (log: string) => {
    try {
      return readFileSync(log, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
    } catch (error) {
      return `(unreadable: ${(error as Error).message})`; // the daemons' logs are root's
    }
  };
  return logs.filter((log) => existsSync(log)).map((log) => `--- tail of ${log}\n${tail(log)}`).join('\n');
}

/** Runs a Slurm command; its stdout, or an Error naming the command with its stderr and the daemon logs. */
function slurm(command: string, args: string[], timeoutMs = 30_000): string {
  const result = spawnSync(command, args, { env: slurmEnv(), encoding: 'utf8', timeout: timeoutMs });
  if (result.status !== 0) {
    const why = result.error ? String(result.error) : `exit ${result.status}: ${result.stderr.trim()}`;
    throw new Error(`${command} ${args.join(' ')} failed (${why})\n${daemonLogTails()}`);
  }
  return result.stdout;
}

function runScript(action: 'start' | 'stop' | 'status', timeoutMs: number) {
  // stdin is not a terminal, so a non-root user's sudo fails instead of asking for a password.
  return spawnSync('bash', [SCRIPT, action], {
    encoding: 'utf8',
    timeout: timeoutMs,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
}

export function clusterUp(): boolean {
  return runScript('status', 30_000).status === 0;
}

export interface LocalCluster {
  /** True when this process started the daemons (and stop() stops them again). */
  startedHere: boolean;
  stop(): void;
}

/** Starts the cluster unless it is up; stop() stops it only if it was started here. */
export function startCluster(): LocalCluster {
  const startedHere = !clusterUp();
  if (startedHere) {
    const result = runScript('start', 120_000);
    if (result.status !== 0) {
      throw new Error(`scripts/slurm-local.sh start failed (exit ${result.status}):\n${result.stdout}${result.stderr}`);
    }
  }
  return {
    startedHere,
    stop() {
      if (startedHere) runScript('stop', 60_000);
    },
  };
}

/** Skips the suite loudly when Slurm is not installed, else starts the cluster (stopped in after()). */
export function useLocalSlurm(suite: Mocha.Suite): void {
  let cluster: LocalCluster | undefined;
  suite.beforeAll(function () {
    const missing = missingSlurmCommand();
    if (missing) {
      console.warn(`SKIPPED: ${this.test?.parent?.fullTitle()}: Slurm (${missing}) not installed (apt-get install slurm-wlm munge)`);
      this.skip();
    }
    this.timeout(150_000);
    cluster = startCluster();
  });
  suite.afterAll(function () {
    this.timeout(60_000);
    cluster?.stop();
  });
}

/** Submits a batch script (a job array or not); its job id. */
export function submit(scriptPath: string, sbatchArgs: string[] = []): string {
  // --parsable prints "jobid" or "jobid;cluster".
  return slurm('sbatch', ['--parsable', ...sbatchArgs, scriptPath]).trim().split(';')[0];
}

export interface ArrayTask {
  task: number;
  /** Slurm's JobState: PENDING, RUNNING, COMPLETED, FAILED, ... */
  state: string;
  /** How many times the task was requeued. */
  restarts: number;
  exitCode: string;
}

const FINISHED = new Set(['COMPLETED', 'FAILED', 'CANCELLED', 'TIMEOUT', 'NODE_FAIL', 'OUT_OF_MEMORY', 'BOOT_FAIL', 'DEADLINE']);

/** Task ids of an ArrayTaskId field: "3", or "0-2" / "1,3-5%2" while tasks still wait together. */
function taskIds(field: string): number[] {
  const ids: number[] = [];
  for (const part of field.split('%')[0].split(',')) {
    const [first, last = first] = part.split('-').map(Number);
    for (let id = first; id <= last; id++) ids.push(id);
  }
  return ids;
}

/** The tasks of job array jobId and their states, by task id. */
export function arrayTasks(jobId: string): ArrayTask[] {
  const tasks: ArrayTask[] = [];
  for (const line of slurm('scontrol', ['show', 'job', '-o', jobId]).split('\n')) {
    const field = (name: string) => new RegExp(`(?:^| )${name}=(\\S*)`).exec(line)?.[1];
    const ids = field('ArrayTaskId');
    if (ids === undefined) continue;
    for (const task of taskIds(ids)) {
      tasks.push({
        task,
        state: field('JobState') ?? '?',
        restarts: Number(field('Restarts') ?? 0),
        exitCode: field('ExitCode') ?? '?',
      });
    }
  }
  return tasks.sort((a, b) => a.task - b.task);
}

const describeTasks = (tasks: ArrayTask[]) =>
  tasks.map((t) => `${t.task}:${t.state}(restarts ${t.restarts}, exit ${t.exitCode})`).join(' ');

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Polls until done(tasks) holds; after timeoutMs, an Error with the task states and the daemon logs. */
async function pollTasks(jobId: string, what: string, done: (tasks: ArrayTask[]) => boolean, timeoutMs: number) {
  const deadline = Date.now() + timeoutMs;
  let tasks = arrayTasks(jobId);
  while (!done(tasks)) {
    if (Date.now() > deadline) {
      throw new Error(`job ${jobId}: ${what} not reached after ${timeoutMs / 1000} s: ${describeTasks(tasks)}\n${daemonLogTails()}`);
    }
    await sleep(300);
    tasks = arrayTasks(jobId);
  }
  return tasks;
}

/** Polls until condition() holds; after timeoutMs, an Error saying what was waited for, with the daemon logs. */
export async function waitUntil(condition: () => boolean, what: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`${what}: not after ${timeoutMs / 1000} s\n${daemonLogTails()}`);
    await sleep(100);
  }
}

/** Waits until all `count` tasks of the array have finished (COMPLETED or failed); their states. */
export function waitForTasks(jobId: string, count: number, timeoutMs: number): Promise<ArrayTask[]> {
  const finished = (tasks: ArrayTask[]) => tasks.length === count && tasks.every((t) => FINISHED.has(t.state));
  return pollTasks(jobId, `all ${count} tasks finished`, finished, timeoutMs);
}

/** Waits until task `task` of the array is RUNNING. */
export async function waitForRunning(jobId: string, task: number, timeoutMs: number): Promise<void> {
  const running = (tasks: ArrayTask[]) => tasks.some((t) => t.task === task && t.state === 'RUNNING');
  await pollTasks(jobId, `task ${task} running`, running, timeoutMs);
}

/** Requeues a running task as a preemption would: Slurm sends it SIGTERM and runs it again later. */
export function requeueTask(jobId: string, task: number): void {
  slurm('scontrol', ['requeue', `${jobId}_${task}`]);
}

/** Cancels a job (all its tasks); for clean-up after a failed test. */
export function cancelJob(jobId: string): void {
  spawnSync('scancel', [jobId], { env: slurmEnv(), timeout: 30_000 });
}
