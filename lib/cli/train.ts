// rnn-native train: a new run into --out, or a resumed one from --resume DIR.
import path from 'path';
import { MAX_STEPS, ModelConfig } from '../model/config';
import { formatSeconds } from '../util/option-values';
import { optionHelp, parseCommandLine } from '../util/options';
import { UserError } from '../util/errors';
import { createReporter, OutputMode } from '../run/reporter';
import { endEvent, Reporter, Run, RunOutcome } from '../run/run';
import { RunDir } from '../run/run-dir';
import { Trainer } from '../run/trainer';
import { InitFrom, prepareRun, setupWarnings, TRAIN_OPTIONS } from '../run/train-setup';
import { printLossChart } from '../report/chart';
import { exitCodeOf, note, printLine, stdout, warn, wrapWords, writeOut } from '../util/output';
import { shellWord } from '../util/shell';
import { OptionSpecs } from '../util/option-values';
import { servedRoots } from '../serve/runs';
import { RunningServer, startServer } from '../serve/server';
import { reportAfterTraining } from './report';

/** train's options, and --serve (the command line's only: not a sweep's, nor the library's). */
const TRAIN_COMMAND_OPTIONS = {
  ...TRAIN_OPTIONS,
  serve: { kind: 'flag', help: 'serve the run directory as rnn-native serve does (127.0.0.1, a free port), also after training, until Ctrl-C' },
} satisfies OptionSpecs;

/** " from FILE (step N)" for a run started from a trained model's weights. */
function startedFrom(initFrom: InitFrom | undefined): string {
  if (initFrom === undefined) return '';
  const relative = path.relative('.', initFrom.path);
  return ` from ${relative.startsWith('..') || path.isAbsolute(relative) ? initFrom.path : relative} (step ${initFrom.step})`;
}

/**
 * `resumeCommand`: what a stopped run tells the user to run to go on (a sweep's task gives its
 * sweep's); by default train --resume of the run directory.
 */
export async function trainCommand(argv: string[], resumeCommand?: string): Promise<number> {
  const { options: o, operands } = parseCommandLine(argv, TRAIN_COMMAND_OPTIONS, Number.MAX_SAFE_INTEGER);
  if (operands.length > 0) {
    throw new UserError(
      `unexpected argument "${operands[0]}": give each text with --data (repeat it), a folder, or a glob in quotes ` +
        `(--data 'texts/*.txt'; unquoted, the shell expands it into several arguments)`
    );
  }
  if (o.help) {
    printLine(`usage: rnn-native train [options]\n       rnn-native train --resume DIR [options]\n       rnn-native train --init-from RUN|CHECKPOINT --data TEXT [options]\n\n${optionHelp(TRAIN_COMMAND_OPTIONS)}`);
    return 0;
  }
  const mode: OutputMode = o.json ? 'json' : o.quiet ? 'quiet' : process.stdout.isTTY ? 'tty' : 'plain';

  const prepared = prepareRun(o, mode === 'tty');
  const { dir } = prepared;
  // On stderr: stdout may be --json's events.
  const server = o.serve ? await startServer({ roots: servedRoots([dir.dir]), host: '127.0.0.1', port: 0 }) : undefined;
  if (server) process.stderr.write(`rnn-native: serving ${dir.dir} at ${server.url}\n`);
  try {
    const code = await trainPrepared(o, mode, prepared, resumeCommand);
    if (!server) return code;
    dir.release(); // the page shows the run as ended, not training
    return await serveUntilStopped(server, dir.dir, code);
  } finally {
    await server?.close();
  }
}

