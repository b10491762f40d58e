// The state of a training run: what the Trainer snapshots and a checkpoint holds.
import { ModelConfig } from '../model/config';
import { UserError } from '../util/errors';

type Flat = Float32Array | Float64Array;

/** Everything a run needs to continue exactly where it stopped (lib/run/checkpoint.ts stores it). */
export interface TrainingState {
  config: ModelConfig;
  vocabulary: readonly string[];
  step: number;
  epoch: number;
  position: number;
  smoothLoss: number | undefined;
  lastLoss: number | undefined;
  rngState: Uint32Array;
  /**
   * In the backend's precision: the parameters in the model's table order (layers.l.Wx,
   * layers.l.Wh, layers.l.b, ..., V, c), the optimizer's second moment `second` (AdaGrad's Σg²,
   * RMSprop's mean of g², Adam's v), and the carried states h then c, each [layer][stream][unit].
   */
  params: Flat;
  second: Flat;
  /** @deprecated The same array as `second`, under its name before 0.5.0 (still read when `second` is absent). */
  accum: Flat;
  state: Flat;
  /** Adam's first moment (--optimizer adam only). */
  first?: Flat;
  /**
   * The checkpoint format the run writes: 1 for a run that started from a version-1 file (the
   * DD2424 model's names U, W, V, b, c), so that it keeps writing them; else 2 (the default).
   */
  checkpointVersion?: 1 | 2;
  /**
   * The largest |parameter| the run started from, for a run started from a trained model's weights
   * (Trainer.fromWeights, train --init-from): what its updates move on from instead of the σ
   * draws. Absent for a run started from random weights.
   */
  initialMaxWeight?: number;
}

/** A saved state as Trainer.restore and writeCheckpoint take it: `second`, or only its deprecated name `accum`. */
export type SavedState = Omit<TrainingState, 'second' | 'accum'> & ({ second: Flat; accum?: Flat } | { second?: Flat; accum: Flat });

/**
 * The second moment of a saved state and the name it was given by: `second`, else `accum`.
 * Both given must hold the same values (a snapshot gives one array under both names).
 */
export function secondMoment(saved: SavedState, what: string): { name: 'second' | 'accum'; values: Flat } {
  const { second, accum } = saved;
  // Two arrays of other values are a conflict; anything else is `second`'s to be checked as it is.
  if (typed(second) && typed(accum) && second !== accum && !sameValues(second, accum)) {
    throw new UserError(`${what}: second and accum (its deprecated name) differ: give second only`);
  }
  return second !== undefined ? { name: 'second', values: second } : { name: 'accum', values: accum! };
}

const typed = (v: unknown): v is Flat => v instanceof Float32Array || v instanceof Float64Array;

function sameValues(a: Flat, b: Flat): boolean {
  return a.length === b.length && a.every((v, i) => Object.is(v, b[i]));
}
