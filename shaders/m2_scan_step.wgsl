// Mamba-2's SSM recurrence token by token: the one-token decode step (T = 1), and a plain scan for any T.
// Invocation (h, p) owns row p of head h's state h[p, 0..N) and, per token t,
//   Δ = m2Delta(proj[t, DT_COL + h], h);  decay = exp(−exp(A_log[h]) · Δ);  x = xbc[t, h·P + p]
//   state[p, n] = decay · state[p, n] + Δ · x · B[t, g, n];   y[t, h·P + p] = Σ_n state[p, n] · C[t, g, n] + D[h]·x
// with g = h / (H / G) (B and C shared by the heads of a group); invocation p = 0 adds Δ to dtSum[h].
// Shapes: xbc f32 [T, CD] (x [H·P] | B [G·N] | C [G·N]), proj f32 [T, LDP] (raw Δ at DT_COL), params f32
// (dt_bias [H] at DTB_OFF, A_log [H] at A_OFF, D [H] at D_OFF), state f32 (ssm [H, P, N] at SSM_OFF,
// dtSum [H] at DTS_OFF), y f32 [T, H·P].
// The per-token step is include/m2_scan_token.wgsl's m2ScanToken, shared with m2_scan_seg.wgsl.
// Reference: ssdScan in src/engine/reference/mamba2.ts.
// Dispatch: (ceil(H·P / 64)).
#include "dims.wgsl"
#include "m2_scan_token.wgsl"

override A_OFF: u32;
override D_OFF: u32;
override SSM_OFF: u32;
override DTS_OFF: u32;

@group(0) @binding(0) var<uniform> dims: Dims;
@group(0) @binding(1) var<storage, read> xbc: array<f32>;
@group(0) @binding(2) var<storage, read> proj: array<f32>;
@group(0) @binding(3) var<storage, read> params: array<f32>;
@group(0) @binding(4) var<storage, read_write> state: array<f32>;
@group(0) @binding(5) var<storage, read_write> y: array<f32>;

// The state m2ScanToken updates.
fn ssmAt(i: u32) -> f32 {
  return state[i];
}

fn ssmSet(i: u32, v: f32) {
  state[i] = v;
}

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3u) {
  let row = gid.x;
  if (row >= H * P) {
    return;
  }
  let h = row / P;
  let a = -exp(params[A_OFF + h]);
  let d = params[D_OFF + h];
  let s0 = SSM_OFF + row * N;
  var dtSum = 0.0;
  for (var t = 0u; t < dims.T; t++) {
    dtSum += m2ScanToken(t, row, s0, a, d);
  }
  if (row % P == 0u) {
    state[DTS_OFF + h] += dtSum;
  }
}
