// RMSNorm with the residual add. For each token t (one workgroup of WG each):
//   if ADD: resid[t] += delta[t]   (the previous mixer's output joins the residual stream)
//   out[t, i] = resid[t, i] / sqrt(mean_i(resid[t]^2) + EPS) * weight[W_OFF + i]
// Shapes: resid, delta, out f32 [T, DM]; weight f32 (the layer's parameter buffer, norm at W_OFF).
// Reference: rmsNorm and the residual update in referenceForward (src/engine/reference/mamba.ts).
// Dispatch: (T).
#include "dims.wgsl"

override DM: u32;
override ADD: bool;
override EPS: f32;
override W_OFF: u32;
// Invocations per row: a power of two <= 256 (64 on GPUs; 4 on SwiftShader, where barriers are costly).
override WG: u32 = 64u;

@group(0) @binding(0) var<uniform> dims: Dims;
@group(0) @binding(1) var<storage, read> delta: array<f32>;
@group(0) @binding(2) var<storage, read_write> resid: array<f32>;
@group(0) @binding(3) var<storage, read> weight: array<f32>;
@group(0) @binding(4) var<storage, read_write> out: array<f32>;

#include "wg_sum.wgsl"

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) li: u32) {
  let t = wid.x;
  if (t >= dims.T) {
    return;
  }
  let base = t * DM;
  var ss = 0.0;
  for (var i = li; i < DM; i += WG) {
    var v = resid[base + i];
    if (ADD) {
      v += delta[base + i];
      resid[base + i] = v;
    }
    ss += v * v;
  }
  let scale = inverseSqrt(workgroupSum(li, ss) / f32(DM) + EPS);
  for (var i = li; i < DM; i += WG) {
    out[base + i] = resid[base + i] * scale * weight[W_OFF + i];
  }
}
