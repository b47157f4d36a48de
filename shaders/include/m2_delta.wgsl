// Mamba-2's Δ for head h from its raw in_proj value: softplus(raw + dt_bias[h]) (torch's threshold 20),
// clamped to [DT_MIN, DT_MAX] (time_step_limit; an infinite bound is passed as the largest f32). The kernel
// that includes this declares `params` (the layer's parameters, dt_bias [H] at DTB_OFF).
// Reference: deltaOf in src/engine/reference/mamba2.ts.
override DTB_OFF: u32;
override DT_MIN: f32 = 0.0;
override DT_MAX: f32 = 3.4028234e38;

fn m2Delta(raw: f32, h: u32) -> f32 {
  let v = raw + params[DTB_OFF + h];
  let sp = select(log(1.0 + exp(v)), v, v > 20.0);
  return clamp(sp, DT_MIN, DT_MAX);
}
