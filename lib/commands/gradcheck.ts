// rnn-native gradcheck: the gradient-check table of the assignment.
import { gradcheck, GRADCHECK_DEFAULTS, GRADCHECK_TARGETS, GradcheckResult, gradcheckPasses, gradcheckRows } from '../gradcheck';
import { PARAMETER_NAMES } from '../layout';
import { optionHelp, OptionSpecs, parseOptions } from '../options';
import { loadCorpus, printLine, seedSpec, warn } from './common';

const OPTIONS = {
  data: { kind: 'string', help: 'UTF-8 text file (default: the built-in demo corpus)' },
  hidden: { kind: 'integer', min: 1, max: 1024, help: `hidden units m (default ${GRADCHECK_DEFAULTS.hidden})` },
  'seq-length': { kind: 'integer', min: 1, max: 10000, help: `sequence length (default ${GRADCHECK_DEFAULTS.seqLength})` },
  step: { kind: 'number', min: 0, max: 1, exclusiveMin: true, help: `finite-difference step (default ${GRADCHECK_DEFAULTS.step})` },
  seed: { ...seedSpec, help: `seed of the weights (default ${GRADCHECK_DEFAULTS.seed})` },
  json: { kind: 'flag', help: 'print one JSON object of max relative errors' },
} satisfies OptionSpecs;

export function gradcheckCommand(argv: string[]): number {
  const o = parseOptions(argv, OPTIONS);
  if (o.help) {
    printLine(`usage: rnn-native gradcheck [options]\n\n${optionHelp(OPTIONS)}`);
    return 0;
  }
  const { corpus, source } = loadCorpus(o.data);
  const given = Object.fromEntries(
    Object.entries({ hidden: o.hidden, seqLength: o['seq-length'], step: o.step, seed: o.seed }).filter(([, v]) => v !== undefined)
  );
  const result = gradcheck(corpus, given);
  const ok = gradcheckPasses(result);
  if (o.json) {
    const relative = (table: GradcheckResult['numeric'] | undefined) =>
      table ? Object.fromEntries(PARAMETER_NAMES.map((name) => [name, table[name].maxRelative])) : null;
    printLine(JSON.stringify({ numeric: relative(result.numeric), native: relative(result.native) }));
  } else {
    const settings = { ...GRADCHECK_DEFAULTS, ...given };
    printLine(
      `gradient check on ${source} (K=${corpus.vocabSize}): m=${settings.hidden}, seq-length ${settings.seqLength}, ` +
        `h=${settings.step}, seed ${settings.seed}, h0 = 0, unclipped`
    );
    printLine(gradcheckTable(result));
    printLine(
      `targets: numeric ≤ ${GRADCHECK_TARGETS.numeric.toExponential()}, native ≤ ${GRADCHECK_TARGETS.native.toExponential()} ` +
        `(max relative error): ${ok ? 'OK' : 'NOT OK'}`
    );
  }
  if (result.nativeError) warn(`native gradients not checked: ${result.nativeError}`);
  return ok ? 0 : 1;
}

function gradcheckTable(result: GradcheckResult): string {
  const header = ['parameter', 'numeric rel.', 'numeric abs.', 'native rel.', 'native abs.'];
  return [header, ...gradcheckRows(result)].map((row) => row.map((cell) => cell.padEnd(14)).join('').trimEnd()).join('\n');
}
