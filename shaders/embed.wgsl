// Embedding gather. resid[t, i] = E[tok[t] - ROW0, i] for the tokens whose id falls in this row part
// [ROW0, ROW0 + ROWS) of a (possibly row-split) embedding matrix; one dispatch per part.
// Shapes: tokens u32 [T], E packed weights [ROWS, DM] (f32 bits, f16 two per u32, or int8 with scales as
// include/int8.wgsl lays them out), resid f32 [T, DM].
// Reference: referenceForward's `weights.embedding.subarray(tok * dm, ...)` (src/engine/reference/mamba.ts).
// Dispatch: (ceil(DM / 64), T).
#include "dims.wgsl"

override DM: u32;
override F16: bool;
#include "int8.wgsl"

// The row part this dispatch covers (a uniform, so all parts share one pipeline).
struct Part { ROW0: u32, ROWS: u32, pad0: u32, pad1: u32 }

@group(0) @binding(0) var<uniform> dims: Dims;
@group(0) @binding(1) var<storage, read> tokens: array<u32>;
@group(0) @binding(2) var<storage, read> W: array<u32>;
@group(0) @binding(3) var<storage, read_write> resid: array<f32>;
@group(0) @binding(4) var<uniform> part: Part;

fn wordAt(i: u32) -> u32 {
  return W[i];
}

fn loadW(i: u32) -> f32 {
  if (F16) {
    let p = unpack2x16float(W[i >> 1u]);
    return select(p.x, p.y, (i & 1u) == 1u);
  }
  return bitcast<f32>(W[i]);
}

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) g: vec3u) {
  let i = g.x;
  let t = g.y;
  if (t >= dims.T || i >= DM) {
    return;
  }
  let tok = tokens[t];
  if (tok < part.ROW0 || tok >= part.ROW0 + part.ROWS) {
    return;
  }
  if (I8) {
    resid[t * DM + i] = i8At(part.ROWS, DM, tok - part.ROW0, i);
  } else {
    resid[t * DM + i] = loadW((tok - part.ROW0) * DM + i);
  }
}
