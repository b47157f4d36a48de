/**
 * int8 weights (the 'int8' load option): each large matrix is quantised on the host at load time, symmetric,
 * with one f32 scale per output row (per-channel, `group` 0) or per group of `group` inputs along K.
 *
 * One row part of N rows and K inputs is one buffer of u32 words, which shaders/include/int8.wgsl reads:
 *   N rows of ceil(K / 4) words, four int8 per word (input 4w + j in byte j, two's complement; the bytes past
 *   K in a row's last word are 0), then the f32 bits of the N x groups scales, row-major.
 * The weight the kernels use is q(n, k) · scale(n, ⌊k / group⌋), with scale = max |w| over its group / 127 and
 * q = round(w / scale) in [−127, 127] (0 where the group is all zeros, or so small, below about 1.8e-43, that
 * max / 127 has no f32 value but 0).
 */

/** Words of one row's int8 values (four per word, each row starting at a word). */
export function int8RowWords(cols: number): number {
  return Math.ceil(cols / 4);
}

/** Scales per row: one per `group` inputs, or one for the whole row when `group` is 0. */
export function int8Groups(cols: number, group: number): number {
  return group === 0 ? 1 : Math.ceil(cols / group);
}

/** Words of a row part of `rows` rows: the packed values, then the scales. */
export function int8PartWords(rows: number, cols: number, group: number): number {
  return rows * (int8RowWords(cols) + int8Groups(cols, group));
}

/** Group sizes the kernels take: 0 (per-channel) or a positive multiple of 16 (a 16-byte load is one group). */
export function assertInt8Group(group: number): void {
  if (!(Number.isInteger(group) && group >= 0 && group % 16 === 0)) {
    throw new RangeError(
      `The int8 group size must be 0 (one scale per row) or a multiple of 16, got ${group}.`,
    );
  }
}

export interface Int8Matrix {
  /** [rows, cols] row-major. */
  q: Int8Array;
  /** [rows, groups] row-major. */
  scales: Float32Array;
}

/** Quantises `data` ([rows, cols] row-major) symmetrically to int8 with a scale per row or per group. */
export function quantizeInt8(data: Float32Array, rows: number, cols: number, group: number): Int8Matrix {
  assertInt8Group(group);
  const groups = int8Groups(cols, group);
  const width = group === 0 ? cols : group;
  const q = new Int8Array(rows * cols);
  const scales = new Float32Array(rows * groups);
  for (let r = 0; r < rows; r++) {
    for (let g = 0; g < groups; g++) {
      const k0 = r * cols + g * width;
      const k1 = r * cols + Math.min(cols, (g + 1) * width);
      let max = 0;
      for (let i = k0; i < k1; i++) max = Math.max(max, Math.abs(data[i]!));
      const scale = Math.fround(max / 127);
      scales[r * groups + g] = scale;
      if (scale === 0) continue;
      for (let i = k0; i < k1; i++) q[i] = Math.max(-127, Math.min(127, Math.round(data[i]! / scale)));
    }
  }
  return { q, scales };
}

/** The weights the kernels compute with: q · scale, per element (float64 products rounded to f32). */
export function dequantizeInt8(m: Int8Matrix, rows: number, cols: number, group: number): Float32Array {
  const groups = int8Groups(cols, group);
  const out = new Float32Array(rows * cols);
  for (let r = 0; r < rows; r++) {
    for (let k = 0; k < cols; k++) {
      const g = group === 0 ? 0 : Math.floor(k / group);
      out[r * cols + k] = m.q[r * cols + k]! * m.scales[r * groups + g]!;
    }
  }
  return out;
}

/** The buffer words of a row part (the layout at the top of this file). */
export function packInt8(m: Int8Matrix, rows: number, cols: number, group: number): Uint32Array {
  const rw = int8RowWords(cols);
  const words = new Uint32Array(int8PartWords(rows, cols, group));
  for (let r = 0; r < rows; r++) {
    for (let k = 0; k < cols; k++) {
      const byte = m.q[r * cols + k]! & 0xff;
      words[r * rw + (k >> 2)]! |= byte << (8 * (k & 3));
    }
  }
  const scaleBits = new Uint32Array(m.scales.buffer, m.scales.byteOffset, m.scales.length);
  words.set(scaleBits, rows * rw);
  return words;
}

/** Quantise, then dequantise: what an int8 engine holds in place of `data`. */
export function roundTripInt8(data: Float32Array, rows: number, cols: number, group: number): Float32Array {
  return dequantizeInt8(quantizeInt8(data, rows, cols, group), rows, cols, group);
}
