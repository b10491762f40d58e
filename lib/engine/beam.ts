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
  symbols: number[];
  logProb: number;
  /** The state before `input` was fed; the next step feeds it. */
  state: StreamState;
  input: number;
}

/** The `count` best of the `width` beams after `length` symbols from `start` (the first input `input`). */
export function beamSearch(model: NextSymbolModel, start: StreamState, input: number, length: number, width: number, count: number): Beam[] {
  let beams: Live[] = [{ symbols: [], logProb: 0, state: start, input }];
  for (let t = 0; t < length; t++) {
    const candidates: { parent: Live; symbol: number; logProb: number; state: StreamState }[] = [];
    for (const beam of beams) {
      const { logProbs, state } = model.next(beam.state, beam.input);
      logProbs.forEach((lp, symbol) => candidates.push({ parent: beam, symbol, logProb: beam.logProb + lp, state }));
    }
    candidates.sort((a, b) => b.logProb - a.logProb || compareSymbols(a.parent.symbols, a.symbol, b.parent.symbols, b.symbol));
    beams = candidates.slice(0, width).map((c) => ({ symbols: [...c.parent.symbols, c.symbol], logProb: c.logProb, state: c.state, input: c.symbol }));
  }
  return beams.slice(0, count).map((beam) => ({ symbols: Int32Array.from(beam.symbols), logProb: beam.logProb }));
}

/** Orders two continuations (a parent's symbols, then one more) by their symbols, lower ids first. */
function compareSymbols(a: number[], lastA: number, b: number[], lastB: number): number {
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return a[i] - b[i];
  return lastA - lastB;
}
