// Writes the golden fixtures of the LSTM/GRU model into test/golden/ (general.json and the v2-*
// checkpoints; test/golden-general.test.ts reads them). Made once, by the code they pin, and
// reviewed; run it again only for a change meant to alter the model's numbers, and say so:
//   npm run build:ts && npx ts-node -P tsconfig.json scripts/make-golden-general.ts
// Every model option is recorded, so that a later change of a default never moves a fixture.
import { execFileSync } from 'child_process';
import { writeFileSync } from 'fs';
import path from 'path';
import { Corpus, Trainer, writeCheckpoint } from '../lib';
import { MODEL_DEFAULTS } from '../lib/model/config';

/** Options shared by the cases: 2 layers, 3 streams, dropout, char-rnn's forget bias. */
const COMMON = {
  hidden: 10,
  seqLength: 10,
  layers: 2,
  batch: 3,
  dropout: 0.25,
  forgetBias: 1,
  sigma: 0.1,
  seed: 7,
  epsilon: 1e-8,
  clip: 5,
};

const CASES = {
  'lstm-adam': { ...COMMON, cell: 'lstm', optimizer: 'adam', eta: 0.01, beta1: 0.9, beta2: 0.999 },
  'gru-adam': { ...COMMON, cell: 'gru', optimizer: 'adam', eta: 0.01, beta1: 0.9, beta2: 0.999 },
  // Two epochs in 50 updates: the learning-rate decay after the first, and a validation loss.
  'lstm-rmsprop': { ...COMMON, cell: 'lstm', optimizer: 'rmsprop', eta: 0.005, rmsDecay: 0.95, lrDecay: 0.5, lrDecayAfter: 1, valFraction: 0.1 },
} as const;

const GOLDEN = {
  /** Updates whose losses are pinned; the checkpoints are at half of them and at all of them. */
  updates: 50,
  /** How the initial weights were drawn: N(0, σ²) for every matrix in table order, biases 0 (lstm forget gates: forgetBias). */
  initialisation: 'normal',
  sampleLength: 200,
  samples: [
    { seed: 7, temperature: 1 },
    { seed: 7, temperature: 0 },
    { seed: 123, temperature: 0.5 },
  ],
};

const dir = path.join(__dirname, '..', 'test', 'golden');
const corpus = Corpus.fromFile(path.join(dir, 'text.txt'));
const cli = path.join(__dirname, '..', 'dist', 'cli.js');

/** Every model option: the case's over the defaults of today, written out in full. */
const configOf = (name: keyof typeof CASES) => ({ ...MODEL_DEFAULTS, ...CASES[name] });

function makeCase(name: keyof typeof CASES) {
  const config = configOf(name);
  const half = GOLDEN.updates / 2;
  const run = { corpusSha256: corpus.sha256, corpusCharacters: corpus.length, bestSmoothLoss: undefined, elapsedSeconds: 0 };
  for (const backend of ['ts', 'native'] as const) {
    const trainer = new Trainer(corpus, { ...config, backend });
    for (const step of [half, GOLDEN.updates]) {
      trainer.train(half);
      writeCheckpoint(path.join(dir, `v2-${name}-${backend}-step${step}.safetensors`), { training: trainer.snapshot(), run });
    }
  }
  const trainer = new Trainer(corpus, { ...config, backend: 'ts' });
  const losses = Array.from(trainer.train(GOLDEN.updates));
  const model = path.join(dir, `v2-${name}-ts-step${GOLDEN.updates}.safetensors`);
  const samples = GOLDEN.samples.map(({ seed, temperature }) => {
    const args = ['sample', '--model', model, '--backend', 'ts', '--length', String(GOLDEN.sampleLength), '--seed', String(seed), '--temperature', String(temperature)];
    const text = execFileSync(process.execPath, [cli, ...args], { encoding: 'utf8' }).replace(/\n$/, '');
    return { seed, temperature, text };
  });
  return {
    config,
    losses,
    smoothLoss: trainer.smoothLoss,
    epoch: trainer.epoch,
    position: trainer.position,
    validationLoss: trainer.validationLoss() ?? null,
    trainerSample: trainer.sample(GOLDEN.sampleLength, { temperature: 0.8 }),
    samples,
  };
}

const golden = {
  note: 'made by scripts/make-golden-general.ts; read by test/golden-general.test.ts',
  settings: GOLDEN,
  text: { sha256: corpus.sha256, characters: corpus.length, vocabSize: corpus.vocabSize },
  cases: Object.fromEntries(Object.keys(CASES).map((name) => [name, makeCase(name as keyof typeof CASES)])),
};
writeFileSync(path.join(dir, 'general.json'), JSON.stringify(golden, null, 2) + '\n');
console.log(`wrote ${dir}: general.json and the v2 checkpoints`);
