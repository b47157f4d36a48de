#include "sgmm_enables.wgsl"
// Chunked SSD scan (Mamba-2 prefill), pass 3 of 3 on subgroup matrices (tensor cores; same bindings and results
// as m2_ssd_chunk_scan_tiled): the outputs of chunk c for head h,
//   y[t0+i, h·P + p] = Σ_{s≤i} M[i, s] · x[t0+s, p]  +  exp(cum_i) · Σ_n C_i[n] · entering[p, n]  +  D[h] · x
//   M[i, s] = exp(cum_i − cum_s) · (C_i · B_s) · Δ_s        (the masked intra-chunk "attention", s ≤ i)
// with B, C of group g = h / (H / G). Workgroup (chunk, h, z) makes outputs p0 = 64·z .. p0 + 63 of the chunk's
// Q tokens: Q / 4 result tiles (a, j) of 16 tokens × 16 outputs, tile sg + 8·u (u < TPS) owned by subgroup sg
// of 8, with the tile (a, j) of C·Bᵀ beside it where j ≤ a (the causal half).
//   1. N in slices of 32: C, B ([Q][32]) and the entering state ([64][32]) staged as f16; each slice adds to
//      C·Bᵀ and C·enteringᵀ (they share C's left matrix).
//   2. Each C·Bᵀ tile goes through the subgroup's f32 patch to be masked and weighted into M (f16, [Q][Q]);
//      x [Q][64] is staged as f16 where the slices were.
//   3. M·x: tile (a, j) sums M(a, b)·x(b, j) over b ≤ a.
//   4. Each tile's C·enteringᵀ and M·x go through the patch: y = exp(cum_i)·(C·enteringᵀ) + M·x + D·x (x in
//      f32), stored inside P.
// Operands are f16 (f32 sums, f32 Δ and cum, f32 entering states in memory), so this runs only for f16 models
// (mamba2/decisions.ts m2SsdPlan).
// Shapes: xbc f32 [T, CD] (x [H·P] | B [G·N] | C [G·N]), params f32 (D [H] at D_OFF), cum f32 [T, H],
// dl f32 [T, H], cs f32 [ceil(T/Q), H, P, N] (entering states, from pass 2), y f32 [T, H·P].
// Q = 16, 32, 48 or 64; subgroups of 32 (workgroup memory: max((2·Q + 64)·40, Q·(Q + 8) + Q·72) halves and 8 KB
// of patches).
// Reference: ssdChunked in src/engine/reference/mamba2.ts on f16-rounded operands; tests/kernels.m2-ssd-sgmm.test.ts
// runs the EMULATE build (include/sgmm_ops.wgsl) against the float64 recurrence.
// Dispatch: (ceil(T / Q), H, ceil(P / 64)), workgroup 256.
#include "m2_ssd_scan_io.wgsl"
#include "sgmm_ops.wgsl"
#include "sgmm_wg.wgsl"

const SN = 16u;
const BLK = 64u; // outputs p per workgroup
const NS = 32u; // state entries per staged slice
// Staged row strides in halves (rows 16-byte aligned, spread over the banks): slices, M, x.
const LDN = NS + 8u;
override LDM: u32 = Q + 8u;
const LDX = BLK + 8u;
// Phase 1: C [Q][LDN] at 0, B at C_B, the entering state [64][LDN] at C_E. Phases 2-3: M [Q][LDM] at 0, x
// [Q][LDX] at M_X.
override C_B: u32 = Q * LDN;
override C_E: u32 = 2u * Q * LDN;
override M_X: u32 = Q * LDM;
override HS: u32 = max(C_E + BLK * LDN, M_X + Q * LDX);
var<workgroup> hs: array<Half, HS>;
var<workgroup> fs: array<f32, 2048>; // [subgroup][16 × 16]
var<workgroup> wCum: array<f32, 64>;
var<workgroup> wDl: array<f32, 64>;

