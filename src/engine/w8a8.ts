/**
 * W8A8 arithmetic on the host, the twin of the experimental int8 subgroup-matrix GEMM (shaders/gemm_sgmat.wgsl,
 * variant gemm_sgmat_i8) and its activation pass (shaders/quant_rows_i8.wgsl): int8 rows with one scale each,
 * max |row| / 127, rounded half to even as WGSL's round() does, in f32 steps as the kernel takes them. Used for
 * the weights (one scale per output channel), by bench/check-sgmatrix.ts to check the kernels, and by the
 * accuracy study (tests/w8a8.accuracy.test.ts), which runs whole models with these GEMMs on the CPU.
 */

/** Rounds to the nearest integer, halfway cases to the even one (WGSL's round()). */
export function roundHalfEven(v: number): number {
  const r = Math.round(v);
  return Math.abs(v % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/** Rows of int8 with a scale each: row r of `rows` x `cols` values is q[r, .] * scale[r]. */
export interface QuantizedRows {
  rows: number;
  cols: number;
  q: Int8Array;
  scale: Float32Array;
}

/** Quantises each row of `data` ([rows, cols] row-major) to int8 with scale max |row| / 127 (0 for a zero row). */
export function quantizeRowsI8(data: ArrayLike<number>, rows: number, cols: number): QuantizedRows {
  const q = new Int8Array(rows * cols);
  const scale = new Float32Array(rows);
  for (let r = 0; r < rows; r++) {
    let m = 0;
    for (let c = 0; c < cols; c++) m = Math.max(m, Math.abs(data[r * cols + c]!));
    const sc = Math.fround(m / 127);
    scale[r] = sc;
    const inv = sc > 0 ? Math.fround(1 / sc) : 0;
    for (let c = 0; c < cols; c++) {
      const v = roundHalfEven(Math.fround(data[r * cols + c]! * inv));
      q[r * cols + c] = Math.max(-127, Math.min(127, v));
    }
  }
  return { rows, cols, q, scale };
}

/** Bytes per int8 row on the GPU: `cols` rounded up to 16, so every row starts 16-byte aligned. */
export function paddedRowBytes(cols: number): number {
  return Math.ceil(cols / 16) * 16;
}

/** The words to upload for int8 rows: each row padded with zeros to paddedRowBytes, four bytes per u32. */
export function packRowsI8(m: QuantizedRows): Uint32Array {
  const kp = paddedRowBytes(m.cols);
  const bytes = new Uint8Array(m.rows * kp);
  for (let r = 0; r < m.rows; r++) {
    for (let c = 0; c < m.cols; c++) bytes[r * kp + c] = m.q[r * m.cols + c]! & 0xff;
  }
  return new Uint32Array(bytes.buffer);
}

/**
 * y[t, n] = (sum_k xq[t, k] * wq[n, k]) * xscale[t] * wscale[n]: the W8A8 product of the token rows `x`
 * ([T, K], quantised here per token) and the quantised weight `w` ([N, K]), in float64 (the integer sums are
 * exact, as the kernel's i32 sums are).
 */
export function matmulW8A8(x: ArrayLike<number>, T: number, w: QuantizedRows): Float64Array {
  const K = w.cols;
  const N = w.rows;
  const xq = quantizeRowsI8(x, T, K);
  const y = new Float64Array(T * N);
  for (let t = 0; t < T; t++) {
    for (let n = 0; n < N; n++) {
      let acc = 0;
      for (let k = 0; k < K; k++) acc += xq.q[t * K + k]! * w.q[n * K + k]!;
      y[t * N + n] = acc * xq.scale[t]! * w.scale[n]!;
    }
  }
  return y;
}
