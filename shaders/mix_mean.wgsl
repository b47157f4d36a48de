// mix_mean: one source's share of the mean s_0 + Σ_{i>0} (s_i − s_0)·c with c = f32(1/K); acc starts as a
// copy of s_0 and this kernel runs once per source i > 0. Zero differences are skipped, so the mean of
// copies of one state is that state bit for bit.
// Shapes: acc, src, base f32 [n] (any buffer of a GpuState, src/engine/api.ts).
// Matches meanCombine in src/engine/states/cpuMix.ts.

struct Params {
  total: u32,
  rowStride: u32,
  scale: f32,
  _pad: u32,
}

@group(0) @binding(0) var<storage, read_write> acc: array<f32>;
@group(0) @binding(1) var<storage, read> src: array<f32>;
@group(0) @binding(2) var<storage, read> base: array<f32>;
@group(0) @binding(3) var<uniform> params: Params;

@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let i = gid.y * params.rowStride + gid.x;
  if (i >= params.total) {
    return;
  }
  let d = src[i] - base[i];
  if (d != 0.0) {
    let term = d * params.scale;
    acc[i] = acc[i] + term;
  }
}
