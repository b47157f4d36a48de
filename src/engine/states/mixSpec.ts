/**
 * What a mix is, resolved once into a plan that the CPU reference (cpuMix.ts) and the GPU mixer (gpuMix.ts)
 * both execute, so the two differ only in arithmetic, never in meaning.
 *
 * Operators (../shared/design/PAPER.md):
 *  - weighted: s = Σ_i w[l][i] · s_i, per layer l; free weights (extrapolation allowed) or normalised per layer
 *    (convex: w ≥ 0, divided by their sum).
 *  - mean: s = (1/K) Σ s_i, evaluated as s_0 + Σ_{i>0} (s_i − s_0)/K so that the mean of copies of one state
 *    is that state bit for bit (a plain Σ s_i/K is not, for K = 3).
 *  - adecay: ordered chunks, first oldest: h = Σ_i w[l][i] (Π_{j>i} exp(A ⊙ ΣΔ_j)) ⊙ h_i, evaluated by Horner
 *    (acc ← Λ_i ⊙ acc + w_i h_i). With all weights 1 (the default) this is the fixtures' `adecay` composition.
 * Terms with weight exactly 0 are skipped and the sum starts from the first non-zero term (not from 0), so a
 * weight of 1 on one state reproduces it bit for bit, negative zeros included.
 *
 * Parts: `ssm` and `conv` each take a policy: 'mix' (the operator), 'last' (the last source's, i.e. the chunk
 * read most recently) or 'zero'. Σ Δ follows the SSM policy: under 'mix' it is combined with the same weights
 * (weighted, mean) or summed (adecay: the chunks' durations add up), so a mixed state can be mixed again.
 */
import { StateMismatchError } from './types.ts';

export type MixMode = 'weighted' | 'mean' | 'adecay';
export type PartPolicy = 'mix' | 'last' | 'zero';
export type LayerProfileKind = 'uniform' | 'early' | 'late' | 'ramp' | 'rampDown';
/**
 * The profiles a mix recipe names (the mixer's menu, share links): a kind alone, split at half, outside the
 * profile the first source unmixed. The full LayerProfile below also sets the split and the base.
 */
export type RecipeProfile = Exclude<LayerProfileKind, 'rampDown'>;

export interface MixSpec {
  mode: MixMode;
  /** One weight per source (weighted; optional for adecay, default all 1). Ignored by mean. */
  weights?: number[];
  /** A layers × sources grid; overrides `weights` (weighted, adecay). See `layerWeightGrid`. */
  layerWeights?: number[][];
  /** weighted only: divide each layer's weights by their sum (they must be ≥ 0 with a positive sum). */
  normalize?: boolean;
  /** Default 'mix'. */
  ssm?: PartPolicy;
  /** Default 'mix' for weighted and mean, 'last' for adecay (as the paper's A-decay defines it). */
  conv?: PartPolicy;
}

/** The UI's "which parts mix" plus "conv policy", as the two policies of a MixSpec. */
export function policiesFromParts(
  parts: 'ssm' | 'conv' | 'both',
  convPolicy: PartPolicy = 'mix',
): { ssm: PartPolicy; conv: PartPolicy } {
  // A part that is not mixed keeps the last source's values: the state the model was most recently in.
  return {
    ssm: parts === 'conv' ? 'last' : 'mix',
    conv: parts === 'ssm' ? (convPolicy === 'mix' ? 'last' : convPolicy) : convPolicy,
  };
}

export interface LayerProfile {
  kind: LayerProfileKind;
  /** early/late: the fraction of layers counted as early (default 0.5). */
  split?: number;
  /**
   * What layers outside the profile get: the source with this index unmixed (default 0), or 'zero'. Each row is
   * p_l · w + (1 − p_l) · base, with p_l the profile's strength at layer l.
   */
  base?: number | 'zero';
}

/** The profile's strength in [0, 1] at each layer. */
export function profileStrengths(profile: LayerProfile, layers: number): number[] {
  const split = Math.round((profile.split ?? 0.5) * layers);
  return Array.from({ length: layers }, (_, l) => {
    switch (profile.kind) {
      case 'uniform':
        return 1;
      case 'early':
        return l < split ? 1 : 0;
      case 'late':
        return l >= split ? 1 : 0;
      case 'ramp':
        return layers === 1 ? 1 : l / (layers - 1);
      case 'rampDown':
        return layers === 1 ? 1 : 1 - l / (layers - 1);
    }
  });
}

