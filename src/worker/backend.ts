/**
 * What the worker needs from an engine, in host terms: read a text into a state, score a text from a state,
 * generate from a state. Two implementations: the WebGPU engine (src/engine/model.ts) and the float64 CPU
 * reference (the test oracle, slow, for tiny models and for machines where the GPU engine is absent). Captured
 * states come back as host `MambaState`s (saved, exported, inspected); a run starts from a host state, from
 * zero, or from a state filled on the device (a resident stored state, a mix made there).
 */
import type { AnyMambaConfig } from '../model/family.ts';
import type { GpuState } from '../engine/api.ts';
import type { MambaState } from '../engine/weights.ts';
import type { SamplingSettings } from './protocol.ts';

export interface StepResult {
  id: number;
  prob: number;
  top: { id: number; prob: number }[];
}

/** Where a run starts: zero (null), a host state, or a function that fills the run's state on the GPU. */
export type RunStart = MambaState | null | ((dst: GpuState) => void | Promise<void>);

export interface BackendRun {
  signal: AbortSignal;
  onProgress?: (done: number, total: number) => void;
}

export interface Backend {
  readonly kind: 'webgpu' | 'cpu-reference';
  readonly config: AnyMambaConfig;
  readonly adapter: string;
  /** A_log per layer (Mamba-1 [d_inner, d_state], Mamba-2 [num_heads]): what A-decay mixing needs. */
  aLog(layer: number): Float32Array;
  /** The state after reading `tokens` from the zero state (dtSum included). */
  capture(tokens: number[], run: BackendRun): Promise<MambaState>;
  /** nll[i] = −log p(tokens[i+1] | start, tokens[0..i]). */
  score(start: RunStart, tokens: number[], run: BackendRun): Promise<Float32Array>;
  /** Reads `prompt` from `start`, then samples; `onStep` streams each new token. */
  generate(
    start: RunStart,
    prompt: number[],
    sampling: SamplingSettings,
    stopTokens: number[],
    run: BackendRun & { onStep: (s: StepResult, index: number) => void },
  ): Promise<StepResult[]>;
  destroy(): void;
}

export function abortError(): DOMException {
  return new DOMException('Superseded by newer work.', 'AbortError');
}

/** Lets queued messages (a newer request, a cancel) run between steps of long synchronous work. */
export function yieldToEvents(): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, 0));
}
