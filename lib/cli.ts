#!/usr/bin/env node
// The rnn-native command line: `train` and `gradcheck`. Bad input prints one line and exits 2.
import { Corpus } from './corpus';
import { demoText, DEMO_SOURCE } from './demo';
import { UserError } from './errors';
import { gradcheck, GRADCHECK_DEFAULTS, GradcheckResult } from './gradcheck';
import { PARAMETER_NAMES } from './layout';
import { optionHelp, OptionSpecs, parseOptions } from './options';
import { DEFAULTS, MAX_HIDDEN, Trainer } from './trainer';

const MAX_STEPS = 1e12;
/** Most updates per native call: bounds the losses buffer and keeps the process responsive. */
const MAX_CHUNK = 10000;

/** Targets of the gradient check: max relative error per parameter. */
export const GRADCHECK_TARGETS = { numeric: 1e-6, native: 1e-4 } as const;

const USAGE = `usage: rnn-native <command> [options]

commands:
  train       train a character-level RNN on a UTF-8 text (default: the built-in demo corpus)
  gradcheck   compare analytic gradients with finite differences and the native addon

Run "rnn-native <command> --help" for a command's options.`;

function loadCorpus(data: string | undefined): { corpus: Corpus; source: string } {
  if (data === undefined) return { corpus: Corpus.fromText(demoText(), DEMO_SOURCE), source: DEMO_SOURCE };
  return { corpus: Corpus.fromFile(data), source: data };
}

const seedSpec = { kind: 'integer', min: -Number.MAX_SAFE_INTEGER, max: Number.MAX_SAFE_INTEGER } as const;

const TRAIN_OPTIONS = {
  data: { kind: 'string', help: 'UTF-8 text file (default: the built-in demo corpus)' },
  steps: { kind: 'integer', min: 1, max: MAX_STEPS, help: 'number of updates (default 100000)' },
  hidden: { kind: 'integer', min: 1, max: MAX_HIDDEN, help: `hidden units m (default ${DEFAULTS.hidden})` },
  'seq-length': { kind: 'integer', min: 1, max: 1 << 20, help: `characters per update (default ${DEFAULTS.seqLength})` },
  eta: { kind: 'number', min: 1e-30, max: 1e6, help: `AdaGrad learning rate (default ${DEFAULTS.eta})` },
  sigma: { kind: 'number', min: 0, max: 1e3, help: `std. dev. of the initial weights (default ${DEFAULTS.sigma})` },
  seed: { ...seedSpec, help: `seed of the weights and samples (default ${DEFAULTS.seed})` },
  backend: { kind: 'choice', choices: ['auto', 'native', 'ts'], help: 'native, ts, or auto (native if it loads; default)' },
  'log-every': { kind: 'integer', min: 1, max: MAX_STEPS, help: 'updates between log lines (default 100)' },
  'sample-every': { kind: 'integer', min: 0, max: MAX_STEPS, help: 'updates between samples, 0 = never (default 10000)' },
  'sample-length': { kind: 'integer', min: 1, max: 1e7, help: 'characters per sample (default 200)' },
  json: { kind: 'flag', help: 'print JSON lines, one object per event' },
} satisfies OptionSpecs;

const GRADCHECK_OPTIONS = {
  data: { kind: 'string', help: 'UTF-8 text file (default: the built-in demo corpus)' },
  hidden: { kind: 'integer', min: 1, max: 1024, help: `hidden units m (default ${GRADCHECK_DEFAULTS.hidden})` },
  'seq-length': { kind: 'integer', min: 1, max: 10000, help: `sequence length (default ${GRADCHECK_DEFAULTS.seqLength})` },
  step: { kind: 'number', min: 0, max: 1, exclusiveMin: true, help: `finite-difference step (default ${GRADCHECK_DEFAULTS.step})` },
  seed: { ...seedSpec, help: `seed of the weights (default ${GRADCHECK_DEFAULTS.seed})` },
  json: { kind: 'flag', help: 'print one JSON object of max relative errors' },
} satisfies OptionSpecs;

function printLine(line: string): void {
  process.stdout.write(line + '\n');
}

function warn(message: string): void {
  process.stderr.write(`rnn-native: warning: ${message}\n`);
}

function train(argv: string[]): number {
  const o = parseOptions(argv, TRAIN_OPTIONS);
  if (o.help) {
    printLine(`usage: rnn-native train [options]\n\n${optionHelp(TRAIN_OPTIONS)}`);
    return 0;
  }
  const steps = o.steps ?? 100000;
  const logEvery = o['log-every'] ?? 100;
  const sampleEvery = o['sample-every'] ?? 10000;
  const sampleLength = o['sample-length'] ?? 200;
  const json = o.json ?? false;

  const { corpus, source } = loadCorpus(o.data);
  const trainer = new Trainer(corpus, {
    hidden: o.hidden,
    seqLength: o['seq-length'],
    eta: o.eta,
    sigma: o.sigma,
    seed: o.seed,
    backend: o.backend as 'auto' | 'native' | 'ts' | undefined,
  });
  if (trainer.backendWarning) warn(trainer.backendWarning);
  const { hidden, seqLength, backend } = trainer.config;
  if (!json) {
    printLine(
      `training on ${source}: ${corpus.length} characters, K=${corpus.vocabSize}, m=${hidden}, ` +
        `seq-length ${seqLength}, ${steps} updates, ${backend} backend`
    );
  }

  const started = process.hrtime.bigint();
  const elapsed = () => Number(process.hrtime.bigint() - started) / 1e9;
  while (trainer.step < steps) {
    const next = Math.min(nextStop(trainer.step, steps, logEvery, sampleEvery), trainer.step + MAX_CHUNK);
    trainer.train(next - trainer.step);
    const step = trainer.step;
    if (step % logEvery === 0 || step === steps) {
      const event = { event: 'log', step, epoch: trainer.epoch, loss: trainer.lastLoss!, smoothLoss: trainer.smoothLoss! };
      printLine(
        json
          ? JSON.stringify(event)
          : `step ${step}  epoch ${event.epoch}  loss ${event.loss.toFixed(3)}  smooth loss ${event.smoothLoss.toFixed(3)}`
      );
    }
    if (sampleEvery > 0 && step % sampleEvery === 0) {
      const text = trainer.sample(sampleLength);
      printLine(
        json
          ? JSON.stringify({ event: 'sample', step, smoothLoss: trainer.smoothLoss, text })
          : `--- sample at step ${step}, smooth loss ${trainer.smoothLoss!.toFixed(3)} ---\n${text}\n---`
      );
    }
  }
  const seconds = elapsed();
  const done = { event: 'done', steps, seconds, updatesPerSecond: steps / seconds, smoothLoss: trainer.smoothLoss! };
  printLine(
    json
      ? JSON.stringify(done)
      : `done: ${steps} updates in ${seconds.toFixed(2)} s (${Math.round(done.updatesPerSecond)} updates/s), ` +
          `smooth loss ${done.smoothLoss.toFixed(3)}`
  );
  return 0;
}