/** After training, the server of --serve goes on until Ctrl-C (or SIGTERM); then train's own exit code. */
function serveUntilStopped(server: RunningServer, dir: string, code: number): Promise<number> {
  process.stderr.write(`rnn-native: training ended; still serving ${dir} at ${server.url} until Ctrl-C\n`);
  return new Promise((resolve) => {
    const stop = () => {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      resolve(code);
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
  });
}

async function trainPrepared(
  o: ReturnType<typeof parseCommandLine<typeof TRAIN_COMMAND_OPTIONS>>['options'],
  mode: OutputMode,
  prepared: ReturnType<typeof prepareRun>,
  resumeCommand: string | undefined
): Promise<number> {
  const { trainer, dir, settings, record } = prepared;
  for (const line of setupWarnings(o, prepared)) warn(line);
  if (prepared.evaluationPending) note(`the validation of step ${trainer.step} was stopped before it ended: it runs first`);
  if (mode === 'plain' || mode === 'tty') {
    const { seqLength, backend } = trainer.config;
    const fields = [
      `${o.resume !== undefined ? `resuming ${dir.dir} at step ${trainer.step}` : `training into ${dir.dir}`}${startedFrom(prepared.initFrom)}:`,
      ...(trainer.corpus.documents.length > 1 ? [`${trainer.corpus.documents.length} texts,`] : []),
      `${trainer.corpus.length} characters,`,
      ...(trainer.heldOutText.length > 0 ? [`${trainer.heldOutText.length} held out,`] : []),
      `K=${trainer.corpus.vocabSize},`,
      ...modelFields(trainer.config),
      `seq-length ${seqLength},`,
      `${extent(settings.steps, settings.time)},`,
      `${backend} backend`,
    ];
    printLine(mode === 'tty' ? wrapWords(fields, process.stdout.columns) : fields.join(' '));
    const legend = lossLegend(seqLength, trainer.config.batch).split(' ');
    printLine(mode === 'tty' ? wrapWords(legend, process.stdout.columns) : legend.join(' '));
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
    if (mode === 'json') writeOut(JSON.stringify({ event: 'stopped', step: trainer.step, signal, path: null, checkpointStep: checkpointStep ?? null }) + '\n');
    process.stderr.write(`rnn-native: ${secondSignalLine(signal, trainer.step, checkpointStep, dir, resumeCommand ?? resumeRun(dir))}\n`);
    process.exit(exitCodeOf(signal));
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  let outcome: RunOutcome;
  try {
    const stopRequested = () => stopSignal ?? (stdout.closed ? 'SIGPIPE' : undefined);
    outcome = await new Run(trainer, dir, settings, record, tracked, stopRequested).execute(prepared.evaluationPending);
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
  const code = finish(outcome, trainer, dir, mode, resumeCommand);
  if (outcome.kind === 'done') {
    const verbose = mode === 'plain' || mode === 'tty';
    if (verbose) printLossChart(dir.dir, record.bestSmoothLoss);
    if (o.report) reportAfterTraining(dir.dir, verbose);
  }
  return code;
}

function finish(outcome: RunOutcome, trainer: Trainer, dir: RunDir, mode: OutputMode, resumeCommand = resumeRun(dir)): number {
  if (mode === 'tty') writeOut('\r\x1b[K');
  switch (outcome.kind) {
    case 'done':
      return 0;
    case 'interrupted': {
      const why = outcome.signal === 'SIGPIPE' ? 'the output was closed' : `stopped by ${outcome.signal}`;
      if (mode === 'json') writeOut(JSON.stringify(endEvent(outcome, trainer.step, dir.latestPath)) + '\n');
      process.stderr.write(
        `rnn-native: ${why} at step ${trainer.step}; saved ${dir.latestPath}\n` +
          `rnn-native: resume with: ${resumeCommand}\n`
      );
      return exitCodeOf(outcome.signal);
    }
    case 'diverged': {
      const kept =
        outcome.lastCheckpointStep !== undefined
          ? `the last good checkpoint, ${dir.latestPath}, is from step ${outcome.lastCheckpointStep}`
          : 'no checkpoint had been written yet';
      if (mode === 'json') writeOut(JSON.stringify(endEvent(outcome, trainer.step, dir.latestPath)) + '\n');
      process.stderr.write(
        `rnn-native: ${outcome.what} at step ${outcome.step}; training stopped and ${kept}. ` +
          `Try a new run with a lower --eta (this run: ${trainer.config.eta}).\n`
      );
      return 1;
    }
  }
}

/** What a second signal leaves: the last checkpoint (if any) and how to go on from it. */
function secondSignalLine(signal: NodeJS.Signals, step: number, checkpointStep: number | undefined, dir: RunDir, resumeCommand: string): string {
  const stopped = `stopped by a second ${signal} at step ${step} without a new checkpoint`;
  if (checkpointStep === undefined) return `${stopped}; no checkpoint had been written yet, so there is nothing to resume`;
  return `${stopped}; the last checkpoint, ${dir.latestPath}, is from step ${checkpointStep}; resume with: ${resumeCommand}`;
}

/** What the figures of the log lines are. */
function lossLegend(seqLength: number, streams: number): string {
  const mean = streams > 1 ? ', mean over the streams' : '';
  return (
    `(loss: −Σ log p over a window of ${seqLength} characters, in nats${mean}; smooth loss: 0.999 × its last value + 0.001 × the loss; ` +
    `bits/char: smooth loss ÷ ${seqLength} ÷ ln 2)`
  );
}

/** How far the run goes: "up to step 5000", "for 10m" (a time budget alone), "up to step 5000 or 10m". */
function extent(steps: number, seconds: number): string {
  if (seconds === 0) return `up to step ${steps}`;
  return steps >= MAX_STEPS ? `for ${formatSeconds(seconds)}` : `up to step ${steps} or ${formatSeconds(seconds)}`;
}

/** The command that goes on with a stopped run. */
function resumeRun(dir: RunDir): string {
  return `npx rnn-native train --resume ${shellWord(dir.dir)}`;
}

/** The model in the header line: "lstm 2×128, batch 50, rmsprop η 0.002,". */
function modelFields(c: ModelConfig): string[] {
  return [`${c.cell} ${c.layers}×${c.hidden},`, `batch ${c.batch},`, ...(c.dropout > 0 ? [`dropout ${c.dropout},`] : []), `${c.optimizer} η ${c.eta},`];
}
