/**
 * The native-f16 path on a GPU with shader-f16 (the H200 through Dawn with its toggles), where Vitest does not
 * travel and SwiftShader cannot go (it has no shader-f16):
 *  1. the adapter's features with Dawn's toggles on (and at the end, for comparison, without them);
 *  2. every kernel that reads f16 weights (bench/f16-kernels.ts): its native twin (`<kernel>_h`, f16 loads,
 *     f32 sums) against the packed-u32 kernel on the same weight words (tolerance 1e-6: the same sums in the
 *     same order, so they should agree to rounding) and both against a float64 CPU answer (1e-5, as
 *     tests/kernels.test.ts);
 *  3. INFO only: the speed of the decode GEMV and the prefill GEMM at 2.8b and 130m shapes, packed and native
 *     (host-timed, many calls per submit), so the bench run that follows holds no surprise;
 *  4. every Mamba-1 fixture through the engine with f16 weights on the native path, both kernel variants:
 *     logits within the f16 tolerance of transformers' (5e-2, argmax agreeing at >= 99 % of positions, as
 *     bench/check-fixtures.ts), within 1e-4 of the packed path's, the same greedy continuation as the packed
 *     path, and the greedy agreement with transformers' f32 continuation reported.
 * Prints one PASS/FAIL line per check (max relative error = max |a - b| / max(1, max |b|), and the tolerance),
 * INFO lines, a summary; exits 1 when a check fails. `--dry-run` (for a machine without shader-f16) runs the
 * packed kernels in place of the native ones, to try the script itself: it proves nothing about f16.
 *
 *   bash bench/bundle-check.sh check-f16
 *   node dist-bench/check-f16.mjs tests/fixtures/tiny-a tests/fixtures/tiny-b
 */
import { halfTwin, maxSplitFor } from '../src/engine/decisions.ts';
import { nodeGpu, openNodeDevice } from '../src/engine/gpu/node.ts';
import { PipelineCache } from '../src/engine/kernels/pipelines.ts';
import { GpuMambaModel, type KernelVariant } from '../src/engine/model.ts';
import { argmaxRows } from './compare.ts';
import { loadMamba1Fixture } from './fixture.ts';
import {
  caseData,
  caseName,
  cpuAnswer,
  KERNEL_CASES,
  packF16,
  prepareCase,
  relError,
  runCase,
  timeCase,
  type KernelCase,
} from './f16-kernels.ts';

const dry = process.argv.includes('--dry-run');
const dirs = process.argv.slice(2).filter((a) => a !== '--dry-run');
let failed = 0;
let passed = 0;
const e = (x: number) => x.toExponential(2);

function check(name: string, err: number, tol: number, what = 'max rel err'): void {
  const ok = err <= tol;
  if (ok) passed++;
  else failed++;
  console.log(`${ok ? 'PASS' : 'FAIL'} ${name}: ${what} ${e(err)} (tol ${e(tol)})`);
}

const dev = await openNodeDevice();
const info = dev.adapterInfo;
console.log(`INFO adapter: ${[info.vendor, info.architecture, info.device, info.description].join(' | ')}`);
console.log(`INFO features (Dawn toggles on): ${dev.adapterFeatures.join(', ')}`);
if (dry) {
  console.log('INFO DRY RUN: the packed kernels stand in for the native ones; nothing here tests f16');
} else if (!dev.hasShaderF16) {
  console.log('FAIL device: no shader-f16 on this device, so the native-f16 kernels cannot run here');
  process.exit(1);
} else {
  console.log('PASS device: shader-f16 requested and granted');
  passed++;
}

