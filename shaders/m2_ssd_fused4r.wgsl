#variant m2_ssd_fused4r
#variant m2_ssd_fused4r_gate GATE
// Chunked SSD scan (Mamba-2 prefill), fused variant for GPUs with four state rows an invocation, pass 2 of 2
// (after m2_ssd_cb). The same recurrence as m2_ssd_fused: workgroup (z, h) carries the state rows p0 .. p0 + 15
// (p0 = 16·z) of head h through every chunk of 16 tokens in registers. Per chunk c (tokens t0 = 16·c ..), with S
// the state entering it:
//   Δ_s = m2Delta(proj[t0+s, DT_COL + h], h);  cum_t = Σ_{s≤t} Δ_s · A,  A = −exp(A_log[h])
//   y[t0+t, h·P + p] = exp(cum_t) · Σ_n C_t[n] · S[p, n]                        (a: the entering state)
//                    + Σ_{s≤t} exp(cum_t − cum_s) · cb[c, g, t, s] · Δ_s · x_s[p]  (the intra-chunk part)
//                    + D[h] · x_t[p]
//   S[p, n] ← exp(cum_15) · S[p, n] + Σ_s exp(cum_15 − cum_s) · Δ_s · x_s[p] · B_s[n]   (b: the state leaving)
// with B, C of group g = h / (H / G), cb from m2_ssd_cb, and Δ = 0 past the last token.
// Why another layout: m2_ssd_fused gives each of its 256 invocations 2 rows × 4 n of S, so every vec4 of C or B
// it reads from workgroup memory feeds 8 multiply-adds; about 1 KB reaches each invocation per chunk for 256
// multiply-adds, and at 2.7b the kernel took as long per workgroup and chunk with two or three workgroups an SM
// as with one (bench/RESULTS.md, sessions 7 and 14), as if bound by what workgroup memory delivers. Here each of
// 128 invocations holds 4 rows × 4 n, so a vec4 of C or B feeds 16 multiply-adds, about 1 KB an invocation per
// chunk for 512 of them, half the bytes per multiply-add.
// Invocation li: rows 4·pg .. + 3 (pg = li / 32), n = 4·nb .. + 3 (nb = li % 32). (a)'s 64 partial sums
// (16 t × 4 rows) are summed over the 32 invocations of nb by a halving butterfly (masks 16, 8, 4, 2, 1, each
// invocation keeping half), with subgroupShuffleXor where the mask is below SGS (subgroups of at least SGS
// consecutive invocations: 32 on NVIDIA) and through workgroup memory above it (SwiftShader's subgroups of 4,
// or SGS 1 for none). After it invocation li holds token t = b1 + 2·b2 + 4·b3 + 8·b4 and rows 4·pg + 2·b0,
// + 1 (bk: bit k of nb), and stores those two outputs.
// Per chunk: the chunk's C, B, x, Δ and cb are loaded into registers during the chunk before (PREFETCH) and
// staged at its start; M[t][s] = exp(cum_t − cum_s)·cb·Δ_s and u[s][p] = exp(cum_15 − cum_s)·Δ_s·x_s[p] go to
// workgroup memory; two barriers (more in the workgroup-memory rounds). No private array is indexed at run time.
// Head h's Σ Δ over the T tokens is added to dtSum[h] by the workgroups with z = 0.
// _gate (GATE): the outputs gated and weighted for the folded norm, Σ g² per token to gss (the include says how).
// Shapes: xbc f32 [T, CD] (x [H·P] | B [G·N] | C [G·N]), proj f32 [T, LDP] (raw Δ at DT_COL), params f32
// (dt_bias at DTB_OFF, A_log [H] at A_OFF, D [H] at D_OFF), cb f32 [ceil(T/16), G, 16, 16], state f32 (ssm
// [H, P, N] at SSM_OFF, dtSum [H] at DTS_OFF), y f32 [T, H·P]. Q = 16, N ≤ 128, any P and G | H.
// Reference: ssdScan in src/engine/reference/mamba2.ts (the recurrence).
// Dispatch: (ceil(P / 16), H).
enable subgroups;

