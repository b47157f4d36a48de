// One token t of Mamba-2's SSM recurrence for state row r = h·P + p (m2_scan_step.wgsl, m2_scan_seg.wgsl):
//   Δ = m2Delta(proj[t, DT_COL + h], h);  decay = exp(negA · Δ);  x = xbc[t, r]
//   state[p, n] = decay · state[p, n] + Δ · x · B[t, g, n];   y[t, r] = Σ_n state[p, n] · C[t, g, n] + d·x
// with g = h / (H / G), negA = −exp(A_log[h]) and d = D[h] from the caller. The row's N state entries stay in
// memory at s0 .. s0 + N − 1 of the kernel's state buffer, which the including kernel reaches through
// ssmAt(i) and ssmSet(i, v) (it names that binding as it likes). Returns Δ (the caller adds it to Σ Δ). The
// kernel that includes this declares the bindings xbc, proj, params and y with the shapes of m2_scan_step.wgsl's
// header.
// Reference: ssdScan in src/engine/reference/mamba2.ts.
#include "m2_delta.wgsl"

override H: u32;
override P: u32;
override G: u32;
override N: u32;
override LDP: u32;
override DT_COL: u32;

fn m2ScanToken(t: u32, r: u32, s0: u32, negA: f32, d: f32) -> f32 {
  let h = r / P;
  let g = h / (H / G);
  let cd = H * P + 2u * G * N;
  let delta = m2Delta(proj[t * LDP + DT_COL + h], h);
  let decay = exp(negA * delta);
  let x = xbc[t * cd + r];
  let dx = delta * x;
  let bRow = t * cd + H * P + g * N;
  let cRow = bRow + G * N;
  var acc = 0.0;
  for (var n = 0u; n < N; n++) {
    let v = decay * ssmAt(s0 + n) + dx * xbc[bRow + n];
    ssmSet(s0 + n, v);
    acc += v * xbc[cRow + n];
  }
  y[t * H * P + r] = acc + d * x;
  return delta;
}
