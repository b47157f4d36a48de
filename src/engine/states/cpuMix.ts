/**
 * The CPU reference of every mixing operator (the plan of mixSpec.ts), in f32 arithmetic: each product and
 * each sum is rounded to f32 (Math.fround), as the GPU kernels compute them, so GPU and CPU are compared at a
 * tolerance of a few f32 ulps (a GPU may fuse a·b + c into one rounding) and the exact invariants (weight 1,
 * mean of copies) hold in both.
 */
import type { LayerState, MambaState } from '../weights.ts';
import { OP_ACCUMULATE, OP_ASSIGN, linearOps, type MixPlan, type PartPolicy } from './mixSpec.ts';
import { StateMismatchError } from './types.ts';

const f32 = Math.fround;

/** out = Σ w_i s_i over the non-zero weights, starting from the first term; zero when every weight is 0. */
function linearCombine(parts: Float32Array[], ops: number[], weights: number[]): Float32Array {
  const out = new Float32Array(parts[0]!.length);
  parts.forEach((s, i) => {
    const w = weights[i]!;
    if (ops[i] === OP_ASSIGN) for (let e = 0; e < s.length; e++) out[e] = f32(w * s[e]!);
    else if (ops[i] === OP_ACCUMULATE)
      for (let e = 0; e < s.length; e++) out[e] = f32(out[e]! + f32(w * s[e]!));
  });
  return out;
}

/** s_0 + Σ_{i>0} (s_i − s_0)·c, skipping zero differences (so copies give s_0 exactly, −0 included). */
function meanCombine(parts: Float32Array[], c: number): Float32Array {
  const base = parts[0]!;
  const out = base.slice();
  for (const s of parts.slice(1)) {
    for (let e = 0; e < s.length; e++) {
      const d = f32(s[e]! - base[e]!);
      if (d !== 0) out[e] = f32(out[e]! + f32(d * c));
    }
  }
  return out;
}

/**
 * Horner form of Σ_i w_i (Π_{j>i} exp(A ⊙ ΣΔ_j)) ⊙ h_i for one layer. The SSM state is rows × cols (ssmGrid in
 * types.ts) with Σ Δ one per row; A has one entry per element (Mamba-1: [d_inner, d_state]) or one per row
 * (Mamba-2: [num_heads], broadcast over head_dim × state_size): `aGroup` elements share one A (1 or cols).
 */
function adecayCombine(
  h: Float32Array[],
  dtSums: Float32Array[],
  a: Float32Array,
  weights: number[],
  cols: number,
  aGroup: number,
): Float32Array {
  const out = new Float32Array(h[0]!.length);
  h.forEach((hi, i) => {
    const w = weights[i]!;
    for (let e = 0; e < hi.length; e++) {
      if (i === 0) {
        if (w !== 0) out[e] = f32(w * hi[e]!);
        continue;
      }
      const ae = a[Math.floor(e / aGroup)]!;
      const lambda = f32(Math.exp(f32(ae * dtSums[i]![Math.floor(e / cols)]!)));
      let v = f32(lambda * out[e]!);
      if (w !== 0) v = f32(v + f32(w * hi[e]!));
      out[e] = v;
    }
  });
  return out;
}

/**
 * How many SSM elements share one A: 1 when A is per element (Mamba-1), cols when per row (Mamba-2, one A per
 * head). Anything else is a mismatch between the model's A_log and the states.
 */
export function decayGroup(ssmLength: number, rows: number, aLength: number): number {
  if (aLength === ssmLength) return 1;
  if (aLength === rows) return ssmLength / rows;
  throw new StateMismatchError(
    `The model's A_log has ${aLength} values per layer; these states need ${ssmLength} (one per element) or ${rows} (one per row).`,
  );
}

/** A = −exp(A_log) in f32, per layer: what the A-decay kernels multiply by. */
export function decayRates(aLogs: Float32Array[]): Float32Array<ArrayBuffer>[] {
  return aLogs.map((al) => Float32Array.from(al, (x) => f32(-Math.exp(x))));
}

function byPolicy(policy: PartPolicy, parts: Float32Array[], mixed: () => Float32Array): Float32Array {
  if (policy === 'zero') return new Float32Array(parts[0]!.length);
  if (policy === 'last') return parts[parts.length - 1]!.slice();
  return mixed();
}

/**
 * Mixes host states of either family by `plan` (shapes already checked by the caller). `a` (decayRates of the
 * model's A_log: [d_inner·d_state] per layer for Mamba-1, [num_heads] for Mamba-2) is needed by adecay only.
 */
export function mixStatesCpu(states: MambaState[], plan: MixPlan, a?: Float32Array[]): MambaState {
  const l0 = states[0]!.layers[0]!;
  const rows = l0.dtSum.length;
  const cols = l0.ssm.length / rows;
  const layers: LayerState[] = [];
  for (let l = 0; l < plan.layers; l++) {
    const ls = states.map((s) => s.layers[l]!);
    const row = plan.grid[l] ?? [];
    const ops = linearOps([row], plan.sources).map((o) => o[0]!);
    const linear = (get: (x: LayerState) => Float32Array) => () =>
      plan.mode === 'mean' ? meanCombine(ls.map(get), plan.meanScale) : linearCombine(ls.map(get), ops, row);
    const ssmMix =
      plan.mode === 'adecay'
        ? () => {
            if (!a?.[l]) throw new Error('A-decay needs the model’s A_log for every layer.');
            return adecayCombine(
              ls.map((x) => x.ssm),
              ls.map((x) => x.dtSum),
              a[l]!,
              row,
              cols,
              decayGroup(l0.ssm.length, rows, a[l]!.length),
            );
          }
        : linear((x) => x.ssm);
    const dtMix =
      plan.mode === 'adecay'
        ? () =>
            linearCombine(
              ls.map((x) => x.dtSum),
              ls.map((_, i) => (i === 0 ? OP_ASSIGN : OP_ACCUMULATE)),
              ls.map(() => 1),
            )
        : linear((x) => x.dtSum);
    // The conv window holds raw inputs, not a decayed sum: A-decay's 'mix' policy for it is the weighted sum.
    const convMix = linear((x) => x.conv);
    layers.push({
      ssm: byPolicy(
        plan.ssm,
        ls.map((x) => x.ssm),
        ssmMix,
      ),
      conv: byPolicy(
        plan.conv,
        ls.map((x) => x.conv),
        convMix,
      ),
      dtSum: byPolicy(
        plan.ssm,
        ls.map((x) => x.dtSum),
        dtMix,
      ),
    });
  }
  return { layers };
}
