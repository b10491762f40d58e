// A run directory: config.json, loss.csv, val.csv (with validation), samples.txt,
// latest.safetensors, best.safetensors.
import { randomBytes } from 'crypto';
import { closeSync, constants, existsSync, fstatSync, linkSync, lstatSync, openSync, readdirSync, readFileSync, readSync, statSync, unlinkSync, writeFileSync, writeSync } from 'fs';
import path from 'path';
import { TRAINING_OPTIONS } from '../model/config';
import { UserError } from '../util/errors';
import { AtomicWriter, copyFileStart, describeReadError, describeWriteError, forEachLine, makeDirectory, openRegularFile, readUserFile, writeFileAtomic } from '../util/files';
import { warn } from '../util/output';
import { readRunConfig, RunConfigFile } from './run-config';
import { cutValRow, formatValRow, parseValCsv, VAL_HEADER, valCsvUpTo, ValRow } from './val-log';
import { processAlive } from '../util/processes';

export const LOSS_HEADER = 'step,epoch,loss,smooth_loss,elapsed_s';

export interface LossRow {
  step: number;
  epoch: number;
  loss: number;
  smoothLoss: number;
  elapsed: number;
}

export const RUN_FILES = ['config.json', 'loss.csv', 'val.csv', 'samples.txt', 'latest.safetensors', 'best.safetensors'];
/** Besides RUN_FILES, what `report` writes into a run directory. */
const REPORT_FILES = ['report.md', 'report.html', 'loss.svg', 'loss.png'];

/** A file a run or its report writes: a run file, the lock and its claims, or a temporary file of theirs. */
export function isRunsFile(name: string): boolean {
  return (
    RUN_FILES.includes(name) ||
    REPORT_FILES.includes(name) ||
    /^\.lock(\.\d+)?$/.test(name) ||
    /^\.lock-\d+-[0-9a-f]+\.tmp$/.test(name) ||
    [...RUN_FILES, ...REPORT_FILES].some((file) => name.startsWith(`.${file}.`) && name.endsWith('.tmp'))
  );
}

export class RunDir {
  readonly configPath: string;
  readonly lossPath: string;
  readonly valPath: string;
  readonly samplesPath: string;
  readonly latestPath: string;
  readonly bestPath: string;

  private constructor(readonly dir: string) {
    this.configPath = path.join(dir, 'config.json');
    this.lossPath = path.join(dir, 'loss.csv');
    this.valPath = path.join(dir, 'val.csv');
    this.samplesPath = path.join(dir, 'samples.txt');
    this.latestPath = path.join(dir, 'latest.safetensors');
    this.bestPath = path.join(dir, 'best.safetensors');
  }

  /** A new run: the directory is made if needed and must not hold a run already. */
  static create(dir: string): RunDir {
    if (existsSync(dir) && !statSync(dir).isDirectory()) throw new UserError(`--out ${dir}: exists and is not a directory`);
    const run = new RunDir(dir);
    const taken = RUN_FILES.filter((name) => existsSync(path.join(dir, name)));
    if (taken.length > 0) {
      run.refuseIfInUse();
      const foreign = run.notARun();
      if (foreign) throw new UserError(`--out ${dir}: holds ${foreign}; choose another --out`);
      const next = taken.includes('latest.safetensors')
        ? `resume it with --resume ${dir}`
        : run.withoutLatest('it stopped before its first checkpoint, so there is nothing to resume: remove it');
      throw new UserError(`--out ${dir}: already holds a run (${taken.join(', ')}); ${next} or choose another --out`);
    }
    run.refuseRunsFiles();
    makeDirectory(dir, `--out ${dir}`);
    return run.lock();
  }

  /**
   * Refuses a directory that holds a file a run or its report would write (report.md, loss.svg, a
   * .lock...): it is the user's or another run's, and a new run would overwrite or delete it.
   */
  private refuseRunsFiles(): void {
    if (!existsSync(this.dir)) return;
    const ours = readdirSync(this.dir).filter(isRunsFile);
    if (ours.length === 0) return;
    this.refuseIfInUse();
    throw new UserError(
      `--out ${this.dir}: holds ${ours.join(', ')}, which a run or its report would overwrite; move them or choose another --out`
    );
  }

  /** An existing run, to resume. */
  static open(dir: string): RunDir {
    const run = new RunDir(dir);
    if (!existsSync(dir) || !statSync(dir).isDirectory()) throw new UserError(`--resume ${dir}: no such directory`);
    if (!existsSync(run.latestPath)) {
      run.refuseIfInUse();
      const foreign = run.notARun();
      if (foreign) throw new UserError(`--resume ${dir}: holds no latest.safetensors, and ${foreign}: it is not a run to resume`);
      const why = existsSync(run.bestPath) ? '' : ' (the run stopped before its first checkpoint)';
      throw new UserError(`--resume ${dir}: holds no latest.safetensors${why}; ${run.withoutLatest('remove it')} or start a new run`);
    }
    run.refuseIrregularRunFiles();
    return run.lock().removeTemporaryFiles();
  }

