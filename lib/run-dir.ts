// A run directory: config.json, loss.csv, samples.txt, latest.safetensors, best.safetensors.
import { closeSync, existsSync, mkdirSync, openSync, readdirSync, readFileSync, statSync, unlinkSync, writeFileSync, writeSync } from 'fs';
import path from 'path';
import { UserError } from './errors';
import { describeWriteError, writeFileAtomic } from './files';
import { readRunConfig, RunConfigFile } from './run-config';

export const LOSS_HEADER = 'step,epoch,loss,smooth_loss,elapsed_s';

export interface LossRow {
  step: number;
  epoch: number;
  loss: number;
  smoothLoss: number;
  elapsed: number;
}

const RUN_FILES = ['config.json', 'loss.csv', 'samples.txt', 'latest.safetensors', 'best.safetensors'];

export class RunDir {
  readonly configPath: string;
  readonly lossPath: string;
  readonly samplesPath: string;
  readonly latestPath: string;
  readonly bestPath: string;

  private constructor(readonly dir: string) {
    this.configPath = path.join(dir, 'config.json');
    this.lossPath = path.join(dir, 'loss.csv');
    this.samplesPath = path.join(dir, 'samples.txt');
    this.latestPath = path.join(dir, 'latest.safetensors');
    this.bestPath = path.join(dir, 'best.safetensors');
  }

  /** A new run: the directory is made if needed and must not hold a run already. */
  static create(dir: string): RunDir {
    if (existsSync(dir) && !statSync(dir).isDirectory()) throw new UserError(`--out ${dir}: exists and is not a directory`);
    const taken = RUN_FILES.filter((name) => existsSync(path.join(dir, name)));
    if (taken.length > 0) {
      const next = taken.includes('latest.safetensors')
        ? `resume it with --resume ${dir}`
        : 'it stopped before its first checkpoint, so there is nothing to resume: remove it';
      throw new UserError(`--out ${dir}: already holds a run (${taken.join(', ')}); ${next} or choose another --out`);
    }
    try {
      mkdirSync(dir, { recursive: true });
    } catch (error) {
      throw new UserError(`--out ${dir}: cannot create the directory (${describeWriteError(error as NodeJS.ErrnoException)})`);
    }
    return new RunDir(dir).lock();
  }

  /** An existing run, to resume. */
  static open(dir: string): RunDir {
    const run = new RunDir(dir);
    if (!existsSync(dir) || !statSync(dir).isDirectory()) throw new UserError(`--resume ${dir}: no such directory`);
    if (!existsSync(run.latestPath)) {
      throw new UserError(
        `--resume ${dir}: holds no latest.safetensors (the run stopped before its first checkpoint); remove it or start a new run`
      );
    }
    return run.lock().removeTemporaryFiles();
  }

  /**
   * Takes the directory for this process (DIR/.lock holds the pid; a lock of a process that is
   * gone is taken over), so two runs never write the same files. Released at exit.
   */
  private lock(): this {
    const lockPath = path.join(this.dir, '.lock');
    try {
      writeFileSync(lockPath, String(process.pid), { flag: 'wx' });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') {
        throw new UserError(`${this.dir}: cannot lock (${describeWriteError(error as NodeJS.ErrnoException)})`);
      }
      const owner = Number(readFileSync(lockPath, 'utf8'));
      if (Number.isSafeInteger(owner) && owner > 0 && owner !== process.pid && processAlive(owner)) {
        throw new UserError(`${this.dir}: in use by another rnn-native process (pid ${owner})`);
      }
      writeFileSync(lockPath, String(process.pid));
    }
    process.on('exit', () => {
      try {
        if (readFileSync(lockPath, 'utf8') === String(process.pid)) unlinkSync(lockPath);
      } catch {
        // already gone
      }
    });
    return this;
  }

  /** Temporary files of atomic writes that a killed process left (the lock says none is running). */
  private removeTemporaryFiles(): this {
    for (const name of readdirSync(this.dir)) {
      if (RUN_FILES.some((file) => name.startsWith(`.${file}.`) && name.endsWith('.tmp'))) unlinkSync(path.join(this.dir, name));
    }
    return this;
  }

  writeConfig(config: object): void {
    writeFileAtomic(this.configPath, JSON.stringify(config, null, 2) + '\n');
  }

  /** The saved configuration, checked (lib/run-config.ts); undefined when there is no config.json. */
  readConfig(): RunConfigFile | undefined {
    return readRunConfig(this.configPath);
  }

  appendLoss(row: LossRow): void {
    const header = existsSync(this.lossPath) ? '' : LOSS_HEADER + '\n';
    const line = [row.step, row.epoch, row.loss, row.smoothLoss, row.elapsed.toFixed(3)].join(',');
    append(this.lossPath, header + line + '\n');
  }

  appendSample(step: number, smoothLoss: number, text: string): void {
    append(this.samplesPath, `${sampleHeading(step, smoothLoss)}\n${text}\n\n`);
  }

  /**
   * On resume, drops what was logged after the checkpoint's step (a run killed between two
   * checkpoints logged updates that will now be done again), so the files read as one run.
   */
  truncateAfter(step: number): void {
    if (existsSync(this.lossPath)) {
      const lines = readFileSync(this.lossPath, 'utf8').split('\n').filter((line) => line !== '');
      const kept = lines.filter((line, i) => (i === 0 && line === LOSS_HEADER) || Number(line.split(',')[0]) <= step);
      writeFileAtomic(this.lossPath, kept.map((line) => line + '\n').join(''));
    }
    if (existsSync(this.samplesPath)) {
      const blocks = readFileSync(this.samplesPath, 'utf8').split(/^(?=--- step \d+, )/m);
      const kept = blocks.filter((block) => {
        const heading = /^--- step (\d+), /.exec(block);
        return !heading || Number(heading[1]) <= step;
      });
      if (kept.length !== blocks.length) writeFileAtomic(this.samplesPath, kept.join(''));
    }
  }
}

export function sampleHeading(step: number, smoothLoss: number): string {
  return `--- step ${step}, smooth loss ${smoothLoss.toFixed(3)} ---`;
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function append(file: string, text: string): void {
  let fd: number | undefined;
  try {
    fd = openSync(file, 'a');
    const bytes = Buffer.from(text, 'utf8');
    for (let written = 0; written < bytes.length; ) written += writeSync(fd, bytes, written);
  } catch (error) {
    throw new UserError(`${file}: could not write (${describeWriteError(error as NodeJS.ErrnoException)})`);
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}
