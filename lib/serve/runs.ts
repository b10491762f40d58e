// The runs under the served directories, watched: each run directory (config.json) found by walking
// them (a sweep's runs, under its sweep.json, grouped), its loss.csv, val.csv and samples.txt read as
// they grow (lib/serve/tail.ts), and its state. Every change is an event for the page; a damaged or
// vanished file is read as what it holds now, never an error that stops the watch.
import { closeSync, constants, Dirent, fstatSync, lstatSync, openSync, readdirSync, readFileSync, realpathSync } from 'fs';
import path from 'path';
import { readSampleRecords } from '../run/run-dir';
import { processAlive } from '../util/processes';
import { FileTail, LineTail } from './tail';

export type RunState = 'training' | 'finished' | 'stopped' | 'failed' | 'not started';

export interface RunSample {
  step: number;
  smoothLoss: number;
  text: string;
}

/** What the page gets of a run. Loss rows are [step, epoch, loss, smooth_loss, elapsed_s]; val rows [step, epoch, val_loss, elapsed_s]. */
export interface RunView {
  /** "ROOT/RELATIVE/PATH": the index of its served directory, then its path inside it ('/'-separated). */
  id: string;
  /** Its path as shown: the served directory's name, then the path inside it. */
  name: string;
  /** The sweep it belongs to (its shown path), when it is under a sweep.json. */
  sweep: string | null;
  config: Record<string, unknown> | null;
  loss: number[][];
  val: number[][];
  sample: RunSample | null;
  state: RunState;
  /** Why the state is failed, or stopped. */
  why: string | null;
  checkpoints: string[];
}

export type RunEvent =
  | { type: 'run'; run: RunView }
  | { type: 'gone'; id: string }
  | { type: 'rows'; id: string; file: 'loss' | 'val'; reset: boolean; rows: number[][] }
  | { type: 'sample'; id: string; sample: RunSample | null }
  | { type: 'status'; id: string; state: RunState; why: string | null; config: Record<string, unknown> | null; checkpoints: string[] };

/** How deep below a served directory runs are looked for, and how many directories one walk visits at most. */
const MAX_DEPTH = 6;
const MAX_DIRECTORIES = 20000;
/** The most rows of a log kept for the page: past this, every other row is dropped (the last kept). */
export const MAX_ROWS = 8192;
/** A run whose .lock names a pid not alive here counts as training while loss.csv changed this recently. */
const RECENT_SECONDS = 120;
/** Text of samples.txt kept while a sample is incomplete; past this it is dropped (a damaged file). */
const MAX_PENDING_SAMPLE = 8 << 20;

export interface ServedRoot {
  /** As given on the command line. */
  given: string;
  /** Its real path (symbolic links resolved). */
  real: string;
}

class WatchedRun {
  readonly view: RunView;
  private readonly lossTail: LineTail;
  private readonly valTail: LineTail;
  private readonly sampleTail: FileTail;
  private pendingSample = '';
  private configStamp = '';

  constructor(
    readonly dir: string,
    id: string,
    name: string,
    sweep: string | null
  ) {
    this.view = { id, name, sweep, config: null, loss: [], val: [], sample: null, state: 'not started', why: null, checkpoints: [] };
    this.lossTail = new LineTail(path.join(dir, 'loss.csv'));
    this.valTail = new LineTail(path.join(dir, 'val.csv'));
    this.sampleTail = new FileTail(path.join(dir, 'samples.txt'));
  }

  /** Reads what changed; the events for it. */
  poll(): RunEvent[] {
    const events: RunEvent[] = [];
    const id = this.view.id;
    for (const [file, tail, columns] of [['loss', this.lossTail, 5], ['val', this.valTail, 4]] as const) {
      const { reset, lines } = tail.read();
      const rows = lines.map((line) => parseRow(line, columns)).filter((row): row is number[] => row !== undefined);
      if (reset) this.view[file] = [];
      this.view[file].push(...rows);
      while (this.view[file].length > MAX_ROWS) this.view[file] = thinned(this.view[file], file === 'loss' ? 3 : 2);
      if (reset || rows.length > 0) events.push({ type: 'rows', id, file, reset, rows });
    }
    const sample = this.readSample();
    if (sample !== undefined) events.push({ type: 'sample', id, sample });
    const before = JSON.stringify([this.view.state, this.view.why, this.configStamp, this.view.checkpoints]);
    this.readConfig();
    this.view.checkpoints = ['best', 'latest'].filter((name) => isFile(path.join(this.dir, `${name}.safetensors`)));
    Object.assign(this.view, this.state());
    if (JSON.stringify([this.view.state, this.view.why, this.configStamp, this.view.checkpoints]) !== before) {
      const { state, why, config, checkpoints } = this.view;
      events.push({ type: 'status', id, state, why, config, checkpoints });
    }
    return events;
  }