  /** A run file that is a directory, a special file or unreadable is refused before anything is written. */
  private refuseIrregularRunFiles(): void {
    for (const name of RUN_FILES) {
      const file = path.join(this.dir, name);
      if (existsSync(file)) closeSync(openRegularFile(file).fd);
    }
  }

  /**
   * What to do with a run that has no latest.safetensors. Removing it is suggested only when it
   * holds nothing worth keeping (no best.safetensors, loss.csv or samples.txt): then it is `removal`.
   */
  private withoutLatest(removal: string): string {
    if (existsSync(this.bestPath)) {
      return (
        `to go on from its best checkpoint, copy best.safetensors to latest.safetensors and resume with --resume ${this.dir} ` +
        '(what was logged after that step is done again)'
      );
    }
    if ([this.lossPath, this.valPath, this.samplesPath].some((file) => existsSync(file))) return 'it has no checkpoint to resume from: keep it for its logs';
    return removal;
  }

  /**
   * Why a directory that advice would say to remove (it holds no checkpoint and no logs) is not
   * (only) a dead run: a config.json that is not a run's, or files a run does not write (named).
   */
  private notARun(): string | undefined {
    if ([this.latestPath, this.bestPath, this.lossPath, this.valPath, this.samplesPath].some((file) => existsSync(file))) return undefined;
    if (existsSync(this.configPath) && !isRunConfig(this.configPath)) return "a config.json of something else (not an rnn-native run's)";
    const others = readdirSync(this.dir).filter((name) => !isRunsFile(name));
    if (others.length === 0) return undefined;
    const named = others.slice(0, 5).join(', ') + (others.length > 5 ? `, and ${others.length - 5} more` : '');
    return `other files than a run's (${named})`;
  }

  /** Refuses a directory whose lock a live process holds (read only: nothing is taken or written). */
  private refuseIfInUse(): void {
    refuseIfLocked(path.join(this.dir, '.lock'), this.dir);
  }

  /**
   * Takes the directory for this process (DIR/.lock holds the pid; a lock of a process that is
   * gone, or a lock file that holds no pid, is taken over), so two runs never write the same
   * files. Released at exit. See takeLock for why two processes can never both hold it.
   */
  private lock(): this {
    holdLock(path.join(this.dir, '.lock'), this.dir);
    return this;
  }

  /** Gives up the directory before this process exits: its run ended (train --serve serves on). */
  release(): void {
    releaseLock(path.join(this.dir, '.lock'));
  }

  /** Temporary files of atomic writes that a killed process left (the lock says none is running). */
  private removeTemporaryFiles(): this {
    for (const name of readdirSync(this.dir)) {
      const file = path.join(this.dir, name);
      const temporary = RUN_FILES.some((run) => name.startsWith(`.${run}.`) && name.endsWith('.tmp'));
      if (temporary && lstatSync(file).isFile()) unlinkSync(file);
    }
    return this;
  }

  writeConfig(config: object): void {
    writeFileAtomic(this.configPath, JSON.stringify(config, null, 2) + '\n');
  }

  /** The saved configuration, checked (lib/run/run-config.ts); undefined when there is no config.json. */
  readConfig(): RunConfigFile | undefined {
    return readRunConfig(this.configPath, 'refuse');
  }

  /** A row of loss.csv; the header first when the file is new or empty (a run killed as it created it). */
  appendLoss(row: LossRow): void {
    const line = [row.step, row.epoch, row.loss, row.smoothLoss, row.elapsed.toFixed(3)].join(',');
    append(this.lossPath, line + '\n', LOSS_HEADER + '\n');
  }

  /** A row of val.csv, the header first when the file is new or empty. */
  appendVal(row: ValRow): void {
    append(this.valPath, formatValRow(row) + '\n', VAL_HEADER + '\n');
  }

  appendSample(step: number, smoothLoss: number, text: string): void {
    append(this.samplesPath, `${sampleRecordHeading(step, smoothLoss, Array.from(text).length)}\n${text}\n\n`);
  }

  /**
   * On resume, drops what was logged after the checkpoint's step (a run killed between two
   * checkpoints logged updates that will now be done again), so the files read as one run. With
   * the checkpoint's epoch and smooth loss, loss.csv's row of its step must hold the same.
   */
  truncateAfter(step: number, checkpoint?: CheckpointPoint): void {
    // Both files are read and checked before either is written: a refusal leaves both as they were.
    const writeLoss = existsSync(this.lossPath) ? this.lossUpTo(step, checkpoint) : undefined;
    const val = existsSync(this.valPath) ? this.valUpTo(step) : undefined;
    const samples = existsSync(this.samplesPath) ? this.samplesUpTo(step) : undefined;
    writeLoss?.();
    if (val !== undefined) writeFileAtomic(this.valPath, val);
    if (samples !== undefined) writeFileAtomic(this.samplesPath, samples);
  }

