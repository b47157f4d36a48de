// GEMV for decode, one invocation per four output rows (the SwiftShader variant: no workgroup barriers, which are
// costly on a CPU rasteriser): y[COL0 + n] = sum_k x[k] * W[n, k] (+ bias[BIAS_OFF + n]) for n < N.
// W is one row part of an nn.Linear weight [out, in], f32 bits, f16 packed two per u32, or int8 with scales
// (I8; include/int8.wgsl gives the layout: 16 weights per load where K % 16 == 0, per-channel scales applied
// to the row sums).
// Shapes: x f32 [K] (token row 0), W [N, K], y f32 [>= COL0 + N].
// Reference: matVec in src/engine/reference/mamba.ts.
// Rows are read 4 (f32) or 8 (f16) weights per 16-byte load where K allows: SwiftShader runs each
// invocation's loads as gathers, so fewer, wider loads are what makes it fast there.
// Dispatch: (ceil(ceil(N / 4) / 64)).
override F16: bool;

#include "shape.wgsl"
#include "int8_vec4.wgsl"
@group(0) @binding(5) var<uniform> shape: Shape;

@group(0) @binding(1) var<storage, read> X: array<vec4f>;
@group(0) @binding(2) var<storage, read> W: array<vec4u>;
@group(0) @binding(3) var<storage, read> bias: array<f32>;
@group(0) @binding(4) var<storage, read_write> Y: array<f32>;

fn xAt(k: u32) -> f32 {
  return X[k >> 2u][k & 3u];
}

// Row n's 16 int8 weights of one load dotted with x[16 j .. 16 j + 16).
fn i8Dot16(w: vec4u, j: u32) -> f32 {
  return dot(i8Unpack(w.x), X[4u * j]) + dot(i8Unpack(w.y), X[4u * j + 1u]) +
    dot(i8Unpack(w.z), X[4u * j + 2u]) + dot(i8Unpack(w.w), X[4u * j + 3u]);
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
  // Four rows per invocation share each load of x (rows past N are clamped and not stored).
  let n0 = g.x * 4u;
  let N = shape.N;
  let K = shape.K;
  if (n0 >= N) {
    return;
  }
  let rn = min(vec4u(n0) + vec4u(0u, 1u, 2u, 3u), vec4u(N - 1u));
  let rows = rn * K;
  var acc = vec4f(0.0);
  if (I8 && (K & 15u) == 0u) {
    let b = rn * (K >> 4u);
    for (var j = 0u; j < (K >> 4u); j++) {
      let d = vec4f(i8Dot16(W[b.x + j], j), i8Dot16(W[b.y + j], j), i8Dot16(W[b.z + j], j), i8Dot16(W[b.w + j], j));
      if (GS == 0u) {
        acc += d;
      } else {
        acc += d * i8Scale4(rn, 16u * j);
      }
    }
    if (GS == 0u) {
      acc *= i8Scale4(rn, 0u);
    }
  } else if (I8) {
    for (var k = 0u; k < K; k++) {
      acc += xAt(k) * vec4f(i8At(N, K, rn.x, k), i8At(N, K, rn.y, k), i8At(N, K, rn.z, k), i8At(N, K, rn.w, k));
    }
  } else if (F16 && (K & 7u) == 0u) {
    let b = rows >> vec4u(3u);
    for (var j = 0u; j < (K >> 3u); j++) {
      let xl = X[2u * j];
      let xh = X[2u * j + 1u];
      let w0 = W[b.x + j];
      let w1 = W[b.y + j];
      let w2 = W[b.z + j];
      let w3 = W[b.w + j];
      acc += vec4f(
        dot(vec4f(unpack2x16float(w0.x), unpack2x16float(w0.y)), xl) + dot(vec4f(unpack2x16float(w0.z), unpack2x16float(w0.w)), xh),
        dot(vec4f(unpack2x16float(w1.x), unpack2x16float(w1.y)), xl) + dot(vec4f(unpack2x16float(w1.z), unpack2x16float(w1.w)), xh),
        dot(vec4f(unpack2x16float(w2.x), unpack2x16float(w2.y)), xl) + dot(vec4f(unpack2x16float(w2.z), unpack2x16float(w2.w)), xh),
        dot(vec4f(unpack2x16float(w3.x), unpack2x16float(w3.y)), xl) + dot(vec4f(unpack2x16float(w3.z), unpack2x16float(w3.w)), xh),
      );
    }
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
