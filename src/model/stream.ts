/**
 * safetensors read as the bytes arrive: the header first, then each tensor's bytes, handed on one tensor at
 * a time and dropped. Peak memory is one tensor (raw + f32), never a whole multi-gigabyte file, so a 2.8b
 * shard loads in a browser tab. Works over a fetch body, a File's stream or a Node file stream alike.
 */
import { ModelFormatError } from './errors.ts';
import {
  parseSafetensorsHeader,
  safetensorsHeaderLength,
  type SafetensorsDtype,
  type SafetensorsHeader,
  type TensorInfo,
} from './safetensors.ts';

export type ByteChunks = ReadableStream<Uint8Array> | AsyncIterable<Uint8Array>;

/** Pulls exact byte counts out of a stream of arbitrarily sized chunks. */
export class ChunkReader {
  private iter: AsyncIterator<Uint8Array>;
  private current: Uint8Array = new Uint8Array(0);
  private done = false;
  /** Bytes consumed so far (the position in the file). */
  position = 0;

  constructor(source: ByteChunks) {
    this.iter = iterate(source);
  }

  private async fill(): Promise<boolean> {
    while (this.current.byteLength === 0) {
      if (this.done) return false;
      const r = await this.iter.next();
      if (r.done) {
        this.done = true;
        return false;
      }
      this.current = r.value;
    }
    return true;
  }

  /** Fills `dest` completely unless the stream ends first; returns the number of bytes written. */
  async readInto(dest: Uint8Array): Promise<number> {
    let at = 0;
    while (at < dest.byteLength && (await this.fill())) {
      const n = Math.min(dest.byteLength - at, this.current.byteLength);
      dest.set(this.current.subarray(0, n), at);
      this.current = this.current.subarray(n);
      at += n;
      this.position += n;
    }
    return at;
  }

  /** Discards up to `n` bytes; returns how many were discarded. */
  async skip(n: number): Promise<number> {
    let left = n;
    while (left > 0 && (await this.fill())) {
      const k = Math.min(left, this.current.byteLength);
      this.current = this.current.subarray(k);
      left -= k;
      this.position += k;
    }
    return n - left;
  }

  /** Reads to the end (so a cache copy receives every byte); returns how many bytes were left. */
  async drain(): Promise<number> {
    let n = 0;
    for (;;) {
      const k = await this.skip(1 << 30);
      n += k;
      if (k < 1 << 30) return n;
    }
  }

  /** Stops the underlying stream early (on failure), releasing the connection or file. */
  async cancel(reason?: unknown): Promise<void> {
    this.done = true;
    await this.iter.return?.(reason);
  }
}

async function* iterate(source: ByteChunks): AsyncGenerator<Uint8Array> {
  if (source instanceof ReadableStream) {
    const reader = source.getReader();
    try {
      for (;;) {
        const r = await reader.read();
        if (r.done) return;
        yield r.value;
      }
    } finally {
      // Reached on normal end, on error, and when the consumer stops early (generator return).
      await reader.cancel().catch(() => undefined);
      reader.releaseLock();
    }
  } else {
    yield* source;
  }
}

export interface StreamSafetensorsOptions {
  /** Names the file in every error message. */
  file: string;
  /** The file's size when known (content-length, File.size): a truncated file is caught at the header. */
  fileSize?: number;
  /** Sees the header before any tensor data is read: validate names, shapes and dtypes here and throw. */
  onHeader?: (header: SafetensorsHeader) => void | Promise<void>;
  /** Tensors for which this returns false are skipped without being held in memory. */
  want?: (info: TensorInfo) => boolean;
  /** Receives each wanted tensor's raw bytes (a fresh, 8-byte-aligned buffer the callee may keep). */
  onTensor: (info: TensorInfo, bytes: Uint8Array) => void | Promise<void>;
  signal?: AbortSignal;
}

/**
 * Parses safetensors from a byte stream, calling `onTensor` for each wanted tensor in file order. Reads the
 * stream to its end. A stream that ends early, a malformed header or overlapping tensors raise a
 * ModelFormatError naming the file (and the tensor where it stopped).
 */
