#variant gemv_fused
#variant gemv_fused_sg SUBGROUP
#variant gemv_fused_h HALF
#variant gemv_fused_sg_h SUBGROUP HALF
#ifdef HALF
enable f16;
#endif
#ifdef SUBGROUP
enable subgroups;
#endif

// Fused decode GEMV (hardware variant, one token): one workgroup of 64 invocations per ROWS output rows, weights read
// as vec4<u32> (8 f16 or 4 f32 per load), with optional fused steps so a decode layer is 4 dispatches:
//   NORM  prologue: x = rmsnorm(X) * params[NW_OFF..] (each workgroup recomputes sum(X^2) from the same loads
//         it makes anyway), i.e. y[n] = rsqrt(mean(X^2) + EPS) * sum_k W[n, k] * X[k] * nw[k]
//   ACCUM epilogue: Y[COL0 + n] += y (out_proj adds straight into the residual stream: row n is owned by one
//         workgroup, so the read-modify-write is race-free)
//   CONV  epilogue, rows g = COL0 + n in [CONV_COL, CONV_COL + DI): the conv step of channel c = g − CONV_COL
//         on the conv state, SiLU, xc[c] written and the window shifted (channel c is owned by workgroup
//         n / ROWS). Mamba-1: CONV_COL 0, DI = d_inner (the x half of in_proj); Mamba-2: CONV_COL = d_inner,
//         DI = d_inner + 2·n_groups·state_size (x, B and C; xc is then m2_scan_step's xbc [CD])
// y = sum_k X[k] * W[n, k] (+ bias[BIAS_OFF + n]). Shapes: X f32 [K], W [N, K] (K % 8 == 0 for f16,
// K % 4 == 0 for f32, K % 16 == 0 for int8: I8, not in the f16 twins, 16 weights per load, layout in
// include/int8.wgsl; group scales multiply each load's sum, per-channel scales the row sum), Y f32
// [>= COL0 + N], params f32 (norm weight at NW_OFF, conv weight [DI, DC] at CW_OFF, conv bias at CB_OFF),
// state f32 (conv state [DI, DC-1] at CONV_OFF, oldest first), xc f32 [DI].
// Variants: gemv_fused reduces the 64 partial sums through a workgroup-memory tree; gemv_fused_sg (devices with
// subgroups) reduces each subgroup with subgroupAdd and gathers the subgroup sums after one barrier.
// The _h twins (devices with shader-f16) read the f16 weights as array<vec4<f16>> (the same bytes), sums in f32.
// Reference: rmsNorm, matVec and the conv part of mixerStep in src/engine/reference/mamba.ts; for Mamba-2
// causalConv in src/engine/reference/mamba2.ts.
// Dispatch: (ceil(N / ROWS)) workgroups.
#ifdef HALF
const F16 = true;
#else
override F16: bool;
#endif
override NORM: bool = false;
override ACCUM: bool = false;
override CONV: bool = false;
override EPS: f32 = 1e-5;
override NW_OFF: u32 = 0u;
// Conv channels and the first of their rows (see CONV above).
override DI: u32 = 0u;
override CONV_COL: u32 = 0u;
override DC: u32 = 4u;
override HAS_CONV_BIAS: bool = false;
override CW_OFF: u32 = 0u;
override CB_OFF: u32 = 0u;
override CONV_OFF: u32 = 0u;
// Rows per workgroup (1..4): with several, the (normalised) input is loaded once for ROWS weight rows instead of
// once per row (the 2.8b in_proj re-read its residual and norm weight 10,240 times per token). Whole rows, so
// whole conv channels, still belong to one workgroup: the CONV and ACCUM epilogues stay race-free.
override ROWS: u32 = 1u;
// Load four steps' weights before summing any (the four-step loops below; decisions.ts gemvSteps): 4 · ROWS loads of
// 16 bytes in flight per invocation instead of ROWS.
override STEPS4: bool = false;

