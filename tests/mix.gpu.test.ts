/**
 * The GPU mixer on a real adapter (Dawn; SwiftShader here) against the CPU reference of the same plan and the
 * fixtures. GpuStates are made here from plain buffers in the layout of src/engine/api.ts, so the kernels are
 * tested independently of the engine. Every test runs inside validation/OOM error scopes (withGpuErrors).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openNodeDevice } from '../src/engine/gpu/node.ts';
import { withGpuErrors } from '../src/engine/gpu/device.ts';
import type { GpuState } from '../src/engine/api.ts';
import type { MambaState } from '../src/engine/weights.ts';
import { GpuStateMixer } from '../src/engine/states/gpuMix.ts';
import { mixStatesCpu, decayRates } from '../src/engine/states/cpuMix.ts';
import { layerWeightGrid, planMix, type MixSpec } from '../src/engine/states/mixSpec.ts';
import { layerStateSizes, shapeOfConfig, type StateShape } from '../src/engine/states/types.ts';
import { bits, randomState } from './mix-helpers.ts';
import { loadFixture, relMaxDiff } from './helpers/fixtures.ts';
import { loadMamba2Fixture } from './helpers/mamba2Fixture.ts';

let device: GPUDevice;
const created: GPUBuffer[] = [];

beforeAll(async () => {
  device = (await openNodeDevice()).device;
});
afterAll(() => {
  for (const b of created) b.destroy();
  device?.destroy();
});

function upload(shape: StateShape, s?: MambaState): GpuState {
  const make = (per: number, pick: (l: MambaState['layers'][number]) => Float32Array) => {
    const b = device.createBuffer({
      size: 4 * per * shape.layers,
      usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_DST | GPUBufferUsage.COPY_SRC,
    });
    created.push(b);
    s?.layers.forEach((l, i) =>
      device.queue.writeBuffer(b, 4 * i * per, pick(l) as Float32Array<ArrayBuffer>),
    );
    return b;
  };
  const n = layerStateSizes(shape);
  return {
    ssm: make(n.ssm, (l) => l.ssm),
    conv: make(n.conv, (l) => l.conv),
    dtSum: make(n.dtSum, (l) => l.dtSum),
    destroy() {},
  };
}

async function download(shape: StateShape, g: GpuState): Promise<MambaState> {
  const read = async (b: GPUBuffer, per: number) => {
    const staging = device.createBuffer({
      size: b.size,
      usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST,
    });
    const enc = device.createCommandEncoder();
    enc.copyBufferToBuffer(b, 0, staging, 0, b.size);
    device.queue.submit([enc.finish()]);
    await staging.mapAsync(GPUMapMode.READ);
    const all = new Float32Array(staging.getMappedRange().slice(0));
    staging.destroy();
    return Array.from({ length: shape.layers }, (_, l) => all.slice(l * per, (l + 1) * per));
  };
  const n = layerStateSizes(shape);
  const ssm = await read(g.ssm, n.ssm);
  const conv = await read(g.conv, n.conv);
  const dt = await read(g.dtSum, n.dtSum);
  return { layers: ssm.map((s, l) => ({ ssm: s, conv: conv[l]!, dtSum: dt[l]! })) };
}

/** max |gpu − cpu| / max(1, max |cpu|) over every tensor. */
function stateDiff(a: MambaState, b: MambaState): number {
  return Math.max(
    ...a.layers.flatMap((l, i) => [
      relMaxDiff(l.ssm, b.layers[i]!.ssm),
      relMaxDiff(l.conv, b.layers[i]!.conv),
      relMaxDiff(l.dtSum, b.layers[i]!.dtSum),
    ]),
  );
}

async function gpuMix(
  shape: StateShape,
  aLogs: Float32Array[],
  states: MambaState[],
  spec: MixSpec,
): Promise<MambaState> {
  return withGpuErrors(device, 'the mix test', async () => {
    const mixer = new GpuStateMixer(device, shape, aLogs);
    const srcs = states.map((s) => upload(shape, s));
    // The destination starts as garbage so that a part the kernels forget to write shows up.
    const dst = upload(shape, randomState(shape, 99));
    await mixer.mix(srcs, planMix(spec, states.length, shape.layers), dst);
    const out = await download(shape, dst);
    mixer.destroy();
    return out;
  });
}

