// int8 helpers for kernels that read their weights W as array<vec4u> with a Shape uniform `shape` (gemv,
// gemm_reg, gemv_fused): the word accessor include/int8.wgsl needs, and the scales of four rows at once.
// Nothing in the native-f16 twins (HALF), whose W is f16: int8 weights always take the u32 kernels.
#ifndef HALF
#include "int8.wgsl"

fn wordAt(i: u32) -> u32 {
  return W[i >> 2u][i & 3u];
}

// The scales of rows rn at input k.
fn i8Scale4(rn: vec4u, k: u32) -> vec4f {
  let N = shape.N;
  let K = shape.K;
  return vec4f(i8Scale(N, K, rn.x, k), i8Scale(N, K, rn.y, k), i8Scale(N, K, rn.z, k), i8Scale(N, K, rn.w, k));
}
#endif
