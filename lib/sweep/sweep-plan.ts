// The plan of a sweep: the train arguments of each run, from a grid (every combination), random
// draws from ranges (reproducible from the seed) and repeats with other seeds. Every key and value
// is checked by train's own option table, so a plan that is written is one train accepts.
import { distance } from 'fastest-levenshtein';
import { UserError } from '../util/errors';
import { parseOptions } from '../util/options';
import { formatSeconds, OptionSpec, OptionSpecs } from '../util/option-values';
import { Rng } from '../util/random';
import { absoluteValue } from '../text/inputs';

export type PlanValue = number | string;

export interface PlannedRun {
  index: number;
  /** The run directory, relative to the sweep directory. */
  dir: string;
  /** The options that differ between runs, by flag name (without dashes). */
  varied: Record<string, PlanValue>;
  /** The complete train argument list of the run (without --out/--resume). */
  args: string[];
}

export interface PlanRequest {
  /** "eta=0.01,0.05 hidden=100,200": every combination. */
  grid?: string;
  /** How many random draws from `ranges`. */
  random?: number;
  /** "eta=1e-3:1e-1:log hidden=64:256 cell=rnn,lstm": a range (linear or log) or a list per option. */
  ranges?: string;
  /** Runs per setting, with the seeds seed, seed+1, ... */
  repeat?: number;
  /** train's options given to every run, as parsed. */
  common: Record<string, string | number | boolean>;
}

/** The seed of the plan's draws and of the first repeat: train's --seed, else its default. */
const DEFAULT_SEED = 42;
export const MAX_RUNS = 10000;

/** A range to draw an option from. */
type Range = { kind: 'interval'; lo: number; hi: number; log: boolean; integer: boolean } | { kind: 'list'; values: PlanValue[] };

/**
 * The runs of a sweep. `specs` are train's options that a sweep may set (a value option of train
 * that is not --out/--resume/--json/--quiet); anything else in a key, or a value its option
 * refuses, is a UserError naming where it was given.
 */
export function planSweep(request: PlanRequest, specs: OptionSpecs): PlannedRun[] {
  const grid = request.grid === undefined ? [] : parseGrid(request.grid, specs);
  const ranges = request.ranges === undefined ? [] : parseRanges(request.ranges, specs);
  if (ranges.length > 0 && request.random === undefined) throw new UserError('--range needs --random N (how many draws)');
  if (request.random !== undefined && ranges.length === 0) throw new UserError('--random needs --range "KEY=LO:HI ..." (what to draw)');
  const repeat = request.repeat ?? 1;
  refuseTwice([...grid.map(([key]) => key), ...ranges.map(([key]) => key)], request.common, repeat);
  const seed = typeof request.common.seed === 'number' ? request.common.seed : DEFAULT_SEED;
  if (repeat > 1 && seed + repeat - 1 > Number.MAX_SAFE_INTEGER) throw new UserError('--seed + --repeat passes the largest seed');

  const gridPoints = combinations(grid);
  const draws = drawSettings(ranges, request.random ?? 1, seed);
  const count = gridPoints.length * draws.length * repeat;
  if (count > MAX_RUNS) throw new UserError(`the sweep would have ${count} runs; at most ${MAX_RUNS}`);
  const width = Math.max(3, String(count - 1).length);
  const runs: PlannedRun[] = [];
  for (const point of gridPoints) {
    for (const draw of draws) {
      for (let r = 0; r < repeat; r++) {
        const varied: Record<string, PlanValue> = { ...point, ...draw, ...(repeat > 1 ? { seed: seed + r } : {}) };
        const index = runs.length;
        runs.push({ index, dir: `run-${String(index).padStart(width, '0')}`, varied, args: trainArgs(varied, request.common, specs) });
      }
    }
  }
  return runs;
}

/** "key=a,b key2=c" as [key, [values]] in order, each key once. */
function splitSpec(text: string, option: string): [string, string][] {
  const words = text.trim().split(/\s+/).filter((word) => word !== '');
  if (words.length === 0) throw new UserError(`${option} is empty; give KEY=VALUES, e.g. ${option} "eta=0.01,0.1"`);
  const seen = new Set<string>();
  return words.map((word) => {
    const match = /^([a-z][a-z0-9-]*)=(.+)$/.exec(word);
    if (!match) throw new UserError(`${option}: "${word}" is not KEY=VALUES (e.g. eta=0.01,0.1)`);
    const [, key, values] = match;
    if (seen.has(key)) throw new UserError(`${option}: ${key} is given twice`);
    seen.add(key);
    return [key, values];
  });
}

/** The spec of a key, which must be an option of train that takes a value. */
function specOf(key: string, specs: OptionSpecs, option: string): OptionSpec {
  if (Object.hasOwn(specs, key) && specs[key].kind !== 'flag') return specs[key];
  const names = Object.keys(specs).filter((name) => specs[name].kind !== 'flag');
  const near = names.find((name) => distance(name, key) <= 2);
  throw new UserError(`${option}: ${key} is not an option of train that a sweep can vary${near ? `; did you mean ${near}?` : ''} (the options are ${names.join(', ')})`);
}

