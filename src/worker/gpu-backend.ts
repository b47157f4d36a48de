/**
 * The WebGPU engine as the worker's backend: opened by openEngine (src/engine/open.ts: device, streamed
 * weights, A_log), it runs capture / score / generate from a start state given on the host or filled on the GPU
 * (a stored state's resident copy, or a mix of resident copies by GpuStateMixer). Calls are serialised here, and a call whose signal was aborted while it waited never reaches the GPU: that is what lets new
 * perplexity work supersede stale work instead of queueing behind it.
 */
import type { EngineDevice } from '../engine/gpu/device.ts';
import type { GpuMambaModel } from '../engine/model.ts';
import { adapterName, openEngine } from '../engine/open.ts';
import type { GpuState, MambaEngine } from '../engine/api.ts';
import { GpuStateMixer } from '../engine/states/gpuMix.ts';
import type { MixPlan } from '../engine/states/mixSpec.ts';
import { shapeOfConfig } from '../engine/states/types.ts';
import type { MambaState } from '../engine/weights.ts';
import type { LoadProgress } from '../model/loader.ts';
import type { ModelSource as LoaderSource } from '../model/sources.ts';
import type { MambaTokenizer } from '../model/tokenizer.ts';
import type { AnyMambaConfig } from '../model/family.ts';
import { abortError, type Backend, type BackendRun, type RunStart, type StepResult } from './backend.ts';
import { WeightsHasher } from '../engine/states/hash.ts';
import { LegacyS1Fingerprint } from './legacy-s1.ts';
import type { WeightDtype } from '../engine/api.ts';
import type { PrecisionChoice } from '../model/loader.ts';
import type { SamplingSettings } from './protocol.ts';
import type { StateDevice } from './state-cache.ts';

const TOP_ALTERNATIVES = 5;

export interface GpuLoadResult {
  backend: GpuBackend;
  tokenizer: MambaTokenizer | undefined;
  precision: WeightDtype;
  weightsHash: string;
  /** The retired "s1-" fingerprint of the same weights: states saved under it are re-tagged, not lost. */
  legacyWeightsHash: string;
  estimateBytes: number;
  warnings: string[];
}

export class GpuBackend implements Backend {
  readonly kind = 'webgpu' as const;
  private gate: Promise<unknown> = Promise.resolve();
  private mixer: GpuStateMixer | undefined;

  constructor(
    private readonly engine: GpuMambaModel,
    private readonly aLogs: Float32Array[],
    readonly adapter: string,
    /**
     * Set when we destroy the device ourselves, so its `lost` promise is not reported as a failure. `borrowed`:
     * the engine and its device belong to the caller (the benchmark), and destroy() leaves them alone.
     */
    private readonly ownership: { destroyed: boolean; borrowed?: boolean },
  ) {}

  /** Where stored states are kept on this backend's device. */
  get stateDevice(): StateDevice {
    return this.engine;
  }

  /**
   * Mixes `srcs` (states of this engine) by `plan` into `dst` on the GPU; the work is submitted, not waited
   * for, so the run that follows sees it in queue order.
   */
  mixInto(srcs: GpuState[], plan: MixPlan, dst: GpuState): Promise<void> {
    this.mixer ??= new GpuStateMixer(this.engine.device, shapeOfConfig(this.config), this.aLogs);
    return this.mixer.mix(srcs, plan, dst);
  }

  get config(): AnyMambaConfig {
    return this.engine.config;
  }

  aLog(layer: number): Float32Array {
    return this.aLogs[layer]!;
  }

  allALogs(): Float32Array[] {
    return this.aLogs;
  }

  /** Runs `fn` after every earlier call, on a scratch state holding `start`; skipped if already superseded. */
  private exclusive<T>(signal: AbortSignal, start: RunStart, fn: (s: GpuState) => Promise<T>): Promise<T> {
    const run = async () => {
      if (signal.aborted) throw abortError();
      const scratch = this.engine.createState();
      try {
        if (typeof start === 'function') await start(scratch);
        else if (start) this.engine.writeState(scratch, start);
        return await fn(scratch);
      } finally {
        scratch.destroy();
      }
    };
    const p = this.gate.then(run, run);
    this.gate = p.catch(() => undefined);
    return p;
  }

