// Command-line option parsing on node's util.parseArgs, with every value validated: a wrong
// value is a UserError naming the option and what it accepts (the CLI exits with code 2).
import { distance } from 'fastest-levenshtein';
import { parseArgs } from 'util';
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

function describe(spec: OptionSpec): string {
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

function convert(label: string, spec: OptionSpec, raw: string | boolean): string | number | boolean {
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

/** Parses argv against specs; unknown options and stray arguments are UserErrors. */
export function parseOptions<T extends OptionSpecs>(argv: string[], specs: T): ParsedOptions<T> & { help?: boolean } {
  return parseCommandLine(argv, specs, 0).options;
}

/**
 * Like parseOptions, for a command that also takes up to maxOperands arguments that are not
 * options (e.g. a run directory); more than that is a UserError.
 */
export function parseCommandLine<T extends OptionSpecs>(
  argv: string[],
  specs: T,
  maxOperands: number
): { options: ParsedOptions<T> & { help?: boolean }; operands: string[] } {
  const config = Object.fromEntries(
    Object.entries(specs).map(
      ([name, spec]) => [name, { type: spec.kind === 'flag' ? 'boolean' : 'string', ...(spec.short ? { short: spec.short } : {}) }] as const
    )
  );
  let parsed;
  try {
    parsed = parseArgs({
      args: joinNegativeValues(argv, specs),
      options: { ...config, help: { type: 'boolean', short: 'h' } },
      strict: true,
      allowPositionals: maxOperands > 0,
      tokens: true,
    });
  } catch (error) {
    const unknown = /^Unknown option '(--?[^']+)'/.exec((error as Error).message);
    if (unknown) throw unknownOptionError(unknown[1], specs);
    throw new UserError(oneLine((error as Error).message));
  }
  refuseRepeats(parsed.tokens, specs);
  if (parsed.positionals.length > maxOperands) {
    throw new UserError(`unexpected argument "${parsed.positionals[maxOperands]}" (see --help)`);
  }
  const result: Record<string, unknown> = {};
  for (const [name, raw] of Object.entries(parsed.values)) {
    if (name === 'help') result.help = raw;
    else result[name] = convert(`--${name}`, specs[name], raw as string | boolean);
  }
  return { options: result as ParsedOptions<T> & { help?: boolean }, operands: parsed.positionals };
}

/** An unknown option, with the nearest known one when a typo away (two edits at most). */
function unknownOptionError(given: string, specs: OptionSpecs): UserError {
  const name = given.replace(/^--?/, '').replace(/=.*$/, '');
  const near = given.startsWith('--') && name.length >= 3 ? Object.keys(specs).find((known) => distance(known, name.toLowerCase()) <= 2) : undefined;
  return new UserError(`unknown option ${given}${near ? `; did you mean --${near}?` : ''} (see --help)`);
}

/** An option given twice would silently keep only its last value: refused, naming both. */
function refuseRepeats(tokens: { kind: string; name?: string; value?: string }[] | undefined, specs: OptionSpecs): void {
  const seen = new Map<string, string | undefined>();
  for (const token of tokens ?? []) {
    if (token.kind !== 'option' || token.name === undefined) continue;
    if (seen.has(token.name)) {
      const flag = specs[token.name]?.kind === 'flag' || token.name === 'help';
      const values = flag ? '' : ` (${seen.get(token.name)} and ${token.value})`;
      throw new UserError(`--${token.name} is given twice${values}; give it once`);
    }
    seen.set(token.name, token.value);
  }
}

/** A value that starts with a dash but is a number (or starts like one): "-5", "-0.1", "-.5". */
const NEGATIVE_VALUE = /^-[\d.]/;

/**
 * "--steps -5" and "-o -5" become "--steps=-5" and "--out=-5": parseArgs takes a value that starts
 * with a dash for a forgotten one, but a negative number is a value (valid for --seed; for the
 * others, convert() refuses it with the option's range like any other bad value).
 */
function joinNegativeValues(argv: string[], specs: OptionSpecs): string[] {
  const joined: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const token = argv[i];
    if (token === '--') return [...joined, ...argv.slice(i)];
    const name = valueOptionName(token, specs);
    const next = argv[i + 1];
    if (name !== undefined && next !== undefined && NEGATIVE_VALUE.test(next)) {
      joined.push(`--${name}=${next}`);
      i++;
    } else {
      joined.push(token);
    }
  }
  return joined;
}

/** The option that `token` names ("--steps" or a short "-o") when that option takes a value. */
function valueOptionName(token: string, specs: OptionSpecs): string | undefined {
  const long = /^--([^=]+)$/.exec(token);
  const short = /^-([^-])$/.exec(token);
  const name = long
    ? long[1]
    : short
      ? Object.keys(specs).find((key) => specs[key].short === short[1])
      : undefined;
  if (name === undefined || !Object.prototype.hasOwnProperty.call(specs, name)) return undefined;
  return specs[name].kind === 'flag' ? undefined : name;
}

function oneLine(message: string): string {
  // parseArgs's hint about positionals does not apply: no command takes any.
  return message
    .split('\n')
    .map((line) => line.trim())
    .join(' ')
    .replace(/ To specify a positional argument.*$/, '');
}

/** The option list of a command's --help. */
export function optionHelp(specs: OptionSpecs): string {
  const rows = Object.entries(specs).map(([name, spec]) => {
    const value = { flag: '', string: ' VALUE', choice: ` ${'choices' in spec ? spec.choices.join('|') : ''}`, integer: ' N', number: ' X' }[spec.kind];
    const flag = `${spec.short ? `-${spec.short}, ` : ''}--${name}${value}`;
    // A flag too long for the column gets its help on the next line.
    return flag.length < 24 ? `  ${flag.padEnd(24)}${spec.help}` : `  ${flag}\n  ${''.padEnd(24)}${spec.help}`;
  });
  return [...rows, `  ${'--help'.padEnd(24)}show this help`].join('\n');
}
