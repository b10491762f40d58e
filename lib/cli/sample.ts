// rnn-native sample: text from a checkpoint.
import { existsSync, lstatSync, realpathSync } from 'fs';
import path from 'path';
import { BackendChoice } from '../engine/backend';
import { UserError } from '../util/errors';
import { AtomicWriter } from '../util/files';
import { optionHelp, parseOptions } from '../util/options';
import { OptionSpecs } from '../util/option-values';
import { beamCheckpoint, sampleCheckpoint } from '../run/sample-checkpoint';
import { isRunsFile, modelCheckpoint, RUN_FILES } from '../run/run-dir';
import { exitCodeOf, note, printLine, stdout, warn } from '../util/output';
import { SEED_SPEC } from '../model/config';
import { DEFAULT_REPETITION_WINDOW, MAX_TEXT_LENGTH, RULE_SPECS } from '../engine/sampling';

const OPTIONS = {
  model: { kind: 'string', help: 'a checkpoint (.safetensors), or a run directory (its best.safetensors)' },
  length: { kind: 'integer', min: 1, max: 1e8, help: 'characters to generate (default 1000)' },
  temperature: { kind: 'number', min: 0, max: 100, help: 'softmax temperature, 0 = argmax (default 1)' },
  argmax: { kind: 'flag', help: 'always take the most likely character (temperature 0)' },
  prime: { kind: 'string', help: 'text that warms up the hidden state; the output starts with it' },
  seed: { ...SEED_SPEC, help: 'seed of the draws (default 42): same seed, same model, same text' },
  'top-k': { ...RULE_SPECS.topK, help: 'draw from the K most likely characters only (default 0: all)' },
  'top-p': { ...RULE_SPECS.topP, help: 'draw from the smallest most-likely set of probability ≥ P (default 1: all)' },
  'min-p': { ...RULE_SPECS.minP, help: 'drop characters less likely than P × the most likely (default 0)' },
  'repetition-penalty': { ...RULE_SPECS.repetitionPenalty, help: 'the logit of each character of the window ÷ X if positive, × X if negative (default 1: none)' },
  'repetition-window': { ...RULE_SPECS.repetitionWindow, help: `the last N characters the penalty looks at (default ${DEFAULT_REPETITION_WINDOW})` },
  stop: { kind: 'string', help: 'end each sample at the first occurrence of this text (included)' },
  beam: { kind: 'integer', min: 1, max: 1000, help: 'beam search of this width: the most likely continuation of --length (with --count, the N best), no draws' },
  count: { kind: 'integer', min: 1, max: 10000, help: 'independent samples, sample i with seed + i − 1, each under a line "--- sample i of N (seed S) ---" (default 1)' },
  json: { kind: 'flag', help: 'one JSON object: model, seed, and samples, an array of the texts' },
  backend: { kind: 'choice', choices: ['auto', 'native', 'wasm', 'ts'], help: 'native, wasm, ts, or auto (default)' },
  out: { kind: 'string', help: 'write the text to this file instead of stdout (a new file, unless --force)' },
  force: { kind: 'flag', help: "let --out replace an existing regular file (never the model, nor a run's file)" },
} satisfies OptionSpecs;

