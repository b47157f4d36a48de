// The norms' sum over a workgroup (rmsnorm, rmsnorm_rows, m2_gated_norm): each of the WG invocations gives one
// value; a halving tree through workgroup memory (log2 WG barriers) leaves the total, which every invocation gets
// back. The including kernel declares `override WG` (a power of two ≤ 256) and calls it in uniform control flow.
// `partial` stays the includer's to reuse after a barrier.
var<workgroup> partial: array<f32, 256>;

fn workgroupSum(li: u32, v: f32) -> f32 {
  partial[li] = v;
  workgroupBarrier();
  for (var s = WG / 2u; s > 0u; s >>= 1u) {
    if (li < s) {
      partial[li] += partial[li + s];
    }
    workgroupBarrier();
  }
  return partial[0];
}
