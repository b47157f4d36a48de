/**
 * Writes the tiny-a fixture's weighted mix (0.25·a + 0.75·b) as a state file, for checking the docs/states.md
 * recipe against real transformers on a machine that has it: `npx tsx tests/py/export_tiny_a_mix.ts OUT_DIR`
 * then `python3 tests/py/hf_continue.py OUT_DIR/mix.safetensors OUT_DIR/tiny-a`.
 */
import { copyFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { mixStoredCpu } from '../../src/engine/states/mix.ts';
import { exportStateFile } from '../../src/engine/states/stateFile.ts';
import { shapeOfConfig, type StoredState } from '../../src/engine/states/types.ts';
import { loadFixture } from '../helpers/fixtures.ts';

const out = process.argv[2];
if (!out) throw new Error('usage: export_tiny_a_mix.ts OUT_DIR');
const fx = loadFixture('tiny-a');
const sources: StoredState[] = Array.from(fx.expected.int32('mix.sources')).map((i) => {
  const seq = fx.sequences[i]!;
  return {
    meta: {
      id: seq,
      name: seq,
      modelId: 'tiny-a',
      weightsHash: 'fixture',
      shape: shapeOfConfig(fx.weights.config),
      text: '',
      tokenIds: Array.from(fx.expected.int32(`${seq}.tokens`)),
      tokenCount: fx.expected.int32(`${seq}.tokens`).length,
      createdAt: 0,
    },
    state: {
      layers: fx.weights.layers.map((_, l) => ({
        ssm: fx.expected.float32(`${seq}.ssm_state.${l}`),
        conv: fx.expected.float32(`${seq}.conv_state.${l}`),
        dtSum: fx.expected.float32(`${seq}.dt_sum.${l}`),
      })),
    },
  };
});
const mixed = mixStoredCpu(sources, {
  mode: 'weighted',
  weights: Array.from(fx.expected.float32('mix.weights')),
});
mkdirSync(join(out, 'tiny-a'), { recursive: true });
writeFileSync(join(out, 'mix.safetensors'), exportStateFile([mixed]));
for (const f of ['config.json', 'model.safetensors', 'expected.safetensors']) {
  copyFileSync(join(fx.dir, f), join(out, 'tiny-a', f));
}