var<private> lane: u32;
// Result tiles per subgroup: Q / 4 tiles over 8 subgroups.
override TPS: u32 = (Q / 4u + 7u) / 8u;

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) li: u32) {
  let chunk = wid.x;
  let h = wid.y;
  let len = chunkLen(chunk);
  if (len == 0u) {
    return;
  }
  let t0 = chunk * Q;
  let p0 = wid.z * BLK;
  let sg = li / 32u;
  lane = li % 32u;
  if (li < len) {
    wCum[li] = cum[(t0 + li) * H + h];
    wDl[li] = dl[(t0 + li) * H + h];
  }
  let cd = xbcStride();
  let entering = (chunk * H + h) * P * N;
  // Tile u of this subgroup: tokens 16·a.., outputs 16·j.. (valid while sg + 8·u < Q / 4).
  let tile0 = sg;
  let tile1 = sg + 8u;
  let ok0 = tile0 < Q / 4u;
  let ok1 = TPS > 1u && tile1 < Q / 4u;
  let a0 = tile0 / 4u;
  let j0 = tile0 % 4u;
  let a1 = tile1 / 4u;
  let j1 = tile1 % 4u;
  var s0 = zero(); // C·enteringᵀ
  var s1 = zero();
  var m0 = zero(); // C·Bᵀ
  var m1 = zero();
  for (var n0 = 0u; n0 < N; n0 += NS) {
    workgroupBarrier();
    // C and B: entry e of [Q][NS] (NS consecutive invocations read one row); the state: [64][NS].
    for (var e = li; e < Q * NS; e += 256u) {
      let i = e / NS;
      let k = e % NS;
      var cv = 0.0;
      var bv = 0.0;
      if (i < len && n0 + k < N) {
        let r = (t0 + i) * cd;
        cv = xbc[r + cColOf(h) + n0 + k];
        bv = xbc[r + bColOf(h) + n0 + k];
      }
      hs[i * LDN + k] = toH(cv);
      hs[C_B + i * LDN + k] = toH(bv);
    }
    for (var e = li; e < BLK * NS; e += 256u) {
      let p = e / NS;
      let k = e % NS;
      var sv = 0.0;
      if (p0 + p < P && n0 + k < N) {
        sv = cs[entering + (p0 + p) * N + n0 + k];
      }
      hs[C_E + p * LDN + k] = toH(sv);
    }
    workgroupBarrier();
    for (var kk = 0u; kk < NS; kk += 16u) {
      if (ok0) {
        let c = leftRows(16u * a0 * LDN + kk, LDN);
        s0 = mma(c, rightCols(C_E + 16u * j0 * LDN + kk, LDN), s0);
        if (j0 <= a0) {
          m0 = mma(c, rightCols(C_B + 16u * j0 * LDN + kk, LDN), m0);
        }
      }
      if (ok1) {
        let c = leftRows(16u * a1 * LDN + kk, LDN);
        s1 = mma(c, rightCols(C_E + 16u * j1 * LDN + kk, LDN), s1);
        if (j1 <= a1) {
          m1 = mma(c, rightCols(C_B + 16u * j1 * LDN + kk, LDN), m1);
        }
      }
    }
  }
  workgroupBarrier();
  // M's tiles, masked and weighted, over the slices' space; then x.
  weigh(m0, ok0 && j0 <= a0, sg, a0, j0, len);
  weigh(m1, ok1 && j1 <= a1, sg, a1, j1, len);
  let xCol = h * P + p0;
  for (var e = li; e < Q * BLK; e += 256u) {
    let s = e / BLK;
    let p = e % BLK;
    var xv = 0.0;
    if (s < len && p0 + p < P) {
      xv = xbc[(t0 + s) * cd + xCol + p];
    }
    hs[M_X + s * LDX + p] = toH(xv);
  }
  workgroupBarrier();
  var y0 = zero();
  var y1 = zero();
  if (ok0) {
    for (var b = 0u; b <= a0; b++) {
      y0 = mma(leftRows(16u * a0 * LDM + 16u * b, LDM), rightRows(M_X + 16u * b * LDX + 16u * j0, LDX), y0);
    }
  }
  if (ok1) {
    for (var b = 0u; b <= a1; b++) {
      y1 = mma(leftRows(16u * a1 * LDM + 16u * b, LDM), rightRows(M_X + 16u * b * LDX + 16u * j1, LDX), y1);
    }
  }
  let d = params[D_OFF + h];
  finish(s0, y0, ok0, sg, a0, j0, len, t0, h, p0, d);
  if (TPS > 1u) {
    finish(s1, y1, ok1, sg, a1, j1, len, t0, h, p0, d);
  }
}

// Tile (a, j) of C·Bᵀ into M: exp(cum_i − cum_s)·Δ_s where s ≤ i < len, else 0, rounded to f16. Called by
// every invocation (barriers); `own` says whether this subgroup has such a tile.
fn weigh(m: Acc, own: bool, sg: u32, a: u32, j: u32, len: u32) {
  if (own) {
    storeF(m, sg * 256u, 16u);
  }
  workgroupBarrier();
  if (own) {
    for (var q = lane; q < 256u; q += 32u) {
      let i = 16u * a + q / 16u;
      let s = 16u * j + q % 16u;
      var w = 0.0;
      if (s <= i && i < len) {
        w = exp(wCum[i] - wCum[s]) * wDl[s];
      }
      hs[i * LDM + s] = toH(w * fs[sg * 256u + q]);
    }
  }
  workgroupBarrier();
}

// Tile (a, j) of the outputs: exp(cum_i)·(C·enteringᵀ) + M·x + D·x for tokens inside the chunk and outputs inside
// P. Both sums go through the subgroup's patch in turn. Called by every invocation (barriers).
fn finish(s: Acc, mx: Acc, own: bool, sg: u32, a: u32, j: u32, len: u32, t0: u32, h: u32, p0: u32, d: f32) {
  if (own) {
    storeF(s, sg * 256u, 16u);
  }
  workgroupBarrier();
  var v: array<f32, 8>;
  if (own) {
    for (var u = 0u; u < 8u; u++) {
      let q = lane + 32u * u;
      let i = 16u * a + q / 16u;
      v[u] = exp(wCum[min(i, len - 1u)]) * fs[sg * 256u + q];
    }
  }
  workgroupBarrier();
  if (own) {
    storeF(mx, sg * 256u, 16u);
  }
  workgroupBarrier();
  if (own) {
    for (var u = 0u; u < 8u; u++) {
      let q = lane + 32u * u;
      let i = 16u * a + q / 16u;
      let p = 16u * j + q % 16u;
      if (i < len && p0 + p < P) {
        let col = h * P + p0 + p;
        y[(t0 + i) * H * P + col] = v[u] + fs[sg * 256u + q] + d * xbc[(t0 + i) * xbcStride() + col];
      }
    }
  }
  workgroupBarrier();
}
