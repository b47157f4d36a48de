/**
 * Engine throughput: prefill and decode tokens per second on any MambaEngine, and a random-weight model of
 * a given config streamed tensor by tensor (so a mamba-130m-sized benchmark never holds the whole
 * checkpoint on the host). Platform-neutral; src/engine/gpu/bench-node.ts runs it in Node.
 */
import type { MambaConfig } from '../model/config.ts';
import { mamba1Tensors } from '../model/architectures/mamba1.ts';
import type { MambaEngine } from './api.ts';
import type { EngineDevice } from './gpu/device.ts';
import { GpuMambaModel, type EngineOptions } from './model.ts';

export interface BenchResult {
  prefillTokens: number;
  prefillSeconds: number;
  prefillTokensPerSecond: number;
  decodeTokens: number;
  decodeSeconds: number;
  decodeTokensPerSecond: number;
}

export async function benchEngine(
  engine: MambaEngine,
  opts: { prefillTokens: number; decodeTokens: number },
): Promise<BenchResult> {
  const V = engine.config.vocabSize;
  const tokens = Array.from({ length: opts.prefillTokens }, (_, i) => (i * 7919 + 13) % V);
  const state = engine.createState();
  try {
    // Warm-up: the first dispatches of each pipeline pay one-time costs.
    await engine.prefill(state, tokens.slice(0, Math.min(8, tokens.length)));
    await engine.generate(state, [1], { maxNewTokens: 2 });
    engine.resetState(state);
    let t0 = performance.now();
    await engine.prefill(state, tokens, { logits: 'last' });
    const prefillSeconds = (performance.now() - t0) / 1000;
    t0 = performance.now();
    const out = await engine.generate(state, [tokens[0] ?? 1], { maxNewTokens: opts.decodeTokens });
    // generate() also prefills its one-token prompt; that is one decode-sized step, counted as such.
    const decodeSeconds = (performance.now() - t0) / 1000;
    return {
      prefillTokens: tokens.length,
      prefillSeconds,
      prefillTokensPerSecond: tokens.length / prefillSeconds,
      decodeTokens: out.length,
      decodeSeconds,
      decodeTokensPerSecond: out.length / decodeSeconds,
    };
  } finally {
    state.destroy();
  }
}

/** A model with random weights of `config`'s shapes (uniform, scaled like nn.Linear's init), uploaded one tensor at a time. */
export async function randomModel(
  dev: EngineDevice,
  config: MambaConfig,
  opts: EngineOptions,
  seed = 1,
): Promise<GpuMambaModel> {
  let s = seed >>> 0;
  const next = () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const m = await GpuMambaModel.create(dev, config, opts);
  for (const { name, spec } of mamba1Tensors(config)) {
    const shape = spec.shape(config);
    const n = shape.reduce((a, b) => a * b, 1);
    const fanIn = shape.length > 1 ? shape[shape.length - 1]! : 1;
    const scale = 1 / Math.sqrt(fanIn);
    const data = new Float32Array(n);
    if (spec.kind === 'A_log') data.forEach((_, i) => (data[i] = Math.log(1 + (i % config.stateSize))));
    else if (spec.kind === 'norm') data.fill(1);
    else for (let i = 0; i < n; i++) data[i] = (next() * 2 - 1) * scale;
    await m.uploadTensor(name, data);
  }
  await m.finalize();
  return m;
}

/** mamba-130m's shape (state-spaces/mamba-130m-hf config.json). */
export const MAMBA_130M: MambaConfig = {
  vocabSize: 50280,
  hiddenSize: 768,
  numLayers: 24,
  stateSize: 16,
  convKernel: 4,
  intermediateSize: 1536,
  timeStepRank: 48,
  useConvBias: true,
  useBias: false,
  layerNormEpsilon: 1e-5,
  tieWordEmbeddings: true,
};
