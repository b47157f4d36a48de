/**
 * safetensors, the format of Hugging Face checkpoints: 8 bytes little-endian header length N, N bytes of
 * JSON `{name: {dtype, shape, data_offsets: [begin, end]}, "__metadata__": {string: string}}`, then raw
 * little-endian tensor bytes (offsets relative to the end of the header). This module reads and writes whole
 * files held in memory; streaming readers reuse `parseSafetensorsHeader`.
 */
import { ModelFormatError } from './errors.ts';

export type SafetensorsDtype = 'F32' | 'F16' | 'BF16' | 'F64' | 'I32' | 'I64' | 'U8' | 'I8' | 'U32' | 'BOOL';

export interface TensorInfo {
  name: string;
  dtype: SafetensorsDtype;
  shape: number[];
  /** Byte range inside the data section (after the header). */
  begin: number;
  end: number;
}

export interface SafetensorsHeader {
  /** Bytes before the data section: 8 + header length. */
  dataStart: number;
  tensors: Map<string, TensorInfo>;
  metadata: Record<string, string>;
}

const DTYPE_BYTES: Record<SafetensorsDtype, number> = {
  F32: 4,
  F16: 2,
  BF16: 2,
  F64: 8,
  I32: 4,
  I64: 8,
  U8: 1,
  I8: 1,
  U32: 4,
  BOOL: 1,
};

export function dtypeBytes(dtype: SafetensorsDtype): number {
  return DTYPE_BYTES[dtype];
}

/** Largest header we accept: real checkpoints have a few hundred KB; anything bigger is not safetensors. */
const MAX_HEADER_BYTES = 100 * 1024 * 1024;

/** Reads the 8-byte header length; `prefix` must hold at least 8 bytes. */
export function safetensorsHeaderLength(prefix: Uint8Array, file: string): number {
  if (prefix.byteLength < 8) throw new ModelFormatError(`${file} is too short to be a safetensors file.`);
  const view = new DataView(prefix.buffer, prefix.byteOffset, 8);
  const n = Number(view.getBigUint64(0, true));
  if (n < 2 || n > MAX_HEADER_BYTES) {
    throw new ModelFormatError(
      `${file} is not a safetensors file (header length ${n} is implausible); the file may be corrupt or of another format.`,
    );
  }
  return n;
}

/** `__metadata__`: a map of strings, as the format defines it (absent or null reads as empty). */
function stringMap(entry: unknown, file: string): Record<string, string> {
  if (entry === undefined || entry === null) return {};
  if (
    typeof entry !== 'object' ||
    Array.isArray(entry) ||
    !Object.values(entry).every((v) => typeof v === 'string')
  ) {
    throw new ModelFormatError(`${file} has __metadata__ that is not a map of strings; the file is corrupt.`);
  }
  return entry as Record<string, string>;
}

/**
 * Parses the header from the first 8 + N bytes. `fileSize`, when known, is checked against the tensors'
 * extents so a truncated download is caught before any tensor is read.
 */
