// Selective scan over a chunk of T tokens (the hardware-GPU variant): one invocation per (channel, state
// element), CPW channels per workgroup of DS * CPW <= 64 invocations, h in a register; the products for y
// gather in workgroup memory over blocks of TB = 16 tokens, then one invocation per (token, channel) sums them. Fused with dt_proj + softplus, D*x and the SiLU(z) gate:
//   dt = softplus(dtB[c] + sum_r dtW[c, r] * dbc[t, r]);  h[n] = exp(dt * A[c, n]) * h[n] + dt * B[t, n] * xc[t, c]
//   out[t, c] = (sum_n h[n] * C[t, n] + D[c] * xc[t, c]) * silu(z[t, c]);  dtSum[c] += dt
// Starts from the given state and writes the final state back.
// Shapes as scan.wgsl: dbc [T, R + 2*DS], xz [T, 2*DI], xc [T, DI], params (dtW, dtB, A, D at offsets),
// state (ssm [DI, DS] at 0, dtSum [DI] at DI*DS), out [T, DI]. DS * CPW <= 64.
// DT_PRE (prefill): dt comes precomputed from dt_proj.wgsl (binding 7, [T, DI]) instead of being computed here,
// and each whole block of TB tokens loads its inputs into registers before running the recurrence.
// Reference: mixerStep in src/engine/reference/mamba.ts.
// Dispatch: (ceil(DI / CPW)).
#include "dims.wgsl"

override DI: u32;
override DS: u32;
override R: u32;
override CPW: u32;
override DTW_OFF: u32;
override DTB_OFF: u32;
override A_OFF: u32;
override D_OFF: u32;
override DT_PRE: bool = false;

@group(0) @binding(0) var<uniform> dims: Dims;
@group(0) @binding(1) var<storage, read> dbc: array<f32>;
@group(0) @binding(2) var<storage, read> xz: array<f32>;
@group(0) @binding(3) var<storage, read> xc: array<f32>;
@group(0) @binding(4) var<storage, read> params: array<f32>;
@group(0) @binding(5) var<storage, read_write> state: array<f32>;
@group(0) @binding(6) var<storage, read_write> out: array<f32>;
@group(0) @binding(7) var<storage, read> dtIn: array<f32>;

// Products h[n] * C[t, n] of TB tokens, reduced once per TB tokens (2 barriers per TB tokens, not per token).
const TB = 16u;
var<workgroup> prod: array<f32, 1040>; // TB rows of (DS * CPW + 1), DS * CPW <= 64

@compute @workgroup_size(DS * CPW)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) li: u32) {
  let WG = DS * CPW;
  let n = li % DS;
  let cl = li / DS;
  let c = wid.x * CPW + cl;
  let isActive = c < DI;
  let cc = min(c, DI - 1u);
  let NDBC = R + 2u * DS;
  var h = 0.0;
  var a = 0.0;
  if (isActive) {
    h = state[cc * DS + n];
  }
  a = params[A_OFF + cc * DS + n];
  var dtSum = state[DI * DS + cc];
  let dtb = params[DTB_OFF + cc];
  let T = dims.T;
  for (var t0 = 0u; t0 < T; t0 += TB) {
    let nb = min(TB, T - t0);
    if (DT_PRE && nb == TB) {
      // Prefill, whole block: the block's inputs are loaded first (independent loads in flight together),
      // so the recurrence below waits on memory once per TB tokens instead of once per token.
      var dtv: array<f32, TB>;
      var xv: array<f32, TB>;
      var bv: array<f32, TB>;
      var cv: array<f32, TB>;
      for (var j = 0u; j < TB; j++) {
        let t = t0 + j;
        let row = t * NDBC;
        dtv[j] = dtIn[t * DI + cc];
        xv[j] = xc[t * DI + cc];
        bv[j] = dbc[row + R + n];
        cv[j] = dbc[row + R + DS + n];
      }
      for (var j = 0u; j < TB; j++) {
        let dt = dtv[j];
        dtSum += dt;
        h = exp(dt * a) * h + dt * xv[j] * bv[j];
        prod[j * (WG + 1u) + li] = h * cv[j];
      }
    }
    for (var j = 0u; j < select(nb, 0u, DT_PRE && nb == TB); j++) {
      let t = t0 + j;
      let row = t * NDBC;
      var dt = 0.0;
      if (DT_PRE) {
        dt = dtIn[t * DI + cc];
      } else {
        var dtr = dtb;
        for (var r = 0u; r < R; r++) {
          dtr += params[DTW_OFF + cc * R + r] * dbc[row + r];
        }
        dt = select(log(1.0 + exp(dtr)), dtr, dtr > 20.0);
      }
      dtSum += dt;
      let x = xc[t * DI + cc];
      h = exp(dt * a) * h + dt * x * dbc[row + R + n];
      // Token j's products in row j (stride WG + 1, so the readers below hit different banks).
      prod[j * (WG + 1u) + li] = h * dbc[row + R + DS + n];
    }
    workgroupBarrier();
    // Pairs (token j, channel): consecutive invocations take consecutive tokens of one channel.
    for (var p = li; p < TB * CPW; p += WG) {
      let j = p % TB;
      let c2 = wid.x * CPW + p / TB;
      if (j < nb && c2 < DI) {
        let t = t0 + j;
        var y = 0.0;
        let base = j * (WG + 1u) + (p / TB) * DS;
        for (var m = 0u; m < DS; m++) {
          y += prod[base + m];
        }
        let x = xc[t * DI + c2];
        let z = xz[t * 2u * DI + DI + c2];
        out[t * DI + c2] = (y + params[D_OFF + c2] * x) * (z / (1.0 + exp(-z)));
      }
    }
    workgroupBarrier();
  }
  if (isActive) {
    state[cc * DS + n] = h;
    if (n == 0u) {
      state[DI * DS + cc] = dtSum;
    }
  }
}
