// Activations to f16 for the subgroup-matrix GEMMs that read X as f16 (gemm_sgmm.wgsl's h and d variants):
//   Xh[t, k] = f16(X[t, k]) for t < T (from dims), 0 for T <= t < ROWS,
// so a GEMM that loads whole tiles of rows straight from storage reads zeros past T, not stale rows.
// Shapes: X f32 [T, K], Xh f16 [ROWS, K] stored as pairs in u32 (pack2x16float; needs K even), ROWS >= T.
// Reference: Math.fround-free f16 rounding (f32ToF16 in src/model/safetensors.ts), tests/kernels.sgmm-emulated.test.ts.
// Dispatch: (min(ceil(ROWS * K / 2 / 256), 65535), ceil(.. / 65535), 1): one invocation per u32 word.
#include "dims.wgsl"

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
  Xh[i] = pack2x16float(v);
}
