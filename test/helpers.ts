// Shared by the tests: corpora and the backends' parameter comparison.
import { existsSync } from 'fs';
import path from 'path';
import { Corpus } from '../lib';

export const SHAKESPEARE = path.join(__dirname, '..', '..', 'shared', 'data', 'tinyshakespeare.txt');

/** tinyshakespeare when ../shared has it, else a generated English-like text of ~200 KB. */
export function trainingCorpus(): Corpus {
  if (existsSync(SHAKESPEARE)) return Corpus.fromFile(SHAKESPEARE);
  return Corpus.fromText(generatedText(200_000));
}

/** English-like words from a fixed linear congruential sequence: the same text every time. */
export function generatedText(characters: number): string {
  const words = ['the', 'king', 'and', 'queen', 'of', 'thy', 'love', 'shall', 'not', 'be', 'my', 'lord'];
  let text = '';
  let state = 1;
  while (text.length < characters) {
    state = (state * 1103515245 + 12345) % 2147483648;
    text += words[state % words.length] + (state % 7 === 0 ? '.\n' : ' ');
  }
  return text;
}

/** Text with characters outside the BMP, a flag (two code points), umlauts and CRLF line ends. */
export const UNICODE_TEXT =
  'Grüße 🙂 aus Köln\r\nzweite Zeile 🇩🇪 mit 𝄞\r\n€ und ü und 🙂 noch einmal\r\nThe end.\r\n';
