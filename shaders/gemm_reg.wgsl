#variant gemm_reg
#variant gemm_reg_h HALF
#ifdef HALF
enable f16;
#endif

// Register-blocked GEMM for prefill without workgroup memory (the SwiftShader variant: workgroup barriers are
// what costs there, so each invocation reads its operands straight from storage and keeps a 4 x 4 block of
// outputs in registers): Y[t, COL0 + n] = sum_k X[t, k] * W[n, k] (+ bias[BIAS_OFF + n]).
// W is one row part of an nn.Linear weight [out, in], f32 bits or f16 packed two per u32.
// Shapes: X f32 [T, K], W [N, K], Y f32 [T, LDY].
// Reference: matVec in src/engine/reference/mamba.ts applied to every token.
// Where K allows, 4 (f32) or 8 (f16) weights per 16-byte load (SwiftShader runs loads as gathers).
// gemm_reg_h (devices with shader-f16) reads the f16 weights as array<vec4<f16>> (the same bytes), sums in f32.
// Dispatch: (ceil(ceil(N / 4) / 64), ceil(T / 4)).
#include "dims.wgsl"

#ifdef HALF
const F16 = true;
#else
override F16: bool;
#endif

#include "shape.wgsl"
@group(0) @binding(5) var<uniform> shape: Shape;

@group(0) @binding(0) var<uniform> dims: Dims;
@group(0) @binding(1) var<storage, read> X: array<vec4f>;
#include "weights_vec4.wgsl"
@group(0) @binding(3) var<storage, read> bias: array<f32>;
@group(0) @binding(4) var<storage, read_write> Y: array<f32>;

fn xAt(k: u32) -> f32 {
  return X[k >> 2u][k & 3u];
}

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) g: vec3u) {
  let T = dims.T;
  let N = shape.N;
  let K = shape.K;
  let n0 = g.x * 4u;
  let t0 = g.y * 4u;
  if (n0 >= N || t0 >= T) {
    return;
  }
  // Rows past the end are clamped to the last valid one (and not stored), so the loop has no branches.
  // vec4 registers rather than small arrays: SwiftShader keeps dynamically indexed arrays in memory.
  let nr = min(vec4u(n0) + vec4u(0u, 1u, 2u, 3u), vec4u(N - 1u)) * K;
  let tr = min(vec4u(t0) + vec4u(0u, 1u, 2u, 3u), vec4u(T - 1u)) * K;
  // acc0..3: tokens t0..t0+3; components: outputs n0..n0+3.
  var acc0 = vec4f(0.0);
  var acc1 = vec4f(0.0);
  var acc2 = vec4f(0.0);
  var acc3 = vec4f(0.0);
  if (F16 && (K & 7u) == 0u) {
    let wr = nr >> vec4u(3u);
    let xr = tr >> vec4u(2u);
    for (var j = 0u; j < (K >> 3u); j++) {
      let w0 = oct(wr.x + j);
      let w1 = oct(wr.y + j);
      let w2 = oct(wr.z + j);
      let w3 = oct(wr.w + j);
      for (var h = 0u; h < 2u; h++) {
        let k4 = 2u * j + h;
        let a0 = w0[h];
        let a1 = w1[h];
        let a2 = w2[h];
        let a3 = w3[h];
        let x0 = X[xr.x + k4];
        let x1 = X[xr.y + k4];
        let x2 = X[xr.z + k4];
        let x3 = X[xr.w + k4];
        acc0 += vec4f(dot(x0, a0), dot(x0, a1), dot(x0, a2), dot(x0, a3));
        acc1 += vec4f(dot(x1, a0), dot(x1, a1), dot(x1, a2), dot(x1, a3));
        acc2 += vec4f(dot(x2, a0), dot(x2, a1), dot(x2, a2), dot(x2, a3));
        acc3 += vec4f(dot(x3, a0), dot(x3, a1), dot(x3, a2), dot(x3, a3));
      }
    }
#ifndef HALF
  } else if (!F16 && (K & 3u) == 0u) {
    let wr = nr >> vec4u(2u);
    let xr = tr >> vec4u(2u);
    for (var j = 0u; j < (K >> 2u); j++) {
      let a0 = bitcast<vec4f>(W[wr.x + j]);
      let a1 = bitcast<vec4f>(W[wr.y + j]);
      let a2 = bitcast<vec4f>(W[wr.z + j]);
      let a3 = bitcast<vec4f>(W[wr.w + j]);
      let x0 = X[xr.x + j];
      let x1 = X[xr.y + j];
      let x2 = X[xr.z + j];
      let x3 = X[xr.w + j];
      acc0 += vec4f(dot(x0, a0), dot(x0, a1), dot(x0, a2), dot(x0, a3));
      acc1 += vec4f(dot(x1, a0), dot(x1, a1), dot(x1, a2), dot(x1, a3));
      acc2 += vec4f(dot(x2, a0), dot(x2, a1), dot(x2, a2), dot(x2, a3));
      acc3 += vec4f(dot(x3, a0), dot(x3, a1), dot(x3, a2), dot(x3, a3));
    }
#endif
  } else {
    for (var k = 0u; k < K; k++) {
      let b = vec4f(loadW(nr.x + k), loadW(nr.y + k), loadW(nr.z + k), loadW(nr.w + k));
      acc0 += xAt(tr.x + k) * b;
      acc1 += xAt(tr.y + k) * b;
      acc2 += xAt(tr.z + k) * b;
      acc3 += xAt(tr.w + k) * b;
    }
  }
  var bias4 = vec4f(0.0);
  if (shape.HAS_BIAS != 0u) {
    for (var j = 0u; j < 4u; j++) {
      bias4[j] = bias[shape.BIAS_OFF + min(n0 + j, N - 1u)];
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
