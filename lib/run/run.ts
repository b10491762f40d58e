// The training run: updates in short chunks (so signals and progress get through), the
// smooth-loss log, samples, checkpoints, and stopping on a signal or a non-finite loss.
import { Checkpoint, encodeCheckpoint, RunRecord } from './checkpoint';
import { RunConfig } from '../model/config';
import { writeFileAtomic } from '../util/files';
import { RunDir, validationsSinceBest } from './run-dir';
import { formatSeconds } from '../util/option-values';
import { Trainer } from './trainer';

/**
 * The run settings of lib/model/config.ts: steps (the step to train up to; a resumed run counts from its
 * checkpoint's step), logEvery, sampleEvery (0 = never), sampleLength, temperature, checkpointEvery
 * (0 = only at the end), time (the budget of this process in seconds, 0 = none), earlyStop (0 = never).
 */
export type RunSettings = RunConfig;

/** What ended a run that was not stopped: its last step, its time budget, or --early-stop. */
export type DoneReason = 'steps' | 'time' | 'early-stop';

export type RunEvent =
  | {
      event: 'log';
      step: number;
      epoch: number;
      loss: number;
      smoothLoss: number;
      elapsed: number;
      /** The smooth loss per character: ÷ seqLength (nats), and ÷ ln 2 (bits). */
      smoothNatsPerCharacter: number;
      smoothBitsPerCharacter: number;
    }
  | { event: 'val'; step: number; epoch: number; valLoss: number; best: boolean; elapsed: number }
  | { event: 'sample'; step: number; smoothLoss: number; text: string }
  | { event: 'checkpoint'; step: number; path: string; best: boolean }
  | {
      event: 'done';
      steps: number;
      seconds: number;
      updatesPerSecond: number;
      smoothLoss: number | undefined;
      /** The final smooth loss per character, in bits (undefined before any update). */
      smoothBitsPerCharacter?: number;
      bestSmoothLoss: number | undefined;
      /** With validation only. */
      bestValLoss?: number;
      out: string;
      /** Why the run ended (since 0.5.0), and the same as a person reads it: "time budget of 10m spent". */
      stop: DoneReason;
      reason: string;
    };

export interface Progress {
  step: number;
  steps: number;
  epoch: number;
  smoothLoss: number | undefined;
  /** The smooth loss per character, in bits. */
  smoothBitsPerCharacter?: number;
  updatesPerSecond: number;
  /** Seconds to go at the current speed, or of the time budget when that ends first. */
  eta: number;
  /** How much of the run is done, 0 to 1: of its steps, or of its time budget when that is further along. */
  fraction?: number;
  /** During a validation pass that takes long: the fraction of it done, 0 to 1. */
  validation?: number;
}

export interface Reporter {
  event(event: RunEvent): void;
  progress(progress: Progress): void;
}

/** What asks a run to stop before its last step: a signal, or the library's AbortSignal ('abort'). */
export type StopCause = NodeJS.Signals | 'abort';

export type RunOutcome =
  | { kind: 'done'; stop: DoneReason }
  | { kind: 'interrupted'; signal: StopCause }
  | { kind: 'diverged'; step: number; what: string; lastCheckpointStep: number | undefined };

/** How a run that did not reach its last step ended, as `train --json` prints it last. */
export type EndEvent =
  | { event: 'stopped'; step: number; signal: StopCause; path: string }
  | { event: 'diverged'; step: number; reason: string; checkpointStep: number | null };

/** The event of a stopped or diverged run at `step`; `latestPath`: the checkpoint a stop writes. */
export function endEvent(outcome: Exclude<RunOutcome, { kind: 'done' }>, step: number, latestPath: string): EndEvent {
  if (outcome.kind === 'interrupted') return { event: 'stopped', step, signal: outcome.signal, path: latestPath };
  return { event: 'diverged', step: outcome.step, reason: outcome.what, checkpointStep: outcome.lastCheckpointStep ?? null };
}

/** Seconds of work per chunk: short enough for a signal to be answered well within a second. */
const CHUNK_SECONDS = 0.1;
const MAX_CHUNK = 10000;
/** Seconds of a validation pass after which the live line shows its progress. */
const VALIDATION_PROGRESS_AFTER = 1;

