/**
 * The page's mixing path on a real adapter (Dawn; SwiftShader here): the engine service mixes the stored
 * states' GPU copies with GpuStateMixer and scores from the result. Checked against the path it replaced:
 * the same states mixed on the host by the CPU reference (mixStoredCpu, with A_log read from the checkpoint
 * here) and scored from that host state. And a service whose GPU budget holds one state gives the same
 * losses bit for bit as one that keeps everything, while its resident copies come and go.
 */
import { join } from 'node:path';
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openNodeDevice } from '../src/engine/gpu/node.ts';
import { mixStoredCpu } from '../src/engine/states/mix.ts';
import { exportStateFile } from '../src/engine/states/stateFile.ts';
import { parseMambaConfig } from '../src/model/config.ts';
import { SafetensorsFile } from '../src/model/safetensors.ts';
import { specOf } from '../src/worker/mix-recipe.ts';
import type { MixRecipe, ModelSource, StartState } from '../src/worker/protocol.ts';
import { EngineService, type Call } from '../src/worker/service.ts';
import { serveBundledModel, type HubServer } from './helpers/hub-server.ts';
import { MemoryStore } from './helpers/service-host.ts';

const FOLDER = 'soup-mamba-4.6m';
const DIR = join(import.meta.dirname, '../public/models', FOLDER);
/** Max |Δ nll| between the GPU mix and the CPU mix: both round to f32; the GPU may fuse a·b + c. */
const NLL_TOL = 1e-4;

const call = (): Call => ({
  signal: new AbortController().signal,
  progress: () => undefined,
  token: () => undefined,
});

const TEXTS = {
  a: 'The king went to the city and spoke to the people.',
  b: ' Rain fell on the old stone bridge all night long.',
  c: 'She counted the ships in the harbour, one by one.',
};
const EVAL = ' They listened to him and went home before the storm.';

const recipe = (sources: [string, number][], more: Partial<MixRecipe> = {}): MixRecipe => ({
  sources: sources.map(([key, weight]) => ({ key, weight })),
  mode: 'weighted',
  normalize: false,
  parts: { ssm: true, conv: true },
  profile: 'uniform',
  ...more,
});

const RECIPES: [string, MixRecipe][] = [
  [
    'weighted',
    recipe([
      ['a', 0.7],
      ['b', 0.6],
    ]),
  ],
  [
    'weighted, normalized, late profile',
    recipe(
      [
        ['a', 0.2],
        ['b', 0.5],
        ['c', 0.9],
      ],
      { normalize: true, profile: 'late' },
    ),
  ],
  [
    'mean',
    recipe(
      [
        ['a', 1],
        ['b', 1],
        ['c', 1],
      ],
      { mode: 'mean' },
    ),
  ],
  [
    'A-decay',
    recipe(
      [
        ['a', 1],
        ['c', 1],
      ],
      { mode: 'adecay' },
    ),
  ],
  [
    'SSM part only',
    recipe(
      [
        ['b', 1.3],
        ['c', -0.4],
      ],
      { parts: { ssm: true, conv: false } },
    ),
  ],
];

let server: HubServer;
let source: ModelSource;
const store = new MemoryStore();
let aLogs: Float32Array[];

async function loaded(gpuStateBytes?: number): Promise<{ service: EngineService; stateBytes: number }> {
  const service = new EngineService({
    openDevice: openNodeDevice,
    openStore: async () => store,
    ...(gpuStateBytes !== undefined ? { gpuStateBytes } : {}),
  });
  const { info } = await service.load({ type: 'load', id: 1, source, precision: 'auto' }, call());
  for (const [key, text] of Object.entries(TEXTS))
    await service.capture({ type: 'capture', id: 2, key, name: key, text }, call());
  return { service, stateBytes: info.stateBytes };
}

async function nllFrom(service: EngineService, start: StartState): Promise<number[]> {
  return (await service.score({ type: 'score', id: 3, start, text: EVAL }, call())).nll;
}

const maxDiff = (x: number[], y: number[]) => Math.max(...x.map((v, i) => Math.abs(v - y[i]!)));

