// rnn-native train: a new run into --out, or a resumed one from --resume DIR.
import { existsSync } from 'fs';
import path from 'path';
import { BackendChoice } from '../backend';
import { readCheckpoint, RunRecord } from '../checkpoint';
import { Corpus } from '../corpus';
import { UserError } from '../errors';
import { checkValue, optionHelp, OptionSpecs, ParsedOptions, parseOptions } from '../options';
import { createReporter, OutputMode } from '../reporter';
import { Reporter, Run, RunOutcome, RunSettings } from '../run';
import { RunDir } from '../run-dir';
import { DEFAULTS, MAX_HIDDEN, Trainer, TrainerOptions } from '../trainer';
import { printLossChart } from '../chart';
import { loadCorpus, printLine, seedSpec, stdout, warn, writeOut } from './common';
import { reportAfterTraining } from './report';

const MAX_STEPS = 1e12;

const OPTIONS = {
  data: { kind: 'string', help: 'UTF-8 text file (default: the built-in demo corpus)' },
  steps: { kind: 'integer', min: 1, max: MAX_STEPS, help: 'train up to this many updates (default 100000)' },
  epochs: { kind: 'integer', min: 1, max: 1e6, help: 'train for this many passes over the text (instead of --steps)' },
  hidden: { kind: 'integer', min: 1, max: MAX_HIDDEN, help: `hidden units m (default ${DEFAULTS.hidden})` },
  'seq-length': { kind: 'integer', min: 1, max: 1 << 20, help: `characters per update (default ${DEFAULTS.seqLength})` },
  eta: { kind: 'number', min: 1e-30, max: 3.4e38, help: `AdaGrad learning rate (default ${DEFAULTS.eta})` },
  sigma: { kind: 'number', min: 0, max: 1e3, help: `std. dev. of the initial weights (default ${DEFAULTS.sigma})` },
  epsilon: { kind: 'number', min: 1e-30, max: 1, help: `AdaGrad epsilon (default ${DEFAULTS.epsilon})` },
  clip: { kind: 'number', min: 1e-30, max: 1e30, help: `gradients are clipped to [-clip, clip] (default ${DEFAULTS.clip})` },
  seed: { ...seedSpec, help: `seed of the weights and samples (default ${DEFAULTS.seed})` },
  backend: { kind: 'choice', choices: ['auto', 'native', 'ts'], help: 'native, ts, or auto (native if it loads; default)' },
  'log-every': { kind: 'integer', min: 1, max: MAX_STEPS, help: 'updates between loss.csv rows and log lines (default 100)' },
  'sample-every': { kind: 'integer', min: 0, max: MAX_STEPS, help: 'updates between samples, 0 = never (default 10000)' },
  'sample-length': { kind: 'integer', min: 1, max: 1e6, help: 'characters per sample (default 200)' },
  temperature: { kind: 'number', min: 0, max: 100, help: 'sampling temperature, 0 = argmax (default 1)' },
  out: { kind: 'string', help: 'run directory (default runs/<date-time>)' },
  'checkpoint-every': { kind: 'integer', min: 0, max: MAX_STEPS, help: 'updates between checkpoints, 0 = only at the end (default 10000)' },
  resume: { kind: 'string', help: 'continue the run in this directory from its latest.safetensors' },
  json: { kind: 'flag', help: 'print JSON lines, one object per event' },
  quiet: { kind: 'flag', help: 'print only the final line' },
  report: { kind: 'flag', help: 'at the end, write report.md and report.html into the run directory' },
} satisfies OptionSpecs;

type Options = ParsedOptions<typeof OPTIONS>;

const SETTING_DEFAULTS = { logEvery: 100, sampleEvery: 10000, sampleLength: 200, temperature: 1, checkpointEvery: 10000 };

/** Options that define the model: a resumed run must not change them. */
const MODEL_OPTIONS = [
  ['hidden', 'hidden'],
  ['seq-length', 'seqLength'],
  ['eta', 'eta'],
  ['sigma', 'sigma'],
  ['epsilon', 'epsilon'],
  ['clip', 'clip'],
  ['seed', 'seed'],
] as const;

interface Prepared {
  trainer: Trainer;
  dir: RunDir;
  settings: RunSettings;
  record: RunRecord;
}

