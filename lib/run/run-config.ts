// config.json of a run directory: read and checked field by field, by the rules of the option
// table (lib/model/config.ts) for the options, so that a damaged file is refused with what is wrong
// instead of steering a resume or a report. (It is never rewritten when refused.)
import { existsSync } from 'fs';
import path from 'path';
import { Corpus, CorpusFile } from '../text/corpus';
import { Checkpoint } from './checkpoint';
import { OptionRow, savedValue, TRAINING_OPTIONS } from '../model/config';
import { UserError } from '../util/errors';
import { readUserFile } from '../util/files';
import { LIMITS } from '../model/limits';

export type RunConfigFile = Record<string, unknown>;

const BACKENDS = ['native', 'wasm', 'ts'];

/**
 * The fields besides the options: what each must be, as a check that returns the problem, if any.
 * Every version has written all of them but "resumed" (written at the first resume).
 */
const OTHER_FIELDS: Record<string, (value: unknown) => string | undefined> = {
  version: (v) => (typeof v === 'string' ? undefined : 'must be a string'),
  data: (v) =>
    v === null || isPath(v) || (Array.isArray(v) && v.length > 0 && v.every(isPath))
      ? undefined
      : 'must be a path, a list of paths, or null (the demo corpus)',
  corpus: checkCorpus,
  created: (v) => (typeof v === 'string' && Number.isFinite(Date.parse(v)) ? undefined : 'must be a date and time (ISO 8601)'),
  resumed: checkResumes,
  initFrom: checkInitFrom,
  cacheDir: (v) => (isPath(v) ? undefined : 'must be a directory path'),
};

/**
 * The fields only some runs have: resumed (written at the first resume), initFrom (a run started
 * from a model's weights), cacheDir (a run given --cache-dir).
 */
const OPTIONAL_FIELDS = new Set(['resumed', 'initFrom', 'cacheDir']);

function checkInitFrom(value: unknown): string | undefined {
  const v = value as Record<string, unknown>;
  const ok =
    typeof value === 'object' &&
    value !== null &&
    !Array.isArray(value) &&
    Object.keys(v).sort().join() === 'path,sha256,step' &&
    typeof v.path === 'string' &&
    v.path !== '' &&
    typeof v.sha256 === 'string' &&
    /^[0-9a-f]{64}$/.test(v.sha256) &&
    isCount(v.step, 0, Number.MAX_SAFE_INTEGER);
  return ok ? undefined : 'must be {"path": the checkpoint file, "sha256": 64 hex digits, "step": an integer ≥ 0}';
}

const isPath = (v: unknown) => typeof v === 'string' && v !== '' && !v.includes('\0');

function checkCorpus(value: unknown): string | undefined {
  const c = value as Record<string, unknown>;
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return 'must be an object';
  if (typeof c.sha256 !== 'string' || !/^[0-9a-f]{64}$/.test(c.sha256)) return '.sha256 must be 64 hex digits';
  if (!isCount(c.characters, 1, Number.MAX_SAFE_INTEGER)) return '.characters must be an integer ≥ 1';
  if (!isCount(c.vocabSize, 1, LIMITS.maxVocabulary)) return `.vocabSize must be an integer from 1 to ${LIMITS.maxVocabulary}`;
  if (c.files !== undefined && !(Array.isArray(c.files) && c.files.length > 0 && c.files.every(isFileRecord))) {
    return '.files must be a list of {"path": a path, "bytes": an integer ≥ 1, "sha256": 64 hex digits}';
  }
  if (c.separator !== undefined && typeof c.separator !== 'string') return '.separator must be a string';
  if (c.trainingCharacters !== undefined && !isCount(c.trainingCharacters, 1, c.characters as number)) return '.trainingCharacters must be an integer from 1 to .characters';
  return undefined;
}

function isFileRecord(value: unknown): boolean {
  const f = value as Record<string, unknown>;
  return typeof value === 'object' && value !== null && isPath(f.path) && isCount(f.bytes, 1, Number.MAX_SAFE_INTEGER) && typeof f.sha256 === 'string' && /^[0-9a-f]{64}$/.test(f.sha256);
}

/**
 * config.json's "corpus": the text's SHA-256, length and vocabulary size; each file read (path,
 * bytes, SHA-256); for several documents, the separator and the characters trained on.
 */
