// Fills one row part of a weight matrix with uniform random values in [−BOUND, BOUND) from a counter-based hash,
// so benchmark models of the real sizes (up to 2.8 B weights) are made on the GPU instead of in JS.
// Element e of the whole matrix (row-major, e = row·cols + col) gets
//   h = lowbias32(e + key);  w = f32(h >> 8) · 2^−23 − 1  (exact, in [−1, 1));  value = w · bound
// which the host reproduces exactly (hashUniform in src/engine/randomWeights.ts): the test oracle.
// Shapes: out u32 [words] of one part (f32 bits, or f16 packed two per word, low half first, as
// src/engine/gpu/weightMatrix.ts packs); the part starts at element `base` of the matrix and holds `count`
// elements (the last word of an odd f16 part has 0 in its high half).
// Dispatch: (min(groups, 65535), ceil(groups / 65535)) with groups = ceil(words / 256).

struct Params {
  base: u32,
  count: u32,
  words: u32,
  key: u32,
  bound: f32,
  f16: u32,
  row_stride: u32,
  pad: u32,
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
  if (P.f16 == 0u) {
    out[i] = bitcast<u32>(value(i));
    return;
  }
  let e = 2u * i;
  let lo = value(e);
  let hi = select(0.0, value(e + 1u), e + 1u < P.count);
  out[i] = pack2x16float(vec2f(lo, hi));
}
