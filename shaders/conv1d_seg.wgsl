// Depthwise causal conv1d + SiLU over a chunk of T tokens cut into segments, each segment continuing from and
// updating its own state slot (batched prefill and decode: several sequences in one chunk). Invocation
// (c, s) runs channel c of segment s token by token:
//   xc[t, c] = silu(bias[c] + sum_{k<DC} w[c, k] * in(t - (DC-1) + k)),
// where in(i) = xz[i, c] for i inside the segment and, before the segment's first token, the conv state of
// the segment's slot [c, DC-1 + ...] (oldest first); at the end the slot's state is the segment's last DC-1
// inputs (with the old state where the segment is shorter). One invocation owns a (slot, channel) pair, so
// the state's read and write are race-free; no two segments of a chunk may share a slot.
// Shapes: segs u32 [2 + 2*S]: S, then (start, slot) per segment in token order, then T (the end of the last);
// xz f32 [T, 2*DI] (x half first), params f32 (conv weight [DI, DC] at CW_OFF, bias [DI] at CB_OFF),
// slots f32 [slots, STRIDE] (conv state [DI, DC-1] at CONV_OFF within a slot), xc f32 [T, DI]. DC <= 8.
// Reference: the conv part of mixerStep in src/engine/reference/mamba.ts, per sequence (tests/kernels.batch).
// Dispatch: (ceil(DI / 64), S) or more along y (extra invocations return).
override DI: u32;
override DC: u32;
override HAS_BIAS: bool;
override CW_OFF: u32;
override CB_OFF: u32;
override CONV_OFF: u32;
override STRIDE: u32;

@group(0) @binding(0) var<storage, read> segs: array<u32>;
@group(0) @binding(1) var<storage, read> xz: array<f32>;
@group(0) @binding(2) var<storage, read> params: array<f32>;
@group(0) @binding(3) var<storage, read_write> slots: array<f32>;
@group(0) @binding(4) var<storage, read_write> xc: array<f32>;

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) g: vec3u) {
  let c = g.x;
  let s = g.y;
  if (c >= DI || s >= segs[0]) {
    return;
  }
  let t0 = segs[1u + 2u * s];
  let base = segs[2u + 2u * s] * STRIDE + CONV_OFF + c * (DC - 1u);
  let t1 = segs[3u + 2u * s];
  var w: array<f32, 8>;
  for (var k = 0u; k < DC; k++) {
    w[k] = params[CW_OFF + c * DC + k];
  }
  var b = 0.0;
  if (HAS_BIAS) {
    b = params[CB_OFF + c];
  }
  // The DC-1 inputs before token t, oldest first: the slot's state to begin with.
  var win: array<f32, 8>;
  for (var k = 0u; k < DC - 1u; k++) {
    win[k] = slots[base + k];
  }
  for (var t = t0; t < t1; t++) {
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
    slots[base + k] = win[k];
  }
}
