#variant m2_gated_norm
#variant m2_gated_norm_v4 VEC4
#variant m2_gated_norm_keep VEC4 KEEP
// Mamba-2's gated RMSNorm for each token t and group k of GS channels (one workgroup of WG each):
//   v[i] = y[t, i] · silu(z[t, i]);  out[t, i] = v[i] / sqrt(mean_{i in group}(v²) + EPS) · weight[W_OFF + i]
// transformers 5.17 normalises all of d_inner at once (GS = DI, whatever n_groups is); GS = DI / n_groups is
// mamba_ssm's grouped form.
// m2_gated_norm_v4 reads y and z and writes out four channels at a time (vec4), for DI, GS, LDP and Z_COL
// multiples of 4 (decisions.ts gatedNormKernel). A row of mamba2-2.7b is 5,120 channels: with scalar loads
// each invocation walks 20 dependent pairs of loads twice and the pass ran at 1.2 TB/s on the H200; vec4s
// put four times the bytes in flight per load.
// m2_gated_norm_keep (VEC4 as well) holds each invocation's gated vec4s in registers between the sum of squares
// and the store: eight slots, so GS ≤ 32·WG (5,120 channels take 5 slots at WG 256). The v4 kernel reads y and z
// twice (the second time mostly from L2) and makes silu twice; this one reads them once.
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

#ifdef VEC4
alias Lane = vec4f;
const L = 4u;
#else
alias Lane = f32;
const L = 1u;
#endif

@group(0) @binding(0) var<uniform> dims: Dims;
@group(0) @binding(1) var<storage, read> y: array<Lane>;
@group(0) @binding(2) var<storage, read> proj: array<Lane>;
@group(0) @binding(3) var<storage, read> weight: array<f32>;
@group(0) @binding(4) var<storage, read_write> out: array<Lane>;

#include "wg_sum.wgsl"

// Channels i·L .. i·L + L − 1 of token t, gated.
fn gated(t: u32, i: u32) -> Lane {
  let z = proj[(t * LDP + Z_COL) / L + i];
  return y[t * DI / L + i] * z / (1.0 + exp(-z));
}

fn squares(v: Lane) -> f32 {
#ifdef VEC4
  return dot(v, v);
#else
  return v * v;
#endif
}

// The norm's weight for the same channels (W_OFF need not be a multiple of 4, so read one float at a time).
fn normWeight(i: u32) -> Lane {
#ifdef VEC4
  let w = W_OFF + 4u * i;
  return vec4f(weight[w], weight[w + 1u], weight[w + 2u], weight[w + 3u]);
#else
  return weight[W_OFF + i];
#endif
}

#ifdef KEEP
// Slot j of this invocation: channels i·4 .. with i = first + li + j·WG, gated, or zeros at or past `end`.
fn slot(t: u32, i: u32, end: u32) -> Lane {
  var v = Lane(0.0);
  if (i < end) {
    v = gated(t, i);
  }
  return v;
}

fn put(t: u32, i: u32, end: u32, v: Lane, scale: f32) {
  if (i < end) {
    out[t * DI / L + i] = v * scale * normWeight(i);
  }
}
#endif

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) li: u32) {
  let t = wid.x;
  if (t >= dims.T) {
    return;
  }
  let first = wid.y * GS / L;
  let end = first + GS / L;
#ifdef KEEP
  // Eight named slots, not an array indexed in a loop (that can end in local memory).
  let i0 = first + li;
  let v0 = slot(t, i0, end);
  let v1 = slot(t, i0 + WG, end);
  let v2 = slot(t, i0 + 2u * WG, end);
  let v3 = slot(t, i0 + 3u * WG, end);
  let v4 = slot(t, i0 + 4u * WG, end);
  let v5 = slot(t, i0 + 5u * WG, end);
  let v6 = slot(t, i0 + 6u * WG, end);
  let v7 = slot(t, i0 + 7u * WG, end);
  let ss = (squares(v0) + squares(v1) + squares(v2) + squares(v3)) +
    (squares(v4) + squares(v5) + squares(v6) + squares(v7));
#else
  var ss = 0.0;
  for (var i = first + li; i < end; i += WG) {
    let v = gated(t, i);
    ss += squares(v);
  }
#endif
  let scale = inverseSqrt(workgroupSum(li, ss) / f32(GS) + EPS);
#ifdef KEEP
  put(t, i0, end, v0, scale);
  put(t, i0 + WG, end, v1, scale);
  put(t, i0 + 2u * WG, end, v2, scale);
  put(t, i0 + 3u * WG, end, v3, scale);
  put(t, i0 + 4u * WG, end, v4, scale);
  put(t, i0 + 5u * WG, end, v5, scale);
  put(t, i0 + 6u * WG, end, v6, scale);
  put(t, i0 + 7u * WG, end, v7, scale);
#else
  for (var i = first + li; i < end; i += WG) {
    out[t * DI / L + i] = gated(t, i) * scale * normWeight(i);
  }
#endif
}
