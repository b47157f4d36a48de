#variant gemm_tiled
#variant gemm_tiled_h HALF
#variant gemm_tiled_rs RSTD
#variant gemm_tiled_rs_h HALF RSTD
#ifdef HALF
enable f16;
#endif

// Register-tiled GEMM for prefill on GPUs (the hardware variant):
//   Y[t, COL0 + n] = sum_k X[t, k] * W[n, k] (+ bias[BIAS_OFF + n])   for t < T (from dims), n < N.
// W is one row part of an nn.Linear weight [out, in] (rows COL0 .. COL0+N), stored as f32 bits or as f16
// packed two per u32 (element i in half i & 1 of word i >> 1), or as int8 with scales (I8, layout in
// include/int8.wgsl; not in the f16 twin): group scales are applied as the tile is loaded, per-channel scales
// to the sums; any K.
// Shapes: X f32 [T, K], W [N, K], Y f32 [T, LDY]; with split-K, P f32 [SPLIT, T, N] (partial sums).
// Tiles: BM = 16 * TM tokens x BN = 16 * TN outputs per workgroup of 16 x 16 invocations (TM, TN each 4 or 8).
// Invocation (tx, ty) keeps TM x TN sums in registers: tokens 64 q + 4 ty + i, outputs 64 p + 4 tx + j
// (q < TM / 4, p < TN / 4, i, j < 4), so the inner loop reads vec4s of workgroup memory without bank
// conflicts and a warp stores 64 consecutive outputs of a row. 16 k per step, staged k-major in workgroup
// memory; the next step's operands are loaded into registers while the current step is multiplied.
// Split-K (thin matrices, short chunks: too few tiles to fill the GPU): the K steps are divided among
// splitCount(T) workgroups along z. With one split the sums (+ bias) go straight to Y; with more, each
// writes its partial sums to P (no bias) and gemm_splitk_reduce.wgsl adds them up with the bias into Y.
// splitCount (include/split_count.wgsl) is shared with gemm_splitk_reduce.wgsl; splitCount() in src/engine/model.ts
// is its host twin.
// gemm_tiled_h (devices with shader-f16) reads the f16 weights as array<f16> (the same bytes), sums in f32.
// _rs (RSTD): Mamba-2's out_proj with its gated RMSNorm folded in. X holds g·w (g = y·silu(z) gated by the fused
// SSD, w the norm's weight) and gss f32 [T, NPART] the SSD workgroups' partial sums of g² per token; every
// result of token t is multiplied by rstd_t = 1 / sqrt(Σ_j gss[t, j] / DI + EPS) before the bias (the partial
// sums of split-K too: the scale is the same for every K range). So Y = W · (g·w·rstd_t), the norm's output,
// without the norm's pass over y and z (reference: gatedRmsNorm in src/engine/reference/mamba2.ts, then matVec).
// Reference: matVec in src/engine/reference/mamba.ts applied to every token.
// Dispatch: (ceil(N / BN), ceil(T / BM), splitCount(T)).
#include "dims.wgsl"

#ifndef HALF
override F16: bool;
#endif
override TM: u32 = 4u;
override TN: u32 = 4u;

#include "split_count.wgsl"
#ifndef HALF
#include "int8.wgsl"
#endif
@group(0) @binding(5) var<uniform> shape: Shape;

@group(0) @binding(0) var<uniform> dims: Dims;
@group(0) @binding(1) var<storage, read> X: array<f32>;
#ifdef HALF
@group(0) @binding(2) var<storage, read> W: array<f16>;
#else
@group(0) @binding(2) var<storage, read> W: array<u32>;
#endif
@group(0) @binding(3) var<storage, read> bias: array<f32>;
@group(0) @binding(4) var<storage, read_write> Y: array<f32>;
@group(0) @binding(6) var<storage, read_write> P: array<f32>;

