/**
 * Hugging Face `Mamba2Config` (transformers' format, `model_type: "mamba2"`) as the engine needs it, validated,
 * and the tensors such a checkpoint must hold. Sizes derived from the config (d_inner, the conv channels, the
 * in_proj width) are computed here once. Defaults are transformers' own, except for the sizes that define the
 * architecture (vocab, hidden size, layers, heads, head_dim), which a config must state.
 *
 * transformers ignores `rms_norm` (its Mamba2Mixer always applies the gated RMSNorm) and `time_step_rank`; they
 * are read for the record only. Checkpoints in mamba_ssm's own format are refused with a line naming the
 * format expected.
 */
import { HF_LM_HEAD } from './architectures/hfNames.ts';
import { mamba2Shapes } from './architectures/mamba2.ts';
import { ModelFormatError } from './errors.ts';

export interface Mamba2Config {
  vocabSize: number;
  hiddenSize: number;
  numLayers: number;
  numHeads: number;
  headDim: number;
  nGroups: number;
  stateSize: number;
  expand: number;
  /** d_inner = expand · hidden_size = num_heads · head_dim. */
  intermediateSize: number;
  /** Channels of the depthwise conv: x, B and C = d_inner + 2 · n_groups · state_size. */
  convDim: number;
  /** Rows of in_proj: z (d_inner), then x, B, C (convDim), then dt (num_heads). */
  inProjSize: number;
  convKernel: number;
  chunkSize: number;
  useConvBias: boolean;
  useBias: boolean;
  rmsNorm: boolean;
  layerNormEpsilon: number;
  residualInFp32: boolean;
  tieWordEmbeddings: boolean;
  /** Δ is clamped to [lo, hi] after softplus; transformers' default is [0, ∞). */
  timeStepLimit: readonly [number, number];
  bosTokenId?: number;
  eosTokenId?: number;
}

const MAMBA_SSM_HINT =
  'Mamba-2 checkpoints are read in transformers\' format (config.json with model_type "mamba2" and ' +
  "safetensors weights); convert this one with transformers' convert_mamba2_ssm_checkpoint_to_pytorch.py or " +
  'pick one already in that format (for example AntonV/mamba2-130m-hf).';

/**
 * Python's json module writes ±Infinity and NaN as bare words, which JSON.parse rejects. This replaces them,
 * outside strings, with transformers 5's spelling `{"__float__": "…"}` so both spellings parse alike.
 */
export function pythonJsonToJson(text: string): string {
  let out = '';
  let i = 0;
  while (i < text.length) {
    const ch = text[i]!;
    if (ch === '"') {
      let j = i + 1;
      while (j < text.length && text[j] !== '"') j += text[j] === '\\' ? 2 : 1;
      out += text.slice(i, j + 1);
      i = j + 1;
      continue;
    }
    const m = /^(-?Infinity|NaN)\b/.exec(text.slice(i, i + 10));
    if (m && !/[\w.]/.test(text[i - 1] ?? ' ')) {
      out += `{"__float__": "${m[1]}"}`;
      i += m[1]!.length;
      continue;
    }
    out += ch;
    i++;
  }
  return out;
}

/** Parses the text of a `config.json` (either spelling of infinities) and validates it. */
export function parseMamba2ConfigText(text: string, file = 'config.json'): Mamba2Config {
  let raw: unknown;
  try {
    raw = JSON.parse(pythonJsonToJson(text));
  } catch (e) {
    throw new ModelFormatError(`${file} is not valid JSON (${(e as Error).message}).`);
  }
  return parseMamba2Config(raw, file);
}

function describe(v: unknown): string {
  return v === undefined ? 'nothing' : (JSON.stringify(v) ?? String(v));
}

function positiveInt(r: Record<string, unknown>, key: string, file: string, fallback?: number): number {
  const v = r[key] ?? fallback;
  if (typeof v !== 'number' || !Number.isInteger(v) || v <= 0) {
    throw new ModelFormatError(`${file}: "${key}" must be a positive integer (found ${describe(v)}).`);
  }
  return v;
}

function flag(r: Record<string, unknown>, key: string, file: string, fallback: boolean): boolean {
  const v = r[key] ?? fallback;
  if (typeof v !== 'boolean')
    throw new ModelFormatError(`${file}: "${key}" must be true or false (found ${describe(v)}).`);
  return v;
}

function optionalInt(r: Record<string, unknown>, key: string): number | undefined {
  const v = r[key];
  return typeof v === 'number' && Number.isInteger(v) ? v : undefined;
}

/** A float as either spelling writes it: a number, or `{"__float__": "Infinity" | "-Infinity" | "NaN"}`. */
function pythonFloat(v: unknown): number | undefined {
  if (typeof v === 'number') return v;
  if (typeof v === 'object' && v !== null && !Array.isArray(v)) {
    const keys = Object.keys(v);
    const f = (v as Record<string, unknown>)['__float__'];
    if (keys.length === 1 && typeof f === 'string') {
      if (f === 'Infinity' || f === 'inf') return Infinity;
      if (f === '-Infinity' || f === '-inf') return -Infinity;
      if (f === 'NaN' || f === 'nan') return NaN;
    }
  }
  return undefined;
}