#include "m2_ssd_fused_common.wgsl"

// Butterfly masks below SGS go through subgroupShuffleXor, the others through workgroup memory.
override SGS: u32 = 32u;

// State rows per workgroup, and invocations: 32 (one per 4 n of 128) for every 4 rows.
const RP = 16u;
const WGS = 128u;
// Staged rows of C and B hold 128 values (zeros past N) as 32 vec4s: C_t at vec4 32·t of wC, B_s at 32·s of wB.
const NV = 32u;
var<workgroup> wC: array<vec4f, 512>;
var<workgroup> wB: array<vec4f, 512>;
// x_s[p] for p = 2·k, 2·k + 1 at vec2 s·RP/2 + k.
var<workgroup> wX: array<vec2f, 128>;
// M[t][s] at vec4 4·t + s/4; u[s][p] at vec4 s·RP/4 + p/4 (Δ is in the include's wDl).
var<workgroup> wM: array<vec4f, 64>;
var<workgroup> wU: array<vec4f, 64>;
// The butterfly's exchanges through workgroup memory (one vec4 an invocation; 1 entry where SGS covers them all).
var<workgroup> wRed: array<vec4f, select(1u, WGS, SGS < NV)>;

// What one invocation stages per chunk: vec4s v = li + 128·k (k = 0 .. 7) of the chunk's [C, B][16 rows][32
// vec4s]: n = 4·(li % 32) .., row (li / 32 + 4·k) % 16, B from k = 4 (a warp reads one row's 128 consecutive
// floats; whole vec4s go to workgroup memory: 32 single-float stores into vec4 components crashed SwiftShader's
// shader compiler, see m2_ssd_fused8); x entries li and li + 128 of [16 s][16 p], the raw Δ of token li
// (li < 16), and entries li and li + 128 of the chunk's cb [16 t][16 s].
struct Stage {
  c0: vec4f,
  c1: vec4f,
  c2: vec4f,
  c3: vec4f,
  b0: vec4f,
  b1: vec4f,
  b2: vec4f,
  b3: vec4f,
  x0: f32,
  x1: f32,
  dt: f32,
  m0: f32,
  m1: f32,
#ifdef GATE
  z: vec2f,
#endif
}

// The outputs invocation li stores after the butterfly: token outToken(li), rows outRow(li) and outRow(li) + 1.
fn outToken(li: u32) -> u32 {
  let nb = li % NV;
  return ((nb >> 1u) & 1u) + 2u * ((nb >> 2u) & 1u) + 4u * ((nb >> 3u) & 1u) + 8u * ((nb >> 4u) & 1u);
}

fn outRow(li: u32) -> u32 {
  return 4u * (li / NV) + 2u * (li % 2u);
}

// Staged vec4 k of this invocation: row r = (li / 32 + 4·k) % 16 of C or B (`col`), n = 4·(li % 32) ..; zeros
// past the chunk's length or N.
fn rowValues(li: u32, k: u32, col: u32, t0: u32, len: u32) -> vec4f {
  let r = (li / NV + 4u * k) % QF;
  let n0 = 4u * (li % NV);
  let at = (t0 + r) * xbcStride() + col + n0;
  var out = vec4f(0.0);
  for (var j = 0u; j < 4u; j++) {
    if (r < len && n0 + j < N) {
      out[j] = xbc[at + j];
    }
  }
  return out;
}

// x_s[p] at entry e = s·RP + p, 0 past the chunk or P.
fn xValue(e: u32, h: u32, p0: u32, t0: u32, len: u32) -> f32 {
  let s = e / RP;
  let p = e % RP;
  var v = 0.0;
  if (s < len && p0 + p < P) {
    v = xbc[(t0 + s) * xbcStride() + h * P + p0 + p];
  }
  return v;
}

