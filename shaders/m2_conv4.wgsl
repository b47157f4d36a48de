// Mamba-2's grouped depthwise causal conv + SiLU (m2_conv.wgsl's computation) for the common filter width
// d_conv = 4, four channels and four tokens an invocation, every value held in named registers:
//   xbc[t, c] = silu(bias[c] + Σ_{k<4} w[c, k] · in(t − 3 + k)),
// where in(i) = proj[i, XBC_COL + c] for i ≥ 0 and the conv state [c, 3 + i] (oldest first) for i < 0; the new
// state holds the chunk's last 3 inputs (from proj and, when T < 3, the old state).
// Why: m2_conv walks a private ring of up to 8 taps one channel at a time and reads 4 bytes a load; at
// mamba2-2.7b it moved its 22 MB a layer at about 0.7 TB/s (bench/RESULTS.md, session 13: 1.99 ms a 512-token
// chunk). Here each load is a vec4 of four channels, and the 7 inputs an invocation needs (3 before its first
// token, then its 4) are loaded before any is used.
// Invocation (q, tile) computes channels 4q .. 4q + 3 at tokens 4·tile .. + 3; tile 0 alone reads the old state
// and writes the new one (read and write of a channel's state stay in one invocation, race-free).
// Requirements (mamba2/decisions.ts m2ConvKernel): DC = 4, and CD, LDP and XBC_COL multiples of 4.
// Shapes: proj f32 [T, LDP] (xBC at columns XBC_COL .. XBC_COL+CD−1), params f32 (conv weight [CD, 4] at
// CW_OFF, bias [CD] at CB_OFF), state f32 (conv state [CD, 3] at CONV_OFF), xbc f32 [T, CD].
// Reference: causalConv in src/engine/reference/mamba2.ts.
// Dispatch: (ceil(CD / 256), ceil(T / 4)).
#include "dims.wgsl"

override CD: u32;
override LDP: u32;
override XBC_COL: u32;
override HAS_BIAS: bool;
override CW_OFF: u32;
override CB_OFF: u32;
override CONV_OFF: u32;

@group(0) @binding(0) var<uniform> dims: Dims;
@group(0) @binding(1) var<storage, read> proj: array<vec4f>;
@group(0) @binding(2) var<storage, read> params: array<f32>;
@group(0) @binding(3) var<storage, read_write> state: array<f32>;
@group(0) @binding(4) var<storage, read_write> xbc: array<vec4f>;

// The old conv state's entry j (0 oldest .. 2 newest) of channels c .. c + 3.
fn oldState(c: u32, j: u32) -> vec4f {
  let at = CONV_OFF + c * 3u + j;
  return vec4f(state[at], state[at + 3u], state[at + 6u], state[at + 9u]);
}

// Input i (token i ≥ 0, else the old state's entry 3 + i) of channels c .. c + 3; zeros past the chunk.
fn input4(c: u32, i: i32) -> vec4f {
  if (i < 0) {
    return oldState(c, u32(3 + i));
  }
  var v = vec4f(0.0);
  if (u32(i) < dims.T) {
    v = proj[(u32(i) * LDP + XBC_COL + c) / 4u];
  }
  return v;
}

// Tap k of channels c .. c + 3.
fn tap(c: u32, k: u32) -> vec4f {
  let at = CW_OFF + c * 4u + k;
  return vec4f(params[at], params[at + 4u], params[at + 8u], params[at + 12u]);
}

fn out4(c: u32, t: u32, s: vec4f) {
  if (t < dims.T) {
    xbc[(t * CD + c) / 4u] = s / (1.0 + exp(-s));
  }
}

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3u) {
  let c = 4u * gid.x;
  let first = 4u * gid.y;
  if (c >= CD || first >= dims.T) {
    return;
  }
  let f = i32(first);
  let a0 = input4(c, f - 3);
  let a1 = input4(c, f - 2);
  let a2 = input4(c, f - 1);
  let a3 = input4(c, f);
  let a4 = input4(c, f + 1);
  let a5 = input4(c, f + 2);
  let a6 = input4(c, f + 3);
  let w0 = tap(c, 0u);
  let w1 = tap(c, 1u);
  let w2 = tap(c, 2u);
  let w3 = tap(c, 3u);
  var b = vec4f(0.0);
  if (HAS_BIAS) {
    b = vec4f(params[CB_OFF + c], params[CB_OFF + c + 1u], params[CB_OFF + c + 2u], params[CB_OFF + c + 3u]);
  }
  out4(c, first, b + w0 * a0 + w1 * a1 + w2 * a2 + w3 * a3);
  out4(c, first + 1u, b + w0 * a1 + w1 * a2 + w2 * a3 + w3 * a4);
  out4(c, first + 2u, b + w0 * a2 + w1 * a3 + w2 * a4 + w3 * a5);
  out4(c, first + 3u, b + w0 * a3 + w1 * a4 + w2 * a5 + w3 * a6);
  if (gid.y == 0u) {
    // The last 3 inputs of the chunk, oldest first: tokens T − 3 .. T − 1 (the old state's where T < 3), read
    // before any is written, since with T < 3 they include the old state itself.
    let T = i32(dims.T);
    let k0 = input4(c, T - 3);
    let k1 = input4(c, T - 2);
    let k2 = input4(c, T - 1);
    for (var i = 0u; i < 4u; i++) {
      let at = CONV_OFF + (c + i) * 3u;
      state[at] = k0[i];
      state[at + 1u] = k1[i];
      state[at + 2u] = k2[i];
    }
  }
}
