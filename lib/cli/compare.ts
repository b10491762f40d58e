// rnn-native compare: runs of sweeps and run directories side by side: a table, a plot, compare.md/html.
import { compareRuns, comparisonJson, comparisonTable, defaultOutDir, METRICS, writeComparison } from '../report/compare';
import { optionHelp, parseCommandLine } from '../util/options';
import { OptionSpecs } from '../util/option-values';
import { printLine } from '../util/output';

const OPTIONS = {
  sort: { kind: 'string', help: `${Object.keys(METRICS).join('|')} or a differing option (default: val when every started run has one, else smooth)` },
  out: { kind: 'string', short: 'o', help: 'the directory of compare.md, .html, .svg, .png (default: the sweep directory if it is the only argument, else .)' },
  json: { kind: 'flag', help: 'print one JSON object (the runs, their options and results) instead of the table' },
} satisfies OptionSpecs;

export function compareCommand(argv: string[]): number {
  const { options: o, operands } = parseCommandLine(argv, OPTIONS, Infinity);
  if (o.help) {
    printLine(`usage: rnn-native compare SWEEP_DIR|RUN_DIR... [options]\n\n${optionHelp(OPTIONS)}`);
    return 0;
  }
  const comparison = compareRuns(operands, o.sort);
  const written = writeComparison(comparison, o.out ?? defaultOutDir(operands));
  if (o.json) {
    printLine(JSON.stringify(comparisonJson(comparison, written)));
    return 0;
  }
  printLine(comparisonTable(comparison, process.stdout.isTTY ? process.stdout.columns : undefined));
  printLine(`wrote ${written.htmlPath}, ${written.markdownPath} (plot: ${written.svgPath}, ${written.pngPath})`);
  return 0;
}