export async function sampleCommand(argv: string[]): Promise<number> {
  const o = parseOptions(argv, OPTIONS);
  if (o.help) {
    printLine(`usage: rnn-native sample --model FILE|DIR [options]\n\n${optionHelp(OPTIONS)}`);
    return 0;
  }
  if (o.model === undefined) throw new UserError('--model is required: a checkpoint file or a run directory');
  if (o.argmax && o.temperature !== undefined) throw new UserError('use either --argmax or --temperature, not both');

  if (o.beam !== undefined) return beamCommand(o);
  const [count, seed, length] = [o.count ?? 1, o.seed ?? 42, o.length ?? 1000];
  if (o.json && count * length > MAX_TEXT_LENGTH) throw new UserError(`--json holds the samples in memory: --count × --length must be at most ${MAX_TEXT_LENGTH}`);
  if (!Number.isSafeInteger(seed + count - 1)) throw new UserError(`--seed ${seed} + --count ${count} − 1 must be a safe integer`);
  const model = checkpointPath(o.model);
  if (o.out !== undefined) checkOut(o.out, model, o.force ?? false);
  const drawOne = (i: number) =>
    sampleCheckpoint(model, {
      prime: o.prime,
      length,
      temperature: o.argmax ? 0 : (o.temperature ?? 1),
      seed: seed + i,
      backend: (o.backend ?? 'auto') as BackendChoice,
      rules: { topK: o['top-k'], topP: o['top-p'], minP: o['min-p'], repetitionPenalty: o['repetition-penalty'], repetitionWindow: o['repetition-window'] },
      stop: o.stop,
    });
  const first = drawOne(0);
  if (first.backend.warning) warn(first.backend.warning);
  const samples = (function* () {
    for (let i = 0; i < count; i++) yield i === 0 ? first : drawOne(i);
  })();
  if (o.json) {
    const texts = Array.from(samples, (sample) => Array.from(sample.pieces).join(''));
    const text = JSON.stringify({ model, seed, samples: texts });
    return o.out !== undefined ? writeToFile(o.out, [text]) : writeToStdout([text]);
  }
  const pieces = (function* () {
    let i = 0;
    for (const sample of samples) {
      if (count > 1) yield `${i > 0 ? '\n' : ''}--- sample ${i + 1} of ${count} (seed ${seed + i}) ---\n`;
      yield* sample.pieces;
      i++;
    }
  })();
  return o.out !== undefined ? writeToFile(o.out, pieces) : writeToStdout(pieces);
}

type SampleOptions = ReturnType<typeof parseOptions<typeof OPTIONS>>;

/** The draws' options, which beam search has no use for. */
const DRAW_ONLY = ['temperature', 'argmax', 'seed', 'top-k', 'top-p', 'min-p', 'repetition-penalty', 'repetition-window', 'stop'] as const;

/** sample --beam W: the most likely continuations, each with its log-probability. */
async function beamCommand(o: SampleOptions): Promise<number> {
  const given = DRAW_ONLY.filter((name) => o[name] !== undefined);
  if (given.length > 0) throw new UserError(`--beam searches for the most likely text and draws nothing: leave out --${given[0]}`);
  const [width, count, length] = [o.beam!, o.count ?? 1, o.length ?? 1000];
  if (count > width) throw new UserError(`--count ${count} is more beams than --beam ${width} keeps`);
  if (width * length > 1e7) throw new UserError(`--beam × --length must be at most 10,000,000 (each beam costs a step per character), got ${width * length}`);
  const model = checkpointPath(o.model!);
  if (o.out !== undefined) checkOut(o.out, model, o.force ?? false);
  const result = beamCheckpoint(model, { prime: o.prime, length, width, count, backend: (o.backend ?? 'auto') as BackendChoice });
  if (result.backend.warning) warn(result.backend.warning);
  const text = o.json
    ? JSON.stringify({ model, beam: width, beams: result.beams })
    : result.beams.map((beam, i) => `${count > 1 ? `${i > 0 ? '\n' : ''}--- beam ${i + 1} of ${count} (log p ${beam.logProb.toFixed(4)} nats) ---\n` : ''}${beam.text}`).join('');
  return o.out !== undefined ? writeToFile(o.out, [text]) : writeToStdout([text]);
}

/** The signal that asked sampling to stop, if one did (between pieces: a piece takes well under a second). */
function watchSignals(): { stopped: () => NodeJS.Signals | undefined; release: () => void } {
  let received: NodeJS.Signals | undefined;
  const onSignal = (signal: NodeJS.Signals) => (received = signal);
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  return {
    stopped: () => received,
    release: () => {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    },
  };
}

