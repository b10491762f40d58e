// The built-in demo corpus: a fixed ~1 MB slice of public text shipped by the nlp-corpus
// package (MIT): its sentences from builds/doc-0.json onward, in file order, one per line,
// stopping before the slice would pass DEMO_CHARACTERS. Nothing is downloaded at run time.
import { readFileSync } from 'fs';
import path from 'path';

export const DEMO_CHARACTERS = 1_000_000;
export const DEMO_SOURCE = 'the built-in demo corpus (nlp-corpus)';

let cached: string | undefined;

export function demoText(): string {
  if (cached !== undefined) return cached;
  // The package exports only its ESM entry; resolving it locates the package folder.
  const builds = path.join(path.dirname(require.resolve('nlp-corpus')), '..', '..', 'builds');
  const lines: string[] = [];
  let characters = 0;
  for (let doc = 0; ; doc++) {
    const sentences: string[] = JSON.parse(readFileSync(path.join(builds, `doc-${doc}.json`), 'utf8'));
    for (const sentence of sentences) {
      const size = Array.from(sentence).length + 1;
      if (characters + size > DEMO_CHARACTERS) {
        cached = lines.join('\n') + '\n';
        return cached;
      }
      lines.push(sentence);
      characters += size;
    }
  }
}
