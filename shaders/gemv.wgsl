#variant gemv
#variant gemv_h HALF
#ifdef HALF
enable f16;
#endif

// GEMV for decode, one invocation per four output rows (the SwiftShader variant: no workgroup barriers, which are
// costly on a CPU rasteriser): y[COL0 + n] = sum_k x[k] * W[n, k] (+ bias[BIAS_OFF + n]) for n < N.
// W is one row part of an nn.Linear weight [out, in], f32 bits or f16 packed two per u32.
// Shapes: x f32 [K] (token row 0), W [N, K], y f32 [>= COL0 + N].
// Reference: matVec in src/engine/reference/mamba.ts.
// Rows are read 4 (f32) or 8 (f16) weights per 16-byte load where K allows: SwiftShader runs each
// invocation's loads as gathers, so fewer, wider loads are what makes it fast there.
// gemv_h (devices with shader-f16) reads the f16 weights as array<vec4<f16>> (the same bytes), sums in f32.
// Dispatch: (ceil(ceil(N / 4) / 64)).
#ifdef HALF
const F16 = true;
#else
override F16: bool;
#endif

#include "shape.wgsl"
@group(0) @binding(5) var<uniform> shape: Shape;

@group(0) @binding(1) var<storage, read> X: array<vec4f>;
#include "weights_vec4.wgsl"
@group(0) @binding(3) var<storage, read> bias: array<f32>;
@group(0) @binding(4) var<storage, read_write> Y: array<f32>;

fn xAt(k: u32) -> f32 {
  return X[k >> 2u][k & 3u];
}

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) g: vec3u) {
  // Four rows per invocation share each load of x (rows past N are clamped and not stored).
  let n0 = g.x * 4u;
  let N = shape.N;
  let K = shape.K;
  if (n0 >= N) {
    return;
  }
  let rows = min(vec4u(n0) + vec4u(0u, 1u, 2u, 3u), vec4u(N - 1u)) * K;
  var acc = vec4f(0.0);
  if (F16 && (K & 7u) == 0u) {
    let b = rows >> vec4u(3u);
    for (var j = 0u; j < (K >> 3u); j++) {
      let xl = X[2u * j];
      let xh = X[2u * j + 1u];
      let w0 = oct(b.x + j);
      let w1 = oct(b.y + j);
      let w2 = oct(b.z + j);
      let w3 = oct(b.w + j);
      acc += vec4f(
        dot(w0[0], xl) + dot(w0[1], xh),
        dot(w1[0], xl) + dot(w1[1], xh),
        dot(w2[0], xl) + dot(w2[1], xh),
        dot(w3[0], xl) + dot(w3[1], xh),
      );
    }
#ifndef HALF
  } else if (!F16 && (K & 3u) == 0u) {
    let b = rows >> vec4u(2u);
    for (var j = 0u; j < (K >> 2u); j++) {
      let x = X[j];
      acc += vec4f(
        dot(bitcast<vec4f>(W[b.x + j]), x),
        dot(bitcast<vec4f>(W[b.y + j]), x),
        dot(bitcast<vec4f>(W[b.z + j]), x),
        dot(bitcast<vec4f>(W[b.w + j]), x),
      );
    }
#endif
  } else {
    for (var k = 0u; k < K; k++) {
      let x = xAt(k);
      acc += x * vec4f(loadW(rows.x + k), loadW(rows.y + k), loadW(rows.z + k), loadW(rows.w + k));
    }
  }
  for (var i = 0u; i < 4u; i++) {
    let n = n0 + i;
    if (n < N) {
      var v = acc[i];
      if (shape.HAS_BIAS != 0u) {
        v += bias[shape.BIAS_OFF + n];
      }
      Y[shape.COL0 + n] = v;
    }
  }
}
