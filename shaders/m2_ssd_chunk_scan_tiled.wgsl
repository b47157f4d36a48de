// Chunked SSD scan (Mamba-2 prefill), pass 3 of 3, tiled for GPUs (the hardware variant of m2_ssd_chunk_scan,
// same bindings and results): the outputs of chunk c for head h,
//   y[t0+i, h·P + p] = Σ_{s≤i} M[i, s] · x[t0+s, p]  +  exp(cum_i) · Σ_n C_i[n] · entering[p, n]  +  D[h] · x
//   M[i, s] = exp(cum_i − cum_s) · (C_i · B_s) · Δ_s        (the masked intra-chunk "attention", s ≤ i)
// with B, C of group g = h / (H / G). Workgroup (chunk, h, z) makes outputs p0 = 64·z .. p0 + 63 of the chunk's
// Q tokens; 256 invocations (ty, tx) = (li / 16, li % 16) own rows i = ty + 16·a (a < Q / 16) and, in
// registers, M[i, tx + 16·b] (b < Q / 16) and y[i, p0 + tx + 16·j] (j < 4).
//   1. N in slices of NK (8 or 16): C, B (both [NK][Q]) and the entering state ([NK][64], p minor) staged in
//      workgroup memory; each slice adds to C·Bᵀ and to C·entering at once (they share C). The next slice's
//      values are loaded into registers before this slice is multiplied, so their latency overlaps the work.
//      Register blocks of M that the mask empties entirely (16·b > 16·a + 15) are skipped.
//   2. M is masked and weighted, the state part scaled by exp(cum_i).
//   3. M·x in slices of 16 source tokens: the slice's columns of M (from registers) and x rows [16][64] in
//      workgroup memory.
// Shapes: xbc f32 [T, CD] (x [H·P] | B [G·N] | C [G·N]), params f32 (D [H] at D_OFF), cum f32 [T, H],
// dl f32 [T, H], cs f32 [ceil(T/Q), H, P, N] (entering states, from pass 2), y f32 [T, H·P].
// Q a multiple of 16, at most 64 (any P, N, G dividing H).
// Reference: ssdChunked in src/engine/reference/mamba2.ts; the whole three-pass scan matches ssdScan.
// Dispatch: (ceil(T / Q), H, ceil(P / 64)).
#include "m2_ssd_scan_io.wgsl"

// N per staged slice: 8 or 16 (M2SsdChoice.nk; bench/m2-ssd-bench.ts measures both).
override NK: u32 = 16u;
// Staged rows are 65 floats apart so the staging stores (NK consecutive invocations: one row, NK values of n)
// spread over the banks.
const LD = 65u;
var<workgroup> wCum: array<f32, 64>;
var<workgroup> wDl: array<f32, 64>;
// Phase 1: C at 0, B at 16·LD, the entering state at 32·LD (each [NK][LD]). Phase 3 reuses the space: M's
// columns of one slice [Q][16] at 0, x rows [16][64] at 1024.
var<workgroup> wA: array<f32, 3120>;
const W_B = 1040u;
const W_S = 2080u;
const W_X = 1024u;

// The values of slice n0 that invocation li stages: entries e = li + 256·q (q < NK / 4) of [64 rows][NK],
// row r = e / NK, n = n0 + e % NK (NK consecutive invocations read consecutive floats of one row).
struct Slice {
  c: vec4f,
  b: vec4f,
  s: vec4f,
}

