/**
 * Do the Mamba-2 fixtures match on this machine's adapter? The checks of tests/engine.mamba2.test.ts as a script
 * that runs where Vitest does not travel (the GPU machine): for each m2-* fixture folder, in both kernel
 * variants, f32 weights give every sequence's logits through prefill within 1e-3 (max |diff| / max(1, max
 * |want|)), where the fixture has them its per-head states and Σ Δ within 1e-3, its greedy continuation exactly
 * through generate() (the decode plan and the GPU sampler), and the weighted mix's continuation (mix.*: the
 * sources' states mixed on the host as stored, written back, the query read) within 1e-3; f16 weights give
 * logits (and the mix's) within 5e-2, with the greedy agreement printed. Prints one JSON line per check and
 * exits 1 when any fails.
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
import type { MambaState } from '../src/engine/weights.ts';
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
  const note = JSON.parse(want.metadata['note'] ?? '{}') as { sequences: string[] };
  for (const variant of ['software', 'hardware'] as KernelVariant[]) {
    for (const dtype of ['f32', 'f16'] as WeightDtype[]) {
      const engine = await GpuMambaModel.fromTensors(dev, config, mamba2NamedTensors(weights), {
        dtype,
        variant,
      });
      const tag = `${variant} ${dtype}`;
      const limit = dtype === 'f32' ? 1e-3 : 5e-2;
      const finals = new Map<string, MambaState>();
      for (const seq of note.sequences) {
        const tokens = want.int32(`${seq}.tokens`);
        const state = engine.createState();
        const logits = (await engine.prefill(state, tokens, { logits: 'all' }))!;
        const err = relMaxDiff(logits, want.float32(`${seq}.logits`));
        report(name, `${tag} ${seq} logits`, err, limit, err < limit);
        const host = await engine.readState(state);
        state.destroy();
        finals.set(seq, host);
        host.layers.forEach((l, i) => {
          for (const [part, got] of [
            ['ssm_state', l.ssm],
            ['conv_state', l.conv],
            ['dt_sum', l.dtSum],
          ] as const) {
            const key = `${seq}.${part}.${i}`;
            if (!want.has(key)) continue;
            const e = relMaxDiff(got, want.float32(key));
            report(name, `${tag} ${key}`, e, limit, e < limit);
          }
        });
        if (!seqs.includes(seq)) continue;
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
        const sources = Array.from(want.int32('mix.sources'), (i) => finals.get(note.sequences[i]!)!);
        const weights = want.float32('mix.weights');
        const mix = (pick: (l: MambaState['layers'][number]) => Float32Array, l: number) => {
          const out = new Float32Array(pick(sources[0]!.layers[l]!).length);
          sources.forEach((s, k) => pick(s.layers[l]!).forEach((v, e) => (out[e]! += weights[k]! * v)));
          return out;
        };
        const dst = engine.createState();
        engine.writeState(dst, {
          layers: sources[0]!.layers.map((_, l) => ({
            ssm: mix((x) => x.ssm, l),
            conv: mix((x) => x.conv, l),
            dtSum: mix((x) => x.dtSum, l),
          })),
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