// 3 layers × 300 × 7: sizes that are not multiples of the workgroup, to catch bound errors.
const shape: StateShape = { layers: 3, dInner: 300, dState: 7, convWidth: 3 };
const states = [11, 12, 13, 14].map((s) => randomState(shape, s));
const aLogs = [0, 1, 2].map((l) =>
  Float32Array.from({ length: 300 * 7 }, (_, i) => Math.log(1 + ((i * 7 + l) % 13) / 4)),
);
const smallDt = states.map((s) => ({
  layers: s.layers.map((l) => ({ ...l, dtSum: l.dtSum.map((x) => x / 8) })),
}));

describe('GPU mix equals the CPU mix', () => {
  const cases: [string, MixSpec][] = [
    ['weighted free', { mode: 'weighted', weights: [1.3, -0.3, 0.25, 0] }],
    ['weighted normalised', { mode: 'weighted', weights: [2, 1, 0, 1], normalize: true }],
    ['mean', { mode: 'mean' }],
    ['mean, ssm only, conv zero', { mode: 'mean', ssm: 'mix', conv: 'zero' }],
    ['weighted, conv only (ssm last)', { mode: 'weighted', weights: [0.1, 0.2, 0.3, 0.4], ssm: 'last' }],
    ['adecay', { mode: 'adecay' }],
    ['adecay with weights and conv mixed', { mode: 'adecay', weights: [0.5, 0, 2, 1], conv: 'mix' }],
    [
      'per-layer ramp',
      { mode: 'weighted', layerWeights: layerWeightGrid([0.2, 0.3, 0.1, 0.4], 3, { kind: 'ramp', base: 2 }) },
    ],
    [
      'per-layer with an all-zero layer',
      {
        mode: 'weighted',
        layerWeights: [
          [0, 0, 0, 0],
          [1, 0, 0, 0],
          [0.5, 0.5, 0, 0],
        ],
      },
    ],
    [
      'per-layer with an all-zero layer, every source used elsewhere',
      {
        mode: 'weighted',
        layerWeights: [
          [0, 0, 0, 0],
          [1, 1, 1, 1],
          [0.5, -0.5, 0.25, 2],
        ],
      },
    ],
  ];
  for (const [name, spec] of cases) {
    it(`${name}: within 4e-7 of the CPU mix`, async () => {
      const gpu = await gpuMix(shape, aLogs, smallDt, spec);
      const cpu = mixStatesCpu(smallDt, planMix(spec, 4, 3), decayRates(aLogs));
      const d = stateDiff(gpu, cpu);
      console.log(`[mix.gpu] ${name}: max rel diff GPU vs CPU ${d.toExponential(2)}`);
      expect(d).toBeLessThan(4e-7);
    });
  }
});

describe('GPU exact invariants', () => {
  it('weight 1 on one state reproduces it bit for bit (free and normalised)', async () => {
    for (const j of [0, 3]) {
      for (const normalize of [false, true]) {
        const out = await gpuMix(shape, aLogs, states, {
          mode: 'weighted',
          weights: states.map((_, i) => (i === j ? 1 : 0)),
          normalize,
        });
        expect(bits(out)).toEqual(bits(states[j]!));
      }
    }
  });

  it('the mean of copies of one state is that state bit for bit (K = 3, 5)', async () => {
    for (const k of [3, 5]) {
      const out = await gpuMix(
        shape,
        aLogs,
        Array.from({ length: k }, () => states[2]!),
        { mode: 'mean' },
      );
      expect(bits(out)).toEqual(bits(states[2]!));
    }
  });
});

describe('GPU mix reproduces the fixtures', () => {
  for (const name of ['tiny-a', 'tiny-b'] as const) {
    it(`${name}: adecay.ssm_state (1e-5) and mix.weights (equal to the CPU mix, 4e-7)`, async () => {
      const fx = loadFixture(name);
      const shp = shapeOfConfig(fx.weights.config);
      const srcs = Array.from(fx.expected.int32('mix.sources')).map((i) => {
        const seq = fx.sequences[i]!;
        return {
          layers: fx.weights.layers.map((_, l) => ({
            ssm: fx.expected.float32(`${seq}.ssm_state.${l}`),
            conv: fx.expected.float32(`${seq}.conv_state.${l}`),
            dtSum: fx.expected.float32(`${seq}.dt_sum.${l}`),
          })),
        };
      });
      const al = fx.weights.layers.map((l) => l.aLog);
      const ad = await gpuMix(shp, al, srcs, { mode: 'adecay' });
      ad.layers.forEach((ls, l) => {
        const d = relMaxDiff(ls.ssm, fx.expected.float32(`adecay.ssm_state.${l}`));
        console.log(`[mix.gpu] ${name} adecay layer ${l}: rel diff to fixture ${d.toExponential(2)}`);
        expect(d).toBeLessThan(1e-5);
        expect(bits({ layers: [{ ...ls, ssm: new Float32Array(0), dtSum: new Float32Array(0) }] })).toEqual(
          bits({
            layers: [{ ...srcs.at(-1)!.layers[l]!, ssm: new Float32Array(0), dtSum: new Float32Array(0) }],
          }),
        );
      });
      const spec: MixSpec = { mode: 'weighted', weights: Array.from(fx.expected.float32('mix.weights')) };
      const gm = await gpuMix(shp, al, srcs, spec);
      expect(stateDiff(gm, mixStatesCpu(srcs, planMix(spec, srcs.length, shp.layers)))).toBeLessThan(4e-7);
    });
  }
});

