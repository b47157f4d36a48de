#variant gemm_sgmm_fs AF32 BS STAGED
#variant gemm_sgmm_fs_db AF32 BS STAGED DBUF
#variant gemm_sgmm_fd AF32 BD STAGED
#variant gemm_sgmm_fd_db AF32 BD STAGED DBUF
#variant gemm_sgmm_hs AH BS STAGED
#variant gemm_sgmm_hs_db AH BS STAGED DBUF
#variant gemm_sgmm_hd AH BD STAGED
#variant gemm_sgmm_ds AD BS STAGED
#variant gemm_sgmm_ds_db AD BS STAGED DBUF
#variant gemm_sgmm_ds_db_x2 AD BS STAGED DBUF X2
#variant gemm_sgmm_dd AD BD
#variant gemm_sgmm_fs_n8 AF32 BS STAGED N8
#variant gemm_sgmm_dd_n8 AD BD N8
#include "sgmm_enables.wgsl"

// Prefill GEMM on subgroup matrices (tensor cores), f16 operands, f32 sums; the tunable successor of
// gemm_sgmat.wgsl, one template for bench/sgmat-sweep.ts to time in many shapes:
//   Y[t, COL0 + n] = sum_k X[t, k] * W[n, k] (+ bias[BIAS_OFF + n])   for t < T (from dims), n < N.
// W: one row part of an nn.Linear weight [out, in] in f16 (the f16 path's packed buffer; read as vec4u, eight
// halves, when staged, as array<f16> when loaded straight into matrices). X: f32 [T, K] (AF32: rounded to f16
// as it is staged), or f16 [T, K] (AH staged, AD loaded straight; written by to_f16.wgsl, which pads X to
// whole tiles of rows). So the result is the f32-summed GEMM of the f16-rounded X and the f16 W.
// Variants (name = A source + B source): f = X f32 staged through workgroup memory, h = X f16 staged,
// d = straight from storage (subgroupMatrixLoad on the storage array); B: s staged, d straight. _db: the staged
// tiles double-buffered (one barrier per K step; the next step's global loads are in flight while the current
// step multiplies). _n8: the 16 x 8 x 16 config instead of 16 x 16 x 16. _x2 (with X read straight): X as two
// f16 halves, hi in rows 0 .. XROWS − 1 of the X buffer and lo = f16(X − hi) in rows XROWS .. 2·XROWS − 1
// (to_f16_x2.wgsl), each multiplied by the same W matrices into the same f32 sums: the f32 GEMM's result to
// about 2^-22 of X, for twice the A loads and products (the plain variants' X is f16-rounded, 2^-11).
// Overrides: SGM x SGN subgroups of 32 per workgroup, each owning TI x TJ result matrices (1..4 each) of 16 x SN;
// the workgroup tile is BM = 16 SGM TI tokens x BN = SN SGN TJ outputs; BK k per staged step (a multiple of 16).
// Requirements (checked by the host, src/engine/sgmmDecisions.ts sgmmFits): staged per-invocation loads at most 8
// vec4 of each operand; straight loads need K % 16 == 0, and for W, N % BN == 0 (no rows past the part); for
// X, a buffer of whole BM-row tiles. Staged operands take any T, N, K (zeros outside; K % 4 / 8 for vec4 loads,
// else scalar loads).
// Epilogue: a result matrix wholly inside Y without bias is stored straight to Y (or to P with split-K);
// others go through a 16 x SN patch of workgroup memory per subgroup. Split-K along z: P f32 [SPLIT, T, N],
// then gemm_splitk_reduce.wgsl with TM = BM / 16, TN = BN / 16.
// EMULATE (tests only; SwiftShader has no subgroup matrices or f16): the same kernel with each matrix held
// whole by every lane as f32 arrays (values rounded to f16 where the real kernel converts),
// f16 storage read as packed pairs; same buffers, same indices, so tests/kernels.sgmm-emulated.test.ts checks
// the index arithmetic against float64.
// Reference: matVec in src/engine/reference/mamba.ts on f16-rounded X (bench/sgmat-sweep.ts on the device); _x2:
// on the f32 X.
// Dispatch: (ceil(N / BN), ceil(T / BM), split), workgroup SGM * SGN * 32.
#include "dims.wgsl"
#include "shape.wgsl"

