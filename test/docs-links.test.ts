// The documentation's links lead somewhere: every relative link of README.md and docs/*.md names a
// file that exists and, with a #fragment, a heading of that file (GitHub's anchors); and every
// docs/*.md a source comment cites exists, with the heading it quotes (docs/sweeps.md "Slurm").
import assert from 'assert';
import { existsSync, readdirSync, readFileSync, statSync } from 'fs';
import path from 'path';

const root = path.join(__dirname, '..');

const pages = ['README.md', ...readdirSync(path.join(root, 'docs')).filter((name) => name.endsWith('.md')).map((name) => `docs/${name}`)];

/** The text outside fenced code blocks, line by line (code lines blanked, so line numbers hold). */
function prose(file: string): string[] {
  let fenced = false;
  return readFileSync(path.join(root, file), 'utf8').split('\n').map((line) => {
    if (/^\s*```/.test(line)) {
      fenced = !fenced;
      return '';
    }
    return fenced ? '' : line;
  });
}

/** GitHub's anchor of a heading: lower case, punctuation dropped, spaces to hyphens; repeats get -1, -2, … */
function anchors(file: string): Set<string> {
  const seen = new Map<string, number>();
  const result = new Set<string>();
  for (const line of prose(file)) {
    const heading = /^#{1,6}\s+(.*?)\s*#*\s*$/.exec(line);
    if (!heading) continue;
    const text = heading[1].replace(/\[([^\]]*)\]\([^)]*\)/g, '$1');
    const slug = text.toLowerCase().replace(/[^\p{L}\p{N}\s_-]/gu, '').replace(/\s/g, '-');
    const n = seen.get(slug) ?? 0;
    seen.set(slug, n + 1);
    result.add(n === 0 ? slug : `${slug}-${n}`);
  }
  return result;
}

/** Where a link from `from` to `target` is broken, or undefined when it leads somewhere. */
function broken(from: string, target: string): string | undefined {
  const [file, fragment] = target.split('#', 2) as [string, string | undefined];
  const to = file === '' ? from : path.posix.normalize(path.posix.join(path.posix.dirname(from), decodeURI(file)));
  if (to.startsWith('..') || !existsSync(path.join(root, to))) return `no file ${to}`;
  if (fragment === undefined) return undefined;
  if (!to.endsWith('.md') || statSync(path.join(root, to)).isDirectory()) return `#${fragment} in a file that is not Markdown`;
  return anchors(to).has(fragment) ? undefined : `no heading #${fragment} in ${to}`;
}

describe('documentation links', () => {
  it('every relative link of README.md and docs/*.md names an existing file and heading', () => {
    const failures: string[] = [];
    let links = 0;
    for (const page of pages) {
      prose(page).forEach((line, i) => {
        const text = line.replace(/`[^`]*`/g, '');
        for (const [, target] of text.matchAll(/\]\(([^)\s]+)(?:\s+"[^"]*")?\)/g)) {
          if (/^[a-z][a-z0-9+.-]*:/i.test(target)) continue; // https:, mailto:
          links++;
          const why = broken(page, target);
          if (why) failures.push(`${page}:${i + 1}: (${target}): ${why}`);
        }
      });
    }
    assert.deepStrictEqual(failures, []);
    assert.ok(links > 20, `only ${links} links found: is the link pattern still right?`);
  });

  it('every docs/*.md cited in lib/, scripts/, test/, native/, harness/ and .ci/ exists, with the heading quoted', () => {
    const failures: string[] = [];
    const sources = (dir: string): string[] =>
      readdirSync(path.join(root, dir), { withFileTypes: true }).flatMap((entry) => {
        const rel = `${dir}/${entry.name}`;
        if (entry.isDirectory()) return entry.name === 'golden' ? [] : sources(rel);
        return /\.(ts|js|cc|h|sh)$|^run$/.test(entry.name) ? [rel] : [];
      });
    for (const file of ['lib', 'scripts', 'test', 'native', 'harness', '.ci'].flatMap(sources)) {
      const source = readFileSync(path.join(root, file), 'utf8');
      for (const [, doc, heading] of source.matchAll(/\bdocs\/([\w-]+\.md)(?: "([^"]+)")?/g)) {
        const target = `docs/${doc}`;
        if (!existsSync(path.join(root, target))) failures.push(`${file}: ${target}: no such file`);
        else if (heading !== undefined && !prose(target).some((line) => new RegExp(`^#{1,6}\\s+${heading.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\s*$`).test(line))) {
          failures.push(`${file}: ${target} "${heading}": no such heading`);
        }
      }
    }
    assert.deepStrictEqual(failures, []);
  });
});
