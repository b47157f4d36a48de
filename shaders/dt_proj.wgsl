// dt_proj + softplus for a prefill chunk, ahead of the scan (hardware variant), so the sequential loop of
// scan_coop.wgsl no longer spends R multiply-adds per token in every one of its DS invocations per channel:
//   dt[t, c] = softplus(dtB[c] + sum_r dtW[c, r] * dbc[t, r])   (softplus(v) = v above 20, as the scan does)
// A tiled GEMM (T x R by R x DI): tiles of 64 tokens x 64 channels, 16 r per step, staged in
// workgroup memory with coalesced loads (one invocation per (channel, token) read its weight row R floats
// away from its neighbour's: 0.49 TFLOP/s on the H200); each of the 16x16 invocations keeps a 4x4 block.
// Shapes: dbc f32 [T, R + 2*DS], params f32 (dtW [DI, R] at DTW_OFF, dtB [DI] at DTB_OFF), dt f32 [T, DI].
// Reference: the dt part of mixerStep in src/engine/reference/mamba.ts.
// x_proj's split-K reduce is folded in here: when x_proj (gemm_tiled.wgsl) split K over xSplit(T) > 1
// workgroups, its partial sums P [split, T, R + 2*DS] are summed here (z in order from 0, as
// gemm_splitk_reduce.wgsl does; x_proj has no bias) instead of in a dispatch of their own: every workgroup
// sums the delta columns it needs, and the workgroups of channel tile 0 write the summed rows (delta, B, C)
// into dbc for the scan. xSplit must equal splitCount of x_proj's gemm_tiled.wgsl dispatch (64 x 64 tiles;
// none when x_proj ran in 128 x 128 tiles, from XBIG_MIN tiles on; XMAX_SPLIT 1: never split).
// Dispatch: (ceil(DI / 64), ceil(T / 64)).
struct Dims { T: u32, pos0: u32, pad0: u32, pad1: u32 }

override DI: u32;
override DS: u32;
override R: u32;
override DTW_OFF: u32;
override DTB_OFF: u32;
override XSPLIT_TARGET: u32 = 1u;
override XMAX_SPLIT: u32 = 1u;
override XBIG_MIN: u32 = 0xffffffffu;

@group(0) @binding(0) var<uniform> dims: Dims;
@group(0) @binding(1) var<storage, read_write> dbc: array<f32>;
@group(0) @binding(2) var<storage, read> params: array<f32>;
@group(0) @binding(3) var<storage, read_write> dt: array<f32>;
@group(0) @binding(4) var<storage, read> P: array<f32>;

fn xSplit(T: u32) -> u32 {
  let ldx = R + 2u * DS;
  if (XMAX_SPLIT <= 1u || ((T + 127u) / 128u) * ((ldx + 127u) / 128u) >= XBIG_MIN) {
    return 1u;
  }
  let tiles = ((T + 63u) / 64u) * ((ldx + 63u) / 64u);
  return clamp((XSPLIT_TARGET + tiles - 1u) / tiles, 1u, XMAX_SPLIT);
}

// dbc[t, col] as x_proj computed it: stored, or the sum of its split-K partials.
fn dbcAt(t: u32, col: u32, split: u32) -> f32 {
  let ldx = R + 2u * DS;
  if (split == 1u) {
    return dbc[t * ldx + col];
  }
  var v = 0.0;
  for (var z = 0u; z < split; z++) {
    v += P[(z * dims.T + t) * ldx + col];
  }
  return v;
}

var<workgroup> xs: array<f32, 1024>; // [64 tokens][16 r]
var<workgroup> ws: array<f32, 1024>; // [64 channels][16 r]

@compute @workgroup_size(16, 16)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_id) lid: vec3u,
        @builtin(local_invocation_index) li: u32) {
  let T = dims.T;
  let ldx = R + 2u * DS;
  let t0 = wid.y * 64u;
  let c0 = wid.x * 64u;
  let split = xSplit(T);
  if (split > 1u && wid.x == 0u) {
    for (var e = li; e < 64u * ldx; e += 256u) {
      let t = t0 + e / ldx;
      if (t < T) {
        dbc[t * ldx + e % ldx] = dbcAt(t, e % ldx, split);
      }
    }
  }
  var acc: array<f32, 16>;
  for (var r0 = 0u; r0 < R; r0 += 16u) {
    for (var j = 0u; j < 4u; j++) {
      let e = li + j * 256u;
      let row = e >> 4u;
      let r = r0 + (e & 15u);
      var xv = 0.0;
      if (t0 + row < T && r < R) {
        xv = dbcAt(t0 + row, r, split);
      }
      xs[e] = xv;
      var wv = 0.0;
      if (c0 + row < DI && r < R) {
        wv = params[DTW_OFF + (c0 + row) * R + r];
      }
      ws[e] = wv;
    }
    workgroupBarrier();
    for (var kk = 0u; kk < 16u; kk++) {
      var a: array<f32, 4>;
      var b: array<f32, 4>;
      for (var i = 0u; i < 4u; i++) {
        a[i] = xs[(lid.y + 16u * i) * 16u + kk];
        b[i] = ws[(lid.x + 16u * i) * 16u + kk];
      }
      for (var i = 0u; i < 4u; i++) {
        for (var j = 0u; j < 4u; j++) {
          acc[i * 4u + j] += a[i] * b[j];
        }
      }
    }
    workgroupBarrier();
  }
  for (var i = 0u; i < 4u; i++) {
    let t = t0 + lid.y + 16u * i;
    for (var j = 0u; j < 4u; j++) {
      let c = c0 + lid.x + 16u * j;
      if (t < T && c < DI) {
        let v = params[DTB_OFF + c] + acc[i * 4u + j];
        dt[t * DI + c] = select(log(1.0 + exp(v)), v, v > 20.0);
      }
    }
  }
}