export class Run {
  private readonly started = process.hrtime.bigint();
  private readonly startStep: number;
  /** Updates per chunk: starts at one (one update of a big model can take seconds) and adapts. */
  private chunk = 1;
  private lastCheckpointStep: number | undefined;
  private lastLogStep: number | undefined;
  /** Evaluations since the lowest validation loss, for --early-stop. */
  private validationsSinceBest = 0;

  constructor(
    private readonly trainer: Trainer,
    private readonly dir: RunDir,
    private readonly settings: RunSettings,
    private readonly record: RunRecord,
    private readonly reporter: Reporter,
    /** What asked the run to stop, if anything did. */
    private readonly stopRequested: () => StopCause | undefined
  ) {
    this.startStep = trainer.step;
    // A resumed run starts from a checkpoint of its own step.
    if (trainer.step > 0) this.lastCheckpointStep = trainer.step;
    if (settings.earlyStop > 0 && trainer.step > 0) this.validationsSinceBest = validationsSinceBest(dir.dir, trainer.step);
  }

  /** Seconds trained in this process. */
  private seconds(): number {
    return Number(process.hrtime.bigint() - this.started) / 1e9;
  }

  /**
   * The time budget is spent: checked between chunks, so an evaluation that has begun ends first
   * (a budget shorter than one pass would otherwise never get past it).
   */
  private timeSpent(): boolean {
    return this.settings.time > 0 && this.seconds() >= this.settings.time;
  }

  /** Trains to settings.steps; `evaluateFirst`: the evaluation of the starting step, which a stop interrupted, first. */
  async execute(evaluateFirst = false): Promise<RunOutcome> {
    const { trainer, settings } = this;
    if (evaluateFirst && this.validating) {
      const ended = await this.evaluate(trainer.step);
      if (ended) return ended;
    }
    while (trainer.step < settings.steps) {
      const signal = this.stopRequested();
      if (signal) {
        this.checkpoint();
        return { kind: 'interrupted', signal };
      }
      if (this.timeSpent()) return this.done('time');
      const chunkStarted = process.hrtime.bigint();
      const target = Math.min(this.nextStop(), trainer.step + this.chunk);
      const losses = trainer.train(target - trainer.step);
      const diverged = this.divergence(losses);
      if (diverged) return diverged;
      this.adaptChunk(losses.length, Number(process.hrtime.bigint() - chunkStarted) / 1e9);
      const stopped = await this.atStep(trainer.step);
      if (stopped) return stopped;
      this.reportProgress();
      // Let signal handlers and output run between chunks.
      await new Promise((resolve) => setImmediate(resolve));
    }
    return this.done('steps');
  }

  /** A row of loss.csv and its log event, at the current step. */
  private log(): void {
    const { trainer } = this;
    const smoothLoss = trainer.smoothLoss!;
    const row = { step: trainer.step, epoch: trainer.epoch, loss: trainer.lastLoss!, smoothLoss, elapsed: this.elapsed() };
    this.dir.appendLoss(row);
    this.lastLogStep = trainer.step;
    this.reporter.event({ event: 'log', ...row, ...perCharacter(smoothLoss, trainer.config.seqLength) });
  }

  /** The end of a run that was not stopped: its last step logged (as a run that reaches its steps logs it), its checkpoint, the done event. */
  private done(stop: DoneReason): RunOutcome {
    if (this.trainer.step > this.startStep && this.lastLogStep !== this.trainer.step) this.log();
    this.checkpoint();
    this.reporter.event(this.doneEvent(stop));
    return { kind: 'done', stop };
  }

  /**
   * A non-finite loss, or non-finite weights after a chunk (the last update's loss is computed
   * before its step, so it can be finite while the step overflowed).
   */
  private divergence(losses: Float64Array): RunOutcome | undefined {
    const { trainer } = this;
    const bad = losses.findIndex((loss) => !Number.isFinite(loss));
    const firstStep = trainer.step - losses.length + 1;
    if (bad >= 0) {
      return { kind: 'diverged', step: firstStep + bad, what: `the loss became ${losses[bad]}`, lastCheckpointStep: this.lastCheckpointStep };
    }
    if (!trainer.allFinite()) {
      return { kind: 'diverged', step: trainer.step, what: 'the weights overflowed', lastCheckpointStep: this.lastCheckpointStep };
    }
    return undefined;
  }