/** A layers × sources grid: the weights applied at full strength where the profile is 1, the base elsewhere. */
export function layerWeightGrid(weights: number[], layers: number, profile: LayerProfile): number[][] {
  const base = profile.base ?? 0;
  if (base !== 'zero' && (!Number.isInteger(base) || base < 0 || base >= weights.length)) {
    throw new StateMismatchError(
      `The profile's base state ${base} is not one of the ${weights.length} sources.`,
    );
  }
  return profileStrengths(profile, layers).map((p) =>
    weights.map((w, i) => (p === 1 ? w : p * w + (base === i ? 1 - p : 0))),
  );
}

/** A resolved mix: f32 weights per layer and source, and the part policies. */
export interface MixPlan {
  mode: MixMode;
  sources: number;
  layers: number;
  /** [layers][sources], already rounded to f32 (what both back ends multiply by). Unused by mean. */
  grid: number[][];
  ssm: PartPolicy;
  conv: PartPolicy;
  /** mean only: f32(1/K). */
  meanScale: number;
}

/** Validates `spec` for `sources` states of `layers` layers; every problem is a StateMismatchError. */
export function planMix(spec: MixSpec, sources: number, layers: number): MixPlan {
  if (sources < 1) throw new StateMismatchError('Choose at least one state to mix.');
  const f32 = Math.fround;
  if (spec.mode === 'mean' && (spec.layerWeights || spec.normalize)) {
    // Refused rather than ignored: a per-layer mean is a weighted mix with equal weights and a profile.
    throw new StateMismatchError(
      'The mean takes no weights; use a weighted mix with equal weights for per-layer control.',
    );
  }
  let grid: number[][] = [];
  if (spec.mode !== 'mean') {
    const fallback = spec.mode === 'adecay' ? new Array<number>(sources).fill(1) : undefined;
    const flat = spec.weights ?? fallback;
    if (spec.layerWeights) {
      grid = spec.layerWeights.map((row) => row.slice());
    } else if (flat) {
      grid = Array.from({ length: layers }, () => flat.slice());
    } else {
      throw new StateMismatchError('A weighted mix needs one weight per state.');
    }
    if (grid.length !== layers) {
      throw new StateMismatchError(
        `The per-layer weights have ${grid.length} rows; the model has ${layers} layers.`,
      );
    }
    grid.forEach((row, l) => {
      if (row.length !== sources) {
        throw new StateMismatchError(`Layer ${l} has ${row.length} weights for ${sources} states.`);
      }
      if (!row.every(Number.isFinite))
        throw new StateMismatchError(`Layer ${l} has a weight that is not a number.`);
    });
    if (spec.normalize) {
      if (spec.mode !== 'weighted') throw new StateMismatchError('Only weighted mixes can be normalised.');
      grid = grid.map((row, l) => {
        if (row.some((w) => w < 0)) {
          throw new StateMismatchError(
            `Normalised (convex) weights must not be negative (layer ${l}); switch to free weights to extrapolate.`,
          );
        }
        const sum = row.reduce((a, b) => a + b, 0);
        if (!(sum > 0))
          throw new StateMismatchError('Normalised weights need a positive sum; raise one slider.');
        return row.map((w) => w / sum);
      });
    }
    grid = grid.map((row) => row.map(f32));
  }
  return {
    mode: spec.mode,
    sources,
    layers,
    grid,
    ssm: spec.ssm ?? 'mix',
    conv: spec.conv ?? (spec.mode === 'adecay' ? 'last' : 'mix'),
    meanScale: f32(1 / sources),
  };
}

/** The per-layer plan of a linear pass over one tensor: for each source, per layer, skip / assign / accumulate. */
export const OP_SKIP = 0;
export const OP_ASSIGN = 1;
export const OP_ACCUMULATE = 2;

/** ops[i][l]: what source i does at layer l, given the first non-zero weight of each layer starts the sum. */
export function linearOps(grid: number[][], sources: number): number[][] {
  const ops = Array.from({ length: sources }, () => new Array<number>(grid.length).fill(OP_SKIP));
  grid.forEach((row, l) => {
    let started = false;
    for (let i = 0; i < sources; i++) {
      if (row[i] === 0) continue;
      ops[i]![l] = started ? OP_ACCUMULATE : OP_ASSIGN;
      started = true;
    }
  });
  return ops;
}
