/**
 * The memory estimate's activation bytes (src/model/memory.ts) against what the engine really allocates: a
 * small model is built on a real adapter in the GPU kernel variant, every createBuffer is recorded, and the
 * activation buffers, the fused GEMV's stand-ins and the split-K partials are summed by their labels.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import type { EngineDevice } from '../src/engine/gpu/device.ts';
import { openNodeDevice } from '../src/engine/gpu/node.ts';
import { GpuMambaModel } from '../src/engine/model.ts';
import { hostTensor, randomHostWeights } from '../src/engine/randomWeights.ts';
import type { MambaConfig } from '../src/model/config.ts';
import { gpuActivationBytes } from '../src/model/memory.ts';
import { tensorShapesOf } from '../src/model/family.ts';
import { parseMamba2Config } from '../src/model/mamba2Config.ts';

let dev: EngineDevice;
beforeAll(async () => {
  dev = await openNodeDevice();
});

const config: MambaConfig = {
  vocabSize: 300,
  hiddenSize: 64,
  numLayers: 2,
  stateSize: 16,
  convKernel: 4,
  intermediateSize: 128,
  timeStepRank: 4,
  useConvBias: true,
  useBias: false,
  layerNormEpsilon: 1e-5,
  tieWordEmbeddings: true,
};

const ACTIVATIONS = [
  'dims',
  'tokens',
  'targets',
  'resid',
  'delta',
  'normed',
  'xz',
  'xc',
  'dbc',
  'y',
  'dt',
  'logits',
  'nll',
  'lastNormed',
  'lastLogits',
  'sampleParams',
  'rng',
  'sampleOut',
  'unused.state',
  'unused.xc',
  'splitK.partials',
];

describe('activation sizing', () => {
  it('the estimate equals the bytes of the activation buffers the engine allocates (GPU variant)', async () => {
    const device = dev.device;
    const created: { label: string; size: number }[] = [];
    const original = device.createBuffer.bind(device);
    device.createBuffer = (d: GPUBufferDescriptor) => {
      created.push({ label: d.label ?? '', size: d.size });
      return original(d);
    };
    let engine: GpuMambaModel | undefined;
    try {
      const w = randomHostWeights(config, 1);
      engine = await GpuMambaModel.fromWeights(dev, w, { dtype: 'f32', variant: 'hardware' });
    } finally {
      device.createBuffer = original;
    }
    expect(engine.chunkSize).toBe(512);
    const mine = created.filter((b) => ACTIVATIONS.includes(b.label));
    expect(mine.map((b) => b.label).sort()).toEqual([...ACTIVATIONS].sort());
    const allocated = mine.reduce((a, b) => a + b.size, 0);
    expect(gpuActivationBytes(config, 'f32', device.limits)).toBe(allocated);
    engine.destroy();
  });
});

describe('activation sizing, Mamba-2', () => {
  it('the estimate equals the bytes of the activation buffers the Mamba-2 engine allocates (GPU variant)', async () => {
    const config = parseMamba2Config({
      model_type: 'mamba2',
      vocab_size: 300,
      hidden_size: 64,
      num_hidden_layers: 2,
      num_heads: 4,
      head_dim: 32,
      n_groups: 2,
      state_size: 16,
    });
    const names = [
      ...ACTIVATIONS.filter((n) => !['xz', 'xc', 'dbc', 'dt'].includes(n)),
      'proj',
      'xbc',
      'gated',
      'cum',
      'dl',
      'cs',
      // The fused SSD's partial sums of g² where the gated norm folds into it (mamba2/plan.ts).
      'gss',
    ];
    const device = dev.device;
    const created: { label: string; size: number }[] = [];
    const original = device.createBuffer.bind(device);
    device.createBuffer = (d: GPUBufferDescriptor) => {
      created.push({ label: d.label ?? '', size: d.size });
      return original(d);
    };
    let engine: GpuMambaModel | undefined;
    try {
      const shapes = tensorShapesOf(config);
      const tensors = [...shapes.keys()].map((n): [string, Float32Array] => [n, hostTensor(config, n, 1)]);
      engine = await GpuMambaModel.fromTensors(dev, config, tensors, { dtype: 'f32', variant: 'hardware' });
    } finally {
      device.createBuffer = original;
    }
    const mine = created.filter((b) => names.includes(b.label));
    expect(mine.map((b) => b.label).sort()).toEqual([...names].sort());
    const allocated = mine.reduce((a, b) => a + b.size, 0);
    // The SSD form, and so the size of cs, follows the device's subgroups; without knowing them the estimate
    // counts the larger form.
    expect(gpuActivationBytes(config, 'f32', device.limits, dev.hasSubgroups)).toBe(allocated);
    expect(gpuActivationBytes(config, 'f32', device.limits)).toBeGreaterThanOrEqual(allocated);
    engine.destroy();
  });
});