const BK = 16u;
// Row strides of the k-major tiles in vec4s, one vec4 of padding so the stores of 16 k spread over the banks.
override SX: u32 = 4u * TM + 1u;
override SW: u32 = 4u * TN + 1u;
var<workgroup> xs: array<vec4f, 16u * SX>; // [16 k][BM / 4 token groups]
var<workgroup> ws: array<vec4f, 16u * SW>; // [16 k][BN / 4 output groups]

#ifdef RSTD
override NPART: u32;
override DI: u32;
override EPS: f32;
@group(0) @binding(7) var<storage, read> gss: array<f32>;
var<workgroup> wPartSq: array<f32, 256>;
var<workgroup> wScale: array<f32, 128>;

// rstd of tokens t0 .. t0 + BM − 1 into wScale: 256 / BM invocations a token, each summing every (256 / BM)-th
// partial, then one of them adds their sums. Called in uniform control flow (two barriers).
fn tokenScales(li: u32, t0: u32) {
  let bm = 16u * TM;
  let lanes = 256u / bm;
  let r = li % bm;
  let t = min(t0 + r, dims.T - 1u);
  var s = 0.0;
  for (var j = li / bm; j < NPART; j += lanes) {
    s += gss[t * NPART + j];
  }
  wPartSq[li] = s;
  workgroupBarrier();
  if (li < bm) {
    var total = 0.0;
    for (var k = 0u; k < lanes; k++) {
      total += wPartSq[li + k * bm];
    }
    wScale[li] = inverseSqrt(total / f32(DI) + EPS);
  }
  workgroupBarrier();
}
#endif

#ifndef HALF
fn wordAt(i: u32) -> u32 {
  return W[i];
}
#endif

// Item e of a tile (k = e % 16, group g = e / 16): 4 consecutive tokens (rows) at one k, zero outside.
fn loadX(e: u32, t0: u32, kb: u32) -> vec4f {
  let K = shape.K;
  let k = kb + (e & 15u);
  let t = t0 + 4u * (e >> 4u);
  let kc = min(k, K - 1u);
  var v = vec4f(0.0);
  for (var i = 0u; i < 4u; i++) {
    let ti = min(t + i, dims.T - 1u);
    v[i] = select(0.0, X[ti * K + kc], t + i < dims.T && k < K);
  }
  return v;
}

fn loadW(e: u32, n0: u32, kb: u32) -> vec4f {
  let K = shape.K;
  let k = kb + (e & 15u);
  let n = n0 + 4u * (e >> 4u);
  let kc = min(k, K - 1u);
  var v = vec4f(0.0);
  for (var i = 0u; i < 4u; i++) {
    let idx = min(n + i, shape.N - 1u) * K + kc;
#ifdef HALF
    let w = f32(W[idx]);
#else
    var w: f32;
    if (I8 && GS == 0u) {
      w = i8Q(K, min(n + i, shape.N - 1u), kc);
    } else if (I8) {
      w = i8At(shape.N, K, min(n + i, shape.N - 1u), kc);
    } else if (F16) {
      let p = unpack2x16float(W[idx >> 1u]);
      w = select(p.x, p.y, (idx & 1u) == 1u);
    } else {
      w = bitcast<f32>(W[idx]);
    }
#endif
    v[i] = select(0.0, w, n + i < shape.N && k < K);
  }
  return v;
}

