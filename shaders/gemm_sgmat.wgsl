#variant gemm_sgmat_f16
#variant gemm_sgmat_f16_k64 K64
#variant gemm_sgmat_i8 I8
#variant gemm_sgmat_i8b I8 I8_BYTE_OFFSET
#ifndef I8
enable f16;
#endif
enable subgroups;
enable chromium_experimental_subgroup_matrix;
// The tile offsets below derive from local_invocation_index, which the (workgroup-scoped) uniformity analysis
// cannot prove subgroup-uniform; they are, because every lane of a subgroup of 32 has the same index / 32.
diagnostic(off, chromium.subgroup_matrix_uniformity);

// Prefill GEMM on subgroup matrices (tensor cores), f16 operands, f32 accumulation:
//   Y[t, COL0 + n] = sum_k X[t, k] * W[n, k] (+ bias[BIAS_OFF + n])   for t < T (from dims), n < N.
// W is one row part of an nn.Linear weight [out, in] in f16, the packed-u32 buffer of the f16 path read as
// vec4u (eight halves; the bytes are those of an array<f16>). X is f32 and rounded to f16 as it is staged in
// workgroup memory; products are summed in f32. So the result is the f32 GEMM of the f16-rounded X (W is
// f16 already): an F32 checkpoint never takes this kernel unless the user asks for f16.
// Shapes: X f32 [T, K], W f16 [N, K], Y f32 [T, LDY]; with split-K, P f32 [SPLIT, T, N] (partial sums).
// Tiles: BM = 128 tokens x BN = 128 outputs x BK = 32 k per step, staged row-major as f16 in workgroup memory
// (rows padded by 8 halves so each row starts 16-byte aligned and rows spread over the banks). 256
// invocations = 8 subgroups of 32 (the decision requires subgroup size 32), arranged 2 (tokens) x 4
// (outputs): each owns 64 x 32 outputs as 4 x 2 result matrices of the 16 x 16 x 16 config, each its own
// variable (an array of them, indexed in loops, ran at 23 TFLOP/s on the H200: no faster than f32 FMAs).
// gemm_sgmat_f16_k64 takes BK = 64 (half the barriers, 44 KiB of workgroup memory). The next step's operands
// are read into registers while the current step is multiplied. Out-of-range tokens, outputs and k are staged
// as zeros, so any T, N and K work; the vec4 loads need K % 4 == 0 (X) and K % 8 == 0 (W) and fall back to
// scalar loads otherwise.
// Epilogue: each result matrix goes through a per-subgroup 16 x 16 patch of workgroup memory (outTile), from which
// the lanes write the in-range outputs (+ bias) to Y, or to P with split-K (then gemm_splitk_reduce.wgsl with
// TM = TN = 8 adds the partials and the bias; splitCount is shared through include/split_count.wgsl).
// gemm_sgmat_i8 and _i8b (W8A8, an experiment: the int8 config 16 x 16 x 32): X is int8 per token (Q, xscale from
// quant_rows_i8.wgsl, rows KP = K rounded up to 16 bytes), W int8 per output row with wscale, rows padded to
// KP bytes alike; BK = 64 k per step, staged as bytes (four per i32) with rows of 80 bytes; i32 sums, then
//   Y[t, COL0 + n] = f32(sum_k Q[t, k] * Wq[n, k]) * xscale[t] * wscale[n] (+ bias).
// Reference: matVec in src/engine/reference/mamba.ts applied to every token, on f16-rounded X
// (bench/check-sgmatrix.ts compares with float64 sums of the same f16 values; for i8, of the same integers).
// Dispatch: (ceil(N / 128), ceil(T / 128), splitCount(T)).
#include "dims.wgsl"

// Tile sizes in units of 16 for splitCount (split_count.wgsl reads TM and TN).
const TM = 8u;
const TN = 8u;
#include "split_count.wgsl"
@group(0) @binding(5) var<uniform> shape: Shape;

@group(0) @binding(0) var<uniform> dims: Dims;
#ifdef I8
@group(0) @binding(1) var<storage, read> X: array<vec4u>;
@group(0) @binding(7) var<storage, read> xscale: array<f32>;
@group(0) @binding(8) var<storage, read> wscale: array<f32>;
#else
@group(0) @binding(1) var<storage, read> X: array<vec4f>;
#endif
@group(0) @binding(2) var<storage, read> W: array<vec4u>;
@group(0) @binding(3) var<storage, read> bias: array<f32>;
@group(0) @binding(4) var<storage, read_write> Y: array<f32>;
@group(0) @binding(6) var<storage, read_write> P: array<f32>;

