/**
 * Large weight matrices on the GPU: stored as f32 bits or as f16 packed two per u32 (round to nearest even on
 * the host, unpacked in WGSL with `unpack2x16float`, so no `shader-f16` is needed), and split by rows into
 * several buffers when one binding would exceed the device's `maxStorageBufferBindingSize` (the f32
 * embedding of mamba-130m is 154 MB against SwiftShader's 128 MiB). Each part is its own buffer, so every
 * binding starts at offset 0 and the packing restarts at each part (no half-word straddles two parts).
 * int8 matrices (src/engine/gpu/int8.ts) keep their scales in the same part buffer, after the values.
 */
import { f16ToF32, f32ToF16 } from '../../model/safetensors.ts';
import type { WeightDtype } from '../api.ts';
import type { MambaWeights } from '../weights.ts';
import { DEFAULT_INT8, matrixDtype, type Int8Choice, type MatrixRole } from '../decisions.ts';
import { int8PartWords, packInt8, quantizeInt8, roundTripInt8 } from './int8.ts';

export interface RowPart {
  row0: number;
  rows: number;
  buffer: GPUBuffer;
}

export interface WeightMatrix {
  rows: number;
  cols: number;
  parts: RowPart[];
  /** How the parts hold the weights (an int8 engine keeps some matrices in f16: decisions.ts matrixDtype). */
  dtype: WeightDtype;
  /** int8 only: inputs per scale along K, 0 for one scale per row. */
  group: number;
}

/** Bytes that `rows` rows of `cols` weights take in `dtype` (int8: with their scales, `group` as in int8.ts). */
export function packedBytes(rows: number, cols: number, dtype: WeightDtype, group = 0): number {
  const n = rows * cols;
  if (dtype === 'int8') return int8PartWords(rows, cols, group) * 4;
  return dtype === 'f16' ? Math.ceil(n / 2) * 4 : n * 4;
}

/** Row ranges so that each part fits `maxBindingBytes` and at most `maxRows` rows (a dispatch dimension). */
export function planRowParts(
  rows: number,
  cols: number,
  dtype: WeightDtype,
  maxBindingBytes: number,
  maxRows = 65535,
  group = 0,
): { row0: number; rows: number }[] {
  const perWeight = dtype === 'f16' ? 2 : 4;
  // A part's buffer is its packed size rounded up to 16 bytes, at most n·cols·bytes + 16.
  const rowBytes = dtype === 'int8' ? packedBytes(1, cols, dtype, group) : cols * perWeight;
  const perPart = Math.min(rows, maxRows, Math.floor((maxBindingBytes - 16) / rowBytes));
  if (perPart < 1) {
    throw new RangeError(`One row of ${cols} weights does not fit a ${maxBindingBytes}-byte binding.`);
  }
  const parts: { row0: number; rows: number }[] = [];
  for (let r = 0; r < rows; r += perPart) parts.push({ row0: r, rows: Math.min(perPart, rows - r) });
  return parts;
}

/**
 * The words to upload for `data` (row-major) in `dtype`: f32 bits as they are, f16 pairs (low half first), or
 * int8 quantised with its scales (int8.ts; needs the row width `cols` and the `group`).
 */
export function packWeights(
  data: Float32Array,
  dtype: WeightDtype,
  cols = data.length,
  group = 0,
): Uint32Array {
  if (dtype === 'f32') return new Uint32Array(data.buffer, data.byteOffset, data.length);
  if (dtype === 'int8') {
    const rows = data.length / cols;
    return packInt8(quantizeInt8(data, rows, cols, group), rows, cols, group);
  }
  const words = new Uint32Array(Math.ceil(data.length / 2));
  for (let i = 0; i < data.length; i += 2) {
    const lo = f32ToF16(data[i]!);
    const hi = i + 1 < data.length ? f32ToF16(data[i + 1]!) : 0;
    words[i >> 1] = (lo | (hi << 16)) >>> 0;
  }
  return words;
}

/** Creates the part buffers and writes `data` ([rows, cols] row-major) into them. */
export function uploadMatrix(
  device: GPUDevice,
  label: string,
  data: Float32Array,
  rows: number,
  cols: number,
  dtype: WeightDtype,
  maxBindingBytes: number,
  track: (b: GPUBuffer) => void,
  group = 0,
): WeightMatrix {
  const parts: RowPart[] = [];
  for (const p of planRowParts(rows, cols, dtype, maxBindingBytes, undefined, group)) {
    const words = packWeights(data.subarray(p.row0 * cols, (p.row0 + p.rows) * cols), dtype, cols, group);
    const buffer = device.createBuffer({
      label: `${label}[${p.row0}..${p.row0 + p.rows})`,
      // Multiples of 16 bytes: the software matmuls read weights as array<vec4u>.
      size: Math.max(16, Math.ceil(words.byteLength / 16) * 16),
      usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_DST,
    });
    track(buffer);
    device.queue.writeBuffer(buffer, 0, words.buffer, words.byteOffset, words.byteLength);
    parts.push({ row0: p.row0, rows: p.rows, buffer });
  }
  return { rows, cols, parts, dtype, group };
}

/**
 * The row parts of a [rows, cols] matrix made empty through `alloc` (planned as uploadMatrix plans them),
 * each handed to `fill` to write on the GPU in `dtype` (benchmarks' random weights); int8 in int8.ts's layout
 * with the scales' `group` (0: one scale a row).
 */
export function generatedMatrix(
  alloc: (label: string, bytes: number, usage: number) => GPUBuffer,
  key: string,
  rows: number,
  cols: number,
  dtype: WeightDtype,
  maxBindingBytes: number,
  fill: (part: RowPart, cols: number, dtype: WeightDtype, group: number) => void,
  group = 0,
): WeightMatrix {
  const parts = planRowParts(rows, cols, dtype, maxBindingBytes, undefined, group).map((p) => {
    const bytes = packedBytes(p.rows, cols, dtype, group);
    // COPY_DST: an int8 fill writes the scales from the host.
    const usage = GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_DST;
    const buffer = alloc(`${key}[${p.row0}..${p.row0 + p.rows})`, bytes, usage);
    return { ...p, buffer };
  });
  for (const part of parts) fill(part, cols, dtype, group);
  return { rows, cols, parts, dtype, group };
}

const roundF16 = (a: Float32Array) => a.map((v) => f16ToF32(f32ToF16(v)));

/**
 * The weights as the engine holds them in `dtype`: in f16 the packed matrices (embedding, LM head, in/x/out
 * projections) rounded to f16, in int8 each matrix as matrixDtype places it (quantised and dequantised, or
 * rounded to f16), everything else f32. The CPU reference on these is what f16 and int8 kernels must match.
 */
export function weightsAsHeld(
  w: MambaWeights,
  dtype: WeightDtype,
  int8: Int8Choice = DEFAULT_INT8,
): MambaWeights {
  if (dtype === 'f32') return w;
  const dm = w.config.hiddenSize;
  const di = w.config.intermediateSize;
  const held = (a: Float32Array, role: MatrixRole, cols: number) =>
    matrixDtype(role, dtype, int8) === 'int8'
      ? roundTripInt8(a, a.length / cols, cols, int8.group)
      : roundF16(a);
  return {
    ...w,
    embedding: held(w.embedding, 'embedding', dm),
    lmHead: w.lmHead && held(w.lmHead, 'lm_head', dm),
    layers: w.layers.map((l) => ({
      ...l,
      inProj: held(l.inProj, 'in_proj', dm),
      xProj: held(l.xProj, 'x_proj', di),
      outProj: held(l.outProj, 'out_proj', di),
    })),
  };
}
