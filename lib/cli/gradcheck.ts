// rnn-native gradcheck: the gradient-check table of the assignment, for any model train makes.
import {
  gradcheck,
  GRADCHECK_DEFAULTS,
  GRADCHECK_MODEL_DEFAULTS,
  GradcheckOptions,
  GRADCHECK_OPTIONS,
  GRADCHECK_TARGETS,
  GradcheckResult,
  gradcheckPasses,
  gradcheckRows,
  GradientFunction,
  modelName,
} from '../engine/gradcheck';
import { CellKind, lossAndGradients } from '../model/reference';
import { optionHelp, parseOptions } from '../util/options';
import { OptionSpecs } from '../util/option-values';
import { fitLine, printLine, warn } from '../util/output';
import { loadTrainingText } from '../text/training-text';
import { Corpus } from '../text/corpus';

const { hidden, seqLength, step, seed, entries, cell, layers, batch, dropout } = GRADCHECK_OPTIONS;
const OPTIONS = {
  data: { kind: 'string', help: 'UTF-8 text file (default: the built-in demo corpus)' },
  hidden,
  'seq-length': seqLength,
  step,
  seed,
  entries,
  cell,
  layers,
  batch,
  dropout,
  json: { kind: 'flag', help: 'print one JSON object of the errors' },
} satisfies OptionSpecs;

/** The command; `analytic` is the gradient under test (tests pass wrong ones to see it fail). */
export function gradcheckCommand(argv: string[], analytic: GradientFunction = lossAndGradients): number {
  const o = parseOptions(argv, OPTIONS);
  if (o.help) {
    printLine(`usage: rnn-native gradcheck [options]\n\n${optionHelp(OPTIONS)}`);
    return 0;
  }
  // One file (a folder's many texts would be read whole for one window's check).
  const { corpus, source } = o.data === undefined ? loadTrainingText(undefined) : { corpus: Corpus.fromFile(o.data), source: o.data };
  const given: GradcheckOptions = Object.fromEntries(
    Object.entries({
      hidden: o.hidden,
      seqLength: o['seq-length'],
      step: o.step,
      seed: o.seed,
      entries: o.entries,
      cell: o.cell as CellKind | undefined,
      layers: o.layers,
      batch: o.batch,
      dropout: o.dropout,
    }).filter(([, v]) => v !== undefined)
  );
  const progress = progressLine();
  const result = gradcheck(corpus, { ...given, onProgress: progress.update }, analytic);
  progress.end();
  const ok = gradcheckPasses(result);
  if (o.json) {
    printLine(JSON.stringify(jsonSummary(result, ok)));
  } else {
    printLine(`gradient check on ${source} (K=${corpus.vocabSize}): ${settingsText(given)}`);
    printLine(gradcheckTable(result));
    printLine('scaled: max |ga − gn| / max |g| of the tensor');
    printLine(`targets (scaled): numeric ≤ ${GRADCHECK_TARGETS.numeric.toExponential()}, native ≤ ${GRADCHECK_TARGETS.native.toExponential()}: ${ok ? 'OK' : 'NOT OK'}`);
  }
  if (result.nativeError) warn(`native gradients not checked: ${result.nativeError}`);
  return ok ? 0 : 1;
}

/**
 * "rnn, 1 layer of m=5, B=1, seq-length 25, h=0.0001 (…), seed 42, h0 = 0, unclipped, all entries":
 * the model, then the block (its streams, states and masks, each said when there is one) and the entries.
 */
function settingsText(given: GradcheckOptions): string {
  const s = { ...GRADCHECK_DEFAULTS, ...GRADCHECK_MODEL_DEFAULTS, ...given };
  const streams = s.batch > 1 ? [`streams at the starts of ${s.batch} equal slices of the text (as train's first update)`] : [];
  const masks = s.dropout > 0 ? [`dropout masks of update 1`] : [];
  const states = s.cell === 'lstm' ? 'h0 = c0 = 0' : 'h0 = 0';
  const checked = given.entries === undefined ? 'all entries' : `numeric on ${given.entries} random entries of each larger tensor, native on all`;
  return [
    `${modelName(s)}, seq-length ${s.seqLength}`,
    `h=${s.step} (Richardson from h and 2h)`,
    `seed ${s.seed}`,
    ...streams,
    states,
    ...masks,
    'unclipped',
    checked,
  ].join(', ');
}

/**
 * `numeric` and `native` keep their first meaning (max relative error per parameter); `scaled`
 * holds the errors the verdict uses, `checked` the entries compared per parameter.
 */
function jsonSummary(result: GradcheckResult, ok: boolean): object {
  type Table = GradcheckResult['numeric'] | undefined;
  const pick = (table: Table, key: 'maxRelative' | 'maxScaled' | 'checked') =>
    table ? Object.fromEntries(result.tensors.map((name) => [name, table[name][key]])) : null;
  return {
    numeric: pick(result.numeric, 'maxRelative'),
    native: pick(result.native, 'maxRelative'),
    scaled: { numeric: pick(result.numeric, 'maxScaled'), native: pick(result.native, 'maxScaled') },
    checked: pick(result.numeric, 'checked'),
    targets: { ...GRADCHECK_TARGETS },
    ok,
  };
}

/** The errors per parameter, numeric then native, under a two-line header: 73 columns with 11-character names. */
function gradcheckTable(result: GradcheckResult): string {
  const rows = gradcheckRows(result).map(([name, numRel, numAbs, natRel, natAbs, numScaled, natScaled]) => [name, numRel, numAbs, numScaled, natRel, natAbs, natScaled]);
  const first = Math.max('parameter'.length, ...rows.map((row) => row[0].length)) + 2;
  const line = (cells: string[]) => cells.map((cell, i) => cell.padEnd(i === 0 ? first : 10)).join('').trimEnd();
  const groups = ['', 'numeric', '', '', 'native'];
  return [line(groups), line(['parameter', 'rel.', 'abs.', 'scaled', 'rel.', 'abs.', 'scaled']), ...rows.map(line)].join('\n');
}

interface ProgressStream {
  isTTY?: boolean;
  columns?: number;
  write(text: string): unknown;
}

/** The progress line, shortened to fit a terminal of `columns` columns. */
export function gradcheckProgress(done: number, total: number, secondsLeft: number, columns: number | undefined): string {
  const percent = `${Math.floor((100 * done) / total)}%`;
  return fitLine(
    [
      `gradient check: ${done}/${total} entries (${percent}), about ${secondsLeft} s left`,
      `gradient check: ${done}/${total} (${percent}), ${secondsLeft} s left`,
      `${done}/${total} (${percent}), ${secondsLeft} s left`,
      `${percent}, ${secondsLeft} s left`,
      percent,
    ],
    columns
  );
}

/**
 * One progress line on stderr, redrawn at most ten times a second, when stderr is a terminal and
 * the check has taken more than a second.
 */
export function progressLine(
  stream: ProgressStream = process.stderr,
  clock: () => number = Date.now
): { update: (done: number, total: number) => void; end: () => void } {
  const started = clock();
  let drawn = 0;
  const update = (done: number, total: number) => {
    const now = clock();
    if (!stream.isTTY || now - started < 1000 || now - drawn < 100) return;
    drawn = now;
    const left = Math.ceil(((now - started) / done) * (total - done) / 1000);
    stream.write(`\r${gradcheckProgress(done, total, left, stream.columns)}\x1b[K`);
  };
  const end = () => {
    if (drawn) stream.write('\r\x1b[K');
  };
  return { update, end };
}
