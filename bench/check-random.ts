/**
 * Are the engine's logits right at a real size? Builds random:SIZE (default 130m) on the GPU with the seeded
 * hash of src/engine/randomWeights.ts, rebuilds the very same weights on the host, and compares the engine
 * with the float64 CPU reference (src/engine/reference/mamba.ts) on a few tokens: the first PREFILL tokens
 * through prefill (the GEMM path, logits of every position), the rest one by one through decodeStep (the GEMV
 * path). In f16 the reference runs on the f16-rounded matrices, in int8 on the matrices quantised as the GPU
 * fill quantises them (what the engine holds: randomWeightsAsHeld), so every dtype is held to the fixtures' 1e-3 (max |diff| / max(1, max |logit|)). Too slow for CI on SwiftShader (minutes), so
 * a script; its results are in bench/RESULTS.md.
 *
 *   npx esbuild bench/check-random.ts --bundle --platform=node --format=esm --external:webgpu \
 *     --outfile=dist-bench/check-random.mjs --banner:js="import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);"
 *   node dist-bench/check-random.mjs [--size 130m] [--dtypes f32,f16,int8] [--variant software|hardware]
 * Prints one JSON line per dtype; exits 1 when a comparison is over 1e-3.
 */
import type { WeightDtype } from '../src/engine/api.ts';
import { openNodeDevice } from '../src/engine/gpu/node.ts';
import type { KernelVariant } from '../src/engine/model.ts';
import { referenceForward } from '../src/engine/reference/mamba.ts';
import {
  createRandomEngine,
  parseRandomModel,
  randomConfig,
  randomWeightsAsHeld,
} from '../src/engine/randomWeights.ts';
import { argmaxAt, relMaxDiff } from './compare.ts';

const arg = (name: string, dflt: string) => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? (process.argv[i + 1] ?? dflt) : dflt;
};
const size = parseRandomModel(`random:${arg('size', '130m')}`);
if (!size) throw new Error('--size must be one of 130m, 370m, 790m, 1.4b, 2.8b');
const dtypes = arg('dtypes', 'f32,f16').split(',') as WeightDtype[];
const variantArg = arg('variant', '');
const variant = variantArg ? (variantArg as KernelVariant) : undefined;
const TOKENS = [0, 510, 1234, 50279, 7, 31337];
const PREFILL = 3;
const TOL = 1e-3;

const argmax = (a: ArrayLike<number>) => argmaxAt(a, 0, a.length);

const config = randomConfig(size);
const V = config.vocabSize;
const dev = await openNodeDevice();
let failed = false;
for (const dtype of dtypes) {
  const t0 = performance.now();
  const ref = referenceForward(randomWeightsAsHeld(config, 0, dtype), TOKENS);
  const refMs = performance.now() - t0;
  const { engine } = await createRandomEngine(dev, config, { dtype, variant }, 0);
  try {
    const s = engine.createState();
    const got = new Float32Array(TOKENS.length * V);
    got.set((await engine.prefill(s, TOKENS.slice(0, PREFILL), { logits: 'all' }))!, 0);
    for (let i = PREFILL; i < TOKENS.length; i++) got.set(await engine.decodeStep(s, TOKENS[i]!), i * V);
    const perPosition = TOKENS.map((_, i) =>
      relMaxDiff(got.subarray(i * V, (i + 1) * V), ref.logits.subarray(i * V, (i + 1) * V)),
    );
    const argmaxAgree = TOKENS.filter(
      (_, i) => argmax(got.subarray(i * V, (i + 1) * V)) === argmax(ref.logits.subarray(i * V, (i + 1) * V)),
    ).length;
    let maxAbsLogit = 0;
    for (const v of ref.logits) maxAbsLogit = Math.max(maxAbsLogit, Math.abs(v));
    const worst = Math.max(...perPosition);
    if (!(worst < TOL)) failed = true;
    console.log(
      JSON.stringify({
        model: `random:${size}`,
        dtype,
        variant: engine.variant,
        adapter: `${dev.adapterInfo.vendor} ${dev.adapterInfo.device}`.trim(),
        tokens: TOKENS.length,
        prefillTokens: PREFILL,
        relMaxDiffPerPosition: perPosition,
        relMaxDiff: worst,
        maxAbsLogit,
        argmaxAgree: `${argmaxAgree}/${TOKENS.length}`,
        pass: worst < TOL,
        referenceMs: Math.round(refMs),
        totalMs: Math.round(performance.now() - t0),
      }),
    );
    s.destroy();
  } finally {
    engine.destroy();
  }
}
process.exit(failed ? 1 : 0);