#include "shape.wgsl"
#include "int8_vec4.wgsl"
@group(0) @binding(0) var<uniform> shape: Shape;
@group(0) @binding(1) var<storage, read> X: array<vec4f>;
#include "weights_vec4.wgsl"
@group(0) @binding(3) var<storage, read> params: array<f32>;
@group(0) @binding(4) var<storage, read_write> Y: array<f32>;
@group(0) @binding(5) var<storage, read_write> state: array<f32>;
@group(0) @binding(6) var<storage, read_write> xc: array<f32>;

var<workgroup> partial: array<vec4f, 64>; // per invocation: the ROWS row sums
var<workgroup> partialSs: array<f32, 64>; // per invocation: its part of sum(X^2)

fn xAt(j: u32) -> vec4f {
  var x = X[j];
  if (NORM) {
    let k = NW_OFF + 4u * j;
    x *= vec4f(params[k], params[k + 1u], params[k + 2u], params[k + 3u]);
  }
  return x;
}

fn sq(j: u32) -> f32 {
  let x = X[j];
  return dot(x, x);
}

fn convStep(g: u32, x: f32) {
  let sbase = CONV_OFF + g * (DC - 1u);
  let wbase = CW_OFF + g * DC;
  var acc = params[wbase + DC - 1u] * x;
  if (HAS_CONV_BIAS) {
    acc += params[CB_OFF + g];
  }
  for (var k = 0u; k < DC - 1u; k++) {
    acc += params[wbase + k] * state[sbase + k];
  }
  for (var k = 0u; k + 2u < DC; k++) {
    state[sbase + k] = state[sbase + k + 1u];
  }
  state[sbase + DC - 2u] = x;
  xc[g] = acc / (1.0 + exp(-acc));
}

