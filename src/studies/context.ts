/**
 * What every study runs on: the loaded model (engine, tokenizer, A_log for A-decay, what the run record
 * names), and the few operations the studies are made of, each exactly what the command line does one step at
 * a time (`soup state capture`, `soup generate --state`, `soup score`):
 *  - capture: read a text from the zero state and take the state to the host;
 *  - mix: the playground's CPU mixer (planMix + mixStatesCpu), so a study's mixes are bit-identical to
 *    `generate --mode …` over state files;
 *  - answer: write a host state to the GPU and continue a query greedily, keeping the first line (answerMany:
 *    many queries, each from its state, in one batched engine call);
 *  - score: teacher-forced NLL of a token sequence from a host state.
 * Progress (with an ETA) is reported per unit of work and cancellation is honoured between units and inside
 * the engine's chunked prefill.
 */
import type { ContinueManyOptions, GpuState, MambaEngine, WeightDtype } from '../engine/api.ts';
import { decayRates, mixStatesCpu } from '../engine/states/cpuMix.ts';
import { planMix, type MixSpec } from '../engine/states/mixSpec.ts';
import type { MambaState } from '../engine/weights.ts';
import { zeroState } from '../engine/weights.ts';
import { StudyInputError } from './tasks.ts';

export interface StudyTokenizer {
  encode(text: string): number[];
  decode(ids: ArrayLike<number>): string;
}

/** What a run record says about the model and where it ran. */
export interface ModelInfo {
  /** The model's name as the user knows it (the bundled id, a hub repo, a folder). */
  id: string;
  weightsHash: string;
  adapter: string;
  dtype: WeightDtype;
  layers: number;
  dModel: number;
}

export interface StudyModel {
  engine: MambaEngine;
  tokenizer: StudyTokenizer;
  /** Each layer's A_log (Mamba-1 [d_inner, d_state], Mamba-2 [num_heads]), for A-decay. */
  aLogs: Float32Array[];
  info: ModelInfo;
}

export interface StudyProgress {
  done: number;
  total: number;
  elapsedMs: number;
  /** Estimated milliseconds left (undefined until one unit has finished). */
  etaMs?: number;
  /** What is being done now, e.g. "antonym, 2 shots, query 7". */
  label: string;
}

export interface StudyHooks {
  signal?: AbortSignal;
  onProgress?: (p: StudyProgress) => void;
}

/** Thrown inside a study when its signal aborts; the study catches it and returns the finished rows. */
export class StudyCancelled extends Error {
  override name = 'AbortError';
}

export function isAbort(e: unknown): boolean {
  return e instanceof Error && (e.name === 'AbortError' || e instanceof StudyCancelled);
}

/** The default cap on an answer's new tokens (a task answer is a word or a few). */
export const DEFAULT_MAX_NEW_TOKENS = 12;

export class StudyRunner {
  private done = 0;
  private readonly started = Date.now();
  private readonly a: Float32Array[];
  private readonly stopTokens: number[];

  constructor(
    readonly model: StudyModel,
    private readonly total: number,
    private readonly hooks: StudyHooks = {},
  ) {
    this.a = decayRates(model.aLogs);
    // Generation may stop at a newline: the answer is the first line, so nothing after it is needed.
    this.stopTokens = [...new Set([...model.tokenizer.encode('\n'), ...model.tokenizer.encode('\n\n')])];
  }

  get layers(): number {
    return this.model.engine.config.numLayers;
  }

  checkCancelled(): void {
    if (this.hooks.signal?.aborted) throw new StudyCancelled('The study was cancelled.');
  }

  /** Marks `units` of work done and reports progress. */
  step(label: string, units = 1): void {
    this.done += units;
    const elapsedMs = Date.now() - this.started;
    const p: StudyProgress = { done: this.done, total: this.total, elapsedMs, label };
    if (this.done > 0) p.etaMs = (elapsedMs / this.done) * Math.max(0, this.total - this.done);
    this.hooks.onProgress?.(p);
    this.checkCancelled();
  }

  encode(text: string, what: string): number[] {
    const ids = this.model.tokenizer.encode(text);
    if (ids.length === 0) throw new StudyInputError(`${what} is empty: it has no tokens.`);
    return ids;
  }

