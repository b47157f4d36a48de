// Log-softmax and per-token negative log-likelihood, one workgroup of WG per token row t:
//   nll[t] = log(sum_v exp(logits[t, v] - m)) + m - logits[t, target[t]],  m = max_v logits[t, v]
// target[t] = 0xffffffff marks a row without a next token (nll = 0, ignored by the host).
// Shapes: logits f32 [T, V], targets u32 [T], nll f32 [T].
// Reference: -log softmax(referenceForward(...).logits[t])[tokens[t + 1]] (tests/engine*.test.ts).
// Dispatch: (T).
#include "dims.wgsl"

override V: u32;
// Invocations per row: a power of two <= 256 (64 on GPUs; 4 on SwiftShader, where barriers are costly).
override WG: u32 = 64u;

@group(0) @binding(0) var<uniform> dims: Dims;
@group(0) @binding(1) var<storage, read> logits: array<f32>;
@group(0) @binding(2) var<storage, read> targets: array<u32>;
@group(0) @binding(3) var<storage, read_write> nll: array<f32>;

var<workgroup> red: array<f32, 256>;

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) li: u32) {
  let t = wid.x;
  if (t >= dims.T) {
    return;
  }
  let base = t * V;
  var m = -3.4e38;
  for (var v = li; v < V; v += WG) {
    m = max(m, logits[base + v]);
  }
  red[li] = m;
  workgroupBarrier();
  for (var s = WG / 2u; s > 0u; s >>= 1u) {
    if (li < s) {
      red[li] = max(red[li], red[li + s]);
    }
    workgroupBarrier();
  }
  let mx = red[0];
  workgroupBarrier();
  var sum = 0.0;
  for (var v = li; v < V; v += WG) {
    sum += exp(logits[base + v] - mx);
  }
  red[li] = sum;
  workgroupBarrier();
  for (var s = WG / 2u; s > 0u; s >>= 1u) {
    if (li < s) {
      red[li] += red[li + s];
    }
    workgroupBarrier();
  }
  if (li == 0u) {
    let want = targets[t];
    if (want < V) {
      nll[t] = log(red[0]) + mx - logits[base + want];
    } else {
      nll[t] = 0.0;
    }
  }
}
