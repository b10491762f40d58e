// Checkpoints: the whole training state in one safetensors file that Python's safetensors can
// open, all F32 (native backend) or all F64 (ts backend); __metadata__ (strings) holds the rest.
// Version 2: each layer's "layers.l.Wx", "layers.l.Wh", "layers.l.b", then "V", "c"; the
// optimizer's state under its name ("adagrad.", "rmsprop.", "adam.v." and "adam.m." + the
// tensor's name); the B streams' states "state.h" (and for lstm "state.c"), [layer, stream, unit];
// and the streams' positions in the metadata. Version 1, the DD2424 configuration only, names the
// same tensors U, W, V, b, c (lib/model/version1-names.ts), "adagrad.U" ..., and "h"; a run that started from
// a version-1 file keeps writing version 1.
import { createHash } from 'crypto';
import { Vocabulary } from '../text/vocabulary';
import { UserError } from '../util/errors';
import { readUserFile, writeFileAtomic } from '../util/files';
import { note } from '../util/output';
import { modelShape } from '../engine/engine';
import { hasVersion1Names, PARAMETER_NAMES, VERSION1_TABLE_NAMES } from '../model/version1-names';
import { parameterTable } from '../model/reference';
import { heldOutLength, updatesPerEpoch } from '../model/stream-walk';
import { decodeSafetensors, encodeSafetensors, Tensor } from './safetensors';
import { MAX_STEPS, ModelConfig, rowsOf, savedValue } from '../model/config';
import { maxStepPerEta, OptimizerKind } from '../model/optimizers';
import { initialReach, InitScheme } from '../model/initialisation';
import { SavedState, secondMoment, TrainingState } from './training-state';
import { VERSION } from '../util/package';

export const CHECKPOINT_FORMAT = 'rnn-native-checkpoint';
/** The version a new run writes; a run that started from a version-1 file writes version 1. */
export const CHECKPOINT_VERSION = 2;

/**
 * The metadata key of the file's digest: SHA-256 (hex) of every byte of the file, with the 64
 * digits of this value read as "0"s. Files written before it have none (OLDER_METADATA_KEYS).
 */
const DIGEST_KEY = 'digest_sha256';
const DIGEST_DIGITS = 64;

/** The metadata key of a run started from a trained model's weights: their largest |value| (TrainingState.initialMaxWeight). */
const INITIAL_MAX_KEY = 'initial_max_weight';

/** The metadata keys of each writer before the digest: a file without one must have exactly one of these sets. */
const OLDER_METADATA_KEYS: readonly (readonly string[])[] = (() => {
  const first = ['format', 'format_version', 'config', 'vocabulary', 'step', 'epoch', 'position', 'smooth_loss', 'last_loss', 'best_smooth_loss', 'rng_state', 'corpus_sha256', 'corpus_characters', 'elapsed_seconds', 'created_by'];
  const withValidation = [...first, 'best_val_loss'];
  return [first, withValidation, [...withValidation, 'stream_positions']].map((keys) => [...keys].sort());
})();

/** What a checkpoint holds besides the training state. */
export interface RunRecord {
  /** SHA-256 of the training text's UTF-8 bytes. */
  corpusSha256: string;
  corpusCharacters: number;
  /** Characters trained on, when not the text without its last ⌊valFraction·N⌋ (a corpus of several documents holds out the end of each). */
  trainingCharacters?: number;
  /** Lowest smooth loss at a checkpoint so far. */
  bestSmoothLoss: number | undefined;
  /** Lowest validation loss so far (with --val-fraction), which then decides best.safetensors. */
  bestValLoss?: number;
  /** Training time so far, over every resume. */
  elapsedSeconds: number;
  /** The evaluation of the checkpoint's step was stopped before it ended: a resume does it first. */
  evaluationOwed?: boolean;
}

export interface Checkpoint {
  training: TrainingState;
  run: RunRecord;
  /** How the file's integrity was checked: its digest, or none (a file written before digests). */
  integrity?: 'sha256' | 'none';
}

