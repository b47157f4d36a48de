// Mamba-2's grouped depthwise causal conv over the x, B and C channels (CD = d_inner + 2·n_groups·state_size
// of them, one filter each) for a chunk of T tokens, continuing from and updating the conv state, then SiLU:
//   xbc[t, c] = silu(bias[c] + Σ_{k<DC} w[c, k] · in(t − (DC−1) + k)),
// where in(i) = proj[i, XBC_COL + c] for i ≥ 0 and the conv state [c, DC−1 + i] (oldest first) for i < 0.
// The new state holds the last DC−1 inputs (from proj and, when T < DC−1, the old state). Invocation (c, tile)
// computes TT consecutive tokens of channel c; only tile 0 reaches back into the old state, so tile 0 alone
// reads and rewrites channel c's state (race-free).
// Shapes: proj f32 [T, LDP] (in_proj's output; xBC at columns XBC_COL .. XBC_COL+CD−1), params f32 (conv
// weight [CD, DC] at CW_OFF, bias [CD] at CB_OFF), state f32 (conv state [CD, DC−1] at CONV_OFF),
// xbc f32 [T, CD]. 2 ≤ DC ≤ 8.
// The per-token step is include/m2_conv_token.wgsl's, shared with m2_conv_seg.wgsl.
// Reference: causalConv in src/engine/reference/mamba2.ts.
// Dispatch: (ceil(CD / 64), ceil(T / TT)).
#include "dims.wgsl"
#include "m2_conv_token.wgsl"

override CONV_OFF: u32;
const TT: u32 = 8u;

@group(0) @binding(0) var<uniform> dims: Dims;
@group(0) @binding(1) var<storage, read> proj: array<f32>;
@group(0) @binding(2) var<storage, read> params: array<f32>;
@group(0) @binding(3) var<storage, read_write> state: array<f32>;
@group(0) @binding(4) var<storage, read_write> xbc: array<f32>;

// Conv input i of channel c; i < 0 reads the old state (tile 0 only).
fn convIn(c: u32, i: i32) -> f32 {
  let back = i32(DC) - 1;
  if (i >= 0) {
    return proj[u32(i) * LDP + XBC_COL + c];
  }
  return state[CONV_OFF + c * u32(back) + u32(back + i)];
}

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3u) {
  let c = gid.x;
  let first = gid.y * TT;
  if (c >= CD || first >= dims.T) {
    return;
  }
  let back = i32(DC) - 1;
  let bias = m2ConvBias(c);
  // Ring of the last DC inputs, newest at the end; filled with the DC−1 inputs before `first`.
  var ring: Taps;
  for (var j = 0; j < back; j++) {
    ring[j + 1] = convIn(c, i32(first) - back + j);
  }
  let last = min(first + TT, dims.T);
  for (var t = first; t < last; t++) {
    m2ConvToken(c, t, &ring, bias);
  }
  if (gid.y == 0u) {
    var kept: array<f32, 8>;
    for (var j = 0; j < back; j++) {
      kept[j] = convIn(c, i32(dims.T) - back + j);
    }
    for (var j = 0; j < back; j++) {
      state[CONV_OFF + c * u32(back) + u32(j)] = kept[j];
    }
  }
}
