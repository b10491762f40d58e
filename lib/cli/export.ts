// rnn-native export: a checkpoint's model in a format other tools read (ONNX, PyTorch, a web page).
import { UserError } from '../util/errors';
import { optionHelp, parseCommandLine } from '../util/options';
import { OptionSpecs } from '../util/option-values';
import { note, printLine } from '../util/output';
import { modelCheckpoint } from '../run/run-dir';
import { readCheckpointNoting } from '../run/checkpoint';
import { EXPORT_FORMATS } from '../export/formats';
import { exportedModel } from '../export/exported-model';
import { writeExport } from '../export/export-dir';

const FORMAT_NAMES = Object.keys(EXPORT_FORMATS);

const OPTIONS = {
  format: { kind: 'choice', choices: FORMAT_NAMES, help: 'what to write (below)' },
  out: { kind: 'string', short: 'o', help: 'the directory: new, empty, or an earlier export' },
} satisfies OptionSpecs;

export function exportCommand(argv: string[]): number {
  const { options: o, operands } = parseCommandLine(argv, OPTIONS, 1);
  if (o.help) {
    const formats = Object.entries(EXPORT_FORMATS).map(([name, format]) => `  ${name.padEnd(6)}${format.help}`);
    printLine(`usage: rnn-native export RUN_DIR|CHECKPOINT --format ${FORMAT_NAMES.join('|')} --out DIR\n\n${optionHelp(OPTIONS)}\n\nformats (docs/export.md):\n${formats.join('\n')}\n\nAn export replaces only the files it wrote before (DIR/rnn-native-export.json).`);
    return 0;
  }
  if (operands.length === 0 || operands[0] === '') throw new UserError('export needs a run directory or a checkpoint file (see --help)');
  if (o.format === undefined) throw new UserError(`--format is required: ${FORMAT_NAMES.join(', ')}`);
  if (o.out === undefined) throw new UserError('--out is required: the directory to write');
  const { file, note: fallback } = modelCheckpoint(operands[0]);
  if (fallback) note(fallback);
  const model = exportedModel(readCheckpointNoting(file), file);
  const files = EXPORT_FORMATS[o.format].files(model);
  const written = writeExport(o.out, o.format, files);
  printLine(`wrote ${o.format} export of ${file} to ${o.out}: ${written.join(', ')}`);
  printLine(EXPORT_FORMATS[o.format].next(o.out));
  return 0;
}