/** What a checkpoint is written from: a training state whose second moment may go by its deprecated name. */
export type CheckpointInput = { training: SavedState; run: RunRecord };

export function encodeCheckpoint({ training, run }: CheckpointInput): Buffer {
  const dtype = training.params instanceof Float32Array ? 'F32' : 'F64';
  const version = checkedVersion(training, 'writeCheckpoint');
  const tensors: Record<string, Tensor> = {};
  for (const { name, shape, offset, length, of } of tensorTable(training.config, training.vocabulary.length, version)) {
    tensors[name] = { dtype, shape, data: flatOf(training, of).subarray(offset, offset + length) };
  }
  const metadata: Record<string, string> = {
    format: CHECKPOINT_FORMAT,
    format_version: String(version),
    // The model's options only (a Trainer's config also holds its backend, which is no part of the model).
    config: JSON.stringify(Object.fromEntries(rowsOf('model').filter((row) => row.key in training.config).map((row) => [row.key, (training.config as unknown as Record<string, unknown>)[row.key]]))),
    vocabulary: JSON.stringify(training.vocabulary),
    step: String(training.step),
    epoch: String(training.epoch),
    position: String(training.position),
    ...(version === 2 ? { stream_positions: JSON.stringify(streamPositions(training.config, trainingLength(training.config, run), training.position)) } : {}),
    smooth_loss: JSON.stringify(training.smoothLoss ?? null),
    last_loss: JSON.stringify(training.lastLoss ?? null),
    best_smooth_loss: JSON.stringify(run.bestSmoothLoss ?? null),
    best_val_loss: JSON.stringify(run.bestValLoss ?? null),
    ...(run.evaluationOwed ? { evaluation_owed: 'true' } : {}),
    rng_state: JSON.stringify(Array.from(training.rngState)),
    corpus_sha256: run.corpusSha256,
    corpus_characters: String(run.corpusCharacters),
    ...(run.trainingCharacters !== undefined ? { training_characters: String(run.trainingCharacters) } : {}),
    elapsed_seconds: String(run.elapsedSeconds),
    created_by: `rnn-native ${VERSION}`,
    ...(training.initialMaxWeight !== undefined ? { [INITIAL_MAX_KEY]: JSON.stringify(training.initialMaxWeight) } : {}),
    [DIGEST_KEY]: '0'.repeat(DIGEST_DIGITS),
  };
  const bytes = encodeSafetensors(tensors, metadata);
  const at = digestOffset(bytes)!;
  bytes.write(fileDigest(bytes, at), at, 'latin1');
  return bytes;
}

/** Where the digest's digits start in a file's bytes: undefined unless its key stands once in the header. */
function digestOffset(bytes: Uint8Array): number | undefined {
  const headerEnd = 8 + Number(Buffer.from(bytes.buffer, bytes.byteOffset, 8).readBigUInt64LE(0));
  const header = Buffer.from(bytes.buffer, bytes.byteOffset + 8, headerEnd - 8);
  // JSON escapes every quote inside a string value: the key's quoted form is the key itself.
  const key = Buffer.from(`"${DIGEST_KEY}":"`);
  const first = header.indexOf(key);
  if (first < 0 || header.indexOf(key, first + 1) >= 0) return undefined;
  return 8 + first + key.length;
}

/** SHA-256 of the bytes with the digest's digits at `at` read as "0"s. */
function fileDigest(bytes: Uint8Array, at: number): string {
  return createHash('sha256')
    .update(bytes.subarray(0, at))
    .update('0'.repeat(DIGEST_DIGITS))
    .update(bytes.subarray(at + DIGEST_DIGITS))
    .digest('hex');
}

/**
 * Checks the digest of a decoded file: 'sha256' when it matches; 'none' for a file of a writer
 * before digests (its metadata keys exactly one of theirs); anything else fails.
 */
