// Greedy next tokens of T rows of logits at once (batched decode): workgroup r finds the argmax of row r
// (ties: the smallest id, as sample.wgsl at temperature 0) and writes it to tokens[r] (the next step's input
// of sequence r) and out[r] (read back).
// Shapes: logits f32 [T, V]; tokens u32 [T]; out u32 [T].
// Reference: argmax over each row of the logits (tests/kernels.batch.test.ts).
// Dispatch: (T).
#include "dims.wgsl"

override V: u32;
// Invocations: a power of two <= 256 (256 on GPUs; 4 on SwiftShader, where barriers are costly).
override WG: u32 = 256u;

@group(0) @binding(0) var<uniform> dims: Dims;
@group(0) @binding(1) var<storage, read> logits: array<f32>;
@group(0) @binding(2) var<storage, read_write> tokens: array<u32>;
@group(0) @binding(3) var<storage, read_write> out: array<u32>;

var<workgroup> rv: array<f32, 256>;
var<workgroup> ri: array<u32, 256>;

fn better(v1: f32, i1: u32, v2: f32, i2: u32) -> bool {
  return v1 > v2 || (v1 == v2 && i1 < i2);
}

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wg: vec3u, @builtin(local_invocation_index) li: u32) {
  let r = wg.x;
  let base = r * V;
  var bv = -3.4e38;
  var bi = 0xffffffffu;
  for (var v = li; v < V; v += WG) {
    let l = logits[base + v];
    if (better(l, v, bv, bi)) {
      bv = l;
      bi = v;
    }
  }
  rv[li] = bv;
  ri[li] = bi;
  workgroupBarrier();
  for (var s = WG / 2u; s > 0u; s >>= 1u) {
    if (li < s && better(rv[li + s], ri[li + s], rv[li], ri[li])) {
      rv[li] = rv[li + s];
      ri[li] = ri[li + s];
    }
    workgroupBarrier();
  }
  if (li == 0u && r < dims.T) {
    tokens[r] = ri[0];
    out[r] = ri[0];
  }
}