fn loadStage(li: u32, c: u32, h: u32, p0: u32) -> Stage {
  var st: Stage;
  let len = chunkLen(c);
  let t0 = c * QF;
  let cc = cColOf(h);
  let bc = bColOf(h);
  st.c0 = rowValues(li, 0u, cc, t0, len);
  st.c1 = rowValues(li, 1u, cc, t0, len);
  st.c2 = rowValues(li, 2u, cc, t0, len);
  st.c3 = rowValues(li, 3u, cc, t0, len);
  st.b0 = rowValues(li, 0u, bc, t0, len);
  st.b1 = rowValues(li, 1u, bc, t0, len);
  st.b2 = rowValues(li, 2u, bc, t0, len);
  st.b3 = rowValues(li, 3u, bc, t0, len);
  st.x0 = xValue(li, h, p0, t0, len);
  st.x1 = xValue(li + WGS, h, p0, t0, len);
  st.dt = 0.0;
  if (li < len) {
    st.dt = proj[(t0 + li) * LDP + DT_COL + h];
  }
  let at = (c * G + h / (H / G)) * 256u;
  st.m0 = cb[at + li];
  st.m1 = cb[at + li + WGS];
#ifdef GATE
  // z of this invocation's two outputs.
  let tz = outToken(li);
  let pz = p0 + outRow(li);
  st.z = vec2f(0.0);
  if (tz < len && pz < P) {
    st.z.x = zAt(t0 + tz, h, pz);
  }
  if (tz < len && pz + 1u < P) {
    st.z.y = zAt(t0 + tz, h, pz + 1u);
  }
#endif
  return st;
}

// Staged vec4 k (rowValues) into wC or wB: vec4 li + 128·k of the [16 rows][32 vec4s].
fn putRows(li: u32, k: u32, v: vec4f, isB: bool) {
  if (isB) {
    wB[li + WGS * k] = v;
  } else {
    wC[li + WGS * k] = v;
  }
}

fn putX(e: u32, v: f32) {
  wX[e / 2u][e % 2u] = v;
}

// The partner's v in the butterfly round of `mask` (li ^ mask): a shuffle within the subgroup, or through
// workgroup memory (the first barrier: every invocation has read the last exchange).
fn exchange(v: vec4f, mask: u32, li: u32) -> vec4f {
  if (mask < SGS) {
    return subgroupShuffleXor(v, mask);
  }
  workgroupBarrier();
  wRed[li] = v;
  workgroupBarrier();
  return wRed[li ^ mask];
}

// One round: keep `lo` (upper false) or `hi` (upper true), plus the partner's copy of it.
fn keepHalf(lo: vec4f, hi: vec4f, mask: u32, upper: bool, li: u32) -> vec4f {
  return select(lo, hi, upper) + exchange(select(hi, lo, upper), mask, li);
}

// (a)'s partial sums for token t: this invocation's 4 n of C_t · S for its 4 rows.
fn part(t: u32, nb: u32, s0: vec4f, s1: vec4f, s2: vec4f, s3: vec4f) -> vec4f {
  let ct = wC[t * NV + nb];
  return vec4f(dot(ct, s0), dot(ct, s1), dot(ct, s2), dot(ct, s3));
}