@group(0) @binding(0) var<uniform> dims: Dims;
@group(0) @binding(5) var<uniform> shape: Shape;
#ifdef AF32
@group(0) @binding(1) var<storage, read> X: array<vec4f>;
#endif
#ifdef AH
@group(0) @binding(1) var<storage, read> X: array<vec4u>;
#endif
#ifdef AD
#ifdef EMULATE
@group(0) @binding(1) var<storage, read> X: array<u32>;
#else
@group(0) @binding(1) var<storage, read> X: array<f16>;
#endif
#endif
#ifdef BS
@group(0) @binding(2) var<storage, read> W: array<vec4u>;
#else
#ifdef EMULATE
@group(0) @binding(2) var<storage, read> W: array<u32>;
#else
@group(0) @binding(2) var<storage, read> W: array<f16>;
#endif
#endif
@group(0) @binding(3) var<storage, read> bias: array<f32>;
@group(0) @binding(4) var<storage, read_write> Y: array<f32>;
@group(0) @binding(6) var<storage, read_write> P: array<f32>;

override SGM: u32 = 2u;
override SGN: u32 = 4u;
override TI: u32 = 4u;
override TJ: u32 = 2u;
override BK: u32 = 32u;
#ifdef N8
const SN = 8u;
#else
const SN = 16u;
#endif
override WG: u32 = SGM * SGN * 32u;
override BM: u32 = 16u * SGM * TI;
override BN: u32 = SN * SGN * TJ;
// Row stride of the staged tiles in halves: BK + 8 (rows 16-byte aligned, spread over the banks).
override LDS: u32 = BK + 8u;
#ifdef DBUF
override NBUF: u32 = 2u;
#else
override NBUF: u32 = 1u;
#endif
#ifdef X2
// Rows of the hi half of the X buffer (to_f16_x2's ROWS): lo starts XROWS · K halves in.
override XROWS: u32;
const NX = 2u;
#else
const NX = 1u;
#endif

#include "sgmm_ops.wgsl"

#ifndef AD
var<workgroup> xs: array<Half, NBUF * BM * LDS>; // [buffer][token][k]
#endif
#ifdef BS
var<workgroup> ws: array<Half, NBUF * BN * LDS>; // [buffer][output][k]
#endif
var<workgroup> outPatch: array<f32, SGM * SGN * 16 * SN>; // one 16 x SN result per subgroup

var<private> sg: u32;
var<private> lane: u32;
var<private> tBase: u32;
var<private> nBase: u32;
var<private> splitZ: u32;
var<private> nSplit: u32;

