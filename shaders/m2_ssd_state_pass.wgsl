#variant m2_ssd_state_pass
#variant m2_ssd_state_pass_tiled TILED
// Chunked SSD scan (Mamba-2 prefill), pass 2 of 3: the inter-chunk recurrence. Invocation (e, h) follows entry
// e = p·N + n of head h's state through the chunks, from the incoming state (zero, stored or mixed):
//   entering_c = run;  run = exp(cum[last token of c, h]) · run + local_c[e]
// overwriting each chunk's local state in cs with the state entering it (what pass 3 reads), and writes the
// final state back. Consecutive invocations take consecutive e (coalesced). Head h's Σ Δ over the T tokens is
// added to dtSum[h]:
// - m2_ssd_state_pass (SwiftShader): 64 invocations, invocation e = 0 sums Σ Δ alone. No barriers: on
//   SwiftShader a kernel with any barrier runs every workgroup as fibers (the batched loads and the tree
//   below, 64 or 256 wide, took 65–155 ms against 5–17 ms for this one at the bundled model's shape and 128
//   tokens).
// - m2_ssd_state_pass_tiled (GPUs): 256 invocations; the chunks' local states are read 8 at a time before
//   any is overwritten, so 8 loads are in flight per invocation instead of one; the workgroups with x = 0 sum
//   Σ Δ with all their invocations (strided, then a tree in workgroup memory): the 64-wide pass took 117 µs
//   a layer on the H200 at 512 tokens, most likely waiting on the one invocation walking T dependent loads.
// Shapes: cum f32 [T, H], dl f32 [T, H] (from pass 1), state f32 (ssm [H, P, N] at SSM_OFF, dtSum [H] at
// DTS_OFF), cs f32 [ceil(T/Q), H, P, N].
// Reference: the state update of ssdChunked in src/engine/reference/mamba2.ts.
// Dispatch: (ceil(P·N / WG), H), WG = 64 or 256.
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

#ifdef TILED
const WG = 256u;
const BATCH = 8u;
var<workgroup> wSum: array<f32, 256>;

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) li: u32) {
  let h = wid.y;
  let e = wid.x * WG + li;
  let size = P * N;
  let T = dims.T;
  if (e < size) {
    let chunks = (T + Q - 1u) / Q;
    var run = state[SSM_OFF + h * size + e];
    for (var c0 = 0u; c0 < chunks; c0 += BATCH) {
      var local: array<f32, BATCH>;
      var decay: array<f32, BATCH>;
      for (var k = 0u; k < BATCH; k++) {
        let c = c0 + k;
        if (c < chunks) {
          local[k] = cs[(c * H + h) * size + e];
          decay[k] = exp(cum[(min((c + 1u) * Q, T) - 1u) * H + h]);
        }
      }
      for (var k = 0u; k < BATCH; k++) {
        let c = c0 + k;
        if (c < chunks) {
          cs[(c * H + h) * size + e] = run;
          run = decay[k] * run + local[k];
        }
      }
    }
    state[SSM_OFF + h * size + e] = run;
  }
  if (wid.x == 0u) {
    var sum = 0.0;
    for (var t = li; t < T; t += WG) {
      sum += dl[t * H + h];
    }
    wSum[li] = sum;
    for (var half = WG / 2u; half > 0u; half /= 2u) {
      workgroupBarrier();
      if (li < half) {
        wSum[li] += wSum[li + half];
      }
    }
    if (li == 0u) {
      state[DTS_OFF + h] += wSum[0];
    }
  }
}
#else
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
#endif
