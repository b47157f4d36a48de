/**
 * The benchmark, shared by `soup bench` and the app's benchmark page: plain TypeScript over the engine.
 *
 * What is measured (every figure a median over timed runs after an untimed warm-up):
 *  - prefill tokens/s at 128, 512 and 2048 tokens (state only, no logits read back);
 *  - decode tokens/s over 128 tokens: generate() with GPU sampling, only the id read back; timed from the first
 *    emitted token to the last, so the prompt is not counted;
 *  - mix and rescore: two states mixed by GpuStateMixer (weighted 0.5/0.5), then score() of a 256-token text;
 *  - the page's path for the same (service-path.ts): a recipe in, a score out, through the EngineService the
 *    engine worker runs, with another weight in every request;
 *  - effective decode bandwidth: weight bytes per token (cost.ts) × decode tokens/s;
 *  - dispatches per token from the engine's plan, and per-kernel GPU time from timestamp queries when the
 *    device has `timestamp-query`.
 */
import { familyOf, isMamba2Config, type AnyMambaConfig, type ModelFamily } from '../model/family.ts';
import { countParameters } from '../model/memory.ts';
import type { WeightDtype } from '../engine/api.ts';
import type { GpuMambaModel } from '../engine/model.ts';
import { GpuStateMixer } from '../engine/states/gpuMix.ts';
import { planMix } from '../engine/states/mixSpec.ts';
import { shapeOfConfig } from '../engine/states/types.ts';
import { decodeBytesPerToken, decodeDispatches, prefillDispatches, type DecodeBytes } from './cost.ts';
import { measureDispatchFloor, type DispatchFloor } from './floor.ts';
import { nonEmpty, profilePhase, type PhaseProfile } from './profile.ts';
import { timeServicePath, type ServicePathResult } from './service-path.ts';
import type { MambaTokenizer } from '../model/tokenizer.ts';
import { median, now, randomTokens, timeRuns } from './stats.ts';

export interface BenchOptions {
  /** Shorter lengths and fewer runs, for CI on software WebGPU. */
  quick?: boolean;
  prefillLengths?: number[];
  decodeTokens?: number;
  evalTokens?: number;
  onProgress?: (message: string) => void;
}

export interface BenchInput {
  engine: GpuMambaModel;
  /** Each layer's A_log, which the state mixer needs. */
  aLogs: Float32Array[];
  /** The model's tokenizer, if it has one: the page's path reads texts (UTF-8 bytes without one). */
  tokenizer?: MambaTokenizer;
  /** What was loaded, as the user named it (a folder or random:130m). */
  model: string;
  adapter: string;
  hasTimestamps: boolean;
  /** The adapter's features (EngineDevice.adapterFeatures), printed in the header: which toggles took. */
  adapterFeatures?: string[];
  /** EngineDevice.subgroupMatrixRefused: why subgroup matrices on offer go unused. */
  subgroupMatrixRefused?: string;
  /** Milliseconds from opening the model to its weights being on the GPU. */
  uploadMs: number;
}

export interface BenchResult {
  model: string;
  dtype: WeightDtype;
  adapter: string;
  variant: string;
  /**
   * How the f16 weights were read: 'native' (the `enable f16;` twins, on a device with shader-f16) or
   * 'packed' (two per u32); absent for f32 weights.
   */
  f16Kernels?: 'native' | 'packed';
  adapterFeatures?: string[];
  /** The kernel the prefill GEMMs ran on: a gemm_sgmm variant (subgroup matrices), gemm_tiled or gemm_reg. */
  prefillGemm: string;
  quick: boolean;
  config: {
    dModel: number;
    layers: number;
    dInner: number;
    vocab: number;
    params: number;
    family: ModelFamily;
  };
  uploadMs: number;
  prefill: { tokens: number; tokPerS: number; ms: number }[];
  decode: { tokens: number; tokPerS: number; msPerToken: number };
  mixRescore: { evalTokens: number; mixMs: number; scoreMs: number; totalMs: number };
  /**
   * Mix + rescore as the page runs it: through the worker's EngineService, recipe in, score out (Mamba-1
   * only: the worker does not run Mamba-2 yet).
   */
  servicePath?: ServicePathResult;
  decodeBytes: DecodeBytes;
  /** decodeBytes.total × decode tokens/s, in GB/s (10^9). */
  decodeBandwidthGBs: number;
  dispatchesPerDecodeToken: number;
  dispatchesPerPrefillChunk: number;
  prefillChunk: number;
  /** The time of as many empty dispatches as a decode token has (one submit, waited for). */
  dispatchFloor: DispatchFloor;
  /** Per-kernel GPU times, when the adapter has timestamp queries. */
  profiles?: PhaseProfile[];
  notes: string[];
}

