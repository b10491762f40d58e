// The model's limits, defined once in lib/model-limits.json: the addon is compiled with the same
// numbers (CMakeLists.txt) and checks them itself; a test compares them with the built addon's.
import limits from './model-limits.json';

export const LIMITS: Readonly<{
  maxHidden: number;
  maxVocabulary: number;
  maxSeqLength: number;
  /** Scratch values of one sequence: seqLength × (2·hidden + vocabulary) + hidden. */
  maxWorkspaceFloats: number;
  /** U, W, V, b and c together. */
  maxParameters: number;
}> = Object.freeze({ ...limits });

/** Scratch values one sequence needs: h_0..h_T, dL/dh_t and the probabilities of each step. */
export function workspaceFloats(hidden: number, vocab: number, seqLength: number): number {
  return seqLength * (2 * hidden + vocab) + hidden;
}
