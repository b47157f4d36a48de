/**
 * Do the transformers fixtures still match on this machine's adapter? The same checks as
 * tests/engine.fixtures.test.ts, as a script that runs where Vitest does not travel (the GPU machine): for each
 * Mamba-1 fixture folder, in both kernel variants, f32 weights give every sequence's logits, SSM/conv states
 * and Σ Δ within 1e-3 (max |diff| / max(1, max |want|)), the weighted mix's and A-decay's query logits within
 * 1e-3, and the greedy continuations exactly; f16 weights give logits within 5e-2 with argmax agreeing at
 * ≥ 99 % of positions. Prints one JSON line per check and exits 1 when any fails.
 *
 *   npx esbuild bench/check-fixtures.ts --bundle --platform=node --format=esm --external:webgpu \
 *     --outfile=dist-bench/check-fixtures.mjs --banner:js="import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);"
 *   node dist-bench/check-fixtures.mjs tests/fixtures/tiny-a tests/fixtures/tiny-b
 */
import { openNodeDevice } from '../src/engine/gpu/node.ts';
import { GpuMambaModel, type KernelVariant } from '../src/engine/model.ts';
import { GpuStateMixer } from '../src/engine/states/gpuMix.ts';
import { planMix, type MixSpec } from '../src/engine/states/mixSpec.ts';
import { shapeOfConfig } from '../src/engine/states/types.ts';
import { argmaxRows, relMaxDiff } from './compare.ts';
import { loadMamba1Fixture } from './fixture.ts';

const dirs = process.argv.slice(2);
if (dirs.length === 0) throw new Error('usage: check-fixtures.mjs FIXTURE_DIR [FIXTURE_DIR ...]');

let failed = 0;
function report(fixture: string, check: string, value: number, limit: number, pass: boolean): void {
  if (!pass) failed++;
  console.log(JSON.stringify({ fixture, check, value, limit, pass }));
}

const dev = await openNodeDevice();
console.log(JSON.stringify({ adapter: dev.adapterInfo, software: dev.isSoftware }));
for (const dir of dirs) {
  const { name, config, weights, want, seqs } = loadMamba1Fixture(dir);
  const V = config.vocabSize;

  for (const variant of ['software', 'hardware'] as KernelVariant[]) {
    const engine = await GpuMambaModel.fromWeights(dev, weights, { dtype: 'f32', variant, chunkSize: 64 });
    const states = new Map<string, Awaited<ReturnType<typeof engine.createState>>>();
    let worst = 0;
    for (const seq of seqs) {
      const state = engine.createState();
      states.set(seq, state);
      const logits = (await engine.prefill(state, want.int32(`${seq}.tokens`), { logits: 'all' }))!;
      worst = Math.max(worst, relMaxDiff(logits, want.float32(`${seq}.logits`)));
      const host = await engine.readState(state);
      host.layers.forEach((ls, l) => {
        worst = Math.max(worst, relMaxDiff(ls.ssm, want.float32(`${seq}.ssm_state.${l}`)));
        worst = Math.max(worst, relMaxDiff(ls.conv, want.float32(`${seq}.conv_state.${l}`)));
        worst = Math.max(worst, relMaxDiff(ls.dtSum, want.float32(`${seq}.dt_sum.${l}`)));
      });
      const fresh = engine.createState();
      const greedy = await engine.generate(fresh, want.int32(`${seq}.tokens`), { maxNewTokens: 24 });
      fresh.destroy();
      const same = greedy.join(',') === [...want.int32(`${seq}.greedy`)].join(',');
      report(name, `f32 ${variant} greedy ${seq}`, same ? 0 : 1, 0, same);
    }
    report(name, `f32 ${variant} logits, states, dt_sum`, worst, 1e-3, worst < 1e-3);

    const mixer = new GpuStateMixer(
      engine.device,
      shapeOfConfig(config),
      weights.layers.map((l) => l.aLog),
    );
    const query = async (sourceIdx: Int32Array, spec: MixSpec, tokens: Int32Array) => {
      const dst = engine.createState();
      const sources = [...sourceIdx].map((i) => states.get(seqs[i]!)!);
      await mixer.mix(sources, planMix(spec, sources.length, config.numLayers), dst);
      const logits = (await engine.prefill(dst, tokens, { logits: 'all' }))!;
      dst.destroy();
      return logits;
    };
    if (want.has('mix.query_logits')) {
      const weightsMix = [...want.float32('mix.weights')];
      const got = await query(
        want.int32('mix.sources'),
        { mode: 'weighted', weights: weightsMix, ssm: 'mix', conv: 'mix' },
        want.int32('mix.query_tokens'),
      );
      const d = relMaxDiff(got, want.float32('mix.query_logits'));
      report(name, `f32 ${variant} mix query logits`, d, 1e-3, d < 1e-3);
    }
    if (want.has('adecay.query_logits')) {
      const got = await query(
        want.int32('mix.sources'),
        { mode: 'adecay', ssm: 'mix', conv: 'last' },
        want.int32(want.has('adecay.query_tokens') ? 'adecay.query_tokens' : 'mix.query_tokens'),
      );
      const d = relMaxDiff(got, want.float32('adecay.query_logits'));
      report(name, `f32 ${variant} adecay query logits`, d, 1e-3, d < 1e-3);
    }
    mixer.destroy();
    for (const s of states.values()) s.destroy();
    engine.destroy();
  }

  const f16 = await GpuMambaModel.fromWeights(dev, weights, { dtype: 'f16' });
  let worst = 0;
  let agree = 0;
  let total = 0;
  for (const seq of seqs) {
    const state = f16.createState();
    const logits = (await f16.prefill(state, want.int32(`${seq}.tokens`), { logits: 'all' }))!;
    const ref = want.float32(`${seq}.logits`);
    worst = Math.max(worst, relMaxDiff(logits, ref));
    const a = argmaxRows(logits, V);
    const b = argmaxRows(ref, V);
    a.forEach((v, i) => (agree += v === b[i] ? 1 : 0));
    total += a.length;
    state.destroy();
  }
  report(name, 'f16 logits', worst, 5e-2, worst < 5e-2);
  report(name, 'f16 argmax agreement', agree / total, 0.99, agree / total >= 0.99);
  f16.destroy();
}
dev.device.destroy();
process.exit(failed === 0 ? 0 : 1);
