#!/usr/bin/env node
// The rnn-native command line. Bad input prints one line and exits 2; see README for the rest.
import { cacheCommand } from './cli/cache';
import { compareCommand } from './cli/compare';
import { exportCommand } from './cli/export';
import { gradcheckCommand } from './cli/gradcheck';
import { plotCommand } from './cli/plot';
import { reportCommand } from './cli/report';
import { sampleCommand } from './cli/sample';
import { scoreCommand } from './cli/score';
import { serveCommand } from './cli/serve';
import { sweepCommand } from './cli/sweep';
import { sweepTaskCommand } from './cli/sweep-task';
import { trainCommand } from './cli/train';
import { printLine, stdout } from './util/output';
import { UserError } from './util/errors';
import { VERSION } from './util/package';

const USAGE = `usage: rnn-native <command> [options]

commands:
  train       train a character-level RNN on a UTF-8 text (default: the built-in demo corpus)
  sample      generate text from a checkpoint
  score       how well a checkpoint predicts a text: nats and bits per character
  export      a checkpoint's model for ONNX, PyTorch or a web page
  gradcheck   compare analytic gradients with finite differences and the native addon
  plot        plot a run's loss: loss.svg and loss.png
  report      write a run's report: report.md and report.html
  sweep       train many settings: here, with GNU parallel or as a Slurm array
  sweep-task  run (or resume) one run of a sweep: what parallel and Slurm jobs call
  compare     compare runs and sweeps: a table, compare.md, compare.html and a loss plot
  cache       list or clear the token cache of big texts
  serve       a live web page of runs and sweeps: curves, samples, compare, generate

Run "rnn-native <command> --help" for a command's options.`;

async function run(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  switch (command) {
    case 'train':
      return trainCommand(rest);
    case 'sample':
      return sampleCommand(rest);
    case 'score':
      return scoreCommand(rest);
    case 'export':
      return exportCommand(rest);
    case 'gradcheck':
      return gradcheckCommand(rest);
    case 'plot':
      return plotCommand(rest);
    case 'report':
      return reportCommand(rest);
    case 'sweep':
      return sweepCommand(rest);
    case 'sweep-task':
      return sweepTaskCommand(rest);
    case 'cache':
      return cacheCommand(rest);
    case 'compare':
      return compareCommand(rest);
    case 'serve':
      return serveCommand(rest);
    case undefined:
    case '--help':
    case '-h':
    case 'help':
      printLine(USAGE);
      return command === undefined ? 2 : 0;
    case '--version':
      printLine(VERSION);
      return 0;
    default:
      throw new UserError(`unknown command "${command}"; the commands are train, sample, score, export, gradcheck, plot, report, sweep, sweep-task, compare, cache and serve (see --help)`);
  }
}

const OUT_OF_MEMORY = 'rnn-native: out of memory';

export async function main(argv: string[]): Promise<number> {
  try {
    return await run(argv);
  } catch (error) {
    if (error instanceof UserError) {
      process.stderr.write(`rnn-native: ${error.message}\n`);
      return 2;
    }
    const message = error instanceof Error ? error.message : String(error);
    // Both engines (the addon and the wasm module) report a failed allocation with this message:
    // not a bug, the machine's (or wasm's 4 GiB) memory, so it gets advice instead of "internal error".
    if (message === OUT_OF_MEMORY) {
      process.stderr.write(`${OUT_OF_MEMORY}: the model and its scratch space do not fit in this process's memory; a smaller --hidden, --layers, --batch or --seq-length needs less\n`);
      return 1;
    }
    process.stderr.write(`rnn-native: internal error: ${message.split('\n')[0]}\n`);
    if (process.env.RNN_NATIVE_DEBUG) process.stderr.write(`${(error as Error).stack}\n`);
    return 1;
  }
}

if (require.main === module) {
  // A closed pipe (`rnn-native train | head`) ends the output; training then stops as on a
  // signal, with a checkpoint (lib/cli/train.ts).
  process.stdout.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code !== 'EPIPE') throw error;
    stdout.closed = true;
  });
  main(process.argv.slice(2)).then((code) => {
    process.exitCode = code;
  });
}
