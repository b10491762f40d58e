// Writing an export's files into its output directory without ever replacing a file that an
// export did not write: the directory must be new, empty, or an earlier export (its manifest
// lists what that export wrote, and only those files are replaced).
import { existsSync, readdirSync, readFileSync, statSync } from 'fs';
import path from 'path';
import { UserError } from '../util/errors';
import { makeDirectory, writeFileAtomic } from '../util/files';
import { ExportFile } from './exported-model';
import { VERSION } from '../util/package';

/** The manifest of an export directory: the format and the files written. */
export const MANIFEST = 'rnn-native-export.json';

interface Manifest {
  format: string;
  files: string[];
  created_by: string;
}

/** The files an earlier export wrote into `dir`, or a UserError when `dir` holds anything else. */
function writtenBefore(dir: string): string[] {
  if (!existsSync(dir)) return [];
  if (!statSync(dir).isDirectory()) throw new UserError(`--out ${dir} is a file, not a directory`);
  const present = readdirSync(dir);
  if (present.length === 0) return [];
  if (!present.includes(MANIFEST)) {
    throw new UserError(`--out ${dir} is not empty and holds no ${MANIFEST} (it is no export's directory): choose a new or empty directory`);
  }
  let manifest: Manifest;
  try {
    manifest = JSON.parse(readFileSync(path.join(dir, MANIFEST), 'utf8')) as Manifest;
  } catch (error) {
    throw new UserError(`${path.join(dir, MANIFEST)} is not an export manifest (${(error as Error).message}): choose a new or empty directory`);
  }
  if (!Array.isArray(manifest.files) || !manifest.files.every((name) => typeof name === 'string')) {
    throw new UserError(`${path.join(dir, MANIFEST)} is not an export manifest (no list of files): choose a new or empty directory`);
  }
  return manifest.files;
}

/**
 * Writes `files` into `dir` (created when missing), each atomically, then the manifest. A file of
 * the same name that an earlier export did not write is refused before anything is written.
 */
export function writeExport(dir: string, format: string, files: ExportFile[]): string[] {
  const ours = new Set(writtenBefore(dir));
  for (const { name } of files) {
    if (name === MANIFEST || name.includes('/') || name.includes(path.sep)) throw new Error(`an export file cannot be named ${name}`);
    if (existsSync(path.join(dir, name)) && !ours.has(name)) {
      throw new UserError(`--out ${dir} holds ${name}, which no export wrote: choose a new or empty directory`);
    }
  }
  makeDirectory(dir, `--out ${dir}`);
  for (const { name, content } of files) writeFileAtomic(path.join(dir, name), content);
  const names = files.map((file) => file.name);
  const manifest: Manifest = { format, files: [...new Set([...ours, ...names])].sort(), created_by: `rnn-native ${VERSION}` };
  writeFileAtomic(path.join(dir, MANIFEST), `${JSON.stringify(manifest, null, 2)}\n`);
  return names;
}