beforeAll(async () => {
  ({ server, source } = await serveBundledModel(DIR, FOLDER));
  const config = parseMambaConfig(JSON.parse(readFileSync(join(DIR, 'config.json'), 'utf8')));
  const file = new SafetensorsFile(new Uint8Array(readFileSync(join(DIR, 'model.safetensors'))));
  aLogs = Array.from({ length: config.numLayers }, (_, l) =>
    file.float32(`backbone.layers.${l}.mixer.A_log`),
  );
});

afterAll(async () => {
  await server?.close();
});

describe('the engine service mixes on the GPU as the CPU reference does', () => {
  let service: EngineService;
  beforeAll(async () => {
    service = (await loaded()).service;
  });
  afterAll(() => service?.dispose());

  it.each(RECIPES)('%s: scores within 1e-4 of the CPU mix scored from the host', async (_, r) => {
    const fromGpu = await nllFrom(service, { kind: 'mix', recipe: r });
    const sources = r.sources.map((s) => store.saved.get(s.key)!);
    const cpu = mixStoredCpu(
      sources,
      specOf(r, aLogs.length),
      r.mode === 'adecay' ? aLogs : undefined,
      'cpu mix',
    );
    // The CPU mix enters the service as a state file, and is scored from there like any stored state.
    const imported = await service.importFile({
      type: 'importFile',
      id: 4,
      bytes: exportStateFile([cpu]).slice().buffer,
      fileName: 'cpu-mix.safetensors',
    });
    const fromCpu = await nllFrom(service, { kind: 'stored', key: imported.states[0]!.key });
    expect(fromGpu).toHaveLength(fromCpu.length);
    expect(maxDiff(fromGpu, fromCpu)).toBeLessThanOrEqual(NLL_TOL);
    // Not a vacuous comparison: the mix scores differently from its first source alone.
    const first = await nllFrom(service, { kind: 'stored', key: r.sources[0]!.key });
    expect(maxDiff(fromGpu, first)).toBeGreaterThan(1e-3);
  });

  it('keeps the states it mixed on the GPU, and lets go of dropped ones', async () => {
    await nllFrom(service, { kind: 'mix', recipe: RECIPES[0]![1] });
    const { keys } = service.residentStates();
    expect(keys.slice(-2)).toEqual(['a', 'b']);
    await service.drop({ type: 'drop', id: 5, key: keys[0]! });
    expect(service.residentStates().keys).not.toContain(keys[0]);
  });
});

describe('a GPU budget of one state: evicted states are uploaded again, and results stay the same', () => {
  it('gives the same losses as a service that keeps every state', async () => {
    const roomy = await loaded();
    const tight = await loaded(roomy.stateBytes);
    try {
      const mixAB = { kind: 'mix', recipe: RECIPES[0]![1] } as const;
      const mixABC = { kind: 'mix', recipe: RECIPES[1]![1] } as const;
      const want = {
        ab: await nllFrom(roomy.service, mixAB),
        abc: await nllFrom(roomy.service, mixABC),
        c: await nllFrom(roomy.service, { kind: 'stored', key: 'c' }),
      };
      expect(roomy.service.residentStates().keys.sort()).toEqual(['a', 'b', 'c']);

      expect(await nllFrom(tight.service, mixAB)).toEqual(want.ab);
      // A mix needs all its sources at once: it may overrun the budget until the next upload.
      expect(tight.service.residentStates()).toEqual({ keys: ['a', 'b'], bytes: 2 * roomy.stateBytes });
      expect(await nllFrom(tight.service, { kind: 'stored', key: 'c' })).toEqual(want.c);
      expect(tight.service.residentStates()).toEqual({ keys: ['c'], bytes: roomy.stateBytes });
      expect(await nllFrom(tight.service, mixABC)).toEqual(want.abc);
      expect(await nllFrom(tight.service, mixAB)).toEqual(want.ab);
      expect(tight.service.residentStates().keys).toEqual(['a', 'b']);
    } finally {
      roomy.service.dispose();
      tight.service.dispose();
    }
  });
});
