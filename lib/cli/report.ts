// rnn-native report: the run's deliverables as report.md and report.html.
import { UserError } from '../util/errors';
import { optionHelp, parseCommandLine } from '../util/options';
import { OptionSpecs } from '../util/option-values';
import { REPORT_OPTIONS, writeReport, WrittenReport } from '../report/report';
import { printLine, warn } from '../util/output';

const { gradcheckData, ...rest } = REPORT_OPTIONS;
const OPTIONS = { 'gradcheck-data': gradcheckData, ...rest } satisfies OptionSpecs;

export function reportCommand(argv: string[]): number {
  const { options: o, operands } = parseCommandLine(argv, OPTIONS, 1);
  if (o.help) {
    printLine(`usage: rnn-native report RUN_DIR [options]\n\n${optionHelp(OPTIONS)}`);
    return 0;
  }
  if (operands.length === 0) throw new UserError('report needs a run directory (see --help)');
  const written = writeReport(operands[0], { gradcheckData: o['gradcheck-data'], seed: o.seed, temperature: o.temperature });
  announce(written, true);
  return 0;
}

/** `train --report`: the report of the run just trained; its paths are printed when `verbose`. */
export function reportAfterTraining(runDir: string, verbose: boolean): void {
  announce(writeReport(runDir), verbose);
}

function announce(written: WrittenReport, verbose: boolean): void {
  for (const warning of written.warnings) warn(warning);
  if (verbose) printLine(`report: ${written.htmlPath} and ${written.markdownPath} (plot: ${written.svgPath}, ${written.pngPath})`);
}
