// Chunked SSD scan (Mamba-2 prefill), fused variant, pass 1 of 2: the intra-chunk products C_t · B_s of every
// chunk of 16 tokens and group g, causal half only (s ≤ t; the rest 0), for m2_ssd_fused to mask and weight:
//   cb[c, g, t, s] = Σ_n C[c·16 + t, g, n] · B[c·16 + s, g, n]      (0 when s > t or t ≥ the chunk's length)
// They depend on the group alone, so this pass makes them once per group instead of once per head and block of
// head_dim in m2_ssd_fused. The chunk's 16 rows of C and of B are staged in workgroup memory by coalesced
// loads, then invocation (t, s) makes its dot product from vec4s (rows 33 vec4s apart, so the 16 rows of B
// that a subgroup reads spread over the banks). Reading rows straight from memory, 128 dependent loads per
// invocation, took 15 µs a layer on the H200 at 130m and 512 tokens, this 9.6 (bench/m2-ssd-bench.ts, session 7
// runs 2 and 3). N ≤ 128 (m2_ssd_fused's limit).
// Shapes: xbc f32 [T, CD] (x [H·P] | B [G·N] | C [G·N]), cb f32 [ceil(T/16), G, 16, 16]. Q = 16.
// Reference: the C·Bᵀ of ssdChunked in src/engine/reference/mamba2.ts (the whole pair matches ssdScan).
// Dispatch: (ceil(T / 16), G).
#include "dims.wgsl"
#include "m2_ssd_chunk.wgsl"

@group(0) @binding(0) var<uniform> dims: Dims;
@group(0) @binding(1) var<storage, read> xbc: array<f32>;
@group(0) @binding(2) var<storage, read_write> cb: array<f32>;

const NV = 33u;
var<workgroup> wC: array<vec4f, 528>;
var<workgroup> wB: array<vec4f, 528>;

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) li: u32) {
  let chunk = wid.x;
  let g = wid.y;
  let len = chunkLen(chunk);
  if (len == 0u) {
    return;
  }
  // The first head of group g names the group's columns.
  let h = g * (H / G);
  let cd = xbcStride();
  // Entry e = li + 256·k of [16 rows][128]: row e / 128, n = e % 128 (consecutive invocations, consecutive n).
  for (var k = 0u; k < 8u; k++) {
    let e = li + 256u * k;
    let r = e / 128u;
    let n = e % 128u;
    var c = 0.0;
    var b = 0.0;
    if (r < len && n < N) {
      let row = (chunk * Q + r) * cd;
      c = xbc[row + cColOf(h) + n];
      b = xbc[row + bColOf(h) + n];
    }
    wC[r * NV + n / 4u][n % 4u] = c;
    wB[r * NV + n / 4u][n % 4u] = b;
  }
  workgroupBarrier();
  let t = li / 16u;
  let s = li % 16u;
  var v = 0.0;
  if (s <= t && t < len) {
    for (var j = 0u; j < (N + 3u) / 4u; j++) {
      v += dot(wC[t * NV + j], wB[s * NV + j]);
    }
  }
  cb[(chunk * G + g) * 256u + li] = v;
}