function checkDigest(bytes: Uint8Array, metadata: Record<string, string>, fail: (reason: string) => never): 'sha256' | 'none' {
  const stored = metadata[DIGEST_KEY];
  if (stored === undefined) {
    const keys = JSON.stringify(Object.keys(metadata).sort());
    // rnn-native 0.5.0 and later always write one: such a file without it had it removed.
    const writer = /^rnn-native (\d+)\.(\d+)\./.exec(metadata.created_by ?? '');
    if (writer && (Number(writer[1]) > 0 || Number(writer[2]) >= 5)) {
      return fail(`its metadata has no "${DIGEST_KEY}", which ${metadata.created_by} always writes: the file is damaged or edited`);
    }
    if (OLDER_METADATA_KEYS.some((older) => JSON.stringify(older) === keys)) return 'none';
    return fail(`its metadata has no "${DIGEST_KEY}" but is not that of an older rnn-native either: the file is damaged`);
  }
  const at = digestOffset(bytes);
  if (at === undefined || !/^[0-9a-f]{64}$/.test(stored) || fileDigest(bytes, at) !== stored) {
    return fail('its contents do not match its digest: the file is damaged (a disk or copy error, or an edit)');
  }
  return 'sha256';
}

/** The version a state asks to be written as: 1 (the DD2424 configuration only) or 2, the default; a UserError otherwise. */
export function checkedVersion(training: Pick<TrainingState, 'checkpointVersion' | 'config'>, what: string): 1 | 2 {
  const version = training.checkpointVersion ?? CHECKPOINT_VERSION;
  if (version !== 1 && version !== 2) throw new UserError(`${what}: checkpointVersion must be 1 or 2, got ${JSON.stringify(version)}`);
  if (version === 1 && !hasVersion1Names(training.config)) throw new UserError(`${what}: checkpointVersion 1 holds only the DD2424 configuration (cell rnn, 1 layer, batch 1, no dropout, adagrad without decay)`);
  return version;
}

type FlatName = 'params' | 'second' | 'first' | 'state';

/** One tensor of a checkpoint: its name and shape, and where it lives in the training state's flat arrays. */
interface TensorEntry {
  name: string;
  shape: number[];
  of: FlatName;
  offset: number;
  length: number;
}

/** Every tensor of a model's checkpoint of a version, in file order. */
function tensorTable(config: ModelConfig, vocab: number, version: 1 | 2): TensorEntry[] {
  const { parameters } = parameterTable(modelShape(config, vocab));
  return version === 1 ? version1Table(parameters, config.hidden) : version2Table(parameters, config);
}

type TableEntry = { name: string; shape: readonly number[]; offset: number; length: number };

function version2Table(parameters: readonly TableEntry[], config: ModelConfig): TensorEntry[] {
  const entries: TensorEntry[] = [];
  const add = (of: FlatName, prefix: string) => {
    for (const { name, shape, offset, length } of parameters) entries.push({ name: prefix + name, shape: [...shape], of, offset, length });
  };
  add('params', '');
  add('second', config.optimizer === 'adam' ? 'adam.v.' : `${config.optimizer}.`);
  if (config.optimizer === 'adam') add('first', 'adam.m.');
  const states = config.layers * config.batch * config.hidden;
  const shape = [config.layers, config.batch, config.hidden];
  entries.push({ name: 'state.h', shape, of: 'state', offset: 0, length: states });
  // rnn and gru carry no cell state: their half of the flat state is zeros and is not written.
  if (config.cell === 'lstm') entries.push({ name: 'state.c', shape, of: 'state', offset: states, length: states });
  return entries;
}

