// GEMV for decode, one invocation per output row (the SwiftShader variant: no workgroup barriers, which are
// costly on a CPU rasteriser): y[COL0 + n] = sum_k x[k] * W[n, k] (+ bias[BIAS_OFF + n]) for n < N.
// W is one row part of an nn.Linear weight [out, in], f32 bits or f16 packed two per u32.
// Shapes: x f32 [K] (token row 0), W [N, K], y f32 [>= COL0 + N].
// Reference: matVec in src/engine/reference/mamba.ts.
// Dispatch: (ceil(N / 64)).
override F16: bool;

// Per row part, so every part of every matrix of one dtype shares one pipeline.
struct Shape { N: u32, K: u32, LDY: u32, COL0: u32, BIAS_OFF: u32, HAS_BIAS: u32, pad0: u32, pad1: u32 }
@group(0) @binding(5) var<uniform> shape: Shape;

@group(0) @binding(1) var<storage, read> X: array<f32>;
@group(0) @binding(2) var<storage, read> W: array<u32>;
@group(0) @binding(3) var<storage, read> bias: array<f32>;
@group(0) @binding(4) var<storage, read_write> Y: array<f32>;

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) g: vec3u) {
  let n = g.x;
  if (n >= shape.N) {
    return;
  }
  var acc = 0.0;
  let row = n * shape.K;
  if (F16 && (shape.K & 1u) == 0u) {
    // Rows start on a word boundary: read two weights per load.
    let w0 = row >> 1u;
    for (var k = 0u; k < shape.K; k += 2u) {
      let p = unpack2x16float(W[w0 + (k >> 1u)]);
      acc += p.x * X[k] + p.y * X[k + 1u];
    }
  } else if (F16) {
    for (var k = 0u; k < shape.K; k++) {
      let i = row + k;
      let p = unpack2x16float(W[i >> 1u]);
      acc += select(p.x, p.y, (i & 1u) == 1u) * X[k];
    }
  } else {
    for (var k = 0u; k < shape.K; k++) {
      acc += bitcast<f32>(W[row + k]) * X[k];
    }
  }
  if (shape.HAS_BIAS != 0u) {
    acc += bias[shape.BIAS_OFF + n];
  }
  Y[shape.COL0 + n] = acc;
}