// ---- loads and stores (real, or emulated per lane; the arithmetic is in include/sgmm_ops.wgsl) ----
#ifdef EMULATE
#ifndef AD
fn leftStaged(off: u32) -> Left {
  var a: Left;
  for (var m = 0u; m < 16u; m++) {
    for (var k = 0u; k < 16u; k++) {
      a[m * 16u + k] = xs[off + m * LDS + k];
    }
  }
  return a;
}
#else
fn xh(i: u32) -> f32 {
  return unpack2x16float(X[i >> 1u])[i & 1u];
}
fn leftStorage(off: u32, stride: u32) -> Left {
  var a: Left;
  for (var m = 0u; m < 16u; m++) {
    for (var k = 0u; k < 16u; k++) {
      a[m * 16u + k] = xh(off + m * stride + k);
    }
  }
  return a;
}
#endif
#ifdef BS
fn rightStaged(off: u32) -> Right {
  var b: Right;
  for (var n = 0u; n < SN; n++) {
    for (var k = 0u; k < 16u; k++) {
      b[k * SN + n] = ws[off + n * LDS + k];
    }
  }
  return b;
}
#else
fn wh(i: u32) -> f32 {
  return unpack2x16float(W[i >> 1u])[i & 1u];
}
fn rightStorage(off: u32, stride: u32) -> Right {
  var b: Right;
  for (var n = 0u; n < SN; n++) {
    for (var k = 0u; k < 16u; k++) {
      b[k * SN + n] = wh(off + n * stride + k);
    }
  }
  return b;
}
#endif
fn storePatch(c: Acc) {
  if (lane == 0u) {
    for (var i = 0u; i < 16u * SN; i++) {
      outPatch[sg * 16u * SN + i] = c[i];
    }
  }
}
fn storeY(c: Acc, off: u32, stride: u32) {
  if (lane == 0u) {
    for (var m = 0u; m < 16u; m++) {
      for (var n = 0u; n < SN; n++) {
        Y[off + m * stride + n] = c[m * SN + n];
      }
    }
  }
}
fn storeP(c: Acc, off: u32, stride: u32) {
  if (lane == 0u) {
    for (var m = 0u; m < 16u; m++) {
      for (var n = 0u; n < SN; n++) {
        P[off + m * stride + n] = c[m * SN + n];
      }
    }
  }
}
#else
#ifndef AD
fn leftStaged(off: u32) -> Left {
  return subgroupMatrixLoad<Left, row_major>(&xs, off, LDS);
}
#else
fn leftStorage(off: u32, stride: u32) -> Left {
  return subgroupMatrixLoad<Left, row_major>(&X, off, stride);
}
#endif
#ifdef BS
// W^T's k x n block: column n of it is row n of the staged W tile.
fn rightStaged(off: u32) -> Right {
  return subgroupMatrixLoad<Right, col_major>(&ws, off, LDS);
}
#else
fn rightStorage(off: u32, stride: u32) -> Right {
  return subgroupMatrixLoad<Right, col_major>(&W, off, stride);
}
#endif
fn storePatch(c: Acc) {
  subgroupMatrixStore<row_major>(&outPatch, sg * 16u * SN, c, SN);
}
fn storeY(c: Acc, off: u32, stride: u32) {
  subgroupMatrixStore<row_major>(&Y, off, c, stride);
}
fn storeP(c: Acc, off: u32, stride: u32) {
  subgroupMatrixStore<row_major>(&P, off, c, stride);
}
#endif

// Left matrix i (tokens tBase + 16 i) and right matrix j (outputs nBase + SN j) at k = kb + kk of the step
// whose tiles sit in buffer `buf`; `hl`: X's hi (0) or lo (1, _x2 only) half.
fn ldA(buf: u32, kb: u32, kk: u32, i: u32, hl: u32) -> Left {
#ifdef AD
#ifdef X2
  let half0 = hl * XROWS * shape.K;
#else
  let half0 = 0u;
#endif
  return leftStorage(half0 + (tBase + 16u * i) * shape.K + kb + kk, shape.K);
#else
  let row = (tBase - tile0.x) + 16u * i;
  return leftStaged((buf * BM + row) * LDS + kk);
#endif
}
fn ldB(buf: u32, kb: u32, kk: u32, j: u32) -> Right {
#ifdef BS
  let col = (nBase - tile0.y) + SN * j;
  return rightStaged((buf * BN + col) * LDS + kk);
#else
  return rightStorage((nBase + SN * j) * shape.K + kb + kk, shape.K);
#endif
}

// ---- staging (global -> workgroup memory) ----
// The workgroup's first token and output.
var<private> tile0: vec2u;
const MAXI = 8u;
#ifdef AF32
alias XItem = vec4f;
const XPI = 4u; // k per X item
#else
alias XItem = vec4u;
const XPI = 8u;
#endif
alias WItem = vec4u;
const WPI = 8u;
override XITEMS: u32 = (BM * (BK / XPI) + WG - 1u) / WG;
override WITEMS: u32 = (BN * (BK / WPI) + WG - 1u) / WG;

#ifdef AF32
fn xAt(i: u32) -> f32 {
  return X[i >> 2u][i & 3u];
}
#endif
#ifdef AH
fn xAt(i: u32) -> Half {
  return half2(X[i >> 3u][(i >> 1u) & 3u])[i & 1u];
}
#endif
#ifdef BS
fn wAt(i: u32) -> Half {
  return half2(W[i >> 3u][(i >> 1u) & 3u])[i & 1u];
}
#endif

