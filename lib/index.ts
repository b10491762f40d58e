// rnn-native: character-level recurrent language models (rnn, LSTM, GRU) trained on the CPU.
export { Corpus } from './text/corpus';
export { Vocabulary, MAX_VOCABULARY } from './text/vocabulary';
export { readCheckpoint, writeCheckpoint, Checkpoint, CheckpointInput, RunRecord } from './run/checkpoint';
export { demoText, DEMO_CHARACTERS } from './text/demo';
export { UserError } from './util/errors';
export { Trainer, TrainerOptions, TrainerConfig, SampleOptions, DEFAULTS, smoothLossUpdate } from './run/trainer';
export { TrainingState, SavedState } from './run/training-state';
export { PRESETS, PRESET_NAMES, PresetName } from './model/presets';
export { BackendChoice, selectBackend } from './engine/backend';
export { BackendName } from './engine/model-backend';
export { gradcheck, generalGradcheck, GradcheckOptions, GradcheckResult, ErrorTable, ErrorSummary, GradientFunction, StackedGradientFunction } from './engine/gradcheck';
export { loadNative } from './engine/native';
export { loadWasm } from './engine/wasm';
export { Rng, seedState } from './util/random';
export { makeLayout, Layout, PARAMETER_NAMES, ParameterName } from './model/version1-names';
export { writeLossPlot, lossPlotSvg, parseLossCsv, readLossCsv, renderPng, LossPlot, PlotOptions, ValidationCurve } from './report/plot';
export { readLossLog, LossLog, DRAWN_ROWS } from './run/loss-log';
export { writeReport, ReportOptions, WrittenReport } from './report/report';
export { lossChart } from './report/chart';
export { compareRuns, comparisonTable, comparisonJson, writeComparison, Comparison, ComparedRun, WrittenComparison } from './report/compare';

import { Corpus } from './text/corpus';
import { demoText, DEMO_SOURCE } from './text/demo';

/** Reads a UTF-8 text file as a corpus. */
export function loadCorpus(path: string): Corpus {
  return Corpus.fromFile(path);
}

/** The built-in demo corpus (about 1 MB of English sentences from the nlp-corpus package). */
export function demoCorpus(): Corpus {
  return Corpus.fromText(demoText(), DEMO_SOURCE);
}

// The async library: a saved model's text, score and next character; training in a worker thread.
export { loadModel, LoadedModel, LoadOptions, ModelInfo, NextCharacter } from './library/loaded-model';
export { train, TrainOptions, TrainControl, TrainEvent, TrainResult } from './library/train-async';
export { GenerateOptions } from './engine/sampling';
export { ScoreFigures } from './run/score-checkpoint';