/** The version-1 names U, W, V, b, c (then "adagrad." + each, then "h") over the same tensors. */
function version1Table(parameters: readonly TableEntry[], hidden: number): TensorEntry[] {
  const byName = new Map(parameters.map((p) => [p.name, p]));
  const entries: TensorEntry[] = [];
  for (const [of, prefix] of [['params', ''], ['second', 'adagrad.']] as const) {
    for (const name of PARAMETER_NAMES) {
      const { shape, offset, length } = byName.get(VERSION1_TABLE_NAMES[name])!;
      entries.push({ name: prefix + name, shape: [...shape], of, offset, length });
    }
  }
  entries.push({ name: 'h', shape: [hidden], of: 'state', offset: 0, length: hidden });
  return entries;
}

function flatOf(training: SavedState, of: FlatName): Float32Array | Float64Array {
  if (of === 'second') return secondMoment(training, 'writeCheckpoint').values;
  return training[of] ?? training.params.subarray(0, 0);
}

/** The characters trained on: the recorded number, else the text without its last ⌊valFraction·N⌋. */
function trainingLength(config: ModelConfig, run: Pick<RunRecord, 'corpusCharacters' | 'trainingCharacters'>): number {
  return run.trainingCharacters ?? run.corpusCharacters - heldOutLength(run.corpusCharacters, config.valFraction, `a ${run.corpusCharacters}-character text`);
}

/** Where each stream's next window starts in the training text: its slice's start plus the shared position. */
function streamPositions(config: ModelConfig, training: number, position: number): number[] {
  const slice = Math.floor(training / config.batch);
  return Array.from({ length: config.batch }, (_, b) => b * slice + position);
}

/** Each stream's slice of the training text; a config that holds out or slices nothing possible is refused. */
function sliceOf(config: ModelConfig, run: Pick<RunRecord, 'corpusCharacters' | 'trainingCharacters'>, fail: (reason: string) => never): number {
  try {
    return Math.floor(trainingLength(config, run) / config.batch);
  } catch (error) {
    if (!(error instanceof UserError)) throw error;
    return fail(error.message);
  }
}

/**
 * Parameters no correct run reaches: beyond twice the start's reach plus `step` of the optimizer's
 * largest moves (η only decays). The start's reach is `initialMax` for a run started from trained
 * weights, else that of the draws (N(0, σ²) by Box–Muller on 24-bit uniforms stay within 5.8σ,
 * U(±1/√m) within 1/√m) and the lstm forget bias. A corrupt or crafted value (3e38 trains on to
 * finite nonsense) is refused.
 */
function checkReach(params: Float32Array | Float64Array, config: ModelConfig, step: number, initialMax: number | undefined, table: TensorEntry[], fail: (reason: string) => never): void {
  const perEta = maxStepPerEta({ kind: config.optimizer as OptimizerKind, decay: config.rmsDecay, beta1: config.beta1, beta2: config.beta2 });
  if (perEta === undefined) return;
  const start = initialMax ?? initialReach(config.init as InitScheme, config.sigma, config.hidden) + Math.abs(config.forgetBias);
  const reach = 2 * (start + step * config.eta * perEta);
  const at = params.findIndex((v) => Math.abs(v) > reach);
  if (at < 0) return;
  const entry = table.find((e) => e.of === 'params' && at >= e.offset && at < e.offset + e.length)!;
  const drawn = config.init === 'uniform' ? `U(±1/√${config.hidden})` : `σ ${config.sigma}`;
  const from = initialMax === undefined ? drawn : `weights of largest |value| ${initialMax}`;
  fail(
    `tensor "${entry.name}" holds ${params[at]}, beyond ±${reach.toPrecision(3)}, the most ${step} updates of ${config.optimizer} ` +
      `at η ${config.eta} can reach from ${from}: the file is damaged`
  );
}

/** Where the data walk (lib/model/stream-walk.ts nextWindows) stands after `step` updates from the start. */
function walkAfter(step: number, slice: number, seqLength: number): { epoch: number; position: number } {
  if (step === 0) return { epoch: 1, position: 0 };
  const perEpoch = updatesPerEpoch(slice, seqLength);
  return { epoch: 1 + Math.floor((step - 1) / perEpoch), position: (((step - 1) % perEpoch) + 1) * seqLength };
}

