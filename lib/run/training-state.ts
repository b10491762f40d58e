// The state of a training run: what the Trainer snapshots and a checkpoint holds.
import { ModelConfig } from '../model/config';

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
   * layers.l.Wh, layers.l.b, ..., V, c), the optimizer's second moment (AdaGrad's accumulators),
   * and the carried states h then c, each [layer][stream][unit].
   */
  params: Float32Array | Float64Array;
  accum: Float32Array | Float64Array;
  state: Float32Array | Float64Array;
  /** Adam's first moment (--optimizer adam only). */
  first?: Float32Array | Float64Array;
  /**
   * The checkpoint format the run writes: 1 for a run that started from a version-1 file (the
   * DD2424 model's names U, W, V, b, c), so that it keeps writing them; else 2 (the default).
   */
  checkpointVersion?: 1 | 2;
}
