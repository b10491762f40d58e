// What the command line writes: standard output, which a reader may close, and warnings.

/** Standard output, which a reader may close (`rnn-native train | head`): then nothing more is written. */
export const stdout = { closed: false };

export function writeOut(text: string): void {
  if (!stdout.closed) process.stdout.write(text);
}

export function printLine(line: string): void {
  writeOut(line + '\n');
}

export function warn(message: string): void {
  process.stderr.write(`rnn-native: warning: ${message}\n`);
}

/** Something worth knowing that needs no action, on stderr. */
export function note(message: string): void {
  process.stderr.write(`rnn-native: note: ${message}\n`);
}

/** Words joined by spaces into lines of fewer than `columns` characters (a word is never split). */
export function wrapWords(words: string[], columns: number | undefined): string {
  const width = (columns ?? 80) - 1;
  const lines: string[] = [];
  for (const word of words) {
    const last = lines.length - 1;
    if (last >= 0 && lines[last].length + 1 + word.length <= width) lines[last] += ` ${word}`;
    else lines.push(word);
  }
  return lines.join('\n');
}

/**
 * A progress line for a terminal of `columns` columns (80 when unknown): the first of `forms`,
 * longest first, within columns − 1 characters (a line that fills the last column wraps on some
 * terminals, and a wrapped line leaves a copy on each redraw), else the last form cut to fit.
 */
export function fitLine(forms: string[], columns: number | undefined): string {
  const width = Math.max(1, (columns || 80) - 1);
  const fits = forms.find((form) => Array.from(form).length <= width);
  return fits ?? Array.from(forms[forms.length - 1]).slice(0, width).join('');
}

/** The exit code of a command stopped by a signal: 128 + the signal's number, as shells report it. */
export function exitCodeOf(signal: string): number {
  return { SIGINT: 130, SIGPIPE: 141, SIGTERM: 143 }[signal as 'SIGINT' | 'SIGPIPE' | 'SIGTERM'] ?? 1;
}
