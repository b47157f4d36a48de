// Chunked SSD scan (Mamba-2 prefill), pass 3 of 3: the outputs of chunk c for head h in the matrix form,
//   y[t0+i, h·P + p] = Σ_{s≤i} exp(cum_i − cum_s) · (C_i · B_s) · Δ_s · x[t0+s, p]     (intra-chunk, "attention")
//                    + exp(cum_i) · Σ_n C_i[n] · entering[p, n]                         (the state entering c)
//                    + D[h] · x[t0+i, p]
// with B, C of group g = h / (H / G). The masked matrix exp(cum_i − cum_s)·(C_i·B_s)·Δ_s is built once per
// workgroup in workgroup memory, then every (i, p) reads it.
// Shapes: xbc f32 [T, CD] (x [H·P] | B [G·N] | C [G·N]), params f32 (D [H] at D_OFF), cum f32 [T, H],
// dl f32 [T, H], cs f32 [ceil(T/Q), H, P, N] (entering states, from pass 2), y f32 [T, H·P]. Q ≤ 32.
// The software variant (one invocation per output); GPUs run m2_ssd_chunk_scan_tiled.
// Reference: ssdChunked in src/engine/reference/mamba2.ts; the whole three-pass scan matches ssdScan.
// Dispatch: (ceil(T / Q), H).
#include "m2_ssd_scan_io.wgsl"

var<workgroup> wCum: array<f32, 32>;
var<workgroup> wM: array<f32, 1024>;

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
    wCum[li] = cum[(t0 + li) * H + h];
  }
  workgroupBarrier();
  let cd = xbcStride();
  let bCol = bColOf(h);
  let cCol = cColOf(h);
  for (var e = li; e < len * len; e += 64u) {
    let i = e / len;
    let s = e % len;
    var m = 0.0;
    if (s <= i) {
      for (var n = 0u; n < N; n++) {
        m += xbc[(t0 + i) * cd + cCol + n] * xbc[(t0 + s) * cd + bCol + n];
      }
      m *= exp(wCum[i] - wCum[s]) * dl[(t0 + s) * H + h];
    }
    wM[i * 32u + s] = m;
  }
  workgroupBarrier();
  let d = params[D_OFF + h];
  let entering = (chunk * H + h) * P * N;
  for (var e = li; e < len * P; e += 64u) {
    let i = e / P;
    let p = e % P;
    var acc = 0.0;
    for (var s = 0u; s <= i; s++) {
      acc += wM[i * 32u + s] * xbc[(t0 + s) * cd + h * P + p];
    }
    var fromState = 0.0;
    for (var n = 0u; n < N; n++) {
      fromState += xbc[(t0 + i) * cd + cCol + n] * cs[entering + p * N + n];
    }
    let x = xbc[(t0 + i) * cd + h * P + p];
    y[(t0 + i) * H * P + h * P + p] = acc + exp(wCum[i]) * fromState + d * x;
  }
}
