// The optimizers, in float64 over flat arrays: AdaGrad (min-char-rnn's and the DD2424 rule),
// RMSprop (char-rnn's) and Adam (torch-rnn's), each after the elementwise clip. Their state is
// plain arrays and a step count, so a checkpoint can hold it and a resume is exact.

export type OptimizerKind = 'adagrad' | 'rmsprop' | 'adam';

export interface OptimizerSettings {
  kind: OptimizerKind;
  /** Learning rate η. */
  eta: number;
  epsilon: number;
  /** Gradients are clipped to [−clip, clip] first. */
  clip: number;
  /** RMSprop's decay of the squared-gradient average (char-rnn: 0.95). */
  decay: number;
  /** Adam's β1 and β2 (0.9 and 0.999). */
  beta1: number;
  beta2: number;
}

export const OPTIMIZER_DEFAULTS: Record<OptimizerKind, Omit<OptimizerSettings, 'kind'>> = {
  adagrad: { eta: 0.1, epsilon: 1e-8, clip: 5, decay: 0, beta1: 0, beta2: 0 },
  rmsprop: { eta: 2e-3, epsilon: 1e-8, clip: 5, decay: 0.95, beta1: 0, beta2: 0 },
  adam: { eta: 2e-3, epsilon: 1e-8, clip: 5, decay: 0, beta1: 0.9, beta2: 0.999 },
};

/** What an optimizer carries from one update to the next. */
export interface OptimizerState {
  /** Updates taken (Adam's bias correction needs it). */
  steps: number;
  /** AdaGrad: Σ g²; RMSprop: the running mean of g²; Adam: the second moment v. */
  second: Float64Array;
  /** Adam: the first moment m (empty for the others). */
  first: Float64Array;
}

export function optimizerState(kind: OptimizerKind, size: number): OptimizerState {
  return { steps: 0, second: new Float64Array(size), first: new Float64Array(kind === 'adam' ? size : 0) };
}

/** One update of params from grads (not changed), clipping each gradient first. */
export function optimizerStep(o: OptimizerSettings, params: Float64Array, grads: Float64Array, state: OptimizerState): void {
  state.steps += 1;
  const { eta, epsilon, clip } = o;
  // Adam's bias corrections, folded into the step size as in Kingma & Ba, Algorithm 1.
  const correction1 = 1 - o.beta1 ** state.steps;
  const correction2 = 1 - o.beta2 ** state.steps;
  for (let j = 0; j < params.length; j++) {
    const g = Math.min(clip, Math.max(-clip, grads[j]));
    switch (o.kind) {
      case 'adagrad':
        state.second[j] += g * g;
        params[j] -= (eta * g) / Math.sqrt(state.second[j] + epsilon);
        break;
      case 'rmsprop':
        state.second[j] = o.decay * state.second[j] + (1 - o.decay) * g * g;
        params[j] -= (eta * g) / (Math.sqrt(state.second[j]) + epsilon);
        break;
      case 'adam': {
        state.first[j] = o.beta1 * state.first[j] + (1 - o.beta1) * g;
        state.second[j] = o.beta2 * state.second[j] + (1 - o.beta2) * g * g;
        const mHat = state.first[j] / correction1;
        const vHat = state.second[j] / correction2;
        params[j] -= (eta * mHat) / (Math.sqrt(vHat) + epsilon);
        break;
      }
    }
  }
}

/**
 * The learning rate of an epoch with char-rnn's decay: η, multiplied by `factor` once for each
 * epoch after `after` (epochs count from 1): epoch after + 1 runs at η·factor.
 */
export function decayedRate(eta: number, factor: number, after: number, epoch: number): number {
  return eta * factor ** Math.max(0, epoch - after);
}

/**
 * The most one update can move a parameter, in units of η, or undefined where no bound holds.
 * AdaGrad: |g|/√(Σg² + ε) ≤ 1. RMSprop: v ≥ (1 − ρ)g², so ≤ 1/√(1 − ρ). Adam (β1² < β2): by
 * Cauchy–Schwarz |m| ≤ (1 − β1)·√(v / ((1 − β2)(1 − β1²/β2))), and the bias corrections add at
 * most 1/(1 − β1): ≤ 1/√((1 − β2)(1 − β1²/β2)).
 */
export function maxStepPerEta(o: Pick<OptimizerSettings, 'kind' | 'decay' | 'beta1' | 'beta2'>): number | undefined {
  switch (o.kind) {
    case 'adagrad':
      return 1;
    case 'rmsprop':
      return 1 / Math.sqrt(1 - o.decay);
    case 'adam':
      return o.beta1 ** 2 < o.beta2 ? 1 / Math.sqrt((1 - o.beta2) * (1 - o.beta1 ** 2 / o.beta2)) : undefined;
  }
}
