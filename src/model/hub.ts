/**
 * The Mamba-1 checkpoints the app offers by name, as data for the UI. Sizes are computed from each model's
 * architecture (the same config fields its config.json holds) rather than typed in, so they stay consistent
 * with the memory estimate the loader applies. Any other repo id can be typed; these are the known ones.
 */
import type { MambaConfig } from './config.ts';
import { countParameters, estimateMemory } from './memory.ts';

export interface KnownModel {
  repo: string;
  /** Short name for lists ("mamba-130m"). */
  name: string;
  hiddenSize: number;
  numLayers: number;
  parameters: number;
  /** The hub files are F32: the download is about this many bytes. */
  downloadBytes: number;
  /** GPU memory at each precision, weights plus activations and states. */
  gpuBytes: { f32: number; f16: number; int8: number };
  note?: string;
}

/** All share the GPT-NeoX vocabulary padded to 50280, d_state 16, expand 2, d_conv 4, tied embeddings. */
function mambaConfig(hiddenSize: number, numLayers: number): MambaConfig {
  return {
    vocabSize: 50280,
    hiddenSize,
    numLayers,
    stateSize: 16,
    convKernel: 4,
    intermediateSize: 2 * hiddenSize,
    timeStepRank: Math.ceil(hiddenSize / 16),
    useConvBias: true,
    useBias: false,
    layerNormEpsilon: 1e-5,
    tieWordEmbeddings: true,
    eosTokenId: 0,
  };
}

function known(repo: string, name: string, hiddenSize: number, numLayers: number, note?: string): KnownModel {
  const config = mambaConfig(hiddenSize, numLayers);
  const parameters = countParameters(config);
  return {
    repo,
    name,
    hiddenSize,
    numLayers,
    parameters,
    downloadBytes: parameters * 4,
    gpuBytes: {
      f32: estimateMemory(config, 'f32').totalBytes,
      f16: estimateMemory(config, 'f16').totalBytes,
      int8: estimateMemory(config, 'int8').totalBytes,
    },
    note,
  };
}

export const KNOWN_MODELS: readonly KnownModel[] = [
  known('state-spaces/mamba-130m-hf', 'mamba-130m', 768, 24),
  known('state-spaces/mamba-370m-hf', 'mamba-370m', 1024, 48),
  known('state-spaces/mamba-790m-hf', 'mamba-790m', 1536, 48),
  known('state-spaces/mamba-1.4b-hf', 'mamba-1.4b', 2048, 48),
  known('state-spaces/mamba-2.8b-hf', 'mamba-2.8b', 2560, 64, "the paper's model"),
];

export { DEFAULT_HUB_URL } from './sources.ts';
