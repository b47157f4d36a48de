/**
 * The page's mix recipe (sliders, mode, parts, profile) as the states module's MixSpec, which defines the
 * operators once for the CPU and GPU mixers (src/engine/states/mixSpec.ts).
 */
import { layerWeightGrid, policiesFromParts, type MixSpec } from '../engine/states/mixSpec.ts';
import type { MixRecipe } from './protocol.ts';

export function specOf(recipe: MixRecipe, layers: number): MixSpec {
  const { ssm, conv } = recipe.parts;
  if (!ssm && !conv) throw new RangeError('Choose at least one part to mix (SSM state or conv state).');
  const policies = policiesFromParts(ssm && conv ? 'both' : ssm ? 'ssm' : 'conv');
  const weights =
    recipe.mode === 'adecay' ? recipe.sources.map(() => 1) : recipe.sources.map((s) => s.weight);
  const spec: MixSpec = { mode: recipe.mode, weights, ...policies };
  // A-decay's conv state is the last chunk's unless the user asked for the conv part alone to be mixed.
  if (recipe.mode === 'adecay' && ssm && conv) spec.conv = 'last';
  if (recipe.mode === 'weighted') spec.normalize = recipe.normalize;
  if (recipe.profile !== 'uniform' && recipe.mode !== 'mean') {
    spec.layerWeights = layerWeightGrid(weights, layers, { kind: recipe.profile });
  }
  return spec;
}
