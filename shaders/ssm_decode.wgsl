// The middle of a decode layer in one dispatch (hardware variant, one token): x_proj, dt_proj + softplus, the
// selective-scan step, D*x and the SiLU(z) gate. The conv step comes before, as the epilogue of the fused
// in_proj (gemv_fused.wgsl, CONV), which writes xc; out_proj + residual comes after. Each workgroup owns CH
// channels and recomputes all NX = R + 2*DS outputs of x_proj itself (every channel needs all of Δ's R inputs,
// B and C), so no other dispatch sits between in_proj and out_proj:
//   dbc = Wx · xc                                       (NX x DI MACs per workgroup; Wx read from L2)
//   dt[c] = softplus(dtB[c] + sum_r dtW[c, r] * dbc[r])   (softplus(v) = v above 20)
//   h[c, n] = exp(dt[c] * A[c, n]) * h[c, n] + dt[c] * B[n] * xc[c]
//   out[c] = (sum_n h[c, n] * C[n] + D[c] * xc[c]) * silu(z[c]);   dtSum[c] += dt[c]
// The state (ssm [DI, DS] at 0, dtSum [DI] at DI*DS) is updated in place; each (c, n) belongs to one
// invocation of one workgroup, so the update is race-free.
// Without XPROJ, dbc comes from a preceding x_proj GEMV (dbcIn [NX]) instead: for models whose x_proj is too big
// to re-read in every workgroup, which still gain the dt_proj spread over DS invocations per channel.
// Shapes: Wx [NX, DI] as vec4<u32> (8 f16 packed two per u32, or 4 f32 bits; DI % 8 == 0 for f16, DI % 4 == 0
// for f32; one row part), xc f32 [DI], xz f32 [2*DI] (z is the second half), params f32 (dtW [DI, R] at
// DTW_OFF, dtB [DI] at DTB_OFF, A = -exp(A_log) [DI, DS] at A_OFF, D [DI] at D_OFF), out f32 [DI].
// Limits (checked by decodeMiddle in src/engine/decisions.ts): NX <= 256, CH * DS <= 1024, CH <= 256.
// Reference: the x_proj, dt and scan part of mixerStep in src/engine/reference/mamba.ts.
// Dispatch: (ceil(DI / CH)).
override F16: bool;
override XPROJ: bool = true;
override DI: u32;
override DS: u32;
override R: u32;
override CH: u32;
override DTW_OFF: u32;
override DTB_OFF: u32;
override A_OFF: u32;
override D_OFF: u32;

@group(0) @binding(0) var<storage, read> Wx: array<vec4<u32>>;
@group(0) @binding(1) var<storage, read> xc: array<vec4f>;
@group(0) @binding(2) var<storage, read> xz: array<f32>;
@group(0) @binding(3) var<storage, read> params: array<f32>;
@group(0) @binding(4) var<storage, read_write> state: array<f32>;
@group(0) @binding(5) var<storage, read_write> out: array<f32>;
@group(0) @binding(6) var<storage, read> dbcIn: array<f32>;

const WG = 256u;
// x_proj: TPR adjacent invocations share a row (together they read TPR * 16 contiguous bytes of it); the
// G = WG / TPR groups take rows g, g + G, g + 2G, ..., up to RB each per pass, so the rows of a pass spread
// evenly over the groups (80 rows: 5 per group, one pass; 192: 8 then 4).
const TPR = 16u;
const G = WG / TPR;
const RB = 8u;
const PASS_ROWS = G * RB;

// Phase by phase: the x_proj partial sums [RB][WG]; then per (channel, n) its part of dtW[c, :] · dbc[0 .. R] at
// 0 and h[c, n] * C[n] at 1024 (CH * DS <= 1024 each).
var<workgroup> scratch: array<f32, 2048>;
var<workgroup> dbc: array<f32, 256>; // Δ inputs | B | C

