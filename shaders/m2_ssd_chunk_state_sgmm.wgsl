#include "sgmm_enables.wgsl"
// Chunked SSD scan (Mamba-2 prefill), pass 1 of 3 on subgroup matrices (tensor cores; same bindings and results
// as m2_ssd_chunk_state_tiled, whose f32 register tiles it replaces): per chunk of Q tokens and head h, Δ and
// the running sum of Δ·A, and the state the chunk alone leaves (from zero), a [P × Q]·[Q × N] product with each
// token's weight folded into x:
//   Δ_i = m2Delta(proj[t0+i, DT_COL + h], h);  cum_i = Σ_{j≤i} Δ_j · A,  A = −exp(A_log[h])
//   local[p, n] = Σ_i (exp(cum_last − cum_i) · Δ_i · x[t0+i, h·P + p]) · B[t0+i, g, n],  g = h / (H / G)
// The weighted x and B are rounded to f16 as they are staged (f16 operands, f32 sums), so this runs only for
// f16 models (mamba2/decisions.ts m2SsdPlan); Δ and cum stay f32, as does the recurrence between chunks.
// Workgroup (chunk, h, z) makes the 64 × 64 block of local at p0 = 64·(z / ceil(N/64)), n0 = 64·(z % ceil(N/64)):
// the chunk's weighted x [Q][64] and B [Q][64] are staged whole (zeros past the chunk, P and N), and subgroup
// sg (of 8) sums result tiles (p 16·(sg / 2), n 32·(sg % 2)) and (…, +16) over Q / 16 steps of 16 tokens. The
// tiles go out through a 16 × 16 f32 patch per subgroup, so the stores to cs are coalesced rows and guarded
// at the block's edges.
// Shapes: xbc f32 [T, CD] (x [H·P] | B [G·N] | C [G·N]), proj f32 [T, LDP] (raw Δ at DT_COL), params f32
// (dt_bias at DTB_OFF, A_log [H] at A_OFF), cum f32 [T, H], dl f32 [T, H] (Δ), cs f32 [ceil(T/Q), H, P, N].
// Q = 16, 32, 48 or 64; subgroups of 32 (workgroup memory: 2·Q·72 halves and 8 KB of patches).
// Reference: ssdChunked in src/engine/reference/mamba2.ts on f16-rounded operands; tests/kernels.m2-ssd-sgmm.test.ts
// runs the EMULATE build (include/sgmm_ops.wgsl) against the float64 recurrence.
// Dispatch: (ceil(T / Q), H, ceil(P / 64) · ceil(N / 64)), workgroup 256.
#include "m2_ssd_state_io.wgsl"
#include "m2_ssd_cum.wgsl"
#include "sgmm_ops.wgsl"
#include "sgmm_wg.wgsl"

const SN = 16u;
// P and N of a block; staged rows 72 halves apart (16-byte aligned, spread over the banks).
const BLK = 64u;
const LD = BLK + 8u;
// Weighted x [Q][LD] at 0, B [Q][LD] at XB.
override XB: u32 = Q * LD;
var<workgroup> hs: array<Half, 2u * XB>;
var<workgroup> fs: array<f32, 2048>; // [subgroup][16 × 16]

var<private> lane: u32;

// Tile (pt, nt) of the block (from sg's patch) into cs, inside P and N. Called by every invocation (barriers).
fn emit(c: Acc, sg: u32, base: u32, p0: u32, n0: u32) {
  storeF(c, sg * 256u, 16u);
  workgroupBarrier();
  for (var q = lane; q < 256u; q += 32u) {
    let p = p0 + q / 16u;
    let n = n0 + q % 16u;
    if (p < P && n < N) {
      cs[base + p * N + n] = fs[sg * 256u + q];
    }
  }
  workgroupBarrier();
}

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) li: u32) {
  let chunk = wid.x;
  let h = wid.y;
  let len = chunkLen(chunk);
  if (len == 0u) {
    return;
  }
  let t0 = chunk * Q;
  let nBlocks = (N + BLK - 1u) / BLK;
  let p0 = (wid.z / nBlocks) * BLK;
  let n0 = (wid.z % nBlocks) * BLK;
  let sg = li / 32u;
  lane = li % 32u;
  chunkDeltas(li, len, t0, h, wid.z == 0u);
  let last = wCum[len - 1u];
  let cd = xbcStride();
  let xCol = h * P + p0;
  let bCol = bColOf(h) + n0;
  // Entry e of [Q rows][64]: token e / 64, column e % 64 (64 consecutive invocations read one row).
  for (var e = li; e < Q * BLK; e += 256u) {
    let i = e / BLK;
    let c = e % BLK;
    var xv = 0.0;
    var bv = 0.0;
    if (i < len) {
      let r = (t0 + i) * cd;
      if (p0 + c < P) {
        xv = exp(last - wCum[i]) * wDelta[i] * xbc[r + xCol + c];
      }
      if (n0 + c < N) {
        bv = xbc[r + bCol + c];
      }
    }
    hs[i * LD + c] = toH(xv);
    hs[XB + i * LD + c] = toH(bv);
  }
  workgroupBarrier();
  let pt = 16u * (sg / 2u);
  let nt = 32u * (sg % 2u);
  var c0 = zero();
  var c1 = zero();
  for (var k = 0u; k < Q; k += 16u) {
    // The weighted x transposed: element (p, i) of the left matrix sits at i·LD + p.
    let a = leftCols(k * LD + pt, LD);
    c0 = mma(a, rightRows(XB + k * LD + nt, LD), c0);
    c1 = mma(a, rightRows(XB + k * LD + nt + 16u, LD), c1);
  }
  let base = (chunk * H + h) * P * N;
  emit(c0, sg, base, p0 + pt, n0 + nt);
  emit(c1, sg, base, p0 + pt, n0 + nt + 16u);
}
