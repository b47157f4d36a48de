// Fills one row part of a weight matrix with uniform random values in [−BOUND, BOUND) from a counter-based hash,
// so benchmark models of the real sizes (up to 2.8 B weights) are made on the GPU instead of in JS.
// Element e of the whole matrix (row-major, e = row·cols + col) gets
//   h = lowbias32(e + key);  w = f32(h >> 8) · 2^−23 − 1  (exact, in [−1, 1));  value = w · bound
// which the host reproduces exactly (hashUniform in src/engine/randomWeights.ts): the test oracle.
// Shapes: out u32 [words] of one part (f32 bits, or f16 packed two per word, low half first, as
// src/engine/gpu/weightMatrix.ts packs); the part starts at element `base` of the matrix and holds `count`
// elements (the last word of an odd f16 part has 0 in its high half). With i8 != 0 (int8 matrices, cols a
// multiple of 4 so rows fill whole words) word i holds elements 4i .. 4i + 3 as round(value / s) clamped to
// [-127, 127], s = bound / 127 (no element exceeds the bound); the host writes the scales s after the words
// (src/engine/gpu/int8.ts's layout).
// Dispatch: (min(groups, 65535), ceil(groups / 65535)) with groups = ceil(words / 256).

struct Params {
  base: u32,
  count: u32,
  words: u32,
  key: u32,
  bound: f32,
  f16: u32,
  row_stride: u32,
  i8: u32,
}

@group(0) @binding(0) var<uniform> P: Params;
@group(0) @binding(1) var<storage, read_write> out: array<u32>;

fn lowbias32(x: u32) -> u32 {
  var h = x;
  h ^= h >> 16u;
  h *= 0x7feb352du;
  h ^= h >> 15u;
  h *= 0x846ca68bu;
  h ^= h >> 16u;
  return h;
}

fn value(e: u32) -> f32 {
  let h = lowbias32(P.base + e + P.key);
  let w = f32(h >> 8u) * (1.0 / 8388608.0) - 1.0;
  return w * P.bound;
}

@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) g: vec3u) {
  let i = g.y * P.row_stride + g.x;
  if (i >= P.words) {
    return;
  }
  if (P.i8 != 0u) {
    let s = P.bound / 127.0;
    var w = 0u;
    for (var j = 0u; j < 4u; j++) {
      let q = i32(clamp(round(value(4u * i + j) / s), -127.0, 127.0));
      w |= (bitcast<u32>(q) & 0xffu) << (8u * j);
    }
    out[i] = w;
    return;
  }
  if (P.f16 == 0u) {
    out[i] = bitcast<u32>(value(i));
    return;
  }
  let e = 2u * i;
  let lo = value(e);
  let hi = select(0.0, value(e + 1u), e + 1u < P.count);
  out[i] = pack2x16float(vec2f(lo, hi));
}
