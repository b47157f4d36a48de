// Chunked SSD scan (Mamba-2 prefill), pass 1 of 3: per chunk of Q tokens and head h, Δ and the running sum of
// Δ·A inside the chunk, and the state the chunk alone leaves (starting from zero):
//   Δ_i = m2Delta(proj[t0+i, DT_COL + h], h);  cum_i = Σ_{j≤i} Δ_j · A,  A = −exp(A_log[h])
//   local[p, n] = Σ_i exp(cum_last − cum_i) · Δ_i · x[t0+i, h·P + p] · B[t0+i, g, n],  g = h / (H / G)
// Pass 2 (m2_ssd_state_pass) chains the chunks from the incoming state; pass 3 (m2_ssd_chunk_scan) makes y.
// Shapes: xbc f32 [T, CD] (x [H·P] | B [G·N] | C [G·N]), proj f32 [T, LDP] (raw Δ at DT_COL), params f32
// (dt_bias at DTB_OFF, A_log [H] at A_OFF), cum f32 [T, H], dl f32 [T, H] (Δ), cs f32 [ceil(T/Q), H, P, N].
// Q ≤ 32. The software variant (one invocation per output, few barriers: SwiftShader's fast case); GPUs run
// m2_ssd_chunk_state_tiled.
// Reference: ssdChunked in src/engine/reference/mamba2.ts (checked there against the recurrence ssdScan).
// Dispatch: (ceil(T / Q), H).
#include "m2_ssd_state_io.wgsl"

var<workgroup> wDelta: array<f32, 32>;
var<workgroup> wCum: array<f32, 32>;

@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) li: u32) {
  let chunk = wid.x;
  let h = wid.y;
  let len = chunkLen(chunk);
  if (len == 0u) {
    return;
  }
  let t0 = chunk * Q;
  if (li < len) {
    wDelta[li] = m2Delta(proj[(t0 + li) * LDP + DT_COL + h], h);
  }
  workgroupBarrier();
  if (li == 0u) {
    let a = -exp(params[A_OFF + h]);
    var run = 0.0;
    for (var i = 0u; i < len; i++) {
      run += wDelta[i] * a;
      wCum[i] = run;
      cum[(t0 + i) * H + h] = run;
      dl[(t0 + i) * H + h] = wDelta[i];
    }
  }
  workgroupBarrier();
  let cd = xbcStride();
  let bCol = bColOf(h);
  let last = wCum[len - 1u];
  for (var e = li; e < P * N; e += 64u) {
    let p = e / N;
    let n = e % N;
    var s = 0.0;
    for (var i = 0u; i < len; i++) {
      let r = (t0 + i) * cd;
      s += exp(last - wCum[i]) * wDelta[i] * xbc[r + h * P + p] * xbc[r + bCol + n];
    }
    cs[(chunk * H + h) * P * N + e] = s;
  }
}
