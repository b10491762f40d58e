// Option values and their checks: what an option accepts, and a value checked against it (no Node
// APIs: the browser module checks its options with these too). Parsing a command line: options.ts.
import { UserError } from './errors';

export type OptionSpec = (
  | { kind: 'integer'; min: number; max: number; help: string }
  | { kind: 'number'; min: number; max: number; exclusiveMin?: boolean; help: string }
  | { kind: 'string'; help: string; /** '' is a value (library options such as a prime) */ allowEmpty?: boolean }
  | { kind: 'choice'; choices: readonly string[]; help: string }
  | { kind: 'flag'; help: string }
) & {
  /** A one-letter alias, e.g. 'o' for -o. */
  short?: string;
};

export type OptionSpecs = Record<string, OptionSpec>;

type Value<S extends OptionSpec> = S extends { kind: 'integer' | 'number' }
  ? number
  : S extends { kind: 'flag' }
    ? boolean
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
    default:
      return 'a value';
  }
}

export function convert(label: string, spec: OptionSpec, raw: string | boolean): string | number | boolean {
  if (spec.kind === 'flag' || spec.kind === 'string') {
    if (spec.kind === 'string' && raw === '' && !spec.allowEmpty) throw new UserError(`${label} must not be empty`);
    return raw;
  }
  const text = String(raw);
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

/** Checks a value read from a file (e.g. a saved setting) as if it had been given as `label`. */
export function checkValue(label: string, spec: OptionSpec, value: unknown): string | number | boolean {
  if (spec.kind === 'flag') {
    if (typeof value !== 'boolean') throw new UserError(`${label} must be true or false, got ${shown(value)}`);
    return value;
  }
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
