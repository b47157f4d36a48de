// Depthwise causal conv1d over a chunk of T tokens, continuing from and updating the conv state, then SiLU,
// parallel over tokens: invocation (c, tile) computes TT consecutive tokens of channel c,
//   xc[t, c] = silu(bias[c] + sum_{k<DC} w[c, k] * in(t - (DC-1) + k)),
// where in(i) = xz[i, c] for i >= 0 and the conv state [c, DC-1 + i] (oldest first) for i < 0.
// Only tile 0 reads the old state, so tile 0 also writes the new one (the last DC-1 inputs of the chunk, from
// xz and, when T < DC-1, the old state): read and write of channel c's state stay in one invocation, race-free.
// Shapes: xz f32 [T, 2*DI] (x half first), params f32 (conv weight [DI, DC] at CW_OFF, bias [DI] at CB_OFF),
// state f32 (conv state [DI, DC-1] at CONV_OFF), xc f32 [T, DI]. DC <= 8.
// Reference: the conv part of mixerStep in src/engine/reference/mamba.ts.
// Dispatch: (ceil(DI / 64), ceil(T / TT)).
#include "dims.wgsl"

override DI: u32;
override DC: u32;
override HAS_BIAS: bool;
override CW_OFF: u32;
override CB_OFF: u32;
override CONV_OFF: u32;
// Tokens per invocation: enough to amortise the DC-1 extra loads, few enough for thousands of workgroups.
const TT: u32 = 8u;

@group(0) @binding(0) var<uniform> dims: Dims;
@group(0) @binding(1) var<storage, read> xz: array<f32>;
@group(0) @binding(2) var<storage, read> params: array<f32>;
@group(0) @binding(3) var<storage, read_write> state: array<f32>;
@group(0) @binding(4) var<storage, read_write> xc: array<f32>;

// Input i of channel c (i may be negative: the old conv state); only tile 0 asks for i < 0.
fn input(c: u32, i: i32) -> f32 {
  if (i < 0) {
    return state[CONV_OFF + c * (DC - 1u) + u32(i32(DC - 1u) + i)];
  }
  return xz[u32(i) * 2u * DI + c];
}

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) g: vec3u) {
  let c = g.x;
  let T = dims.T;
  let t0 = g.y * TT;
  if (c >= DI || t0 >= T) {
    return;
  }
  var w: array<f32, 8>;
  for (var k = 0u; k < DC; k++) {
    w[k] = params[CW_OFF + c * DC + k];
  }
  var b = 0.0;
  if (HAS_BIAS) {
    b = params[CB_OFF + c];
  }
  // Sliding window of the DC-1 inputs before token t.
  var win: array<f32, 8>;
  for (var k = 0u; k < DC - 1u; k++) {
    win[k] = input(c, i32(t0) - i32(DC - 1u) + i32(k));
  }
  let t1 = min(t0 + TT, T);
  for (var t = t0; t < t1; t++) {
    let x = xz[t * 2u * DI + c];
    var acc = b + w[DC - 1u] * x;
    for (var k = 0u; k < DC - 1u; k++) {
      acc += w[k] * win[k];
    }
    for (var k = 0u; k + 2u < DC; k++) {
      win[k] = win[k + 1u];
    }
    win[DC - 2u] = x;
    xc[t * DI + c] = acc / (1.0 + exp(-acc));
  }
  if (g.y == 0u) {
    // New state = inputs T-(DC-1) .. T-1; all old-state reads of this channel happened above or happen here
    // first (oldest first, so when T < DC-1 each old entry is read before it is overwritten).
    var next: array<f32, 8>;
    for (var k = 0u; k < DC - 1u; k++) {
      next[k] = input(c, i32(T) - i32(DC - 1u) + i32(k));
    }
    for (var k = 0u; k < DC - 1u; k++) {
      state[CONV_OFF + c * (DC - 1u) + k] = next[k];
    }
  }
}
