/** What the page is told about a loaded model (ModelInfo), from the engine's config and how it was loaded. */
import { familyOf, type AnyMambaConfig } from '../model/family.ts';
import { shapeOfConfig, stateBytes } from '../engine/states/types.ts';
import type { ModelInfo } from './protocol.ts';

export type LoadFacts = Pick<ModelInfo, 'id' | 'precision' | 'memoryBytes' | 'weightsHash' | 'warnings'>;

export function modelInfoOf(
  cfg: AnyMambaConfig,
  adapter: string,
  tokenizer: ModelInfo['tokenizer'],
  facts: LoadFacts,
): ModelInfo {
  return {
    ...facts,
    description: '',
    family: familyOf(cfg),
    layers: cfg.numLayers,
    dModel: cfg.hiddenSize,
    dState: cfg.stateSize,
    vocab: cfg.vocabSize,
    engine: 'webgpu',
    adapter,
    tokenizer,
    // Both families: Mamba-2's conv window also keeps B and C, and its Σ Δ is per head.
    stateBytes: stateBytes(shapeOfConfig(cfg)),
  };
}
