#variant m2_ssd_fused
#variant m2_ssd_fused8 ROWS8
#variant m2_ssd_fused_gate GATE
#variant m2_ssd_fused8_gate ROWS8 GATE
// Chunked SSD scan (Mamba-2 prefill), fused variant for GPUs, pass 2 of 2: workgroup (z, h) carries the state
// rows p0 .. p0 + 15 (p0 = 16·z) of head h through every chunk of 16 tokens, in registers, so the states
// entering the chunks never go to memory (the three-pass variant writes them all and reads them twice). Per
// chunk c (tokens t0 = 16·c ..), with S the state entering it:
//   Δ_s = m2Delta(proj[t0+s, DT_COL + h], h);  cum_t = Σ_{s≤t} Δ_s · A,  A = −exp(A_log[h])
//   y[t0+t, h·P + p] = exp(cum_t) · Σ_n C_t[n] · S[p, n]                        (a: the entering state)
//                    + Σ_{s≤t} exp(cum_t − cum_s) · cb[c, g, t, s] · Δ_s · x_s[p]  (the intra-chunk part)
//                    + D[h] · x_t[p]
//   S[p, n] ← exp(cum_15) · S[p, n] + Σ_s exp(cum_15 − cum_s) · Δ_s · x_s[p] · B_s[n]   (b: the state leaving)
// with B, C of group g = h / (H / G), cb from m2_ssd_cb, and Δ = 0 past the last token (so cum_15 is the
// chunk's last cum).
// 256 invocations. For (a) and (b), invocation li = 32·w + 4·l + m (2·RP·w + 4·l + m in general) holds S[p, n]
// for p = 2·l, 2·l + 1 and n = 16·w + 4·m .. + 3 (two vec4s): the 32 invocations of w touch only C's and B's 16
// columns 16·w .. (4 distinct vec4s per read, so a subgroup's read is one broadcast), 8× less workgroup-memory traffic than one
// invocation per p holding 8 n. (a)'s 32 partial sums (16 t × 2 p) are summed over m by two rounds of
// subgroupShuffleXor in which each invocation keeps half (it ends with 8 t of one p, summed over its 16 n),
// then over w through wPart by the output invocation (t, pr) = (li / RP, li % RP), so RP consecutive
// invocations store RP consecutive floats of y. The shuffles pair li with li ^ 1 and li ^ 2: they need
// subgroups of at least 4 made of consecutive invocations (true of NVIDIA's 32 and SwiftShader's 4).
// Every invocation makes the chunk's 16 cums itself from the 16 Δ (a prefix sum in registers); the next
// chunk's C, B, x, Δ and cb are loaded into registers while this one is computed; three barriers per chunk.
// No private array is indexed at run time (the first version of this kernel did, with loops over arrays that
// ended in local memory and waited on every load: it ran 2× slower than the three passes).
// Head h's Σ Δ over the T tokens is added to dtSum[h] by the workgroups with z = 0.
// PREFETCH false (m2SsdPlan's 'fused-noprefetch'): each chunk's values are loaded at its start instead of during
// the chunk before, so the 19 staged values are not live through (a) and (b): fewer registers an invocation,
// for more workgroups an SM, at the cost of one wait on memory per chunk. Which wins is the GPU machine's
// question (at 2.7b the 16-row kernel's time fits one workgroup an SM, bench/RESULTS.md session 7).
// m2_ssd_fused8 (ROWS8): the same with 8 state rows per workgroup of 128 invocations (RP rows, WGS = 16·RP
// invocations below), twice the workgroups: at 130m size the 16-row kernel has 96 workgroups for 132 SMs, and
// at 2.7b its time per layer is 2.8× the 130m shape's for 3.3× the heads, as if an SM held one workgroup at a
// time (bench/RESULTS.md, session 7). Each invocation keeps the same two rows of state; it stages twice the
// values of C and B per chunk, and makes two entries of M.
// _gate (GATE): the outputs gated and weighted for the folded norm, Σ g² per token to gss (the include says how).
// Shapes: xbc f32 [T, CD] (x [H·P] | B [G·N] | C [G·N]), proj f32 [T, LDP] (raw Δ at DT_COL), params f32
// (dt_bias at DTB_OFF, A_log [H] at A_OFF, D [H] at D_OFF), cb f32 [ceil(T/16), G, 16, 16], state f32 (ssm
// [H, P, N] at SSM_OFF, dtSum [H] at DTS_OFF), y f32 [T, H·P]. Q = 16, N ≤ 128, any P and G | H.
// Reference: ssdScan in src/engine/reference/mamba2.ts (the recurrence; ssdChunked is the same chunked form).
// Dispatch: (ceil(P / RP), H).
enable subgroups;