export async function streamSafetensors(
  source: ByteChunks,
  opts: StreamSafetensorsOptions,
): Promise<SafetensorsHeader> {
  const { file } = opts;
  const reader = new ChunkReader(source);
  try {
    const lenBytes = new Uint8Array(8);
    if ((await reader.readInto(lenBytes)) < 8) {
      throw new ModelFormatError(`${file} is too short to be a safetensors file (it is empty or cut off).`);
    }
    const n = safetensorsHeaderLength(lenBytes, file);
    // Refuse a header longer than the whole file before allocating a buffer for it.
    if (opts.fileSize !== undefined && 8 + n > opts.fileSize) {
      throw new ModelFormatError(`${file} is truncated inside its header. Download it again.`);
    }
    const prefix = new Uint8Array(8 + n);
    prefix.set(lenBytes);
    if ((await reader.readInto(prefix.subarray(8))) < n) {
      throw new ModelFormatError(`${file} is truncated inside its header. Download it again.`);
    }
    const header = parseSafetensorsHeader(prefix, file, opts.fileSize);
    await opts.onHeader?.(header);
    const ordered = [...header.tensors.values()].sort((a, b) => a.begin - b.begin);
    let at = 0; // position inside the data section
    for (const t of ordered) {
      opts.signal?.throwIfAborted();
      if (t.begin < at) {
        throw new ModelFormatError(
          `${file}: tensor "${t.name}" overlaps the tensor before it (data_offsets ${t.begin}–${t.end}); the file is corrupt.`,
        );
      }
      if ((await reader.skip(t.begin - at)) < t.begin - at) throw truncated(file, reader, t);
      at = t.begin;
      const size = t.end - t.begin;
      if (opts.want && !opts.want(t)) {
        if ((await reader.skip(size)) < size) throw truncated(file, reader, t);
      } else {
        // A fresh ArrayBuffer per tensor: offset 0, so F32 data can be viewed without a copy.
        const bytes = new Uint8Array(size);
        if ((await reader.readInto(bytes)) < size) throw truncated(file, reader, t);
        await opts.onTensor(t, bytes);
      }
      at = t.end;
    }
    await reader.drain();
    return header;
  } catch (e) {
    await reader.cancel(e).catch(() => undefined);
    throw e;
  }
}

function truncated(file: string, reader: ChunkReader, t: TensorInfo): ModelFormatError {
  return new ModelFormatError(
    `${file} is truncated: it ends after ${reader.position} bytes, inside tensor "${t.name}". Download it again.`,
  );
}

/** The dtypes a checkpoint's weights may be stored in. */
export const WEIGHT_DTYPES: readonly SafetensorsDtype[] = ['F32', 'F16', 'BF16'];

let f16Table: Float32Array | undefined;

/** All 65536 halves as f32: decoding a table lookup per element keeps a 500 MB F16 file fast. */
function halfTable(): Float32Array {
  if (f16Table) return f16Table;
  const t = new Float32Array(65536);
  const u = new Uint32Array(t.buffer);
  for (let h = 0; h < 65536; h++) {
    const sign = (h & 0x8000) << 16;
    const exp = (h >> 10) & 0x1f;
    const mant = h & 0x3ff;
    if (exp === 0) {
      t[h] = mant * 2 ** -24 * (sign ? -1 : 1);
    } else if (exp === 31) {
      u[h] = sign | 0x7f800000 | (mant << 13);
    } else {
      u[h] = sign | ((exp - 15 + 127) << 23) | (mant << 13);
    }
  }
  f16Table = t;
  return t;
}

/**
 * Raw little-endian weight bytes to f32. F32 in an aligned buffer is viewed without copying; F16 goes through
 * a lookup table; BF16 is the top half of an f32. Any other dtype is refused with the file and tensor named.
 */
export function weightToFloat32(
  bytes: Uint8Array,
  dtype: SafetensorsDtype,
  file: string,
  name: string,
): Float32Array {
  switch (dtype) {
    case 'F32':
      if (bytes.byteOffset % 4 === 0)
        return new Float32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 4);
      return new Float32Array(bytes.slice().buffer);
    case 'F16': {
      const table = halfTable();
      const n = bytes.byteLength / 2;
      const out = new Float32Array(n);
      const halves =
        bytes.byteOffset % 2 === 0
          ? new Uint16Array(bytes.buffer, bytes.byteOffset, n)
          : new Uint16Array(bytes.slice().buffer);
      for (let i = 0; i < n; i++) out[i] = table[halves[i]!]!;
      return out;
    }
    case 'BF16': {
      const n = bytes.byteLength / 2;
      const out = new Float32Array(n);
      const bits = new Uint32Array(out.buffer);
      const halves =
        bytes.byteOffset % 2 === 0
          ? new Uint16Array(bytes.buffer, bytes.byteOffset, n)
          : new Uint16Array(bytes.slice().buffer);
      for (let i = 0; i < n; i++) bits[i] = halves[i]! << 16;
      return out;
    }
    default:
      throw new ModelFormatError(unsupportedDtype(file, name, dtype));
  }
}

export function unsupportedDtype(file: string, name: string, dtype: string): string {
  return `${file}: tensor "${name}" is stored as ${dtype}, which is not supported for weights (use F32, F16 or BF16).`;
}
