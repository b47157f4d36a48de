// Depthwise causal conv1d over a chunk of T tokens, continuing from and updating the conv state, then SiLU.
// One invocation per channel c:
//   window = conv state [c, 0 .. DC-2] (oldest first), then for each t:
//   xc[t, c] = silu(bias[c] + sum_{k<DC-1} w[c, k] * window[k] + w[c, DC-1] * xz[t, c]); window shifts in xz[t, c]
// The final window is written back, so the state ends as the last DC-1 inputs (the GpuState layout).
// Shapes: xz f32 [T, 2*DI] (x half first), params f32 (conv weight [DI, DC] at CW_OFF, bias [DI] at CB_OFF),
// state f32 (conv state [DI, DC-1] at CONV_OFF), xc f32 [T, DI]. DC <= 8.
// Reference: the conv part of mixerStep in src/engine/reference/mamba.ts.
// Dispatch: (ceil(DI / 64)).
struct Dims { T: u32, pos0: u32, pad0: u32, pad1: u32 }

override DI: u32;
override DC: u32;
override HAS_BIAS: bool;
override CW_OFF: u32;
override CB_OFF: u32;
override CONV_OFF: u32;

@group(0) @binding(0) var<uniform> dims: Dims;
@group(0) @binding(1) var<storage, read> xz: array<f32>;
@group(0) @binding(2) var<storage, read> params: array<f32>;
@group(0) @binding(3) var<storage, read_write> state: array<f32>;
@group(0) @binding(4) var<storage, read_write> xc: array<f32>;

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) g: vec3u) {
  let c = g.x;
  if (c >= DI) {
    return;
  }
  var win: array<f32, 8>;
  var w: array<f32, 8>;
  let sbase = CONV_OFF + c * (DC - 1u);
  for (var k = 0u; k < DC - 1u; k++) {
    win[k] = state[sbase + k];
  }
  for (var k = 0u; k < DC; k++) {
    w[k] = params[CW_OFF + c * DC + k];
  }
  var b = 0.0;
  if (HAS_BIAS) {
    b = params[CB_OFF + c];
  }
  for (var t = 0u; t < dims.T; t++) {
    let x = xz[t * 2u * DI + c];
    var acc = b + w[DC - 1u] * x;
    for (var k = 0u; k < DC - 1u; k++) {
      acc += w[k] * win[k];
    }
    for (var k = 0u; k + 2u < DC; k++) {
      win[k] = win[k + 1u];
    }
    win[DC - 2u] = x;
    xc[t * DI + c] = acc / (1.0 + exp(-acc));
  }
  for (var k = 0u; k < DC - 1u; k++) {
    state[sbase + k] = win[k];
  }
}