/** Each piece as it is drawn; a closed stdout (`sample | head`) stops with 141, a signal with 130 / 143. */
async function writeToStdout(pieces: Iterable<string>): Promise<number> {
  const signals = watchSignals();
  try {
    for (const piece of pieces) {
      await writeAndWait(piece);
      const stop = signals.stopped() ?? (stdout.closed ? 'SIGPIPE' : undefined);
      if (stop) return exitCodeOf(stop);
    }
    await writeAndWait('\n');
    return stdout.closed ? exitCodeOf('SIGPIPE') : 0;
  } finally {
    signals.release();
  }
}

/**
 * Writes to stdout and returns once the text is handed on (or stdout is closed): memory stays
 * bounded however fast pieces are drawn, and an EPIPE's 'error' event gets through (lib/cli.ts).
 */
function writeAndWait(text: string): Promise<void> {
  if (stdout.closed) return Promise.resolve();
  const out = process.stdout;
  if (out.write(text)) return new Promise((resolve) => setImmediate(resolve));
  return new Promise((resolve) => {
    const done = () => {
      out.off('drain', done);
      out.off('error', done);
      resolve();
    };
    out.on('drain', done);
    out.on('error', done);
  });
}

/** Pieces go to the temporary file of an atomic write: a failure or a signal leaves `out` as it was. */
async function writeToFile(out: string, pieces: Iterable<string>): Promise<number> {
  const signals = watchSignals();
  const file = AtomicWriter.open(out);
  try {
    for (const piece of pieces) {
      file.write(piece);
      await new Promise((resolve) => setImmediate(resolve));
      const signal = signals.stopped();
      if (signal) {
        file.abort();
        process.stderr.write(`rnn-native: stopped by ${signal}; ${out} was not written\n`);
        return exitCodeOf(signal);
      }
    }
    file.commit();
    return 0;
  } catch (error) {
    file.abort();
    throw error;
  } finally {
    signals.release();
  }
}

/**
 * --out never replaces what the user did not ask to replace: the model, a link, a device, a file
 * of a run directory (not even with --force), or an existing file without --force.
 */
function checkOut(out: string, model: string, force: boolean): void {
  let stat;
  try {
    stat = lstatSync(out);
  } catch {
    stat = undefined; // a new file
  }
  if (stat && !stat.isFile()) throw new UserError(`--out ${out}: exists and is not a regular file`);
  if (stat && existsSync(model) && realpathSync(out) === realpathSync(model)) throw new UserError(`--out ${out}: is the model itself`);
  const why = runFileReason(out);
  if (why) throw new UserError(`--out ${out}: ${why}; write the text to another file`);
  if (stat && !force) throw new UserError(`--out ${out}: exists; add --force to replace it`);
}

/** A directory that holds one of these is a run directory. */
const RUN_MARKERS = [...RUN_FILES, '.lock'];

/**
 * Why `out` is a file of a run directory (or a checkpoint), if it is one. New files count too:
 * a run directory's samples.txt or best.safetensors written by hand would be read as the run's.
 */
function runFileReason(out: string): string | undefined {
  const name = path.basename(out);
  if (name.endsWith('.safetensors')) return 'names a checkpoint (.safetensors)';
  if (!isRunsFile(name)) return undefined;
  let dir = path.dirname(path.resolve(out));
  try {
    dir = realpathSync(dir);
  } catch {
    return undefined; // no such directory: the write fails with its own message
  }
  const marker = RUN_MARKERS.find((file) => existsSync(path.join(dir, file)));
  return marker === undefined ? undefined : `is one of the run's files (its directory holds ${marker})`;
}

/** A run directory stands for its best.safetensors (or latest.safetensors, if no best yet, with a note). */
function checkpointPath(model: string): string {
  const { file, note: fallback } = modelCheckpoint(model);
  if (fallback) note(fallback);
  return file;
}
