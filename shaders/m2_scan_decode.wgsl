#variant m2_scan_decode
#variant m2_scan_decode_sg SUBGROUP
#ifdef SUBGROUP
enable subgroups;
#endif

// Mamba-2's one-token SSM step for GPUs, with the gate of the gated RMSNorm as its epilogue. Workgroup
// (block, h) owns rows p0 .. p0+ROWS−1 (p0 = block·ROWS) of head h's state [P, N]; its 64 invocations
// walk n together, so each row's N floats are read and written as contiguous runs (m2_scan_step gives
// one invocation a whole row and strides N between invocations). For each row p:
//   Δ = m2Delta(proj[DT_COL + h], h);  decay = exp(−exp(A_log[h]) · Δ);  x = xbc[h·P + p]
//   state[p, n] = decay · state[p, n] + Δ · x · B[g, n]   (in place)
//   y = Σ_n state[p, n] · C[g, n] + D[h] · x;   out[h·P + p] = y · silu(z[h·P + p])
// with g = h / (H / G); the workgroup with p0 = 0 adds Δ to dtSum[h]. out is the input of out_proj's fused
// GEMV, whose NORM prologue (with the gated norm's weight) completes transformers' MambaRMSNormGated, which
// normalises all of d_inner at once: the gate is elementwise, so it costs one z load per row here instead
// of every out_proj workgroup recomputing d_inner SiLUs.
// The row sums reduce like gemv_fused.wgsl's: through a workgroup-memory tree, or with subgroupAdd
// (m2_scan_decode_sg, devices with subgroups; no assumption on how lanes map to invocations).
// Shapes (one token): xbc f32 [CD] (x [H·P] | B [G·N] | C [G·N], the conv's output), proj f32 [LDP]
// (in_proj's output: z at Z_COL, raw Δ at DT_COL), params f32 (dt_bias [H] at DTB_OFF, A_log [H] at A_OFF,
// D [H] at D_OFF), state f32 (ssm [H, P, N] at SSM_OFF, dtSum [H] at DTS_OFF), out f32 [H·P].
// Reference: ssdScan (T = 1) and the gate of gatedRmsNorm in src/engine/reference/mamba2.ts.
// Dispatch: (ceil(P / ROWS), H).
#include "m2_delta.wgsl"

override H: u32;
override P: u32;
override G: u32;
override N: u32;
override DT_COL: u32;
override Z_COL: u32 = 0u;
override A_OFF: u32;
override D_OFF: u32;
override SSM_OFF: u32;
override DTS_OFF: u32;
// Rows per workgroup (1..4): more rows share one reduction, fewer give more workgroups.
override ROWS: u32 = 1u;

@group(0) @binding(0) var<storage, read> xbc: array<f32>;
@group(0) @binding(1) var<storage, read> proj: array<f32>;
@group(0) @binding(2) var<storage, read> params: array<f32>;
@group(0) @binding(3) var<storage, read_write> state: array<f32>;
@group(0) @binding(4) var<storage, read_write> out: array<f32>;

var<workgroup> partial: array<vec4f, 64>; // per invocation: its part of the ROWS row sums

@compute @workgroup_size(64)
#ifdef SUBGROUP
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) li: u32,
        @builtin(subgroup_invocation_id) sgi: u32) {
#else
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) li: u32) {
#endif
  let h = wid.y;
  let p0 = wid.x * ROWS;
  if (h >= H || p0 >= P) {
    return;
  }
  let g = h / (H / G);
  let delta = m2Delta(proj[DT_COL + h], h);
  let decay = exp(-exp(params[A_OFF + h]) * delta);
  let bBase = H * P + g * N;
  let cBase = bBase + G * N;
  var acc = vec4f(0.0); // component r: row p0 + r
  for (var r = 0u; r < ROWS; r++) {
    let p = p0 + r;
    if (p >= P) {
      break;
    }
    let row = h * P + p;
    let dx = delta * xbc[row];
    let s0 = SSM_OFF + row * N;
    var a = 0.0;
    for (var n = li; n < N; n += 64u) {
      let s = decay * state[s0 + n] + dx * xbc[bBase + n];
      state[s0 + n] = s;
      a += s * xbc[cBase + n];
    }
    acc[r] = a;
  }
#ifdef SUBGROUP
  // Each subgroup's first lane writes its sums at its own index.
  let sa = subgroupAdd(acc);
  partial[li] = select(vec4f(0.0), sa, sgi == 0u);
  workgroupBarrier();
  var sums = vec4f(0.0);
  if (li == 0u) {
    for (var i = 0u; i < 64u; i++) {
      sums += partial[i];
    }
  }
#else
  partial[li] = acc;
  workgroupBarrier();
  for (var s = 32u; s > 0u; s >>= 1u) {
    if (li < s) {
      partial[li] += partial[li + s];
    }
    workgroupBarrier();
  }
  let sums = partial[0];
#endif
  if (li == 0u) {
    let d = params[D_OFF + h];
    for (var r = 0u; r < ROWS; r++) {
      let p = p0 + r;
      if (p >= P) {
        break;
      }
      let row = h * P + p;
      let z = proj[Z_COL + row];
      out[row] = (sums[r] + d * xbc[row]) * z / (1.0 + exp(-z));
    }
    if (p0 == 0u) {
      state[DTS_OFF + h] += delta;
    }
  }
}
