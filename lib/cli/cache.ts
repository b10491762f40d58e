// rnn-native cache: what the token cache holds, and clearing it.
import { optionHelp, parseOptions } from '../util/options';
import { OptionSpecs } from '../util/option-values';
import { printLine } from '../util/output';
import { cacheEntries, clearCache, defaultCacheDir } from '../text/token-cache';

const OPTIONS = {
  'cache-dir': { kind: 'string', help: 'the cache (default $XDG_CACHE_HOME/rnn-native or ~/.cache/rnn-native)' },
  clear: { kind: 'flag', help: 'remove every entry (a run reading one reads on)' },
  json: { kind: 'flag', help: 'one JSON object: dir, entries (key, bytes, symbols, documents, created), bytes' },
} satisfies OptionSpecs;

export function cacheCommand(argv: string[]): number {
  const o = parseOptions(argv, OPTIONS);
  if (o.help) {
    printLine(`usage: rnn-native cache [--clear] [options]\n\nthe token cache: texts of 32 MB or more, encoded once for every run on them\n\n${optionHelp(OPTIONS)}`);
    return 0;
  }
  const dir = o['cache-dir'] ?? defaultCacheDir();
  const entries = cacheEntries(dir);
  const bytes = entries.reduce((sum, e) => sum + e.bytes, 0);
  if (o.clear) {
    const freed = clearCache(dir);
    printLine(o.json ? JSON.stringify({ dir, cleared: entries.length, bytes: freed }) : `${dir}: removed ${entries.length} ${entries.length === 1 ? 'entry' : 'entries'}, ${megabytes(freed)}`);
    return 0;
  }
  if (o.json) {
    printLine(JSON.stringify({ dir, entries, bytes }));
    return 0;
  }
  printLine(`${dir}: ${entries.length} ${entries.length === 1 ? 'entry' : 'entries'}, ${megabytes(bytes)}`);
  for (const e of entries) {
    printLine(`  ${e.key.slice(0, 12)}  ${megabytes(e.bytes).padStart(10)}  ${e.symbols.toLocaleString('en-US')} symbols, ${e.documents} ${e.documents === 1 ? 'text' : 'texts'}, made ${e.created.slice(0, 16).replace('T', ' ')}`);
  }
  return 0;
}

const megabytes = (bytes: number) => `${(bytes / 1e6).toFixed(1)} MB`;