#ifndef AD
// Item e of the X tile at k step kb: XPI consecutive k of one token, zero outside.
fn loadX(e: u32, kb: u32) -> XItem {
  let K = shape.K;
  let t = tile0.x + e / (BK / XPI);
  let k = kb + XPI * (e % (BK / XPI));
  if (e >= BM * (BK / XPI) || t >= dims.T || k >= K) {
    return XItem();
  }
  if ((K % XPI) == 0u) {
    return X[(t * K + k) / XPI];
  }
#ifdef AF32
  var v = vec4f(0.0);
  for (var i = 0u; i < 4u; i++) {
    if (k + i < K) {
      v[i] = xAt(t * K + k + i);
    }
  }
  return v;
#else
  var u = vec4u(0u);
  for (var i = 0u; i < 4u; i++) {
    let lo = select(Half(0.0), xAt(t * K + k + 2u * i), k + 2u * i < K);
    let hi = select(Half(0.0), xAt(t * K + k + 2u * i + 1u), k + 2u * i + 1u < K);
    u[i] = packH(lo, hi);
  }
  return u;
#endif
}

fn storeX(buf: u32, e: u32, v: XItem) {
  if (e >= BM * (BK / XPI)) {
    return;
  }
  let base = (buf * BM + e / (BK / XPI)) * LDS + XPI * (e % (BK / XPI));
#ifdef AF32
  for (var j = 0u; j < 4u; j++) {
    xs[base + j] = toH(v[j]);
  }
#else
  for (var j = 0u; j < 4u; j++) {
    let h = half2(v[j]);
    xs[base + 2u * j] = h.x;
    xs[base + 2u * j + 1u] = h.y;
  }
#endif
}
#endif

#ifdef EMULATE
fn packH(lo: Half, hi: Half) -> u32 {
  return pack2x16float(vec2f(lo, hi));
}
#else
fn packH(lo: Half, hi: Half) -> u32 {
  return bitcast<u32>(vec2<f16>(lo, hi));
}
#endif

#ifdef BS
fn loadW(e: u32, kb: u32) -> WItem {
  let K = shape.K;
  let n = tile0.y + e / (BK / WPI);
  let k = kb + WPI * (e % (BK / WPI));
  if (e >= BN * (BK / WPI) || n >= shape.N || k >= K) {
    return WItem();
  }
  if ((K & 7u) == 0u) {
    return W[(n * K + k) >> 3u];
  }
  var u = vec4u(0u);
  for (var i = 0u; i < 4u; i++) {
    let lo = select(Half(0.0), wAt(n * K + k + 2u * i), k + 2u * i < K);
    let hi = select(Half(0.0), wAt(n * K + k + 2u * i + 1u), k + 2u * i + 1u < K);
    u[i] = packH(lo, hi);
  }
  return u;
}

fn storeW(buf: u32, e: u32, v: WItem) {
  if (e >= BN * (BK / WPI)) {
    return;
  }
  let base = (buf * BN + e / (BK / WPI)) * LDS + WPI * (e % (BK / WPI));
  for (var j = 0u; j < 4u; j++) {
    let h = half2(v[j]);
    ws[base + 2u * j] = h.x;
    ws[base + 2u * j + 1u] = h.y;
  }
}
#endif

#ifdef STAGED
// Registers between the global loads of a step and their stores to workgroup memory.
#ifndef AD
var<private> xr: array<XItem, MAXI>;
#endif
#ifdef BS
var<private> wr: array<WItem, MAXI>;
#endif

fn fetch(li: u32, kb: u32) {
#ifndef AD
  for (var u = 0u; u < XITEMS; u++) {
    xr[u] = loadX(li + WG * u, kb);
  }
#endif
#ifdef BS
  for (var u = 0u; u < WITEMS; u++) {
    wr[u] = loadW(li + WG * u, kb);
  }
#endif
}