// Mamba-2: 7 heads × head_dim 10 × state 9 (630 SSM values a layer, over two workgroups), one A per head.
const shape2: StateShape = {
  family: 'mamba2',
  layers: 3,
  dInner: 70,
  dState: 9,
  convWidth: 3,
  numHeads: 7,
  headDim: 10,
  nGroups: 1,
};
const states2 = [21, 22, 23, 24].map((s) => {
  const st = randomState(shape2, s);
  return { layers: st.layers.map((l) => ({ ...l, dtSum: l.dtSum.map((x) => x / 8) })) };
});
const aLogs2 = [0, 1, 2].map((l) =>
  Float32Array.from({ length: 7 }, (_, h) => Math.log(0.3 + ((h * 5 + l) % 7) / 3)),
);

/**
 * The operators in float64, written from their definitions (not the Horner form the mixers use), per layer:
 * weighted Σ_i w_i s_i; mean (1/K) Σ s_i; A-decay h = Σ_i w_i (Π_{j>i} exp(A_h · ΣΔ_j,h)) · h_i with
 * A_h = −exp(A_log_h) for the head h that owns the element (head = element / (head_dim · state_size)).
 */
function formula64(spec: MixSpec, srcs: MambaState[], aLogs: Float32Array[], cols: number): Float64Array[] {
  const k = srcs.length;
  const w =
    spec.mode === 'mean' ? new Array<number>(k).fill(1 / k) : (spec.weights ?? new Array<number>(k).fill(1));
  return srcs[0]!.layers.map((_, l) =>
    Float64Array.from(srcs[0]!.layers[l]!.ssm, (__, e) => {
      let sum = 0;
      for (let i = 0; i < k; i++) {
        let decay = 1;
        if (spec.mode === 'adecay') {
          const head = Math.floor(e / cols);
          for (let j = i + 1; j < k; j++)
            decay *= Math.exp(-Math.exp(aLogs[l]![head]!) * srcs[j]!.layers[l]!.dtSum[head]!);
        }
        sum += w[i]! * decay * srcs[i]!.layers[l]!.ssm[e]!;
      }
      return sum;
    }),
  );
}

/** max |x − ref| / max(1, max |ref|) over the layers' SSM states. */
function ssmDiff64(x: MambaState, ref: Float64Array[]): number {
  return Math.max(...ref.map((r, l) => relMaxDiff(x.layers[l]!.ssm, r)));
}

