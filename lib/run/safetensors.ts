// A strict safetensors reader and writer, written here because no maintained npm library does this.
// Layout: an 8-byte little-endian header length N, N bytes of UTF-8 JSON, then the raw tensor bytes.
// Reading needs no Node APIs (the browser module reads its model with it).
import { oneLine, UserError } from '../util/errors';

export type DType = 'F32' | 'F64' | 'U32' | 'I32';
export type TensorData = Float32Array | Float64Array | Uint32Array | Int32Array;
export interface Tensor {
  dtype: DType;
  shape: number[];
  data: TensorData;
}

/** The largest JSON header read or written, as in the Rust/Python library. */
export const MAX_HEADER_BYTES = 100_000_000;

const METADATA_KEY = '__metadata__';

interface DTypeInfo {
  size: number;
  array: new (buffer: ArrayBuffer) => TensorData;
}

const DTYPES: Record<DType, DTypeInfo> = {
  F32: { size: 4, array: Float32Array },
  F64: { size: 8, array: Float64Array },
  U32: { size: 4, array: Uint32Array },
  I32: { size: 4, array: Int32Array },
};

const SUPPORTED = Object.keys(DTYPES).join(', ');

const UTF8 = new TextDecoder('utf-8', { fatal: true });

/** Serialises tensors (in the given key order) and string metadata (stored as "__metadata__"). */
export function encodeSafetensors(tensors: Record<string, Tensor>, metadata?: Record<string, string>): Buffer {
  assertLittleEndian();
  if (!isObject(tensors)) throw new TypeError('safetensors: tensors must be an object of name → tensor');
  const header: [string, unknown][] = [];
  if (metadata !== undefined) header.push([METADATA_KEY, checkMetadata(metadata)]);
  const entries = Object.entries(tensors);
  let dataLength = 0;
  for (const [name, tensor] of entries) {
    checkTensor(name, tensor);
    const begin = dataLength;
    dataLength += tensor.data.byteLength;
    header.push([name, { dtype: tensor.dtype, shape: tensor.shape, data_offsets: [begin, dataLength] }]);
  }

  const json = JSON.stringify(Object.fromEntries(header));
  const jsonLength = Buffer.byteLength(json, 'utf8');
  // Spaces up to a multiple of 8, as the Python library pads, so the data starts 8-byte aligned.
  const padding = (8 - (jsonLength % 8)) % 8;
  const headerLength = jsonLength + padding;
  if (headerLength > MAX_HEADER_BYTES) {
    throw new RangeError(`safetensors: the header would be ${headerLength} bytes, over the ${MAX_HEADER_BYTES} limit`);
  }

  const out = Buffer.alloc(8 + headerLength + dataLength);
  out.writeBigUInt64LE(BigInt(headerLength), 0);
  out.write(json + ' '.repeat(padding), 8, 'utf8');
  let offset = 8 + headerLength;
  for (const [, { data }] of entries) {
    out.set(new Uint8Array(data.buffer, data.byteOffset, data.byteLength), offset);
    offset += data.byteLength;
  }
  return out;
}

/**
 * Parses and validates a whole file's bytes. Tensors come back in header order, as copies.
 * Throws UserError(`${source}: not a valid safetensors file: ${reason}`) (one line).
 */
export function decodeSafetensors(
  bytes: Uint8Array,
  source: string
): { tensors: Record<string, Tensor>; metadata: Record<string, string> } {
  assertLittleEndian();
  try {
    return decode(bytes);
  } catch (error) {
    if (error instanceof Malformed) {
      throw new UserError(oneLine(`${source}: not a valid safetensors file: ${error.message}`));
    }
    throw error;
  }
}

/** A reason the file is invalid; decodeSafetensors turns it into a UserError naming the file. */
class Malformed extends Error {}

/** A tensor's header entry once validated; begin and end are offsets into the data. */
interface Entry {
  name: string;
  dtype: DType;
  shape: number[];
  begin: number;
  end: number;
}

function decode(bytes: Uint8Array): { tensors: Record<string, Tensor>; metadata: Record<string, string> } {
  const headerLength = readHeaderLength(bytes);
  const header = parseHeader(bytes.subarray(8, 8 + headerLength));
  const data = bytes.subarray(8 + headerLength);
  const metadata = Object.hasOwn(header, METADATA_KEY) ? parseMetadata(header[METADATA_KEY]) : {};
  const entries = Object.entries(header)
    .filter(([name]) => name !== METADATA_KEY)
    .map(([name, value]) => parseEntry(name, value, data.length));
  checkTiling(entries, data.length);
  const tensors = Object.fromEntries(entries.map((entry) => [entry.name, copyTensor(data, entry)]));
  return { tensors, metadata };
}