#include "m2_ssd_fused_common.wgsl"

// ABLATE: bits that leave parts of each chunk's work out, for bench/m2-ssd-bench.ts --ablate only (0, the
// default, everywhere else): its time without a part says what that part costs. The results are then wrong.
//   1: (a) and its reduction; 2: (b); 4: the staging loads from memory (values made from li instead);
//   8: the exps of M, u, the decay and the output (1 instead).
override ABLATE: u32 = 0u;

#ifdef ROWS8
const RP = 8u;
#else
const RP = 16u;
#endif
// Invocations: one output (t, p) each, 16 tokens × RP rows.
const WGS = 16u * RP;
// Staged rows of C and B hold 128 values (N ≤ 128; zeros past N) as 32 vec4s.
const NMAX = 128u;
const NV = 32u;
// C [16][NV] at vec4 0, B [16][NV] at vec4 512.
var<workgroup> wCB: array<vec4f, 1024>;
const W_B = 512u;
// The partial sums of (a), one per subgroup-of-four's block of 16 n: [8 blocks][16 t][RP p].
var<workgroup> wPart: array<f32, 128 * RP>;
// x_s[p] at s·RP + p; M[t][s] = exp(cum_t − cum_s)·cb·Δ_s as 4 vec4s per t; u[p][s] = exp(cum_15 − cum_s)·Δ_s·x_s[p]
// as 4 vec4s per p (Δ is in the include's wDl).
var<workgroup> wX: array<f32, WGS>;
var<workgroup> wM: array<vec4f, 64>;
var<workgroup> wU: array<vec4f, 4 * RP>;

// What one invocation stages per chunk: values k = 0 .. 15 of [2][16 rows][128] (C, then B) at element
// e = li + 256·k: n = e % 128, row (e / 128) % 16, B where e ≥ 2048 (with ROWS8, vec4s k = 0 .. 7 of it at vec4
// li + 128·k, four consecutive n each: one vec4 store to workgroup memory each, where 32 single-float stores
// into vec4 components crashed SwiftShader's shader compiler); x_s[p] for (s, p) = (li / RP, li % RP); the
// raw Δ of token li (li < 16); entries li (and li + 128 with ROWS8) of the chunk's cb.
struct Stage {
  r0: vec4f,
  r1: vec4f,
  r2: vec4f,
  r3: vec4f,
#ifdef ROWS8
  r4: vec4f,
  r5: vec4f,
  r6: vec4f,
  r7: vec4f,
  m2: f32,
#endif
  x: f32,
  dt: f32,
  m: f32,
#ifdef GATE
  z: f32,
#endif
}

#ifdef ROWS8
// Vec4 v = li + WGS·k of the staged [2][16][32 vec4s]: n = 4·(v % 32) .., row (v / 32) % 16, B where v ≥ 512.
fn rowValues(li: u32, k: u32, t0: u32, len: u32, h: u32) -> vec4f {
  let v = li + WGS * k;
  let r = (v / NV) % QF;
  let n0 = 4u * (v % NV);
  let at = (t0 + r) * xbcStride() + select(cColOf(h), bColOf(h), v >= 512u) + n0;
  var out = vec4f(0.0);
  for (var j = 0u; j < 4u; j++) {
    if (r < len && n0 + j < N) {
      out[j] = xbc[at + j];
    }
  }
  return out;
}
#else
// Element li + 256·k: row (li / 128 + 2·k) % 16, n = li % 128, B from k = 8. This is session 7's index math:
// with e = li + 256·k here and M made through mEntry, the 16-row kernel ran 4-5 % slower on the H200
// (bench/RESULTS.md, session 10).
fn rowValue(li: u32, k: u32, t0: u32, len: u32, h: u32) -> f32 {
  let r = (li / NMAX + 2u * k) % QF;
  let n = li % NMAX;
  var v = 0.0;
  if (r < len && n < N) {
    v = xbc[(t0 + r) * xbcStride() + select(cColOf(h), bColOf(h), k >= 8u) + n];
  }
  return v;
}