/**
 * Writes a checkpoint file (atomically) that readCheckpoint reads back: the bytes are read by the
 * reader's own checks before the file is written, so a record it would refuse is a UserError here.
 */
export function writeCheckpoint(file: string, checkpoint: CheckpointInput): void {
  const what = 'writeCheckpoint';
  const { training, run } = (typeof checkpoint === 'object' && checkpoint !== null ? checkpoint : {}) as Partial<CheckpointInput>;
  if (typeof training !== 'object' || training === null || typeof run !== 'object' || run === null) {
    throw new UserError(`${what}: give { training, run }: training as trainer.snapshot() returns it, run the RunRecord (corpusSha256, corpusCharacters, bestSmoothLoss, elapsedSeconds)`);
  }
  let bytes: Buffer;
  try {
    bytes = encodeCheckpoint({ training, run });
    decodeCheckpoint(bytes, what);
  } catch (error) {
    if (error instanceof UserError) throw new UserError(`${what}: the file would not be readable: ${error.message.replace(/^writeCheckpoint: (not an rnn-native checkpoint: )?/, '')}`);
    if (error instanceof TypeError || error instanceof RangeError) throw new UserError(`${what}: ${error.message}`);
    throw error;
  }
  writeFileAtomic(file, bytes);
}

export function readCheckpoint(file: string): Checkpoint {
  return decodeCheckpoint(readUserFile(file), file);
}

/** readCheckpoint for a command: a file without a digest (an older rnn-native's) is read with a one-line note. */
export function readCheckpointNoting(file: string, bytes: Uint8Array = readUserFile(file)): Checkpoint {
  const checkpoint = decodeCheckpoint(bytes, file);
  if (checkpoint.integrity === 'none') {
    note(`${file} carries no digest (written before rnn-native 0.5.0): damage to it cannot be detected; the next checkpoint written will carry one`);
  }
  return checkpoint;
}

