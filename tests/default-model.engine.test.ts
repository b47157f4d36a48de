/**
 * The bundled default model through the WebGPU engine on a real adapter (Dawn; SwiftShader on machines without
 * a GPU): the logits transformers computed on the shipped weights (tests/golden/default-model.safetensors)
 * within 1e-3 relative, for f32 and f16 weight storage (the shipped weights are F16, so both hold the same
 * values), and greedy answers to evaluation prompts equal to those PyTorch generated in the training run
 * (training/results/results.json, "samples").
 */
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openNodeDevice } from '../src/engine/gpu/node.ts';
import type { EngineDevice } from '../src/engine/gpu/device.ts';
import { GpuMambaModel } from '../src/engine/model.ts';
import { parseMambaConfig } from '../src/model/config.ts';
import { SafetensorsFile } from '../src/model/safetensors.ts';
import { MambaTokenizer } from '../src/model/tokenizer.ts';
import { weightsFromSource } from '../src/engine/weights.ts';
import { relMaxDiff, safetensorsSource } from './helpers/fixtures.ts';
import { withScope } from './helpers/gpu.ts';
import { bundledModelDir } from '../src/model/node.ts';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const dir = bundledModelDir(join(ROOT, 'public/models'));
const config = parseMambaConfig(JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8')));
const weights = weightsFromSource(
  config,
  safetensorsSource(new SafetensorsFile(new Uint8Array(readFileSync(join(dir, 'model.safetensors'))))),
);
const golden = new SafetensorsFile(
  new Uint8Array(readFileSync(join(ROOT, 'tests/golden/default-model.safetensors'))),
  'default-model.safetensors',
);
const sequences = (JSON.parse(golden.metadata['note']!) as { sequences: string[] }).sequences;

interface Sample {
  k: number;
  task: string;
  query: string;
  answer: string;
  output: string;
}
const results = JSON.parse(readFileSync(join(ROOT, 'training/results/results.json'), 'utf8')) as {
  eval: { samples: Sample[] };
};
const prompts = JSON.parse(readFileSync(join(ROOT, 'training/results/eval_prompts.json'), 'utf8')) as {
  prompts: { task: string; query: [string, string]; examples: [string, string][] }[];
};

let dev: EngineDevice;
beforeAll(async () => {
  dev = await openNodeDevice();
});

for (const dtype of ['f32', 'f16'] as const) {
  describe(`default model on the WebGPU engine (${dtype} weights)`, () => {
    let model: GpuMambaModel;
    beforeAll(async () => {
      model = await GpuMambaModel.fromWeights(dev, weights, { dtype });
    });
    afterAll(() => model?.destroy());

    it('reproduces the transformers logits within 1e-3', async () => {
      await withScope(dev.device, async () => {
        for (const seq of sequences) {
          const state = model.createState();
          const logits = await model.prefill(state, golden.int32(`${seq}.tokens`), { logits: 'all' });
          expect(relMaxDiff(logits!, golden.float32(`${seq}.logits`)), seq).toBeLessThan(1e-3);
          state.destroy();
        }
      });
    });
  });
}

describe('default model: greedy answers through the engine', () => {
  it("equal PyTorch's on the 8-shot sample prompts of the training run", async () => {
    const tok = MambaTokenizer.fromJSON(readFileSync(join(dir, 'tokenizer.json'), 'utf8'));
    const newline = tok.encode('\n');
    const model = await GpuMambaModel.fromWeights(dev, weights, { dtype: 'f32' });
    const samples = results.eval.samples.filter((s) => s.k === 8);
    expect(samples.length).toBeGreaterThanOrEqual(9);
    await withScope(dev.device, async () => {
      for (const s of samples) {
        const p = prompts.prompts.find((q) => q.task === s.task && q.query[0] === s.query)!;
        const text = p.examples.map(([i, o]) => `${i}->${o}\n`).join('') + `${s.query}->`;
        const state = model.createState();
        const ids = await model.generate(state, tok.encode(text), { maxNewTokens: 12, stopTokens: newline });
        state.destroy();
        expect(tok.decode(ids).split('\n')[0], `${s.task}: ${s.query}`).toBe(s.output);
      }
    });
    model.destroy();
  });
});