  /** The newest whole sample when it changed (null: samples.txt was emptied or removed), else undefined. */
  private readSample(): RunSample | null | undefined {
    const { reset, text } = this.sampleTail.read();
    if (reset) this.pendingSample = '';
    this.pendingSample += text;
    let newest: RunSample | undefined;
    // A second pass when the first found damage and started again at a later heading.
    for (let pass = 0; pass < 2 && text !== '' && this.pendingSample !== ''; pass++) {
      try {
        const { samples } = readSampleRecords(this.pendingSample, 'samples.txt');
        const last = samples[samples.length - 1];
        if (last) {
          newest = { step: last.step, smoothLoss: last.smoothLoss, text: last.text };
          this.pendingSample = this.pendingSample.slice(last.end);
        }
        break;
      } catch {
        // Damaged: start again at the last heading (or wait for the next one).
        const heading = this.pendingSample.lastIndexOf('\n--- step ');
        this.pendingSample = heading >= 0 ? this.pendingSample.slice(heading + 1) : '';
      }
    }
    if (this.pendingSample.length > MAX_PENDING_SAMPLE) this.pendingSample = '';
    if (newest) return (this.view.sample = newest);
    if (reset && this.view.sample !== null) return (this.view.sample = null);
    return undefined;
  }

  /** config.json, read again only when its bytes changed (it is small; a resume rewrites it). */
  /**
   * config.json when it changed: only a regular file of the run (no link, FIFO or device, which
   * could block or lead out of the served directory), at most MAX_CONFIG_BYTES, read when its
   * size or modification time changed.
   */
  private readConfig(): void {
    const file = path.join(this.dir, 'config.json');
    let stamp = '';
    let text = '';
    try {
      const stat = lstatSync(file);
      stamp = stat.isFile() && stat.size <= MAX_CONFIG_BYTES ? `${stat.size}:${stat.mtimeMs}:${stat.ino}` : 'not read';
      if (stamp === this.configStamp) return;
      if (stamp !== 'not read') text = readRegularFile(file);
    } catch {
      text = ''; // gone, or not readable: no options to show
    }
    if (stamp === this.configStamp) return;
    this.configStamp = stamp;
    try {
      const parsed: unknown = JSON.parse(text);
      this.view.config = typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed) ? (parsed as Record<string, unknown>) : null;
    } catch {
      this.view.config = null;
    }
  }

  /** Training while a live process holds .lock; else finished, stopped or failed as its files tell. */
  private state(): { state: RunState; why: string | null } {
    const lock = readLockPid(path.join(this.dir, '.lock'));
    const last = this.view.loss[this.view.loss.length - 1];
    if (last && !last.slice(2, 4).every(Number.isFinite)) return { state: 'failed', why: `the loss is not finite at step ${last[0]}` };
    if (lock !== undefined && lock > 0 && processAlive(lock)) return { state: 'training', why: null };
    if (lock !== undefined) {
      // A pid that is not alive here may be another machine's (a shared file system, a Slurm job): growing files say it trains.
      if (secondsSinceChange(path.join(this.dir, 'loss.csv')) < RECENT_SECONDS) return { state: 'training', why: `its .lock names pid ${lock}, which does not run on this machine, but loss.csv grows` };
      return { state: 'failed', why: 'its process ended without releasing .lock (killed or crashed)' };
    }
    if (!last) return { state: 'not started', why: null };
    const steps = Number(this.view.config?.steps);
    const validates = Number(this.view.config?.valFraction) > 0;
    if (Number.isFinite(steps) && last[0] >= steps) {
      if (validates && !this.view.val.some((row) => row[0] === last[0])) return { state: 'stopped', why: 'during its last evaluation' };
      return { state: 'finished', why: null };
    }
    const budget = Number(this.view.config?.time) > 0 || Number(this.view.config?.earlyStop) > 0;
    return { state: budget ? 'finished' : 'stopped', why: budget ? `at step ${last[0]}: by its budget or by a signal (the files do not tell)` : `at step ${last[0]}` };
  }
}

/**
 * Every other row, the last and the lowest (by `column`): what the server keeps of a log longer than
 * MAX_ROWS (the page thins its own copy by the same rule), so that memory and a new page's download
 * stay bounded and the best loss still shows.
 */
export function thinned(rows: number[][], column: number): number[][] {
  const lowest = rows.reduce((best, row, i) => (row[column] < rows[best][column] ? i : best), 0);
  return rows.filter((_, i) => i % 2 === 0 || i === rows.length - 1 || i === lowest);
}

/** A CSV row of `columns` numbers ("nan", "inf" read as non-finite); undefined for a header or damaged line. */
function parseRow(line: string, columns: number): number[] | undefined {
  const cells = line.split(',');
  if (cells.length !== columns) return undefined;
  const values = cells.map((cell) => (/^[+-]?(nan|inf(inity)?)$/i.test(cell.trim()) ? NaN : cell.trim() === '' ? NaN : Number(cell)));
  if (!Number.isSafeInteger(values[0]) || values[0] < 0) return undefined;
  return values;
}