const BM = 128u;
const BN = 128u;
#ifdef I8
const BK = 64u;
const SK = 32u;
#else
#ifdef K64
const BK = 64u;
#else
const BK = 32u;
#endif
const SK = 16u;
#endif
const SN = 16u;
#ifdef I8
// Row stride of the staged tiles in bytes (int8 elements): 64 k + 16 of padding; 20 i32 words.
const LDS = 80u;
var<workgroup> xs: array<i32, BM * LDS / 4u>; // [token][k], four k per word
var<workgroup> ws: array<i32, BN * LDS / 4u>; // [output][k]
var<workgroup> outTile: array<i32, 8u * 256u>; // one 16 x 16 result per subgroup
alias XReg = array<vec4u, 2>;
alias WReg = array<vec4u, 2>;
const XITEMS = 2u; // X tile items per invocation (16 bytes each)
const WITEMS = 2u;
#else
// Row stride of the staged tiles in halves: BK k + 8 of padding (a multiple of 16 bytes).
const LDS = BK + 8u;
var<workgroup> xs: array<f16, BM * LDS>; // [token][k]
var<workgroup> ws: array<f16, BN * LDS>; // [output][k]
var<workgroup> outTile: array<f32, 8u * 256u>; // one 16 x 16 result per subgroup
// Per k step each invocation loads XITEMS vec4f of X (4 k each) and WITEMS vec4u of W (8 k each).
const XPR = BK / 4u; // X items per tile row
const WPR = BK / 8u; // W items per tile row
const XITEMS = BM * XPR / 256u;
const WITEMS = BN * WPR / 256u;
alias XReg = array<vec4f, XITEMS>;
alias WReg = array<vec4u, WITEMS>;
#endif

#ifdef I8
// Item e (< 512) of a tile of int8 rows (16 bytes of one row), zero outside: X from Q, or W.
fn loadX(e: u32, t0: u32, kb: u32) -> vec4u {
  let KP = (shape.K + 15u) / 16u * 16u;
  let t = t0 + (e >> 2u);
  let k = kb + 16u * (e & 3u);
  if (t >= dims.T || k >= KP) {
    return vec4u(0u);
  }
  return X[(t * KP + k) >> 4u];
}

fn loadW(e: u32, n0: u32, kb: u32) -> vec4u {
  let KP = (shape.K + 15u) / 16u * 16u;
  let n = n0 + (e >> 2u);
  let k = kb + 16u * (e & 3u);
  if (n >= shape.N || k >= KP) {
    return vec4u(0u);
  }
  return W[(n * KP + k) >> 4u];
}

fn stage(li: u32, xr: XReg, wr: WReg) {
  for (var u = 0u; u < 2u; u++) {
    let e = li + 256u * u;
    let xb = (e >> 2u) * (LDS / 4u) + 4u * (e & 3u);
    let wb = (e >> 2u) * (LDS / 4u) + 4u * (e & 3u);
    for (var j = 0u; j < 4u; j++) {
      xs[xb + j] = bitcast<i32>(xr[u][j]);
      ws[wb + j] = bitcast<i32>(wr[u][j]);
    }
  }
}

#else
fn xAt(i: u32) -> f32 {
  return X[i >> 2u][i & 3u];
}

fn wAt(i: u32) -> f16 {
  let p = bitcast<vec2<f16>>(W[i >> 3u][(i >> 1u) & 3u]);
  return p[i & 1u];
}

// Item e of the X tile: 4 consecutive k of one token, f32, zero outside.
fn loadX(e: u32, t0: u32, kb: u32) -> vec4f {
  let K = shape.K;
  let t = t0 + e / XPR;
  let k = kb + 4u * (e % XPR);
  if (t >= dims.T || k >= K) {
    return vec4f(0.0);
  }
  if ((K & 3u) == 0u) {
    return X[(t * K + k) >> 2u];
  }
  var v = vec4f(0.0);
  for (var i = 0u; i < 4u; i++) {
    if (k + i < K) {
      v[i] = xAt(t * K + k + i);
    }
  }
  return v;
}

