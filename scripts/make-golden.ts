// Writes the golden fixtures of the vanilla DD2424 model into test/golden/ (test/golden.test.ts
// reads them). They were made once, by the code they pin, and reviewed; run this again only for a
// change that is meant to alter the model's numbers, and say so in the commit:
//   npm run build:ts && npx ts-node -P tsconfig.json scripts/make-golden.ts
import { execFileSync } from 'child_process';
import { writeFileSync } from 'fs';
import path from 'path';
import { Corpus, demoCorpus, Trainer, writeCheckpoint } from '../lib';

/** What is pinned; stored in vanilla.json beside the numbers, for the test to read. */
const GOLDEN = {
  /** Updates whose losses are pinned, at the DD2424 defaults (m = 100, T = 25, seed 42). */
  updates: 100,
  /** The v1 checkpoints: a small model, at this step and at twice it. */
  checkpoint: { hidden: 16, steps: 50 },
  /** Samples of `rnn-native sample` from the reference checkpoint at twice checkpoint.steps. */
  sampleLength: 200,
  samples: [
    { seed: 7, temperature: 1 },
    { seed: 7, temperature: 0 },
    { seed: 123, temperature: 0.5 },
  ],
};

const dir = path.join(__dirname, '..', 'test', 'golden');
const corpus = Corpus.fromFile(path.join(dir, 'text.txt'));

/** The losses of the first updates and the smooth loss after them, on the reference backend. */
function firstLosses(eta: number) {
  const trainer = new Trainer(corpus, { backend: 'ts', eta });
  const losses = Array.from(trainer.train(GOLDEN.updates));
  return { eta, losses, smoothLoss: trainer.smoothLoss, epoch: trainer.epoch, position: trainer.position };
}

/** A checkpoint after GOLDEN.checkpoint.steps updates and one after twice as many, from one run. */
function checkpoints(backend: 'ts' | 'native', eta: number) {
  const trainer = new Trainer(corpus, { backend, eta, hidden: GOLDEN.checkpoint.hidden });
  const run = { corpusSha256: corpus.sha256, corpusCharacters: corpus.length, bestSmoothLoss: undefined, elapsedSeconds: 0 };
  for (const step of [GOLDEN.checkpoint.steps, 2 * GOLDEN.checkpoint.steps]) {
    trainer.train(GOLDEN.checkpoint.steps);
    writeCheckpoint(path.join(dir, `v1-${backend}-step${step}.safetensors`), { training: trainer.snapshot(), run });
  }
  return trainer;
}

checkpoints('ts', 0.1);
checkpoints('native', 0.01);
const cli = path.join(__dirname, '..', 'dist', 'cli.js');
const model = path.join(dir, `v1-ts-step${2 * GOLDEN.checkpoint.steps}.safetensors`);
const samples = GOLDEN.samples.map(({ seed, temperature }) => {
  const args = ['sample', '--model', model, '--backend', 'ts', '--length', String(GOLDEN.sampleLength), '--seed', String(seed), '--temperature', String(temperature)];
  const text = execFileSync(process.execPath, [cli, ...args], { encoding: 'utf8' }).replace(/\n$/, '');
  return { seed, temperature, text };
});

const demo = demoCorpus();
const golden = {
  note: 'made by scripts/make-golden.ts; read by test/golden.test.ts',
  settings: GOLDEN,
  text: { sha256: corpus.sha256, characters: corpus.length, vocabSize: corpus.vocabSize },
  demoCorpus: { sha256: demo.sha256, characters: demo.length, vocabSize: demo.vocabSize },
  runs: [firstLosses(0.1), firstLosses(0.01)],
  samples,
};
writeFileSync(path.join(dir, 'vanilla.json'), JSON.stringify(golden, null, 2) + '\n');
console.log(`wrote ${dir}: vanilla.json and the v1 checkpoints`);
