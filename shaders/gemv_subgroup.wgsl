enable subgroups;

// GEMV for decode, one workgroup of 64 invocations per output row (the hardware-GPU variant with subgroups):
// invocations stride over k, each subgroup reduces its partial sums with subgroupAdd, and one barrier
// gathers the subgroup sums (instead of the 6-step tree of gemv_coop.wgsl). No assumption is made about
// how invocations map to subgroups: each subgroup's first lane writes its sum at its own index.
// y[COL0 + n] = sum_k x[k] * W[n, k] (+ bias[BIAS_OFF + n]); W f32 bits or f16 packed two per u32.
// Shapes: x f32 [K], W [N, K], y f32 [>= COL0 + N].
// Reference: matVec in src/engine/reference/mamba.ts.
// Dispatch: (N) workgroups (the host splits matrices so N <= 65535).
override F16: bool;

// Per row part, so every part of every matrix of one dtype shares one pipeline.
struct Shape { N: u32, K: u32, LDY: u32, COL0: u32, BIAS_OFF: u32, HAS_BIAS: u32, pad0: u32, pad1: u32 }
@group(0) @binding(5) var<uniform> shape: Shape;

@group(0) @binding(1) var<storage, read> X: array<f32>;
@group(0) @binding(2) var<storage, read> W: array<u32>;
@group(0) @binding(3) var<storage, read> bias: array<f32>;
@group(0) @binding(4) var<storage, read_write> Y: array<f32>;

var<workgroup> partial: array<f32, 64>;

@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) li: u32,
        @builtin(subgroup_invocation_id) sgi: u32) {
  let n = wid.x;
  if (n >= shape.N) {
    return;
  }
  let row = n * shape.K;
  var acc = 0.0;
  if (F16 && (shape.K & 1u) == 0u) {
    let w0 = row >> 1u;
    for (var k = li * 2u; k < shape.K; k += 128u) {
      let p = unpack2x16float(W[w0 + (k >> 1u)]);
      acc += p.x * X[k] + p.y * X[k + 1u];
    }
  } else if (F16) {
    for (var k = li; k < shape.K; k += 64u) {
      let i = row + k;
      let p = unpack2x16float(W[i >> 1u]);
      acc += select(p.x, p.y, (i & 1u) == 1u) * X[k];
    }
  } else {
    for (var k = li; k < shape.K; k += 64u) {
      acc += bitcast<f32>(W[row + k]) * X[k];
    }
  }
  let sum = subgroupAdd(acc);
  partial[li] = select(0.0, sum, sgi == 0u);
  workgroupBarrier();
  if (li == 0u) {
    var v = 0.0;
    for (var i = 0u; i < 64u; i++) {
      v += partial[i];
    }
    if (shape.HAS_BIAS != 0u) {
      v += bias[shape.BIAS_OFF + n];
    }
    Y[shape.COL0 + n] = v;
  }
}