@compute @workgroup_size(16, 16)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_id) lid: vec3u,
        @builtin(local_invocation_index) li: u32) {
  let T = dims.T;
  let N = shape.N;
  let t0 = wid.y * 16u * TM;
  let n0 = wid.x * 16u * TN;
  let split = splitCount(T);
  let nk = (shape.K + BK - 1u) / BK;
  let per = (nk + split - 1u) / split;
  let s0 = min(nk, wid.z * per);
  let s1 = min(nk, s0 + per);
  // cQP[i]: token 64 Q + 4 ty + i, outputs 64 P + 4 tx + 0..3 (c01 only for TN = 8, c10 for TM = 8, c11 for
  // both). Four arrays indexed by i alone, and the second token / output group behind a test of the override,
  // not one array indexed by q and p in loops bounded by TM / 4 and TN / 4: in that form the H100 ran 64 x 128
  // tiles 8-14x slower than 64 x 64 ones, and with two arrays by p 128 x 64 ones 14 % slower at 2.8b than here
  // (bench/RESULTS.md, session 12, runs 1-3).
  var c00: array<vec4f, 4>;
  var c01: array<vec4f, 4>;
  var c10: array<vec4f, 4>;
  var c11: array<vec4f, 4>;
  // Items li + 256 u of the X tile (u < TM / 4) and of the W tile (u < TN / 4), prefetched.
  var xr: array<vec4f, 2>;
  var wr: array<vec4f, 2>;
  if (s0 < s1) {
    for (var u = 0u; u < TM / 4u; u++) {
      xr[u] = loadX(li + 256u * u, t0, s0 * BK);
    }
    for (var u = 0u; u < TN / 4u; u++) {
      wr[u] = loadW(li + 256u * u, n0, s0 * BK);
    }
  }
  for (var s = s0; s < s1; s++) {
    for (var u = 0u; u < TM / 4u; u++) {
      let e = li + 256u * u;
      xs[(e & 15u) * SX + (e >> 4u)] = xr[u];
    }
    for (var u = 0u; u < TN / 4u; u++) {
      let e = li + 256u * u;
      ws[(e & 15u) * SW + (e >> 4u)] = wr[u];
    }
    workgroupBarrier();
    if (s + 1u < s1) {
      for (var u = 0u; u < TM / 4u; u++) {
        xr[u] = loadX(li + 256u * u, t0, (s + 1u) * BK);
      }
      for (var u = 0u; u < TN / 4u; u++) {
        wr[u] = loadW(li + 256u * u, n0, (s + 1u) * BK);
      }
    }
    for (var kk = 0u; kk < BK; kk++) {
      let a0 = xs[kk * SX + lid.y];
      let b0 = ws[kk * SW + lid.x];
      var a1 = a0;
      var b1 = b0;
      if (TM == 8u) {
        a1 = xs[kk * SX + 16u + lid.y];
      }
      if (TN == 8u) {
        b1 = ws[kk * SW + 16u + lid.x];
      }
      for (var i = 0u; i < 4u; i++) {
        c00[i] += a0[i] * b0;
        if (TN == 8u) {
          c01[i] += a0[i] * b1;
        }
        if (TM == 8u) {
          c10[i] += a1[i] * b0;
        }
        if (TM == 8u && TN == 8u) {
          c11[i] += a1[i] * b1;
        }
      }
    }
    workgroupBarrier();
  }
#ifdef RSTD
  tokenScales(li, t0);
#endif
  for (var q = 0u; q < TM / 4u; q++) {
    for (var i = 0u; i < 4u; i++) {
      let t = t0 + 64u * q + 4u * lid.y + i;
      if (t >= T) {
        continue;
      }
#ifdef RSTD
      let tokenScale = wScale[64u * q + 4u * lid.y + i];
#endif
      for (var p = 0u; p < TN / 4u; p++) {
        var v = c00[i];
        if (q == 1u && p == 1u) {
          v = c11[i];
        } else if (q == 1u) {
          v = c10[i];
        } else if (p == 1u) {
          v = c01[i];
        }
        let nb = n0 + 64u * p + 4u * lid.x;
        for (var j = 0u; j < 4u; j++) {
          let n = nb + j;
          if (n >= N) {
            continue;
          }
#ifndef HALF
          if (I8 && GS == 0u) {
            v[j] *= i8Scale(N, shape.K, n, 0u);
          }
#endif
#ifdef RSTD
          v[j] *= tokenScale;
#endif
          if (split == 1u) {
            var y = v[j];
            if (shape.HAS_BIAS != 0u) {
              y += bias[shape.BIAS_OFF + n];
            }
            Y[t * shape.LDY + shape.COL0 + n] = y;
          } else {
            P[(wid.z * T + t) * N + n] = v[j];
          }
        }
      }
    }
  }
}
