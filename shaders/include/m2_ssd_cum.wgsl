// Δ and the running sum of Δ·A over one chunk of the chunked SSD scan, in workgroup memory, shared by
// m2_ssd_chunk_state_tiled and m2_ssd_chunk_state_sgmm (pass 1 of the three passes):
//   wDelta[i] = Δ_i = m2Delta(proj[t0+i, DT_COL + h], h);  wCum[i] = cum_i = Σ_{j≤i} Δ_j · A,  A = −exp(A_log[h])
// and, when `store`, cum [T, H] and dl [T, H] for the later passes. Each running sum is added in token order,
// as the reference adds them (no cross-invocation rounding). Q ≤ 64 and a workgroup of at least Q invocations;
// called by every invocation (two barriers). The includer declares proj, params, cum, dl, LDP, DT_COL and
// A_OFF, and includes m2_delta.wgsl.
// Reference: ssdChunked in src/engine/reference/mamba2.ts.
var<workgroup> wDelta: array<f32, 64>;
var<workgroup> wCum: array<f32, 64>;

fn chunkDeltas(li: u32, len: u32, t0: u32, h: u32, store: bool) {
  if (li < len) {
    wDelta[li] = m2Delta(proj[(t0 + li) * LDP + DT_COL + h], h);
  }
  workgroupBarrier();
  if (li < len) {
    let a = -exp(params[A_OFF + h]);
    var run = 0.0;
    for (var j = 0u; j <= li; j++) {
      run += wDelta[j] * a;
    }
    wCum[li] = run;
    if (store) {
      cum[(t0 + li) * H + h] = run;
      dl[(t0 + li) * H + h] = wDelta[li];
    }
  }
  workgroupBarrier();
}
