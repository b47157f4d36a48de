#variant embed
#variant embed_h HALF
#ifdef HALF
enable f16;
#endif

// Embedding gather. resid[t, i] = E[tok[t] - ROW0, i] for the tokens whose id falls in this row part
// [ROW0, ROW0 + ROWS) of a (possibly row-split) embedding matrix; one dispatch per part.
// Shapes: tokens u32 [T], E packed weights [ROWS, DM] (f32 bits, or f16 two per u32), resid f32 [T, DM].
// embed_h (devices with shader-f16) reads the f16 weights as array<f16>; the bytes are the same.
// Reference: referenceForward's `weights.embedding.subarray(tok * dm, ...)` (src/engine/reference/mamba.ts).
// Dispatch: (ceil(DM / 64), T).
#include "dims.wgsl"

override DM: u32;
#ifndef HALF
override F16: bool;
#endif

// The row part this dispatch covers (a uniform, so all parts share one pipeline).
struct Part { ROW0: u32, ROWS: u32, pad0: u32, pad1: u32 }

@group(0) @binding(0) var<uniform> dims: Dims;
@group(0) @binding(1) var<storage, read> tokens: array<u32>;
#ifdef HALF
@group(0) @binding(2) var<storage, read> W: array<f16>;
#else
@group(0) @binding(2) var<storage, read> W: array<u32>;
#endif
@group(0) @binding(3) var<storage, read_write> resid: array<f32>;
@group(0) @binding(4) var<uniform> part: Part;

fn loadW(i: u32) -> f32 {
#ifdef HALF
  return f32(W[i]);
#else
  if (F16) {
    let p = unpack2x16float(W[i >> 1u]);
    return select(p.x, p.y, (i & 1u) == 1u);
  }
  return bitcast<f32>(W[i]);
#endif
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
  resid[t * DM + i] = loadW((tok - part.ROW0) * DM + i);
}