export function parseSafetensorsHeader(
  prefix: Uint8Array,
  file: string,
  fileSize?: number,
): SafetensorsHeader {
  const n = safetensorsHeaderLength(prefix, file);
  if (prefix.byteLength < 8 + n) throw new ModelFormatError(`${file} is truncated inside its header.`);
  let json: unknown;
  try {
    json = JSON.parse(new TextDecoder().decode(prefix.subarray(8, 8 + n)));
  } catch {
    throw new ModelFormatError(`${file} has a header that is not valid JSON; the file is corrupt.`);
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) {
    throw new ModelFormatError(`${file} has a header that is not a JSON object.`);
  }
  const tensors = new Map<string, TensorInfo>();
  let metadata: Record<string, string> = {};
  let dataEnd = 0;
  for (const [name, entry] of Object.entries(json as Record<string, unknown>)) {
    if (name === '__metadata__') {
      metadata = stringMap(entry, file);
      continue;
    }
    if (typeof entry !== 'object' || entry === null || Array.isArray(entry)) {
      throw new ModelFormatError(
        `${file}: tensor "${name}" is not described by a JSON object; the file is corrupt.`,
      );
    }
    const e = entry as { dtype?: unknown; shape?: unknown; data_offsets?: unknown };
    if (typeof e.dtype !== 'string' || !Object.hasOwn(DTYPE_BYTES, e.dtype)) {
      throw new ModelFormatError(
        `${file}: tensor "${name}" has unsupported dtype ${JSON.stringify(e.dtype)}.`,
      );
    }
    const dtype = e.dtype as SafetensorsDtype;
    const shape = e.shape;
    const offs = e.data_offsets;
    // Safe integers only: beyond 2^53 the byte arithmetic below is inexact.
    if (!Array.isArray(shape) || !shape.every((d) => Number.isSafeInteger(d) && d >= 0)) {
      throw new ModelFormatError(`${file}: tensor "${name}" has an invalid shape.`);
    }
    if (!Array.isArray(offs) || offs.length !== 2 || !offs.every((d) => Number.isSafeInteger(d) && d >= 0)) {
      throw new ModelFormatError(`${file}: tensor "${name}" has invalid data_offsets.`);
    }
    const [begin, end] = offs as [number, number];
    const count = (shape as number[]).reduce((a, b) => a * b, 1);
    if (end - begin !== count * DTYPE_BYTES[dtype]) {
      throw new ModelFormatError(
        `${file}: tensor "${name}" spans ${end - begin} bytes but its shape [${shape.join(', ')}] in ${dtype} needs ${count * DTYPE_BYTES[dtype]}.`,
      );
    }
    dataEnd = Math.max(dataEnd, end);
    tensors.set(name, { name, dtype, shape: shape as number[], begin, end });
  }
  if (fileSize !== undefined && 8 + n + dataEnd > fileSize) {
    throw new ModelFormatError(
      `${file} is truncated: its header describes ${8 + n + dataEnd} bytes but the file has ${fileSize}. Download it again.`,
    );
  }
  return { dataStart: 8 + n, tensors, metadata };
}

/** Converts one IEEE half (as a 16-bit integer) to a number. */
export function f16ToF32(h: number): number {
  const s = h & 0x8000 ? -1 : 1;
  const e = (h >> 10) & 0x1f;
  const f = h & 0x3ff;
  if (e === 0) return s * f * 2 ** -24;
  if (e === 31) return f ? NaN : s * Infinity;
  return s * (1 + f / 1024) * 2 ** (e - 15);
}

const f32Scratch = new Float32Array(1);
const u32Scratch = new Uint32Array(f32Scratch.buffer);

/** Rounds a number to the nearest IEEE half (ties to even) and returns its 16 bits. */
export function f32ToF16(value: number): number {
  f32Scratch[0] = value;
  const x = u32Scratch[0]!;
  const sign = (x >>> 16) & 0x8000;
  const exp = (x >>> 23) & 0xff;
  let mant = x & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant ? 0x200 : 0);
  const e = exp - 127 + 15;
  if (e >= 31) return sign | 0x7c00;
  if (e <= 0) {
    if (e < -10) return sign;
    mant |= 0x800000;
    const shift = 14 - e;
    let half = mant >>> shift;
    const rem = mant & ((1 << shift) - 1);
    const mid = 1 << (shift - 1);
    if (rem > mid || (rem === mid && half & 1)) half++;
    return sign | half;
  }
  let half = (e << 10) | (mant >>> 13);
  const rem = mant & 0x1fff;
  // A carry out of the mantissa rolls into the exponent, which is the correct rounding (up to Infinity).
  if (rem > 0x1000 || (rem === 0x1000 && half & 1)) half++;
  return sign | half;
}

/** Rounds a number to the nearest bfloat16 (ties to even, NaN kept) and returns its 16 bits. */
export function f32ToBf16(value: number): number {
  f32Scratch[0] = value;
  const x = u32Scratch[0]!;
  if ((x & 0x7f800000) === 0x7f800000 && x & 0x7fffff) return (x >>> 16) | 0x40;
  const rounded = x + 0x7fff + ((x >>> 16) & 1);
  return (rounded >>> 16) & 0xffff;
}

