// int8 weights (dtype 'int8'; src/engine/gpu/int8.ts quantises and packs them). A row part of N rows and K
// inputs is one buffer of u32 words: N rows of ceil(K / 4) words, four int8 per word (input 4w + j in byte j,
// two's complement), then the f32 bits of N x i8Groups(K) scales, row-major. Weight (n, k) is
// q(n, k) * scale(n, k / GS), GS the inputs per scale along K (a multiple of 16), or 0: one scale per row.
// The kernel that includes this defines wordAt(i), the i-th u32 word of its weight binding.
// Reference: dequantizeInt8 in src/engine/gpu/int8.ts (the kernels' products then match matVec on its output).
override I8: bool = false;
override GS: u32 = 0u;

fn i8RowWords(K: u32) -> u32 {
  return (K + 3u) / 4u;
}

fn i8Groups(K: u32) -> u32 {
  return select((K + GS - 1u) / max(GS, 1u), 1u, GS == 0u);
}

// The four int8 of a word as f32, byte 0 first: each byte shifted to the top, then arithmetic-shifted down
// (sign extension; what unpack4xI8 does where the language feature exists, written out so every adapter runs it).
fn i8Unpack(w: u32) -> vec4f {
  return vec4f(bitcast<vec4i>(vec4u(w) << vec4u(24u, 16u, 8u, 0u)) >> vec4u(24u));
}

// The scale of weight (n, k) in a part of N rows.
fn i8Scale(N: u32, K: u32, n: u32, k: u32) -> f32 {
  let g = select(k / max(GS, 1u), 0u, GS == 0u);
  return bitcast<f32>(wordAt(N * i8RowWords(K) + n * i8Groups(K) + g));
}

// The int8 value of weight (n, k), not yet scaled.
fn i8Q(K: u32, n: u32, k: u32) -> f32 {
  let w = wordAt(n * i8RowWords(K) + (k >> 2u));
  return f32(bitcast<i32>(w << (24u - 8u * (k & 3u))) >> 24u);
}

// Weight (n, k), dequantised.
fn i8At(N: u32, K: u32, n: u32, k: u32) -> f32 {
  return i8Q(K, n, k) * i8Scale(N, K, n, k);
}
