/**
 * The float64 CPU reference as a worker backend. It is the project's oracle, exact and slow (one token at a
 * time, no vectorisation), so the UI labels it wherever it runs; it keeps the playground usable for tiny
 * models and where the WebGPU engine is missing. It yields to the event loop between tokens so newer work
 * can supersede it.
 */
import { referenceForward } from '../engine/reference/mamba.ts';
import { cloneState, zeroState, type MambaState, type MambaWeights } from '../engine/weights.ts';
import { abortError, yieldToEvents, type Backend, type BackendRun, type StepResult } from './backend.ts';
import type { SamplingSettings } from './protocol.ts';
import { chooseToken, seededRandom, softmax, topEntries } from './sampling.ts';

const TOP_ALTERNATIVES = 5;

export class CpuReferenceBackend implements Backend {
  readonly kind = 'cpu-reference' as const;
  readonly adapter = 'CPU (float64 reference)';
  constructor(private readonly weights: MambaWeights) {}

  get config() {
    return this.weights.config;
  }

  aLog(layer: number): Float32Array {
    return this.weights.layers[layer]!.aLog;
  }

  /** Reads one token, returning its logits; `state` is replaced in place. */
  private async step(state: { s: MambaState }, token: number, signal: AbortSignal): Promise<Float64Array> {
    if (signal.aborted) throw abortError();
    const r = referenceForward(this.weights, [token], state.s);
    state.s = r.state;
    await yieldToEvents();
    if (signal.aborted) throw abortError();
    return r.logits;
  }

  async capture(tokens: number[], run: BackendRun): Promise<MambaState> {
    const st = { s: zeroState(this.config) };
    for (let t = 0; t < tokens.length; t++) {
      await this.step(st, tokens[t]!, run.signal);
      run.onProgress?.(t + 1, tokens.length);
    }
    return st.s;
  }

  async score(start: MambaState | null, tokens: number[], run: BackendRun): Promise<Float32Array> {
    const st = { s: start ? cloneState(start) : zeroState(this.config) };
    const nll = new Float32Array(Math.max(0, tokens.length - 1));
    for (let t = 0; t + 1 < tokens.length; t++) {
      const logits = await this.step(st, tokens[t]!, run.signal);
      const p = softmax(logits);
      nll[t] = -Math.log(Math.max(p[tokens[t + 1]!]!, 1e-30));
      run.onProgress?.(t + 1, tokens.length - 1);
    }
    return nll;
  }

  async generate(
    start: MambaState | null,
    prompt: number[],
    sampling: SamplingSettings,
    stopTokens: number[],
    run: BackendRun & { onStep: (s: StepResult, index: number) => void },
  ): Promise<StepResult[]> {
    const st = { s: start ? cloneState(start) : zeroState(this.config) };
    let logits: Float64Array | undefined;
    for (const tok of prompt) logits = await this.step(st, tok, run.signal);
    if (!logits) return [];
    const random = seededRandom(sampling.seed);
    const out: StepResult[] = [];
    for (let i = 0; i < sampling.maxNewTokens; i++) {
      const id = chooseToken(logits, sampling, random);
      const probs = softmax(logits);
      const top = topEntries(probs, TOP_ALTERNATIVES).map((e) => ({ id: e.id, prob: e.value }));
      const step = { id, prob: probs[id]!, top };
      out.push(step);
      run.onStep(step, i);
      if (stopTokens.includes(id) || i + 1 === sampling.maxNewTokens) break;
      logits = await this.step(st, id, run.signal);
    }
    return out;
  }

  destroy(): void {}
}
