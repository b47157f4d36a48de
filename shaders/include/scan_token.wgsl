// One token of Mamba-1's selective scan for channel c (scan.wgsl, scan_seg.wgsl): dt_proj + softplus, the
// state update of h[0 .. DS-1] (in the caller's registers; a[n] = A[c, n]) and the gated output out[t, c].
// Returns Δ (the caller adds it to Σ Δ). The kernel that includes this declares the overrides DI, DS, R,
// DTW_OFF and the bindings dbc, xz, xc, params, out with the shapes of scan.wgsl's header.
// Reference: mixerStep in src/engine/reference/mamba.ts.
fn scanToken(
  c: u32,
  t: u32,
  h: ptr<function, array<f32, 64>>,
  a: ptr<function, array<f32, 64>>,
  dtb: f32,
  d: f32,
) -> f32 {
  let row = t * (R + 2u * DS);
  var dtr = dtb;
  for (var r = 0u; r < R; r++) {
    dtr += params[DTW_OFF + c * R + r] * dbc[row + r];
  }
  let dt = select(log(1.0 + exp(dtr)), dtr, dtr > 20.0);
  let x = xc[t * DI + c];
  let dtx = dt * x;
  var y = 0.0;
  for (var n = 0u; n < DS; n++) {
    let hn = exp(dt * (*a)[n]) * (*h)[n] + dtx * dbc[row + R + n];
    (*h)[n] = hn;
    y += hn * dbc[row + R + DS + n];
  }
  let z = xz[t * 2u * DI + DI + c];
  out[t * DI + c] = (y + d * x) * (z / (1.0 + exp(-z)));
  return dt;
}