export async function trainCommand(argv: string[]): Promise<number> {
  const o = parseOptions(argv, OPTIONS);
  if (o.help) {
    printLine(`usage: rnn-native train [options]\n       rnn-native train --resume DIR [options]\n\n${optionHelp(OPTIONS)}`);
    return 0;
  }
  if (o.steps !== undefined && o.epochs !== undefined) throw new UserError('use either --steps or --epochs, not both');
  if (o.json && o.quiet) throw new UserError('use either --json or --quiet, not both');
  if (o.resume !== undefined && o.out !== undefined) throw new UserError('--resume continues in its own directory; leave out --out');
  const mode: OutputMode = o.json ? 'json' : o.quiet ? 'quiet' : process.stdout.isTTY ? 'tty' : 'plain';

  const prepared = o.resume !== undefined ? prepareResume(o, o.resume, mode) : prepareNew(o, mode);
  const { trainer, dir, settings, record } = prepared;
  if (trainer.backendWarning) warn(trainer.backendWarning);
  if (mode === 'plain' || mode === 'tty') {
    const { hidden, seqLength, backend } = trainer.config;
    printLine(
      `${o.resume !== undefined ? `resuming ${dir.dir} at step ${trainer.step}` : `training into ${dir.dir}`}: ` +
        `${trainer.corpus.length} characters, K=${trainer.corpus.vocabSize}, m=${hidden}, seq-length ${seqLength}, ` +
        `up to step ${settings.steps}, ${backend} backend`
    );
  }

  // The step of latest.safetensors, for the line of a second signal: a resumed run starts from one.
  let checkpointStep = o.resume !== undefined ? trainer.step : undefined;
  const reporter = createReporter(mode);
  const tracked: Reporter = {
    event: (e) => {
      if (e.event === 'checkpoint') checkpointStep = e.step;
      reporter.event(e);
    },
    progress: (p) => reporter.progress(p),
  };
  let stopSignal: NodeJS.Signals | undefined;
  const onSignal = (signal: NodeJS.Signals) => {
    if (!stopSignal) {
      stopSignal = signal;
      return;
    }
    // A second signal: stop now, without the checkpoint (files are written atomically).
    if (mode === 'tty') writeOut('\r\x1b[K');
    process.stderr.write(`rnn-native: ${secondSignalLine(signal, trainer.step, checkpointStep, dir)}\n`);
    process.exit(exitCodeOf(signal));
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  let outcome: RunOutcome;
  try {
    const stopRequested = () => stopSignal ?? (stdout.closed ? 'SIGPIPE' : undefined);
    outcome = await new Run(trainer, dir, settings, record, tracked, stopRequested).execute();
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
  const code = finish(outcome, trainer, dir, mode);
  if (outcome.kind === 'done') {
    const verbose = mode === 'plain' || mode === 'tty';
    if (verbose) printLossChart(dir.dir, record.bestSmoothLoss);
    if (o.report) reportAfterTraining(dir.dir, verbose);
  }
  return code;
}

function finish(outcome: RunOutcome, trainer: Trainer, dir: RunDir, mode: OutputMode): number {
  if (mode === 'tty') writeOut('\r\x1b[K');
  switch (outcome.kind) {
    case 'done':
      return 0;
    case 'interrupted': {
      const why = outcome.signal === 'SIGPIPE' ? 'the output was closed' : `stopped by ${outcome.signal}`;
      if (mode === 'json') writeOut(JSON.stringify({ event: 'stopped', step: trainer.step, signal: outcome.signal, path: dir.latestPath }) + '\n');
      process.stderr.write(
        `rnn-native: ${why} at step ${trainer.step}; saved ${dir.latestPath}\n` +
          `rnn-native: resume with: npx rnn-native train --resume ${shellQuote(dir.dir)}\n`
      );
      return exitCodeOf(outcome.signal);
    }
    case 'diverged': {
      const kept =
        outcome.lastCheckpointStep !== undefined
          ? `the last good checkpoint, ${dir.latestPath}, is from step ${outcome.lastCheckpointStep}`
          : 'no checkpoint had been written yet';
      if (mode === 'json') {
        writeOut(JSON.stringify({ event: 'diverged', step: outcome.step, reason: outcome.what, checkpointStep: outcome.lastCheckpointStep ?? null }) + '\n');
      }
      process.stderr.write(
        `rnn-native: ${outcome.what} at step ${outcome.step}; training stopped and ${kept}. ` +
          `Try a new run with a lower --eta (this run: ${trainer.config.eta}).\n`
      );
      return 1;
    }
  }
}

/** What a second signal leaves: the last checkpoint (if any) and how to go on from it. */
function secondSignalLine(signal: NodeJS.Signals, step: number, checkpointStep: number | undefined, dir: RunDir): string {
  const stopped = `stopped by a second ${signal} at step ${step} without a new checkpoint`;
  if (checkpointStep === undefined) return `${stopped}; no checkpoint had been written yet, so there is nothing to resume`;
  return `${stopped}; the last checkpoint, ${dir.latestPath}, is from step ${checkpointStep}; resume with: npx rnn-native train --resume ${shellQuote(dir.dir)}`;
}

/** The directory as one shell word. */
function shellQuote(word: string): string {
  return /^[\w@%+=:,./-]+$/.test(word) ? word : `'${word.replace(/'/g, "'\\''")}'`;
}

/** 128 + the signal's number, as shells report it. */
function exitCodeOf(signal: NodeJS.Signals): number {
  return { SIGINT: 130, SIGPIPE: 141, SIGTERM: 143 }[signal as 'SIGINT' | 'SIGPIPE' | 'SIGTERM'] ?? 1;
}

/** Run settings: the command line's, else the run's saved ones (checked again), else defaults. */
function settingsFrom(o: Options, saved: Record<string, unknown>, steps: number): RunSettings {
  const pick = (flag: SettingFlag, key: keyof typeof SETTING_DEFAULTS): number => {
    const given = o[flag];
    if (given !== undefined) return given;
    if (saved[key] === undefined) return SETTING_DEFAULTS[key];
    return checkValue(`config.json: ${key}`, OPTIONS[flag], saved[key]) as number;
  };
  return {
    steps,
    logEvery: pick('log-every', 'logEvery'),
    sampleEvery: pick('sample-every', 'sampleEvery'),
    sampleLength: pick('sample-length', 'sampleLength'),
    temperature: pick('temperature', 'temperature'),
    checkpointEvery: pick('checkpoint-every', 'checkpointEvery'),
  };
}

type SettingFlag = 'log-every' | 'sample-every' | 'sample-length' | 'temperature' | 'checkpoint-every';

/** Updates in one epoch: windows start at 0, T, 2T, … while T + 1 characters remain. */
export function updatesPerEpoch(characters: number, seqLength: number): number {
  return Math.floor((characters - seqLength - 1) / seqLength) + 1;
}

function targetSteps(o: Options, corpus: Corpus, seqLength: number, saved: number | undefined): number {
  if (o.steps !== undefined) return o.steps;
  if (o.epochs !== undefined) return o.epochs * updatesPerEpoch(corpus.length, seqLength);
  return saved ?? 100000;
}

function prepareNew(o: Options, mode: OutputMode): Prepared {
  const { corpus } = loadCorpus(o.data, mode === 'tty');
  const options: TrainerOptions = {
    hidden: o.hidden,
    seqLength: o['seq-length'],
    eta: o.eta,
    sigma: o.sigma,
    epsilon: o.epsilon,
    clip: o.clip,
    seed: o.seed,
    backend: o.backend as BackendChoice | undefined,
  };
  const trainer = new Trainer(corpus, options);
  const settings = settingsFrom(o, {}, targetSteps(o, corpus, trainer.config.seqLength, undefined));
  // Only now, with every input checked, is anything written.
  const dir = RunDir.create(o.out ?? defaultOutDir());
  const { backend, ...model } = trainer.config;
  dir.writeConfig({
    version: require('../../package.json').version,
    data: o.data === undefined ? null : path.resolve(o.data),
    corpus: { sha256: corpus.sha256, characters: corpus.length, vocabSize: corpus.vocabSize },
    ...model,
    backend,
    ...settings,
    created: new Date().toISOString(),
  });
  const record: RunRecord = { corpusSha256: corpus.sha256, corpusCharacters: corpus.length, bestSmoothLoss: undefined, elapsedSeconds: 0 };
  return { trainer, dir, settings, record };
}

function prepareResume(o: Options, resume: string, mode: OutputMode): Prepared {
  const dir = RunDir.open(resume);
  const checkpoint = readCheckpoint(dir.latestPath);
  const saved = dir.readConfig();
  if (saved === undefined) warn(`${dir.configPath} is missing: the text is --data (else the demo corpus) and the settings are the defaults`);
  const config = saved ?? {};
  const data = o.data ?? (typeof config.data === 'string' ? config.data : undefined);
  const { corpus, source } = loadCorpus(data, mode === 'tty');
  if (corpus.sha256 !== checkpoint.run.corpusSha256) {
    throw new UserError(
      `${source} is not the text this run was trained on (SHA-256 ${corpus.sha256.slice(0, 12)}…, ` +
        `the run's ${checkpoint.run.corpusSha256.slice(0, 12)}…); give the original with --data`
    );
  }
  const model = checkpoint.training.config;
  const conflicts = MODEL_OPTIONS.filter(([flag, key]) => o[flag] !== undefined && o[flag] !== model[key]).map(
    ([flag, key]) => `--${flag} ${o[flag]} (the run has ${model[key]})`
  );
  if (conflicts.length > 0) throw new UserError(`cannot change the model of a resumed run: ${conflicts.join(', ')}`);

  // The run's own backend by default: the other one would continue, but not bit for bit.
  const backend = (o.backend ?? (config.backend === 'ts' ? 'ts' : 'auto')) as BackendChoice;
  const savedSteps = typeof config.steps === 'number' ? config.steps : undefined;
  const settings = settingsFrom(o, config, targetSteps(o, corpus, model.seqLength, savedSteps));
  const step = checkpoint.training.step;
  if (settings.steps <= step) {
    throw new UserError(`${dir.dir} is already at step ${step}; give --steps (or --epochs) beyond it to train on`);
  }
  const trainer = Trainer.restore(corpus, checkpoint.training, backend);
  // Only now, with every input checked, is anything written.
  dir.truncateAfter(step);
  const resumes = Array.isArray(config.resumed) ? config.resumed : [];
  const resumed = [...resumes, { at: new Date().toISOString(), step, backend: trainer.config.backend }];
  dir.writeConfig({ ...config, ...(saved ? {} : { data: data === undefined ? null : path.resolve(data) }), ...settings, resumed });
  return { trainer, dir, settings, record: checkpoint.run };
}

function defaultOutDir(): string {
  const stamp = new Date().toISOString().replace(/\.\d+Z$/, '').replace(/:/g, '-');
  let dir = path.join('runs', stamp);
  for (let n = 2; existsSync(dir); n++) dir = path.join('runs', `${stamp}-${n}`);
  return dir;
}
