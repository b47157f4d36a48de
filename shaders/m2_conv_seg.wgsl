// Mamba-2's grouped depthwise causal conv + SiLU over the x, B and C channels (CD of them, one filter each) for
// a chunk of T tokens cut into segments, each continuing from and updating its own state slot (batched
// prefill and decode of several sequences in one chunk, src/engine/mamba2/batch.ts). Invocation (c, s) runs
// channel c of segment s token by token, its window in registers:
//   xbc[t, c] = silu(bias[c] + Σ_{k<DC} w[c, k] · in(t − (DC−1) + k)),
// where in(i) = proj[i, XBC_COL + c] inside the segment and, before its first token, the conv state of the
// segment's slot [c, DC−1 + …] (oldest first); at the end the slot keeps the segment's last DC−1 inputs (with
// the old state in front where the segment is shorter than DC−1). One invocation owns a (slot, channel) pair,
// so the state's read and write are race-free; no two segments of a chunk may share a slot.
// Shapes: segs u32 [2 + 2·S]: S, then (start, slot) per segment in token order, then T (the end of the last);
// proj f32 [T, LDP] (in_proj's output; xBC at columns XBC_COL .. XBC_COL+CD−1), params f32 (conv weight
// [CD, DC] at CW_OFF, bias [CD] at CB_OFF), slots f32 [slots, STRIDE] (conv state [CD, DC−1] at CONV_OFF
// within a slot), xbc f32 [T, CD]. 2 ≤ DC ≤ 8.
// The per-token step is include/m2_conv_token.wgsl's, shared with m2_conv.wgsl.
// Reference: causalConv in src/engine/reference/mamba2.ts, per sequence (tests/kernels.mamba2-batch.test.ts).
// Dispatch: (ceil(CD / 64), S) or more along y (extra invocations return).
#include "m2_conv_token.wgsl"

override CONV_OFF: u32;
override STRIDE: u32;

@group(0) @binding(0) var<storage, read> segs: array<u32>;
@group(0) @binding(1) var<storage, read> proj: array<f32>;
@group(0) @binding(2) var<storage, read> params: array<f32>;
@group(0) @binding(3) var<storage, read_write> slots: array<f32>;
@group(0) @binding(4) var<storage, read_write> xbc: array<f32>;

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3u) {
  let c = gid.x;
  let seg = gid.y;
  if (c >= CD || seg >= segs[0]) {
    return;
  }
  let first = segs[1u + 2u * seg];
  let end = segs[3u + 2u * seg];
  let keep = DC - 1u;
  let st = segs[2u + 2u * seg] * STRIDE + CONV_OFF + c * keep;
  let bias = m2ConvBias(c);
  // The last DC inputs, newest at index DC−1; before the first token, the slot's DC−1 old inputs at 1 .. DC−1.
  var ring: Taps;
  for (var j = 0u; j < keep; j++) {
    ring[j + 1u] = slots[st + j];
  }
  for (var t = first; t < end; t++) {
    m2ConvToken(c, t, &ring, bias);
  }
  // The window's newest DC−1 inputs are the new state (old state entries where the segment was short).
  for (var j = 0u; j < keep; j++) {
    slots[st + j] = ring[j + 1u];
  }
}