// ---- kernels: native twin vs packed vs float64
const pipes = PipelineCache.forDevice(dev.device);
for (const [i, c] of KERNEL_CASES.entries()) {
  if ((c.kernel.includes('subgroup') || c.kernel.endsWith('_sg')) && !dev.hasSubgroups) {
    console.log(`INFO ${caseName(c)}: skipped, no subgroups`);
    continue;
  }
  const d = caseData(c, 100 + i);
  const want = cpuAnswer(c, d);
  const words = packF16(d.w);
  const twin = halfTwin(c.kernel, !dry);
  dev.device.pushErrorScope('validation');
  const packed = await runCase(dev.device, c, d, words, (consts) => ({
    kernel: c.kernel,
    pipeline: pipes.get(c.kernel, { F16: true, ...consts }),
  }));
  const native = await runCase(dev.device, c, d, words, (consts) => ({
    kernel: twin,
    pipeline: pipes.get(twin, dry ? { F16: true, ...consts } : consts),
  }));
  const gpuError = await dev.device.popErrorScope();
  if (gpuError) {
    failed++;
    console.log(`FAIL ${caseName(c)}: GPU validation error: ${gpuError.message}`);
    continue;
  }
  const name = caseName(c).replace(c.kernel, twin);
  check(`${name} native vs float64`, relError(native, want), 1e-5);
  check(`${name} native vs packed ${c.kernel}`, relError(native, packed), 1e-6);
  check(`${caseName(c)} packed vs float64`, relError(packed, want), 1e-5);
}

// ---- speed at real shapes (INFO): packed and native on the same words
const sg = dev.hasSubgroups ? 'gemv_fused_sg' : 'gemv_fused';
const speedCases: { label: string; c: KernelCase; reps: number }[] = [
  { label: '2.8b in_proj decode', c: { kernel: sg, T: 1, N: 10240, K: 2560, consts: { ROWS: 4 } }, reps: 50 },
  { label: '2.8b out_proj decode', c: { kernel: sg, T: 1, N: 2560, K: 5120, consts: { ROWS: 1 } }, reps: 50 },
  { label: '130m in_proj decode', c: { kernel: sg, T: 1, N: 3072, K: 768, consts: { ROWS: 1 } }, reps: 100 },
  {
    label: '2.8b in_proj prefill 512',
    c: {
      kernel: 'gemm_tiled',
      T: 512,
      N: 10240,
      K: 2560,
      consts: { TM: 4, TN: 4 },
      split: [264, maxSplitFor(2560)],
    },
    reps: 10,
  },
  {
    label: '2.8b out_proj prefill 512',
    c: {
      kernel: 'gemm_tiled',
      T: 512,
      N: 2560,
      K: 5120,
      consts: { TM: 4, TN: 4 },
      split: [264, maxSplitFor(5120)],
    },
    reps: 10,
  },
];
// A dry run tries this code at 1/16 of each size (packed in both slots), where the figures mean nothing.
for (const { label, c: full, reps: fullReps } of speedCases) {
  {
    const c = dry ? { ...full, T: Math.ceil(full.T / 16), N: full.N / 16, K: full.K / 16 } : full;
    const reps = dry ? 2 : fullReps;
    // Halves in [1, 2) with varied mantissas; x in [-1, 1): the values do not matter for speed.
    const words = new Uint32Array(Math.ceil((c.N * c.K) / 2));
    for (let i = 0; i < words.length; i++)
      words[i] = (0x3c003c00 | (Math.imul(i, 2654435761) & 0x03ff03ff)) >>> 0;
    const x = Float32Array.from({ length: c.T * c.K }, (_, i) => ((i * 7919) % 2001) / 1000 - 1);
    const d = { x, tokens: new Uint32Array(1), bias: new Float32Array(c.N + 1) };
    const ms: Record<string, number> = {};
    for (const path of ['packed', 'native'] as const) {
      const native = path === 'native' && !dry;
      const kernel = halfTwin(c.kernel, native);
      const run = prepareCase(dev.device, c, d, words, (consts) => ({
        kernel,
        pipeline: pipes.get(kernel, native ? consts : { F16: true, ...consts }),
      }));
      ms[path] = await timeCase(dev.device, run, reps);
      run.destroy();
    }
    const rate = (t: number) =>
      c.T === 1
        ? `${((c.N * c.K * 2) / (t * 1e6)).toFixed(0)} GB/s of weights`
        : `${((2 * c.T * c.N * c.K) / (t * 1e9)).toFixed(1)} TFLOP/s`;
    console.log(
      `INFO speed ${label} (${c.kernel}, N=${c.N} K=${c.K}${c.T > 1 ? ` T=${c.T}` : ''}): packed ${ms['packed']!.toFixed(4)} ms (${rate(ms['packed']!)}), native ${ms['native']!.toFixed(4)} ms (${rate(ms['native']!)}), native/packed time ${(ms['native']! / ms['packed']!).toFixed(3)}`,
    );
  }
}

