#variant m2_scan_seg_wg
#variant m2_scan_seg_wg_sg SUBGROUP
#ifdef SUBGROUP
enable subgroups;
#endif

// m2_scan_seg.wgsl for GPUs: Mamba-2's SSM recurrence over a chunk of T tokens cut into segments, each
// continuing from and updating its own state slot (batched prefill and decode, src/engine/mamba2/batch.ts).
// Workgroup (p, h, s) owns row r = h·P + p of segment s's slot; its 64 invocations walk n together, invocation
// i holding entries n = i, i + 64, i + 128, i + 192 (N ≤ 256) in registers from the slot's one read before the
// token loop to its one write after it. Per token t of the segment
//   Δ = m2Delta(proj[t, DT_COL + h], h);  decay = exp(−exp(A_log[h]) · Δ);  x = xbc[t, r]
//   state[p, n] = decay · state[p, n] + Δ · x · B[t, g, n];   y[t, r] = Σ_n state[p, n] · C[t, g, n] + D[h]·x
// with g = h / (H / G); the workgroup with p = 0 adds the segment's Σ Δ to the slot's dtSum[h].
// Why: m2_scan_seg gives one invocation a whole row and keeps it in memory, so every token re-reads and
// re-writes N floats, with neighbouring invocations N floats apart (uncoalesced). On the H200 that batched
// path ran slower than the queries one by one (93.4 against 114.3 queries/s at mamba2-130m f16, 13 queries a
// batch; bench/RESULTS.md, session 10). Here each token reads its B and C rows as contiguous runs and touches
// no state in memory.
// The row sums wait in workgroup memory for a block of up to TB tokens, then invocation k sums token k's: two
// barriers per TB tokens instead of a reduction (and its barriers) per token, since the state update needs no
// sum. The plain build stores all 64 partial sums; the _sg build (devices with subgroups) first adds each
// subgroup's with subgroupAdd and stores one per subgroup, at a dense index its elected lane counts out (no
// assumption on how lanes map to invocations).
// Shapes and the segs table as m2_scan_seg.wgsl: segs u32 [2 + 2·S] (S, then (start, slot) per segment in
// token order, then T), xbc f32 [T, CD] (x [H·P] | B [G·N] | C [G·N]), proj f32 [T, LDP] (raw Δ at DT_COL),
// params f32 (dt_bias [H] at DTB_OFF, A_log [H] at A_OFF, D [H] at D_OFF), slots f32 [slots, STRIDE]
// (ssm [H, P, N] at SSM_OFF, dtSum [H] at DTS_OFF within a slot), y f32 [T, H·P]. No two segments of a chunk
// may share a slot.
// Reference: ssdScan in src/engine/reference/mamba2.ts, per sequence (tests/kernels.mamba2-batch.test.ts).
// Dispatch: (P, H, S) or more along z (extra workgroups return); the plan passes min(T, slots) ≥ S.
#include "m2_delta.wgsl"

override H: u32;
override P: u32;
override G: u32;
override N: u32;
override LDP: u32;
override DT_COL: u32;
#include "m2_scan_seg_io.wgsl"

// Tokens per block of row sums, and partial's row stride: one more, so the 64 stores of one token and the TB
// loads of one contributor fall in distinct banks.
const TB = 32u;
const TBP = TB + 1u;
// [contributor, token of the block]: contributor = invocation (plain) or dense subgroup index (_sg).
var<workgroup> partial: array<f32, 64u * TBP>;
#ifdef SUBGROUP
var<workgroup> subgroupCount: atomic<u32>;
#endif

@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) li: u32) {
  let p = wid.x;
  let h = wid.y;
  let seg = wid.z;
  if (p >= P || h >= H || seg >= segs[0]) {
    return;
  }
  let first = segs[1u + 2u * seg];
  let slot = segs[2u + 2u * seg] * STRIDE;
  let end = segs[3u + 2u * seg];
  let r = h * P + p;
  let cd = H * P + 2u * G * N;
  let bCol = H * P + (h / (H / G)) * N;
  let cCol = bCol + G * N;
  let negA = -exp(params[A_OFF + h]);
  let dSkip = params[D_OFF + h];
  let row = slot + SSM_OFF + r * N;
  // Component j holds entry li + 64·j; entries past N stay 0. The j loops have constant bounds, so they unroll
  // and the state stays in registers.
  var st = vec4f(0.0);
  for (var j = 0u; j < 4u; j++) {
    if (li + 64u * j < N) {
      st[j] = slots[row + li + 64u * j];
    }
  }
#ifdef SUBGROUP
  var counted = 0u;
  if (subgroupElect()) {
    counted = atomicAdd(&subgroupCount, 1u);
  }
  let sub = subgroupBroadcastFirst(counted);
  let lead = subgroupElect();
#endif
  var dtSum = 0.0;
  for (var t0 = first; t0 < end; t0 += TB) {
    let count = min(TB, end - t0);
    for (var k = 0u; k < count; k++) {
      let t = t0 + k;
      let delta = m2Delta(proj[t * LDP + DT_COL + h], h);
      let decay = exp(negA * delta);
      let dx = delta * xbc[t * cd + r];
      var part = 0.0;
      for (var j = 0u; j < 4u; j++) {
        let n = li + 64u * j;
        if (n < N) {
          st[j] = decay * st[j] + dx * xbc[t * cd + bCol + n];
          part += st[j] * xbc[t * cd + cCol + n];
        }
      }
      dtSum += delta;
#ifdef SUBGROUP
      let s = subgroupAdd(part);
      if (lead) {
        partial[sub * TBP + k] = s;
      }
#else
      partial[li * TBP + k] = part;
#endif
    }
    workgroupBarrier();
    if (li < count) {
#ifdef SUBGROUP
      let parts = atomicLoad(&subgroupCount);
#else
      let parts = 64u;
#endif
      var sum = 0.0;
      for (var i = 0u; i < parts; i++) {
        sum += partial[i * TBP + li];
      }
      let t = t0 + li;
      y[t * H * P + r] = sum + dSkip * xbc[t * cd + r];
    }
    // The next block's stores wait for these loads.
    workgroupBarrier();
  }
  for (var j = 0u; j < 4u; j++) {
    if (li + 64u * j < N) {
      slots[row + li + 64u * j] = st[j];
    }
  }
  if (p == 0u && li == 0u) {
    slots[slot + DTS_OFF + h] += dtSum;
  }
}
