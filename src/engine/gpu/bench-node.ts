/**
 * Engine throughput in Node (Dawn: a real GPU, or SwiftShader):
 *   npx tsx src/engine/gpu/bench-node.ts [--model 130m|DIR] [--dtype f32|f16] [--prefill N] [--decode N]
 *     [--variant software|hardware]
 * DIR is a Hugging Face model folder (config.json, model.safetensors); 130m is random weights of that shape.
 * Prints one JSON line.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseMambaConfig } from '../../model/config.ts';
import { SafetensorsFile } from '../../model/safetensors.ts';
import { benchEngine, MAMBA_130M, randomModel } from '../bench.ts';
import { GpuMambaModel, type KernelVariant } from '../model.ts';
import type { WeightDtype } from '../api.ts';
import { openNodeDevice } from './node.ts';

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] ? process.argv[i + 1]! : fallback;
}

async function main() {
  const model = arg('model', '130m');
  const dtype = arg('dtype', 'f32') as WeightDtype;
  const variant = process.argv.includes('--variant') ? (arg('variant', '') as KernelVariant) : undefined;
  const dev = await openNodeDevice();
  const t0 = performance.now();
  let engine: GpuMambaModel;
  if (model === '130m') {
    engine = await randomModel(dev, MAMBA_130M, { dtype, variant });
  } else {
    const config = parseMambaConfig(JSON.parse(readFileSync(join(model, 'config.json'), 'utf8')));
    const file = new SafetensorsFile(new Uint8Array(readFileSync(join(model, 'model.safetensors'))));
    engine = await GpuMambaModel.create(dev, config, { dtype, variant });
    for (const name of file.names) await engine.uploadTensor(name, file.float32(name));
    await engine.finalize();
  }
  const loadSeconds = (performance.now() - t0) / 1000;
  const r = await benchEngine(engine, {
    prefillTokens: Number(arg('prefill', '128')),
    decodeTokens: Number(arg('decode', '32')),
  });
  console.log(
    JSON.stringify({
      model,
      dtype,
      variant: engine.variant,
      ...(dtype === 'f16' ? { f16Kernels: engine.nativeF16 ? 'native' : 'packed' } : {}),
      adapter: dev.adapterInfo,
      adapterFeatures: dev.adapterFeatures,
      loadSeconds: +loadSeconds.toFixed(2),
      prefillTokensPerSecond: +r.prefillTokensPerSecond.toFixed(1),
      decodeTokensPerSecond: +r.decodeTokensPerSecond.toFixed(1),
      prefillTokens: r.prefillTokens,
      decodeTokens: r.decodeTokens,
    }),
  );
  engine.destroy();
  process.exit(0);
}

main().catch((e: unknown) => {
  console.error(e instanceof Error ? e.message : String(e));
  process.exit(1);
});
