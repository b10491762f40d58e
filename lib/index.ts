// rnn-native: character-level recurrent language models (rnn, LSTM, GRU) trained on the CPU.
export { Corpus, Vocabulary, MAX_VOCABULARY } from './corpus';
export { readCheckpoint, writeCheckpoint, Checkpoint, RunRecord } from './checkpoint';
export { demoText, DEMO_CHARACTERS } from './demo';
export { UserError } from './errors';
export { Trainer, TrainerOptions, TrainerConfig, SampleOptions, DEFAULTS, smoothLossUpdate } from './trainer';
export { TrainingState } from './training-state';
export { PRESETS, PRESET_NAMES, PresetName } from './presets';
export { BackendName, BackendChoice, selectBackend } from './backend';
export { gradcheck, generalGradcheck, GradcheckOptions, GradcheckResult, ErrorTable, ErrorSummary, GradientFunction, StackedGradientFunction } from './gradcheck';
export { loadNative } from './native';
export { loadWasm } from './wasm';
export { Rng, seedState } from './random';
export { makeLayout, Layout, PARAMETER_NAMES, ParameterName } from './layout';
export { writeLossPlot, lossPlotSvg, parseLossCsv, readLossCsv, renderPng, LossPlot, PlotOptions, ValidationCurve } from './plot';
export { writeReport, ReportOptions, WrittenReport } from './report';
export { lossChart } from './chart';
export { compareRuns, comparisonTable, comparisonJson, writeComparison, Comparison, ComparedRun, WrittenComparison } from './compare';

import { Corpus } from './corpus';
import { demoText, DEMO_SOURCE } from './demo';

/** Reads a UTF-8 text file as a corpus. */
export function loadCorpus(path: string): Corpus {
  return Corpus.fromFile(path);
}

/** The built-in demo corpus (about 1 MB of English sentences from the nlp-corpus package). */
export function demoCorpus(): Corpus {
  return Corpus.fromText(demoText(), DEMO_SOURCE);
}
