// The symbols of a model and the text they spell (no Node APIs: the browser module uses it too).
import { UserError } from '../util/errors';
import { LIMITS } from '../model/limits';

/** Largest vocabulary: the model's (lib/model-limits.json), which an index array (Uint16Array) can hold. */
export const MAX_VOCABULARY = LIMITS.maxVocabulary;

/** The symbols of a model: whole Unicode code points, sorted by code point. */
export class Vocabulary {
  private readonly codePoints: Uint32Array;

  constructor(readonly symbols: readonly string[]) {
    this.codePoints = Uint32Array.from(symbols, (s) => s.codePointAt(0)!);
  }

  /** Checks a list read from a file: distinct single code points in increasing order. */
  static parse(value: unknown, source: string): Vocabulary {
    const ok =
      Array.isArray(value) &&
      value.length > 0 &&
      value.length <= MAX_VOCABULARY &&
      value.every(
        (s, i) =>
          typeof s === 'string' &&
          Array.from(s).length === 1 &&
          (i === 0 || s.codePointAt(0)! > (value[i - 1] as string).codePointAt(0)!)
      );
    if (!ok) throw new UserError(`${source}: the vocabulary must be 1 to ${MAX_VOCABULARY} distinct characters in code point order`);
    return new Vocabulary(value as string[]);
  }

  get size(): number {
    return this.symbols.length;
  }

  /** The symbol index of each character of text; throws a UserError listing unknown characters. */
  encode(text: string): Int32Array {
    const chars = Array.from(text);
    const out = new Int32Array(chars.length);
    const unknown = new Set<string>();
    chars.forEach((ch, i) => {
      const index = this.indexOf(ch.codePointAt(0)!);
      if (index < 0) unknown.add(ch);
      out[i] = index;
    });
    if (unknown.size > 0) {
      const list = [...unknown].map((ch) => JSON.stringify(ch)).join(', ');
      throw new UserError(`characters not in the vocabulary: ${list}`);
    }
    return out;
  }

  decode(symbols: ArrayLike<number>): string {
    let text = '';
    for (let i = 0; i < symbols.length; i++) {
      const symbol = this.symbols[symbols[i]];
      if (symbol === undefined || !Number.isInteger(symbols[i])) {
        throw new UserError(`symbol ${symbols[i]} (at ${i}) is not in the vocabulary of ${this.symbols.length} symbols`);
      }
      text += symbol;
    }
    return text;
  }

  /** Binary search over the sorted code points; −1 when absent. */
  indexOf(cp: number): number {
    let lo = 0;
    let hi = this.codePoints.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      if (this.codePoints[mid] === cp) return mid;
      if (this.codePoints[mid] < cp) lo = mid + 1;
      else hi = mid - 1;
    }
    return -1;
  }
}