// Rows r0 + grp + G * i (i < RB, below NX) of Wx (f16 pairs or f32 bits) times xc, each over this lane's
// 16-byte words j = lane, lane + TPR, ...
fn rowDots(r0: u32, grp: u32, lane: u32, NX: u32) -> array<f32, RB> {
  var acc: array<f32, RB>;
  if (F16) {
    let per = DI / 8u;
    for (var j = lane; j < per; j += TPR) {
      let lo = xc[2u * j];
      let hi = xc[2u * j + 1u];
      for (var i = 0u; i < RB; i++) {
        let row = r0 + grp + G * i;
        if (row >= NX) {
          break;
        }
        let w = Wx[row * per + j];
        acc[i] += dot(vec4f(unpack2x16float(w.x), unpack2x16float(w.y)), lo) +
          dot(vec4f(unpack2x16float(w.z), unpack2x16float(w.w)), hi);
      }
    }
  } else {
    let per = DI / 4u;
    for (var j = lane; j < per; j += TPR) {
      let x = xc[j];
      for (var i = 0u; i < RB; i++) {
        let row = r0 + grp + G * i;
        if (row >= NX) {
          break;
        }
        acc[i] += dot(bitcast<vec4f>(Wx[row * per + j]), x);
      }
    }
  }
  return acc;
}

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) li: u32) {
  let NX = R + 2u * DS;
  if (!XPROJ) {
    for (var i = li; i < NX; i += WG) {
      dbc[i] = dbcIn[i];
    }
    workgroupBarrier();
  }
  // ---- x_proj: dbc = Wx · xc, PASS_ROWS rows per pass, partials reduced through workgroup memory.
  let lane = li % TPR;
  let grp = li / TPR;
  for (var r0 = 0u; XPROJ && r0 < NX; r0 += PASS_ROWS) {
    let acc = rowDots(r0, grp, lane, NX);
    for (var i = 0u; i < RB; i++) {
      scratch[i * WG + li] = acc[i];
    }
    workgroupBarrier();
    // Invocation t < PASS_ROWS sums row r0 + g + G * i (g = t % G, i = t / G) over its TPR lanes.
    let row = r0 + li;
    if (li < PASS_ROWS && row < NX) {
      let base = (li / G) * WG + (li % G) * TPR;
      var s = 0.0;
      for (var k = 0u; k < TPR; k++) {
        s += scratch[base + k];
      }
      dbc[row] = s;
    }
    workgroupBarrier();
  }

  // ---- dt_proj: invocation (channel, n) sums r = n, n + DS, ...; the DS parts of a channel are added next.
  let c0 = wid.x * CH;
  let pairs = CH * DS;
  for (var p = li; p < pairs; p += WG) {
    let c = min(c0 + p / DS, DI - 1u);
    var s = 0.0;
    for (var r = p % DS; r < R; r += DS) {
      s += params[DTW_OFF + c * R + r] * dbc[r];
    }
    scratch[p] = s;
  }
  workgroupBarrier();

  // ---- the scan step of each (channel, n), and the channel's Σ Δ.
  for (var p = li; p < pairs; p += WG) {
    let cl = p / DS;
    let n = p % DS;
    let c = c0 + cl;
    if (c < DI) {
      var v = params[DTB_OFF + c];
      for (var m = 0u; m < DS; m++) {
        v += scratch[cl * DS + m];
      }
      let dt = select(log(1.0 + exp(v)), v, v > 20.0);
      let x = xc[c / 4u][c % 4u];
      let k = c * DS + n;
      let h = exp(dt * params[A_OFF + k]) * state[k] + dt * dbc[R + n] * x;
      state[k] = h;
      scratch[1024u + p] = h * dbc[R + DS + n];
      if (n == 0u) {
        state[DI * DS + c] += dt;
      }
    }
  }
  workgroupBarrier();

  // ---- y, D skip and gate, one invocation per channel.
  for (var cl = li; cl < CH; cl += WG) {
    let c = c0 + cl;
    if (c < DI) {
      var y = 0.0;
      for (var m = 0u; m < DS; m++) {
        y += scratch[1024u + cl * DS + m];
      }
      let x = xc[c / 4u][c % 4u];
      let z = xz[DI + c];
      out[c] = (y + params[D_OFF + c] * x) * (z / (1.0 + exp(-z)));
    }
  }
}
