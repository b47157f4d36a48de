// Register-blocked GEMM for prefill without workgroup memory (the SwiftShader variant: workgroup barriers are
// what costs there, so each invocation reads its operands straight from storage and keeps a 4 x 4 block of
// outputs in registers): Y[t, COL0 + n] = sum_k X[t, k] * W[n, k] (+ bias[BIAS_OFF + n]).
// W is one row part of an nn.Linear weight [out, in], f32 bits or f16 packed two per u32.
// Shapes: X f32 [T, K], W [N, K], Y f32 [T, LDY].
// Reference: matVec in src/engine/reference/mamba.ts applied to every token.
// Dispatch: (ceil(ceil(N / 4) / 64), ceil(T / 4)).
struct Dims { T: u32, pos0: u32, pad0: u32, pad1: u32 }

override N: u32;
override K: u32;
override LDY: u32;
override COL0: u32;
override HAS_BIAS: bool;
override BIAS_OFF: u32;
override F16: bool;

@group(0) @binding(0) var<uniform> dims: Dims;
@group(0) @binding(1) var<storage, read> X: array<f32>;
@group(0) @binding(2) var<storage, read> W: array<u32>;
@group(0) @binding(3) var<storage, read> bias: array<f32>;
@group(0) @binding(4) var<storage, read_write> Y: array<f32>;

fn loadW(i: u32) -> f32 {
  if (F16) {
    let p = unpack2x16float(W[i >> 1u]);
    return select(p.x, p.y, (i & 1u) == 1u);
  }
  return bitcast<f32>(W[i]);
}

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) g: vec3u) {
  let T = dims.T;
  let n0 = g.x * 4u;
  let t0 = g.y * 4u;
  if (n0 >= N || t0 >= T) {
    return;
  }
  // Rows past the end are clamped to the last valid one (and not stored), so the loop has no branches.
  var nr: array<u32, 4>;
  var tr: array<u32, 4>;
  for (var i = 0u; i < 4u; i++) {
    nr[i] = min(n0 + i, N - 1u) * K;
    tr[i] = min(t0 + i, T - 1u) * K;
  }
  var acc: array<f32, 16>;
  for (var k = 0u; k < K; k++) {
    var a: array<f32, 4>;
    var b: array<f32, 4>;
    for (var i = 0u; i < 4u; i++) {
      a[i] = X[tr[i] + k];
      b[i] = loadW(nr[i] + k);
    }
    for (var i = 0u; i < 4u; i++) {
      for (var j = 0u; j < 4u; j++) {
        acc[i * 4u + j] += a[i] * b[j];
      }
    }
  }
  for (var i = 0u; i < 4u; i++) {
    let t = t0 + i;
    for (var j = 0u; j < 4u; j++) {
      let n = n0 + j;
      if (t < T && n < N) {
        var v = acc[i * 4u + j];
        if (HAS_BIAS) {
          v += bias[BIAS_OFF + n];
        }
        Y[t * LDY + COL0 + n] = v;
      }
    }
  }
}
