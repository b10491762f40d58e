// Checkpoints: the whole training state in one safetensors file that Python's safetensors can
// open. Tensors: U, W, V, b, c, their AdaGrad accumulators ("adagrad.U" ...) and the hidden state
// "h", all F32 (native backend) or all F64 (ts backend). __metadata__ (strings) holds the rest.
import { Vocabulary } from './corpus';
import { UserError } from './errors';
import { readUserFile, writeFileAtomic } from './files';
import { makeLayout } from './layout';
import { decodeSafetensors, encodeSafetensors, Tensor } from './safetensors';
import { ModelConfig, rowsOf, savedValue } from './config';
import { TrainingState } from './trainer';

export const CHECKPOINT_FORMAT = 'rnn-native-checkpoint';
export const CHECKPOINT_VERSION = 1;

/** What a checkpoint holds besides the training state. */
export interface RunRecord {
  /** SHA-256 of the training text's UTF-8 bytes. */
  corpusSha256: string;
  corpusCharacters: number;
  /** Lowest smooth loss at a checkpoint so far. */
  bestSmoothLoss: number | undefined;
  /** Training time so far, over every resume. */
  elapsedSeconds: number;
}

export interface Checkpoint {
  training: TrainingState;
  run: RunRecord;
}

export function encodeCheckpoint({ training, run }: Checkpoint): Buffer {
  const { hidden } = training.config;
  const layout = makeLayout(hidden, training.vocabulary.length);
  const dtype = training.params instanceof Float32Array ? 'F32' : 'F64';
  const tensors: Record<string, Tensor> = {};
  for (const [prefix, flat] of [['', training.params], ['adagrad.', training.accum]] as const) {
    for (const { name, shape, offset, length } of layout.parameters) {
      tensors[prefix + name] = { dtype, shape: [...shape], data: flat.subarray(offset, offset + length) };
    }
  }
  tensors.h = { dtype, shape: [hidden], data: training.state };
  const metadata: Record<string, string> = {
    format: CHECKPOINT_FORMAT,
    format_version: String(CHECKPOINT_VERSION),
    config: JSON.stringify(training.config),
    vocabulary: JSON.stringify(training.vocabulary),
    step: String(training.step),
    epoch: String(training.epoch),
    position: String(training.position),
    smooth_loss: JSON.stringify(training.smoothLoss ?? null),
    last_loss: JSON.stringify(training.lastLoss ?? null),
    best_smooth_loss: JSON.stringify(run.bestSmoothLoss ?? null),
    rng_state: JSON.stringify(Array.from(training.rngState)),
    corpus_sha256: run.corpusSha256,
    corpus_characters: String(run.corpusCharacters),
    elapsed_seconds: String(run.elapsedSeconds),
    created_by: `rnn-native ${require('../package.json').version}`,
  };
  return encodeSafetensors(tensors, metadata);
}

export function writeCheckpoint(file: string, checkpoint: Checkpoint): void {
  writeFileAtomic(file, encodeCheckpoint(checkpoint));
}

export function readCheckpoint(file: string): Checkpoint {
  return decodeCheckpoint(readUserFile(file), file);
}

