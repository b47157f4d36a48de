// Per-token int8 quantisation of prefill activations for the W8A8 GEMM (gemm_sgmat_i8.wgsl):
//   scale[t] = max_k |X[t, k]| / 127,   Q[t, k] = clamp(round(X[t, k] / scale[t]), -127, 127)   (0 where scale is 0)
// for t < T (from dims), k < K; bytes K .. KP - 1 of each row are 0 (KP = K rounded up to 16, so every row of Q
// starts 16-byte aligned). round() is WGSL's (ties to even).
// Shapes: X f32 [T, K]; Q int8 [T, KP], four per u32 (byte i of a word = element 4 w + i, two's complement);
// scale f32 [T].
// Reference: quantizeRowsI8 in src/engine/w8a8.ts.
// Dispatch: (T) workgroups of 64.
#include "dims.wgsl"

struct QuantShape { K: u32, pad0: u32, pad1: u32, pad2: u32 }
@group(0) @binding(0) var<uniform> dims: Dims;
@group(0) @binding(1) var<uniform> qshape: QuantShape;
@group(0) @binding(2) var<storage, read> X: array<f32>;
@group(0) @binding(3) var<storage, read_write> Q: array<u32>;
@group(0) @binding(4) var<storage, read_write> scale: array<f32>;

var<workgroup> most: array<f32, 64>;

@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) li: u32) {
  let t = wid.x;
  if (t >= dims.T) {
    return;
  }
  let K = qshape.K;
  let words = (K + 15u) / 16u * 4u;
  var m = 0.0;
  for (var k = li; k < K; k += 64u) {
    m = max(m, abs(X[t * K + k]));
  }
  most[li] = m;
  workgroupBarrier();
  for (var s = 32u; s > 0u; s >>= 1u) {
    if (li < s) {
      most[li] = max(most[li], most[li + s]);
    }
    workgroupBarrier();
  }
  let sc = most[0] / 127.0;
  let inv = select(0.0, 1.0 / sc, sc > 0.0);
  if (li == 0u) {
    scale[t] = sc;
  }
  for (var w = li; w < words; w += 64u) {
    var word = 0u;
    for (var i = 0u; i < 4u; i++) {
      let k = 4u * w + i;
      var q = 0i;
      if (k < K) {
        q = i32(clamp(round(X[t * K + k] * inv), -127.0, 127.0));
      }
      word |= (bitcast<u32>(q) & 0xffu) << (8u * i);
    }
    Q[t * words + w] = word;
  }
}