  capture(tokens: number[], run: BackendRun): Promise<MambaState> {
    return this.exclusive(run.signal, null, async (s) => {
      await this.engine.prefill(s, tokens, {
        logits: 'none',
        signal: run.signal,
        onProgress: (p) => run.onProgress?.(p.done, p.total),
      });
      return this.engine.readState(s);
    });
  }

  score(start: RunStart, tokens: number[], run: BackendRun): Promise<Float32Array> {
    return this.exclusive(
      run.signal,
      start,
      async (s) =>
        (
          await this.engine.score(s, tokens, {
            signal: run.signal,
            onProgress: (p) => run.onProgress?.(p.done, p.total),
          })
        ).nll,
    );
  }

  generate(
    start: RunStart,
    prompt: number[],
    sampling: SamplingSettings,
    stopTokens: number[],
    run: BackendRun & { onStep: (s: StepResult, index: number) => void },
  ): Promise<StepResult[]> {
    return this.exclusive(run.signal, start, async (s) => {
      const out: StepResult[] = [];
      await this.engine.generate(s, prompt, {
        maxNewTokens: sampling.maxNewTokens,
        temperature: sampling.temperature,
        topK: sampling.topK,
        topP: sampling.topP,
        seed: sampling.seed,
        stopTokens,
        signal: run.signal,
        reportTop: TOP_ALTERNATIVES,
        onToken: (id, index, info) => {
          const step = { id, prob: info?.prob ?? NaN, top: info?.alternatives ?? [] };
          out.push(step);
          run.onStep(step, index);
        },
      });
      return out;
    });
  }

  /** Runs `fn` (a whole study) on the engine alone: other GPU work waits until it ends. */
  withEngine<T>(signal: AbortSignal, fn: (engine: MambaEngine) => Promise<T>): Promise<T> {
    return this.exclusive(signal, null, () => fn(this.engine));
  }

  destroy(): void {
    this.mixer?.destroy();
    this.mixer = undefined;
    if (this.ownership.borrowed) return;
    this.ownership.destroyed = true;
    this.engine.destroy();
    this.engine.device.destroy();
  }
}

/**
 * Opens a device through `openDevice` (the page's or Worker's navigator.gpu, Dawn in Node) and streams the
 * checkpoint onto it, hashing the weights as they pass (the weights hash, and the retired "s1-" fingerprint).
 */
export async function openGpuBackend(
  source: LoaderSource,
  precision: PrecisionChoice,
  progress: (p: LoadProgress) => void,
  onDeviceLost: (e: Error) => void,
  signal: AbortSignal,
  openDevice: () => Promise<EngineDevice>,
): Promise<GpuLoadResult> {
  const dev = await openDevice();
  const ownership = { destroyed: false };
  void dev.lost.then((e) => {
    if (!ownership.destroyed) onDeviceLost(e);
  });
  let hasher: WeightsHasher | undefined;
  let legacy: LegacyS1Fingerprint | undefined;
  try {
    const opened = await openEngine(source, {
      device: dev,
      tokenizer: 'optional',
      precision,
      // On a software adapter the CPU unpacks every f16 weight: f32 scores about twice as fast there.
      preferF32: dev.isSoftware,
      signal,
      onProgress: progress,
      observe: {
        created(config) {
          // As the CLI does (src/cli/model-dir.ts), so the page and `soup` tag a model's states alike.
          hasher = new WeightsHasher(config);
          legacy = new LegacyS1Fingerprint(JSON.stringify(config));
        },
        tensor(name, data) {
          hasher!.add(name, data);
          legacy!.add(name, data);
        },
      },
    });
    return {
      backend: new GpuBackend(opened.engine, opened.aLogs, adapterName(dev), ownership),
      tokenizer: opened.tokenizer,
      precision: opened.precision,
      weightsHash: hasher!.digest(),
      legacyWeightsHash: legacy!.hex(),
      estimateBytes: opened.estimate.totalBytes,
      warnings: opened.warnings,
    };
  } catch (e) {
    ownership.destroyed = true;
    dev.device.destroy();
    throw e;
  }
}
