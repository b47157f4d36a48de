// The weight binding of the kernels that read W 16 bytes at a time (gemv, gemm_reg, gemv_fused): f32 bits, or f16
// packed two per u32, as array<vec4u>; in the native-f16 twins (HALF, `enable f16;`) the same bytes as
// array<vec4<f16>>. The including kernel declares F16 (an override, or `const F16 = true` in the twins).
#ifdef HALF
@group(0) @binding(2) var<storage, read> W: array<vec4<f16>>;
#else
@group(0) @binding(2) var<storage, read> W: array<vec4u>;
#endif

// Weight i of the row-major matrix, in either precision.
fn loadW(i: u32) -> f32 {
#ifdef HALF
  return f32(W[i >> 2u][i & 3u]);
#else
  if (F16) {
    let p = unpack2x16float(W[i >> 3u][(i >> 1u) & 3u]);
    return select(p.x, p.y, (i & 1u) == 1u);
  }
  return bitcast<f32>(W[i >> 2u][i & 3u]);
#endif
}

// f16 weights 8 i .. 8 i + 7 (one 16-byte group) as two vec4s.
fn oct(i: u32) -> array<vec4f, 2> {
#ifdef HALF
  return array<vec4f, 2>(vec4f(W[2u * i]), vec4f(W[2u * i + 1u]));
#else
  let w = W[i];
  return array<vec4f, 2>(
    vec4f(unpack2x16float(w.x), unpack2x16float(w.y)),
    vec4f(unpack2x16float(w.z), unpack2x16float(w.w)),
  );
#endif
}