fn loadSlice(li: u32, n0: u32, t0: u32, len: u32, h: u32, p0: u32) -> Slice {
  var out: Slice;
  let cd = xbcStride();
  let entering = (t0 / Q * H + h) * P * N;
  for (var q = 0u; q < NK / 4u; q++) {
    let e = li + 256u * q;
    let r = e / NK;
    let n = n0 + e % NK;
    if (n < N) {
      if (r < len) {
        out.c[q] = xbc[(t0 + r) * cd + cColOf(h) + n];
        out.b[q] = xbc[(t0 + r) * cd + bColOf(h) + n];
      }
      if (p0 + r < P) {
        out.s[q] = cs[entering + (p0 + r) * N + n];
      }
    }
  }
  return out;
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
  let p0 = wid.z * 64u;
  if (li < len) {
    wCum[li] = cum[(t0 + li) * H + h];
    wDl[li] = dl[(t0 + li) * H + h];
  }
  let tq = Q / 16u;
  let cd = xbcStride();
  let tx = li % 16u;
  let ty = li / 16u;
  var m: array<vec4f, 4>;
  var acc: array<vec4f, 4>;
  var next = loadSlice(li, 0u, t0, len, h, p0);
  for (var n0 = 0u; n0 < N; n0 += NK) {
    workgroupBarrier();
    for (var q = 0u; q < NK / 4u; q++) {
      let e = li + 256u * q;
      let at = (e % NK) * LD + e / NK;
      wA[at] = next.c[q];
      wA[W_B + at] = next.b[q];
      wA[W_S + at] = next.s[q];
    }
    workgroupBarrier();
    if (n0 + NK < N) {
      next = loadSlice(li, n0 + NK, t0, len, h, p0);
    }
    for (var kk = 0u; kk < NK; kk++) {
      let row = kk * LD;
      let s = vec4f(wA[W_S + row + tx], wA[W_S + row + tx + 16u], wA[W_S + row + tx + 32u], wA[W_S + row + tx + 48u]);
      var bv = vec4f(0.0);
      for (var b = 0u; b < tq; b++) {
        bv[b] = wA[W_B + row + tx + 16u * b];
      }
      for (var a = 0u; a < tq; a++) {
        let c = wA[row + ty + 16u * a];
        acc[a] += c * s;
        for (var b = 0u; b <= a; b++) {
          m[a][b] += c * bv[b];
        }
      }
    }
  }
  // Mask and weight M; scale the state part by exp(cum_i).
  for (var a = 0u; a < tq; a++) {
    let i = ty + 16u * a;
    let ci = wCum[min(i, len - 1u)];
    acc[a] *= exp(ci);
    for (var b = 0u; b <= a; b++) {
      let s = tx + 16u * b;
      var w = 0.0;
      if (s <= i && i < len) {
        w = exp(ci - wCum[s]) * wDl[s];
      }
      m[a][b] *= w;
    }
  }
  let xCol = h * P + p0;
  for (var b = 0u; b < tq; b++) {
    if (16u * b < len) {
      workgroupBarrier();
      for (var a = 0u; a < tq; a++) {
        wA[(ty + 16u * a) * 16u + tx] = m[a][b];
      }
      for (var e = li; e < 1024u; e += 256u) {
        let k = e / 64u;
        let p = e % 64u;
        let s = 16u * b + k;
        var xv = 0.0;
        if (s < len && p0 + p < P) {
          xv = xbc[(t0 + s) * cd + xCol + p];
        }
        wA[W_X + e] = xv;
      }
      workgroupBarrier();
      for (var k = 0u; k < 16u; k++) {
        let xk = W_X + k * 64u;
        let xv = vec4f(wA[xk + tx], wA[xk + tx + 16u], wA[xk + tx + 32u], wA[xk + tx + 48u]);
        for (var a = b; a < tq; a++) {
          acc[a] += wA[(ty + 16u * a) * 16u + k] * xv;
        }
      }
    }
  }
  let d = params[D_OFF + h];
  for (var a = 0u; a < tq; a++) {
    let i = ty + 16u * a;
    if (i < len) {
      let r = (t0 + i) * cd + xCol;
      for (var j = 0u; j < 4u; j++) {
        let p = tx + 16u * j;
        if (p0 + p < P) {
          y[(t0 + i) * H * P + xCol + p] = acc[a][j] + d * xbc[r + p];
        }
      }
    }
  }
}
