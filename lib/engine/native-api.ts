// The native addon's interface, written by hand so the compiler checks every call: the addon's
// (native/addon/) and the WebAssembly module's (lib/engine/wasm.ts), which both check every
// argument again (native/checks.cc) and throw TypeError / RangeError. lib/engine/native.ts loads
// them.
import type { OptimizerSettings } from '../model/optimizers';
import type { CellKind } from '../model/reference';

export type { CellKind };

/** The one model (native/kernels/model.h): what a Model works on, in place. */
export interface CompiledModelSpec {
  cell: CellKind;
  vocab: number;
  hidden: number;
  layers: number;
  /** B, the parallel streams of a block. */
  streams: number;
  /** The most steps a block may have (scratch is sized for it). */
  seqLength: number;
  /** lib/model/reference.ts parameterTable order, total length. */
  params: Float32Array;
  /** Same length as params. */
  grads: Float32Array;
  /** layers × streams × hidden, [l][b][j] row-major: the carried hidden states. */
  h: Float32Array;
  /** Same shape as h: lstm cell states (present, unused, for rnn/gru). */
  c: Float32Array;
}

/** The optimizer's settings, as lib/model/optimizers.ts takes them. */
export type CompiledOptimizerSettings = OptimizerSettings;

export interface CompiledModel {
  /** Loss of one block, Σ_t Σ_b −log p[y] / B. x, y: steps × streams symbols, [t][b] row-major, 1 ≤ steps ≤ seqLength. With gradients true, overwrites grads with the unclipped gradients. h and c are left holding the states after the block. dropout = 0 draws no masks; seed and update are safe integers (update ≥ 0). */
  forwardBackward(x: Int32Array, y: Int32Array, gradients: boolean, dropout: number, seed: number, update: number): number;
  /** One optimizer step of params from grads (clip first). second/first: the optimizer state (first may be length 0 unless adam); step: the step number of this update, from 1 (Adam's bias correction). */
  optimize(settings: CompiledOptimizerSettings, second: Float32Array, first: Float32Array, step: number): void;
  /**
   * losses.length updates in one call, the same numbers as forwardBackward (with gradients) then
   * optimize for each: update k trains on block k of x and y (steps × streams symbols each, [k][t][b]
   * row-major), its number firstUpdate + k serving as forwardBackward's update and optimize's step,
   * and writes its loss to losses[k]. h and c are zeroed first when reset. grads are left holding the
   * last block's gradients.
   */
  train(x: Int32Array, y: Int32Array, losses: Float64Array, reset: boolean, dropout: number, seed: number, firstUpdate: number, settings: CompiledOptimizerSettings, second: Float32Array, first: Float32Array): void;
  /** streams must be 1: feeds the symbols through the layers (no dropout), moving h and c. */
  advance(symbols: Int32Array): void;
  /**
   * streams must be 1: draws out.length symbols, the first input `first`, temperature 0 = argmax;
   * rng is the 4-word xoshiro128** state (lib/util/random.ts), updated. The other rules
   * (lib/model/sampling-rules.ts) are optional, off when undefined; `recent` holds the text's
   * last symbols before the draws (first among them) for the repetition penalty.
   */
  sample(first: number, temperature: number, rng: Uint32Array, out: Int32Array, topK?: number, topP?: number, minP?: number, repetitionPenalty?: number, repetitionWindow?: number, recent?: Int32Array): void;
  /** streams must be 1: feeds `input` (moving h and c), then writes the next symbol's log-probabilities into out (K, float64). */
  logProbs(input: number, out: Float64Array): void;
  /** forwardBackward's threads, 1 to LIMITS.maxThreads (lib/model/limits.ts; 1 when never called): the streams split into min(threads, streams) groups, one thread each; a model of one stream gives OpenBLAS the threads instead. */
  setThreads(threads: number): void;
}

export interface NativeAddon {
  /** The BLAS build in use. */
  blasInfo(): string;
  /** The limits the addon was compiled with (lib/model-limits.json). */
  limits(): Record<string, number>;
  /** The model over the spec's buffers (zero-copy); the spec is checked once, here. */
  Model: new (spec: CompiledModelSpec) => CompiledModel;
  /** The model's parameter table as the kernel computes it (lib/model/reference.ts parameterTable computes the same). */
  parameterTable(cell: CellKind, vocab: number, hidden: number, layers: number): { name: string; shape: number[]; offset: number; length: number }[];
  /** The matrix multiplies of one update (forwardBackward with gradients) of the model, recorded from the kernel: equal shapes grouped, in first-issued order. Arguments checked as a Model's spec. */
  matmulPlan(cell: CellKind, vocab: number, hidden: number, layers: number, streams: number, seqLength: number): Matmul[];
  /** The "sgemm-only ceiling" (docs/performance.md): the same multiplies alone through OpenBLAS on scratch operands, seconds per update (median of reps runs after a warm-up, 1 ≤ reps ≤ 10000) and FLOPs per update (Σ 2·m·n·k). Blocks the thread for about reps + 1 updates' multiplies. */
  matmulSeconds(cell: CellKind, vocab: number, hidden: number, layers: number, streams: number, seqLength: number, reps: number): { seconds: number; flops: number };
}

/** One group of equal matrix multiplies of an update: C (m × n) = op(A) (m × k) · op(B) (k × n), count times. */
export interface Matmul {
  m: number;
  n: number;
  k: number;
  transA: boolean;
  transB: boolean;
  count: number;
}

export type NativeLoad = { addon: NativeAddon; error?: undefined } | { addon?: undefined; error: string };
