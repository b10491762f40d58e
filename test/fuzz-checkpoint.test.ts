// Checkpoint reader fuzz: thousands of seeded mutations of a valid checkpoint. Each
// decodeCheckpoint either returns a checkpoint that Trainer.restore accepts on the matching corpus
// (or refuses with a UserError) and that trains one update, or throws a one-line UserError; never
// another error, never over a second for one file, never a big allocation.
// RNN_FUZZ_FILES sets the number of mutated files (default 2,000), RNN_FUZZ_SEED the seed.
import assert from 'assert';
import { Corpus, Rng, Trainer, UserError } from '../lib';
import { decodeCheckpoint, encodeCheckpoint } from '../lib/run/checkpoint';
import { resealed, UNICODE_TEXT } from './helpers';

const corpus = Corpus.fromText(UNICODE_TEXT.repeat(10));
const record = { corpusSha256: corpus.sha256, corpusCharacters: corpus.length, bestSmoothLoss: 50.5, elapsedSeconds: 1.25 };

function validCheckpoint(backend: 'native' | 'ts'): Buffer {
  const trainer = new Trainer(corpus, { backend, hidden: 6, seqLength: 7, seed: 3 });
  trainer.train(13);
  trainer.sample(5);
  return encodeCheckpoint({ training: trainer.snapshot(), run: record });
}

interface Parsed {
  header: Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
  data: Buffer;
}

function parse(file: Buffer): Parsed {
  const n = Number(file.readBigUInt64LE(0));
  return { header: JSON.parse(file.subarray(8, 8 + n).toString('utf8')), data: file.subarray(8 + n) };
}

function build(headerJson: string, data: Uint8Array, lengthOverride?: bigint): Buffer {
  const json = Buffer.from(headerJson, 'utf8');
  const out = Buffer.alloc(8 + json.length + data.length);
  out.writeBigUInt64LE(lengthOverride ?? BigInt(json.length), 0);
  json.copy(out, 8);
  out.set(data, 8 + json.length);
  return resealed(out);
}

/** Wrong values for a metadata string (each is itself a string, as the format requires). */
const LIES = [
  '', '-1', '0', '1', '1.5', '-0', '1e300', '-1e300', '9007199254740993', '9007199254740991', '4294967296', 'NaN', '"NaN"',
  'Infinity', 'null', 'true', '[]', '{}', '[1,2,3,4]', '[0,0,0,0]', '[1,2,3,4294967296]', '[1,2,3,-1]', '[1.5,2,3,4]',
  '"x"', '["a"]', '["b","a"]', '["a","a"]', '["ab"]', '[""]', '{"hidden":6}', 'abc', '{', '"', '1e-400', '2e9', 'x'.repeat(5000),
  '0'.repeat(64), 'f'.repeat(64), 'F'.repeat(64), '[' .repeat(10000), '{"a":'.repeat(3000),
];
const VALUES: unknown[] = [
  0, -1, 1, 0.5, -0, 1e300, -1e300, 2 ** 31, 2 ** 53, 2 ** 53 + 2, 8192, 8193, 2 ** 20, 2 ** 20 + 1, 1e-45, 1e-39, 3.5e38, null, 'NaN',
  '5', true, [], {}, [6],
];

