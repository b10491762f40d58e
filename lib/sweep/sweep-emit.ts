// What runs a sweep elsewhere: a job list for GNU parallel (DIR/jobs.txt) and a Slurm job-array
// script (DIR/sweep.slurm). Each job is `sweep-task DIR INDEX` by the absolute node and cli.js that
// wrote it, so a job depends on no PATH and no working directory.
import path from 'path';
import { shellWord } from '../util/shell';
import { writeFileAtomic } from '../util/files';
import { UserError } from '../util/errors';
import { SweepFile } from './sweep';

export interface SlurmOptions {
  time: string;
  mem: string;
  cpus: number;
  partition?: string;
  /** At most this many tasks at once (the array's %N), if given. */
  jobs?: number;
}

/** The command of a task, its index left to the caller (a number, or $SLURM_ARRAY_TASK_ID). */
function taskCommand(dir: string, index: string): string {
  const cli = path.join(__dirname, '..', 'cli.js');
  return [process.execPath, cli, 'sweep-task', path.resolve(dir)].map(shellWord).join(' ') + ` ${index}`;
}

/** DIR/jobs.txt: one task per line; returns its path. */
export function writeJobList(dir: string, sweep: SweepFile): string {
  const file = path.join(dir, 'jobs.txt');
  writeFileAtomic(file, sweep.runs.map((run) => taskCommand(dir, String(run.index)) + '\n').join(''));
  return file;
}

/** Slurm's time formats: MINUTES, MINUTES:SECONDS, H:MM:SS, D-H, D-H:MM, D-H:MM:SS. */
export function checkSlurmTime(time: string): string {
  if (!/^(\d+(:\d{1,2}){0,2}|\d+-\d+(:\d{1,2}){0,2})$/.test(time)) {
    throw new UserError(`--slurm-time must be a Slurm time limit (MINUTES, H:MM:SS or D-H:MM:SS), got "${time}"`);
  }
  return time;
}

/** Slurm's memory per node: a whole number with an optional unit K, M, G or T (megabytes without). */
export function checkSlurmMem(mem: string): string {
  if (!/^[1-9]\d*[KMGT]?$/.test(mem)) throw new UserError(`--slurm-mem must be a size such as 500M or 2G, got "${mem}"`);
  return mem;
}

export function checkSlurmPartition(partition: string): string {
  if (!/^[\w.-]+(,[\w.-]+)*$/.test(partition)) throw new UserError(`--slurm-partition must be a partition name (or names, comma-separated), got "${partition}"`);
  return partition;
}

/**
 * DIR/sweep.slurm: a job array of one task per run, requeued when preempted (a task resumes its
 * run). `exec` makes node the job's process, so Slurm's SIGTERM (time limit, preemption, scancel)
 * reaches train, which checkpoints. Returns its path.
 */
export function writeSlurmScript(dir: string, sweep: SweepFile, options: SlurmOptions): string {
  const file = path.join(dir, 'sweep.slurm');
  const abs = path.resolve(dir);
  const last = sweep.runs.length - 1;
  const lines = [
    '#!/bin/bash',
    `#SBATCH --job-name=rnn-native-${path.basename(abs).replace(/[^\w.-]/g, '-')}`,
    `#SBATCH --array=0-${last}${options.jobs !== undefined ? `%${options.jobs}` : ''}`,
    `#SBATCH --time=${options.time}`,
    `#SBATCH --mem=${options.mem}`,
    `#SBATCH --cpus-per-task=${options.cpus}`,
    ...(options.partition !== undefined ? [`#SBATCH --partition=${options.partition}`] : []),
    '#SBATCH --requeue',
    '#SBATCH --open-mode=append',
    `#SBATCH --output=${shellWord(path.join(abs, 'slurm-%A_%a.out'))}`,
    `# Written by rnn-native sweep: one array task per run of ${abs}/sweep.json.`,
    `exec ${taskCommand(dir, '"$SLURM_ARRAY_TASK_ID"')}`,
    '',
  ];
  writeFileAtomic(file, lines.join('\n'));
  return file;
}