export function decodeCheckpoint(bytes: Uint8Array, source: string): Checkpoint {
  const { tensors, metadata } = decodeSafetensors(bytes, source);
  const fail = (reason: string): never => {
    throw new UserError(`${source}: not an rnn-native checkpoint: ${reason}`);
  };
  if (metadata.format !== CHECKPOINT_FORMAT) fail('its metadata has no "format": "rnn-native-checkpoint"');
  const integrity = checkDigest(bytes, metadata, fail);
  const version = metadata.format_version === '1' ? 1 : metadata.format_version === '2' ? 2 : fail(`format version ${metadata.format_version} is not supported (this version reads 1 and 2)`);
  const json = (key: string): unknown => {
    if (metadata[key] === undefined) fail(`metadata "${key}" is missing`);
    try {
      return JSON.parse(metadata[key]);
    } catch {
      return fail(`metadata "${key}" is not JSON`);
    }
  };
  const count = (key: string, min: number, max = Number.MAX_SAFE_INTEGER): number => {
    const v = json(key);
    if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < min || v > max) fail(`metadata "${key}" must be an integer ≥ ${min}${max < Number.MAX_SAFE_INTEGER ? ` and ≤ ${max}` : ''}`);
    return v as number;
  };
  const optionalNumber = (key: string): number | undefined => {
    const v = json(key);
    if (v !== null && (typeof v !== 'number' || !Number.isFinite(v))) fail(`metadata "${key}" must be a finite number or null`);
    return v === null ? undefined : (v as number);
  };
  // Every loss is −Σ log p, never below 0 (a negative best would never be beaten again).
  const optionalLoss = (key: string): number | undefined => {
    const v = optionalNumber(key);
    if (v !== undefined && v < 0) fail(`metadata "${key}" must be ≥ 0 (a loss) or null`);
    return v;
  };

  const vocabulary = Vocabulary.parse(json('vocabulary'), source).symbols;
  const config = parseConfig(json('config'), fail);
  if (version === 1 && !hasVersion1Names(config)) fail('a version-1 file holds only the DD2424 model, but its "config" is another');
  const rngState = json('rng_state');
  if (!Array.isArray(rngState) || rngState.length !== 4 || !rngState.every((w) => Number.isInteger(w) && w >= 0 && w <= 0xffffffff) || rngState.every((w) => w === 0)) {
    fail('metadata "rng_state" must be 4 unsigned 32-bit words, not all zero');
  }
  const corpusSha256 = metadata.corpus_sha256;
  if (!/^[0-9a-f]{64}$/.test(corpusSha256 ?? '')) fail('metadata "corpus_sha256" must be 64 hex digits');
  const elapsedSeconds = optionalNumber('elapsed_seconds');
  if (elapsedSeconds === undefined || elapsedSeconds < 0) fail('metadata "elapsed_seconds" must be a number ≥ 0');

  const tensorsOf = readTensors(tensors, config, vocabulary.length, version, fail);
  const step = count('step', 0, MAX_STEPS);
  const initialMaxWeight = metadata[INITIAL_MAX_KEY] === undefined ? undefined : optionalNumber(INITIAL_MAX_KEY);
  if (metadata[INITIAL_MAX_KEY] !== undefined && !(initialMaxWeight !== undefined && initialMaxWeight >= 0)) fail(`metadata "${INITIAL_MAX_KEY}" must be a number ≥ 0 when present`);
  checkReach(tensorsOf.params, config, step, initialMaxWeight, tensorTable(config, vocabulary.length, version), fail);
  const epoch = count('epoch', 1);
  const position = count('position', 0);
  const corpusCharacters = count('corpus_characters', 1);
  const trainingCharacters = metadata.training_characters === undefined ? undefined : count('training_characters', 1, corpusCharacters);
  const smoothLoss = optionalLoss('smooth_loss');
  // The data walk moves by seqLength from 0 and starts at most one epoch per update.
  if (position > corpusCharacters || position % config.seqLength !== 0) {
    fail(`metadata "position" ${position} is not a window start of a ${corpusCharacters}-character text`);
  }
  if (epoch > step + 1) fail(`metadata "epoch" ${epoch} is more than step + 1 = ${step + 1}`);
  const slice = version === 2 ? sliceOf(config, { corpusCharacters, trainingCharacters }, fail) : corpusCharacters;
  if (version === 2) {
    // A window starts at most T + 1 characters before its slice's end, and the position moves T on.
    if (position >= slice) fail(`metadata "position" ${position} is not a window start of a ${slice}-character slice`);
    const expected = JSON.stringify(streamPositions(config, slice * config.batch, position));
    if (JSON.stringify(json('stream_positions')) !== expected) fail(`metadata "stream_positions" must be ${expected.length > 80 ? 'each slice start plus "position"' : expected}`);
  }
  if (slice >= config.seqLength + 1) {
    const walk = walkAfter(step, slice, config.seqLength);
    if (walk.epoch !== epoch || walk.position !== position) {
      fail(`metadata "step" ${step}, "epoch" ${epoch} and "position" ${position} disagree: ${step} updates of a ${slice}-character slice end at epoch ${walk.epoch}, position ${walk.position}`);
    }
  }
  const bestValLoss = metadata.best_val_loss === undefined ? undefined : optionalNumber('best_val_loss');
  const owed = metadata.evaluation_owed;
  if (owed !== undefined && owed !== 'true') fail('metadata "evaluation_owed" must be "true" when present');
  const evaluationOwed = owed === 'true';
  if (bestValLoss !== undefined && bestValLoss < 0) fail('metadata "best_val_loss" must be ≥ 0 (nats per character) or null');
  if ((step === 0) !== (smoothLoss === undefined)) fail('metadata "smooth_loss" must be null exactly when "step" is 0');
  return {
    training: {
      config,
      vocabulary,
      step,
      epoch,
      position,
      smoothLoss,
      lastLoss: optionalLoss('last_loss'),
      rngState: Uint32Array.from(rngState as number[]),
      ...tensorsOf,
      ...(version === 1 ? { checkpointVersion: 1 as const } : {}),
      ...(initialMaxWeight !== undefined ? { initialMaxWeight } : {}),
    },
    run: {
      corpusSha256,
      corpusCharacters,
      ...(trainingCharacters !== undefined ? { trainingCharacters } : {}),
      bestSmoothLoss: optionalLoss('best_smooth_loss'),
      ...(bestValLoss !== undefined ? { bestValLoss } : {}),
      elapsedSeconds: elapsedSeconds!,
      ...(evaluationOwed ? { evaluationOwed } : {}),
    },
    integrity,
  };
}

