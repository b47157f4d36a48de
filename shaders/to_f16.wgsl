#variant to_f16
#variant to_f16_x2 SPLIT

// Activations to f16 for the subgroup-matrix GEMMs that read X as f16 (gemm_sgmm.wgsl's h and d variants):
//   Xh[t, k] = f16(X[t, k]) for t < T (from dims), 0 for T <= t < ROWS,
// so a GEMM that loads whole tiles of rows straight from storage reads zeros past T, not stale rows.
// to_f16_x2 (for gemm_sgmm's _x2 variants) also writes the rounding's remainder, X as the sum of two halves:
//   Xh[t, k] = hi = f16(X[t, k]),   Xh[ROWS + t, k] = lo = f16(X[t, k] − hi)
// The remainder is exact in f32, so hi + lo is X to about 2^-22 of its size (22 bits against f16's 11), and a
// GEMM that multiplies both by the f16 weights and sums in f32 gives the f32 GEMM's result to that accuracy.
// Why: X rounded to f16 alone moved greedy tokens off transformers' (bench/RESULTS.md, session 6). Values past
// f16's range (65,504) become inf, as in to_f16; activations here are normalised or gated, far below it.
// Shapes: X f32 [T, K], Xh f16 [ROWS, K] (to_f16_x2: [2·ROWS, K]) stored as pairs in u32 (pack2x16float; needs
// K even), ROWS >= T.
// Reference: f32ToF16 in src/model/safetensors.ts, tests/kernels.sgmm-emulated.test.ts.
// Dispatch: (min(ceil(ROWS * K / 2 / 256), 65535), ceil(.. / 65535), 1): one invocation per u32 word.
#include "dims.wgsl"
#include "f16_round.wgsl"

struct CvtShape { K: u32, ROWS: u32, pad0: u32, pad1: u32 }

@group(0) @binding(0) var<uniform> dims: Dims;
@group(0) @binding(1) var<storage, read> X: array<vec2f>;
@group(0) @binding(2) var<storage, read_write> Xh: array<u32>;
@group(0) @binding(3) var<uniform> cvt: CvtShape;

@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) g: vec3u, @builtin(num_workgroups) nw: vec3u) {
  let i = g.x + g.y * nw.x * 256u;
  let words = cvt.ROWS * cvt.K / 2u;
  if (i >= words) {
    return;
  }
  var v = vec2f(0.0);
  if ((2u * i) / cvt.K < dims.T) {
    v = X[i];
  }
#ifdef SPLIT
  // hi rounded in integer arithmetic (f16_round.wgsl says why), so the remainder is v's, not zero.
  let hi = vec2f(roundToF16(v.x), roundToF16(v.y));
  Xh[i] = pack2x16float(hi);
  Xh[words + i] = pack2x16float(v - hi);
#else
  Xh[i] = pack2x16float(v);
#endif
}