/** Decodes a tensor's raw little-endian bytes to f32 (F32, F16, BF16, F64) or to numbers (integers). */
export function decodeToFloat32(bytes: Uint8Array, dtype: SafetensorsDtype, name = 'tensor'): Float32Array {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const n = bytes.byteLength / DTYPE_BYTES[dtype];
  const out = new Float32Array(n);
  switch (dtype) {
    case 'F32':
      for (let i = 0; i < n; i++) out[i] = view.getFloat32(4 * i, true);
      return out;
    case 'F16':
      for (let i = 0; i < n; i++) out[i] = f16ToF32(view.getUint16(2 * i, true));
      return out;
    case 'BF16':
      for (let i = 0; i < n; i++) {
        u32Scratch[0] = view.getUint16(2 * i, true) << 16;
        out[i] = f32Scratch[0]!;
      }
      return out;
    case 'F64':
      for (let i = 0; i < n; i++) out[i] = view.getFloat64(8 * i, true);
      return out;
    default:
      throw new ModelFormatError(`${name} has dtype ${dtype}, which is not a floating-point type.`);
  }
}

/** Decodes an integer tensor (I32, I64, U32, U8, I8) to an Int32Array-compatible list of numbers. */
export function decodeToInt32(bytes: Uint8Array, dtype: SafetensorsDtype, name = 'tensor'): Int32Array {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const n = bytes.byteLength / DTYPE_BYTES[dtype];
  const out = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    switch (dtype) {
      case 'I32':
        out[i] = view.getInt32(4 * i, true);
        break;
      case 'U32':
        out[i] = view.getUint32(4 * i, true);
        break;
      case 'I64':
        out[i] = Number(view.getBigInt64(8 * i, true));
        break;
      case 'U8':
        out[i] = view.getUint8(i);
        break;
      case 'I8':
        out[i] = view.getInt8(i);
        break;
      default:
        throw new ModelFormatError(`${name} has dtype ${dtype}, which is not an integer type.`);
    }
  }
  return out;
}

/** A whole safetensors file held in memory. */
export class SafetensorsFile {
  readonly header: SafetensorsHeader;
  constructor(
    readonly bytes: Uint8Array,
    readonly file = 'model.safetensors',
  ) {
    this.header = parseSafetensorsHeader(bytes, file, bytes.byteLength);
  }
  get names(): string[] {
    return [...this.header.tensors.keys()];
  }
  get metadata(): Record<string, string> {
    return this.header.metadata;
  }
  info(name: string): TensorInfo {
    const t = this.header.tensors.get(name);
    if (!t) throw new ModelFormatError(`${this.file} has no tensor "${name}".`);
    return t;
  }
  has(name: string): boolean {
    return this.header.tensors.has(name);
  }
  raw(name: string): Uint8Array {
    const t = this.info(name);
    return this.bytes.subarray(this.header.dataStart + t.begin, this.header.dataStart + t.end);
  }
  float32(name: string): Float32Array {
    return decodeToFloat32(this.raw(name), this.info(name).dtype, `${this.file}: "${name}"`);
  }
  int32(name: string): Int32Array {
    return decodeToInt32(this.raw(name), this.info(name).dtype, `${this.file}: "${name}"`);
  }
}

export interface TensorToWrite {
  dtype: 'F32' | 'I32' | 'F16' | 'BF16';
  shape: number[];
  /** F32 → Float32Array, I32 → Int32Array, F16 / BF16 → Uint16Array of the 16-bit patterns. */
  data: Float32Array | Int32Array | Uint16Array;
}

/** Serialises tensors (in the order given) and string metadata into safetensors bytes. */
export function writeSafetensors(
  tensors: Record<string, TensorToWrite>,
  metadata: Record<string, string> = {},
): Uint8Array {
  const header: Record<string, unknown> = {};
  if (Object.keys(metadata).length > 0) header['__metadata__'] = metadata;
  let offset = 0;
  const entries = Object.entries(tensors);
  for (const [name, t] of entries) {
    const size = t.data.byteLength;
    header[name] = { dtype: t.dtype, shape: t.shape, data_offsets: [offset, offset + size] };
    offset += size;
  }
  let json = new TextEncoder().encode(JSON.stringify(header));
  // Pad the header with spaces to 8 bytes so tensor data stays aligned, as the reference writer does.
  const pad = (8 - (json.byteLength % 8)) % 8;
  if (pad) json = new TextEncoder().encode(JSON.stringify(header) + ' '.repeat(pad));
  const out = new Uint8Array(8 + json.byteLength + offset);
  new DataView(out.buffer).setBigUint64(0, BigInt(json.byteLength), true);
  out.set(json, 8);
  let at = 8 + json.byteLength;
  for (const [, t] of entries) {
    out.set(new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength), at);
    at += t.data.byteLength;
  }
  return out;
}
