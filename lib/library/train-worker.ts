// The worker thread of the library's train() (lib/library/train-async.ts): the run that
// `rnn-native train --json` makes (lib/run/train-setup.ts, lib/run/run.ts), its events posted to
// the main thread instead of printed, and stopped with a checkpoint when the main thread asks.
import { parentPort, workerData } from 'worker_threads';
import { endEvent, Run } from '../run/run';
import { prepareRun, setupWarnings, TrainFlags } from '../run/train-setup';
import { UserError } from '../util/errors';
import { note, warn } from '../util/output';
import type { ToMain, ToWorker, TrainResult, TrainEvent } from './train-async';

const port = parentPort!;
let stopAsked = false;
port.on('message', (message: ToWorker) => {
  if (message.type === 'stop') stopAsked = true;
});
// The port does not keep the thread alive: it ends when the run has ended.
port.unref();

const post = (message: ToMain) => port.postMessage(message);

async function train(flags: TrainFlags): Promise<TrainResult> {
  const prepared = prepareRun(flags, false);
  const { trainer, dir, settings, record } = prepared;
  for (const line of setupWarnings(flags, prepared)) warn(line);
  if (prepared.evaluationPending) note(`the validation of step ${trainer.step} was stopped before it ended: it runs first`);
  let last: TrainEvent | undefined;
  const report = (event: TrainEvent) => {
    last = event;
    post({ type: 'event', event });
  };
  const reporter = { event: report, progress: () => {} };
  const outcome = await new Run(trainer, dir, settings, record, reporter, () => (stopAsked ? 'abort' : undefined)).execute(prepared.evaluationPending);
  if (outcome.kind !== 'done') report(endEvent(outcome, trainer.step, dir.latestPath));
  const status = outcome.kind === 'done' ? 'done' : outcome.kind === 'interrupted' ? 'stopped' : 'diverged';
  return { status, out: dir.dir, step: trainer.step, last: last! };
}

train(workerData as TrainFlags).then(
  (result) => post({ type: 'result', result }),
  (error: Error) => post({ type: 'error', message: error.message, userError: error instanceof UserError, stack: error.stack })
);
