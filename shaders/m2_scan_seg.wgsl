// Mamba-2's SSM recurrence token by token over a chunk of T tokens cut into segments, each continuing from and
// updating its own state slot (batched prefill and decode, src/engine/mamba2/batch.ts): m2_scan_step.wgsl per
// segment. Invocation (r, s), r = h·P + p, owns row p of head h's state in segment s's slot and walks the
// segment's tokens; per token t
//   Δ = m2Delta(proj[t, DT_COL + h], h);  decay = exp(−exp(A_log[h]) · Δ);  x = xbc[t, r]
//   state[p, n] = decay · state[p, n] + Δ · x · B[t, g, n];   y[t, r] = Σ_n state[p, n] · C[t, g, n] + D[h]·x
// with g = h / (H / G) (B and C shared by the heads of a group); the invocation with p = 0 adds the segment's
// Σ Δ to the slot's dtSum[h]. The state row stays in memory, as in m2_scan_step (N floats, 128 in the released
// models: too many for registers). One invocation owns a (slot, row) pair, so the slot's read and write are
// race-free; no two segments of a chunk may share a slot. A batch gives H·P × S invocations (1,536 × S at
// 130m size).
// Shapes: segs u32 [2 + 2·S]: S, then (start, slot) per segment in token order, then T (the end of the last);
// xbc f32 [T, CD] (x [H·P] | B [G·N] | C [G·N]), proj f32 [T, LDP] (raw Δ at DT_COL), params f32 (dt_bias [H]
// at DTB_OFF, A_log [H] at A_OFF, D [H] at D_OFF), slots f32 [slots, STRIDE] (ssm [H, P, N] at SSM_OFF,
// dtSum [H] at DTS_OFF within a slot), y f32 [T, H·P].
// The per-token step is include/m2_scan_token.wgsl's m2ScanToken, shared with m2_scan_step.wgsl.
// Reference: ssdScan in src/engine/reference/mamba2.ts, per sequence (tests/kernels.mamba2-batch.test.ts).
// Dispatch: (ceil(H·P / 64), S) or more along y (extra invocations return).
#include "m2_scan_token.wgsl"

#include "m2_scan_seg_io.wgsl"

// The slots m2ScanToken updates.
fn ssmAt(i: u32) -> f32 {
  return slots[i];
}

fn ssmSet(i: u32, v: f32) {
  slots[i] = v;
}

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3u) {
  let r = gid.x;
  let seg = gid.y;
  if (r >= H * P || seg >= segs[0]) {
    return;
  }
  let first = segs[1u + 2u * seg];
  let slot = segs[2u + 2u * seg] * STRIDE;
  let end = segs[3u + 2u * seg];
  let h = r / P;
  let negA = -exp(params[A_OFF + h]);
  let dSkip = params[D_OFF + h];
  let row = slot + SSM_OFF + r * N;
  var sum = 0.0;
  for (var t = first; t < end; t++) {
    sum += m2ScanToken(t, r, row, negA, dSkip);
  }
  if (r % P == 0u) {
    slots[slot + DTS_OFF + h] += sum;
  }
}
