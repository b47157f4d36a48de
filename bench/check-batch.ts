/**
 * Does continueMany (batched prefill and decode) give per-query generate()'s greedy ids on this machine's
 * adapter? tests/engine.batch.test.ts and tests/engine.mamba2-batch.test.ts as a script for the GPU machine,
 * where Vitest does not travel: for each fixture folder (Mamba-1 or Mamba-2, by its config's model_type), both
 * kernel variants, f32 and f16 weights, 32 seeded queries of 1..21 tokens from a fixture prompt's state, 6 new
 * tokens, at batches of 3 and 32 (chunks of 16 tokens, so queries are cut across chunks and batch 32 runs as
 * the 16 slots a 16-token chunk allows), and with stop tokens. Prints one JSON line per check and exits 1 when
 * any fails.
 *
 *   bash bench/bundle-check.sh check-batch
 *   node dist-bench/check-batch.mjs tests/fixtures/tiny-a tests/fixtures/tiny-b tests/fixtures/m2-tiny-a
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { openNodeDevice } from '../src/engine/gpu/node.ts';
import { mamba2NamedTensors, mamba2WeightsFromSource } from '../src/engine/mamba2Weights.ts';
import { GpuMambaModel, type KernelVariant } from '../src/engine/model.ts';
import { namedTensors, weightsFromSource } from '../src/engine/weights.ts';
import { parseMambaConfig } from '../src/model/config.ts';
import { parseMamba2ConfigText } from '../src/model/mamba2Config.ts';
import { SafetensorsFile } from '../src/model/safetensors.ts';

const dirs = process.argv.slice(2);
if (dirs.length === 0) throw new Error('usage: check-batch.mjs FIXTURE_DIR [FIXTURE_DIR ...]');

let failed = 0;
const dev = await openNodeDevice();
console.log(
  JSON.stringify({ adapter: dev.adapterInfo, software: dev.isSoftware, shaderF16: dev.hasShaderF16 }),
);
for (const dir of dirs) {
  const name = dir.split('/').pop()!;
  const configText = readFileSync(join(dir, 'config.json'), 'utf8');
  const model = new SafetensorsFile(new Uint8Array(readFileSync(join(dir, 'model.safetensors'))));
  const want = new SafetensorsFile(new Uint8Array(readFileSync(join(dir, 'expected.safetensors'))), name);
  const source = {
    has: (n: string) => model.has(n),
    shape: (n: string) => model.info(n).shape,
    float32: (n: string) => model.float32(n),
  };
  const m2 = (JSON.parse(configText) as { model_type?: string }).model_type === 'mamba2';
  const config = m2 ? parseMamba2ConfigText(configText) : parseMambaConfig(JSON.parse(configText));
  const tensors = m2
    ? mamba2NamedTensors(mamba2WeightsFromSource(parseMamba2ConfigText(configText), source))
    : namedTensors(weightsFromSource(parseMambaConfig(JSON.parse(configText)), source));
  const promptName = want.names.find((n) => n.endsWith('.tokens'))!;
  let seed = 12345;
  const next = () => (seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32;
  const queries = Array.from({ length: 32 }, (_, i) =>
    Array.from({ length: i === 0 ? 1 : 1 + Math.floor(next() * 21) }, () =>
      Math.floor(next() * config.vocabSize),
    ),
  );
  for (const variant of ['software', 'hardware'] as KernelVariant[]) {
    for (const dtype of ['f32', 'f16'] as const) {
      const engine = await GpuMambaModel.fromTensors(dev, config, tensors, { dtype, variant, chunkSize: 16 });
      const state = engine.createState();
      await engine.prefill(state, want.int32(promptName));
      const single: number[][] = [];
      for (const q of queries) single.push(await engine.generate(state, q, { maxNewTokens: 6 }));
      const stopTokens = [single[0]![1]!, single[3]![0]!];
      const singleStop: number[][] = [];
      for (const q of queries)
        singleStop.push(await engine.generate(state, q, { maxNewTokens: 6, stopTokens }));
      const runs: [string, number[][], number[][]][] = [
        ['batch 3', await engine.continueMany(state, queries, { maxNewTokens: 6, batchSize: 3 }), single],
        ['batch 32', await engine.continueMany(state, queries, { maxNewTokens: 6, batchSize: 32 }), single],
        [
          'batch 32, stop tokens',
          await engine.continueMany(state, queries, { maxNewTokens: 6, batchSize: 32, stopTokens }),
          singleStop,
        ],
      ];
      for (const [check, got, expected] of runs) {
        const agree = got.filter((g, i) => JSON.stringify(g) === JSON.stringify(expected[i])).length;
        const pass = agree === queries.length;
        if (!pass) failed++;
        console.log(
          JSON.stringify({ fixture: name, variant, dtype, check, agree, of: queries.length, pass }),
        );
      }
      state.destroy();
      engine.destroy();
    }
  }
}
console.log(JSON.stringify({ failed }));
process.exit(failed > 0 ? 1 : 0);