export function corpusRecord(corpus: Corpus, trainingCharacters: number): Record<string, unknown> {
  return {
    sha256: corpus.sha256,
    characters: corpus.length,
    vocabSize: corpus.vocabSize,
    ...(corpus.files.length > 0 ? { files: corpus.files.map((f) => ({ ...f, path: path.resolve(f.path) })) } : {}),
    ...(corpus.documents.length > 1 ? { separator: corpus.separator, trainingCharacters } : {}),
  };
}

/** The --data values a run was started with (absolute); undefined: the demo corpus. */
export function runData(config: RunConfigFile): string[] | undefined {
  const data = config.data;
  return typeof data === 'string' ? [data] : Array.isArray(data) ? (data as string[]) : undefined;
}

/** The token cache a run was given (--cache-dir), if any. */
export function runCacheDir(config: RunConfigFile): string | undefined {
  return typeof config.cacheDir === 'string' ? config.cacheDir : undefined;
}

/** The separator of a run's documents, when it has several. */
export function runSeparator(config: RunConfigFile): string | undefined {
  return (config.corpus as { separator?: string } | undefined)?.separator;
}

/**
 * How the files just read differ from those config.json records, naming a file; undefined when
 * they are the same texts in the same order (moved elsewhere or not), or the run records none.
 */
export function collectionChange(config: RunConfigFile, corpus: Corpus): string | undefined {
  const recorded = (config.corpus as { files?: CorpusFile[] } | undefined)?.files;
  // One file for another: the caller's SHA-256 check says so.
  if (recorded === undefined || (recorded.length === 1 && corpus.files.length === 1)) return undefined;
  const separator = runSeparator(config);
  if (recorded.length > 1 && separator !== undefined && separator !== corpus.separator) {
    return `--separator ${JSON.stringify(corpus.separator)} is not the run's (${JSON.stringify(separator)})`;
  }
  const now = corpus.files.map((f) => ({ ...f, path: path.resolve(f.path) }));
  if (now.length === recorded.length && now.every((f, i) => f.sha256 === recorded[i].sha256)) return undefined;
  const sorted = (files: CorpusFile[]) => JSON.stringify(files.map((f) => f.sha256).sort());
  if (sorted(now) === sorted(recorded)) {
    const i = now.findIndex((f, k) => f.sha256 !== recorded[k].sha256);
    const j = recorded.findIndex((f) => f.sha256 === now[i].sha256);
    return `the texts are in another order than when the run started: text ${i + 1} is now ${now[i].path}, which was text ${j + 1} (${recorded[j].path})`;
  }
  const nowByPath = new Map(now.map((f) => [f.path, f]));
  const skippedNow = new Map(corpus.skipped.map((s) => [path.resolve(s.path), s.why]));
  for (const before of recorded) {
    const after = nowByPath.get(before.path);
    if (after === undefined && skippedNow.has(before.path)) return `${before.path} is now skipped as ${skippedNow.get(before.path)}`;
    if (after === undefined) return `${before.path} is no longer among the texts`;
    if (after.sha256 !== before.sha256) return `${before.path} has changed since the run started (SHA-256 ${after.sha256.slice(0, 12)}…, then ${before.sha256.slice(0, 12)}…)`;
  }
  const added = now.find((f) => !recorded.some((before) => before.path === f.path));
  return added !== undefined ? `${added.path} was added to the texts since the run started` : 'the texts are not the ones the run started with';
}

function checkResumes(value: unknown): string | undefined {
  if (!Array.isArray(value)) return 'must be a list';
  const bad = value.findIndex((r) => {
    const entry = r as Record<string, unknown>;
    return (
      typeof r !== 'object' ||
      r === null ||
      typeof entry.at !== 'string' ||
      !Number.isFinite(Date.parse(entry.at)) ||
      !isCount(entry.step, 0, Number.MAX_SAFE_INTEGER) ||
      !BACKENDS.includes(entry.backend as string)
    );
  });
  return bad < 0 ? undefined : `[${bad}] must be {"at": a date, "step": an integer ≥ 0, "backend": "native", "wasm" or "ts"}`;
}

const isCount = (v: unknown, min: number, max: number) => typeof v === 'number' && Number.isSafeInteger(v) && v >= min && v <= max;

/**
 * Checks every field that a run's config.json holds; a wrong or missing one is a UserError naming
 * the file, the field and the rule. A field rnn-native does not write is refused too when
 * `unknownFields` is 'refuse' (a resume, which rewrites the file), and shown as it is by a report.
 */