  /** val.csv up to `step`; a last row cut short is dropped, with a warning when it is not done again (as loss.csv's). */
  private valUpTo(step: number): string {
    const content = readUserFile(this.valPath).toString('utf8');
    const cut = cutValRow(content);
    if (cut?.step !== undefined && cut.step <= step) warn(`${this.valPath}: the row of step ${cut.step} was cut short (line ${cut.line}): dropped`);
    return valCsvUpTo(content, this.valPath, step);
  }

  /**
   * loss.csv is made to hold its header whatever it held (an empty or header-less file, from a run
   * killed as it created it or from an edit, is repaired, so no row is appended header-less), and
   * the rows of the checkpoint's step and before. A last line that a kill cut short is dropped (a
   * kill cuts a row after the checkpoint: rows are logged before the checkpoint of their step), with
   * a warning when its step is readable and not after the checkpoint's, as it is never logged again;
   * any other line up to the first row after the checkpoint that is not a row is refused, naming it.
   * Returns how to write it (undefined: it is right as it is); checking writes nothing. The file is
   * read as a stream, up to the first row after the checkpoint's step: rows past it are dropped unread.
   */
  private lossUpTo(step: number, checkpoint?: CheckpointPoint): (() => void) | undefined {
    const cut = findCutLossRow(this.lossPath);
    if (cut?.step !== undefined && cut.step <= step) {
      warn(`${this.lossPath}: the row of step ${cut.step} was cut short (line ${cut.line}): dropped`);
    }
    const size = statSync(this.lossPath).size;
    const kept = keptLossRows(this.lossPath, step, cut?.byteOffset ?? size);
    // The row of the checkpoint's step was logged from the state the checkpoint holds.
    const { last } = kept;
    if (checkpoint && last?.step === step && (last.epoch !== checkpoint.epoch || last.smoothLoss !== checkpoint.smoothLoss)) {
      throw new UserError(
        `${this.lossPath} and ${this.latestPath} are not of one run: at step ${step} loss.csv has epoch ${last.epoch}, smooth loss ${last.smoothLoss}; ` +
          `the checkpoint epoch ${checkpoint.epoch}, smooth loss ${checkpoint.smoothLoss}; one of them was edited or comes from another run`
      );
    }
    if (kept.asWritten && kept.bytes === size) return undefined;
    return () => {
      const writer = AtomicWriter.open(this.lossPath);
      if (kept.asWritten) copyFileStart(this.lossPath, kept.bytes, writer);
      else writeLossLines(this.lossPath, kept.lines, writer);
      writer.commit();
    };
  }

  /**
   * samples.txt keeps its samples of the checkpoint's step and before (undefined: no change). A last
   * sample cut short (a kill while writing it) is dropped: with a warning when its step is not done again.
   */
  private samplesUpTo(step: number): string | undefined {
    const content = readUserFile(this.samplesPath).toString('utf8');
    const { samples, cut } = readSampleRecords(content, this.samplesPath);
    if (cut?.step !== undefined && cut.step <= step) {
      warn(`${this.samplesPath}: the sample of step ${cut.step} was cut short (a run killed while writing it): dropped`);
    }
    const kept = samples.filter((sample) => sample.step <= step);
    if (kept.length === samples.length && cut === undefined) return undefined;
    return kept.map((sample) => content.slice(sample.start, sample.end)).join('');
  }
}

/**
 * Whether the evaluation of `step` was stopped before it ended: a run that validates, at a step
 * that evaluates (every evalEvery, the run's last, or one its checkpoint says is `owed`), without
 * its row in the run's val.csv (a stop during the pass writes the step's checkpoint without it).
 */
export function owesEvaluation(runDir: string, step: number, run: { valFraction: number; evalEvery: number; steps: number | undefined; owed?: boolean }): boolean {
  const evaluates = run.owed || step % run.evalEvery === 0 || step === run.steps;
  if (run.valFraction === 0 || step === 0 || !evaluates) return false;
  const valPath = path.join(runDir, 'val.csv');
  if (!existsSync(valPath)) return true;
  return !parseValCsv(readUserFile(valPath).toString('utf8'), valPath).some((row) => row.step === step);
}

/**
 * The evaluations in the run's val.csv since its lowest validation loss (an equal loss is no lower),
 * up to `step`: what --early-stop counts, taken from the run's history so that a stopped and
 * resumed run stops where it would have without the stop.
 */
