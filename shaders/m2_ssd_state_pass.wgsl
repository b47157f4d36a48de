// Chunked SSD scan (Mamba-2 prefill), pass 2 of 3: the inter-chunk recurrence. Invocation (e, h) follows entry
// e = p·N + n of head h's state through the chunks, from the incoming state (zero, stored or mixed):
//   entering_c = run;  run = exp(cum[last token of c, h]) · run + local_c[e]
// overwriting each chunk's local state in cs with the state entering it (what pass 3 reads), and writes the
// final state back. Invocation e = 0 adds the chunk's Σ Δ to dtSum[h].
// Shapes: cum f32 [T, H], dl f32 [T, H] (from pass 1), state f32 (ssm [H, P, N] at SSM_OFF, dtSum [H] at
// DTS_OFF), cs f32 [ceil(T/Q), H, P, N].
// Reference: the state update of ssdChunked in src/engine/reference/mamba2.ts.
// Dispatch: (ceil(P·N / 64), H).
#include "dims.wgsl"

override H: u32;
override P: u32;
override N: u32;
override Q: u32;
override SSM_OFF: u32;
override DTS_OFF: u32;

@group(0) @binding(0) var<uniform> dims: Dims;
@group(0) @binding(1) var<storage, read> cum: array<f32>;
@group(0) @binding(2) var<storage, read> dl: array<f32>;
@group(0) @binding(3) var<storage, read_write> state: array<f32>;
@group(0) @binding(4) var<storage, read_write> cs: array<f32>;

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3u) {
  let e = gid.x;
  let h = gid.y;
  let size = P * N;
  if (e >= size) {
    return;
  }
  let T = dims.T;
  let chunks = (T + Q - 1u) / Q;
  var run = state[SSM_OFF + h * size + e];
  for (var c = 0u; c < chunks; c++) {
    let lastT = min((c + 1u) * Q, T) - 1u;
    let at = (c * H + h) * size + e;
    let local = cs[at];
    cs[at] = run;
    run = exp(cum[lastT * H + h]) * run + local;
  }
  state[SSM_OFF + h * size + e] = run;
  if (e == 0u) {
    var sum = 0.0;
    for (var t = 0u; t < T; t++) {
      sum += dl[t * H + h];
    }
    state[DTS_OFF + h] += sum;
  }
}
