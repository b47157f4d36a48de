// One row part of a weight matrix for the GEMM / GEMV kernels (one uniform per part, so every part of every
// matrix of one dtype shares one pipeline): N rows of this part, K inputs, Y's row stride LDY, the first output
// column COL0, the bias at BIAS_OFF when HAS_BIAS != 0. SPLIT_TARGET and MAX_SPLIT are read by the split-K
// kernels only (gemm_tiled, gemm_splitk_reduce; split_count.wgsl) and are 0 elsewhere.
struct Shape { N: u32, K: u32, LDY: u32, COL0: u32, BIAS_OFF: u32, HAS_BIAS: u32, SPLIT_TARGET: u32, MAX_SPLIT: u32 }