export function validationsSinceBest(runDir: string, step: number): number {
  const valPath = path.join(runDir, 'val.csv');
  if (!existsSync(valPath)) return 0;
  let best = Infinity;
  let since = 0;
  for (const row of parseValCsv(readUserFile(valPath).toString('utf8'), valPath)) {
    if (row.step > step) break;
    since = row.valLoss < best ? 0 : since + 1;
    best = Math.min(best, row.valLoss);
  }
  return since;
}

/** A command's --model: a checkpoint file as it is, or a run directory's checkpoint (runCheckpointFile). */
export function modelCheckpoint(model: string): { file: string; note?: string } {
  return existsSync(model) && statSync(model).isDirectory() ? runCheckpointFile(model) : { file: model };
}

/**
 * The checkpoint a run directory stands for (sample, report): best.safetensors, else
 * latest.safetensors (a run stopped before its first best) with a note that says so; a UserError
 * when it has neither.
 */
export function runCheckpointFile(runDir: string): { file: string; note?: string } {
  const [best, latest] = [path.join(runDir, 'best.safetensors'), path.join(runDir, 'latest.safetensors')];
  if (existsSync(best)) return { file: best };
  if (!existsSync(latest)) {
    throw new UserError(`${runDir} holds no checkpoint yet (the run stopped before writing one, or it is no run directory)`);
  }
  return { file: latest, note: `${runDir} has no best.safetensors yet (the run stopped before its first): using latest.safetensors` };
}

/** A last line of loss.csv cut short: its line number, the byte where it starts, and its step when readable. */
export interface CutLossRow {
  line: number;
  byteOffset: number;
  step: number | undefined;
}

/**
 * The last line of loss.csv when a kill cut it short while it was appended (no newline after it).
 * Reads only that line (and, when it is cut short, counts the lines before it): logs are long.
 */
export function findCutLossRow(file: string): CutLossRow | undefined {
  const { fd, stat } = openRegularFile(file);
  try {
    const start = lastLineStart(fd, stat.size);
    if (start === undefined) return undefined;
    const bytes = Buffer.alloc(stat.size - start);
    readSync(fd, bytes, 0, bytes.length, start);
    const line = bytes.toString('utf8').replace(/\r$/, '');
    if (!isCutLossLine(line)) return undefined;
    const step = /^(\d+),/.exec(line);
    return { line: countNewlines(fd, start) + 1, byteOffset: start, step: step ? Number(step[1]) : undefined };
  } catch (error) {
    if (error instanceof UserError) throw error;
    throw new UserError(`${file}: ${describeReadError(error as NodeJS.ErrnoException)}`);
  } finally {
    closeSync(fd);
  }
}

const TAIL_CHUNK = 1 << 16;

/** Where the last line starts when no newline ends the file; undefined for an empty file or one that ends in a newline. */
function lastLineStart(fd: number, size: number): number | undefined {
  const chunk = Buffer.alloc(TAIL_CHUNK);
  for (let end = size; end > 0; end -= TAIL_CHUNK) {
    const from = Math.max(0, end - TAIL_CHUNK);
    readSync(fd, chunk, 0, end - from, from);
    const newline = chunk.subarray(0, end - from).lastIndexOf(10);
    if (end === size && newline === end - from - 1) return undefined;
    if (newline >= 0) return from + newline + 1;
  }
  return size === 0 ? undefined : 0;
}

function countNewlines(fd: number, upTo: number): number {
  const chunk = Buffer.alloc(1 << 20);
  let count = 0;
  for (let from = 0, read = 1; from < upTo && read > 0; from += read) {
    read = readSync(fd, chunk, 0, Math.min(chunk.length, upTo - from), from);
    for (let at = chunk.indexOf(10); at >= 0 && at < read; at = chunk.indexOf(10, at + 1)) count++;
  }
  return count;
}

/** The rows of loss.csv a resume keeps: through line `lines`, the first `bytes` bytes; asWritten when those bytes are what it writes. */
/** What a checkpoint holds of the row loss.csv logged at its step. */
interface CheckpointPoint {
  epoch: number;
  smoothLoss: number | undefined;
}

interface KeptLossRows {
  lines: number;
  bytes: number;
  asWritten: boolean;
  /** The last row kept. */
  last?: LossRow;
}

/**
 * Checks loss.csv's lines before byte `end` up to its first row after `step` (lossUpTo's rules) and
 * says which it keeps. A line that is not a row is refused at once; steps that do not increase are
 * refused after the scan, so that a damaged line is named first.
 */