/** The next step at which training pauses: a log line, a sample, or the end. */
function nextStop(step: number, steps: number, logEvery: number, sampleEvery: number): number {
  const nextMultiple = (every: number) => (Math.floor(step / every) + 1) * every;
  let stop = Math.min(steps, nextMultiple(logEvery));
  if (sampleEvery > 0) stop = Math.min(stop, nextMultiple(sampleEvery));
  return stop;
}

function runGradcheck(argv: string[]): number {
  const o = parseOptions(argv, GRADCHECK_OPTIONS);
  if (o.help) {
    printLine(`usage: rnn-native gradcheck [options]\n\n${optionHelp(GRADCHECK_OPTIONS)}`);
    return 0;
  }
  const { corpus, source } = loadCorpus(o.data);
  const options = { hidden: o.hidden, seqLength: o['seq-length'], step: o.step, seed: o.seed };
  const result = gradcheck(corpus, Object.fromEntries(Object.entries(options).filter(([, v]) => v !== undefined)));
  const ok = gradcheckPasses(result);
  if (o.json) {
    const relative = (table: GradcheckResult['numeric'] | undefined) =>
      table ? Object.fromEntries(PARAMETER_NAMES.map((name) => [name, table[name].maxRelative])) : null;
    printLine(JSON.stringify({ numeric: relative(result.numeric), native: relative(result.native) }));
  } else {
    const settings = { ...GRADCHECK_DEFAULTS, ...Object.fromEntries(Object.entries(options).filter(([, v]) => v !== undefined)) };
    printLine(
      `gradient check on ${source} (K=${corpus.vocabSize}): m=${settings.hidden}, seq-length ${settings.seqLength}, ` +
        `h=${settings.step}, seed ${settings.seed}, h0 = 0, unclipped`
    );
    printLine(gradcheckTable(result));
    printLine(
      `targets: numeric ≤ ${GRADCHECK_TARGETS.numeric.toExponential()}, native ≤ ${GRADCHECK_TARGETS.native.toExponential()} (max relative error): ` +
        (ok ? 'OK' : 'NOT OK')
    );
  }
  if (result.nativeError) warn(`native gradients not checked: ${result.nativeError}`);
  return ok ? 0 : 1;
}

export function gradcheckPasses(result: GradcheckResult): boolean {
  return PARAMETER_NAMES.every(
    (name) =>
      result.numeric[name].maxRelative <= GRADCHECK_TARGETS.numeric &&
      (!result.native || result.native[name].maxRelative <= GRADCHECK_TARGETS.native)
  );
}

function gradcheckTable(result: GradcheckResult): string {
  const e = (x: number | undefined) => (x === undefined ? '-' : x.toExponential(2));
  const header = ['parameter', 'numeric rel.', 'numeric abs.', 'native rel.', 'native abs.'];
  const rows = PARAMETER_NAMES.map((name) => [
    name,
    e(result.numeric[name].maxRelative),
    e(result.numeric[name].maxAbsolute),
    e(result.native?.[name].maxRelative),
    e(result.native?.[name].maxAbsolute),
  ]);
  return [header, ...rows].map((row) => row.map((cell) => cell.padEnd(14)).join('').trimEnd()).join('\n');
}

export function main(argv: string[]): number {
  const [command, ...rest] = argv;
  try {
    switch (command) {
      case 'train':
        return train(rest);
      case 'gradcheck':
        return runGradcheck(rest);
      case undefined:
      case '--help':
      case '-h':
      case 'help':
        printLine(USAGE);
        return command === undefined ? 2 : 0;
      case '--version':
        printLine(require('../package.json').version);
        return 0;
      default:
        throw new UserError(`unknown command "${command}"; the commands are train and gradcheck (see --help)`);
    }
  } catch (error) {
    if (error instanceof UserError) {
      process.stderr.write(`rnn-native: ${error.message}\n`);
      return 2;
    }
    const message = error instanceof Error ? error.message : String(error);
    process.stderr.write(`rnn-native: internal error: ${message.split('\n')[0]}\n`);
    if (process.env.RNN_NATIVE_DEBUG) process.stderr.write(`${(error as Error).stack}\n`);
    return 1;
  }
}

if (require.main === module) {
  process.exitCode = main(process.argv.slice(2));
}
