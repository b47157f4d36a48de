// Subgroup-matrix types and arithmetic shared by the kernels on tensor cores (gemm_sgmm,
// m2_ssd_chunk_state_sgmm, m2_ssd_chunk_scan_sgmm): 16 x 16 f16 left matrices, 16 x SN f16 right matrices and
// f32 results (the includer defines SN, 16 or 8), Half (the operand type), toH (f32 to Half), half2 (a packed pair of
// halves), zero and mma (c + a · b). The includer puts `enable f16; enable subgroups; enable
// chromium_experimental_subgroup_matrix;` first unless EMULATE.
// EMULATE (tests only; SwiftShader has neither subgroup matrices nor f16): every lane holds each matrix whole as
// f32 arrays and multiplies them itself; operands are rounded to f16 where the real kernel converts, unless
// EXACT too, which keeps them f32 so a test can check a kernel's index arithmetic against float64 at f32
// tolerance. The loads and stores are the includer's (they name its arrays): the layouts are
// Left [m * 16 + k], Right [k * SN + n], Acc [m * SN + n].
#ifdef EMULATE
alias Half = f32;
alias Left = array<f32, 256>;
alias Right = array<f32, 16 * SN>;
alias Acc = array<f32, 16 * SN>;
#include "f16_round.wgsl"
fn toH(v: f32) -> Half {
#ifdef EXACT
  return v;
#else
  return roundToF16(v);
#endif
}
fn half2(w: u32) -> vec2<Half> {
  return unpack2x16float(w);
}
fn zero() -> Acc {
  return Acc();
}
fn mma(a: Left, b: Right, c: Acc) -> Acc {
  var r = c;
  for (var m = 0u; m < 16u; m++) {
    for (var n = 0u; n < SN; n++) {
      var s = r[m * SN + n];
      for (var k = 0u; k < 16u; k++) {
        s += a[m * 16u + k] * b[k * SN + n];
      }
      r[m * SN + n] = s;
    }
  }
  return r;
}
#else
alias Half = f16;
// This Dawn's order: subgroup_matrix_left<T, K, M>, _right<T, N, K>, _result<T, N, M> (columns first).
alias Left = subgroup_matrix_left<f16, 16, 16>;
alias Right = subgroup_matrix_right<f16, SN, 16>;
alias Acc = subgroup_matrix_result<f32, SN, 16>;
fn toH(v: f32) -> Half {
  return f16(v);
}
fn half2(w: u32) -> vec2<Half> {
  return bitcast<vec2<f16>>(w);
}
fn zero() -> Acc {
  return Acc();
}
fn mma(a: Left, b: Right, c: Acc) -> Acc {
  return subgroupMatrixMultiplyAccumulate(a, b, c);
}
#endif
