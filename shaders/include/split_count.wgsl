#include "shape.wgsl"

// Split-K workgroups along z of gemm_tiled for T tokens: enough BM x BN tiles (BM = 16 TM, BN = 16 TN) to reach
// SPLIT_TARGET workgroups, at most MAX_SPLIT (1 disables split-K). gemm_splitk_reduce must use the same count
// as the GEMM it follows, hence this one function; splitCount() in src/engine/model.ts is its host twin.
fn splitCount(T: u32) -> u32 {
  if (shape.MAX_SPLIT <= 1u) {
    return 1u;
  }
  let tiles = ((T + 16u * TM - 1u) / (16u * TM)) * ((shape.N + 16u * TN - 1u) / (16u * TN));
  return clamp((shape.SPLIT_TARGET + tiles - 1u) / tiles, 1u, shape.MAX_SPLIT);
}
