/**
 * The bundled Mamba-2 (soup-mamba2-4.5m) opened as the app and the command line open it (openEngine over its
 * folder: the loader goes by config.json's model_type) and run through the MambaEngine contract on a real
 * adapter (Dawn; SwiftShader on machines without a GPU): the logits transformers' Mamba2ForCausalLM computed on
 * the shipped weights (tests/golden/default-model-mamba2.safetensors) within 1e-3 relative, for f32 and f16
 * weight storage (the shipped weights are F16, so both hold the same values), and greedy answers to the
 * training run's 8-shot sample prompts equal to PyTorch's (training/results/mamba2-results.json, "samples").
 */
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openNodeDevice } from '../src/engine/gpu/node.ts';
import type { EngineDevice } from '../src/engine/gpu/device.ts';
import { openEngine, type OpenedEngine } from '../src/engine/open.ts';
import { dirSource } from '../src/model/node.ts';
import { MambaTokenizer } from '../src/model/tokenizer.ts';
import { SafetensorsFile } from '../src/model/safetensors.ts';
import { relMaxDiff } from './helpers/fixtures.ts';
import { withScope } from './helpers/gpu.ts';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const dir = join(ROOT, 'public/models/soup-mamba2-4.5m');
const golden = new SafetensorsFile(
  new Uint8Array(readFileSync(join(ROOT, 'tests/golden/default-model-mamba2.safetensors'))),
  'default-model-mamba2.safetensors',
);
const sequences = (JSON.parse(golden.metadata['note']!) as { sequences: string[] }).sequences;

interface Sample {
  k: number;
  task: string;
  query: string;
  output: string;
}
const results = JSON.parse(readFileSync(join(ROOT, 'training/results/mamba2-results.json'), 'utf8')) as {
  arch: string;
  eval: { samples: Sample[] };
};
// Both families were evaluated on the same prompts (training/train.py writes them once).
const prompts = JSON.parse(readFileSync(join(ROOT, 'training/results/eval_prompts.json'), 'utf8')) as {
  prompts: { task: string; query: [string, string]; examples: [string, string][] }[];
};

let dev: EngineDevice;
beforeAll(async () => {
  dev = await openNodeDevice();
});

for (const precision of ['f32', 'f16'] as const) {
  describe(`bundled Mamba-2 on the WebGPU engine (${precision} weights)`, () => {
    let opened: OpenedEngine;
    beforeAll(async () => {
      opened = await openEngine(dirSource(dir), { device: dev, precision, tokenizer: false });
    });
    afterAll(() => opened?.engine.destroy());

    it('reproduces the transformers logits within 1e-3', async () => {
      expect(opened.precision).toBe(precision);
      await withScope(dev.device, async () => {
        for (const seq of sequences) {
          const state = opened.engine.createState();
          const logits = await opened.engine.prefill(state, golden.int32(`${seq}.tokens`), { logits: 'all' });
          expect(relMaxDiff(logits!, golden.float32(`${seq}.logits`)), seq).toBeLessThan(1e-3);
          state.destroy();
        }
      });
    });
  });
}

describe('bundled Mamba-2: greedy answers through the engine', () => {
  it("equal PyTorch's on the 8-shot sample prompts of its training run", async () => {
    expect(results.arch).toBe('mamba2');
    const tok = MambaTokenizer.fromJSON(readFileSync(join(dir, 'tokenizer.json'), 'utf8'));
    const newline = tok.encode('\n');
    const { engine } = await openEngine(dirSource(dir), { device: dev, precision: 'f32', tokenizer: false });
    const samples = results.eval.samples.filter((s) => s.k === 8);
    expect(samples.length).toBeGreaterThanOrEqual(9);
    try {
      await withScope(dev.device, async () => {
        for (const s of samples) {
          const p = prompts.prompts.find((q) => q.task === s.task && q.query[0] === s.query)!;
          const text = p.examples.map(([i, o]) => `${i}->${o}\n`).join('') + `${s.query}->`;
          const state = engine.createState();
          const ids = await engine.generate(state, tok.encode(text), {
            maxNewTokens: 12,
            stopTokens: newline,
          });
          state.destroy();
          expect(tok.decode(ids).split('\n')[0], `${s.task}: ${s.query}`).toBe(s.output);
        }
      });
    } finally {
      engine.destroy();
    }
  });
});
