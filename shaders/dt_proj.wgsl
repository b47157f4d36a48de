// dt_proj + softplus for a prefill chunk, ahead of the scan (hardware variant), so the sequential loop of
// scan_coop.wgsl no longer spends R multiply-adds per token in every one of its DS invocations per channel:
//   dt[t, c] = softplus(dtB[c] + sum_r dtW[c, r] * dbc[t, r])   (softplus(v) = v above 20, as the scan does)
// A tiled GEMM (T x R by R x DI): tiles of 64 tokens x 64 channels, 16 r per step, staged in
// workgroup memory with coalesced loads (one invocation per (channel, token) read its weight row R floats
// away from its neighbour's: 0.49 TFLOP/s on the H200); each of the 16x16 invocations keeps a 4x4 block.
// Shapes: dbc f32 [T, R + 2*DS], params f32 (dtW [DI, R] at DTW_OFF, dtB [DI] at DTB_OFF), dt f32 [T, DI].
// Reference: the dt part of mixerStep in src/engine/reference/mamba.ts.
// Dispatch: (ceil(DI / 64), ceil(T / 64)).
#include "dims.wgsl"

override DI: u32;
override DS: u32;
override R: u32;
override DTW_OFF: u32;
override DTB_OFF: u32;

@group(0) @binding(0) var<uniform> dims: Dims;
@group(0) @binding(1) var<storage, read> dbc: array<f32>;
@group(0) @binding(2) var<storage, read> params: array<f32>;
@group(0) @binding(3) var<storage, read_write> dt: array<f32>;

var<workgroup> xs: array<f32, 1024>; // [64 tokens][16 r]
var<workgroup> ws: array<f32, 1024>; // [64 channels][16 r]

@compute @workgroup_size(16, 16)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_id) lid: vec3u,
        @builtin(local_invocation_index) li: u32) {
  let T = dims.T;
  let ldx = R + 2u * DS;
  let t0 = wid.y * 64u;
  let c0 = wid.x * 64u;
  var acc: array<f32, 16>;
  for (var r0 = 0u; r0 < R; r0 += 16u) {
    for (var j = 0u; j < 4u; j++) {
      let e = li + j * 256u;
      let row = e >> 4u;
      let r = r0 + (e & 15u);
      var xv = 0.0;
      if (t0 + row < T && r < R) {
        xv = dbc[(t0 + row) * ldx + r];
      }
      xs[e] = xv;
      var wv = 0.0;
      if (c0 + row < DI && r < R) {
        wv = params[DTW_OFF + (c0 + row) * R + r];
      }
      ws[e] = wv;
    }
    workgroupBarrier();
    for (var kk = 0u; kk < 16u; kk++) {
      var a: array<f32, 4>;
      var b: array<f32, 4>;
      for (var i = 0u; i < 4u; i++) {
        a[i] = xs[(lid.y + 16u * i) * 16u + kk];
        b[i] = ws[(lid.x + 16u * i) * 16u + kk];
      }
      for (var i = 0u; i < 4u; i++) {
        for (var j = 0u; j < 4u; j++) {
          acc[i * 4u + j] += a[i] * b[j];
        }
      }
    }
    workgroupBarrier();
  }
  for (var i = 0u; i < 4u; i++) {
    let t = t0 + lid.y + 16u * i;
    for (var j = 0u; j < 4u; j++) {
      let c = c0 + lid.x + 16u * j;
      if (t < T && c < DI) {
        let v = params[DTB_OFF + c] + acc[i * 4u + j];
        dt[t * DI + c] = select(log(1.0 + exp(v)), v, v > 20.0);
      }
    }
  }
}
