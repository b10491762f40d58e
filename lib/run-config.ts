// config.json of a run directory: read and checked field by field, by the rules of the option
// table (lib/config.ts) for the options, so that a damaged file is refused with what is wrong
// instead of steering a resume or a report. (It is never rewritten when refused.)
import { existsSync, readFileSync } from 'fs';
import { checkRow, OptionRow, TRAINING_OPTIONS } from './config';
import { UserError } from './errors';
import { LIMITS } from './limits';

export type RunConfigFile = Record<string, unknown>;

const BACKENDS = ['native', 'ts'];

/** The fields besides the options: what each must be, as a check that returns the problem, if any. */
const OTHER_FIELDS: Record<string, (value: unknown) => string | undefined> = {
  version: (v) => (typeof v === 'string' ? undefined : 'must be a string'),
  data: (v) => (v === null || (typeof v === 'string' && v !== '') ? undefined : 'must be a file path or null (the demo corpus)'),
  corpus: checkCorpus,
  created: (v) => (typeof v === 'string' && Number.isFinite(Date.parse(v)) ? undefined : 'must be a date and time (ISO 8601)'),
  resumed: checkResumes,
};

function checkCorpus(value: unknown): string | undefined {
  const c = value as Record<string, unknown>;
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return 'must be an object';
  if (typeof c.sha256 !== 'string' || !/^[0-9a-f]{64}$/.test(c.sha256)) return '.sha256 must be 64 hex digits';
  if (!isCount(c.characters, 1, Number.MAX_SAFE_INTEGER)) return '.characters must be an integer ≥ 1';
  if (!isCount(c.vocabSize, 1, LIMITS.maxVocabulary)) return `.vocabSize must be an integer from 1 to ${LIMITS.maxVocabulary}`;
  return undefined;
}

function checkResumes(value: unknown): string | undefined {
  if (!Array.isArray(value)) return 'must be a list';
  const bad = value.findIndex((r) => {
    const entry = r as Record<string, unknown>;
    return (
      typeof r !== 'object' ||
      r === null ||
      typeof entry.at !== 'string' ||
      !isCount(entry.step, 0, Number.MAX_SAFE_INTEGER) ||
      !BACKENDS.includes(entry.backend as string)
    );
  });
  return bad < 0 ? undefined : `[${bad}] must be {"at": a date, "step": an integer ≥ 0, "backend": "native" or "ts"}`;
}

const isCount = (v: unknown, min: number, max: number) => typeof v === 'number' && Number.isSafeInteger(v) && v >= min && v <= max;

/**
 * Checks every field that a run's config.json may hold; unknown fields are kept as they are (a
 * later version may add some). A wrong one is a UserError naming the file, the field and the rule.
 */
export function checkRunConfig(value: unknown, file: string): RunConfigFile {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw damaged(file, 'damaged (not a JSON object)');
  const config = value as RunConfigFile;
  for (const row of TRAINING_OPTIONS as readonly OptionRow[]) {
    if (config[row.key] === undefined) continue;
    // A run's backend is the one it trained on: auto was resolved before it was written.
    const rule = row.scope === 'backend' ? { ...row, choices: BACKENDS } : row;
    try {
      checkRow(rule as OptionRow, config[row.key], row.key);
    } catch (error) {
      if (!(error instanceof UserError)) throw error;
      throw damaged(file, error.message);
    }
  }
  for (const [key, check] of Object.entries(OTHER_FIELDS)) {
    const problem = config[key] === undefined ? undefined : check(config[key]);
    if (problem) throw damaged(file, `${key}${problem.startsWith('.') || problem.startsWith('[') ? '' : ' '}${problem}`);
  }
  return config;
}

/** The checked config.json, or undefined when there is none. */
export function readRunConfig(file: string): RunConfigFile | undefined {
  if (!existsSync(file)) return undefined;
  let value: unknown;
  try {
    value = JSON.parse(readFileSync(file, 'utf8'));
  } catch {
    value = undefined; // not JSON: refused below as not a JSON object
  }
  return checkRunConfig(value, file);
}

function damaged(file: string, what: string): UserError {
  return new UserError(`${file}: ${what}; repair it, or move it away and resume with --data and the settings again`);
}
