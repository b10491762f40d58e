import assert from 'assert';
import { spawnSync } from 'child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import path from 'path';
import { UserError } from '../lib/util/errors';
import { decodeSafetensors, encodeSafetensors, MAX_HEADER_BYTES, Tensor, TensorData } from '../lib/run/safetensors';

/** One tensor of each dtype, special floats, a scalar, a zero-element tensor, and a F64 at an odd offset. */
function sampleTensors(): Record<string, Tensor> {
  const weights = Float32Array.of(0.1, -0, NaN, Infinity, -Infinity, 3.4e38);
  new Uint32Array(weights.buffer)[2] = 0x7fc00001; // a NaN with a payload, which must survive bit for bit
  return {
    weights: { dtype: 'F32', shape: [2, 3], data: weights },
    odd: { dtype: 'F32', shape: [1], data: Float32Array.of(1.5) }, // puts "bias" at data offset 28
    bias: { dtype: 'F64', shape: [4], data: Float64Array.of(Math.PI, -0, NaN, 5e-324) },
    counts: { dtype: 'U32', shape: [2, 2], data: Uint32Array.of(0, 1, 0xffffffff, 123456789) },
    offsets: { dtype: 'I32', shape: [4], data: Int32Array.of(-2147483648, -1, 0, 2147483647) },
    scale: { dtype: 'F64', shape: [], data: Float64Array.of(-Infinity) },
    empty: { dtype: 'F32', shape: [0, 4], data: new Float32Array(0) },
  };
}

const METADATA = { format: 'pt', note: 'Grüße 🙂, "quoted"\nsecond line' };

function bytesOf(data: TensorData): Buffer {
  return Buffer.from(data.buffer, data.byteOffset, data.byteLength);
}

/** A file from raw parts: the header is not padded, and headerLength can lie about its size. */
function rawFile(header: string | Uint8Array | object, data: number | Uint8Array = 0, headerLength?: bigint): Buffer {
  const json = typeof header === 'string' || header instanceof Uint8Array ? header : JSON.stringify(header);
  const headerBytes = Buffer.from(json);
  const prefix = Buffer.alloc(8);
  prefix.writeBigUInt64LE(headerLength ?? BigInt(headerBytes.length));
  const dataBytes = typeof data === 'number' ? Buffer.alloc(data) : data;
  return Buffer.concat([prefix, headerBytes, dataBytes]);
}

function f32(dataOffsets: unknown, shape: unknown = [1]): object {
  return { dtype: 'F32', shape, data_offsets: dataOffsets };
}

function rejects(bytes: Uint8Array, words: string, label: string): void {
  assert.throws(
    () => decodeSafetensors(bytes, 'bad.safetensors'),
    (e: Error) => {
      assert.ok(e instanceof UserError, `${label}: ${e.constructor.name}: ${e.message}`);
      assert.ok(e.message.startsWith('bad.safetensors: not a valid safetensors file: '), `${label}: ${e.message}`);
      assert.ok(e.message.includes(words), `${label}: expected "${words}" in: ${e.message}`);
      assert.ok(!e.message.includes('\n'), `${label}: message has a newline`);
      return true;
    },
    label
  );
}