/** A value checked as train checks `--key value`, as the plan keeps it (data absolute: lib/text/inputs.ts). */
function checked(key: string, raw: string, spec: OptionSpec, option: string): PlanValue {
  let value: PlanValue;
  try {
    value = parseOptions([`--${key}=${raw}`], { [key]: spec })[key] as PlanValue;
  } catch (error) {
    if (error instanceof UserError) throw new UserError(`${option}: ${error.message}`);
    throw error;
  }
  return key === 'data' ? absoluteValue(String(value)) : value;
}

function parseGrid(text: string, specs: OptionSpecs): [string, PlanValue[]][] {
  return splitSpec(text, '--grid').map(([key, values]) => {
    const spec = specOf(key, specs, '--grid');
    const list = values.split(',');
    if (list.some((value) => value === '')) throw new UserError(`--grid: ${key}=${values} has an empty value`);
    return [key, list.map((value) => checked(key, value, spec, '--grid'))];
  });
}

/** "lo:hi" or "lo:hi:log" for a numeric option (integers for an integer option), "a,b,c" for any. */
function parseRanges(text: string, specs: OptionSpecs): [string, Range][] {
  return splitSpec(text, '--range').map(([key, values]) => {
    const spec = specOf(key, specs, '--range');
    const interval = /^([^:,]+):([^:,]+)(?::(.*))?$/.exec(values);
    if (!interval) {
      const list = values.split(',');
      if (list.some((value) => value === '')) throw new UserError(`--range: ${key}=${values} has an empty value`);
      return [key, { kind: 'list', values: list.map((value) => checked(key, value, spec, '--range')) }];
    }
    if (spec.kind !== 'integer' && spec.kind !== 'number') {
      throw new UserError(`--range: ${key} is not numeric; give a list to choose from (${key}=A,B,...)`);
    }
    const [, loText, hiText, scale] = interval;
    if (scale !== undefined && scale !== 'log') throw new UserError(`--range: ${key}=${values}: the scale must be log (or none, linear), got "${scale}"`);
    const lo = checked(key, loText, spec, '--range') as number;
    const hi = checked(key, hiText, spec, '--range') as number;
    if (lo > hi) throw new UserError(`--range: ${key}=${values}: the low end is above the high end`);
    if (scale === 'log' && lo <= 0) throw new UserError(`--range: ${key}=${values}: a log range must be above 0`);
    return [key, { kind: 'interval', lo, hi, log: scale === 'log', integer: spec.kind === 'integer' }];
  });
}

/** A key of the plan must not also be a common option, and --repeat varies the seed itself. */
function refuseTwice(keys: string[], common: PlanRequest['common'], repeat: number): void {
  const twice = keys.find((key) => common[key] !== undefined);
  if (twice !== undefined) throw new UserError(`--${twice} is given to every run and also varied; give it one way`);
  if (repeat > 1 && keys.includes('seed')) throw new UserError('--repeat varies the seed; leave seed out of --grid and --range (or give --seed, the first seed)');
  const all = new Set([...keys, ...Object.keys(common)]);
  if (all.has('steps') && all.has('epochs')) throw new UserError('use either --steps or --epochs, not both');
}

/** Every combination of the grid's values, the first key varying slowest. */
function combinations(grid: [string, PlanValue[]][]): Record<string, PlanValue>[] {
  let points: Record<string, PlanValue>[] = [{}];
  for (const [key, values] of grid) points = points.flatMap((point) => values.map((value) => ({ ...point, [key]: value })));
  return points;
}

/** `count` settings drawn from the ranges by the project's generator seeded by `seed`: the same plan each time. */
function drawSettings(ranges: [string, Range][], count: number, seed: number): Record<string, PlanValue>[] {
  if (ranges.length === 0) return [{}];
  const rng = Rng.fromSeed(seed);
  return Array.from({ length: count }, () => Object.fromEntries(ranges.map(([key, range]) => [key, draw(range, rng)])));
}

function draw(range: Range, rng: Rng): PlanValue {
  const u = rng.uniform();
  if (range.kind === 'list') return range.values[Math.floor(u * range.values.length)];
  const { lo, hi, log, integer } = range;
  if (integer && !log) return lo + Math.floor(u * (hi - lo + 1));
  const x = log ? Math.exp(Math.log(lo) + u * (Math.log(hi) - Math.log(lo))) : lo + u * (hi - lo);
  // Four significant digits: a value a person can read and type (and within the range).
  const rounded = integer ? Math.round(x) : Number(x.toPrecision(4));
  return Math.min(hi, Math.max(lo, rounded));
}

/** The run's train arguments: its varied options, then the common ones (--seed is the first repeat's: varied wins). */
function trainArgs(varied: Record<string, PlanValue>, common: PlanRequest['common'], specs: OptionSpecs): string[] {
  const args: string[] = [];
  for (const [key, value] of [...Object.entries(varied), ...Object.entries(common).filter(([key]) => !(key in varied))]) {
    if (value === false) continue;
    // A duration was parsed to its seconds: given back as train reads it ("90" is refused, "1m30s" is not).
    const text = specs[key]?.kind === 'duration' ? formatSeconds(value as number) : String(value);
    args.push(`--${key}`, ...(value === true ? [] : [text]));
  }
  parseOptions(args, specs); // every value was checked; this keeps the list train's
  return args;
}
