// Beam search: the most likely continuations of a given length, their log-probabilities summed in
// float64. Each step keeps the `width` best of every beam's continuations; ties go to the
// continuation whose symbols come first (the lower ids first), so the result is one text.
import { NextSymbolModel, StreamState } from './model-backend';

export interface Beam {
  symbols: Int32Array;
  /** Σ log p of the symbols, in nats. */
  logProb: number;
}

interface Live {
  /** The beam's last symbol and the beam before it (a shared history, not copied at each step). */
  last: number;
  parent: Live | undefined;
  /** Its rank among the live beams in the order of their symbols (lower ids first). */
  lexRank: number;
  logProb: number;
  /** The state before `input` was fed; the next step feeds it. */
  state: StreamState;
  input: number;
}

/** The `count` best of the `width` beams after `length` symbols from `start` (the first input `input`). */
export function beamSearch(model: NextSymbolModel, start: StreamState, input: number, length: number, width: number, count: number): Beam[] {
  let beams: Live[] = [{ last: -1, parent: undefined, lexRank: 0, logProb: 0, state: start, input }];
  for (let t = 0; t < length; t++) {
    const candidates: Candidate[] = [];
    for (const beam of beams) {
      const { logProbs, state } = model.next(beam.state, beam.input);
      logProbs.forEach((lp, symbol) => candidates.push({ parent: beam, symbol, logProb: beam.logProb + lp, state }));
    }
    // Histories of one length compare as their parents' histories, then their last symbols.
    const bySymbols = (a: Candidate, b: Candidate) => a.parent.lexRank - b.parent.lexRank || a.symbol - b.symbol;
    candidates.sort((a, b) => b.logProb - a.logProb || bySymbols(a, b));
    const kept = candidates.slice(0, width);
    const ranks = new Map([...kept].sort(bySymbols).map((c, i) => [c, i]));
    beams = kept.map((c) => ({ last: c.symbol, parent: c.parent, lexRank: ranks.get(c)!, logProb: c.logProb, state: c.state, input: c.symbol }));
  }
  return beams.slice(0, count).map((beam) => ({ symbols: historyOf(beam, length), logProb: beam.logProb }));
}

interface Candidate {
  parent: Live;
  symbol: number;
  logProb: number;
  state: StreamState;
}

/** A beam's symbols, first to last. */
function historyOf(beam: Live, length: number): Int32Array {
  const symbols = new Int32Array(length);
  for (let at: Live | undefined = beam, i = length - 1; at !== undefined && i >= 0; at = at.parent, i--) symbols[i] = at.last;
  return symbols;
}