function keptLossRows(file: string, step: number, end: number): KeptLossRows {
  const kept: KeptLossRows = { lines: 0, bytes: 0, asWritten: true };
  let blankSince: number | undefined;
  let previous: number | undefined;
  let orderError: UserError | undefined;
  const row = (line: string, number: number): LossRow => {
    try {
      return parseLossRow(line, `${file}: line ${number}`);
    } catch (error) {
      throw error instanceof UserError ? new UserError(`${error.message}; correct or remove that line, then resume`) : error;
    }
  };
  forEachLine(
    file,
    ({ text, number, end: lineEnd, terminated }) => {
      const line = text.replace(/\r$/, '');
      if (line === '') {
        blankSince ??= number;
        return true;
      }
      if (blankSince !== undefined) row('', blankSince);
      if (number === 1 && line === LOSS_HEADER) {
        Object.assign(kept, { lines: 1, bytes: lineEnd, asWritten: line === text && terminated });
        return true;
      }
      const parsed = row(line, number);
      const rowStep = parsed.step;
      if (previous !== undefined && rowStep <= previous) {
        orderError ??= new UserError(`${file}: line ${number}: step ${rowStep} does not follow step ${previous}; correct or remove that line, then resume`);
      }
      previous = rowStep;
      if (rowStep > step) return false;
      Object.assign(kept, { lines: number, bytes: lineEnd, asWritten: kept.asWritten && number > 1 && line === text && terminated, last: parsed });
      return true;
    },
    end
  );
  if (orderError) throw orderError;
  if (kept.lines === 0) kept.asWritten = false;
  return kept;
}

/** Writes loss.csv's header and its lines 1 to `lines` that are rows, without carriage returns, to `writer`. */
function writeLossLines(file: string, lines: number, writer: AtomicWriter): void {
  let pending = [LOSS_HEADER];
  let length = 0;
  const flush = () => {
    writer.write(pending.map((line) => line + '\n').join(''));
    [pending, length] = [[], 0];
  };
  try {
    forEachLine(file, ({ text, number }) => {
      if (number > lines) return false;
      const line = text.replace(/\r$/, '');
      if (line === '' || (number === 1 && line === LOSS_HEADER)) return true;
      pending.push(line);
      length += line.length;
      if (length > 1 << 20) flush();
      return true;
    });
    flush();
  } catch (error) {
    writer.abort();
    throw error;
  }
}

/**
 * A last line of loss.csv that a kill cut short while it was appended: not a whole row, and a
 * start of the header or of a row (digits, signs, dots, exponents and at most five fields).
 */
function isCutLossLine(line: string): boolean {
  if (line.length < LOSS_HEADER.length && LOSS_HEADER.startsWith(line)) return true;
  if (!/^[\d.eE+-]*(,[\d.eE+-]*){0,4}$/.test(line)) return false;
  try {
    parseLossRow(line, '');
    return false;
  } catch {
    return true;
  }
}

const LOSS_NUMBER = '[+-]?(?:\\d+\\.?\\d*|\\.\\d+)(?:[eE][+-]?\\d+)?';
/** Five numbers, comma-separated: one match per row instead of a split and five (logs have millions of rows). */
const LOSS_ROW = new RegExp(`^(${LOSS_NUMBER}),(${LOSS_NUMBER}),(${LOSS_NUMBER}),(${LOSS_NUMBER}),(${LOSS_NUMBER})$`);

/** A row of loss.csv as train writes it; anything else is a UserError starting with `where` (file and line). */
export function parseLossRow(line: string, where: string): LossRow {
  const match = LOSS_ROW.exec(line);
  const [step, epoch, loss, smoothLoss, elapsed] = match ? [+match[1], +match[2], +match[3], +match[4], +match[5]] : [NaN, NaN, NaN, NaN, NaN];
  if (!(Number.isFinite(step) && Number.isFinite(epoch) && Number.isFinite(loss) && Number.isFinite(smoothLoss) && Number.isFinite(elapsed))) {
    throw new UserError(`${where}: expected five numbers (${LOSS_HEADER}), got ${quoteLine(line)}`);
  }
  if (!Number.isSafeInteger(step) || step < 1 || !Number.isSafeInteger(epoch) || epoch < 1 || elapsed < 0) {
    throw new UserError(`${where}: step and epoch must be integers ≥ 1 and elapsed_s ≥ 0, got ${quoteLine(line)}`);
  }
  return { step, epoch, loss, smoothLoss, elapsed };
}

/** A line of a file in a message: quoted, and shortened past 60 characters. */
export function quoteLine(line: string): string {
  return JSON.stringify(line.length > 60 ? line.slice(0, 60) + '…' : line);
}

/** config.json as every run writes it first: valid, with its text's SHA-256 and its start time. */
function isRunConfig(file: string): boolean {
  try {
    const config = readRunConfig(file, 'refuse');
    return typeof (config?.corpus as { sha256?: unknown } | undefined)?.sha256 === 'string' && typeof config?.created === 'string';
  } catch (error) {
    if (error instanceof UserError) return false;
    throw error;
  }
}

/** The heading of a sample as the CLI prints it. */
export function sampleHeading(step: number, smoothLoss: number): string {
  return `--- step ${step}, smooth loss ${smoothLoss.toFixed(3)} ---`;
}