function checkRunConfig(value: unknown, file: string, unknownFields: 'refuse' | 'keep'): RunConfigFile {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw damaged(file, 'damaged (not a JSON object)');
  const config = value as RunConfigFile;
  const known = new Set([...TRAINING_OPTIONS.map((row) => row.key), ...Object.keys(OTHER_FIELDS)]);
  const unknown = Object.keys(config).filter((key) => !known.has(key));
  if (unknown.length > 0 && unknownFields === 'refuse') throw damaged(file, `unknown field ${JSON.stringify(unknown[0])} (not written by rnn-native)`);
  for (const row of TRAINING_OPTIONS as readonly OptionRow[]) {
    // A run's backend is the one it trained on: auto was resolved before it was written.
    const rule = row.scope === 'backend' ? { ...row, choices: BACKENDS } : row;
    try {
      savedValue(rule as OptionRow, config[row.key], row.key);
    } catch (error) {
      if (!(error instanceof UserError)) throw error;
      throw damaged(file, error.message);
    }
  }
  for (const [key, check] of Object.entries(OTHER_FIELDS)) {
    if (config[key] === undefined && !OPTIONAL_FIELDS.has(key)) throw damaged(file, `${key} is missing`);
    const problem = config[key] === undefined ? undefined : check(config[key]);
    if (problem) throw damaged(file, `${key}${problem.startsWith('.') || problem.startsWith('[') ? '' : ' '}${problem}`);
  }
  return config;
}

/**
 * config.json must describe the run a checkpoint of it holds: the same model and the same text;
 * and, against latest.safetensors (`latest`), no resume from a step the run has not reached.
 * Otherwise one of them was edited or belongs to another run (which, the files cannot tell).
 */
export function checkAgainstCheckpoint(config: RunConfigFile, checkpoint: Checkpoint, file: string, checkpointFile: string, latest: boolean): void {
  const { training, run } = checkpoint;
  const model = training.config as unknown as Record<string, unknown>;
  const corpus = config.corpus as { sha256: string; characters: number; vocabSize: number; trainingCharacters?: number };
  const differences = [
    // A missing option (newer than the file) stands for its default, the model the file was made with.
    ...TRAINING_OPTIONS.filter((row) => row.scope === 'model' && (config[row.key] ?? row.default) !== model[row.key]).map(
      (row) => `${row.key} ${config[row.key] ?? `missing (so ${row.default})`} (the checkpoint has ${model[row.key]})`
    ),
    ...(corpus.sha256 !== run.corpusSha256 ? [`corpus.sha256 ${corpus.sha256.slice(0, 12)}… (the checkpoint has ${run.corpusSha256.slice(0, 12)}…)`] : []),
    ...(corpus.characters !== run.corpusCharacters ? [`corpus.characters ${corpus.characters} (the checkpoint has ${run.corpusCharacters})`] : []),
    ...(corpus.vocabSize !== training.vocabulary.length ? [`corpus.vocabSize ${corpus.vocabSize} (the checkpoint has ${training.vocabulary.length})`] : []),
    ...(corpus.trainingCharacters !== run.trainingCharacters && corpus.trainingCharacters !== undefined && run.trainingCharacters !== undefined
      ? [`corpus.trainingCharacters ${corpus.trainingCharacters} (the checkpoint has ${run.trainingCharacters})`]
      : []),
  ];
  const resumes = (config.resumed ?? []) as { step: number }[];
  const late = latest ? resumes.findIndex((r) => r.step > training.step) : -1;
  if (late >= 0) differences.push(`resumed[${late}].step ${resumes[late].step} (the checkpoint is at step ${training.step})`);
  if (differences.length > 0) {
    throw new UserError(`${file} and ${checkpointFile} are not of one run: ${differences.join(', ')}; one of them was edited or comes from another run`);
  }
}

/** The checked config.json, or undefined when there is none. */
export function readRunConfig(file: string, unknownFields: 'refuse' | 'keep'): RunConfigFile | undefined {
  if (!existsSync(file)) return undefined;
  const text = readUserFile(file).toString('utf8');
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    value = undefined; // not JSON: refused below as not a JSON object
  }
  return checkRunConfig(value, file, unknownFields);
}

function damaged(file: string, what: string): UserError {
  return new UserError(`${file}: ${what}; repair it, or move it away and resume with --data and the settings again`);
}
