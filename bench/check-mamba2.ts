/**
 * Do the Mamba-2 fixtures match on this machine's adapter? The checks of tests/engine.mamba2.test.ts as a script
 * that runs where Vitest does not travel (the GPU machine): for each m2-* fixture folder, in both kernel
 * variants, f32 weights give every sequence's logits through prefill within 1e-3 (max |diff| / max(1, max
 * |want|)) and its greedy continuation exactly through generate() (the decode plan and the GPU sampler), and
 * m2-tiny-a's stored-state continuation (mix.*) within 1e-3; f16 weights give logits within 5e-2, with the
 * greedy agreement printed. Prints one JSON line per check and exits 1 when any fails.
 *
 *   npx esbuild bench/check-mamba2.ts --bundle --platform=node --format=esm --external:webgpu \
 *     --outfile=dist-bench/check-mamba2.mjs --banner:js="import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);"
 *   node dist-bench/check-mamba2.mjs tests/fixtures/m2-tiny-a tests/fixtures/m2-tiny-b tests/fixtures/m2-tiny-c
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { WeightDtype } from '../src/engine/api.ts';
import { openNodeDevice } from '../src/engine/gpu/node.ts';
import { mamba2NamedTensors, mamba2WeightsFromSource } from '../src/engine/mamba2Weights.ts';
import { GpuMambaModel, type KernelVariant } from '../src/engine/model.ts';
import { parseMamba2ConfigText } from '../src/model/mamba2Config.ts';
import { SafetensorsFile } from '../src/model/safetensors.ts';
import { relMaxDiff } from './compare.ts';

const dirs = process.argv.slice(2);
if (dirs.length === 0) throw new Error('usage: check-mamba2.mjs FIXTURE_DIR [FIXTURE_DIR ...]');

let failed = 0;
function report(fixture: string, check: string, value: number, limit: number, pass: boolean): void {
  if (!pass) failed++;
  console.log(JSON.stringify({ fixture, check, value, limit, pass }));
}

const dev = await openNodeDevice();
console.log(JSON.stringify({ adapter: dev.adapterInfo, software: dev.isSoftware }));
for (const dir of dirs) {
  const name = dir.split('/').pop()!;
  const config = parseMamba2ConfigText(readFileSync(join(dir, 'config.json'), 'utf8'));
  const file = new SafetensorsFile(new Uint8Array(readFileSync(join(dir, 'model.safetensors'))));
  const want = new SafetensorsFile(new Uint8Array(readFileSync(join(dir, 'expected.safetensors'))), name);
  const weights = mamba2WeightsFromSource(config, {
    has: (n) => file.has(n),
    shape: (n) => file.info(n).shape,
    float32: (n) => file.float32(n),
  });
  const seqs = want.names.filter((n) => n.endsWith('.greedy')).map((n) => n.slice(0, -'.greedy'.length));
  for (const variant of ['software', 'hardware'] as KernelVariant[]) {
    for (const dtype of ['f32', 'f16'] as WeightDtype[]) {
      const engine = await GpuMambaModel.fromTensors(dev, config, mamba2NamedTensors(weights), {
        dtype,
        variant,
      });
      const tag = `${variant} ${dtype}`;
      const limit = dtype === 'f32' ? 1e-3 : 5e-2;
      for (const seq of seqs) {
        const tokens = want.int32(`${seq}.tokens`);
        const logits = (await engine.prefill(engine.createState(), tokens, { logits: 'all' }))!;
        const err = relMaxDiff(logits, want.float32(`${seq}.logits`));
        report(name, `${tag} ${seq} logits`, err, limit, err < limit);
        const greedy = [...want.int32(`${seq}.greedy`)];
        const got = await engine.generate(engine.createState(), tokens, { maxNewTokens: greedy.length });
        const first = got.findIndex((id, i) => id !== greedy[i]);
        const agree = first < 0 ? greedy.length : first;
        // f32 must follow transformers' path exactly; f16 reports how far it does.
        report(
          name,
          `${tag} ${seq} greedy tokens agreeing`,
          agree,
          greedy.length,
          dtype === 'f16' || first < 0,
        );
      }
      if (want.has('mix.query_logits')) {
        const src = engine.createState();
        await engine.prefill(src, want.int32('head.tokens'));
        const host = await engine.readState(src);
        const [w0, w1] = want.float32('mix.weights');
        const mix = (a: Float32Array) => a.map((v) => w0! * v + w1! * v);
        const dst = engine.createState();
        engine.writeState(dst, {
          layers: host.layers.map((l) => ({ ssm: mix(l.ssm), conv: mix(l.conv), dtSum: mix(l.dtSum) })),
        });
        const q = (await engine.prefill(dst, want.int32('mix.query_tokens'), { logits: 'all' }))!;
        const err = relMaxDiff(q, want.float32('mix.query_logits'));
        report(name, `${tag} stored-state continuation logits`, err, limit, err < limit);
      }
      engine.destroy();
    }
  }
}
process.exit(failed > 0 ? 1 : 0);