fn rowValues(li: u32, k: u32, t0: u32, len: u32, h: u32) -> vec4f {
  return vec4f(
    rowValue(li, k, t0, len, h),
    rowValue(li, k + 1u, t0, len, h),
    rowValue(li, k + 2u, t0, len, h),
    rowValue(li, k + 3u, t0, len, h),
  );
}
#endif

fn loadStage(li: u32, c: u32, h: u32, p0: u32) -> Stage {
  var st: Stage;
  if ((ABLATE & 4u) != 0u) {
    let v = f32(li + c) * 1e-3;
    st.r0 = vec4f(v);
    st.r1 = vec4f(v);
    st.r2 = vec4f(v);
    st.r3 = vec4f(v);
#ifdef ROWS8
    st.r4 = vec4f(v);
    st.r5 = vec4f(v);
    st.r6 = vec4f(v);
    st.r7 = vec4f(v);
    st.m2 = v;
#endif
    st.x = v;
    st.dt = v;
    st.m = v;
#ifdef GATE
    st.z = v;
#endif
    return st;
  }
  let len = chunkLen(c);
  let t0 = c * QF;
#ifdef ROWS8
  st.r0 = rowValues(li, 0u, t0, len, h);
  st.r1 = rowValues(li, 1u, t0, len, h);
  st.r2 = rowValues(li, 2u, t0, len, h);
  st.r3 = rowValues(li, 3u, t0, len, h);
  st.r4 = rowValues(li, 4u, t0, len, h);
  st.r5 = rowValues(li, 5u, t0, len, h);
  st.r6 = rowValues(li, 6u, t0, len, h);
  st.r7 = rowValues(li, 7u, t0, len, h);
  st.m2 = cb[(c * G + h / (H / G)) * 256u + li + 128u];
#else
  st.r0 = rowValues(li, 0u, t0, len, h);
  st.r1 = rowValues(li, 4u, t0, len, h);
  st.r2 = rowValues(li, 8u, t0, len, h);
  st.r3 = rowValues(li, 12u, t0, len, h);
#endif
  let s = li / RP;
  let p = li % RP;
  st.x = 0.0;
#ifdef GATE
  st.z = 0.0;
#endif
  if (s < len && p0 + p < P) {
    st.x = xbc[(t0 + s) * xbcStride() + h * P + p0 + p];
#ifdef GATE
    st.z = zAt(t0 + s, h, p0 + p);
#endif
  }
  st.dt = 0.0;
  if (li < len) {
    st.dt = proj[(t0 + li) * LDP + DT_COL + h];
  }
  st.m = cb[(c * G + h / (H / G)) * 256u + li];
  return st;
}

#ifdef ROWS8
fn putRows(li: u32, k: u32, v: vec4f) {
  wCB[li + WGS * k] = v;
}
#else
// Element li + 256·k of the staged [2][16][128] sits in component li % 4 of vec4 li / 4 + 64·k.
fn putRows(li: u32, k: u32, v: vec4f) {
  let at = li / 4u + 64u * k;
  let comp = li % 4u;
  wCB[at][comp] = v.x;
  wCB[at + 64u][comp] = v.y;
  wCB[at + 128u][comp] = v.z;
  wCB[at + 192u][comp] = v.w;
}
#endif

// exp, or 1 where ABLATE leaves the exps out.
fn ex(v: f32) -> f32 {
  return select(exp(v), 1.0, (ABLATE & 8u) != 0u);
}

