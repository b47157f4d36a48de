// mix_linear: one term of a per-layer weighted sum over a state tensor, acc ← w[l]·src (assign) or
// acc ← acc + w[l]·src (accumulate), skipped where w[l] is 0. Dispatched once per source.
// Shapes: acc, src f32 [layers, perLayer] (an SSM [layers, d_inner, d_state], conv [layers, d_inner, d_conv-1]
// or Σ Δ [layers, d_inner] buffer of a GpuState, src/engine/api.ts); ops [layers] of (op, weight).
// Matches linearCombine in src/engine/states/cpuMix.ts: the product is taken first and added second, so
// 1·x assigned is x bit for bit.

struct Params {
  perLayer: u32,
  total: u32,
  // Elements per row of the 2-D dispatch grid (workgroups in x · 256).
  rowStride: u32,
  _pad: u32,
}

struct LayerOp {
  op: u32, // 0 skip, 1 assign, 2 accumulate
  weight: f32,
}

@group(0) @binding(0) var<storage, read_write> acc: array<f32>;
@group(0) @binding(1) var<storage, read> src: array<f32>;
@group(0) @binding(2) var<storage, read> ops: array<LayerOp>;
@group(0) @binding(3) var<uniform> params: Params;

@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let i = gid.y * params.rowStride + gid.x;
  if (i >= params.total) {
    return;
  }
  let lop = ops[i / params.perLayer];
  if (lop.op == 1u) {
    acc[i] = lop.weight * src[i];
  } else if (lop.op == 2u) {
    let term = lop.weight * src[i];
    acc[i] = acc[i] + term;
  }
}
