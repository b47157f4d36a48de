/** What the page is told about a loaded model (ModelInfo), from the engine's config and how it was loaded. */
import type { MambaConfig } from '../model/config.ts';
import type { ModelInfo } from './protocol.ts';

export type LoadFacts = Pick<ModelInfo, 'id' | 'precision' | 'memoryBytes' | 'weightsHash' | 'warnings'>;

export function modelInfoOf(
  cfg: MambaConfig,
  adapter: string,
  tokenizer: ModelInfo['tokenizer'],
  facts: LoadFacts,
): ModelInfo {
  return {
    ...facts,
    description: '',
    layers: cfg.numLayers,
    dModel: cfg.hiddenSize,
    dState: cfg.stateSize,
    vocab: cfg.vocabSize,
    engine: 'webgpu',
    adapter,
    tokenizer,
    stateBytes: cfg.numLayers * cfg.intermediateSize * (cfg.stateSize + cfg.convKernel) * 4,
  };
}
