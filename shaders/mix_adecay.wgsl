// mix_adecay: one step of the A-decay composition of ordered chunks (Horner form of
// h = Σ_i w_i (Π_{j>i} exp(A ⊙ ΣΔ_j)) ⊙ h_i): acc ← exp(A ⊙ ΣΔ_i) ⊙ acc + w_i·h_i, the term skipped where
// w_i is 0. Run for sources 1..K-1 after acc ← w_0·h_0 (mix_linear). One kernel for both families: the SSM
// state of a layer is rows × cols with one Σ Δ per row (ssmGrid in src/engine/states/types.ts).
// Shapes: acc, h f32 [layers, rows, cols] (Mamba-1 rows d_inner, cols d_state; Mamba-2 rows num_heads,
// cols head_dim·state_size); dtSum f32 [layers, rows] (the source's Σ Δ); a = −exp(A_log) f32
// [layers, rows·cols / aGroup]: Mamba-1 aGroup 1 (A per element, [d_inner, d_state]), Mamba-2 aGroup cols (one
// scalar A per head, broadcast over head_dim × state_size); ops [layers] of (op, weight), op unused here.
// Dispatch: ceil(total / 256) invocation groups, folded into (x, y) with rowStride = x·256.
// Matches adecayCombine in src/engine/states/cpuMix.ts, the float64 formula in tests/mix.gpu.test.ts
// and the fixtures' adecay.ssm_state of both families (tiny-a/b, m2-tiny-d/e from transformers; tests/fixtures/README.md)
// up to f32 rounding.

struct Params {
  perLayer: u32, // rows · cols
  total: u32,
  rowStride: u32,
  cols: u32,
  aGroup: u32,
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
  // i / cols indexes [layers, rows] and i / aGroup the A array, because perLayer is a multiple of both.
  let lambda = exp(a[i / params.aGroup] * dtSum[i / params.cols]);
  var v = lambda * acc[i];
  let w = ops[i / params.perLayer].weight;
  if (w != 0.0) {
    let term = w * h[i];
    v = v + term;
  }
  acc[i] = v;
}
