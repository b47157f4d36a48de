// mix_adecay: one step of the A-decay composition of ordered chunks (Horner form of
// h = Σ_i w_i (Π_{j>i} exp(A ⊙ ΣΔ_j)) ⊙ h_i): acc ← exp(A ⊙ ΣΔ_i) ⊙ acc + w_i·h_i, the term skipped where
// w_i is 0. Run for sources 1..K-1 after acc ← w_0·h_0 (mix_linear).
// Shapes: acc, h f32 [layers, d_inner, d_state]; dtSum f32 [layers, d_inner] (the source's Σ Δ);
// a f32 [layers, d_inner, d_state] = −exp(A_log); ops [layers] of (op, weight), op unused here.
// Matches adecayCombine in src/engine/states/cpuMix.ts and the fixtures' adecay.ssm_state
// (tests/fixtures/README.md) up to f32 rounding.

struct Params {
  perLayer: u32, // d_inner · d_state
  total: u32,
  rowStride: u32,
  dState: u32,
}

struct LayerOp {
  op: u32,
  weight: f32,
}

@group(0) @binding(0) var<storage, read_write> acc: array<f32>;
@group(0) @binding(1) var<storage, read> h: array<f32>;
@group(0) @binding(2) var<storage, read> dtSum: array<f32>;
@group(0) @binding(3) var<storage, read> a: array<f32>;
@group(0) @binding(4) var<storage, read> ops: array<LayerOp>;
@group(0) @binding(5) var<uniform> params: Params;

@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let i = gid.y * params.rowStride + gid.x;
  if (i >= params.total) {
    return;
  }
  // i / d_state indexes [layers, d_inner] because the SSM layout nests d_state innermost.
  let lambda = exp(a[i] * dtSum[i / params.dState]);
  var v = lambda * acc[i];
  let w = ops[i / params.perLayer].weight;
  if (w != 0.0) {
    let term = w * h[i];
    v = v + term;
  }
  acc[i] = v;
}
