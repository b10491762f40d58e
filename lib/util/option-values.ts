// Option values and their checks: what an option accepts, and a value checked against it (no Node
// APIs: the browser module checks its options with these too). Parsing a command line: options.ts.
import { UserError } from './errors';

export type OptionSpec = (
  | { kind: 'integer'; min: number; max: number; help: string }
  | { kind: 'number'; min: number; max: number; exclusiveMin?: boolean; help: string }
  | { kind: 'string'; help: string; /** '' is a value (library options such as a prime) */ allowEmpty?: boolean }
  /** Paths, the option given once or more (as a list in the library). */
  | { kind: 'paths'; help: string }
  | { kind: 'choice'; choices: readonly string[]; help: string }
  /** A span of time as text ("90s", "10m", "1h30m"), its value in seconds. */
  | { kind: 'duration'; max: number; help: string }
  | { kind: 'flag'; help: string }
) & {
  /** A one-letter alias, e.g. 'o' for -o. */
  short?: string;
};

export type OptionSpecs = Record<string, OptionSpec>;

type Value<S extends OptionSpec> = S extends { kind: 'integer' | 'number' | 'duration' }
  ? number
  : S extends { kind: 'flag' }
    ? boolean
    : S extends { kind: 'paths' }
      ? string[]
      : string;

export type ParsedOptions<T extends OptionSpecs> = { [K in keyof T]?: Value<T[K]> };

export function describe(spec: OptionSpec): string {
  switch (spec.kind) {
    case 'integer':
      return `an integer from ${spec.min} to ${spec.max}`;
    case 'number':
      return `a number ${spec.exclusiveMin ? '>' : '≥'} ${spec.min} and ≤ ${spec.max}`;
    case 'choice':
      return `one of ${spec.choices.join(', ')}`;
    case 'string':
      return 'a string';
    case 'paths':
      return 'a path, or a list of paths';
    case 'duration':
      return `a duration such as 90s, 10m or 1h30m, from 1s to ${formatSeconds(spec.max)}`;
    default:
      return 'a value';
  }
}

export function convert(label: string, spec: OptionSpec, raw: string | boolean): string | number | boolean {
  if (spec.kind === 'flag' || spec.kind === 'string' || spec.kind === 'paths') {
    if (spec.kind !== 'flag' && raw === '' && !(spec.kind === 'string' && spec.allowEmpty)) throw new UserError(`${label} must not be empty`);
    return raw;
  }
  const text = String(raw);
  if (spec.kind === 'duration') return durationSeconds(label, spec, text);
  if (spec.kind === 'choice') {
    if (!spec.choices.includes(text)) throw new UserError(`${label} must be ${describe(spec)}, got "${text}"`);
    return text;
  }
  // Decimal notation only (1e5 is fine): Number() alone would also take ' 5', '0x10' and ''.
  const value = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(text) ? Number(text) : NaN;
  const belowMin = spec.kind === 'number' && spec.exclusiveMin ? value <= spec.min : value < spec.min;
  if (
    !Number.isFinite(value) ||
    belowMin ||
    value > spec.max ||
    (spec.kind === 'integer' && !Number.isInteger(value))
  ) {
    throw new UserError(`${label} must be ${describe(spec)}, got "${text}"`);
  }
  return value;
}

/** Hours, minutes and seconds, each at most once and in that order: "2h", "45s", "1h30m". */
const DURATION = /^(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?$/;

/**
 * A duration's seconds. A bare number is refused: seconds to `timeout`, minutes to Slurm's
 * --time; the unit says which.
 */
function durationSeconds(label: string, spec: Extract<OptionSpec, { kind: 'duration' }>, text: string): number {
  const bad = (hint = '') => new UserError(`${label} must be ${describe(spec)}, got "${text}"${hint}`);
  if (/^\d+$/.test(text) && Number(text) > 0) throw bad(` (give the unit: ${text}s or ${text}m)`);
  const parts = DURATION.exec(text);
  if (parts === null || text === '') throw bad();
  const [hours, minutes, seconds] = parts.slice(1).map((part) => Number(part ?? 0));
  const total = hours * 3600 + minutes * 60 + seconds;
  if (!(total >= 1 && total <= spec.max)) throw bad();
  return total;
}

/** Seconds as a duration's text: 5400 → "1h30m", 90 → "1m30s", 0 → "0s". */
export function formatSeconds(total: number): string {
  const [h, m, s] = [Math.floor(total / 3600), Math.floor((total % 3600) / 60), total % 60];
  const text = `${h > 0 ? `${h}h` : ''}${m > 0 ? `${m}m` : ''}${s > 0 ? `${s}s` : ''}`;
  return text === '' ? '0s' : text;
}

/** Checks a value read from a file (e.g. a saved setting) as if it had been given as `label`. */
export function checkValue(label: string, spec: OptionSpec, value: unknown): string | number | boolean | string[] {
  if (spec.kind === 'paths') {
    const list = typeof value === 'string' ? [value] : value;
    if (!Array.isArray(list) || list.length === 0 || !list.every((v) => typeof v === 'string')) {
      throw new UserError(`${label} must be ${describe(spec)}, got ${shown(value)}`);
    }
    return list.map((v) => convert(label, spec, v) as string);
  }
  if (spec.kind === 'flag') {
    if (typeof value !== 'boolean') throw new UserError(`${label} must be true or false, got ${shown(value)}`);
    return value;
  }
  // A duration is given as its text ("10m"), never as a bare number (seconds? milliseconds?).
  const numeric = spec.kind === 'integer' || spec.kind === 'number';
  if (numeric ? typeof value !== 'number' : typeof value !== 'string') {
    throw new UserError(`${label} must be ${describe(spec)}, got ${shown(value)}`);
  }
  return convert(label, spec, String(value));
}

/** A value of any type as a message shows it (JSON.stringify throws on a BigInt and drops symbols). */
function shown(value: unknown): string {
  if (typeof value === 'bigint') return `${value}n`;
  if (typeof value === 'symbol' || typeof value === 'function' || value === undefined) return String(value);
  try {
    return JSON.stringify(value);
  } catch {
    return Object.prototype.toString.call(value); // e.g. an object that refers to itself
  }
}
