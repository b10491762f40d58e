// Writing an export's files into its output directory without ever replacing a file that an
// export did not write: the directory must be new, empty, or an earlier export of the same format
// (its manifest lists what that export wrote; only those files are replaced or removed).
//
// The manifest is written first, listing the earlier and the new files, so that an export
// stopped half-way leaves a directory the next export takes; the files are then staged (each as
// a temporary file) and only when all are written put in place, so that a failure while writing
// leaves the earlier export whole. Last, the earlier export's other files go and the manifest
// lists this export's alone.
import { existsSync, lstatSync, readdirSync, readFileSync, statSync, unlinkSync } from 'fs';
import path from 'path';
import { UserError } from '../util/errors';
import { AtomicWriter, makeDirectory, writeFileAtomic } from '../util/files';
import { ExportFile } from './exported-model';
import { VERSION } from '../util/package';
import { processAlive } from '../util/processes';

/** The manifest of an export directory: the format and the files written. */
export const MANIFEST = 'rnn-native-export.json';

interface Manifest {
  format: string;
  files: string[];
  created_by: string;
}

/** A name an export may write: a plain file name in the directory. */
const isPlainName = (name: string) => name !== '' && name !== '.' && name !== '..' && !/[/\\\0]/.test(name) && name !== MANIFEST;

/** The files an earlier export of `format` wrote into `dir`, or a UserError when `dir` holds anything else. */
function writtenBefore(dir: string, format: string): string[] {
  if (!existsSync(dir)) return [];
  if (!statSync(dir).isDirectory()) throw new UserError(`--out ${dir} is a file, not a directory`);
  const present = readdirSync(dir);
  if (present.length === 0) return [];
  if (!present.includes(MANIFEST)) {
    throw new UserError(`--out ${dir} is not empty and holds no ${MANIFEST} (it is no export's directory): choose a new or empty directory`);
  }
  const file = path.join(dir, MANIFEST);
  let manifest: unknown;
  try {
    manifest = JSON.parse(readFileSync(file, 'utf8'));
  } catch (error) {
    throw new UserError(`${file} is not an export manifest (${(error as Error).message}): choose a new or empty directory`);
  }
  const files = (manifest as Partial<Manifest> | null)?.files;
  if (!Array.isArray(files) || !files.every((name) => typeof name === 'string')) {
    throw new UserError(`${file} is not an export manifest (no list of files): choose a new or empty directory`);
  }
  const earlier = (manifest as Partial<Manifest>).format;
  if (typeof earlier !== 'string') throw new UserError(`${file} is not an export manifest (no format): choose a new or empty directory`);
  if (earlier !== format) throw new UserError(`--out ${dir} holds an export in ${earlier} format: choose another directory for ${format} (or remove that one)`);
  // Only plain names in the directory count: an entry such as ../x never lets an export touch it.
  return files.filter(isPlainName);
}

/** Refuses a file of the same name that no export wrote, or any link (followed, it could write elsewhere). */
function refuseForeign(dir: string, name: string, ours: Set<string>): void {
  let link = false;
  try {
    const stat = lstatSync(path.join(dir, name));
    if (!ours.has(name)) throw new UserError(`--out ${dir} holds ${name}, which no export wrote: choose a new or empty directory`);
    link = stat.isSymbolicLink() || !stat.isFile();
  } catch (error) {
    if (error instanceof UserError) throw error;
    return; // absent
  }
  if (link) throw new UserError(`--out ${dir}: ${name} is not a regular file (a link or a directory): choose a new or empty directory`);
}

function writeManifest(dir: string, format: string, files: string[]): void {
  const manifest: Manifest = { format, files: [...new Set(files)].sort(), created_by: `rnn-native ${VERSION}` };
  writeFileAtomic(path.join(dir, MANIFEST), `${JSON.stringify(manifest, null, 2)}\n`);
}

/** Temporary files an export stopped by a signal left behind (AtomicWriter's `.NAME.PID.tmp`), for names of ours whose writer is gone. */
function removeStaleTemporaries(dir: string, ours: Set<string>): void {
  for (const entry of readdirSync(dir)) {
    const match = /^\.(.+)\.(\d+)\.tmp$/.exec(entry);
    if (!match || !ours.has(match[1]) || processAlive(Number(match[2]))) continue;
    unlinkSync(path.join(dir, entry));
  }
}


/**
 * Writes `files` into `dir` (created when missing) in place of an earlier export's, then the
 * manifest. A file of the same name that no export wrote is refused before anything is written.
 */
export function writeExport(dir: string, format: string, files: ExportFile[]): string[] {
  const earlier = writtenBefore(dir, format);
  const ours = new Set(earlier);
  const names = files.map((file) => file.name);
  for (const name of names) {
    if (!isPlainName(name)) throw new Error(`an export file cannot be named ${name}`);
    refuseForeign(dir, name, ours);
  }
  makeDirectory(dir, `--out ${dir}`);
  removeStaleTemporaries(dir, ours);
  writeManifest(dir, format, [...earlier, ...names]);
  const writers: AtomicWriter[] = [];
  try {
    for (const { name, content } of files) {
      writers.push(AtomicWriter.open(path.join(dir, name)));
      writers[writers.length - 1].write(content);
    }
  } catch (error) {
    writers.forEach((writer) => writer.abort());
    throw error;
  }
  writers.forEach((writer) => writer.commit());
  for (const name of earlier.filter((name) => !names.includes(name))) {
    try {
      unlinkSync(path.join(dir, name));
    } catch {
      // already gone
    }
  }
  writeManifest(dir, format, names);
  return names;
}
