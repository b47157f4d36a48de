// Split-K epilogue of gemm_tiled.wgsl: Y[t, COL0 + n] = sum_z P[z, t, n] (+ bias[BIAS_OFF + n]) for t < T
// (from dims), n < N, z < splitCount(T), the same count (and TM/TN overrides) as the GEMM it follows.
// Shapes: P f32 [SPLIT, T, N], Y f32 [T, LDY]. Shape uniform as gemm_tiled.wgsl.
// Reference: matVec in src/engine/reference/mamba.ts (the sums of gemm_tiled.wgsl's partial K ranges).
// Dispatch: (ceil(N / 64), T), only when splitCount(T) > 1.
#include "dims.wgsl"

override TM: u32 = 4u;
override TN: u32 = 4u;

#include "split_count.wgsl"
@group(0) @binding(5) var<uniform> shape: Shape;

@group(0) @binding(0) var<uniform> dims: Dims;
@group(0) @binding(3) var<storage, read> bias: array<f32>;
@group(0) @binding(4) var<storage, read_write> Y: array<f32>;
@group(0) @binding(6) var<storage, read_write> P: array<f32>;

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