fn stash(li: u32, buf: u32) {
#ifndef AD
  for (var u = 0u; u < XITEMS; u++) {
    storeX(buf, li + WG * u, xr[u]);
  }
#endif
#ifdef BS
  for (var u = 0u; u < WITEMS; u++) {
    storeW(buf, li + WG * u, wr[u]);
  }
#endif
}
#endif

// ---- epilogue ----
fn writePatch(i: u32, j: u32) {
  for (var q = lane; q < 16u * SN; q += 32u) {
    let t = tBase + 16u * i + q / SN;
    let n = nBase + SN * j + q % SN;
    if (t < dims.T && n < shape.N) {
      var y = outPatch[sg * 16u * SN + q];
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
}

// Result matrix (i, j) of this subgroup. Called the same number of times by every invocation (barriers).
fn emit(c: Acc, i: u32, j: u32) {
  let t = tBase + 16u * i;
  let n = nBase + SN * j;
  let whole = t + 16u <= dims.T && n + SN <= shape.N && (shape.HAS_BIAS == 0u || nSplit > 1u);
  if (whole) {
    if (nSplit == 1u) {
      storeY(c, t * shape.LDY + shape.COL0 + n, shape.LDY);
    } else {
      storeP(c, (splitZ * dims.T + t) * shape.N + n, shape.N);
    }
  } else {
    storePatch(c);
  }
  workgroupBarrier();
  if (!whole) {
    writePatch(i, j);
  }
  workgroupBarrier();
}

// Workgroups along z: enough BM x BN tiles for SPLIT_TARGET workgroups, at most MAX_SPLIT; the formula of
// include/split_count.wgsl with TM = BM / 16, TN = BN / 16, which gemm_splitk_reduce then uses.
fn splits(T: u32) -> u32 {
  if (shape.MAX_SPLIT <= 1u) {
    return 1u;
  }
  let tiles = ((T + BM - 1u) / BM) * ((shape.N + BN - 1u) / BN);
  return clamp((shape.SPLIT_TARGET + tiles - 1u) / tiles, 1u, shape.MAX_SPLIT);
}

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) li: u32) {
  tile0 = vec2u(wid.y * BM, wid.x * BN);
  let split = splits(dims.T);
  nSplit = split;
  splitZ = wid.z;
  // K steps of BK; with split-K this workgroup sums steps s0 .. s1 - 1.
  let nk = (shape.K + BK - 1u) / BK;
  let per = (nk + split - 1u) / split;
  let s0 = min(nk, wid.z * per);
  let s1 = min(nk, s0 + per);
  sg = li / 32u;
  lane = li % 32u;
  // Subgroup sg owns tokens tBase + 0 .. 16 TI - 1 and outputs nBase + 0 .. SN TJ - 1.
  tBase = tile0.x + 16u * TI * (sg / SGN);
  nBase = tile0.y + SN * TJ * (sg % SGN);
  // c<i><j>: tokens tBase + 16 i, outputs nBase + SN j. Each its own variable (never an array indexed in a
  // loop), so the driver keeps them in registers; TI and TJ are overrides, so unused ones fold away.
  var c00 = zero();
  var c01 = zero();
  var c02 = zero();
  var c03 = zero();
  var c10 = zero();
  var c11 = zero();
  var c12 = zero();
  var c13 = zero();
  var c20 = zero();
  var c21 = zero();
  var c22 = zero();
  var c23 = zero();
  var c30 = zero();
  var c31 = zero();
  var c32 = zero();
  var c33 = zero();
#ifdef STAGED
#ifdef DBUF
  if (s0 < s1) {
    fetch(li, s0 * BK);
    stash(li, 0u);
  }
  workgroupBarrier();
#endif
#endif
  for (var s = s0; s < s1; s++) {
    let kb = s * BK;
    var buf = 0u;
#ifdef STAGED
#ifdef DBUF
    buf = (s - s0) & 1u;
    if (s + 1u < s1) {
      fetch(li, kb + BK);
    }
#else
    fetch(li, kb);
    stash(li, 0u);
    workgroupBarrier();
#endif
#endif
    // k within this step; straight loads stop at K (K % 16 == 0 for them), staged tiles are zero past it. A
    // constant trip count with a (uniform) early exit, so the driver can unroll it.
    for (var kk = 0u; kk < BK; kk += 16u) {
      if (kb + kk >= shape.K) {
        break;
      }
      let b0 = ldB(buf, kb, kk, 0u);
      var b1 = b0;
      var b2 = b0;
      var b3 = b0;
      if (TJ > 1u) {
        b1 = ldB(buf, kb, kk, 1u);
      }
      if (TJ > 2u) {
        b2 = ldB(buf, kb, kk, 2u);
      }
      if (TJ > 3u) {
        b3 = ldB(buf, kb, kk, 3u);
      }
      // X's halves (_x2: hi, then lo) against the same W matrices; one pass (hl = 0) otherwise.
      for (var hl = 0u; hl < NX; hl++) {
        let a0 = ldA(buf, kb, kk, 0u, hl);
        var a1 = a0;
        var a2 = a0;
        var a3 = a0;
        if (TI > 1u) {
          a1 = ldA(buf, kb, kk, 1u, hl);
        }
        if (TI > 2u) {
          a2 = ldA(buf, kb, kk, 2u, hl);
        }
        if (TI > 3u) {
          a3 = ldA(buf, kb, kk, 3u, hl);
        }
        c00 = mma(a0, b0, c00);
        if (TJ > 1u) {
          c01 = mma(a0, b1, c01);
        }
        if (TJ > 2u) {
          c02 = mma(a0, b2, c02);
        }
        if (TJ > 3u) {
          c03 = mma(a0, b3, c03);
        }
        if (TI > 1u) {
          c10 = mma(a1, b0, c10);
          if (TJ > 1u) {
            c11 = mma(a1, b1, c11);
          }
          if (TJ > 2u) {
            c12 = mma(a1, b2, c12);
          }
          if (TJ > 3u) {
            c13 = mma(a1, b3, c13);
          }
        }
        if (TI > 2u) {
          c20 = mma(a2, b0, c20);
          if (TJ > 1u) {
            c21 = mma(a2, b1, c21);
          }
          if (TJ > 2u) {
            c22 = mma(a2, b2, c22);
          }
          if (TJ > 3u) {
            c23 = mma(a2, b3, c23);
          }
        }
        if (TI > 3u) {
          c30 = mma(a3, b0, c30);
          if (TJ > 1u) {
            c31 = mma(a3, b1, c31);
          }
          if (TJ > 2u) {
            c32 = mma(a3, b2, c32);
          }
          if (TJ > 3u) {
            c33 = mma(a3, b3, c33);
          }
        }
      }
    }
#ifdef STAGED
#ifdef DBUF
    if (s + 1u < s1) {
      stash(li, buf ^ 1u);
    }
#endif
    workgroupBarrier();
#endif
  }
  emit(c00, 0u, 0u);
  if (TJ > 1u) {
    emit(c01, 0u, 1u);
  }
  if (TJ > 2u) {
    emit(c02, 0u, 2u);
  }
  if (TJ > 3u) {
    emit(c03, 0u, 3u);
  }
  if (TI > 1u) {
    emit(c10, 1u, 0u);
    if (TJ > 1u) {
      emit(c11, 1u, 1u);
    }
    if (TJ > 2u) {
      emit(c12, 1u, 2u);
    }
    if (TJ > 3u) {
      emit(c13, 1u, 3u);
    }
  }
  if (TI > 2u) {
    emit(c20, 2u, 0u);
    if (TJ > 1u) {
      emit(c21, 2u, 1u);
    }
    if (TJ > 2u) {
      emit(c22, 2u, 2u);
    }
    if (TJ > 3u) {
      emit(c23, 2u, 3u);
    }
  }
  if (TI > 3u) {
    emit(c30, 3u, 0u);
    if (TJ > 1u) {
      emit(c31, 3u, 1u);
    }
    if (TJ > 2u) {
      emit(c32, 3u, 2u);
    }
    if (TJ > 3u) {
      emit(c33, 3u, 3u);
    }
  }
}
