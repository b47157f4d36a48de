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
// The norm walks groups of 8 channels, k = 8·o .. 8·o + 7 for o = li, li + WG, .. (16-byte loads); the
// normalised row goes to `out` and to workgroup memory (wn). Then LPR invocations share each row (LPR: the
// largest power of two with ROWS · LPR ≤ WG): lane j of row r dots octs j, j + LPR, .. of wn with the same
// channels of W's row (four octs' loads in flight at a time), and the row's LPR sums are added in a tree
// (log2 LPR barriers). The first version (one
// invocation walking every row over its own octs, WG 64) took 94 µs a layer at mamba2-2.7b on the H100
// against the plain norm's 18 (bench/RESULTS.md, session 16): a chain of ROWS · octs / WG dependent loads.
// Requirements (mamba2/decisions.ts normRowsFit): DM % 8 == 0, DM ≤ 4 · 1024, ROWS ≤ 32 ≤ WG, WG a power of 2.
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
override WG: u32 = 256u;
override ROWS: u32;
override ROW0: u32;
override COL0: u32;
override LDP: u32;
override HAS_BIAS: bool = false;
override BIAS_OFF: u32 = 0u;
#ifdef HALF
const F16 = true;
#else
override F16: bool;
#endif

@group(0) @binding(0) var<uniform> dims: Dims;
@group(0) @binding(1) var<storage, read> delta: array<vec4f>;
#include "weights_vec4.wgsl"
@group(0) @binding(3) var<storage, read_write> resid: array<vec4f>;
@group(0) @binding(4) var<storage, read> weight: array<f32>;
@group(0) @binding(5) var<storage, read_write> out: array<vec4f>;
@group(0) @binding(6) var<storage, read_write> proj: array<f32>;

#include "wg_sum.wgsl"
var<workgroup> wn: array<vec4f, 1024>;

fn normWeight(k: u32) -> vec4f {
  return vec4f(weight[W_OFF + k], weight[W_OFF + k + 1u], weight[W_OFF + k + 2u], weight[W_OFF + k + 3u]);
}

// Weights 8·o .. 8·o + 7 of row `row` of W as two vec4s (f16: weights_vec4's oct; f32: two vec4s of bits).
fn woct(row: u32, o: u32) -> array<vec4f, 2> {
  let e = row * DM + 8u * o;
#ifndef HALF
  if (!F16) {
    return array<vec4f, 2>(bitcast<vec4f>(W[e / 4u]), bitcast<vec4f>(W[e / 4u + 1u]));
  }
#endif
  return oct(e / 8u);
}

// Oct o of the normalised row (wn) dotted with weights w.
fn octDot(o: u32, w: array<vec4f, 2>) -> f32 {
  return dot(wn[2u * o], w[0]) + dot(wn[2u * o + 1u], w[1]);
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
  let scale = inverseSqrt(workgroupSum(li, ss) / f32(DM) + EPS);
  for (var o = li; o < octs; o += WG) {
    for (var q = 0u; q < 2u; q++) {
      let n = resid[base + 2u * o + q] * scale * normWeight(8u * o + 4u * q);
      out[base + 2u * o + q] = n;
      wn[2u * o + q] = n;
    }
  }
  // Invocations per row: the largest power of two with ROWS · lpr ≤ WG.
  var lpr = WG;
  while (lpr * ROWS > WG) {
    lpr >>= 1u;
  }
  let r = li / lpr;
  let lane = li % lpr;
  workgroupBarrier();
  var dot8 = 0.0;
  if (r < ROWS) {
    // Four octs a step, their loads issued before any is used (at mamba2-2.7b a lane walks 20 octs).
    var o = lane;
    for (; o + 3u * lpr < octs; o += 4u * lpr) {
      let w0 = woct(ROW0 + r, o);
      let w1 = woct(ROW0 + r, o + lpr);
      let w2 = woct(ROW0 + r, o + 2u * lpr);
      let w3 = woct(ROW0 + r, o + 3u * lpr);
      dot8 += (octDot(o, w0) + octDot(o + lpr, w1)) + (octDot(o + 2u * lpr, w2) + octDot(o + 3u * lpr, w3));
    }
    for (; o < octs; o += lpr) {
      dot8 += octDot(o, woct(ROW0 + r, o));
    }
  }
  partial[li] = dot8;
  workgroupBarrier();
  for (var s = lpr / 2u; s > 0u; s >>= 1u) {
    if (lane < s) {
      partial[li] += partial[li + s];
    }
    workgroupBarrier();
  }
  if (r < ROWS && lane == 0u) {
    var v = partial[li];
    if (HAS_BIAS) {
      v += weight[BIAS_OFF + r];
    }
    proj[t * LDP + COL0 + r] = v;
  }
}
