/**
 * Mamba-2 states through the engine (needs the Mamba-2 engine of wip/m2engine): states captured by the engine
 * equal transformers' per-sequence states of m2-tiny-d/e (ssm, conv window, Σ Δ) in the layout the state files
 * and the mixer use; the GPU mixer's A-decay and weighted mixes of them, written into the engine's state and
 * continued with the query, give transformers' adecay.query_logits and mix.query_logits (1e-3); and a state file
 * export → import → writeState continues the same way.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { EngineDevice } from '../src/engine/gpu/device.ts';
import { openNodeDevice } from '../src/engine/gpu/node.ts';
import { mamba2NamedTensors, type Mamba2Weights } from '../src/engine/mamba2Weights.ts';
import { GpuMambaModel } from '../src/engine/model.ts';
import { GpuStateMixer } from '../src/engine/states/gpuMix.ts';
import { planMix, type MixSpec } from '../src/engine/states/mixSpec.ts';
import { exportStateFile, importStateFile } from '../src/engine/states/stateFile.ts';
import { shapeOfConfig, type StoredState } from '../src/engine/states/types.ts';
import { relMaxDiff } from './helpers/fixtures.ts';
import { withScope } from './helpers/gpu.ts';
import { loadMamba2Fixture } from './helpers/mamba2Fixture.ts';

let dev: EngineDevice;
beforeAll(async () => {
  dev = await openNodeDevice();
});
afterAll(() => dev?.device.destroy());

const open = (w: Mamba2Weights) =>
  GpuMambaModel.fromTensors(dev, w.config, mamba2NamedTensors(w), { dtype: 'f32' });

describe('Mamba-2 states through the engine', () => {
  for (const name of ['m2-tiny-d', 'm2-tiny-e'] as const) {
    it(`${name}: captured states equal transformers'; GPU mixes continue to its query logits; a state file round-trips`, async () => {
      const fx = loadMamba2Fixture(name);
      const engine = await open(fx.weights);
      const shape = shapeOfConfig(fx.weights.config);
      const V = fx.weights.config.vocabSize;
      const query = fx.expected.int32('mix.query_tokens');
      const aLogs = fx.weights.layers.map((l) => l.aLog);
      try {
        await withScope(dev.device, async () => {
          const seqs = Array.from(fx.expected.int32('mix.sources')).map((i) => fx.sequences[i]!);
          const gpu = [];
          for (const seq of seqs) {
            const g = engine.createState();
            await engine.prefill(g, fx.expected.int32(`${seq}.tokens`));
            const host = await engine.readState(g);
            host.layers.forEach((l, i) => {
              const d = [
                relMaxDiff(l.ssm, fx.expected.float32(`${seq}.ssm_state.${i}`)),
                relMaxDiff(l.conv, fx.expected.float32(`${seq}.conv_state.${i}`)),
                relMaxDiff(l.dtSum, fx.expected.float32(`${seq}.dt_sum.${i}`)),
              ];
              console.log(
                `[states.engine.mamba2] ${name} ${seq} layer ${i}: ssm/conv/dtSum ${d.map((x) => x.toExponential(1)).join(' ')}`,
              );
              expect(Math.max(...d)).toBeLessThan(1e-4);
            });
            gpu.push(g);
          }
          const mixer = new GpuStateMixer(dev.device, shape, aLogs);
          for (const [which, spec] of [
            ['adecay', { mode: 'adecay' }],
            ['mix', { mode: 'weighted', weights: Array.from(fx.expected.float32('mix.weights')) }],
          ] as [string, MixSpec][]) {
            const dst = engine.createState();
            await mixer.mix(gpu, planMix(spec, gpu.length, shape.layers), dst);
            const logits = (await engine.prefill(dst, query, { logits: 'all' }))!;
            const d = relMaxDiff(logits, fx.expected.float32(`${which}.query_logits`));
            console.log(
              `[states.engine.mamba2] ${name} ${which}: GPU mix continued vs transformers ${d.toExponential(2)}`,
            );
            expect(d).toBeLessThan(1e-3);
            // Through a state file: read the mix, export, import, write back, continue.
            const fresh = engine.createState();
            await mixer.mix(gpu, planMix(spec, gpu.length, shape.layers), fresh);
            const stored: StoredState = {
              meta: {
                id: which,
                name: which,
                modelId: name,
                weightsHash: 'h',
                shape,
                text: '',
                tokenIds: [],
                tokenCount: 0,
                createdAt: 0,
              },
              state: await engine.readState(fresh),
            };
            const [back] = importStateFile(exportStateFile([stored]), 'f', {
              modelId: name,
              weightsHash: 'h',
              shape,
            });
            const again = engine.createState();
            engine.writeState(again, back!.state);
            const l2 = (await engine.prefill(again, query, { logits: 'all' }))!;
            expect(relMaxDiff(l2, logits)).toBe(0);
            expect(l2.length).toBe(query.length * V);
            for (const s of [dst, fresh, again]) s.destroy();
          }
          mixer.destroy();
          for (const g of gpu) g.destroy();
        });
      } finally {
        engine.destroy();
      }
    });
  }
});