// ---- fixtures through the engine on the native path
for (const dir of dirs) {
  const { name, config, weights, want, seqs } = loadMamba1Fixture(dir);
  const V = config.vocabSize;
  for (const variant of ['hardware', 'software'] as KernelVariant[]) {
    const open = (f16Kernels: 'native' | 'packed') =>
      GpuMambaModel.fromWeights(dev, weights, { dtype: 'f16', f16Kernels, variant, chunkSize: 64 });
    const native = await open(dry ? 'packed' : 'native');
    const packed = await open('packed');
    const tag = `${name} f16 ${variant} native`;
    if ((!native.nativeF16 && !dry) || packed.nativeF16) {
      failed++;
      console.log(`FAIL ${tag}: the engines did not take the paths asked for`);
    }
    let vsHf = 0;
    let vsPacked = 0;
    let agree = 0;
    let total = 0;
    let greedySame = 0;
    let greedyExact = 0;
    let greedyPacked = 0;
    let greedyTokens = 0;
    for (const seq of seqs) {
      const tokens = want.int32(`${seq}.tokens`);
      const run = async (engine: GpuMambaModel) => {
        const s = engine.createState();
        const logits = (await engine.prefill(s, tokens, { logits: 'all' }))!;
        s.destroy();
        const fresh = engine.createState();
        const greedy = await engine.generate(fresh, tokens, { maxNewTokens: 24 });
        fresh.destroy();
        return { logits, greedy };
      };
      const n = await run(native);
      const p = await run(packed);
      const ref = want.float32(`${seq}.logits`);
      vsHf = Math.max(vsHf, relError(n.logits, ref));
      vsPacked = Math.max(vsPacked, relError(n.logits, p.logits));
      const a = argmaxRows(n.logits, V);
      const b = argmaxRows(ref, V);
      a.forEach((v, i) => (agree += v === b[i] ? 1 : 0));
      total += a.length;
      const hfGreedy = [...want.int32(`${seq}.greedy`)];
      n.greedy.forEach((t, i) => (greedySame += t === hfGreedy[i] ? 1 : 0));
      greedyTokens += hfGreedy.length;
      if (n.greedy.join(',') === hfGreedy.join(',')) greedyExact++;
      if (n.greedy.join(',') === p.greedy.join(',')) greedyPacked++;
    }
    check(`${tag} logits vs transformers`, vsHf, 5e-2);
    check(`${tag} argmax agreement with transformers`, 1 - agree / total, 0.01, 'disagreement');
    check(`${tag} logits vs packed f16`, vsPacked, 1e-4);
    check(
      `${tag} greedy continuations identical to packed f16`,
      seqs.length - greedyPacked,
      0,
      'sequences differing',
    );
    console.log(
      `INFO ${tag} greedy vs transformers' f32 continuation: ${greedyExact} of ${seqs.length} sequences identical, ${greedySame} of ${greedyTokens} tokens agree by position`,
    );
    native.destroy();
    packed.destroy();
  }
}

console.log(`SUMMARY ${failed === 0 ? 'PASS' : 'FAIL'}: ${passed} passed, ${failed} failed`);
dev.device.destroy();
// Last, so that a second Dawn instance cannot disturb the checks: is the toggle what gives shader-f16?
try {
  const plain = await nodeGpu(false).requestAdapter({ powerPreference: 'high-performance' });
  const f = plain ? [...plain.features].map(String).sort() : [];
  console.log(
    `INFO features (toggles off): shader-f16 ${f.includes('shader-f16') ? 'offered' : 'not offered'}`,
  );
} catch (err) {
  console.log(`INFO features (toggles off): could not open a second Dawn instance (${String(err)})`);
}

process.exit(failed === 0 ? 0 : 1);
