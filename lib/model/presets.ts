// Named model settings for `train --preset` and library callers: each is a set of options of
// lib/model/config.ts; the options given beside a preset win.
import { ModelConfig } from './config';

export const PRESETS = {
  /** The DD2424 assignment's model: the defaults. */
  dd2424: {},
  /**
   * char-rnn's defaults (Karpathy, train.lua): LSTM 2 × 128, 50 streams of 50 characters, RMSprop
   * at 2e-3 (decay 0.95), the rate × 0.97 per epoch after epoch 10, 5 % held out, clip 5.
   * char-rnn draws its weights from U(−0.08, 0.08), whose standard deviation is 0.08/√3 ≈ 0.046;
   * this draws them from N(0, 0.046²). Its LSTM forget-gate biases start at 1 (since 0.3.0).
   */
  'char-rnn': {
    cell: 'lstm',
    layers: 2,
    hidden: 128,
    batch: 50,
    seqLength: 50,
    optimizer: 'rmsprop',
    eta: 2e-3,
    rmsDecay: 0.95,
    lrDecay: 0.97,
    lrDecayAfter: 10,
    valFraction: 0.05,
    sigma: 0.046,
    forgetBias: 1,
    clip: 5,
  },
} as const satisfies Record<string, Partial<ModelConfig>>;

export type PresetName = keyof typeof PRESETS;
export const PRESET_NAMES = Object.keys(PRESETS) as PresetName[];