// (a) for tokens tb .. tb + 3 and state row `s`: this invocation's share (its 4 values of n) of C_t · s.
fn part4(tb: u32, at: u32, s: vec4f) -> vec4f {
  return vec4f(
    dot(wCB[tb * NV + at], s),
    dot(wCB[(tb + 1u) * NV + at], s),
    dot(wCB[(tb + 2u) * NV + at], s),
    dot(wCB[(tb + 3u) * NV + at], s),
  );
}

// One round of the halving reduction between invocations li and li ^ mask: each keeps `lo` (hi = false) or
// `hi` (hi = true), plus the partner's copy of it.
fn keepHalf(lo: vec4f, hi: vec4f, mask: u32, upper: bool) -> vec4f {
  let other = subgroupShuffleXor(select(hi, lo, upper), mask);
  return select(lo, hi, upper) + other;
}

#ifdef ROWS8
// M[t][s] = exp(cum_t − cum_s)·cb[t][s]·Δ_s (0 for s > t) for entry i = 16·t + s.
fn mEntry(i: u32, a: f32, ck: ChunkCum, cbv: f32) -> f32 {
  let t = i / 16u;
  let s = i % 16u;
  let m = ex(a * (cumAt(ck, t) - cumAt(ck, s))) * deltaAt(ck, s) * cbv;
  return select(0.0, m, s <= t);
}
#endif