  /** The next step at which something other than training happens. */
  private nextStop(): number {
    const { step } = this.trainer;
    const next = (every: number) => (every > 0 ? (Math.floor(step / every) + 1) * every : Infinity);
    const { steps, logEvery, sampleEvery, checkpointEvery, evalEvery } = this.settings;
    return Math.min(steps, next(logEvery), next(sampleEvery), next(checkpointEvery), this.validating ? next(evalEvery) : Infinity);
  }

  /** Whether the run holds out text: then the validation loss decides best.safetensors. */
  private get validating(): boolean {
    return this.trainer.heldOutText.length > 0;
  }

  private adaptChunk(updates: number, seconds: number): void {
    if (seconds <= 0 || updates < this.chunk) return;
    const rate = updates / seconds;
    this.chunk = Math.max(1, Math.min(MAX_CHUNK, Math.round(rate * CHUNK_SECONDS)));
  }

  /** What happens at a step after its updates; a divergence found by the validation, or a stop during it, ends the run. */
  private async atStep(step: number): Promise<RunOutcome | undefined> {
    const { trainer, settings, dir } = this;
    const smoothLoss = trainer.smoothLoss!;
    if (step % settings.logEvery === 0 || step === settings.steps) this.log();
    if (settings.sampleEvery > 0 && step % settings.sampleEvery === 0) {
      const text = trainer.trainingSample(settings.sampleLength, settings.temperature);
      dir.appendSample(step, smoothLoss, text);
      this.reporter.event({ event: 'sample', step, smoothLoss, text });
    }
    // After the sample: a new best writes a checkpoint, which must hold the generator state after
    // the step's sample, and follow everything logged at its step (as a resume does not redo them).
    if (this.validating && (step % settings.evalEvery === 0 || step === settings.steps)) {
      const ended = await this.evaluate(step);
      if (ended) return ended;
    }
    if (settings.checkpointEvery > 0 && step % settings.checkpointEvery === 0 && step < settings.steps) {
      this.checkpoint();
    }
    return undefined;
  }

  /**
   * The validation loss: logged, reported, and a new best.safetensors when it is the lowest yet.
   * A pass over a big held-out text takes seconds: a signal is answered between its windows, as
   * between chunks of updates (the step's evaluation is then skipped; the checkpoint is written).
   */
  private async evaluate(step: number): Promise<RunOutcome | undefined> {
    const { trainer, dir, record } = this;
    const pass = trainer.validationPass()!;
    const started = process.hrtime.bigint();
    let yielded = started;
    let next = pass.next();
    for (; !next.done; next = pass.next()) {
      if (Number(process.hrtime.bigint() - yielded) / 1e9 < CHUNK_SECONDS) continue;
      // A pass that takes long shows how far it is on the live line.
      if (Number(process.hrtime.bigint() - started) / 1e9 >= VALIDATION_PROGRESS_AFTER) this.reportProgress(next.value);
      await new Promise((resolve) => setImmediate(resolve));
      yielded = process.hrtime.bigint();
      const signal = this.stopRequested();
      if (signal) {
        this.checkpoint(false, true);
        return { kind: 'interrupted', signal };
      }
    }
    const valLoss = next.value;
    // Finite weights can still overflow the forward pass (float32): that model is no best, and
    // val.csv takes only numbers.
    if (!Number.isFinite(valLoss)) {
      return { kind: 'diverged', step, what: `the validation loss became ${valLoss}`, lastCheckpointStep: this.lastCheckpointStep };
    }
    const best = record.bestValLoss === undefined || valLoss < record.bestValLoss;
    const row = { step, epoch: trainer.epoch, valLoss, elapsed: this.elapsed() };
    dir.appendVal(row);
    this.reporter.event({ event: 'val', ...row, best });
    if (best) {
      record.bestValLoss = valLoss;
      this.checkpoint(true);
    }
    this.validationsSinceBest = best ? 0 : this.validationsSinceBest + 1;
    const { earlyStop, steps } = this.settings;
    // At the last step the run ends anyway, as its steps say.
    if (earlyStop > 0 && this.validationsSinceBest >= earlyStop && step < steps) return this.done('early-stop');
    return undefined;
  }

  /** Training seconds over the whole run, resumes included. */
  private elapsed(): number {
    return this.record.elapsedSeconds + this.seconds();
  }

