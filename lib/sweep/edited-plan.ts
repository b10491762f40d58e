// sweep.json edited after runs started: a run that has trained (it has a checkpoint) keeps the
// values in its config.json, so sweep.json must still give those, or it would label the run with
// values it did not train with (and the resume would pass them to train). A run without a
// checkpoint starts anew from sweep.json, so an edit of it is simply honoured.
import { existsSync } from 'fs';
import path from 'path';
import { MODEL_DEFAULTS, OptionRow, rowsOf, TRAINING_OPTIONS } from '../model/config';
import { PRESETS, PresetName } from '../model/presets';
import { heldOutLength, updatesPerEpoch } from '../model/stream-walk';
import { readRunConfig, runData, RunConfigFile } from '../run/run-config';
import { withDerivedDefaults } from '../run/trainer';
import { Corpus } from '../text/corpus';
import { UserError } from '../util/errors';
import { parseOptions } from '../util/options';
import { OptionSpecs } from '../util/option-values';
import { runDirOf, sweepFilePath, SweepFile } from './sweep';
import { PlannedRun } from './sweep-plan';

/** An option of a run's args whose value is not its config.json's. */
interface Mismatch {
  /** As the args give it: "--eta 0.07". */
  planned: string;
  /** As config.json holds it: "eta 0.05". */
  trained: string;
}

/** Refuses the first run that trained with other values than sweep.json now gives it (see refuseEditedRun). */
export function refuseEditedRuns(dir: string, sweep: SweepFile, specs: OptionSpecs): void {
  const sha256Of = corpusHashes();
  for (const run of sweep.runs) refuseEditedRun(dir, run, specs, sha256Of);
}

/**
 * A UserError naming the run and the first option whose value in sweep.json is not the one in its
 * config.json, when the run has a checkpoint; nothing is read or refused for a run without one.
 */
export function refuseEditedRun(dir: string, run: PlannedRun, specs: OptionSpecs, sha256Of = corpusHashes()): void {
  const runDir = runDirOf(dir, run);
  const configPath = path.join(runDir, 'config.json');
  if (!existsSync(path.join(runDir, 'latest.safetensors')) || !existsSync(configPath)) return;
  const config = readRunConfig(configPath, 'keep');
  if (config === undefined) return;
  const given = parseOptions(run.args, specs) as Record<string, unknown>;
  const found = optionMismatch(given, config) ?? dataMismatch(given, config, sha256Of) ?? epochsMismatch(given, config);
  if (found === undefined) return;
  const { planned, trained } = found;
  throw new UserError(
    `${sweepFilePath(dir)}: ${run.dir} has ${planned}, but ${configPath} has ${trained}, which the run trained with; ` +
      `put that back into sweep.json, or move ${runDir} away to train the run anew`
  );
}

/**
 * The first option whose value config.json does not hold: of the model, any (the args define all
 * of it), else one the args give.
 */
function optionMismatch(given: Record<string, unknown>, config: RunConfigFile): Mismatch | undefined {
  const model = plannedModel(given);
  for (const row of TRAINING_OPTIONS as readonly OptionRow[]) {
    const planned = row.scope === 'model' ? model[row.key] : given[row.flag];
    // auto is resolved when the run starts; config.json holds the backend it chose.
    if (planned === undefined || (row.key === 'backend' && planned === 'auto')) continue;
    // A run of a version before an option whose default now depends on the others (--init,
    // --val-streams; config.json then lacks it) had the row's default, not the one a plan without
    // the flag gives today: that is no edit of sweep.json.
    if (row.defaultHelp !== undefined && config[row.key] === undefined && given[row.flag] === undefined) continue;
    const trained = config[row.key] ?? (row.since !== undefined ? row.default : undefined);
    if (planned === trained) continue;
    const source = typeof given.preset === 'string' ? `--preset ${given.preset}` : 'the defaults';
    const plannedText = given[row.flag] !== undefined ? `--${row.flag} ${String(planned)}` : `${row.key} ${String(planned)} (of ${source})`;
    return { planned: plannedText, trained: `${row.key} ${String(trained)}` };
  }
  return undefined;
}

/** The model a new run of these args trains: as given, else the --preset's, else the defaults (as the Trainer resolves them). */
function plannedModel(given: Record<string, unknown>): Record<string, unknown> {
  const preset: Record<string, unknown> = typeof given.preset === 'string' ? PRESETS[given.preset as PresetName] : {};
  const chosen = rowsOf('model').flatMap((row) => {
    const value = given[row.flag] ?? preset[row.key];
    return value === undefined ? [] : [[row.key, value]];
  });
  return { ...MODEL_DEFAULTS, ...withDerivedDefaults(Object.fromEntries(chosen)) };
}

/** --data of another text than the run's (the same text moved elsewhere is the same data). */
function dataMismatch(given: Record<string, unknown>, config: RunConfigFile, sha256Of: (file: string) => string | undefined): Mismatch | undefined {
  const planned = Array.isArray(given.data) ? given.data.join(' ') : typeof given.data === 'string' ? given.data : null;
  const trained = runData(config)?.join(' ') ?? null;
  if (planned === trained) return undefined;
  const runSha256 = (config.corpus as { sha256?: unknown } | undefined)?.sha256;
  if (planned !== null && sha256Of(planned) === runSha256) return undefined;
  const name = (data: string | null) => data ?? 'no --data (the demo corpus)';
  return { planned: planned === null ? name(null) : `--data ${planned}`, trained: `data ${name(trained)}` };
}

/** --epochs whose updates are not the run's steps (its text, held-out part, seq-length and batch). */
function epochsMismatch(given: Record<string, unknown>, config: RunConfigFile): Mismatch | undefined {
  if (typeof given.epochs !== 'number') return undefined;
  const corpus = config.corpus as { characters: number; trainingCharacters?: number };
  const valFraction = typeof config.valFraction === 'number' ? config.valFraction : 0;
  const batch = typeof config.batch === 'number' ? config.batch : 1;
  const characters = corpus.trainingCharacters ?? corpus.characters - heldOutLength(corpus.characters, valFraction, 'config.json');
  const steps = given.epochs * updatesPerEpoch(characters, config.seqLength as number, batch);
  if (steps === config.steps) return undefined;
  return { planned: `--epochs ${given.epochs} (${steps} steps)`, trained: `steps ${String(config.steps)}` };
}

/** The SHA-256 of a text file as a run records it, each file read once; undefined when it cannot be read. */
function corpusHashes(): (file: string) => string | undefined {
  const known = new Map<string, string | undefined>();
  return (file) => {
    if (!known.has(file)) {
      try {
        known.set(file, Corpus.fromFile(file).sha256);
      } catch {
        known.set(file, undefined);
      }
    }
    return known.get(file);
  };
}