@compute @workgroup_size(WGS)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) li: u32) {
  let h = wid.y;
  let p0 = wid.x * RP;
  let chunks = (dims.T + QF - 1u) / QF;
  let a = -exp(params[A_OFF + h]);
  let d = params[D_OFF + h];
  // The state's roles: block w of 16 n, rows 2·l and 2·l + 1, n = 16·w + 4·m .. + 3 (vec4 `at` of a row).
  let w = li / (2u * RP);
  let l = (li / 4u) % (RP / 2u);
  let m = li % 4u;
  let at = 4u * w + m;
  let nb = 16u * w + 4u * m;
  // The outputs' roles: (t, pr) = (li / RP, li % RP); u's: (p, s) = (li / 16, li % 16).
  let t = li / RP;
  let pr = li % RP;
  let up = li / 16u;
  let us = li % 16u;
  let rowA = SSM_OFF + (h * P + p0 + 2u * l) * N;
  let rowB = rowA + N;
  let liveA = p0 + 2u * l < P;
  let liveB = p0 + 2u * l + 1u < P;
  var sA = loadState4(rowA, nb, liveA);
  var sB = loadState4(rowB, nb, liveB);
  // After the reduction this invocation holds tokens 8·kt .. + 7 of row 2·l + kp.
  let kp = (li & 2u) != 0u;
  let kt = (li & 1u) != 0u;
  let pOut = 2u * l + select(0u, 1u, kp);
  let tOut = select(0u, 8u, kt);
  var dtSum = 0.0;
#ifdef GATE
  let gw = select(0.0, params[GW_OFF + h * P + p0 + pr], p0 + pr < P);
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
    // The previous chunk's C, B, M, u, x, Δ and partial sums are read by now.
    workgroupBarrier();
#ifdef GATE
    // and its g² are all in wSq.
    if (c > 0u) {
      flushSq(li, t0 - QF, QF, h, wid.x);
    }
    let zNow = st.z;
#endif
#ifdef ROWS8
    putRows(li, 0u, st.r0);
    putRows(li, 1u, st.r1);
    putRows(li, 2u, st.r2);
    putRows(li, 3u, st.r3);
    putRows(li, 4u, st.r4);
    putRows(li, 5u, st.r5);
    putRows(li, 6u, st.r6);
    putRows(li, 7u, st.r7);
    let cbNext = st.m2;
#else
    putRows(li, 0u, st.r0);
    putRows(li, 4u, st.r1);
    putRows(li, 8u, st.r2);
    putRows(li, 12u, st.r3);
#endif
    wX[li] = st.x;
    dtSum += stageDelta(li, st.dt, len, h);
    let cbNow = st.m;
    workgroupBarrier();
    if (PREFETCH && c + 1u < chunks) {
      st = loadStage(li, c + 1u, h, p0);
    }
    // The chunk's Δ and their running sums (before the factor A) in registers.
    let ck = chunkCum();
    let cumLast = a * ck.c3.w;
#ifdef ROWS8
    // M's entries li and li + 128; u[p][s] at index li: (p, s) = (up, us).
    wM[li / 4u][li % 4u] = mEntry(li, a, ck, cbNow);
    wM[li / 4u + 32u][li % 4u] = mEntry(li + 128u, a, ck, cbNext);
    let cumS = a * cumAt(ck, us);
    wU[li / 4u][li % 4u] = ex(cumLast - cumS) * deltaAt(ck, us) * wX[us * RP + up];
    let cumT = a * cumAt(ck, t);
#else
    // M[t][s] and u[p][s] at index li, (t, s) and (p, s) = (up, us) = (t, pr): both share s's cum and Δ
    // (session 7's form; see rowValue).
    let cumS = a * cumAt(ck, us);
    let dS = deltaAt(ck, us);
    let cumT = a * cumAt(ck, t);
    wM[li / 4u][li % 4u] = select(0.0, ex(cumT - cumS) * dS * cbNow, us <= t);
    wU[li / 4u][li % 4u] = ex(cumLast - cumS) * dS * wX[us * RP + up];
#endif
    // (a), before S moves on: 16 t × 2 rows, halved twice across the four invocations of m.
    if ((ABLATE & 1u) == 0u) {
      let a0 = keepHalf(part4(0u, at, sA), part4(0u, at, sB), 2u, kp);
      let a1 = keepHalf(part4(4u, at, sA), part4(4u, at, sB), 2u, kp);
      let a2 = keepHalf(part4(8u, at, sA), part4(8u, at, sB), 2u, kp);
      let a3 = keepHalf(part4(12u, at, sA), part4(12u, at, sB), 2u, kp);
      let e0 = keepHalf(a0, a2, 1u, kt);
      let e1 = keepHalf(a1, a3, 1u, kt);
      let pbase = w * 16u * RP + tOut * RP + pOut;
      for (var k = 0u; k < 4u; k++) {
        wPart[pbase + k * RP] = e0[k];
        wPart[pbase + (k + 4u) * RP] = e1[k];
      }
    }
    workgroupBarrier();
    // (b): the state leaving the chunk.
    let decay = ex(cumLast);
    sA *= decay;
    sB *= decay;
    for (var sq = 0u; sq < 4u && (ABLATE & 2u) == 0u; sq++) {
      let uA = wU[(2u * l) * 4u + sq];
      let uB = wU[(2u * l + 1u) * 4u + sq];
      for (var k = 0u; k < 4u; k++) {
        let b4 = wCB[W_B + (4u * sq + k) * NV + at];
        sA += uA[k] * b4;
        sB += uB[k] * b4;
      }
    }
    if (t < len && p0 + pr < P) {
      // The intra-chunk part of output (t, pr), then (a) summed over the 8 blocks of n.
      var intra = 0.0;
      for (var sq = 0u; sq < 4u; sq++) {
        let xs = 4u * sq * RP + pr;
        intra += dot(wM[t * 4u + sq], vec4f(wX[xs], wX[xs + RP], wX[xs + 2u * RP], wX[xs + 3u * RP]));
      }
      var sum = 0.0;
      for (var ww = 0u; ww < 8u; ww++) {
        sum += wPart[ww * 16u * RP + t * RP + pr];
      }
      var out = ex(cumT) * sum + intra + d * wX[li];
#ifdef GATE
      out = gated(out, zNow, gw, t, pr);
#endif
      y[(t0 + t) * H * P + h * P + p0 + pr] = out;
    }
  }
#ifdef GATE
  workgroupBarrier();
  if (chunks > 0u) {
    flushSq(li, (chunks - 1u) * QF, chunkLen(chunks - 1u), h, wid.x);
  }
#endif
  storeState4(rowA, nb, liveA, sA);
  storeState4(rowB, nb, liveB, sB);
  if (wid.x == 0u) {
    addDtSum(li, h, dtSum);
  }
}
