#variant rmsnorm_rows
#variant rmsnorm_rows_h HALF
#ifdef HALF
enable f16;
#endif

// RMSNorm with the residual add (as rmsnorm.wgsl), then the last ROWS rows of the projection that reads it, for
// each token t (one workgroup of WG each):
//   if ADD: resid[t] += delta[t]
//   out[t, k] = resid[t, k] / sqrt(mean_k(resid[t]²) + EPS) · weight[W_OFF + k]
//   proj[t, COL0 + r] = Σ_k out[t, k] · W[ROW0 + r, k] (+ weight[BIAS_OFF + r] if HAS_BIAS)   for r < ROWS
// Why: Mamba-2's in_proj has 16 rows past its last whole tile of 64 at 2.7b (dt's, 10,576 rows), 24 at 130m.
// As a GEMM of their own they cost two dispatches a layer (split-K and its reduce), about 26 µs a layer on the
// H100 whatever their rows (bench/RESULTS.md, session 15); here they ride on the norm, which already holds the
// token's normalised row, and the GEMM before stops at the tile (mamba2/plan.ts).
// Each invocation owns groups of 8 channels, k = 8·o .. 8·o + 7 for o = li, li + WG, ..: it adds, normalises and
// stores them, keeps them in workgroup memory (wn, its own entries only, so no barrier) and dots them with the
// same channels of each of the ROWS weight rows (16-byte loads); the ROWS partial sums are then summed over the
// workgroup in one tree (log2 WG barriers for all rows).
// Requirements (mamba2/decisions.ts m2NormRowsFits): DM % 8 == 0, DM ≤ 4 · 1024, ROWS ≤ 32, ROWS · WG ≤ 2048.
// Shapes: resid, delta, out f32 [T, DM]; weight f32 (the layer's parameters: the norm at W_OFF, the bias at
// BIAS_OFF); W: the row part of the projection's weight [rows, DM] that holds rows ROW0 .. ROW0 + ROWS − 1
// (f32 bits, f16 packed two per u32, or array<vec4<f16>> in the HALF twin); proj f32 [T, LDP].
// Reference: rmsNorm in src/engine/reference/mamba.ts, then matVec on the normalised row.
// Dispatch: (T).
#include "dims.wgsl"

override DM: u32;
override ADD: bool;
override EPS: f32;
override W_OFF: u32;
override WG: u32 = 64u;
override ROWS: u32;
override ROW0: u32;
override COL0: u32;
override LDP: u32;
override HAS_BIAS: bool = false;
override BIAS_OFF: u32 = 0u;
#ifndef HALF
override F16: bool;
#endif

@group(0) @binding(0) var<uniform> dims: Dims;
@group(0) @binding(1) var<storage, read> delta: array<vec4f>;
#ifdef HALF
@group(0) @binding(2) var<storage, read> W: array<vec4<f16>>;
#else
@group(0) @binding(2) var<storage, read> W: array<vec4u>;
#endif
@group(0) @binding(3) var<storage, read_write> resid: array<vec4f>;
@group(0) @binding(4) var<storage, read> weight: array<f32>;
@group(0) @binding(5) var<storage, read_write> out: array<vec4f>;
@group(0) @binding(6) var<storage, read_write> proj: array<f32>;

var<workgroup> partial: array<f32, 256>;
var<workgroup> wn: array<vec4f, 1024>;
var<workgroup> rowPart: array<f32, 2048>;

fn normWeight(k: u32) -> vec4f {
  return vec4f(weight[W_OFF + k], weight[W_OFF + k + 1u], weight[W_OFF + k + 2u], weight[W_OFF + k + 3u]);
}

// Weights 8·o .. 8·o + 7 of row `row` of W as two vec4s.
fn woct(row: u32, o: u32) -> array<vec4f, 2> {
  let e = row * DM + 8u * o;
#ifdef HALF
  return array<vec4f, 2>(vec4f(W[e / 4u]), vec4f(W[e / 4u + 1u]));
#else
  if (F16) {
    let w = W[e / 8u];
    return array<vec4f, 2>(
      vec4f(unpack2x16float(w.x), unpack2x16float(w.y)),
      vec4f(unpack2x16float(w.z), unpack2x16float(w.w)),
    );
  }
  return array<vec4f, 2>(bitcast<vec4f>(W[e / 4u]), bitcast<vec4f>(W[e / 4u + 1u]));
#endif
}

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) li: u32) {
  let t = wid.x;
  if (t >= dims.T) {
    return;
  }
  let base = t * DM / 4u;
  let octs = DM / 8u;
  var ss = 0.0;
  for (var o = li; o < octs; o += WG) {
    for (var q = 0u; q < 2u; q++) {
      var v = resid[base + 2u * o + q];
      if (ADD) {
        v += delta[base + 2u * o + q];
        resid[base + 2u * o + q] = v;
      }
      ss += dot(v, v);
    }
  }
  partial[li] = ss;
  workgroupBarrier();
  for (var s = WG / 2u; s > 0u; s >>= 1u) {
    if (li < s) {
      partial[li] += partial[li + s];
    }
    workgroupBarrier();
  }
  let scale = inverseSqrt(partial[0] / f32(DM) + EPS);
  for (var o = li; o < octs; o += WG) {
    for (var q = 0u; q < 2u; q++) {
      let n = resid[base + 2u * o + q] * scale * normWeight(8u * o + 4u * q);
      out[base + 2u * o + q] = n;
      wn[2u * o + q] = n;
    }
  }
  for (var r = 0u; r < ROWS; r++) {
    var s = 0.0;
    for (var o = li; o < octs; o += WG) {
      let w = woct(ROW0 + r, o);
      s += dot(wn[2u * o], w[0]) + dot(wn[2u * o + 1u], w[1]);
    }
    rowPart[r * WG + li] = s;
  }
  workgroupBarrier();
  for (var s = WG / 2u; s > 0u; s >>= 1u) {
    if (li < s) {
      for (var r = 0u; r < ROWS; r++) {
        rowPart[r * WG + li] += rowPart[r * WG + li + s];
      }
    }
    workgroupBarrier();
  }
  if (li < ROWS) {
    var v = rowPart[li * WG];
    if (HAS_BIAS) {
      v += weight[BIAS_OFF + li];
    }
    proj[t * LDP + COL0 + li] = v;
  }
}