export function decodeCheckpoint(bytes: Uint8Array, source: string): Checkpoint {
  const { tensors, metadata } = decodeSafetensors(bytes, source);
  const fail = (reason: string): never => {
    throw new UserError(`${source}: not an rnn-native checkpoint: ${reason}`);
  };
  if (metadata.format !== CHECKPOINT_FORMAT) fail('its metadata has no "format": "rnn-native-checkpoint"');
  if (metadata.format_version !== String(CHECKPOINT_VERSION)) {
    fail(`format version ${metadata.format_version} is not supported (this is version ${CHECKPOINT_VERSION})`);
  }
  const json = (key: string): unknown => {
    if (metadata[key] === undefined) fail(`metadata "${key}" is missing`);
    try {
      return JSON.parse(metadata[key]);
    } catch {
      return fail(`metadata "${key}" is not JSON`);
    }
  };
  const count = (key: string, min: number): number => {
    const v = json(key);
    if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < min) fail(`metadata "${key}" must be an integer ≥ ${min}`);
    return v as number;
  };
  const optionalNumber = (key: string): number | undefined => {
    const v = json(key);
    if (v !== null && (typeof v !== 'number' || !Number.isFinite(v))) fail(`metadata "${key}" must be a finite number or null`);
    return v === null ? undefined : (v as number);
  };

  const vocabulary = Vocabulary.parse(json('vocabulary'), source).symbols;
  const config = parseConfig(json('config'), fail);
  const rngState = json('rng_state');
  if (!Array.isArray(rngState) || rngState.length !== 4 || !rngState.every((w) => Number.isInteger(w) && w >= 0 && w <= 0xffffffff) || rngState.every((w) => w === 0)) {
    fail('metadata "rng_state" must be 4 unsigned 32-bit words, not all zero');
  }
  const corpusSha256 = metadata.corpus_sha256;
  if (!/^[0-9a-f]{64}$/.test(corpusSha256 ?? '')) fail('metadata "corpus_sha256" must be 64 hex digits');
  const elapsedSeconds = optionalNumber('elapsed_seconds');
  if (elapsedSeconds === undefined || elapsedSeconds < 0) fail('metadata "elapsed_seconds" must be a number ≥ 0');

  const tensorsOf = readTensors(tensors, config.hidden, vocabulary.length, fail);
  const step = count('step', 0);
  const epoch = count('epoch', 1);
  const position = count('position', 0);
  const corpusCharacters = count('corpus_characters', 1);
  const smoothLoss = optionalNumber('smooth_loss');
  // The data walk moves by seqLength from 0 and starts at most one epoch per update.
  if (position > corpusCharacters || position % config.seqLength !== 0) {
    fail(`metadata "position" ${position} is not a window start of a ${corpusCharacters}-character text`);
  }
  if (epoch > step + 1) fail(`metadata "epoch" ${epoch} is more than step + 1 = ${step + 1}`);
  if ((step === 0) !== (smoothLoss === undefined)) fail('metadata "smooth_loss" must be null exactly when "step" is 0');
  return {
    training: {
      config,
      vocabulary,
      step,
      epoch,
      position,
      smoothLoss,
      lastLoss: optionalNumber('last_loss'),
      rngState: Uint32Array.from(rngState as number[]),
      ...tensorsOf,
    },
    run: {
      corpusSha256,
      corpusCharacters,
      bestSmoothLoss: optionalNumber('best_smooth_loss'),
      elapsedSeconds: elapsedSeconds!,
    },
  };
}

/**
 * The checkpoint's "config": every model option of lib/config.ts, by the same rules as the command
 * line. An option newer than the file takes its default, which is the model the file was made with.
 */
function parseConfig(value: unknown, fail: (reason: string) => never): ModelConfig {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return fail('metadata "config" must be an object');
  const given = value as Record<string, unknown>;
  const config: Record<string, unknown> = {};
  for (const row of rowsOf('model')) {
    try {
      config[row.key] = savedValue(row, given[row.key], `config.${row.key}`);
    } catch (error) {
      if (!(error instanceof UserError)) throw error;
      fail(error.message);
    }
  }
  return config as ModelConfig;
}

/** The flat params / accum / state arrays, checking every tensor's dtype and shape. */
function readTensors(
  tensors: Record<string, Tensor>,
  hidden: number,
  vocab: number,
  fail: (reason: string) => never
): Pick<TrainingState, 'params' | 'accum' | 'state'> {
  const layout = makeLayout(hidden, vocab);
  const expected: Record<string, readonly number[]> = {};
  for (const { name, shape } of layout.parameters) expected[name] = shape;
  expected.h = [hidden];
  for (const { name, shape } of layout.parameters) expected[`adagrad.${name}`] = shape;
  const extra = Object.keys(tensors).filter((name) => !Object.hasOwn(expected, name));
  if (extra.length > 0) fail(`unexpected tensors: ${extra.join(', ')}`);
  const dtype = tensors.U?.dtype;
  if (dtype !== 'F32' && dtype !== 'F64') fail('tensor "U" must be F32 or F64');
  // Every shape is checked against the file's tensors before anything is allocated, so the
  // arrays below are no larger than the file.
  for (const [name, shape] of Object.entries(expected)) {
    const t = tensors[name];
    if (!t) fail(`tensor "${name}" is missing`);
    if (t.dtype !== dtype) fail(`tensor "${name}" is ${t.dtype}; every tensor must be ${dtype}`);
    if (t.shape.length !== shape.length || t.shape.some((d, i) => d !== shape[i])) {
      fail(`tensor "${name}" has shape [${t.shape}], expected [${shape}]`);
    }
    if (!t.data.every(Number.isFinite)) fail(`tensor "${name}" holds NaN or infinite values`);
    if (name.startsWith('adagrad.') && t.data.some((v) => v < 0)) fail(`tensor "${name}" holds negative values`);
  }
  const Flat = dtype === 'F32' ? Float32Array : Float64Array;
  const params = new Flat(layout.total);
  const accum = new Flat(layout.total);
  for (const { name, offset } of layout.parameters) {
    params.set(tensors[name].data, offset);
    accum.set(tensors[`adagrad.${name}`].data, offset);
  }
  return { params, accum, state: new Flat(tensors.h.data) };
}