/** One seeded mutation of the valid file. */
function mutate(valid: Buffer, rng: Rng): { bytes: Buffer; what: string } {
  const int = (n: number) => Math.floor(rng.uniform() * n);
  const pick = <T>(items: readonly T[]): T => items[int(items.length)];
  const kind = int(12);
  const bytes = Buffer.from(valid);
  const { header, data } = parse(valid);
  const tensorNames = Object.keys(header).filter((k) => k !== '__metadata__');
  const meta = header.__metadata__ as Record<string, string>;
  const headerLength = Number(valid.readBigUInt64LE(0));
  switch (kind) {
    case 0: {
      const flips = 1 + int(8);
      for (let i = 0; i < flips; i++) {
        const at = int(bytes.length);
        bytes[at] ^= 1 << int(8);
      }
      return { bytes, what: `${flips} bit flips` };
    }
    case 1: {
      // Bit flips within the header only, where they change the structure.
      const at = 8 + int(headerLength);
      bytes[at] ^= 1 << int(8);
      return { bytes, what: `header bit flip at ${at}` };
    }
    case 2: {
      const length = pick([0, 1, 7, 8, 9, 8 + headerLength - 1, 8 + headerLength, 8 + headerLength + 1, bytes.length - 1, int(bytes.length)]);
      return { bytes: bytes.subarray(0, length), what: `truncated to ${length}` };
    }
    case 3: {
      const value = pick([0n, 1n, 2n ** 63n, 2n ** 64n - 1n, 100_000_000n, 100_000_001n, BigInt(headerLength - 1), BigInt(headerLength + 1), BigInt(bytes.length), 2n ** 53n + 1n]);
      bytes.writeBigUInt64LE(value, 0);
      return { bytes, what: `header length ${value}` };
    }
    case 4: {
      const text = JSON.stringify(header);
      const cut = int(text.length);
      const broken = pick([text.slice(0, cut), text.slice(0, cut) + text.slice(cut + 1), `${text.slice(0, cut)}\u0000${text.slice(cut)}`, `\ufeff${text}`, ` ${text}`, `${text}x`, '[]', 'null', '"x"', '1']);
      return { bytes: build(broken, data), what: `bad JSON around ${cut}` };
    }
    case 5: {
      const name = pick(tensorNames);
      const [begin, end] = header[name].data_offsets as number[];
      const other = header[pick(tensorNames)].data_offsets as number[];
      header[name].data_offsets = pick([
        [begin, end + 4], [begin - 4, end], [begin + 4, end + 4], [end, begin], [-1, end], [begin, data.length + 8], other,
        [begin, 2 ** 53], [0, 0], [begin + 0.5, end], ['0', end], [begin], [begin, end, 0], null,
      ]);
      return { bytes: build(JSON.stringify(header), data), what: `${name}.data_offsets = ${JSON.stringify(header[name].data_offsets)}` };
    }
    case 6: {
      const name = pick(tensorNames);
      header[name].dtype = pick(['F64', 'F32', 'I32', 'U32', 'F16', 'BF16', 'f32', '', 3, null]);
      return { bytes: build(JSON.stringify(header), data), what: `${name}.dtype = ${header[name].dtype}` };
    }
    case 7: {
      const name = pick(tensorNames);
      const shape = header[name].shape as number[];
      header[name].shape = pick([[], [0], [...shape].reverse(), [...shape, 1], [1, ...shape], shape.map((d) => d * 2), [shape.reduce((a, b) => a * b, 1)], [-1], [2 ** 53], [1.5], ['6']]);
      return { bytes: build(JSON.stringify(header), data), what: `${name}.shape = ${JSON.stringify(header[name].shape)}` };
    }
    case 8: {
      const what = int(3);
      if (what === 0) {
        const name = pick(tensorNames);
        delete header[name];
        return { bytes: build(JSON.stringify(header), data), what: `without tensor ${name}` };
      }
      // An extra tensor at the end of the data (a valid safetensors file).
      const name = pick(['extra', 'h2', 'adagrad.h', 'constructor', 'toString', 'hasOwnProperty']);
      header[name] = { dtype: 'F32', shape: [1], data_offsets: [data.length, data.length + 4] };
      return { bytes: build(JSON.stringify(header), Buffer.concat([data, Buffer.alloc(4)])), what: `extra tensor ${name}` };
    }
    case 9:
    case 10: {
      const key = pick([...Object.keys(meta), 'format', 'format_version', 'config', 'vocabulary', 'step', 'epoch', 'position', 'rng_state', 'smooth_loss']);
      if (rng.uniform() < 0.15) {
        delete meta[key];
        return { bytes: build(JSON.stringify(header), data), what: `metadata without ${key}` };
      }
      meta[key] = pick(LIES);
      return { bytes: build(JSON.stringify(header), data), what: `metadata ${key} = ${meta[key].slice(0, 40)}` };
    }
    default: {
      // A lie inside config: one field of a wrong type or value.
      const config = JSON.parse(meta.config);
      const field = pick(['hidden', 'seqLength', 'eta', 'sigma', 'epsilon', 'clip', 'seed', 'extra']);
      config[field] = pick(VALUES);
      meta.config = JSON.stringify(config);
      if (rng.uniform() < 0.3) meta.position = pick(['0', '7', '14', '3', String(corpus.length), String(corpus.length + 7)]);
      return { bytes: build(JSON.stringify(header), data), what: `config.${field} = ${JSON.stringify(config[field])}` };
    }
  }
}

