// rnn-native plot: the loss curve of a run as SVG and PNG.
import { UserError } from '../util/errors';
import { optionHelp, parseCommandLine } from '../util/options';
import { OptionSpecs } from '../util/option-values';
import { writeLossPlot } from '../report/plot';
import { printLine } from '../util/output';

const OPTIONS = {
  out: { kind: 'string', short: 'o', help: 'the SVG file to write (default RUN_DIR/loss.svg); the PNG goes beside it' },
} satisfies OptionSpecs;

export function plotCommand(argv: string[]): number {
  const { options: o, operands } = parseCommandLine(argv, OPTIONS, 1);
  if (o.help) {
    printLine(`usage: rnn-native plot RUN_DIR|loss.csv [-o FILE.svg]\n\n${optionHelp(OPTIONS)}`);
    return 0;
  }
  if (operands.length === 0) throw new UserError('plot needs a run directory or a loss.csv file (see --help)');
  const { svgPath, pngPath } = writeLossPlot(operands[0], o.out);
  printLine(`wrote ${svgPath} and ${pngPath}`);
  return 0;
}
