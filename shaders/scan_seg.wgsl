// Selective scan over a chunk of T tokens cut into segments, each segment continuing from and updating its
// own state slot (batched prefill and decode), fused with dt_proj + softplus, D*x and the SiLU(z) gate as in
// scan.wgsl. Invocation (c, s) runs channel c of segment s with h[0 .. DS-1] in registers. Per token:
//   dt = softplus(dtB[c] + sum_r dtW[c, r] * dbc[t, r])          (softplus(x) = x for x > 20)
//   h[n] = exp(dt * A[c, n]) * h[n] + dt * B[t, n] * xc[t, c];   y = sum_n h[n] * C[t, n]
//   out[t, c] = (y + D[c] * xc[t, c]) * silu(z[t, c]);           dtSum[c] += dt
// One kernel for both variants: a batch gives DI x S invocations (49k at 130m and 32 sequences), enough to
// fill a GPU without scan_coop's per-state-element split, and segments are short (queries, single tokens).
// No two segments of a chunk may share a slot.
// Shapes: segs u32 [2 + 2*S]: S, then (start, slot) per segment in token order, then T (the end of the last);
// dbc f32 [T, R + 2*DS] (delta | B | C), xz f32 [T, 2*DI] (z is the second half), xc f32 [T, DI],
// params f32 (dtW [DI, R] at DTW_OFF, dtB [DI] at DTB_OFF, A = -exp(A_log) [DI, DS] at A_OFF, D [DI] at D_OFF),
// slots f32 [slots, STRIDE] (ssm [DI, DS] at 0, dtSum [DI] at DI*DS within a slot), out f32 [T, DI]. DS <= 64.
// Reference: mixerStep in src/engine/reference/mamba.ts, per sequence (tests/kernels.batch.test.ts).
// Dispatch: (ceil(DI / 64), S) or more along y (extra invocations return).
#include "scan_token.wgsl"

override DI: u32;
override DS: u32;
override R: u32;
override DTW_OFF: u32;
override DTB_OFF: u32;
override A_OFF: u32;
override D_OFF: u32;
override STRIDE: u32;

@group(0) @binding(0) var<storage, read> segs: array<u32>;
@group(0) @binding(1) var<storage, read> dbc: array<f32>;
@group(0) @binding(2) var<storage, read> xz: array<f32>;
@group(0) @binding(3) var<storage, read> xc: array<f32>;
@group(0) @binding(4) var<storage, read> params: array<f32>;
@group(0) @binding(5) var<storage, read_write> slots: array<f32>;
@group(0) @binding(6) var<storage, read_write> out: array<f32>;

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) g: vec3u) {
  let c = g.x;
  let s = g.y;
  if (c >= DI || s >= segs[0]) {
    return;
  }
  let t0 = segs[1u + 2u * s];
  let base = segs[2u + 2u * s] * STRIDE;
  let t1 = segs[3u + 2u * s];
  var h: array<f32, 64>;
  var a: array<f32, 64>;
  for (var n = 0u; n < DS; n++) {
    h[n] = slots[base + c * DS + n];
    a[n] = params[A_OFF + c * DS + n];
  }
  var dtSum = slots[base + DI * DS + c];
  let dtb = params[DTB_OFF + c];
  let d = params[D_OFF + c];
  for (var t = t0; t < t1; t++) {
    dtSum += scanToken(c, t, &h, &a, dtb, d);
  }
  for (var n = 0u; n < DS; n++) {
    slots[base + c * DS + n] = h[n];
  }
  slots[base + DI * DS + c] = dtSum;
}