// Item e of the W tile: 8 consecutive k of one output as packed halves, zero outside.
fn loadW(e: u32, n0: u32, kb: u32) -> vec4u {
  let K = shape.K;
  let n = n0 + e / WPR;
  let k = kb + 8u * (e % WPR);
  if (n >= shape.N || k >= K) {
    return vec4u(0u);
  }
  if ((K & 7u) == 0u) {
    return W[(n * K + k) >> 3u];
  }
  var h: array<f16, 8>;
  for (var i = 0u; i < 8u; i++) {
    h[i] = select(f16(0.0), wAt(n * K + k + i), k + i < K);
  }
  return vec4u(
    bitcast<u32>(vec2<f16>(h[0], h[1])),
    bitcast<u32>(vec2<f16>(h[2], h[3])),
    bitcast<u32>(vec2<f16>(h[4], h[5])),
    bitcast<u32>(vec2<f16>(h[6], h[7])),
  );
}

fn stage(li: u32, xr: XReg, wr: WReg) {
  for (var u = 0u; u < XITEMS; u++) {
    let e = li + 256u * u;
    let base = (e / XPR) * LDS + 4u * (e % XPR);
    let v = vec4<f16>(xr[u]);
    xs[base] = v.x;
    xs[base + 1u] = v.y;
    xs[base + 2u] = v.z;
    xs[base + 3u] = v.w;
  }
  for (var u = 0u; u < WITEMS; u++) {
    let e = li + 256u * u;
    let base = (e / WPR) * LDS + 8u * (e % WPR);
    for (var j = 0u; j < 4u; j++) {
      let h = bitcast<vec2<f16>>(wr[u][j]);
      ws[base + 2u * j] = h.x;
      ws[base + 2u * j + 1u] = h.y;
    }
  }
}
#endif

// This invocation's place: its subgroup's 64 x 32 block of the tile and the split it sums (set by main).
var<private> sg: u32;
var<private> lane: u32;
var<private> tBase: u32;
var<private> nBase: u32;
var<private> splitZ: u32;
var<private> nSplit: u32;

// The matrix operations, spelled once per element type. Nothing below indexes an array of subgroup matrices:
// every operand and accumulator is its own variable, so the driver can keep them all in registers.
#ifdef I8
// The int8 configs' left (16 x 32) and right (32 x 16) matrices, read from the staged bytes. This Dawn counts
// a load's stride in elements of the array (i32, four bytes): LDS / 4. gemm_sgmat_i8 counts the offset the
// same way; gemm_sgmat_i8b in bytes (the older reading), so the device check tells which holds.
#ifdef I8_BYTE_OFFSET
const OFF_DIV = 1u;
#else
const OFF_DIV = 4u;
#endif
fn loadA(row: u32, kk: u32) -> subgroup_matrix_left<i8, SK, 16> {
  return subgroupMatrixLoad<subgroup_matrix_left<i8, SK, 16>, row_major>(&xs, (row * LDS + kk) / OFF_DIV, LDS / 4u);
}
fn loadB(col: u32, kk: u32) -> subgroup_matrix_right<i8, SN, SK> {
  return subgroupMatrixLoad<subgroup_matrix_right<i8, SN, SK>, col_major>(&ws, (col * LDS + kk) / OFF_DIV, LDS / 4u);
}
fn zero() -> subgroup_matrix_result<i32, SN, 16> {
  return subgroup_matrix_result<i32, SN, 16>();
}
fn mma(a: subgroup_matrix_left<i8, SK, 16>, b: subgroup_matrix_right<i8, SN, SK>,
       c: subgroup_matrix_result<i32, SN, 16>) -> subgroup_matrix_result<i32, SN, 16> {
  return subgroupMatrixMultiplyAccumulate(a, b, c);
}
fn emit(c: subgroup_matrix_result<i32, SN, 16>, i: u32, j: u32) {
  subgroupMatrixStore<row_major>(&outTile, sg * 256u, c, SN);
  writeOut(i, j);
}
#else
fn loadA(row: u32, kk: u32) -> subgroup_matrix_left<f16, SK, 16> {
  return subgroupMatrixLoad<subgroup_matrix_left<f16, SK, 16>, row_major>(&xs, row * LDS + kk, LDS);
}
// W^T's k x n block: column n of it is row n of the staged W tile.
fn loadB(col: u32, kk: u32) -> subgroup_matrix_right<f16, SN, SK> {
  return subgroupMatrixLoad<subgroup_matrix_right<f16, SN, SK>, col_major>(&ws, col * LDS + kk, LDS);
}
fn zero() -> subgroup_matrix_result<f32, SN, 16> {
  return subgroup_matrix_result<f32, SN, 16>();
}
fn mma(a: subgroup_matrix_left<f16, SK, 16>, b: subgroup_matrix_right<f16, SN, SK>,
       c: subgroup_matrix_result<f32, SN, 16>) -> subgroup_matrix_result<f32, SN, 16> {
  return subgroupMatrixMultiplyAccumulate(a, b, c);
}
fn emit(c: subgroup_matrix_result<f32, SN, 16>, i: u32, j: u32) {
  subgroupMatrixStore<row_major>(&outTile, sg * 256u, c, SN);
  writeOut(i, j);
}
#endif

