// The model's limits, defined once in native/limits.json: the addon is compiled with the same
// numbers (CMakeLists.txt) and checks them itself; a test compares them with the built addon's.
// eslint-disable-next-line @typescript-eslint/no-var-requires
const limits: Readonly<{
  maxHidden: number;
  maxVocabulary: number;
  maxSeqLength: number;
  /** Scratch values of one sequence: seqLength × (2·hidden + vocabulary) + hidden. */
  maxWorkspaceFloats: number;
  /** U, W, V, b and c together. */
  maxParameters: number;
}> = require('../native/limits.json');

export const LIMITS = Object.freeze({ ...limits });

/** Scratch values one sequence needs: h_0..h_T, dL/dh_t and the probabilities of each step. */
export function workspaceFloats(hidden: number, vocab: number, seqLength: number): number {
  return seqLength * (2 * hidden + vocab) + hidden;
}