describe('checkpoint reader fuzz', function () {
  this.timeout(120_000);
  const files = Number(process.env.RNN_FUZZ_FILES ?? 2000);
  const seed = Number(process.env.RNN_FUZZ_SEED ?? 1);

  for (const backend of ['native', 'ts'] as const) {
    const share = backend === 'native' ? Math.ceil(files * 0.75) : Math.floor(files * 0.25);
    it(`survives ${share} seeded mutations of a ${backend} checkpoint: a usable checkpoint or a one-line UserError`, function () {
      if (backend === 'native' && !require('../lib').loadNative().addon) this.skip();
      const valid = validCheckpoint(backend);
      const rng = Rng.fromSeed(seed * 2 + (backend === 'native' ? 0 : 1));
      const counts = { rejected: 0, decodedButRefused: 0, trained: 0 };
      let slowest = 0;
      let maxGrowth = 0;
      const started = Date.now();
      for (let i = 0; i < share; i++) {
        const { bytes, what } = mutate(valid, rng);
        const where = `mutation ${i} (seed ${seed}, ${backend}): ${what}`;
        const before = process.memoryUsage();
        const t0 = process.hrtime.bigint();
        try {
          const checkpoint = decodeCheckpoint(bytes, 'fuzz.safetensors');
          let trainer: Trainer | undefined;
          try {
            trainer = Trainer.restore(corpus, checkpoint.training, backend);
          } catch (error) {
            if (!(error instanceof UserError)) throw error;
            counts.decodedButRefused++;
          }
          if (trainer) {
            const losses = trainer.train(1);
            assert.ok(Number.isFinite(losses[0]), `${where}: a non-finite loss ${losses[0]} from a checkpoint that was accepted`);
            counts.trained++;
          }
        } catch (error) {
          if (!(error instanceof UserError)) assert.fail(`${where}: ${(error as Error).stack}`);
          assert.ok(!/[\n\r\u2028\u2029]/.test(error.message), `${where}: message on more than one line: ${JSON.stringify(error.message)}`);
          counts.rejected++;
        }
        const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
        slowest = Math.max(slowest, seconds);
        assert.ok(seconds < 1, `${where}: took ${seconds} s`);
        const after = process.memoryUsage();
        const growth = Math.max(after.arrayBuffers - before.arrayBuffers, after.rss - before.rss);
        maxGrowth = Math.max(maxGrowth, growth);
        assert.ok(growth < 64 << 20, `${where}: memory grew by ${growth} bytes`);
      }
      // The mutations both break the file and leave it usable.
      assert.ok(counts.rejected > share / 4 && counts.trained > 0, JSON.stringify(counts));
      if (process.env.RNN_FUZZ_VERBOSE) {
        console.log(`    ${backend}: ${JSON.stringify(counts)}, slowest ${(slowest * 1000).toFixed(1)} ms, max growth ${(maxGrowth / 1e6).toFixed(1)} MB, ${Date.now() - started} ms`);
      }
    });
  }

  // Regression tests for what the fuzz found: messages built from file contents must stay on one line.
  describe('one-line messages for values taken from the file', () => {
    const valid = validCheckpoint('ts');
    const oneLineUserError = (bytes: Buffer) =>
      assert.throws(
        () => decodeCheckpoint(bytes, 'x.safetensors'),
        (e: Error) => e instanceof UserError && !/[\n\r\u2028\u2029]/.test(e.message),
        'expected a one-line UserError'
      );

    it('rejects a format_version holding a newline on one line', () => {
      const { header, data } = parse(valid);
      header.__metadata__.format_version = '1\nrnn-native: something else';
      oneLineUserError(build(JSON.stringify(header), data));
    });

    it('rejects an extra tensor whose name holds a newline on one line', () => {
      const { header, data } = parse(valid);
      header['x\ny'] = { dtype: 'F64', shape: [1], data_offsets: [data.length, data.length + 8] };
      oneLineUserError(build(JSON.stringify(header), Buffer.concat([data, Buffer.alloc(8)])));
    });
  });

  it('rejects extra tensors named like Object.prototype members (constructor, toString, __proto__)', () => {
    const valid = validCheckpoint('ts');
    for (const name of ['constructor', 'toString', '__proto__']) {
      const { header, data } = parse(valid);
      const json = JSON.stringify(header).replace(/}$/, `,${JSON.stringify(name)}:{"dtype":"F64","shape":[1],"data_offsets":[${data.length},${data.length + 8}]}}`);
      assert.throws(
        () => decodeCheckpoint(build(json, Buffer.concat([data, Buffer.alloc(8)])), 'x.safetensors'),
        (e: Error) => e instanceof UserError && e.message.includes('unexpected tensors'),
        `an extra tensor "${name}" must be refused like any other`
      );
    }
  });
});
