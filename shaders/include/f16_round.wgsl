// f32 to the nearest f16 value (ties to even), kept as an f32, in integer arithmetic. Not an unpack of a pack:
// on NVIDIA the compiler may fold unpack2x16float(pack2x16float(v)) back to v (the f32-X emulated variants came
// out 2e-4 off on the H200, and to_f16_x2's remainder came out zero on the H100), and SwiftShader's
// quantizeToF16 does not round to nearest. Normal range: add half an f16 ulp (13 dropped bits) less one plus
// the kept lsb, then clear the dropped bits; below 2^-14 the f16 grid is 2^-24, where round() ties to even.
// Values past f16's range are not clamped (callers' values are far below 65,504).
// Reference: f32ToF16 in src/model/safetensors.ts.
fn roundToF16(v: f32) -> f32 {
  if (abs(v) < 6.103515625e-5) {
    return round(v * 16777216.0) / 16777216.0;
  }
  let b = bitcast<u32>(v);
  return bitcast<f32>((b + 0xfffu + ((b >> 13u) & 1u)) & 0xffffe000u);
}
