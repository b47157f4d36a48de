/**
 * The engine's public contract. Everything above the engine (the command line, the Worker behind the UI,
 * state mixing, benchmarks) programs against these types; `src/engine/model.ts` implements them over a
 * GPUDevice. Nothing here knows of React, stores or IndexedDB.
 *
 * GPU state layout (fixed, so mixing kernels and state I/O agree): a `GpuState` owns three storage buffers,
 * for Mamba-1
 *   ssm   f32 [layers, d_inner, d_state]
 *   conv  f32 [layers, d_inner, d_conv-1]   oldest input first (the fixtures' layout)
 *   dtSum f32 [layers, d_inner]             Σ Δ since the zero state
 * and for Mamba-2 (per head; convDim = d_inner + 2·n_groups·state_size: x, B and C)
 *   ssm   f32 [layers, num_heads, head_dim, state_size]
 *   conv  f32 [layers, convDim, d_conv-1]   oldest input first
 *   dtSum f32 [layers, num_heads]           Σ Δ (after softplus and the time_step_limit clamp) since zero
 * The host MambaState holds the same per layer.
 * Each buffer needs STORAGE | COPY_SRC | COPY_DST usage: the engine copies states into its own per-layer
 * working buffers and back (engine.createState() makes them so).
 */
import type { AnyMambaConfig } from '../model/family.ts';
import type { MambaState } from './weights.ts';

/**
 * How the large matrices are held on the GPU: f32, f16 packed two per u32, or int8 with per-channel (or
 * group-wise) scales, quantised at load time (src/engine/gpu/int8.ts). Everything else stays f32.
 */
export type WeightDtype = 'f32' | 'f16' | 'int8';

export interface GpuState {
  readonly ssm: GPUBuffer;
  readonly conv: GPUBuffer;
  readonly dtSum: GPUBuffer;
  destroy(): void;
}

export interface ProgressInfo {
  done: number;
  total: number;
}

export interface RunOptions {
  /** Called after each chunk of a long prompt. */
  onProgress?: (p: ProgressInfo) => void;
  /** Aborts between chunks; the promise rejects with an AbortError and the state is left as it was. */
  signal?: AbortSignal;
}

export interface SamplingOptions {
  /** 0 or undefined means greedy (argmax). */
  temperature?: number;
  topK?: number;
  topP?: number;
  /** Seeded sampling: the same seed gives the same tokens. */
  seed?: number;
}

export interface GenerateOptions extends SamplingOptions, RunOptions {
  maxNewTokens: number;
  /** Generation stops after emitting any of these ids. */
  stopTokens?: number[];
  /**
   * Called with each new token id as soon as it is known (streaming). With `reportTop` set, `info` carries
   * the chosen token's probability and the most likely alternatives.
   */
  onToken?: (id: number, index: number, info?: TokenReport) => void;
  /**
   * When set (1..16), each step also reads back the chosen token's probability and the top-N ids with
   * theirs, under softmax(logits) at temperature 1; when unset only the id (4 bytes) is read back.
   */
  reportTop?: number;
}

export interface TokenReport {
  prob: number;
  alternatives: { id: number; prob: number }[];
}

export interface TokenScore {
  /** nll[i] = −log p(tokens[i+1] | state, tokens[0..i]); length tokens.length − 1. */
  nll: Float32Array;
  /** The mean of nll, and exp of it. */
  meanNll: number;
  perplexity: number;
}

export interface MambaEngine {
  readonly config: AnyMambaConfig;
  readonly dtype: WeightDtype;
  readonly device: GPUDevice;

  /** A new state on the GPU, zero-filled. */
  createState(): GpuState;
  resetState(state: GpuState): void;
  copyState(dst: GpuState, src: GpuState): void;
  readState(state: GpuState): Promise<MambaState>;
  writeState(state: GpuState, host: MambaState): void;

  /**
   * Reads `tokens` starting from `state` (updated in place: it ends as the state after the last token).
   * Chunked: progress is reported and cancellation honoured between chunks.
   * `logits: 'all'` returns [tokens, vocab]; 'last' returns [vocab]; 'none' returns undefined.
   */
  prefill(
    state: GpuState,
    tokens: ArrayLike<number>,
    options?: RunOptions & { logits?: 'none' | 'last' | 'all' },
  ): Promise<Float32Array | undefined>;

  /** Teacher-forced per-token NLL of `tokens` continued from `state`; `state` is not modified. */
  score(state: GpuState, tokens: ArrayLike<number>, options?: RunOptions): Promise<TokenScore>;

  /**
   * Continues from `state` (not modified) after reading `prompt`, generating up to maxNewTokens ids. Only the
   * sampled id is read back per token.
   */
  generate(state: GpuState, prompt: ArrayLike<number>, options: GenerateOptions): Promise<number[]>;

  /**
   * Continues each query greedily from `state` (one state for all, or one per query; none is modified) and
   * returns each query's new ids, as generate() with `{ maxNewTokens, stopTokens }` would per query, but
   * several queries in one pass: their prefill shares chunks and each decode step runs all of them at once.
   * Greedy ids equal generate()'s; logits agree to floating-point order (GEMMs on B rows where generate()
   * runs GEMVs on one). Both families batch; where not even two states fit the engine's slot budget
   * (Mamba-2 at 2.7b size), the queries run one by one (same results, no speed-up).
   */
  continueMany(
    state: GpuState | readonly GpuState[],
    queries: readonly ArrayLike<number>[],
    options: ContinueManyOptions,
  ): Promise<number[][]>;

  destroy(): void;
}

export interface ContinueManyOptions {
  maxNewTokens: number;
  /** A query's continuation stops after any of these ids. */
  stopTokens?: number[];
  /** Queries per pass (1 .. the engine's capacity); default: as many as the engine holds. */
  batchSize?: number;
  /** Aborts between chunks and steps; the states are untouched either way. */
  signal?: AbortSignal;
  /** Called after each pass with the queries finished so far. */
  onProgress?: (p: ProgressInfo) => void;
}