describe('safetensors', () => {
  it('round-trips every dtype, a scalar, a zero-element tensor and metadata bit for bit', () => {
    const tensors = sampleTensors();
    const file = encodeSafetensors(tensors, METADATA);
    const headerLength = Number(file.readBigUInt64LE(0));
    assert.strictEqual((8 + headerLength) % 8, 0, 'the data starts 8-byte aligned');
    assert.strictEqual(file.length, 8 + headerLength + 6 * 4 + 4 + 4 * 8 + 4 * 4 + 4 * 4 + 8);

    // Decoded from an odd byte offset too, so nothing may rely on the input's alignment.
    const shifted = new Uint8Array(file.length + 3);
    shifted.set(file, 3);
    for (const bytes of [file, shifted.subarray(3)]) {
      const decoded = decodeSafetensors(bytes, 'model.safetensors');
      assert.deepStrictEqual(decoded.metadata, METADATA);
      assert.deepStrictEqual(Object.keys(decoded.tensors), Object.keys(tensors));
      for (const [name, tensor] of Object.entries(tensors)) {
        const got = decoded.tensors[name];
        assert.strictEqual(got.dtype, tensor.dtype, name);
        assert.deepStrictEqual(got.shape, tensor.shape, name);
        assert.strictEqual(got.data.constructor, tensor.data.constructor, name);
        assert.ok(bytesOf(got.data).equals(bytesOf(tensor.data)), `${name} bits`);
      }
      const { weights, bias, scale } = decoded.tensors;
      const f32Values = [Math.fround(0.1), -0, NaN, Infinity, -Infinity, Math.fround(3.4e38)];
      assert.deepStrictEqual(Array.from(weights.data), f32Values);
      assert.deepStrictEqual(Array.from(bias.data), [Math.PI, -0, NaN, 5e-324]);
      assert.ok(Object.is(scale.data[0], -Infinity));
    }
  });

  it('writes the same bytes as the reference library for its test vectors', () => {
    const file = (header: string, data: number[] = []) => {
      const prefix = Buffer.alloc(8);
      prefix.writeBigUInt64LE(BigInt(header.length));
      return Buffer.concat([prefix, Buffer.from(header), Buffer.from(Float32Array.from(data).buffer)]);
    };
    assert.deepStrictEqual(encodeSafetensors({}), file('{}      '));
    assert.deepStrictEqual(
      encodeSafetensors({}, { framework: 'pt' }),
      file('{"__metadata__":{"framework":"pt"}}     ')
    );
    const data = Float32Array.of(0, 1, 2, 3, 4, 5);
    assert.deepStrictEqual(
      encodeSafetensors({ attn0: { dtype: 'F32', shape: [1, 1, 2, 3], data } }),
      file('{"attn0":{"dtype":"F32","shape":[1,1,2,3],"data_offsets":[0,24]}}       ', [0, 1, 2, 3, 4, 5])
    );
  });

  it('decodes copies, not views of the input', () => {
    const file = encodeSafetensors({ x: { dtype: 'I32', shape: [2], data: Int32Array.of(7, 8) } });
    const { tensors } = decodeSafetensors(file, 'f');
    file.fill(0);
    assert.deepStrictEqual(Array.from(tensors.x.data), [7, 8]);
  });

  it('is read back by an independent reader (Python json + numpy)', function () {
    const probe = spawnSync('python3', ['-c', 'import numpy'], { encoding: 'utf8' });
    if (probe.status !== 0) {
      const why = probe.error ? `python3 cannot run (${probe.error.message})` : 'python3 has no numpy';
      console.warn(`      SKIPPED the independent safetensors check: ${why}`);
      this.skip();
    }
    const script = [
      'import json, struct, sys',
      'import numpy as np',
      'raw = open(sys.argv[1], "rb").read()',
      '(n,) = struct.unpack("<Q", raw[:8])',
      'header = json.loads(raw[8:8 + n].decode("utf-8"))',
      'data = raw[8 + n:]',
      'kinds = {"F32": "<f4", "F64": "<f8", "U32": "<u4", "I32": "<i4"}',
      'plain = lambda v: v if isinstance(v, int) or np.isfinite(v) else repr(v)',
      'out = {"__metadata__": header.pop("__metadata__", {})}',
      'for name, t in header.items():',
      '    begin, end = t["data_offsets"]',
      '    a = np.frombuffer(data[begin:end], dtype=kinds[t["dtype"]]).reshape(t["shape"])',
      '    out[name] = {"dtype": t["dtype"], "shape": list(a.shape), "values": [plain(v) for v in a.ravel().tolist()]}',
      'print(json.dumps(out))',
    ].join('\n');
    const dir = mkdtempSync(path.join(tmpdir(), 'rnn-safetensors-'));
    try {
      const file = path.join(dir, 'model.safetensors');
      const tensors = sampleTensors();
      writeFileSync(file, encodeSafetensors(tensors, METADATA));
      const run = spawnSync('python3', ['-c', script, file], { encoding: 'utf8', timeout: 60_000 });
      assert.strictEqual(run.status, 0, run.stderr);

      const nonFinite: Record<string, number> = { nan: NaN, inf: Infinity, '-inf': -Infinity };
      const fromPython = (v: number | string) => (typeof v === 'string' ? nonFinite[v] : v);
      const parsed = JSON.parse(run.stdout) as Record<string, { values: (number | string)[] }>;
      const { __metadata__: metadata, ...read } = parsed;
      assert.deepStrictEqual(metadata, METADATA);
      const got = Object.fromEntries(
        Object.entries(read).map(([name, t]) => [name, { ...t, values: t.values.map(fromPython) }])
      );
      const expected = Object.fromEntries(
        Object.entries(tensors).map(([name, t]) => [
          name,
          { dtype: t.dtype, shape: t.shape, values: Array.from(t.data) },
        ])
      );
      assert.deepStrictEqual(got, expected);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('accepts what other writers may produce: unpadded header, any data order, empty tensors, no tensors', () => {
    const header = {
      b: f32([4, 8]),
      e1: f32([8, 8], [0]),
      a: { dtype: 'I32', shape: [1], data_offsets: [0, 4] },
      e2: f32([8, 8], [3, 0]),
    };
    const data = Buffer.concat([Buffer.from(Int32Array.of(-5).buffer), Buffer.from(Float32Array.of(2.5).buffer)]);
    const { tensors, metadata } = decodeSafetensors(rawFile(header, data), 'f');
    assert.deepStrictEqual(Object.keys(tensors), ['b', 'e1', 'a', 'e2']);
    assert.deepStrictEqual(Array.from(tensors.a.data), [-5]);
    assert.deepStrictEqual(Array.from(tensors.b.data), [2.5]);
    assert.deepStrictEqual(tensors.e2.shape, [3, 0]);
    assert.strictEqual(tensors.e2.data.length, 0);
    assert.deepStrictEqual(metadata, {});
    assert.deepStrictEqual(decodeSafetensors(rawFile('{}'), 'f'), { tensors: {}, metadata: {} });
    assert.deepStrictEqual(decodeSafetensors(encodeSafetensors({}), 'f'), { tensors: {}, metadata: {} });
  });

  it('rejects malformed files with a one-line UserError giving the reason', () => {
    const valid = encodeSafetensors(sampleTensors(), METADATA);
    const cases: [string, Uint8Array, string][] = [
      ['empty file', new Uint8Array(0), 'too short'],
      ['7 bytes', new Uint8Array(7), 'too short'],
      ['header length 2^63', rawFile('{}', 0, 2n ** 63n), 'header length 9223372036854775808 exceeds the limit'],
      ['header length over the limit', rawFile('{}', 0, BigInt(MAX_HEADER_BYTES) + 1n), 'exceeds the limit'],
      ['header length past the end', rawFile('{}', 0, 100n), 'runs past the end'],
      ['data cut short by 1 byte', valid.subarray(0, valid.length - 1), 'truncated'],
      ['header cut short', valid.subarray(0, 20), 'runs past the end'],
      ['empty header', rawFile(''), 'not valid JSON'],
      ['header not UTF-8', rawFile(Uint8Array.of(0x7b, 0x22, 0xff, 0x22, 0x3a, 0x31, 0x7d)), 'not valid UTF-8'],
      ['bad JSON', rawFile('{"a": '), 'not valid JSON'],
      ['header an array', rawFile('[1, 2]'), 'is an array, not a JSON object'],
      ['header a string', rawFile('"{}"'), 'not a JSON object'],
      ['header null', rawFile('null'), 'not a JSON object'],
      ['leading space', rawFile(' {}'), 'does not start with "{"'],
      ['byte order mark', rawFile('\ufeff{}'), 'does not start with "{"'],
      ['metadata an array', rawFile({ __metadata__: ['a'] }), '"__metadata__" is an array'],
      ['metadata null', rawFile({ __metadata__: null }), '"__metadata__" is null'],
      ['metadata value a number', rawFile({ __metadata__: { epoch: 3 } }), 'metadata "epoch" is a number'],
      ['entry not an object', rawFile({ w: [0, 4] }, 4), 'tensor "w" is an array, not an object'],
      ['entry missing a key', rawFile({ w: { dtype: 'F32', shape: [1] } }, 4), 'exactly the keys'],
      ['entry with an extra key', rawFile({ w: { ...f32([0, 4]), extra: 1 } }, 4), 'exactly the keys'],
      ['dtype BF16', rawFile({ w: { ...f32([0, 4]), dtype: 'BF16' } }, 4), 'unsupported dtype "BF16"'],
      ['dtype a number', rawFile({ w: { ...f32([0, 4]), dtype: 4 } }, 4), 'unsupported dtype 4'],
      ['shape -1', rawFile({ w: f32([0, 4], [-1]) }, 4), 'shape [-1]'],
      ['shape 1.5', rawFile({ w: f32([0, 4], [1.5]) }, 4), 'shape [1.5]'],
      ['shape a string', rawFile({ w: f32([0, 4], '1') }, 4), 'shape "1"'],
      ['shape above 2^53', rawFile({ w: f32([0, 4], [2 ** 53]) }, 4), 'shape [9007199254740992]'],
      ['data_offsets of one number', rawFile({ w: f32([4]) }, 4), 'data_offsets [4]'],
      ['data_offsets strings', rawFile({ w: f32(['0', '4']) }, 4), 'data_offsets ["0", "4"]'],
      ['data_offsets reversed', rawFile({ w: f32([4, 0]) }, 4), 'begin <= end'],
      ['data_offsets negative', rawFile({ w: f32([-4, 0]) }, 4), 'begin <= end'],
      ['data_offsets out of range', rawFile({ w: f32([0, 8], [2]) }, 4), 'past its end'],
      ['size mismatch', rawFile({ w: f32([0, 8], [3]) }, 8), 'needs 12 bytes, but its data_offsets span 8'],
      ['shape overflow', rawFile({ w: f32([0, 4], [2 ** 53 - 1, 2 ** 53 - 1, 4]) }, 4), 'needs more than 9007'],
      ['overlap', rawFile({ a: f32([0, 8], [2]), b: f32([4, 12], [2]) }, 12), 'overlap'],
      ['empty tensor inside another', rawFile({ a: f32([0, 8], [2]), e: f32([4, 4], [0]) }, 8), 'overlap'],
      ['hole between tensors', rawFile({ a: f32([0, 4]), b: f32([8, 12]) }, 12), 'hole in the data: bytes 4-8'],
      ['hole at the start', rawFile({ a: f32([4, 8]) }, 8), 'hole in the data: bytes 0-4'],
      ['trailing bytes', rawFile({ a: f32([0, 4]) }, 7), '3 trailing bytes'],
      ['trailing bytes, no tensors', rawFile({}, 1), '1 trailing bytes'],
    ];
    for (const [label, bytes, words] of cases) rejects(bytes, words, label);
  });

  it('keeps messages on one line and short, whatever the names', () => {
    const name = `a\nb${'x'.repeat(1000)}`;
    rejects(rawFile({ [name]: 5 }), 'tensor "a\\nbxxx', 'name with a newline');
    assert.throws(
      () => decodeSafetensors(rawFile('{\n"a'), 'dir\n/f'),
      (e: Error) => e instanceof UserError && !/[\n\r]/.test(e.message) && e.message.startsWith('dir\\u000a/f: ')
    );
    assert.throws(
      () => decodeSafetensors(rawFile({ w: f32([0, 4], Array(1e6).fill(2)) }, 4), 'f'),
      (e: Error) => e instanceof UserError && e.message.length < 300
    );
  });

  it('survives 2,000 seeded mutations of a valid file: a consistent result or a UserError', () => {
    const small: Record<string, Tensor> = {
      a: { dtype: 'F32', shape: [2], data: Float32Array.of(1, -2) },
      b: { dtype: 'F64', shape: [], data: Float64Array.of(3) },
      c: { dtype: 'U32', shape: [0], data: new Uint32Array(0) },
      d: { dtype: 'I32', shape: [1, 1], data: Int32Array.of(-4) },
    };
    const valid = encodeSafetensors(small, { step: '10' });
    const random = lcg(20240601);
    const outcomes = { accepted: 0, rejected: 0 };
    for (let i = 0; i < 2000; i++) {
      const bytes = mutate(valid, random);
      let result: ReturnType<typeof decodeSafetensors>;
      try {
        result = decodeSafetensors(bytes, 'fuzz');
      } catch (error) {
        if (!(error instanceof UserError) || error.message.includes('\n')) {
          assert.fail(`mutation ${i} threw ${(error as Error).stack}\nbytes: ${bytes.toString('hex')}`);
        }
        outcomes.rejected++;
        continue;
      }
      for (const [name, t] of Object.entries(result.tensors)) {
        const count = t.shape.reduce((n, dim) => n * dim, 1);
        assert.ok(t.shape.every((dim) => Number.isSafeInteger(dim) && dim >= 0), `mutation ${i}: ${name} shape`);
        assert.strictEqual(t.data.length, count, `mutation ${i}: ${name}`);
        assert.strictEqual(t.data.BYTES_PER_ELEMENT, t.dtype === 'F64' ? 8 : 4, `mutation ${i}: ${name}`);
      }
      outcomes.accepted++;
    }
    // Both outcomes occur, so the mutations neither always break the file nor never do.
    assert.ok(outcomes.accepted > 10 && outcomes.rejected > 1000, JSON.stringify(outcomes));
  });

  it('refuses misuse of the writer with a TypeError or RangeError', () => {
    const ok = (): Tensor => ({ dtype: 'F32', shape: [2], data: Float32Array.of(1, 2) });
    const misuse = (tensors: unknown, metadata: unknown, error: typeof TypeError, words: string) =>
      assert.throws(
        () => encodeSafetensors(tensors as Record<string, Tensor>, metadata as Record<string, string>),
        (e: Error) => e.constructor === error && e.message.includes(words),
        words
      );
    misuse(null, undefined, TypeError, 'tensors must be an object');
    misuse({ w: { ...ok(), data: Float64Array.of(1, 2) } }, undefined, TypeError, 'must be a Float32Array');
    misuse({ w: { ...ok(), dtype: 'BF16' } }, undefined, TypeError, 'unsupported dtype "BF16"');
    misuse({ w: { ...ok(), shape: [3] } }, undefined, RangeError, 'does not hold its 2 elements');
    misuse({ w: { ...ok(), shape: [-1, -2] } }, undefined, RangeError, 'shape [-1, -2]');
    misuse({ w: { ...ok(), shape: [2.5] } }, undefined, RangeError, 'shape [2.5]');
    misuse({ w: { ...ok(), shape: [2 ** 53 - 1, 2 ** 53 - 1, 0.5] } }, undefined, RangeError, 'shape');
    misuse({ __metadata__: ok() }, undefined, RangeError, 'reserved');
    misuse({ w: ok() }, { epoch: 3 }, TypeError, 'metadata "epoch" is a number');
    misuse({ w: ok() }, 'x', TypeError, 'metadata must be an object');
  });

  it('writes views of larger arrays by their own bytes', () => {
    const big = Float64Array.of(1, 2, 3, 4, 5);
    const file = encodeSafetensors({ v: { dtype: 'F64', shape: [2], data: big.subarray(2, 4) } });
    assert.deepStrictEqual(Array.from(decodeSafetensors(file, 'f').tensors.v.data), [3, 4]);
  });
});

/** A tiny LCG, so the mutations are the same on every run; random(n) is in [0, n). */
function lcg(seed: number): (n: number) => number {
  let state = seed >>> 0;
  return (n) => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    return Math.floor((state / 2 ** 32) * n);
  };
}

/** Fragments that steer splices into the JSON's corner cases rather than only breaking its syntax. */
const TOKENS = [
  ...['-1', '1.5', '1e400', '-0', '0', '4', '8', '4294967296', '9007199254740993', 'null', '[]', '{}'],
  ...['"BF16"', '"__metadata__"', '"dtype"', '"shape"', '"data_offsets"', '"\\u0000"', '\ufeff'],
  ...['[', ']', '{', '}', ',', ':', '"'],
];

function mutate(valid: Buffer, random: (n: number) => number): Buffer {
  const bytes = Buffer.from(valid);
  const headerLength = Number(bytes.readBigUInt64LE(0));
  switch (random(5)) {
    case 0: // bit flips
      for (let k = 1 + random(4); k > 0; k--) bytes[random(bytes.length)] ^= 1 << random(8);
      return bytes;
    case 1: // truncation
      return bytes.subarray(0, random(bytes.length));
    case 2: // a header length that is nearly right or anything at all
      bytes.writeBigUInt64LE(
        random(2) ? BigInt(random(bytes.length + 16)) : (BigInt(random(2 ** 32)) << 32n) | BigInt(random(2 ** 32))
      );
      return bytes;
    case 3: {
      // random bytes spliced in anywhere
      const at = 8 + random(bytes.length - 8);
      const inserted = Buffer.from(Array.from({ length: random(8) }, () => random(256)));
      return splice(bytes, headerLength, at, random(8), inserted);
    }
    default: {
      // a JSON number or string of the header replaced by a token, so the JSON mostly stays valid
      const header = bytes.toString('latin1', 8, 8 + headerLength);
      const values = [...header.matchAll(/-?\d+|"[^"]*"/g)];
      const value = values[random(values.length)];
      const at = 8 + value.index!;
      return splice(bytes, headerLength, at, value[0].length, Buffer.from(TOKENS[random(TOKENS.length)]));
    }
  }
}

/** Replaces removed bytes at `at` by inserted, keeping the header length right when `at` is in the header. */
function splice(bytes: Buffer, headerLength: number, at: number, removed: number, inserted: Buffer): Buffer {
  const spliced = Buffer.concat([bytes.subarray(0, at), inserted, bytes.subarray(at + removed)]);
  const end = 8 + headerLength;
  if (at < end) spliced.writeBigUInt64LE(BigInt(headerLength + inserted.length - Math.min(removed, end - at)));
  return spliced;
}