/** Checked against the limit and the file's size before anything is sized by it. */
function readHeaderLength(bytes: Uint8Array): number {
  if (bytes.length < 8) {
    throw new Malformed(`the file is ${bytes.length} bytes, too short for the 8-byte header length`);
  }
  const length = new DataView(bytes.buffer, bytes.byteOffset, 8).getBigUint64(0, true);
  if (length > BigInt(MAX_HEADER_BYTES)) {
    throw new Malformed(`header length ${length} exceeds the limit of ${MAX_HEADER_BYTES} bytes`);
  }
  if (8n + length > BigInt(bytes.length)) {
    throw new Malformed(`header length ${length} runs past the end of the ${bytes.length}-byte file (truncated?)`);
  }
  return Number(length);
}

function parseHeader(headerBytes: Uint8Array): Record<string, unknown> {
  let text: string;
  try {
    text = UTF8.decode(headerBytes);
  } catch {
    throw new Malformed('the header is not valid UTF-8');
  }
  let header: unknown;
  try {
    header = JSON.parse(text);
  } catch (error) {
    throw new Malformed(`the header is not valid JSON (${(error as Error).message})`);
  }
  if (!isObject(header)) throw new Malformed(`the header is ${typeName(header)}, not a JSON object`);
  // Checked on the bytes: TextDecoder drops a byte order mark, which the format does not allow.
  if (headerBytes[0] !== 0x7b) throw new Malformed('the header does not start with "{"');
  return header;
}

function parseMetadata(value: unknown): Record<string, string> {
  if (!isObject(value)) throw new Malformed(`"${METADATA_KEY}" is ${typeName(value)}, not an object of strings`);
  for (const [key, item] of Object.entries(value)) {
    if (typeof item !== 'string') throw new Malformed(`metadata ${quote(key)} is ${typeName(item)}, not a string`);
  }
  return value as Record<string, string>;
}

function parseEntry(name: string, value: unknown, dataLength: number): Entry {
  const what = `tensor ${quote(name)}`;
  if (!isObject(value)) throw new Malformed(`${what} is ${typeName(value)}, not an object`);
  const keys = Object.keys(value);
  if (keys.length !== 3 || !['dtype', 'shape', 'data_offsets'].every((key) => Object.hasOwn(value, key))) {
    const found = keys.slice(0, 8).map(quote).join(', ');
    throw new Malformed(`${what} must have exactly the keys dtype, shape and data_offsets (it has ${found || 'none'})`);
  }
  const { dtype, shape, data_offsets: offsets } = value;
  if (!isDType(dtype)) throw new Malformed(`${what} has unsupported dtype ${show(dtype)} (supported: ${SUPPORTED})`);
  if (!isShape(shape)) {
    throw new Malformed(`${what} has shape ${show(shape)}; a shape is an array of non-negative integers`);
  }
  if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every(Number.isSafeInteger)) {
    throw new Malformed(`${what} has data_offsets ${show(offsets)}; they must be [begin, end], two integers`);
  }
  const [begin, end] = offsets as number[];
  if (begin < 0 || begin > end) {
    throw new Malformed(`${what} has data_offsets ${show(offsets)}; they need 0 <= begin <= end`);
  }
  if (end > dataLength) {
    throw new Malformed(`${what} ends at byte ${end} of the data, past its end at ${dataLength} (truncated file?)`);
  }
  const { size } = DTYPES[dtype];
  const count = elementCount(shape, Math.floor(Number.MAX_SAFE_INTEGER / size));
  if (count * size !== end - begin) {
    const needed = count === Infinity ? `more than ${Number.MAX_SAFE_INTEGER}` : `${count * size}`;
    throw new Malformed(
      `${what}: shape ${show(shape)} of ${dtype} needs ${needed} bytes, but its data_offsets span ${end - begin}`
    );
  }
  // JSON "-0" parses as -0; normalised so shapes compare equal to [0].
  return { name, dtype, shape: shape.map((dim) => dim + 0), begin, end };
}

