// One channel of Mamba-2's causal conv + SiLU token by token (m2_conv.wgsl, m2_conv_seg.wgsl): channel c's
// bias read once (m2ConvBias), then per token t the window of the last
// DC inputs moved on by proj[t, XBC_COL + c] and the output
//   xbc[t, c] = silu(bias[c] + Σ_{k<DC} w[c, k] · ring[k])          (ring[DC−1] newest)
// (m2ConvToken). The caller fills ring[1 .. DC−1] with the DC−1 inputs before its first token and keeps the
// conv state. The kernel that includes this declares the bindings proj, params and xbc with the shapes of
// m2_conv.wgsl's header. 2 ≤ DC ≤ 8.
// Reference: causalConv in src/engine/reference/mamba2.ts.
override CD: u32;
override DC: u32;
override LDP: u32;
override XBC_COL: u32;
override HAS_BIAS: bool;
override CW_OFF: u32;
override CB_OFF: u32;

// A window of inputs, in registers (DC ≤ 8).
alias Taps = array<f32, 8>;

// Channel c's bias (0 without one).
fn m2ConvBias(c: u32) -> f32 {
  return select(0.0, params[CB_OFF + c], HAS_BIAS);
}

// Token t of channel c: shifts proj[t, XBC_COL + c] into the window and writes xbc[t, c]. The filter is read
// from params at every token: a copy in a private array (indexed by the override DC) ran 5-8 % slower on the
// H200 (bench/RESULTS.md, session 10).
fn m2ConvToken(c: u32, t: u32, ring: ptr<function, Taps>, bias: f32) {
  for (var j = 0u; j + 1u < DC; j++) {
    (*ring)[j] = (*ring)[j + 1u];
  }
  (*ring)[DC - 1u] = proj[t * LDP + XBC_COL + c];
  var s = bias;
  for (var j = 0u; j < DC; j++) {
    s += params[CW_OFF + c * DC + j] * (*ring)[j];
  }
  xbc[t * CD + c] = s / (1.0 + exp(-s));
}