// ---------------------------------------------------------------------------------------------
// samples.txt
//
// Each sample is "--- step N, smooth loss X, L characters ---\n" + text + "\n\n". The heading
// states the text's length in characters (code points), and a reader skips exactly that many:
// generated text that looks like a heading is never read as one. Runs written before the length
// was added have "--- step N, smooth loss X ---" headings; such a sample's text runs to the next
// heading line, as it always did. Report and resume both read the file with readSampleRecords.

export interface TrainingSample {
  step: number;
  smoothLoss: number;
  text: string;
}

/** A sample and where it is in the file's content (UTF-16 offsets), heading to blank line. */
export interface SampleRecord extends TrainingSample {
  start: number;
  end: number;
}

/** Where samples.txt stops being whole: a last sample cut short by a killed run. */
export interface CutSample {
  offset: number;
  /** Its step, when its heading is whole. */
  step: number | undefined;
}

/** The most characters a sample can have (--sample-length's limit): a heading stating more is damaged. */
const MAX_SAMPLE_LENGTH = (TRAINING_OPTIONS.find((row) => row.key === 'sampleLength') as { max: number }).max;
const SAMPLE_HEADING_BODY = '--- step (\\d+), smooth loss ([+-]?\\d+(?:\\.\\d*)?(?:[eE][+-]?\\d+)?)(?:, (\\d+) characters)? ---';
/** A heading at a given offset (sticky), and a heading anywhere at a line start (old-format samples end there). */
const HEADING_AT = new RegExp(`${SAMPLE_HEADING_BODY}(?:\\n|$)`, 'y');
const NEXT_HEADING = new RegExp(`^${SAMPLE_HEADING_BODY}$`, 'gm');

export function sampleRecordHeading(step: number, smoothLoss: number, characters: number): string {
  return `--- step ${step}, smooth loss ${smoothLoss.toFixed(3)}, ${characters} characters ---`;
}

/**
 * The samples of samples.txt in file order. A last sample cut short (a run killed while writing
 * it) is returned as `cut`; anything else that is not a sample is a UserError naming the offset.
 */
export function readSampleRecords(content: string, source: string): { samples: SampleRecord[]; cut?: CutSample } {
  const samples: SampleRecord[] = [];
  if (content.trim() === '') return { samples };
  for (let start = 0; start < content.length; ) {
    HEADING_AT.lastIndex = start;
    const heading = HEADING_AT.exec(content);
    if (!heading) {
      if (samples.length === 0 && !content.startsWith('---')) {
        throw new UserError(`${source}: does not start with a "--- step N, smooth loss X ---" line`);
      }
      // A heading cut short: the rest is one line that starts like a heading.
      const rest = content.slice(start);
      if (!rest.includes('\n') && (rest.startsWith('--- step ') || '--- step '.startsWith(rest))) {
        const readable = /^--- step (\d+),/.exec(rest);
        return { samples, cut: { offset: start, step: readable ? Number(readable[1]) : undefined } };
      }
      throw new UserError(`${source}: damaged at character offset ${start} (not a "--- step N, smooth loss X ---" line); correct it by hand`);
    }
    const step = Number(heading[1]);
    const smoothLoss = Number(heading[2]);
    const textStart = start + heading[0].length;
    const stated = heading[3] === undefined ? undefined : Number(heading[3]);
    if (!Number.isSafeInteger(step) || (stated !== undefined && stated > MAX_SAMPLE_LENGTH)) {
      throw new UserError(
        `${source}: damaged at character offset ${start}: the heading "${heading[0].trim()}" is impossible (a sample has at most ` +
          `${MAX_SAMPLE_LENGTH} characters); correct that heading or remove that sample by hand`
      );
    }
    const previous = samples[samples.length - 1];
    if (step < 1 || (previous !== undefined && step <= previous.step)) {
      const follows = previous === undefined ? 'steps start at 1' : `it does not follow step ${previous.step}`;
      throw new UserError(`${source}: the sample of step ${step} (character offset ${start}): ${follows}; correct its heading or remove it by hand`);
    }
    let textEnd: number;
    let end: number;
    if (stated !== undefined) {
      textEnd = skipCharacters(content, textStart, stated);
      if (textEnd + 2 > content.length) {
        refuseWholeSampleAfter(content, textStart, step, stated, source);
        return { samples, cut: { offset: start, step } };
      }
      if (content.slice(textEnd, textEnd + 2) !== '\n\n') {
        throw new UserError(
          `${source}: damaged: the sample of step ${step} is not ${stated} characters and a blank line; correct its heading or remove it by hand`
        );
      }
      end = textEnd + 2;
    } else {
      NEXT_HEADING.lastIndex = textStart;
      end = NEXT_HEADING.exec(content)?.index ?? content.length;
      textEnd = content.slice(textStart, end).endsWith('\n\n') ? end - 2 : end;
    }
    samples.push({ step, smoothLoss, text: content.slice(textStart, textEnd), start, end });
    start = end;
  }
  return { samples };
}

