/**
 * Hugging Face `MambaConfig` (Mamba-1) as the engine needs it, validated. Field names follow `config.json`;
 * derived sizes (d_inner, dt_rank) are resolved here once so no other module repeats the defaults.
 */
import { MAMBA1, mamba1Shapes } from './architectures/mamba1.ts';
import { ModelFormatError } from './errors.ts';

export interface MambaConfig {
  vocabSize: number;
  hiddenSize: number;
  numLayers: number;
  stateSize: number;
  convKernel: number;
  intermediateSize: number;
  timeStepRank: number;
  useConvBias: boolean;
  useBias: boolean;
  layerNormEpsilon: number;
  tieWordEmbeddings: boolean;
  bosTokenId?: number;
  eosTokenId?: number;
}

function positiveInt(raw: Record<string, unknown>, key: string, file: string, fallback?: number): number {
  const v = raw[key] ?? fallback;
  // Safe integers only: sizes are multiplied into byte counts, which lose exactness past 2^53.
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v <= 0) {
    throw new ModelFormatError(`${file}: "${key}" must be a positive integer (found ${JSON.stringify(v)}).`);
  }
  return v;
}

function optionalInt(raw: Record<string, unknown>, key: string): number | undefined {
  const v = raw[key];
  return typeof v === 'number' && Number.isSafeInteger(v) ? v : undefined;
}

/** Parses and validates a `config.json` object; `file` names it in error messages. */
export function parseMambaConfig(raw: unknown, file = 'config.json'): MambaConfig {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    throw new ModelFormatError(`${file} is not a JSON object.`);
  }
  const r = raw as Record<string, unknown>;
  const modelType = r['model_type'];
  if (modelType !== MAMBA1.modelType) {
    const hint =
      modelType === 'mamba2'
        ? ' Mamba-2 checkpoints are not supported; pick a Mamba-1 model such as state-spaces/mamba-130m-hf.'
        : ' Pick a Mamba-1 checkpoint in the Hugging Face layout (for example state-spaces/mamba-130m-hf).';
    throw new ModelFormatError(
      `${file}: model_type is ${JSON.stringify(modelType)}, not "mamba"; this is not a Mamba-1 model.${hint}`,
    );
  }
  const hiddenSize = positiveInt(r, 'hidden_size', file);
  const expand = typeof r['expand'] === 'number' ? (r['expand'] as number) : 2;
  const intermediateSize = positiveInt(r, 'intermediate_size', file, Math.round(expand * hiddenSize));
  const rankRaw = r['time_step_rank'];
  const timeStepRank =
    rankRaw === undefined || rankRaw === 'auto'
      ? Math.ceil(hiddenSize / 16)
      : positiveInt(r, 'time_step_rank', file);
  const eps = r['layer_norm_epsilon'] ?? 1e-5;
  if (typeof eps !== 'number' || !(eps > 0) || !Number.isFinite(eps)) {
    throw new ModelFormatError(`${file}: "layer_norm_epsilon" must be a positive number.`);
  }
  const act = r['hidden_act'];
  if (act !== undefined && act !== 'silu') {
    throw new ModelFormatError(`${file}: hidden_act ${JSON.stringify(act)} is not supported (only "silu").`);
  }
  return {
    vocabSize: positiveInt(r, 'vocab_size', file),
    hiddenSize,
    numLayers: positiveInt(r, 'num_hidden_layers', file),
    stateSize: positiveInt(r, 'state_size', file, 16),
    convKernel: positiveInt(r, 'conv_kernel', file, 4),
    intermediateSize,
    timeStepRank,
    useConvBias: r['use_conv_bias'] === undefined ? true : Boolean(r['use_conv_bias']),
    useBias: Boolean(r['use_bias']),
    layerNormEpsilon: eps,
    tieWordEmbeddings: r['tie_word_embeddings'] === undefined ? true : Boolean(r['tie_word_embeddings']),
    bosTokenId: optionalInt(r, 'bos_token_id'),
    eosTokenId: optionalInt(r, 'eos_token_id'),
  };
}

/**
 * The tensors a checkpoint must hold for `config`, with their shapes, keyed by Hugging Face name (from the
 * architecture table, architectures/mamba1.ts).
 */
export function expectedTensorShapes(config: MambaConfig): Map<string, number[]> {
  return mamba1Shapes(config);
}
