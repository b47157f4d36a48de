// Register-blocked GEMM for prefill without workgroup memory (the SwiftShader variant: workgroup barriers are
// what costs there, so each invocation reads its operands straight from storage and keeps a 4 x 4 block of
// outputs in registers): Y[t, COL0 + n] = sum_k X[t, k] * W[n, k] (+ bias[BIAS_OFF + n]).
// W is one row part of an nn.Linear weight [out, in], f32 bits or f16 packed two per u32.
// Shapes: X f32 [T, K], W [N, K], Y f32 [T, LDY].
// Reference: matVec in src/engine/reference/mamba.ts applied to every token.
// Dispatch: (ceil(ceil(N / 4) / 64), ceil(T / 4)).
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
  if (n0 >= shape.N || t0 >= T) {
    return;
  }
  // Rows past the end are clamped to the last valid one (and not stored), so the loop has no branches.
  // vec4 registers rather than small arrays: SwiftShader keeps dynamically indexed arrays in memory.
  let nr = min(vec4u(n0) + vec4u(0u, 1u, 2u, 3u), vec4u(shape.N - 1u)) * shape.K;
  let tr = min(vec4u(t0) + vec4u(0u, 1u, 2u, 3u), vec4u(T - 1u)) * shape.K;
  var acc0 = vec4f(0.0);
  var acc1 = vec4f(0.0);
  var acc2 = vec4f(0.0);
  var acc3 = vec4f(0.0);
  for (var k = 0u; k < shape.K; k++) {
    let b = vec4f(loadW(nr.x + k), loadW(nr.y + k), loadW(nr.z + k), loadW(nr.w + k));
    acc0 += X[tr.x + k] * b;
    acc1 += X[tr.y + k] * b;
    acc2 += X[tr.z + k] * b;
    acc3 += X[tr.w + k] * b;
  }
  var bias4 = vec4f(0.0);
  if (shape.HAS_BIAS != 0u) {
    for (var j = 0u; j < 4u; j++) {
      bias4[j] = bias[shape.BIAS_OFF + min(n0 + j, shape.N - 1u)];
    }
  }
  store(t0, n0, acc0 + bias4);
  store(t0 + 1u, n0, acc1 + bias4);
  store(t0 + 2u, n0, acc2 + bias4);
  store(t0 + 3u, n0, acc3 + bias4);
}

fn store(t: u32, n0: u32, v: vec4f) {
  if (t >= dims.T) {
    return;
  }
  for (var j = 0u; j < 4u; j++) {
    if (n0 + j < shape.N) {
      Y[t * shape.LDY + shape.COL0 + n0 + j] = v[j];
    }
  }
}