  /** The state after reading `tokens` from the zero state, on the host. */
  async captureTokens(tokens: number[]): Promise<MambaState> {
    const { engine } = this.model;
    const gpu = engine.createState();
    try {
      const opts: { logits: 'none'; signal?: AbortSignal } = { logits: 'none' };
      if (this.hooks.signal) opts.signal = this.hooks.signal;
      await engine.prefill(gpu, tokens, opts);
      return await engine.readState(gpu);
    } finally {
      gpu.destroy();
    }
  }

  capture(text: string): Promise<MambaState> {
    return this.captureTokens(this.encode(text, 'A prompt'));
  }

  zero(): MambaState {
    return zeroState(this.model.engine.config);
  }

  /** The playground's CPU mix of host states (the same function `soup generate --state … --mode` uses). */
  mix(states: MambaState[], spec: MixSpec): MambaState {
    return mixStatesCpu(states, planMix(spec, states.length, this.layers), this.a);
  }

  /** The first line of the greedy continuation of `query` from `state` (one generate()). */
  async answer(state: MambaState, query: string, maxNewTokens: number): Promise<string> {
    const { engine, tokenizer } = this.model;
    const gpu = engine.createState();
    try {
      engine.writeState(gpu, state);
      const opts: Parameters<MambaEngine['generate']>[2] = { maxNewTokens, stopTokens: this.stopTokens };
      if (this.hooks.signal) opts.signal = this.hooks.signal;
      const ids = await engine.generate(gpu, this.encode(query, 'A query'), opts);
      return firstLine(tokenizer.decode(ids));
    } finally {
      gpu.destroy();
    }
  }

  /**
   * The first line of the greedy continuation of each query from its state, all in one engine call
   * (continueMany: the queries' prefill and decode run batched, with the ids generate() would give). Each
   * distinct host state is written to the GPU once, so queries sharing a state share its upload.
   */
  async answerMany(items: readonly [MambaState, string][], maxNewTokens: number): Promise<string[]> {
    const { engine, tokenizer } = this.model;
    const queries = items.map(([, query]) => this.encode(query, 'A query'));
    const onGpu = new Map<MambaState, GpuState>();
    try {
      for (const [state] of items) {
        if (onGpu.has(state)) continue;
        const gpu = engine.createState();
        onGpu.set(state, gpu);
        engine.writeState(gpu, state);
      }
      const states = items.map(([state]) => onGpu.get(state)!);
      const opts: ContinueManyOptions = { maxNewTokens, stopTokens: this.stopTokens };
      if (this.hooks.signal) opts.signal = this.hooks.signal;
      const ids = await engine.continueMany(onGpu.size === 1 ? states[0]! : states, queries, opts);
      return ids.map((x) => firstLine(tokenizer.decode(x)));
    } finally {
      for (const gpu of onGpu.values()) gpu.destroy();
    }
  }

  /** Σ NLL (nats) and the count of predicted tokens of `tokens` continued from `state` (first token read). */
  async scoreSum(state: MambaState, tokens: number[]): Promise<{ tokens: number; nllSum: number }> {
    const { engine } = this.model;
    const gpu = engine.createState();
    try {
      engine.writeState(gpu, state);
      const opts: { signal?: AbortSignal } = {};
      if (this.hooks.signal) opts.signal = this.hooks.signal;
      const s = await engine.score(gpu, tokens, opts);
      let sum = 0;
      for (const x of s.nll) sum += x;
      return { tokens: s.nll.length, nllSum: sum };
    } finally {
      gpu.destroy();
    }
  }
}

export function firstLine(text: string): string {
  return text.split('\n')[0]!;
}

/** Positive whole numbers from a list, each named for its message. */
export function checkCounts(values: number[], what: string, min = 1): void {
  if (values.length === 0) throw new StudyInputError(`${what} needs at least one value.`);
  for (const v of values) {
    if (!Number.isInteger(v) || v < min)
      throw new StudyInputError(`${what} must be whole numbers ≥ ${min} (got ${v}).`);
  }
}
