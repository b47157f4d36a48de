// Split-K epilogue of gemm_tiled.wgsl: Y[t, COL0 + n] = sum_z P[z, t, n] (+ bias[BIAS_OFF + n]) for t < T
// (from dims), n < N, z < splitCount(T), the same count (and TM/TN overrides) as the GEMM it follows.
// Shapes: P f32 [SPLIT, T, N], Y f32 [T, LDY]. Shape uniform as gemm_tiled.wgsl.
// Reference: matVec in src/engine/reference/mamba.ts (the sums of gemm_tiled.wgsl's partial K ranges).
// Dispatch: (ceil(N / 64), T), only when splitCount(T) > 1.
struct Dims { T: u32, pos0: u32, pad0: u32, pad1: u32 }

override TM: u32 = 4u;
override TN: u32 = 4u;

struct Shape { N: u32, K: u32, LDY: u32, COL0: u32, BIAS_OFF: u32, HAS_BIAS: u32, SPLIT_TARGET: u32, MAX_SPLIT: u32 }
@group(0) @binding(5) var<uniform> shape: Shape;

@group(0) @binding(0) var<uniform> dims: Dims;
@group(0) @binding(3) var<storage, read> bias: array<f32>;
@group(0) @binding(4) var<storage, read_write> Y: array<f32>;
@group(0) @binding(6) var<storage, read_write> P: array<f32>;

fn splitCount(T: u32) -> u32 {
  if (shape.MAX_SPLIT <= 1u) {
    return 1u;
  }
  let tiles = ((T + 16u * TM - 1u) / (16u * TM)) * ((shape.N + 16u * TN - 1u) / (16u * TN));
  return clamp((shape.SPLIT_TARGET + tiles - 1u) / tiles, 1u, shape.MAX_SPLIT);
}

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) g: vec3u) {
  let T = dims.T;
  let N = shape.N;
  let n = g.x;
  let t = g.y;
  if (n >= N || t >= T) {
    return;
  }
  let split = splitCount(T);
  var y = 0.0;
  for (var z = 0u; z < split; z++) {
    y += P[(z * T + t) * N + n];
  }
  if (shape.HAS_BIAS != 0u) {
    y += bias[shape.BIAS_OFF + n];
  }
  Y[t * shape.LDY + shape.COL0 + n] = y;
}
