/**
 * Mixing stored states on the host, inside the worker (../shared/design/PAPER.md gives the operators):
 * weighted Σ w_i s_i (optionally normalised to a convex mix), mean, and A-decay (ordered chunks:
 * h = Σ_i (Π_{j>i} exp(A ⊙ ΣΔ_j)) ⊙ h_i, conv state from the last source). `parts` says which halves of the
 * state are mixed; the other half is taken from the first source. The per-layer profile is a playground
 * extension: at layer l the state is p_l · mix + (1 − p_l) · first source.
 */
import type { MambaConfig } from '../model/config.ts';
import { zeroState, type MambaState } from '../engine/weights.ts';
import type { LayerProfile, MixRecipe } from './protocol.ts';

export function layerProfile(profile: LayerProfile, layers: number): number[] {
  return Array.from({ length: layers }, (_, l) => {
    const x = layers > 1 ? l / (layers - 1) : 1;
    switch (profile) {
      case 'uniform':
        return 1;
      case 'early':
        return x <= 0.5 ? 1 : 0;
      case 'late':
        return x >= 0.5 ? 1 : 0;
      case 'ramp':
        return x;
    }
  });
}

/** The effective weights of a recipe (mean ignores the sliders; normalise divides by the sum). */
export function effectiveWeights(recipe: MixRecipe): number[] {
  const n = recipe.sources.length;
  if (recipe.mode === 'mean') return recipe.sources.map(() => 1 / n);
  const w = recipe.sources.map((s) => s.weight);
  if (!recipe.normalize) return w;
  const sum = w.reduce((a, b) => a + b, 0);
  if (Math.abs(sum) < 1e-9) {
    throw new RangeError(
      'The weights sum to zero, so they cannot be normalised. Move a slider or turn off Normalise.',
    );
  }
  return w.map((x) => x / sum);
}

export function mixStates(
  config: MambaConfig,
  states: MambaState[],
  recipe: MixRecipe,
  aLog: (layer: number) => Float32Array,
): MambaState {
  if (states.length === 0) return zeroState(config);
  const out = zeroState(config);
  const profile = layerProfile(recipe.profile, config.numLayers);
  const w = effectiveWeights(recipe);
  const first = states[0]!;
  const ds = config.stateSize;
  for (let l = 0; l < config.numLayers; l++) {
    const o = out.layers[l]!;
    const p = profile[l]!;
    const base = first.layers[l]!;
    // SSM part.
    if (recipe.parts.ssm) {
      if (recipe.mode === 'adecay') {
        const a = aLog(l);
        states.forEach((s, i) => {
          const h = s.layers[l]!.ssm;
          for (let d = 0; d < config.intermediateSize; d++) {
            // Decay of every later chunk: exp(A[d,n] · Σ_{j>i} ΣΔ_j[d]).
            let later = 0;
            for (let j = i + 1; j < states.length; j++) later += states[j]!.layers[l]!.dtSum[d]!;
            for (let n = 0; n < ds; n++) {
              const A = -Math.exp(a[d * ds + n]!);
              o.ssm[d * ds + n] = o.ssm[d * ds + n]! + Math.exp(A * later) * h[d * ds + n]!;
            }
          }
        });
      } else {
        states.forEach((s, i) => addScaled(o.ssm, s.layers[l]!.ssm, w[i]!));
      }
      blend(o.ssm, base.ssm, p);
    } else {
      o.ssm.set(base.ssm);
    }
    // Conv part: A-decay takes the last chunk's; otherwise the same weights as the SSM part.
    if (recipe.parts.conv) {
      if (recipe.mode === 'adecay') o.conv.set(states[states.length - 1]!.layers[l]!.conv);
      else states.forEach((s, i) => addScaled(o.conv, s.layers[l]!.conv, w[i]!));
      blend(o.conv, base.conv, p);
    } else {
      o.conv.set(base.conv);
    }
    // ΣΔ of a mix: the chunks' sums add for A-decay; weighted otherwise (keeps later A-decay meaningful).
    if (recipe.mode === 'adecay') states.forEach((s) => addScaled(o.dtSum, s.layers[l]!.dtSum, 1));
    else states.forEach((s, i) => addScaled(o.dtSum, s.layers[l]!.dtSum, w[i]!));
  }
  return out;
}

function addScaled(dst: Float32Array, src: Float32Array, k: number) {
  for (let i = 0; i < dst.length; i++) dst[i] = dst[i]! + k * src[i]!;
}

/** dst ← p·dst + (1−p)·base. */
function blend(dst: Float32Array, base: Float32Array, p: number) {
  if (p === 1) return;
  for (let i = 0; i < dst.length; i++) dst[i] = p * dst[i]! + (1 - p) * base[i]!;
}