export function parameterCount(c: AnyMambaConfig): number {
  if (isMamba2Config(c)) return countParameters(c);
  const { hiddenSize: dm, intermediateSize: di, stateSize: ds, timeStepRank: r, convKernel: dc } = c;
  const layer = 2 * di * dm + di * dc + di + (r + 2 * ds) * di + di * r + di + 2 * di * ds + di * dm + dm;
  return c.vocabSize * dm * (c.tieWordEmbeddings ? 1 : 2) + c.numLayers * layer + dm;
}

export async function runBenchmark(input: BenchInput, opts: BenchOptions = {}): Promise<BenchResult> {
  const { engine, aLogs } = input;
  const c = engine.config;
  const quick = opts.quick ?? false;
  const lengths = opts.prefillLengths ?? (quick ? [16, 64] : [128, 512, 2048]);
  const decodeTokens = opts.decodeTokens ?? (quick ? 16 : 128);
  const evalTokens = opts.evalTokens ?? (quick ? 32 : 256);
  const reps = quick ? 1 : 3;
  const say = opts.onProgress ?? (() => undefined);
  const notes: string[] = input.subgroupMatrixRefused ? [input.subgroupMatrixRefused] : [];
  const V = c.vocabSize;
  const state = engine.createState();
  const states = [engine.createState(), engine.createState(), engine.createState()];
  const mixer = new GpuStateMixer(engine.device, shapeOfConfig(c), aLogs);
  try {
    // ---- prefill
    const prefill: BenchResult['prefill'] = [];
    for (const n of lengths) {
      say(`prefill ${n} tokens`);
      const tokens = randomTokens(n, V, n);
      const times = await timeRuns(1, reps, async () => {
        engine.resetState(state);
        await engine.prefill(state, tokens, { logits: 'none' });
      });
      const ms = median(times);
      prefill.push({ tokens: n, tokPerS: (n / ms) * 1000, ms });
    }

    // ---- decode
    say(`decode ${decodeTokens} tokens`);
    const prompt = randomTokens(8, V, 99);
    const decodeRun = async (n: number): Promise<number> => {
      const stamps: number[] = [];
      engine.resetState(state);
      await engine.generate(state, prompt, { maxNewTokens: n + 1, onToken: () => void stamps.push(now()) });
      if (stamps.length < n + 1) throw new Error(`generate stopped after ${stamps.length} tokens.`);
      return stamps[n]! - stamps[0]!;
    };
    await decodeRun(Math.min(8, decodeTokens));
    const decodeTimes: number[] = [];
    for (let i = 0; i < reps; i++) decodeTimes.push(await decodeRun(decodeTokens));
    const decodeMs = median(decodeTimes);
    const decode = {
      tokens: decodeTokens,
      tokPerS: (decodeTokens / decodeMs) * 1000,
      msPerToken: decodeMs / decodeTokens,
    };

    // ---- mix two states, rescore a text from the mix
    say(`mix two states and score ${evalTokens} tokens`);
    const [s1, s2, mixed] = states as [typeof state, typeof state, typeof state];
    await engine.prefill(s1, randomTokens(quick ? 16 : 64, V, 1), { logits: 'none' });
    await engine.prefill(s2, randomTokens(quick ? 16 : 64, V, 2), { logits: 'none' });
    const plan = planMix({ mode: 'weighted', weights: [0.5, 0.5] }, 2, c.numLayers);
    const evalText = randomTokens(evalTokens, V, 3);
    const mixTimes: number[] = [];
    const scoreTimes: number[] = [];
    const totalTimes: number[] = [];
    for (let i = 0; i < (quick ? 2 : 6); i++) {
      const t0 = now();
      await mixer.mix([s1, s2], plan, mixed);
      const t1 = now();
      const score = await engine.score(mixed, evalText);
      const t2 = now();
      if (!Number.isFinite(score.meanNll))
        notes.push(`The rescore gave a non-finite mean NLL (${score.meanNll}).`);
      if (i === 0) continue; // warm-up
      mixTimes.push(t1 - t0);
      scoreTimes.push(t2 - t1);
      totalTimes.push(t2 - t0);
    }
    const mixRescore = {
      evalTokens,
      mixMs: median(mixTimes),
      scoreMs: median(scoreTimes),
      totalMs: median(totalTimes),
    };

    // ---- the same through the engine service the worker runs
    say(`mix and score ${evalTokens} tokens through the engine service (the page's path)`);
    const servicePath: ServicePathResult = await timeServicePath(engine, aLogs, {
      evalTokens,
      stateTokens: quick ? 16 : 64,
      requests: quick ? 2 : 8,
      tokenizer: input.tokenizer,
    });

    // ---- costs from the plan
    const dplan = engine.dispatchPlan;
    if (!dplan) throw new Error('The engine is not finalized.');
    const decodeSteps = decodeDispatches(dplan);
    const prefillSteps = prefillDispatches(dplan);
    const decodeBytes = decodeBytesPerToken(c, engine.dtype);

    say(`dispatch floor (${decodeSteps.length} empty dispatches)`);
    const dispatchFloor = await measureDispatchFloor(engine.device, decodeSteps.length, quick ? 5 : 30);

    // ---- per-kernel GPU time
    let profiles: PhaseProfile[] | undefined;
    if (input.hasTimestamps) {
      say('per-kernel timestamps');
      // A decode step leaves the engine's dims at one token; a prefill of one chunk at `chunk` tokens.
      await engine.decodeStep(state, prompt[0]!);
      const decodeProfile = await profilePhase(engine.device, 'decode', decodeSteps, 1, reps);
      const chunk = Math.min(engine.chunkSize, lengths[lengths.length - 1]!);
      engine.resetState(state);
      await engine.prefill(state, randomTokens(chunk, V, 7), { logits: 'none' });
      const prefillProfile = await profilePhase(engine.device, 'prefill chunk', prefillSteps, chunk, reps);
      profiles = [decodeProfile, prefillProfile];
      if ([decodeProfile, prefillProfile].some((p) => p.gpuMs === 0)) {
        notes.push('Timestamp queries returned zeros on this adapter; the per-kernel times are not usable.');
      }
    } else {
      notes.push('The adapter has no timestamp-query feature: no per-kernel breakdown.');
    }

    return {
      model: input.model,
      dtype: engine.dtype,
      adapter: input.adapter,
      variant: engine.variant,
      ...(engine.dtype === 'f16' ? { f16Kernels: engine.nativeF16 ? 'native' : 'packed' } : {}),
      ...(input.adapterFeatures ? { adapterFeatures: input.adapterFeatures } : {}),
      prefillGemm: engine.prefillGemmKernel,
      quick,
      config: {
        dModel: c.hiddenSize,
        layers: c.numLayers,
        dInner: c.intermediateSize,
        vocab: V,
        params: parameterCount(c),
        family: familyOf(c),
      },
      uploadMs: input.uploadMs,
      prefill,
      decode,
      mixRescore,
      servicePath,
      decodeBytes,
      decodeBandwidthGBs: (decodeBytes.total * decode.tokPerS) / 1e9,
      dispatchesPerDecodeToken: decodeSteps.length,
      dispatchesPerPrefillChunk: nonEmpty(prefillSteps, engine.chunkSize).length,
      prefillChunk: engine.chunkSize,
      dispatchFloor,
      profiles,
      notes,
    };
  } finally {
    mixer.destroy();
    state.destroy();
    for (const s of states) s.destroy();
  }
}