  /**
   * Writes latest.safetensors, and best.safetensors when the smooth loss is the lowest yet at a
   * checkpoint, or with validation, when evaluate() found the lowest validation loss (newBestVal).
   */
  /** `evaluationOwed`: written during the step's evaluation, which a resume must then do first (the file says so). */
  private checkpoint(newBestVal = false, evaluationOwed = false): void {
    const { trainer, dir, record } = this;
    if (trainer.step === this.lastCheckpointStep && !newBestVal && !evaluationOwed) return;
    const smoothLoss = trainer.smoothLoss;
    const lowerSmooth = smoothLoss !== undefined && (record.bestSmoothLoss === undefined || smoothLoss < record.bestSmoothLoss);
    const best = this.validating ? newBestVal : lowerSmooth;
    const checkpoint: Checkpoint = {
      training: trainer.snapshot(),
      run: { ...record, bestSmoothLoss: best ? smoothLoss : record.bestSmoothLoss, elapsedSeconds: this.elapsed(), ...(evaluationOwed ? { evaluationOwed } : {}) },
    };
    const bytes = encodeCheckpoint(checkpoint);
    // best first: latest records the best loss, so it must never name a best file not written.
    if (best) writeFileAtomic(dir.bestPath, bytes);
    writeFileAtomic(dir.latestPath, bytes);
    if (best) record.bestSmoothLoss = smoothLoss;
    this.lastCheckpointStep = trainer.step;
    this.reporter.event({ event: 'checkpoint', step: trainer.step, path: dir.latestPath, best });
  }

  /** `validation`: the fraction of a validation pass done, during one. */
  private reportProgress(validation?: number): void {
    const { trainer, settings } = this;
    const done = trainer.step - this.startStep;
    const seconds = this.seconds();
    const updatesPerSecond = seconds > 0 ? done / seconds : 0;
    const stepsEta = updatesPerSecond > 0 ? (settings.steps - trainer.step) / updatesPerSecond : Infinity;
    const timed = settings.time > 0;
    const eta = timed ? Math.min(stepsEta, Math.max(0, settings.time - seconds)) : stepsEta;
    const fraction = Math.min(1, Math.max(trainer.step / settings.steps, timed ? seconds / settings.time : 0));
    const bits = trainer.smoothLoss === undefined ? {} : { smoothBitsPerCharacter: perCharacter(trainer.smoothLoss, trainer.config.seqLength).smoothBitsPerCharacter };
    const during = validation === undefined ? {} : { validation };
    this.reporter.progress({ step: trainer.step, steps: settings.steps, epoch: trainer.epoch, smoothLoss: trainer.smoothLoss, ...bits, updatesPerSecond, eta, fraction, ...during });
  }

  private doneEvent(stop: DoneReason): RunEvent {
    const seconds = this.seconds();
    const updates = this.trainer.step - this.startStep;
    return {
      event: 'done',
      steps: this.trainer.step,
      seconds,
      updatesPerSecond: seconds > 0 ? updates / seconds : 0,
      smoothLoss: this.trainer.smoothLoss,
      ...(this.trainer.smoothLoss === undefined ? {} : { smoothBitsPerCharacter: perCharacter(this.trainer.smoothLoss, this.trainer.config.seqLength).smoothBitsPerCharacter }),
      bestSmoothLoss: this.record.bestSmoothLoss,
      ...(this.validating ? { bestValLoss: this.record.bestValLoss } : {}),
      out: this.dir.dir,
      stop,
      reason: this.reason(stop),
    };
  }

  private reason(stop: DoneReason): string {
    const { settings, trainer } = this;
    if (stop === 'time') return `time budget of ${formatSeconds(settings.time)} spent`;
    if (stop === 'early-stop') return `no lower validation loss in ${settings.earlyStop} evaluations`;
    return `reached step ${trainer.step}`;
  }
}

/** A window's loss (nats over seqLength characters) per character, in nats and bits. */
export function perCharacter(windowLoss: number, seqLength: number): { smoothNatsPerCharacter: number; smoothBitsPerCharacter: number } {
  const nats = windowLoss / seqLength;
  return { smoothNatsPerCharacter: nats, smoothBitsPerCharacter: nats / Math.LN2 };
}