function timeStepLimit(r: Record<string, unknown>, file: string): readonly [number, number] {
  const v = r['time_step_limit'];
  if (v === undefined || v === null) return [0, Infinity];
  const bad = () =>
    new ModelFormatError(
      `${file}: "time_step_limit" must be [low, high] with 0 ≤ low ≤ high, high possibly Infinity (found ${describe(v)}).`,
    );
  if (!Array.isArray(v) || v.length !== 2) throw bad();
  const lo = pythonFloat(v[0]);
  const hi = pythonFloat(v[1]);
  if (lo === undefined || hi === undefined || !Number.isFinite(lo) || Number.isNaN(hi) || lo < 0 || hi < lo)
    throw bad();
  return [lo, hi];
}

/** Validates a parsed `config.json` object; `file` names it in error messages. */
export function parseMamba2Config(raw: unknown, file = 'config.json'): Mamba2Config {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    throw new ModelFormatError(`${file} is not a JSON object.`);
  }
  const r = raw as Record<string, unknown>;
  const modelType = r['model_type'];
  if (modelType !== 'mamba2') {
    if ('d_model' in r || 'ssm_cfg' in r) {
      throw new ModelFormatError(
        `${file} is in mamba_ssm's own format (d_model, ssm_cfg). ${MAMBA_SSM_HINT}`,
      );
    }
    const what = modelType === 'mamba' ? 'a Mamba-1 model' : 'not a Mamba-2 model';
    throw new ModelFormatError(
      `${file}: model_type is ${describe(modelType)}, not "mamba2"; this is ${what}. ${MAMBA_SSM_HINT}`,
    );
  }
  const act = r['hidden_act'];
  if (act !== undefined && act !== 'silu' && act !== 'swish') {
    throw new ModelFormatError(`${file}: hidden_act ${describe(act)} is not supported (only "silu").`);
  }
  const hiddenSize = positiveInt(r, 'hidden_size', file);
  const expand = r['expand'] ?? 2;
  if (typeof expand !== 'number' || !(expand > 0) || !Number.isInteger(expand * hiddenSize)) {
    throw new ModelFormatError(
      `${file}: "expand" must be a positive number with expand × hidden_size a whole number (found ${describe(expand)}).`,
    );
  }
  const intermediateSize = expand * hiddenSize;
  const numHeads = positiveInt(r, 'num_heads', file);
  const headDim = positiveInt(r, 'head_dim', file);
  if (numHeads * headDim !== intermediateSize) {
    throw new ModelFormatError(
      `${file}: num_heads × head_dim = ${numHeads} × ${headDim} = ${numHeads * headDim} must equal expand × hidden_size = ${expand} × ${hiddenSize} = ${intermediateSize}.`,
    );
  }
  const nGroups = positiveInt(r, 'n_groups', file, 8);
  if (numHeads % nGroups !== 0) {
    throw new ModelFormatError(`${file}: n_groups (${nGroups}) must divide num_heads (${numHeads}).`);
  }
  const stateSize = positiveInt(r, 'state_size', file, 128);
  const eps = r['layer_norm_epsilon'] ?? 1e-5;
  if (typeof eps !== 'number' || !(eps > 0) || !Number.isFinite(eps)) {
    throw new ModelFormatError(
      `${file}: "layer_norm_epsilon" must be a positive number (found ${describe(eps)}).`,
    );
  }
  const convDim = intermediateSize + 2 * nGroups * stateSize;
  return {
    vocabSize: positiveInt(r, 'vocab_size', file),
    hiddenSize,
    numLayers: positiveInt(r, 'num_hidden_layers', file),
    numHeads,
    headDim,
    nGroups,
    stateSize,
    expand,
    intermediateSize,
    convDim,
    inProjSize: intermediateSize + convDim + numHeads,
    convKernel: positiveInt(r, 'conv_kernel', file, 4),
    chunkSize: positiveInt(r, 'chunk_size', file, 256),
    useConvBias: flag(r, 'use_conv_bias', file, true),
    useBias: flag(r, 'use_bias', file, false),
    rmsNorm: flag(r, 'rms_norm', file, true),
    layerNormEpsilon: eps,
    residualInFp32: flag(r, 'residual_in_fp32', file, true),
    tieWordEmbeddings: flag(r, 'tie_word_embeddings', file, false),
    timeStepLimit: timeStepLimit(r, file),
    bosTokenId: optionalInt(r, 'bos_token_id'),
    eosTokenId: optionalInt(r, 'eos_token_id'),
  };
}

/** The tensors a Mamba-2 checkpoint must hold for `config`, with their shapes, keyed by Hugging Face name. */
export function mamba2TensorShapes(config: Mamba2Config): Map<string, number[]> {
  return mamba2Shapes(config);
}

/**
 * Checks the tensors a checkpoint holds (`shapeOf` gives a name's shape, or undefined when absent) against
 * `config`; throws one line naming the first missing tensor or wrong shape.
 */
export function checkMamba2Tensors(
  config: Mamba2Config,
  shapeOf: (name: string) => readonly number[] | undefined,
  file = 'the checkpoint',
): void {
  for (const [name, want] of mamba2TensorShapes(config)) {
    const got = shapeOf(name);
    if (got === undefined) {
      const hint =
        name === HF_LM_HEAD ? ' (config.json says tie_word_embeddings is false, so it must be there)' : '';
      throw new ModelFormatError(`${file} has no tensor ${name}${hint}; it does not match its config.json.`);
    }
    if (got.length !== want.length || got.some((d, i) => d !== want[i])) {
      throw new ModelFormatError(
        `${file}: ${name} has shape [${got.join(', ')}], but config.json implies [${want.join(', ')}].`,
      );
    }
  }
}
