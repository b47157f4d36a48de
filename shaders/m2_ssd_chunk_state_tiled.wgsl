// Chunked SSD scan (Mamba-2 prefill), pass 1 of 3, tiled for GPUs (the hardware variant of m2_ssd_chunk_state,
// same bindings and results): per chunk of Q tokens and head h, Δ and the running sum of Δ·A, and the state
// the chunk alone leaves (from zero), a [P × Q]·[Q × N] product with each token's weight folded into x:
//   Δ_i = m2Delta(proj[t0+i, DT_COL + h], h);  cum_i = Σ_{j≤i} Δ_j · A,  A = −exp(A_log[h])
//   local[p, n] = Σ_i (exp(cum_last − cum_i) · Δ_i · x[t0+i, h·P + p]) · B[t0+i, g, n],  g = h / (H / G)
// Workgroup (chunk, h, z) makes the 64 × 64 block of local at p0 = 64·(z / ceil(N/64)), n0 = 64·(z % ceil(N/64)).
// 256 invocations (ty, tx) = (li / 16, li % 16) each keep 4 × 4 sums in registers: rows p0 + ty + 16·a, columns
// n0 + 4·tx .. +3, so a row of 16 invocations stores 64 consecutive floats and reads B as conflict-free vec4s.
// Tokens go through in slices of 16: weighted x [16 × 64] and B [16 × 64] staged in workgroup memory by
// coalesced row loads. Each workgroup computes its chunk's Δ and cum (Q values); z = 0 writes them out.
// Shapes: xbc f32 [T, CD] (x [H·P] | B [G·N] | C [G·N]), proj f32 [T, LDP] (raw Δ at DT_COL), params f32
// (dt_bias at DTB_OFF, A_log [H] at A_OFF), cum f32 [T, H], dl f32 [T, H] (Δ), cs f32 [ceil(T/Q), H, P, N].
// Q ≤ 64 (any P, N, G dividing H).
// Reference: ssdChunked in src/engine/reference/mamba2.ts (checked there against the recurrence ssdScan).
// Dispatch: (ceil(T / Q), H, ceil(P / 64) · ceil(N / 64)).
#include "m2_ssd_state_io.wgsl"
#include "m2_ssd_cum.wgsl"

const KS = 16u;
// Slice of 16 tokens: weighted x [k][p] and B [k][n / 4] (as vec4s).
var<workgroup> wX: array<f32, 1024>;
var<workgroup> wB: array<vec4f, 256>;

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) li: u32) {
  let chunk = wid.x;
  let h = wid.y;
  let len = chunkLen(chunk);
  if (len == 0u) {
    return;
  }
  let t0 = chunk * Q;
  let nBlocks = (N + 63u) / 64u;
  let p0 = (wid.z / nBlocks) * 64u;
  let n0 = (wid.z % nBlocks) * 64u;
  chunkDeltas(li, len, t0, h, wid.z == 0u);
  let last = wCum[len - 1u];
  let cd = xbcStride();
  let xCol = h * P + p0;
  let bCol = bColOf(h) + n0;
  let tx = li % 16u;
  let ty = li / 16u;
  var acc: array<vec4f, 4>;
  for (var k0 = 0u; k0 < len; k0 += KS) {
    // Invocation li stages token k0 + li / 16, four consecutive columns 4·(li % 16) .. +3 of x and of B.
    let k = li / 16u;
    let i = k0 + k;
    let c = 4u * (li % 16u);
    var xs = vec4f(0.0);
    var bs = vec4f(0.0);
    if (i < len) {
      let w = exp(last - wCum[i]) * wDelta[i];
      let r = (t0 + i) * cd;
      for (var j = 0u; j < 4u; j++) {
        if (p0 + c + j < P) {
          xs[j] = w * xbc[r + xCol + c + j];
        }
        if (n0 + c + j < N) {
          bs[j] = xbc[r + bCol + c + j];
        }
      }
    }
    for (var j = 0u; j < 4u; j++) {
      wX[k * 64u + c + j] = xs[j];
    }
    wB[k * 16u + tx] = bs;
    workgroupBarrier();
    for (var kk = 0u; kk < KS; kk++) {
      let b = wB[kk * 16u + tx];
      for (var a = 0u; a < 4u; a++) {
        acc[a] += wX[kk * 64u + ty + 16u * a] * b;
      }
    }
    workgroupBarrier();
  }
  let base = (chunk * H + h) * P * N;
  for (var a = 0u; a < 4u; a++) {
    let p = p0 + ty + 16u * a;
    if (p < P) {
      for (var j = 0u; j < 4u; j++) {
        let n = n0 + 4u * tx + j;
        if (n < N) {
          cs[base + p * N + n] = acc[a][j];
        }
      }
    }
  }
}