@compute @workgroup_size(64)
#ifdef SUBGROUP
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) li: u32,
        @builtin(subgroup_invocation_id) sgi: u32) {
#else
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) li: u32) {
#endif
  let n0 = wid.x * ROWS;
  if (n0 >= shape.N) {
    return;
  }
  // Rows past the end are clamped to the last one (loaded, never stored), so the inner loop has no branches.
  var row: array<u32, 4>;
  for (var r = 0u; r < ROWS; r++) {
    row[r] = min(n0 + r, shape.N - 1u);
  }
  var acc = vec4f(0.0); // component r: row n0 + r
  var ss = 0.0;
#ifndef HALF
  if (I8) {
    let per = shape.K / 16u;
    for (var j = li; j < per; j += 64u) {
      let x0 = xAt(4u * j);
      let x1 = xAt(4u * j + 1u);
      let x2 = xAt(4u * j + 2u);
      let x3 = xAt(4u * j + 3u);
      for (var r = 0u; r < ROWS; r++) {
        let w = W[row[r] * per + j];
        var d = dot(i8Unpack(w.x), x0) + dot(i8Unpack(w.y), x1) + dot(i8Unpack(w.z), x2) + dot(i8Unpack(w.w), x3);
        if (GS != 0u) {
          d *= i8Scale(shape.N, shape.K, row[r], 16u * j);
        }
        acc[r] += d;
      }
      if (NORM) {
        ss += sq(4u * j) + sq(4u * j + 1u) + sq(4u * j + 2u) + sq(4u * j + 3u);
      }
    }
  } else
#endif
  if (F16) {
    let per = shape.K / 8u;
    var j = li;
    // With STEPS4, four steps at a time, all their weights loaded before the first is summed (one step at a time,
    // the 2.8b decode GEMVs read about a third of HBM's bandwidth, bench/RESULTS.md; whether more loads in flight
    // help is for the GPU machine to time). The steps left over (fewer than four) run one at a time below.
    for (; STEPS4 && j + 192u < per; j += 256u) {
      let x0 = xAt(2u * j);
      let x1 = xAt(2u * j + 1u);
      let x2 = xAt(2u * j + 128u);
      let x3 = xAt(2u * j + 129u);
      let x4 = xAt(2u * j + 256u);
      let x5 = xAt(2u * j + 257u);
      let x6 = xAt(2u * j + 384u);
      let x7 = xAt(2u * j + 385u);
      for (var r = 0u; r < ROWS; r++) {
        let b = row[r] * per + j;
        let wa = oct(b);
        let wb = oct(b + 64u);
        let wc = oct(b + 128u);
        let wd = oct(b + 192u);
        acc[r] += dot(wa[0], x0) + dot(wa[1], x1) + dot(wb[0], x2) + dot(wb[1], x3) + dot(wc[0], x4) +
          dot(wc[1], x5) + dot(wd[0], x6) + dot(wd[1], x7);
      }
      if (NORM) {
        ss += sq(2u * j) + sq(2u * j + 1u) + sq(2u * j + 128u) + sq(2u * j + 129u) + sq(2u * j + 256u) +
          sq(2u * j + 257u) + sq(2u * j + 384u) + sq(2u * j + 385u);
      }
    }
    for (; j < per; j += 64u) {
      let lo = xAt(2u * j);
      let hi = xAt(2u * j + 1u);
      for (var r = 0u; r < ROWS; r++) {
        let w = oct(row[r] * per + j);
        acc[r] += dot(w[0], lo) + dot(w[1], hi);
      }
      if (NORM) {
        ss += sq(2u * j) + sq(2u * j + 1u);
      }
    }
  } else {
#ifndef HALF
    let per = shape.K / 4u;
    var j = li;
    // Four steps at a time with STEPS4, as in the f16 loop above.
    for (; STEPS4 && j + 192u < per; j += 256u) {
      let x0 = xAt(j);
      let x1 = xAt(j + 64u);
      let x2 = xAt(j + 128u);
      let x3 = xAt(j + 192u);
      for (var r = 0u; r < ROWS; r++) {
        let b = row[r] * per + j;
        let wa = bitcast<vec4f>(W[b]);
        let wb = bitcast<vec4f>(W[b + 64u]);
        let wc = bitcast<vec4f>(W[b + 128u]);
        let wd = bitcast<vec4f>(W[b + 192u]);
        acc[r] += dot(wa, x0) + dot(wb, x1) + dot(wc, x2) + dot(wd, x3);
      }
      if (NORM) {
        ss += sq(j) + sq(j + 64u) + sq(j + 128u) + sq(j + 192u);
      }
    }
    for (; j < per; j += 64u) {
      let x = xAt(j);
      for (var r = 0u; r < ROWS; r++) {
        acc[r] += dot(bitcast<vec4f>(W[row[r] * per + j]), x);
      }
      if (NORM) {
        ss += sq(j);
      }
    }
#endif
  }
#ifdef SUBGROUP
  // Each subgroup's first lane writes its sums at its own index (no assumption on the lane mapping).
  let sa = subgroupAdd(acc);
  let sb = subgroupAdd(ss);
  partial[li] = select(vec4f(0.0), sa, sgi == 0u);
  partialSs[li] = select(0.0, sb, sgi == 0u);
  workgroupBarrier();
  var sums = vec4f(0.0);
  var sumSs = 0.0;
  if (li == 0u) {
    for (var i = 0u; i < 64u; i++) {
      sums += partial[i];
      sumSs += partialSs[i];
    }
  }
#else
  partial[li] = acc;
  partialSs[li] = ss;
  workgroupBarrier();
  for (var s = 32u; s > 0u; s >>= 1u) {
    if (li < s) {
      partial[li] += partial[li + s];
      partialSs[li] += partialSs[li + s];
    }
    workgroupBarrier();
  }
  let sums = partial[0];
  let sumSs = partialSs[0];
#endif
  if (li == 0u) {
    var scale = 1.0;
    if (NORM) {
      scale = inverseSqrt(sumSs / f32(shape.K) + EPS);
    }
    for (var r = 0u; r < ROWS; r++) {
      let n = n0 + r;
      if (n >= shape.N) {
        break;
      }
      var v = sums[r] * scale;
#ifndef HALF
      if (I8 && GS == 0u) {
        v *= i8Scale(shape.N, shape.K, n, 0u);
      }
#endif
      if (shape.HAS_BIAS != 0u) {
        v += params[shape.BIAS_OFF + n];
      }
      let g = shape.COL0 + n;
      if (ACCUM) {
        Y[g] += v;
      } else {
        Y[g] = v;
      }
      if (CONV && g >= CONV_COL && g - CONV_COL < DI) {
        convStep(g - CONV_COL, v);
      }
    }
  }
}
