// GEMV for decode, one invocation per output row (the SwiftShader variant: no workgroup barriers, which are
// costly on a CPU rasteriser): y[COL0 + n] = sum_k x[k] * W[n, k] (+ bias[BIAS_OFF + n]) for n < N.
// W is one row part of an nn.Linear weight [out, in], f32 bits or f16 packed two per u32.
// Shapes: x f32 [K] (token row 0), W [N, K], y f32 [>= COL0 + N].
// Reference: matVec in src/engine/reference/mamba.ts.
// Rows are read 4 (f32) or 8 (f16) weights per 16-byte load where K allows: SwiftShader runs each
// invocation's loads as gathers, so fewer, wider loads are what makes it fast there.
// Dispatch: (ceil(N / 64)).
override F16: bool;

// Per row part, so every part of every matrix of one dtype shares one pipeline.
struct Shape { N: u32, K: u32, LDY: u32, COL0: u32, BIAS_OFF: u32, HAS_BIAS: u32, pad0: u32, pad1: u32 }
@group(0) @binding(5) var<uniform> shape: Shape;

@group(0) @binding(1) var<storage, read> X: array<vec4f>;
@group(0) @binding(2) var<storage, read> W: array<vec4u>;
@group(0) @binding(3) var<storage, read> bias: array<f32>;
@group(0) @binding(4) var<storage, read_write> Y: array<f32>;

fn xAt(k: u32) -> f32 {
  return X[k >> 2u][k & 3u];
}

fn loadW(i: u32) -> f32 {
  if (F16) {
    let p = unpack2x16float(W[i >> 3u][(i >> 1u) & 3u]);
    return select(p.x, p.y, (i & 1u) == 1u);
  }
  return bitcast<f32>(W[i >> 2u][i & 3u]);
}

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) g: vec3u) {
  let n = g.x;
  let K = shape.K;
  if (n >= shape.N) {
    return;
  }
  var acc = 0.0;
  let row = n * K;
  if (F16 && (K & 7u) == 0u) {
    let base = row >> 3u;
    for (var j = 0u; j < (K >> 3u); j++) {
      let w = W[base + j];
      let lo = vec4f(unpack2x16float(w.x), unpack2x16float(w.y));
      let hi = vec4f(unpack2x16float(w.z), unpack2x16float(w.w));
      acc += dot(lo, X[2u * j]) + dot(hi, X[2u * j + 1u]);
    }
  } else if (!F16 && (K & 3u) == 0u) {
    let base = row >> 2u;
    for (var j = 0u; j < (K >> 2u); j++) {
      acc += dot(bitcast<vec4f>(W[base + j]), X[j]);
    }
  } else {
    for (var k = 0u; k < K; k++) {
      acc += loadW(row + k) * xAt(k);
    }
  }
  if (shape.HAS_BIAS != 0u) {
    acc += bias[shape.BIAS_OFF + n];
  }
  Y[shape.COL0 + n] = acc;
}
