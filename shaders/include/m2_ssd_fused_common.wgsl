// What the two fused SSD kernels (m2_ssd_fused, m2_ssd_fused4r) share: their overrides and bindings (shapes in
// their headers), chunks of QF = 16 tokens, the chunk's Δ in workgroup memory (wDl, four vec4s), the prefix sums and
// picks over 16 values held as four vec4s, the loads and stores of four state entries, and the Σ Δ epilogue.
// Reference: ssdScan in src/engine/reference/mamba2.ts.
#include "dims.wgsl"
#include "m2_ssd_chunk.wgsl"
#include "m2_delta.wgsl"

override LDP: u32;
override DT_COL: u32;
override A_OFF: u32;
override D_OFF: u32;
override SSM_OFF: u32;
override DTS_OFF: u32;
override PREFETCH: bool = true;

@group(0) @binding(0) var<uniform> dims: Dims;
@group(0) @binding(1) var<storage, read> xbc: array<f32>;
@group(0) @binding(2) var<storage, read> proj: array<f32>;
@group(0) @binding(3) var<storage, read> params: array<f32>;
@group(0) @binding(4) var<storage, read> cb: array<f32>;
@group(0) @binding(5) var<storage, read_write> state: array<f32>;
@group(0) @binding(6) var<storage, read_write> y: array<f32>;

const QF = 16u;
var<workgroup> wDl: array<vec4f, 4>;

#ifdef GATE
// The gated RMSNorm's first half, folded into the output (the kernels' _gate variants): each output v becomes
// g·w, with g = v·silu(z), z = proj[t, Z_COL + h·P + p] and w = params[GW_OFF + h·P + p] the norm's weight,
// and the workgroup's Σ_p g² of each token goes to gss[t, part] (part = h·ceil(P / RP) + z of the dispatch).
// out_proj's gemm_tiled_rs adds a token's parts up into its rstd, so no pass of its own reads y and z again.
// gss f32 [T, H·ceil(P / RP)].
override Z_COL: u32;
override GW_OFF: u32;
@group(0) @binding(7) var<storage, read_write> gss: array<f32>;
// g² of the chunk's token t (< 16) and row p (< 16) at 16·t + p.
var<workgroup> wSq: array<f32, 256>;

// z of token t, row p of head h (the caller keeps t and p inside T and P).
fn zAt(t: u32, h: u32, p: u32) -> f32 {
  return proj[t * LDP + Z_COL + h * P + p];
}

// Output v of the chunk's token t, row p gated and weighted; its g² kept for flushSq.
fn gated(v: f32, z: f32, w: f32, t: u32, p: u32) -> f32 {
  let g = v * z / (1.0 + exp(-z));
  wSq[16u * t + p] = g * g;
  return g * w;
}

// After a barrier that follows the outputs of the chunk at t0 (`len` tokens): invocation li < len adds token
// li's live rows (of the RP from p0 = RP·zb, the including kernel's rows per workgroup) into gss, at the part of
// workgroup (zb, h).
fn flushSq(li: u32, t0: u32, len: u32, h: u32, zb: u32) {
  if (li < len) {
    let blocks = (P + RP - 1u) / RP;
    var s = 0.0;
    for (var p = 0u; p < min(RP, P - RP * zb); p++) {
      s += wSq[16u * li + p];
    }
    gss[(t0 + li) * blocks * H + h * blocks + zb] = s;
  }
}
#endif

// The inclusive prefix sums of v, plus `base`.
fn prefix4(v: vec4f, base: f32) -> vec4f {
  let a = base + v.x;
  let b = a + v.y;
  let c = b + v.z;
  return vec4f(a, b, c, c + v.w);
}

// Entry i (< 16) of the 16 values held as four vec4s.
fn pick(i: u32, v0: vec4f, v1: vec4f, v2: vec4f, v3: vec4f) -> f32 {
  let lo = select(v0, v1, i >= 4u);
  let hi = select(v2, v3, i >= 12u);
  return select(lo, hi, i >= 8u)[i % 4u];
}

// Token li's Δ from its raw in_proj value (0 past the chunk's `len`) into wDl for li < 16; returns it (0 for the
// other invocations), for the caller's Σ Δ.
fn stageDelta(li: u32, raw: f32, len: u32, h: u32) -> f32 {
  var delta = 0.0;
  if (li < QF) {
    delta = select(0.0, m2Delta(raw, h), li < len);
    wDl[li / 4u][li % 4u] = delta;
  }
  return delta;
}

// The chunk's Δ (from wDl) and their running sums before the factor A, four tokens a vec4.
struct ChunkCum {
  d0: vec4f,
  d1: vec4f,
  d2: vec4f,
  d3: vec4f,
  c0: vec4f,
  c1: vec4f,
  c2: vec4f,
  c3: vec4f,
}

fn chunkCum() -> ChunkCum {
  var k: ChunkCum;
  k.d0 = wDl[0];
  k.d1 = wDl[1];
  k.d2 = wDl[2];
  k.d3 = wDl[3];
  k.c0 = prefix4(k.d0, 0.0);
  k.c1 = prefix4(k.d1, k.c0.w);
  k.c2 = prefix4(k.d2, k.c1.w);
  k.c3 = prefix4(k.d3, k.c2.w);
  return k;
}

// Δ and the running sum (before A) of token i (< 16) of the chunk.
fn deltaAt(k: ChunkCum, i: u32) -> f32 {
  return pick(i, k.d0, k.d1, k.d2, k.d3);
}

fn cumAt(k: ChunkCum, i: u32) -> f32 {
  return pick(i, k.c0, k.c1, k.c2, k.c3);
}

// State row `row` (an offset into `state`), n = nb .. nb + 3; zeros past N or for a row past P.
fn loadState4(row: u32, nb: u32, live: bool) -> vec4f {
  var v = vec4f(0.0);
  for (var k = 0u; k < 4u; k++) {
    if (live && nb + k < N) {
      v[k] = state[row + nb + k];
    }
  }
  return v;
}

fn storeState4(row: u32, nb: u32, live: bool, v: vec4f) {
  for (var k = 0u; k < 4u; k++) {
    if (live && nb + k < N) {
      state[row + nb + k] = v[k];
    }
  }
}

// Adds head h's Σ Δ (the `dtSum` each invocation li < 16 gathered over its tokens) to dtSum[h]. Called by every
// invocation of one workgroup per head (two barriers).
fn addDtSum(li: u32, h: u32, dtSum: f32) {
  workgroupBarrier();
  if (li < QF) {
    wDl[li / 4u][li % 4u] = dtSum;
  }
  workgroupBarrier();
  if (li == 0u) {
    let v = wDl[0] + wDl[1] + wDl[2] + wDl[3];
    state[DTS_OFF + h] += v.x + v.y + v.z + v.w;
  }
}