/** The pid in a lock file: 0 when it holds none; undefined when there is no lock (a symbolic link is not one). */
function readLockPid(file: string): number | undefined {
  try {
    if (!lstatSync(file).isFile()) return undefined;
    const text = readFileSync(file, 'utf8');
    return /^[1-9]\d{0,9}$/.test(text) ? Number(text) : 0;
  } catch {
    return undefined;
  }
}

/** Seconds since a file last changed (Infinity when there is none). */
function secondsSinceChange(file: string): number {
  try {
    return (Date.now() - lstatSync(file).mtimeMs) / 1000;
  } catch {
    return Infinity;
  }
}

/** A config.json bigger than this is not a run's (they hold a few kilobytes): not read. */
const MAX_CONFIG_BYTES = 1 << 20;

/** A regular file's text, opened without following a link and without blocking (a FIFO swapped in after the lstat). */
function readRegularFile(file: string): string {
  const fd = openSync(file, constants.O_RDONLY | constants.O_NONBLOCK | constants.O_NOFOLLOW);
  try {
    const stat = fstatSync(fd);
    if (!stat.isFile() || stat.size > MAX_CONFIG_BYTES) return '';
    return readFileSync(fd, 'utf8');
  } finally {
    closeSync(fd);
  }
}

function isFile(file: string): boolean {
  try {
    return lstatSync(file).isFile();
  } catch {
    return false;
  }
}

/** A run directory or a sweep directory found by a walk. */
interface Found {
  dir: string;
  root: number;
  relative: string;
  /** The served directory's name, then the path inside it. */
  shown: string;
  sweep: string | null;
}

/** The run directories under a served directory: a directory with config.json is a run (not walked further); symbolic links are not followed. */
function findRuns(root: ServedRoot, index: number): Found[] {
  const found: Found[] = [];
  let visited = 0;
  const shown = (relative: string) => (relative === '' ? path.basename(root.given) || root.given : `${path.basename(root.given) || root.given}/${relative}`);
  const walk = (dir: string, relative: string, depth: number, sweep: string | null) => {
    if (++visited > MAX_DIRECTORIES) return;
    let entries: Dirent[];
    try {
      entries = readdirSync(dir, { withFileTypes: true });
    } catch {
      return;
    }
    const has = (name: string) => entries.some((entry) => entry.name === name && entry.isFile());
    if (has('config.json') || has('loss.csv')) {
      found.push({ dir, root: index, relative, shown: shown(relative), sweep });
      return;
    }
    const inSweep = has('sweep.json') ? shown(relative) : sweep;
    if (depth >= MAX_DEPTH) return;
    for (const entry of entries.sort((a, b) => a.name.localeCompare(b.name))) {
      if (!entry.isDirectory() || entry.name.startsWith('.') || entry.name === 'node_modules') continue;
      walk(path.join(dir, entry.name), relative === '' ? entry.name : `${relative}/${entry.name}`, depth + 1, inSweep);
    }
  };
  walk(root.real, '', 0, null);
  return found;
}

/** The served directories, each resolved to its real path (one that does not exist yet is watched until it does). */
export function servedRoots(dirs: string[]): ServedRoot[] {
  return dirs.map((given) => {
    let real: string;
    try {
      real = realpathSync(given);
    } catch {
      real = path.resolve(given);
    }
    return { given, real };
  });
}

export class RunWatcher {
  private readonly runs = new Map<string, WatchedRun>();
  private polls = 0;

  constructor(
    readonly roots: ServedRoot[],
    /** Walk the directories for new runs every this many polls. */
    private readonly walkEvery = 3
  ) {}

  /** Every run as the page gets it, in name order. */
  snapshot(): RunView[] {
    return [...this.runs.values()].map((run) => run.view).sort((a, b) => a.name.localeCompare(b.name));
  }

  /** One round: new and vanished runs (every walkEvery rounds, and the first), then each run's files. */
  poll(): RunEvent[] {
    const events: RunEvent[] = [];
    if (this.polls++ % this.walkEvery === 0) {
      const seen = new Set<string>();
      this.roots.forEach((root, index) => {
        for (const found of findRuns(root, index)) {
          const id = found.relative === '' ? String(index) : `${index}/${found.relative}`;
          seen.add(id);
          if (this.runs.has(id)) continue;
          const run = new WatchedRun(found.dir, id, found.shown, found.sweep);
          this.runs.set(id, run);
          run.poll();
          events.push({ type: 'run', run: run.view });
        }
      });
      for (const id of [...this.runs.keys()].filter((id) => !seen.has(id))) {
        this.runs.delete(id);
        events.push({ type: 'gone', id });
      }
    }
    for (const run of this.runs.values()) {
      if (events.some((event) => event.type === 'run' && event.run.id === run.view.id)) continue;
      events.push(...run.poll());
    }
    return events;
  }
}
