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