@compute @workgroup_size(WGS)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) li: u32) {
  let h = wid.y;
  let p0 = wid.x * RP;
  let chunks = (dims.T + QF - 1u) / QF;
  let a = -exp(params[A_OFF + h]);
  let d = params[D_OFF + h];
  let pg = li / NV;
  let nb = li % NV;
  let nb4 = 4u * nb;
  let row0 = SSM_OFF + (h * P + p0 + 4u * pg) * N;
  let live0 = p0 + 4u * pg < P;
  let live1 = p0 + 4u * pg + 1u < P;
  let live2 = p0 + 4u * pg + 2u < P;
  let live3 = p0 + 4u * pg + 3u < P;
  var s0 = loadState4(row0, nb4, live0);
  var s1 = loadState4(row0 + N, nb4, live1);
  var s2 = loadState4(row0 + 2u * N, nb4, live2);
  var s3 = loadState4(row0 + 3u * N, nb4, live3);
  // The butterfly's ownership: bit k of nb says which half round 5 − k keeps.
  let u4 = (nb & 16u) != 0u;
  let u3 = (nb & 8u) != 0u;
  let u2 = (nb & 4u) != 0u;
  let u1 = (nb & 2u) != 0u;
  let u0 = (nb & 1u) != 0u;
  let tOut = outToken(li);
  let pOut = outRow(li);
  // M's entries li, li + 128: (t, s) = (i / 16, i % 16); u's entries li, li + 128: (s, p) = (i / RP, i % RP).
  let mt0 = li / 16u;
  let mt1 = mt0 + 8u;
  let ms = li % 16u;
  let us0 = li / RP;
  let us1 = us0 + WGS / RP;
  let up = li % RP;
  var dtSum = 0.0;
#ifdef GATE
  let gw0 = select(0.0, params[GW_OFF + h * P + p0 + pOut], p0 + pOut < P);
  let gw1 = select(0.0, params[GW_OFF + h * P + p0 + pOut + 1u], p0 + pOut + 1u < P);
#endif
  var st: Stage;
  if (PREFETCH) {
    st = loadStage(li, 0u, h, p0);
  }
  for (var c = 0u; c < chunks; c++) {
    let len = chunkLen(c);
    let t0 = c * QF;
    if (!PREFETCH) {
      st = loadStage(li, c, h, p0);
    }
    // The previous chunk's C, B, x, M, u and Δ are read by now.
    workgroupBarrier();
#ifdef GATE
    // and its g² are all in wSq.
    if (c > 0u) {
      flushSq(li, t0 - QF, QF, h, wid.x);
    }
    let zNow = st.z;
#endif
    putRows(li, 0u, st.c0, false);
    putRows(li, 1u, st.c1, false);
    putRows(li, 2u, st.c2, false);
    putRows(li, 3u, st.c3, false);
    putRows(li, 0u, st.b0, true);
    putRows(li, 1u, st.b1, true);
    putRows(li, 2u, st.b2, true);
    putRows(li, 3u, st.b3, true);
    putX(li, st.x0);
    putX(li + WGS, st.x1);
    dtSum += stageDelta(li, st.dt, len, h);
    let cb0 = st.m0;
    let cb1 = st.m1;
    workgroupBarrier();
    if (PREFETCH && c + 1u < chunks) {
      st = loadStage(li, c + 1u, h, p0);
    }
    // The chunk's Δ and their running sums (before the factor A) in registers.
    let ck = chunkCum();
    let cumLast = a * ck.c3.w;
    let cumS = a * cumAt(ck, ms);
    let dS = deltaAt(ck, ms);
    wM[li / 4u][li % 4u] = select(0.0, exp(a * cumAt(ck, mt0) - cumS) * dS * cb0, ms <= mt0);
    wM[li / 4u + 32u][li % 4u] = select(0.0, exp(a * cumAt(ck, mt1) - cumS) * dS * cb1, ms <= mt1);
    let xu0 = wX[(us0 * RP + up) / 2u][up % 2u];
    let xu1 = wX[(us1 * RP + up) / 2u][up % 2u];
    let cu0 = a * cumAt(ck, us0);
    let cu1 = a * cumAt(ck, us1);
    wU[(us0 * RP + up) / 4u][up % 4u] = exp(cumLast - cu0) * deltaAt(ck, us0) * xu0;
    wU[(us1 * RP + up) / 4u][up % 4u] = exp(cumLast - cu1) * deltaAt(ck, us1) * xu1;
    let cumT = a * cumAt(ck, tOut);
    // (a), before S moves on: 16 t × 4 rows, halved five times across the 32 invocations of nb.
    let q0 = keepHalf(part(0u, nb, s0, s1, s2, s3), part(8u, nb, s0, s1, s2, s3), 16u, u4, li);
    let q1 = keepHalf(part(1u, nb, s0, s1, s2, s3), part(9u, nb, s0, s1, s2, s3), 16u, u4, li);
    let q2 = keepHalf(part(2u, nb, s0, s1, s2, s3), part(10u, nb, s0, s1, s2, s3), 16u, u4, li);
    let q3 = keepHalf(part(3u, nb, s0, s1, s2, s3), part(11u, nb, s0, s1, s2, s3), 16u, u4, li);
    let q4 = keepHalf(part(4u, nb, s0, s1, s2, s3), part(12u, nb, s0, s1, s2, s3), 16u, u4, li);
    let q5 = keepHalf(part(5u, nb, s0, s1, s2, s3), part(13u, nb, s0, s1, s2, s3), 16u, u4, li);
    let q6 = keepHalf(part(6u, nb, s0, s1, s2, s3), part(14u, nb, s0, s1, s2, s3), 16u, u4, li);
    let q7 = keepHalf(part(7u, nb, s0, s1, s2, s3), part(15u, nb, s0, s1, s2, s3), 16u, u4, li);
    let r0 = keepHalf(q0, q4, 8u, u3, li);
    let r1 = keepHalf(q1, q5, 8u, u3, li);
    let r2 = keepHalf(q2, q6, 8u, u3, li);
    let r3 = keepHalf(q3, q7, 8u, u3, li);
    let v0 = keepHalf(r0, r2, 4u, u2, li);
    let v1 = keepHalf(r1, r3, 4u, u2, li);
    let w = keepHalf(v0, v1, 2u, u1, li);
    // Round 5 on the pairs of rows: keep rows 0, 1 (xy) or 2, 3 (zw).
    let mine = select(w.xy, w.zw, u0);
    let theirs = exchange(vec4f(select(w.zw, w.xy, u0), 0.0, 0.0), 1u, li);
    let red = mine + theirs.xy;
    // M and u are complete.
    workgroupBarrier();
    // (b): the state leaving the chunk.
    let decay = exp(cumLast);
    s0 *= decay;
    s1 *= decay;
    s2 *= decay;
    s3 *= decay;
    for (var s = 0u; s < QF; s++) {
      let b4 = wB[s * NV + nb];
      let uv = wU[s * (RP / 4u) + pg];
      s0 += uv.x * b4;
      s1 += uv.y * b4;
      s2 += uv.z * b4;
      s3 += uv.w * b4;
    }
    // The outputs (tOut, pOut) and (tOut, pOut + 1): the intra-chunk part from M's row and x, then (a).
    if (tOut < len) {
      var intra = vec2f(0.0);
      for (var sq = 0u; sq < 4u; sq++) {
        let mrow = wM[tOut * 4u + sq];
        intra += mrow.x * wX[(4u * sq) * (RP / 2u) + pOut / 2u];
        intra += mrow.y * wX[(4u * sq + 1u) * (RP / 2u) + pOut / 2u];
        intra += mrow.z * wX[(4u * sq + 2u) * (RP / 2u) + pOut / 2u];
        intra += mrow.w * wX[(4u * sq + 3u) * (RP / 2u) + pOut / 2u];
      }
      var out = exp(cumT) * red + intra + d * wX[tOut * (RP / 2u) + pOut / 2u];
      let at = (t0 + tOut) * H * P + h * P + p0 + pOut;
#ifdef GATE
      out = vec2f(gated(out.x, zNow.x, gw0, tOut, pOut), gated(out.y, zNow.y, gw1, tOut, pOut + 1u));
#endif
      if (p0 + pOut < P) {
        y[at] = out.x;
      }
      if (p0 + pOut + 1u < P) {
        y[at + 1u] = out.y;
      }
    }
  }
#ifdef GATE
  workgroupBarrier();
  if (chunks > 0u) {
    flushSq(li, (chunks - 1u) * QF, chunkLen(chunks - 1u), h, wid.x);
  }
#endif
  storeState4(row0, nb4, live0, s0);
  storeState4(row0 + N, nb4, live1, s1);
  storeState4(row0 + 2u * N, nb4, live2, s2);
  storeState4(row0 + 3u * N, nb4, live3, s3);
  if (wid.x == 0u) {
    addDtSum(li, h, dtSum);
  }
}