/**
 * A sample whose stated length runs past the end of the file is cut short only when nothing whole
 * follows its heading: a whole sample after it (a heading line after a blank line, its stated
 * characters and a blank line) means its heading claims too many characters, and dropping it as
 * cut would drop the samples after it. (config.json's sampleLength cannot bound it: a resume may
 * change --sample-length, so earlier samples can be longer.)
 */
function refuseWholeSampleAfter(content: string, textStart: number, step: number, stated: number, source: string): void {
  NEXT_HEADING.lastIndex = textStart;
  for (let next = NEXT_HEADING.exec(content); next !== null; next = NEXT_HEADING.exec(content)) {
    const length = next[3] === undefined ? undefined : Number(next[3]);
    const textEnd = length === undefined ? -1 : skipCharacters(content, next.index + next[0].length + 1, length);
    if (content.slice(next.index - 2, next.index) === '\n\n' && content.slice(textEnd, textEnd + 2) === '\n\n') {
      throw new UserError(
        `${source}: damaged: the heading of the sample of step ${step} claims ${stated} characters, but the whole sample of step ` +
          `${next[1]} follows at character offset ${next.index}; correct that heading by hand`
      );
    }
  }
}

/** The samples of samples.txt, for the report: a cut sample is an error too. */
export function parseSamples(content: string, source: string): TrainingSample[] {
  const { samples, cut } = readSampleRecords(content, source);
  if (cut !== undefined) throw cutSampleError(content, source, cut);
  return samples.map(({ step, smoothLoss, text }) => ({ step, smoothLoss, text }));
}

function cutSampleError(content: string, source: string, cut: CutSample): UserError {
  const which = cut.step !== undefined ? `the sample of step ${cut.step}` : 'a sample heading';
  const byte = Buffer.byteLength(content.slice(0, cut.offset), 'utf8');
  return new UserError(
    `${source}: ${which} is cut short at byte ${byte} (the run was killed while writing it); ` +
      `remove the cut end (truncate -s ${byte} ${source}) and try again`
  );
}

/** The offset `count` code points after `from`, or past the end when the content is shorter. */
function skipCharacters(content: string, from: number, count: number): number {
  let offset = from;
  for (let i = 0; i < count && offset <= content.length; i++) offset += content.codePointAt(offset)! > 0xffff ? 2 : 1;
  return offset;
}

// ---------------------------------------------------------------------------------------------
// The lock
//
// Why two processes never both hold DIR/.lock (fcntl/flock would die with their process, but Node
// has neither, so the lock is a file with a pid and a lock of a dead process must be taken over):
// - A lock file only appears whole: the pid is written to a file of this process's own, which is
//   then hard-linked as .lock; link fails when .lock exists, so of any number of processes
//   linking at once exactly one succeeds, and nobody ever reads a half-written lock. An empty or
//   garbage .lock was therefore left by something else and is stale, like one of a dead pid.
// - A stale .lock is removed only by the process that claims that very file: the claim is
//   `.lock.<its inode>`, taken the same way (so a claim left by a process killed while holding
//   it is taken over in turn). Holding the claim, the process checks that .lock is still that
//   inode and still stale, unlinks it, and links its own .lock like any newcomer: if a newcomer
//   was faster, the link fails and it backs off.
// - Between that check and the unlink nothing can replace .lock: its owner is dead, a newcomer's
//   link fails while it exists, and any other taker needs the same claim. A process that saw the
//   stale file long ago and claims it late finds another inode, or (a reused inode number) a
//   lock whose pid it re-reads and finds alive.

/**
 * Clears a run that has no checkpoint (stopped before its first one) for a new start in its
 * directory: the files a run writes, its temporary files and a lock its dead process left. A
 * run whose lock a live process holds is refused (UserError). For a caller that will write the
 * same run again (a sweep's task: runs are deterministic); train itself never removes a run.
 */
export function clearRunWithoutCheckpoint(dir: string): void {
  if (!existsSync(dir)) return;
  refuseIfLocked(path.join(dir, '.lock'), dir);
  if (existsSync(path.join(dir, 'latest.safetensors'))) throw new Error(`${dir} has a checkpoint: resume it`);
  for (const name of readdirSync(dir).filter(isRunsFile)) {
    const file = path.join(dir, name);
    if (lstatSync(file).isFile()) unlinkSync(file);
  }
}

/** Refuses `dir` when a live process holds lockPath (read only: nothing is taken or written). */
export function refuseIfLocked(lockPath: string, dir: string): void {
  const found = readLock(lockPath);
  if (found !== undefined && !isStale(found.pid)) throw inUseError(dir, { pid: found.pid!, file: lockPath });
}

