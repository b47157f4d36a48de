// dt_proj + softplus for a prefill chunk, ahead of the scan (hardware variant), so the sequential loop of
// scan_coop.wgsl no longer spends R multiply-adds per token in every one of its DS invocations per channel:
//   dt[t, c] = softplus(dtB[c] + sum_r dtW[c, r] * dbc[t, r])   (softplus(v) = v above 20, as the scan does)
// Shapes: dbc f32 [T, R + 2*DS], params f32 (dtW [DI, R] at DTW_OFF, dtB [DI] at DTB_OFF), dt f32 [T, DI].
// Reference: the dt part of mixerStep in src/engine/reference/mamba.ts.
// Dispatch: (ceil(DI / 64), T).
struct Dims { T: u32, pos0: u32, pad0: u32, pad1: u32 }

override DI: u32;
override DS: u32;
override R: u32;
override DTW_OFF: u32;
override DTB_OFF: u32;

@group(0) @binding(0) var<uniform> dims: Dims;
@group(0) @binding(1) var<storage, read> dbc: array<f32>;
@group(0) @binding(2) var<storage, read> params: array<f32>;
@group(0) @binding(3) var<storage, read_write> dt: array<f32>;

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) g: vec3u) {
  let c = g.x;
  let t = g.y;
  if (c >= DI || t >= dims.T) {
    return;
  }
  let row = t * (R + 2u * DS);
  var v = params[DTB_OFF + c];
  for (var r = 0u; r < R; r++) {
    v += params[DTW_OFF + c * R + r] * dbc[row + r];
  }
  dt[t * DI + c] = select(log(1.0 + exp(v)), v, v > 20.0);
}
