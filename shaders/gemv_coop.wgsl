#variant gemv_coop
#variant gemv_subgroup SUBGROUP
#variant gemv_coop_h HALF
#variant gemv_subgroup_h SUBGROUP HALF
#ifdef HALF
enable f16;
#endif
#ifdef SUBGROUP
enable subgroups;
#endif

// GEMV for decode, one workgroup of 64 invocations per output row (the hardware-GPU variant): invocations
// stride over k, then the partial sums are reduced. gemv_coop reduces through workgroup memory in a 6-step
// tree; gemv_subgroup (devices with subgroups) reduces each subgroup with subgroupAdd and one barrier gathers
// the subgroup sums. No assumption is made about how invocations map to subgroups: each subgroup's first lane
// writes its sum at its own index.
// y[COL0 + n] = sum_k x[k] * W[n, k] (+ bias[BIAS_OFF + n]); W f32 bits or f16 packed two per u32.
// Shapes: x f32 [K], W [N, K], y f32 [>= COL0 + N].
// The _h twins (devices with shader-f16) read the f16 weights as array<vec2<f16>> (the same bytes), sums in f32.
// Reference: matVec in src/engine/reference/mamba.ts.
// Dispatch: (N) workgroups (the host splits matrices so N <= 65535).
#ifdef HALF
const F16 = true;
#else
override F16: bool;
#endif

#include "shape.wgsl"
@group(0) @binding(5) var<uniform> shape: Shape;

@group(0) @binding(1) var<storage, read> X: array<f32>;
#ifdef HALF
@group(0) @binding(2) var<storage, read> W: array<vec2<f16>>;
#else
@group(0) @binding(2) var<storage, read> W: array<u32>;
#endif
@group(0) @binding(3) var<storage, read> bias: array<f32>;
@group(0) @binding(4) var<storage, read_write> Y: array<f32>;

var<workgroup> partial: array<f32, 64>;

// f16 weights 2p and 2p + 1.
fn pairAt(p: u32) -> vec2f {
#ifdef HALF
  return vec2f(W[p]);
#else
  return unpack2x16float(W[p]);
#endif
}

@compute @workgroup_size(64)
#ifdef SUBGROUP
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) li: u32,
        @builtin(subgroup_invocation_id) sgi: u32) {
#else
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) li: u32) {
#endif
  let n = wid.x;
  if (n >= shape.N) {
    return;
  }
  let row = n * shape.K;
  var acc = 0.0;
  if (F16 && (shape.K & 1u) == 0u) {
    let w0 = row >> 1u;
    for (var k = li * 2u; k < shape.K; k += 128u) {
      let p = pairAt(w0 + (k >> 1u));
      acc += p.x * X[k] + p.y * X[k + 1u];
    }
  } else if (F16) {
    for (var k = li; k < shape.K; k += 64u) {
      let i = row + k;
      let p = pairAt(i >> 1u);
      acc += select(p.x, p.y, (i & 1u) == 1u) * X[k];
    }
  } else {
#ifndef HALF
    for (var k = li; k < shape.K; k += 64u) {
      acc += bitcast<f32>(W[row + k]) * X[k];
    }
#endif
  }
#ifdef SUBGROUP
  let sum = subgroupAdd(acc);
  partial[li] = select(0.0, sum, sgi == 0u);
  workgroupBarrier();
  if (li == 0u) {
    var v = 0.0;
    for (var i = 0u; i < 64u; i++) {
      v += partial[i];
    }
#else
  partial[li] = acc;
  workgroupBarrier();
  for (var s = 32u; s > 0u; s >>= 1u) {
    if (li < s) {
      partial[li] += partial[li + s];
    }
    workgroupBarrier();
  }
  if (li == 0u) {
    var v = partial[0];
#endif
    if (shape.HAS_BIAS != 0u) {
      v += bias[shape.BIAS_OFF + n];
    }
    Y[shape.COL0 + n] = v;
  }
}
