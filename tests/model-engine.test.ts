/**
 * Loading straight into the WebGPU engine (GpuMambaModel on Dawn; SwiftShader here), streamed from the local
 * hub: the logits the engine then computes. F32 (single and sharded) against the transformers fixtures within
 * 1e-3; F16 and BF16 checkpoints against the CPU reference on the same rounded weights within 1e-3 (F16 at
 * packed-f16 precision holds those values exactly; BF16 is loaded at f32, where they are exact too). A load
 * that fails half-way destroys the engine.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openNodeDevice } from '../src/engine/gpu/node.ts';
import type { EngineDevice } from '../src/engine/gpu/device.ts';
import { GpuMambaModel } from '../src/engine/model.ts';
import { referenceForward } from '../src/engine/reference/mamba.ts';
import { weightsFromSource } from '../src/engine/weights.ts';
import { parseMambaConfig } from '../src/model/config.ts';
import { DownloadError } from '../src/model/errors.ts';
import { loadModel, type PrecisionChoice } from '../src/model/loader.ts';
import { SafetensorsFile } from '../src/model/safetensors.ts';
import { hubSource } from '../src/model/sources.ts';
import { loadFixture, relMaxDiff, safetensorsSource } from './helpers/fixtures.ts';
import { withScope } from './helpers/gpu.ts';
import { startHubServer, type HubServer } from './helpers/hub-server.ts';
import { asDtype, fixtureFiles, sharded, untied, type Files } from './helpers/model-variants.ts';

const A = fixtureFiles('tiny-a');
const B = fixtureFiles('tiny-b');
let dev: EngineDevice;
let hub: HubServer;

beforeAll(async () => {
  dev = await openNodeDevice();
  hub = await startHubServer({
    repos: {
      'test/a': A,
      'test/b-sharded': sharded(B, 3),
      'test/a-f16': asDtype(A, 'F16'),
      'test/b-bf16': asDtype(B, 'BF16'),
      'test/a-untied': untied(A),
      'test/a-lost': A,
    },
    lfsThreshold: 4096,
    faults: [{ file: 'model.safetensors', repo: 'test/a-lost', kind: 'drop', at: 200_000 }],
  });
});
afterAll(async () => {
  await hub?.close();
});

async function loadIntoEngine(repo: string, precision: PrecisionChoice = 'auto') {
  const made: GpuMambaModel[] = [];
  const loaded = await loadModel(hubSource({ repo, hubUrl: hub.url }), {
    tokenizer: false,
    precision,
    limits: dev.device.limits,
    createSink: async (config, p) => {
      const m = await GpuMambaModel.create(dev, config, { dtype: p, chunkSize: 64 });
      made.push(m);
      return m;
    },
  });
  return { model: loaded.sink, loaded };
}

async function engineLogits(model: GpuMambaModel, tokens: ArrayLike<number>): Promise<Float32Array> {
  const state = model.createState();
  try {
    return (await model.prefill(state, tokens, { logits: 'all' }))!;
  } finally {
    state.destroy();
  }
}

function reference(files: Files) {
  const config = parseMambaConfig(JSON.parse(new TextDecoder().decode(files['config.json'])));
  return weightsFromSource(config, safetensorsSource(new SafetensorsFile(files['model.safetensors']!)));
}

describe('loaded into the WebGPU engine', () => {
  for (const [repo, name] of [
    ['test/a', 'tiny-a'],
    ['test/b-sharded', 'tiny-b'],
  ] as const) {
    it(`${repo} (F32): engine logits match the transformers fixture within 1e-3`, async () => {
      const { model, loaded } = await loadIntoEngine(repo);
      try {
        expect(loaded.precision).toBe('f32');
        const fx = loadFixture(name);
        await withScope(dev.device, async () => {
          for (const seq of fx.sequences) {
            const got = await engineLogits(model, fx.expected.int32(`${seq}.tokens`));
            const d = relMaxDiff(got, fx.expected.float32(`${seq}.logits`));
            console.info(`${repo} ${seq}: engine vs fixture logits ${d.toExponential(2)}`);
            expect(d, seq).toBeLessThan(1e-3);
          }
        });
      } finally {
        model.destroy();
      }
    });
  }

  for (const [repo, name, files, precision] of [
    ['test/a-f16', 'tiny-a', asDtype(A, 'F16'), 'auto'],
    ['test/b-bf16', 'tiny-b', asDtype(B, 'BF16'), 'f32'],
    ['test/a-untied', 'tiny-a', untied(A), 'auto'],
  ] as const) {
    it(`${repo} at ${precision}: engine logits match the CPU reference on the stored weights within 1e-3`, async () => {
      const { model, loaded } = await loadIntoEngine(repo, precision);
      try {
        if (repo === 'test/a-f16') expect(loaded.precision).toBe('f16');
        const w = reference(files);
        const fx = loadFixture(name);
        await withScope(dev.device, async () => {
          for (const seq of fx.sequences.slice(0, 2)) {
            const tokens = fx.expected.int32(`${seq}.tokens`);
            const got = await engineLogits(model, tokens);
            const d = relMaxDiff(got, referenceForward(w, tokens).logits);
            console.info(`${repo} ${seq}: engine vs CPU reference on stored weights ${d.toExponential(2)}`);
            expect(d, seq).toBeLessThan(1e-3);
          }
        });
      } finally {
        model.destroy();
      }
    });
  }

  it('a connection lost for good mid-file: the message names the file, and the engine made for it is destroyed', async () => {
    let created = 0;
    let destroyed = 0;
    const err = await loadModel(hubSource({ repo: 'test/a-lost', hubUrl: hub.url, retryDelayMs: 5 }), {
      tokenizer: false,
      createSink: async (config, p) => {
        const m = await GpuMambaModel.create(dev, config, { dtype: p });
        created++;
        const destroy = m.destroy.bind(m);
        m.destroy = () => {
          destroyed++;
          destroy();
        };
        return m;
      },
    }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DownloadError);
    expect((err as Error).message).toMatch(
      /^The connection failed while downloading test\/a-lost@main\/model\.safetensors/,
    );
    expect(created).toBe(1);
    expect(destroyed).toBe(1);
  });
});