/**
 * The checkpoint's "config": every model option of lib/model/config.ts, by the same rules as the command
 * line. An option newer than the file takes its default, which is the model the file was made with.
 */
function parseConfig(value: unknown, fail: (reason: string) => never): ModelConfig {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return fail('metadata "config" must be an object');
  const given = value as Record<string, unknown>;
  // A key no writer wrote (a flipped or edited name) is refused: its option would be read as its default.
  const known = new Set(rowsOf('model').map((row) => row.key));
  const unknown = Object.keys(given).filter((key) => !known.has(key));
  if (unknown.length > 0) fail(`metadata "config" holds ${unknown.map((key) => JSON.stringify(key)).join(', ')}, which no writer writes`);
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

/** The flat params / second / first / state arrays, checking every tensor's dtype and shape. */
function readTensors(
  tensors: Record<string, Tensor>,
  config: ModelConfig,
  vocab: number,
  version: 1 | 2,
  fail: (reason: string) => never
): Pick<TrainingState, 'params' | 'second' | 'accum' | 'state' | 'first'> {
  const table = tensorTable(config, vocab, version);
  const expected = new Map(table.map((entry) => [entry.name, entry]));
  const extra = Object.keys(tensors).filter((name) => !expected.has(name));
  if (extra.length > 0) fail(`unexpected tensors: ${extra.join(', ')}`);
  const dtype = tensors[table[0].name]?.dtype;
  if (dtype !== 'F32' && dtype !== 'F64') fail(`tensor "${table[0].name}" must be F32 or F64`);
  // Every shape is checked against the file's tensors before anything is allocated, so the
  // arrays below are no larger than the file.
  const sizes: Record<FlatName, number> = { params: 0, second: 0, first: 0, state: 0 };
  for (const { name, shape, of, offset, length } of table) {
    const t = tensors[name];
    if (!t) fail(`tensor "${name}" is missing`);
    if (t.dtype !== dtype) fail(`tensor "${name}" is ${t.dtype}; every tensor must be ${dtype}`);
    if (t.shape.length !== shape.length || t.shape.some((d, i) => d !== shape[i])) {
      fail(`tensor "${name}" has shape [${t.shape}], expected [${shape}]`);
    }
    if (!t.data.every(Number.isFinite)) fail(`tensor "${name}" holds NaN or infinite values`);
    if (of === 'second' && t.data.some((v) => v < 0)) fail(`tensor "${name}" holds negative values`);
    sizes[of] = Math.max(sizes[of], offset + length);
  }
  // The state holds h then c; rnn and gru files have no c, whose zeros are implied.
  sizes.state = 2 * config.layers * config.batch * config.hidden;
  const Flat = dtype === 'F32' ? Float32Array : Float64Array;
  const flats = { params: new Flat(sizes.params), second: new Flat(sizes.second), first: new Flat(sizes.first), state: new Flat(sizes.state) };
  for (const { name, of, offset } of table) flats[of].set(tensors[name].data, offset);
  const { first, ...rest } = flats;
  const named = { ...rest, accum: rest.second };
  return first.length > 0 ? { ...named, first } : named;
}
