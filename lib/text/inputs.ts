// The files that --data values name: a file, a folder (its files, recursively), or a glob. The
// files come in the order the values are given; a folder's or a glob's in code-point order of
// their paths. Names starting with "." and the directories of runs and sweeps are left out of
// folders, and links to folders are followed neither in folders nor by globs.
import { existsSync, lstatSync, readdirSync, realpathSync, statSync } from 'fs';
import path from 'path';
import { convertPathToPattern, globSync, isDynamicPattern } from 'tinyglobby';
import { UserError } from '../util/errors';
import { describeReadError } from '../util/files';

/** One file of a text collection, and whether it came from a folder (there, binary and empty files are skipped). */
export interface TextInput {
  path: string;
  inFolder: boolean;
}

/** The files of --data's values, in order; a value that names nothing, or one file twice, is a UserError. */
export function expandInputs(values: readonly string[]): TextInput[] {
  const inputs = values.flatMap(expandOne);
  refuseTwice(inputs, values);
  return inputs;
}

/**
 * A --data value as config.json and sweeps keep it, to be read from any folder: absolute, and for
 * a relative glob, the working folder escaped in front (its name may hold glob characters).
 */
export function absoluteValue(value: string): string {
  if (path.isAbsolute(value) || statOrUndefined(value) !== undefined || !isDynamicPattern(value)) return path.resolve(value);
  return `${convertPathToPattern(process.cwd())}/${value}`;
}

function expandOne(value: string): TextInput[] {
  if (value.includes('\0')) throw new UserError(`--data ${JSON.stringify(value)}: a path cannot hold a NUL byte`);
  const stat = statOrUndefined(value);
  if (stat?.isDirectory()) {
    const files = folderFiles(value);
    if (files.length === 0) throw new UserError(`${value}: no files in this folder (names starting with "." are left out)`);
    return files.map((file) => ({ path: file, inFolder: true }));
  }
  if (stat !== undefined || !isDynamicPattern(value)) return [{ path: value, inFolder: false }];
  const matched = globSync(value, { onlyFiles: true, dot: false, expandDirectories: false, followSymbolicLinks: false }).sort(byCodePoints);
  if (matched.length === 0) throw new UserError(`--data ${value}: no files match this pattern`);
  return matched.map((file) => ({ path: file, inFolder: false }));
}

/** The regular files under dir, recursively, sorted by path; links to files count as files. */
function folderFiles(dir: string): string[] {
  const files: string[] = [];
  const visit = (folder: string) => {
    let entries;
    try {
      entries = readdirSync(folder, { withFileTypes: true });
    } catch (error) {
      throw new UserError(`${folder}: ${describeReadError(error as NodeJS.ErrnoException)}`);
    }
    for (const entry of entries) {
      if (entry.name.startsWith('.')) continue;
      const full = path.join(folder, entry.name);
      if (entry.isDirectory() && !holdsRun(full)) visit(full);
      else if (entry.isFile() || (entry.isSymbolicLink() && statOrUndefined(full)?.isFile())) files.push(full);
    }
  };
  visit(dir);
  return files.sort(byCodePoints);
}

/** A run's or a sweep's directory (its logs and checkpoints are no text to train on). */
function holdsRun(dir: string): boolean {
  const has = (name: string) => existsSync(path.join(dir, name));
  return has('sweep.json') || (has('config.json') && (has('latest.safetensors') || has('loss.csv') || has('.lock')));
}

/** The same file reached twice (by a folder and by its name, say) would be trained on twice. */
function refuseTwice(inputs: TextInput[], values: readonly string[]): void {
  const seen = new Map<string, string>();
  for (const input of inputs) {
    const real = realOrSelf(input.path);
    const first = seen.get(real);
    if (first !== undefined) {
      const how = values.length > 1 ? ' (the --data values overlap)' : '';
      throw new UserError(`${input.path} is given twice${first === input.path ? '' : ` (also as ${first})`}${how}; give each file once`);
    }
    seen.set(real, input.path);
  }
}

function statOrUndefined(file: string) {
  try {
    return statSync(file);
  } catch {
    try {
      return lstatSync(file, { throwIfNoEntry: false }) ?? undefined;
    } catch {
      return undefined; // reading it reports the problem
    }
  }
}

function realOrSelf(file: string): string {
  try {
    return realpathSync(file);
  } catch {
    return path.resolve(file); // reading it reports the problem
  }
}

/** Code-point order (not the locale's): the same order on every machine. */
function byCodePoints(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
}