/** Sorted by begin, the tensors must tile the data exactly: no overlaps, no holes, no trailing bytes. */
function checkTiling(entries: Entry[], dataLength: number): void {
  const sorted = [...entries].sort((a, b) => a.begin - b.begin || a.end - b.end);
  let covered = 0;
  let previous: Entry | undefined;
  for (const entry of sorted) {
    if (previous && entry.begin < covered) {
      throw new Malformed(
        `tensors ${quote(previous.name)} (bytes ${previous.begin}-${previous.end}) and ` +
          `${quote(entry.name)} (bytes ${entry.begin}-${entry.end}) overlap`
      );
    }
    if (entry.begin > covered) {
      throw new Malformed(`hole in the data: bytes ${covered}-${entry.begin} belong to no tensor`);
    }
    covered = entry.end;
    previous = entry;
  }
  if (covered < dataLength) {
    throw new Malformed(`${dataLength - covered} trailing bytes after the last tensor, which must end the file`);
  }
}

/** A copy, not a view: the bytes need not be aligned for the typed array, and the caller may reuse its buffer. */
function copyTensor(data: Uint8Array, entry: Entry): Tensor {
  const bytes = new Uint8Array(entry.end - entry.begin);
  bytes.set(data.subarray(entry.begin, entry.end));
  return { dtype: entry.dtype, shape: entry.shape, data: new DTYPES[entry.dtype].array(bytes.buffer) };
}

function checkMetadata(metadata: Record<string, string>): Record<string, string> {
  if (!isObject(metadata)) throw new TypeError('safetensors: metadata must be an object of string → string');
  for (const [key, value] of Object.entries(metadata)) {
    if (typeof value !== 'string') {
      throw new TypeError(`safetensors: metadata ${quote(key)} is ${typeName(value)}, not a string`);
    }
  }
  return Object.fromEntries(Object.entries(metadata));
}

function checkTensor(name: string, tensor: Tensor): void {
  const what = `safetensors: tensor ${quote(name)}`;
  if (name === METADATA_KEY) {
    throw new RangeError(`safetensors: "${METADATA_KEY}" is reserved for metadata and cannot name a tensor`);
  }
  if (!isObject(tensor)) throw new TypeError(`${what} is ${typeName(tensor)}, not { dtype, shape, data }`);
  if (!isDType(tensor.dtype)) throw new TypeError(`${what} has unsupported dtype ${show(tensor.dtype)}`);
  const { array } = DTYPES[tensor.dtype];
  if (!(tensor.data instanceof array)) {
    throw new TypeError(`${what} is ${tensor.dtype}, so its data must be a ${array.name}`);
  }
  if (!isShape(tensor.shape)) {
    throw new RangeError(`${what} has shape ${show(tensor.shape)}; a shape is an array of non-negative integers`);
  }
  const length = tensor.data.length;
  if (elementCount(tensor.shape, length) !== length) {
    throw new RangeError(`${what} has shape ${show(tensor.shape)}, which does not hold its ${length} elements`);
  }
}

/**
 * The product of shape, or Infinity once it exceeds limit (at most MAX_SAFE_INTEGER). Exact in
 * doubles: partial products up to the limit are safe integers, and a larger one cannot round below it.
 */
function elementCount(shape: readonly number[], limit: number): number {
  if (shape.includes(0)) return 0;
  let count = 1;
  for (const dim of shape) {
    count *= dim;
    if (count > limit) return Infinity;
  }
  return count;
}

function isDType(value: unknown): value is DType {
  return typeof value === 'string' && Object.hasOwn(DTYPES, value);
}

function isShape(value: unknown): value is number[] {
  return Array.isArray(value) && value.every((dim) => Number.isSafeInteger(dim) && dim >= 0);
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function typeName(value: unknown): string {
  if (value === null || value === undefined) return String(value);
  if (Array.isArray(value)) return 'an array';
  return typeof value === 'object' ? 'an object' : `a ${typeof value}`;
}

/** A short rendering of a JSON value for a message; never recurses, so deep nesting is harmless. */
function show(value: unknown): string {
  if (typeof value === 'string') return quote(value);
  if (typeof value === 'number' || typeof value === 'boolean' || value === null) return String(value);
  if (!Array.isArray(value)) return typeName(value);
  const items = value.slice(0, 8).map((item) => (isObject(item) || Array.isArray(item) ? typeName(item) : show(item)));
  return `[${items.join(', ')}${value.length > 8 ? ', …' : ''}]`;
}

function quote(text: string): string {
  return JSON.stringify(text.length > 60 ? `${text.slice(0, 60)}…` : text);
}

function assertLittleEndian(): void {
  // Typed arrays use the machine's byte order; the format's is little-endian.
  if (new Uint8Array(Uint16Array.of(1).buffer)[0] !== 1) throw new Error('safetensors: big-endian machines are not supported');
}
