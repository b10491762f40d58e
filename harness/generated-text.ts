// A generated text for tests and harnesses that need one without ../shared.

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
