// Every single-bit flip of a real checkpoint is refused: 12,000 seeded flips of three files
// (native F32 rnn with AdaGrad, ts F64 rnn, native lstm with Adam and validation), each read by
// the checkpoint reader, which must throw a one-line UserError every time. Budget: 30 s.
import assert from 'assert';
import { Corpus, Rng, Trainer, UserError } from '../lib';
import { decodeCheckpoint, encodeCheckpoint } from '../lib/run/checkpoint';
import { generatedText } from './helpers';

const FLIPS_PER_FILE = 4000;

const corpus = Corpus.fromText(generatedText(4000));
const record = { corpusSha256: corpus.sha256, corpusCharacters: corpus.length, bestSmoothLoss: 40.5, elapsedSeconds: 2.5 };

function checkpointOf(options: ConstructorParameters<typeof Trainer>[1], updates: number): Buffer {
  const trainer = new Trainer(corpus, { hidden: 8, seqLength: 10, seed: 5, ...options });
  trainer.train(updates);
  return encodeCheckpoint({ training: trainer.snapshot(), run: { ...record, ...(options?.valFraction ? { bestValLoss: 3.25 } : {}) } });
}

describe('single-bit flips of checkpoints', function () {
  this.timeout(30000);

  const files: [string, Buffer][] = [
    ['native rnn AdaGrad (F32)', checkpointOf({ backend: 'native' }, 30)],
    ['ts rnn AdaGrad (F64)', checkpointOf({ backend: 'ts' }, 7)],
    ['native lstm 2 layers, 2 streams, Adam, validation (F32)', checkpointOf({ backend: 'native', cell: 'lstm', layers: 2, batch: 2, optimizer: 'adam', valFraction: 0.1 }, 12)],
  ];

  for (const [name, file] of files) {
    it(`${name}: ${FLIPS_PER_FILE} flips over the whole file, every one refused in one line`, () => {
      assert.doesNotThrow(() => decodeCheckpoint(file, 'unflipped'), 'the file reads before any flip');
      const rng = Rng.fromSeed(file.length);
      const headerEnd = 8 + Number(file.readBigUInt64LE(0));
      const reasons = new Map<string, number>();
      let [accepted, inHeader] = [0, 0];
      for (let i = 0; i < FLIPS_PER_FILE; i++) {
        // Every bit of the header (the metadata and the tensor table) at least once; then at random.
        const bit = i < headerEnd * 8 && i < FLIPS_PER_FILE / 2 ? i : Math.floor(rng.uniform() * file.length * 8);
        const flipped = Buffer.from(file);
        flipped[bit >> 3] ^= 1 << (bit & 7);
        if (bit >> 3 < headerEnd) inHeader++;
        try {
          decodeCheckpoint(flipped, 'x.safetensors');
          accepted++;
        } catch (error) {
          assert.ok(error instanceof UserError && !error.message.includes('\n'), `bit ${bit}: ${String(error)}`);
          const reason = error.message.replace(/^x\.safetensors: /, '').replace(/[0-9]+/g, 'N').slice(0, 60);
          reasons.set(reason, (reasons.get(reason) ?? 0) + 1);
        }
      }
      assert.strictEqual(accepted, 0, `${accepted} of ${FLIPS_PER_FILE} flipped files were accepted`);
      assert.ok(inHeader > 0 && inHeader < FLIPS_PER_FILE, `flips in the header (${inHeader}) and in the data`);
      const digest = [...reasons].find(([reason]) => reason.startsWith('not an rnn-native checkpoint: its contents do not match'));
      assert.ok(digest && digest[1] > FLIPS_PER_FILE / 4, `the digest refuses most flips (${digest?.[1]})`);
    });
  }
});
