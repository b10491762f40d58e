// Words for the commands the CLI prints and emits.

/** The word as one POSIX shell word: as it is when that is safe, else single-quoted. */
export function shellWord(word: string): string {
  return /^[\w@%+=:,./-]+$/.test(word) ? word : `'${word.replace(/'/g, "'\\''")}'`;
}
