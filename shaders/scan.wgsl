// Selective scan over a chunk of T tokens, fused with dt_proj + softplus, D*x and the SiLU(z) gate.
// One invocation per channel c, h[0 .. DS-1] in registers (the SwiftShader variant: no barriers). Per token:
//   dt = softplus(dtB[c] + sum_r dtW[c, r] * dbc[t, r])          (softplus(x) = x for x > 20)
//   h[n] = exp(dt * A[c, n]) * h[n] + dt * B[t, n] * xc[t, c];   y = sum_n h[n] * C[t, n]
//   out[t, c] = (y + D[c] * xc[t, c]) * silu(z[t, c]);           dtSum[c] += dt
// It starts from the given state (zero, stored or mixed) and writes the final state back, so chunks chain.
// Shapes: dbc f32 [T, R + 2*DS] (delta | B | C), xz f32 [T, 2*DI] (z is the second half), xc f32 [T, DI],
// params f32 (dtW [DI, R] at DTW_OFF, dtB [DI] at DTB_OFF, A = -exp(A_log) [DI, DS] at A_OFF, D [DI] at D_OFF),
// state f32 (ssm [DI, DS] at 0, dtSum [DI] at DI*DS), out f32 [T, DI]. DS <= 64.
// Reference: mixerStep in src/engine/reference/mamba.ts.
// Dispatch: (ceil(DI / 64)).
#include "dims.wgsl"
#include "scan_token.wgsl"

override DI: u32;
override DS: u32;
override R: u32;
override DTW_OFF: u32;
override DTB_OFF: u32;
override A_OFF: u32;
override D_OFF: u32;

@group(0) @binding(0) var<uniform> dims: Dims;
@group(0) @binding(1) var<storage, read> dbc: array<f32>;
@group(0) @binding(2) var<storage, read> xz: array<f32>;
@group(0) @binding(3) var<storage, read> xc: array<f32>;
@group(0) @binding(4) var<storage, read> params: array<f32>;
@group(0) @binding(5) var<storage, read_write> state: array<f32>;
@group(0) @binding(6) var<storage, read_write> out: array<f32>;

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) g: vec3u) {
  let c = g.x;
  if (c >= DI) {
    return;
  }
  var h: array<f32, 64>;
  var a: array<f32, 64>;
  for (var n = 0u; n < DS; n++) {
    h[n] = state[c * DS + n];
    a[n] = params[A_OFF + c * DS + n];
  }
  var dtSum = state[DI * DS + c];
  let dtb = params[DTB_OFF + c];
  let d = params[D_OFF + c];
  for (var t = 0u; t < dims.T; t++) {
    dtSum += scanToken(c, t, &h, &a, dtb, d);
  }
  for (var n = 0u; n < DS; n++) {
    state[c * DS + n] = h[n];
  }
  state[DI * DS + c] = dtSum;
}