describe('Mamba-2 states: GPU and CPU mixes against the float64 formula (scalar A per head)', () => {
  const cols = 10 * 9;
  const cases: [string, MixSpec][] = [
    ['weighted free', { mode: 'weighted', weights: [1.3, -0.3, 0.25, 0] }],
    ['mean', { mode: 'mean' }],
    ['adecay', { mode: 'adecay' }],
    ['adecay with weights', { mode: 'adecay', weights: [0.5, 0, 2, 1] }],
  ];
  for (const [name, spec] of cases) {
    it(`${name}: GPU and CPU within 1e-5 of float64, GPU within 4e-7 of CPU`, async () => {
      const ref = formula64(spec, states2, aLogs2, cols);
      const gpu = await gpuMix(shape2, aLogs2, states2, spec);
      const cpu = mixStatesCpu(states2, planMix(spec, 4, 3), decayRates(aLogs2));
      const dg = ssmDiff64(gpu, ref);
      const dc = ssmDiff64(cpu, ref);
      console.log(
        `[mix.gpu] mamba2 ${name}: GPU vs f64 ${dg.toExponential(2)}, CPU vs f64 ${dc.toExponential(2)}`,
      );
      expect(dg).toBeLessThan(1e-5);
      expect(dc).toBeLessThan(1e-5);
      expect(stateDiff(gpu, cpu)).toBeLessThan(4e-7);
    });
  }

  it('adecay keeps the last conv state bit for bit and sums Σ Δ per head', async () => {
    const out = await gpuMix(shape2, aLogs2, states2, { mode: 'adecay' });
    out.layers.forEach((l, i) => {
      expect(l.conv.length).toBe((70 + 2 * 9) * 3);
      expect(new Uint32Array(l.conv.buffer)).toEqual(
        new Uint32Array(states2[3]!.layers[i]!.conv.slice().buffer),
      );
      const sum = Float64Array.from({ length: 7 }, (_, h) =>
        states2.reduce((a, s) => a + s.layers[i]!.dtSum[h]!, 0),
      );
      expect(relMaxDiff(l.dtSum, sum)).toBeLessThan(1e-6);
    });
  });

  it('weight 1 on one state reproduces it bit for bit (weighted), and its SSM state under A-decay', async () => {
    const out = await gpuMix(shape2, aLogs2, states2, { mode: 'weighted', weights: [0, 0, 1, 0] });
    expect(bits(out)).toEqual(bits(states2[2]!));
    // A-decay with only the last chunk weighted: nothing after it decays it, so h is that chunk's h (up to
    // the sign of zero: the sum starts from +0).
    const ad = await gpuMix(shape2, aLogs2, states2, { mode: 'adecay', weights: [0, 0, 0, 1] });
    ad.layers.forEach((l, i) => expect(relMaxDiff(l.ssm, states2[3]!.layers[i]!.ssm)).toBe(0));
  });

  it('refuses, with the sizes, a state whose SSM part is larger than one binding of this device', () => {
    const max = device.limits.maxStorageBufferBindingSize;
    const layers = Math.floor(max / (4 * 630)) + 1;
    const huge: StateShape = { ...shape2, layers };
    const a = Array.from({ length: layers }, () => aLogs2[0]!);
    expect(() => new GpuStateMixer(device, huge, a)).toThrow(
      /SSM state takes \d+ MiB in one buffer; this GPU binds at most \d+ MiB/,
    );
  });

  it('refuses A_log of the wrong family: one value per element where one per head is expected', () => {
    expect(() => new GpuStateMixer(device, shape2, aLogs.slice(0, 3))).toThrow(/A_log/);
  });
});

describe('GPU mix reproduces the Mamba-2 fixtures (transformers 5.17)', () => {
  for (const name of ['m2-tiny-d', 'm2-tiny-e'] as const) {
    it(`${name}: adecay.ssm_state (1e-5) with one A per head; the weighted mix equals the CPU mix (4e-7)`, async () => {
      const fx = loadMamba2Fixture(name);
      const shp = shapeOfConfig(fx.weights.config);
      const srcs = Array.from(fx.expected.int32('mix.sources')).map((i) => {
        const seq = fx.sequences[i]!;
        return {
          layers: fx.weights.layers.map((_, l) => ({
            ssm: fx.expected.float32(`${seq}.ssm_state.${l}`),
            conv: fx.expected.float32(`${seq}.conv_state.${l}`),
            dtSum: fx.expected.float32(`${seq}.dt_sum.${l}`),
          })),
        };
      });
      const al = fx.weights.layers.map((l) => l.aLog);
      const ad = await gpuMix(shp, al, srcs, { mode: 'adecay' });
      ad.layers.forEach((ls, l) => {
        const d = relMaxDiff(ls.ssm, fx.expected.float32(`adecay.ssm_state.${l}`));
        console.log(`[mix.gpu] ${name} adecay layer ${l}: rel diff to transformers ${d.toExponential(2)}`);
        expect(d).toBeLessThan(1e-5);
        expect(relMaxDiff(ls.conv, srcs.at(-1)!.layers[l]!.conv)).toBe(0);
      });
      const spec: MixSpec = { mode: 'weighted', weights: Array.from(fx.expected.float32('mix.weights')) };
      const gm = await gpuMix(shp, al, srcs, spec);
      expect(stateDiff(gm, mixStatesCpu(srcs, planMix(spec, srcs.length, shp.layers)))).toBeLessThan(4e-7);
    });
  }
});