/**
 * Takes lockPath for this process until it exits (the pid in the file; a lock of a process that is
 * gone is taken over, see above); a lock a live process holds is a UserError naming `dir`.
 */
export function holdLock(lockPath: string, dir: string): void {
  const holder = takeLock(lockPath);
  if (holder !== undefined) throw inUseError(dir, holder);
  process.on('exit', () => releaseLock(lockPath));
}

/** Removes lockPath when this process holds it (at exit, or when train --serve goes on serving a run that ended). */
export function releaseLock(lockPath: string): void {
  try {
    // Only the owner ever removes a lock of a live process, so this read and unlink cannot race.
    if (readFileSync(lockPath, 'utf8') === String(process.pid)) unlinkSync(lockPath);
  } catch {
    // already gone
  }
}

/** Who holds a lock: the pid (0: unknown, the lock kept changing) and the file that names it. */
interface LockHolder {
  pid: number;
  file: string;
}

/** "In use", and how to clear a lock that no rnn-native process holds (a pid reused by another program). */
function inUseError(dir: string, holder: LockHolder): UserError {
  const pid = holder.pid > 0 ? ` (pid ${holder.pid})` : '';
  return new UserError(
    `${dir}: in use by another rnn-native process${pid}; if no rnn-native process runs on ${dir}, remove ${holder.file} and try again`
  );
}

/** Takes lockPath for this process: undefined when taken, else who holds it. */
function takeLock(lockPath: string): LockHolder | undefined {
  const mine = `${lockPath}-${process.pid}-${randomBytes(6).toString('hex')}.tmp`;
  try {
    writeFileSync(mine, String(process.pid), { flag: 'wx' });
    try {
      return linkLock(lockPath, mine);
    } finally {
      unlinkSync(mine);
    }
  } catch (error) {
    if (error instanceof UserError) throw error;
    throw new UserError(`${path.dirname(lockPath)}: cannot lock (${describeWriteError(error as NodeJS.ErrnoException)})`);
  }
}

/** Links `mine` as `name`, taking over a stale `name`; undefined when linked, else who holds it. */
function linkLock(name: string, mine: string): LockHolder | undefined {
  for (let attempt = 0; attempt < 10; attempt++) {
    try {
      linkSync(mine, name);
      return undefined;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
    const found = readLock(name);
    if (found === undefined) continue; // released meanwhile
    if (!isStale(found.pid)) return { pid: found.pid!, file: name };
    const claim = `${name}.${found.inode}`;
    const claimHolder = linkLock(claim, mine);
    if (claimHolder !== undefined) return claimHolder; // another process is taking it over
    try {
      const now = readLock(name);
      if (now !== undefined && now.inode === found.inode && isStale(now.pid)) unlinkSync(name);
    } finally {
      unlinkSync(claim);
    }
  }
  return { pid: 0, file: name };
}

/**
 * The inode and pid of a lock file (pid undefined when it holds no pid); undefined when there is
 * none. A symbolic link, a directory or anything else than a file was not made by rnn-native:
 * it is a UserError saying so (it is never followed or taken over).
 */
function readLock(name: string): { inode: bigint; pid: number | undefined } | undefined {
  let fd: number;
  try {
    fd = openSync(name, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return undefined;
    if (code === 'ELOOP') throw notALockError(name, 'a symbolic link');
    throw error;
  }
  try {
    const stats = fstatSync(fd, { bigint: true });
    if (!stats.isFile()) throw notALockError(name, stats.isDirectory() ? 'a directory' : 'a special file');
    const text = readFileSync(fd, 'utf8');
    const pid = /^[1-9]\d{0,9}$/.test(text) ? Number(text) : undefined;
    return { inode: stats.ino, pid };
  } finally {
    closeSync(fd);
  }
}

function notALockError(name: string, what: string): UserError {
  return new UserError(`${name}: is ${what}, not a lock rnn-native made; if no rnn-native process runs on ${path.dirname(name)}, remove it and try again`);
}

/** A lock without a pid, of this process's pid (left by an earlier process), or of a dead process. */
function isStale(pid: number | undefined): boolean {
  return pid === undefined || pid === process.pid || !processAlive(pid);
}


/** Appends text to file; an empty (or new) file gets `header` first. */
function append(file: string, text: string, header = ''): void {
  let fd: number | undefined;
  try {
    fd = openSync(file, 'a');
    const bytes = Buffer.from((fstatSync(fd).size === 0 ? header : '') + text, 'utf8');
    for (let written = 0; written < bytes.length; ) written += writeSync(fd, bytes, written);
  } catch (error) {
    throw new UserError(`${file}: could not write (${describeWriteError(error as NodeJS.ErrnoException)})`);
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}
