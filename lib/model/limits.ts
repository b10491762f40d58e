// The model's limits, defined once in lib/model-limits.json: the addon and the WebAssembly module
// are compiled with the same numbers (CMakeLists.txt, scripts/build-wasm.sh) and check them
// themselves (native/checks.h); test/tables.test.ts compares them with both builds'.
import limits from '../model-limits.json';
import { GATES, ModelShape, parameterTable } from './reference';

export const LIMITS: Readonly<{
  maxHidden: number;
  maxVocabulary: number;
  maxSeqLength: number;
  /** Scratch values of a block (scratchFloats). */
  maxWorkspaceFloats: number;
  /** Every tensor of the parameter table together. */
  maxParameters: number;
  /** Layers. */
  maxLayers: number;
  /** Parallel streams B. */
  maxStreams: number;
  /** Threads a native model splits its streams among (--threads, Model.setThreads). */
  maxThreads: number;
}> = Object.freeze({ ...limits });

/** Scratch values one sequence needs: h_0..h_T, dL/dh_t and the probabilities of each step. */
export function workspaceFloats(hidden: number, vocab: number, seqLength: number): number {
  return seqLength * (2 * hidden + vocab) + hidden;
}

/**
 * Scratch floats a native Model of `streams` streams and blocks of up to seqLength steps
 * allocates (native/kernels/model.cc scratch_floats, the same sum), and the limit it must stay within.
 * With N = seqLength × streams, per layer: the states h_0..h_T (lstm: and c), the gates of every
 * step (gru: and Wh_n h'), the dropout masks and the dropped outputs; then one step's hidden
 * products, the logits, dPre (gru: and its dHidden copy), two N × m gradient blocks, dh and dc.
 */
export function scratchFloats(shape: ModelShape, streams: number, seqLength: number): { floats: number; limit: number } {
  const G = GATES[shape.cell];
  const { hidden: m, vocab: K, layers: L } = shape;
  const N = seqLength * streams;
  const states = (seqLength + 1) * streams * m;
  const perLayer = states * (shape.cell === 'lstm' ? 2 : 1) + N * G * m + (shape.cell === 'gru' ? N * m : 0) + 2 * N * m;
  const floats = L * perLayer + streams * G * m + N * K + N * G * m * (shape.cell === 'gru' ? 2 : 1) + 2 * N * m + 2 * streams * m;
  return { floats, limit: LIMITS.maxWorkspaceFloats };
}

/**
 * Scratch floats of a native Model split among `threads` threads (native/kernels/model.cc
 * SplitModel::scratch_floats, the same sum): each part's own model on its streams, its gathered
 * states and symbols, and for every part but the first a whole copy of the gradients.
 */
export function splitScratchFloats(shape: ModelShape, streams: number, seqLength: number, threads: number): { floats: number; limit: number } {
  const parts = Math.min(threads, streams);
  const parameters = parameterTable(shape).total;
  let floats = 0;
  for (let p = 0; p < parts; p++) {
    const count = Math.floor(streams / parts) + (p < streams % parts ? 1 : 0);
    floats += scratchFloats(shape, count, seqLength).floats;
    if (parts > 1) floats += 2 * shape.layers * count * shape.hidden + 2 * seqLength * count;
    if (p > 0) floats += parameters;
  }
  return { floats, limit: LIMITS.maxWorkspaceFloats };
}
