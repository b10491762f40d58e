// Command-line option parsing on node's util.parseArgs, with every value validated: a wrong
// value is a UserError naming the option and what it accepts (the CLI exits with code 2).
import { distance } from 'fastest-levenshtein';
import { parseArgs } from 'util';
import { UserError } from './errors';
import { convert, OptionSpecs, ParsedOptions } from './option-values';

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
      ([name, spec]) => [name, { type: spec.kind === 'flag' ? 'boolean' : 'string', multiple: spec.kind === 'paths', ...(spec.short ? { short: spec.short } : {}) }] as const
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
    else if (Array.isArray(raw)) result[name] = raw.map((value) => convert(`--${name}`, specs[name], value as string));
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

/** An option given twice would silently keep only its last value: refused, naming both (a list of paths takes each). */
function refuseRepeats(tokens: { kind: string; name?: string; value?: string }[] | undefined, specs: OptionSpecs): void {
  const seen = new Map<string, string | undefined>();
  for (const token of tokens ?? []) {
    if (token.kind !== 'option' || token.name === undefined || specs[token.name]?.kind === 'paths') continue;
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
    const value = { flag: '', string: ' VALUE', paths: ' PATH', choice: ` ${'choices' in spec ? spec.choices.join('|') : ''}`, integer: ' N', number: ' X', duration: ' DURATION' }[spec.kind];
    const flag = `${spec.short ? `-${spec.short}, ` : ''}--${name}${value}`;
    // A flag too long for the column gets its help on the next line.
    return flag.length < 24 ? `  ${flag.padEnd(24)}${spec.help}` : `  ${flag}\n  ${''.padEnd(24)}${spec.help}`;
  });
  return [...rows, `  ${'--help'.padEnd(24)}show this help`].join('\n');
}
