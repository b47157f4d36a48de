// Mamba-2's gated RMSNorm for each token t and group k of GS channels (one workgroup of WG each):
//   v[i] = y[t, i] · silu(z[t, i]);  out[t, i] = v[i] / sqrt(mean_{i in group}(v²) + EPS) · weight[W_OFF + i]
// transformers 5.17 normalises all of d_inner at once (GS = DI, whatever n_groups is); GS = DI / n_groups is
// mamba_ssm's grouped form.
// Shapes: y f32 [T, DI], proj f32 [T, LDP] (z at columns Z_COL .. Z_COL+DI−1), weight f32 (the layer's
// parameters, the norm's weight [DI] at W_OFF), out f32 [T, DI].
// Reference: gatedRmsNorm in src/engine/reference/mamba2.ts.
// Dispatch: (T, DI / GS).
#include "dims.wgsl"

override DI: u32;
override GS: u32;
override LDP: u32;
override Z_COL: u32;
override W_OFF: u32;
override EPS: f32;
// Invocations per group: a power of two ≤ 256.
override WG: u32 = 64u;

@group(0) @binding(0) var<uniform> dims: Dims;
@group(0) @binding(1) var<storage, read> y: array<f32>;
@group(0) @binding(2) var<storage, read> proj: array<f32>;
@group(0) @binding(3) var<storage, read> weight: array<f32>;
@group(0) @binding(4) var<storage, read_write> out: array<f32>;

var<workgroup> sums: array<f32, 256>;

fn gated(t: u32, i: u32) -> f32 {
  let z = proj[t * LDP + Z_COL + i];
  return y[t * DI + i] * z / (1.0 + exp(-z));
}

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) li: u32) {
  let t = wid.x;
  if (t >= dims.T) {
    return;
  }
  let first = wid.y * GS;
  var ss = 0.0;
  for (var i = first + li; i < first + GS; i += WG) {
    let v = gated(t, i);
    ss += v * v;
  }
  sums[li] = ss;
  workgroupBarrier();
  for (var stride = WG / 2u; stride > 0u; stride >>= 1u) {
    if (li < stride) {
      sums[li] += sums[li + stride];
    }
    workgroupBarrier();
  }
  let scale = inverseSqrt(sums[0] / f32(GS) + EPS);
  for (var i = first + li; i < first + GS; i += WG) {
    out[t * DI + i] = gated(t, i) * scale * weight[W_OFF + i];
  }
}