// Writes the 16 x 16 result just stored in this subgroup's patch, for result matrix (i, j) of its block. Called
// by every invocation the same number of times, so the barriers are in uniform control flow.
fn writeOut(i: u32, j: u32) {
  workgroupBarrier();
  for (var q = lane; q < 256u; q += 32u) {
    let t = tBase + 16u * i + q / 16u;
    let n = nBase + 16u * j + q % 16u;
    if (t < dims.T && n < shape.N) {
      var y = f32(outTile[sg * 256u + q]);
#ifdef I8
      y *= xscale[t] * wscale[n];
#endif
      if (nSplit == 1u) {
        if (shape.HAS_BIAS != 0u) {
          y += bias[shape.BIAS_OFF + n];
        }
        Y[t * shape.LDY + shape.COL0 + n] = y;
      } else {
        P[(splitZ * dims.T + t) * shape.N + n] = y;
      }
    }
  }
  workgroupBarrier();
}

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) li: u32) {
  let t0 = wid.y * BM;
  let n0 = wid.x * BN;
  // A local for the loop bounds: the uniformity analysis treats private variables as non-uniform.
  let split = splitCount(dims.T);
  nSplit = split;
  splitZ = wid.z;
  let nk = (shape.K + BK - 1u) / BK;
  let per = (nk + split - 1u) / split;
  let s0 = min(nk, wid.z * per);
  let s1 = min(nk, s0 + per);
  sg = li >> 5u;
  lane = li & 31u;
  // This subgroup's outputs: tokens t0 + 64 (sg / 4) + 0..63, outputs n0 + 32 (sg % 4) + 0..31.
  let rowBase = 64u * (sg >> 2u);
  let colBase = 32u * (sg & 3u);
  tBase = t0 + rowBase;
  nBase = n0 + colBase;
  // c<i><j>: tokens rowBase + 16 i, outputs colBase + 16 j.
  var c00 = zero();
  var c01 = zero();
  var c10 = zero();
  var c11 = zero();
  var c20 = zero();
  var c21 = zero();
  var c30 = zero();
  var c31 = zero();
  var xr: XReg;
  var wr: WReg;
  if (s0 < s1) {
    for (var u = 0u; u < XITEMS; u++) {
      xr[u] = loadX(li + 256u * u, t0, s0 * BK);
    }
    for (var u = 0u; u < WITEMS; u++) {
      wr[u] = loadW(li + 256u * u, n0, s0 * BK);
    }
  }
  for (var s = s0; s < s1; s++) {
    stage(li, xr, wr);
    workgroupBarrier();
    if (s + 1u < s1) {
      for (var u = 0u; u < XITEMS; u++) {
        xr[u] = loadX(li + 256u * u, t0, (s + 1u) * BK);
      }
      for (var u = 0u; u < WITEMS; u++) {
        wr[u] = loadW(li + 256u * u, n0, (s + 1u) * BK);
      }
    }
    for (var kk = 0u; kk < BK; kk += SK) {
      let a0 = loadA(rowBase, kk);
      let a1 = loadA(rowBase + 16u, kk);
      let a2 = loadA(rowBase + 32u, kk);
      let a3 = loadA(rowBase + 48u, kk);
      let b0 = loadB(colBase, kk);
      let b1 = loadB(colBase + 16u, kk);
      c00 = mma(a0, b0, c00);
      c01 = mma(a0, b1, c01);
      c10 = mma(a1, b0, c10);
      c11 = mma(a1, b1, c11);
      c20 = mma(a2, b0, c20);
      c21 = mma(a2, b1, c21);
      c30 = mma(a3, b0, c30);
      c31 = mma(a3, b1, c31);
    }
    workgroupBarrier();
  }
  emit(c00, 0u, 0u);
  emit(c01, 0u, 1u);
  emit(c10, 1u, 0u);
  emit(c11, 1u, 1u);
  emit(c20, 2u, 0u);
  emit(c21, 2u, 1u);
  emit(c30, 3u, 0u);
  emit(c31, 3u, 1u);
}
