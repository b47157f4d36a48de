// Tiled GEMM for prefill through workgroup memory: Y[t, COL0 + n] = sum_k X[t, k] * W[n, k] (+ bias[BIAS_OFF + n])
// for t < T (from dims), n < N. W is one row part of an nn.Linear weight [out, in] (rows COL0 .. COL0+N),
// stored as f32 bits or as f16 packed two per u32 (element i in half i & 1 of word i >> 1).
// Shapes: X f32 [T, K], W [N, K], Y f32 [T, LDY]. Tiles of 64 tokens x 64 outputs, 16 k per step; each of
// the 16x16 invocations accumulates a 4x4 block in registers (fewer barriers per multiply-add, which
// matters on SwiftShader).
// Reference: matVec in src/engine/reference/mamba.ts applied to every token.
// Dispatch: (ceil(N / 64), ceil(T / 64)).
struct Dims { T: u32, pos0: u32, pad0: u32, pad1: u32 }

override F16: bool;

// Per row part, so every part of every matrix of one dtype shares one pipeline.
struct Shape { N: u32, K: u32, LDY: u32, COL0: u32, BIAS_OFF: u32, HAS_BIAS: u32, pad0: u32, pad1: u32 }
@group(0) @binding(5) var<uniform> shape: Shape;

@group(0) @binding(0) var<uniform> dims: Dims;
@group(0) @binding(1) var<storage, read> X: array<f32>;
@group(0) @binding(2) var<storage, read> W: array<u32>;
@group(0) @binding(3) var<storage, read> bias: array<f32>;
@group(0) @binding(4) var<storage, read_write> Y: array<f32>;

var<workgroup> xs: array<f32, 1024>; // [64 tokens][16 k]
var<workgroup> ws: array<f32, 1024>; // [64 outputs][16 k]

fn loadW(i: u32) -> f32 {
  if (F16) {
    let p = unpack2x16float(W[i >> 1u]);
    return select(p.x, p.y, (i & 1u) == 1u);
  }
  return bitcast<f32>(W[i]);
}

@compute @workgroup_size(16, 16)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_id) lid: vec3u,
        @builtin(local_invocation_index) li: u32) {
  let T = dims.T;
  let t0 = wid.y * 64u;
  let n0 = wid.x * 64u;
  var acc: array<f32, 16>;
  for (var k0 = 0u; k0 < shape.K; k0 += 16u) {
    for (var j = 0u; j < 4u; j++) {
      let e = li + j * 256u;
      let r = e >> 4u;
      let k = k0 + (e & 15u);
      var xv = 0.0;
      if (t0 + r < T && k < shape.K) {
        xv = X[(t0 + r) * shape.K + k];
      }
      xs[e] = xv;
      var wv = 0.0;
      if (n0 + r < shape.N && k < shape.K) {
        wv = loadW((n0 + r) * shape.K + k);
      }
      ws[e] = wv;
    }
    workgroupBarrier();
    for (var kk = 0u; kk < 16u; kk++) {
      var a: array<f32, 4>;
      var b: array<f32, 4>;
      for (var i = 0u; i < 4u; i++) {
        a[i] = xs[(lid.y + 16u * i) * 16u + kk];
        b[i] = ws[(lid.x + 16u * i) * 16u + kk];
      }
      for (var i = 0u; i < 4u; i++) {
        for (var j = 0u; j < 4u; j++) {
          acc[i * 4u + j] += a[i] * b[j];
        }
      }
    }
    workgroupBarrier();
  }
  for (var i = 0u; i < 4u; i++) {
    let t = t0 + lid.y + 16u * i;
    for (var j = 0u; j < 4u; j++) {
      let n = n0 + lid.x + 16u * j;
      if (t < T && n < shape.N) {
        var v = acc[i * 4u + j];
        if (shape.HAS_BIAS != 0u) {
          v += bias[shape.BIAS_OFF + n];
        }
        Y[t * shape.LDY + shape.COL0 + n] = v;
      }
    }
  }
}
