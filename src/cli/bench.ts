/**
 * `soup bench --model (DIR | random:130m | … | random:2.8b | random:mamba2-130m | … | random:mamba2-2.7b)
 *  [--dtype f32|f16|int8] [--json] [--quick]
 *  [--check CHECK.safetensors]`: the engine's speed on the adapter Node finds (src/bench/run.ts), and with
 * --check, how far its logits are from the ones transformers saved for the same weights (bench/hf_bench.py).
 * Progress goes to stderr; the figures (text, or one JSON object) to stdout.
 */
import { readFileSync } from 'node:fs';
import type { WeightDtype } from '../engine/api.ts';
import type { EngineDevice } from '../engine/gpu/device.ts';
import { openNodeDevice } from '../engine/gpu/node.ts';
import type { EngineOptions, GpuMambaModel, KernelVariant } from '../engine/model.ts';
import { MID_TILES, type MidTile } from '../engine/options.ts';
import { SGMM_CHOICE } from '../engine/sgmmDecisions.ts';
import { createRandomEngine, RANDOM_MODELS, randomModelConfig } from '../engine/randomWeights.ts';
import type { DecodeMiddle } from '../engine/decisions.ts';
import {
  GATED_NORM_FORMS,
  M2_CONV_FORMS,
  SSD_FORMS,
  type GatedNormForm,
  type M2ConvForm,
  type SsdForm,
} from '../engine/mamba2/decisions.ts';
import { SafetensorsFile } from '../model/safetensors.ts';
import type { MambaTokenizer } from '../model/tokenizer.ts';
import { formatText } from '../bench/format.ts';
import { runBenchmark, type BenchOptions, type BenchResult } from '../bench/run.ts';
import { intOption, UsageError, type ParsedArgs } from './args.ts';
import { BATCH_BENCH_USAGE, BATCH_BENCH_VALUES, runBatchBench } from './benchBatch.ts';
import { batchMemoryOption, openModelDir, parseDtype } from './model-dir.ts';

export const BENCH_USAGE = `  bench     --model (DIR | random:${RANDOM_MODELS.join(' | random:')})
            [--dtype f32|f16|int8] [--json] [--quick] [--check CHECK.safetensors]
            [--prefill 128,512,2048] [--decode-tokens 128] [--eval-tokens 256]
            [--chunk N] [--big-tiles N] [--split-target N] [--mid-tile auto|64x64|64x128|128x64]
                                     (engine tuning: prefill chunk, GEMM tiles)
            [--f16-kernels auto|native|packed]   (f16 weights: shader-f16 loads where the device has it)
            [--no-dawn-toggles]   (leave Dawn's f16 / unsafe-API adapter toggles off; SOUP_DAWN_TOGGLES=0)
            [--subgroup-matrix | --no-subgroup-matrix]   (prefill GEMMs of f16 weights on subgroup matrices
                                     where the device has them; off by default)
            [--sgmm-x f16]   (with them: X rounded to f16, not multiplied as hi + lo halves; faster, less exact)
            [--decode-middle fused|split|scan]   (decode: x_proj+scan in one kernel, or after an x_proj GEMV)
            [--decode-rows 1-4]   (decode: rows per fused-GEMV workgroup and per Mamba-2 scan workgroup)
            [--gemv-steps 1|4]   (decode: steps of the fused GEMV whose weights load together; default 1)
            [--ssd auto|fused|fused8|fused-noprefetch|fused4r|passes|sgmm]   (Mamba-2 prefill: the fused
                                                SSD pair, 16 or 8 state rows a workgroup, 16 without loading
                                                the next chunk ahead, 16 with four rows an invocation, its
                                                three passes, or the passes on subgroup matrices: f16
                                                weights, a device that has them)
            [--ssd-chunk 16|32|48|64]   (Mamba-2 prefill: tokens per chunk of the passes and of sgmm)
            [--gated-norm loop|keep|fold]   (Mamba-2 prefill: the gated norm reads y and z twice, or
                                             once with the values kept in registers, or is folded into
                                             the fused SSD and out_proj; default loop)
            [--m2-conv scalar|vec4]   (Mamba-2 prefill: the conv one channel an invocation, or four
                                       channels and four tokens with vec4 loads, d_conv 4; default vec4 on GPUs)
            [--m2-inproj-split on|off|ROW]   (Mamba-2 prefill: in_proj as two GEMMs, split where the
                                              engine chooses or at ROW; default on from d_inner 4,096)
            [--m2-norm-rows on|off]   (Mamba-2 prefill: in_proj's rows past the split made by the
                                       RMSNorm before it, at most 32; default on from d_inner 4,096)
            [--variant software|hardware]   (kernels; default by adapter: software on SwiftShader)
${BATCH_BENCH_USAGE}`;

export const BENCH_OPTIONS = {
  values: [
    'model',
    'dtype',
    'check',
    'prefill',
    'decode-tokens',
    'eval-tokens',
    'seed',
    'chunk',
    'big-tiles',
    'split-target',
    'mid-tile',
    'sgmm-x',
    'f16-kernels',
    'decode-middle',
    'decode-rows',
    'gemv-steps',
    'ssd',
    'ssd-chunk',
    'm2-inproj-split',
    'gated-norm',
    'm2-norm-rows',
    'm2-conv',
    'variant',
    ...BATCH_BENCH_VALUES,
  ],
  flags: ['json', 'quick', 'no-dawn-toggles', 'subgroup-matrix', 'no-subgroup-matrix', 'batch-queries'],
};

interface Opened {
  engine: GpuMambaModel;
  tokenizer?: MambaTokenizer;
  dev: EngineDevice;
  aLogs: Float32Array[];
  uploadMs: number;
}

type Tuning = Omit<EngineOptions, 'dtype'>;

async function open(
  model: string,
  dtype: WeightDtype | undefined,
  seed: number,
  tuning: Tuning,
): Promise<Opened> {
  if (model.startsWith('random:')) {
    const config = randomModelConfig(model);
    if (!config) {
      throw new UsageError(
        `Unknown random model "${model}"; choose one of ${RANDOM_MODELS.map((s) => `random:${s}`).join(', ')}.`,
      );
    }
    const dev = await openNodeDevice();
    const t0 = performance.now();
    const { engine, aLogs } = await createRandomEngine(
      dev,
      config,
      { ...tuning, dtype: dtype ?? 'f16' },
      seed,
    );
    return { engine, dev, aLogs, uploadMs: performance.now() - t0 };
  }
  const t0 = performance.now();
  const opened = await openModelDir(model, dtype, tuning);
  await opened.dev.device.queue.onSubmittedWorkDone();
  return {
    engine: opened.engine,
    tokenizer: opened.tokenizer,
    dev: opened.dev,
    aLogs: opened.aLogs,
    uploadMs: performance.now() - t0,
  };
}

export interface LogitsCheck {
  file: string;
  tokens: number;
  maxAbsDiff: number;
  /** max |ours − theirs| / max(1, max |theirs|), the fixtures' measure. */
  relMaxDiff: number;
  argmaxAgreement: number;
}

/** Prefills the check's tokens from the zero state and compares every position's logits. */
export async function checkLogits(engine: GpuMambaModel, file: string): Promise<LogitsCheck> {
  const st = new SafetensorsFile(new Uint8Array(readFileSync(file)), file);
  const tokens = Array.from(st.int32('check.tokens'));
  const want = st.float32('check.logits');
  const V = engine.config.vocabSize;
  if (want.length !== tokens.length * V) {
    throw new UsageError(
      `${file}: check.logits has ${want.length} values, expected ${tokens.length} × ${V}.`,
    );
  }
  const state = engine.createState();
  let got: Float32Array;
  try {
    got = (await engine.prefill(state, tokens, { logits: 'all' }))!;
  } finally {
    state.destroy();
  }
  let maxAbs = 0;
  let maxRef = 0;
  let agree = 0;
  for (let t = 0; t < tokens.length; t++) {
    let a = 0;
    let b = 0;
    for (let v = 0; v < V; v++) {
      const i = t * V + v;
      maxAbs = Math.max(maxAbs, Math.abs(got[i]! - want[i]!));
      maxRef = Math.max(maxRef, Math.abs(want[i]!));
      if (got[i]! > got[t * V + a]!) a = v;
      if (want[i]! > want[t * V + b]!) b = v;
    }
    if (a === b) agree++;
  }
  return {
    file,
    tokens: tokens.length,
    maxAbsDiff: maxAbs,
    relMaxDiff: maxAbs / Math.max(1, maxRef),
    argmaxAgreement: agree / tokens.length,
  };
}

function lengthList(text: string | undefined): number[] | undefined {
  if (text === undefined) return undefined;
  const xs = text.split(',').map(Number);
  if (xs.length === 0 || xs.some((x) => !Number.isInteger(x) || x < 1)) {
    throw new UsageError(`--prefill must be comma-separated positive token counts (got "${text}").`);
  }
  return xs;
}

export async function runBench(args: ParsedArgs): Promise<void> {
  const model = args.values.get('model');
  if (model === undefined) throw new UsageError(`--model is required.\n${BENCH_USAGE}`);
  const dtype = parseDtype(args.values.get('dtype'));
  const json = args.flags.has('json');
  const opts: BenchOptions = {
    quick: args.flags.has('quick'),
    prefillLengths: lengthList(args.values.get('prefill')),
    decodeTokens: intOption(args, 'decode-tokens'),
    evalTokens: intOption(args, 'eval-tokens'),
    onProgress: (m) => process.stderr.write(`bench: ${m}\n`),
  };
  for (const [name, v] of [
    ['decode-tokens', opts.decodeTokens],
    ['eval-tokens', opts.evalTokens],
  ] as const) {
    if (v !== undefined && v < 2) throw new UsageError(`--${name} must be at least 2.`);
  }
  process.stderr.write(`bench: loading ${model}\n`);
  const chunkSize = intOption(args, 'chunk');
  const bigMinTiles = intOption(args, 'big-tiles');
  const splitTarget = intOption(args, 'split-target');
  const f16Kernels = args.values.get('f16-kernels');
  if (f16Kernels !== undefined && !['auto', 'native', 'packed'].includes(f16Kernels)) {
    throw new UsageError(`--f16-kernels must be auto, native or packed (got "${f16Kernels}").`);
  }
  // The one switch node.ts reads when it opens Dawn, so the random and the folder paths both honour it.
  if (args.flags.has('no-dawn-toggles')) process.env['SOUP_DAWN_TOGGLES'] = '0';
  for (const [name, v] of [
    ['chunk', chunkSize],
    ['big-tiles', bigMinTiles],
    ['split-target', splitTarget],
  ] as const) {
    if (v !== undefined && v < 1) throw new UsageError(`--${name} must be at least 1.`);
  }
  const decodeMiddle = args.values.get('decode-middle');
  if (decodeMiddle !== undefined && !['fused', 'split', 'scan'].includes(decodeMiddle)) {
    throw new UsageError(`--decode-middle must be fused, split or scan (got "${decodeMiddle}").`);
  }
  const decodeSteps = intOption(args, 'gemv-steps');
  if (decodeSteps !== undefined && decodeSteps !== 1 && decodeSteps !== 4) {
    throw new UsageError(`--gemv-steps must be 1 or 4 (got ${decodeSteps}).`);
  }
  const decodeRows = intOption(args, 'decode-rows');
  if (decodeRows !== undefined && !(decodeRows >= 1 && decodeRows <= 4)) {
    throw new UsageError(`--decode-rows must be 1, 2, 3 or 4 (got ${decodeRows}).`);
  }
  const ssd = args.values.get('ssd');
  if (ssd !== undefined && !SSD_FORMS.includes(ssd)) {
    throw new UsageError(`--ssd must be ${SSD_FORMS.join(', ')} (got "${ssd}").`);
  }
  const ssdChunk = intOption(args, 'ssd-chunk');
  if (ssdChunk !== undefined && ![16, 32, 48, 64].includes(ssdChunk)) {
    throw new UsageError(`--ssd-chunk must be 16, 32, 48 or 64 (got ${ssdChunk}).`);
  }
  const sgmmX = args.values.get('sgmm-x');
  if (sgmmX !== undefined && sgmmX !== 'f16') throw new UsageError(`--sgmm-x takes f16 (got "${sgmmX}").`);
  const midTile = args.values.get('mid-tile');
  if (midTile !== undefined && !(MID_TILES as readonly string[]).includes(midTile)) {
    throw new UsageError(`--mid-tile must be ${MID_TILES.join(', ')} (got "${midTile}").`);
  }
  const split = args.values.get('m2-inproj-split');
  if (split !== undefined && split !== 'on' && split !== 'off' && !/^\d+$/.test(split)) {
    throw new UsageError(`--m2-inproj-split must be on, off or a row of in_proj (got "${split}").`);
  }
  const gatedNorm = args.values.get('gated-norm');
  if (gatedNorm !== undefined && !GATED_NORM_FORMS.includes(gatedNorm)) {
    const forms = `${GATED_NORM_FORMS.slice(0, -1).join(', ')} or ${GATED_NORM_FORMS.at(-1)!}`;
    throw new UsageError(`--gated-norm must be ${forms} (got "${gatedNorm}").`);
  }
  const normRows = args.values.get('m2-norm-rows');
  if (normRows !== undefined && normRows !== 'on' && normRows !== 'off') {
    throw new UsageError(`--m2-norm-rows must be on or off (got "${normRows}").`);
  }
  const m2Conv = args.values.get('m2-conv');
  if (m2Conv !== undefined && !M2_CONV_FORMS.includes(m2Conv)) {
    throw new UsageError(`--m2-conv must be ${M2_CONV_FORMS.join(' or ')} (got "${m2Conv}").`);
  }
  const variant = args.values.get('variant');
  if (variant !== undefined && variant !== 'software' && variant !== 'hardware') {
    throw new UsageError(`--variant must be software or hardware (got "${variant}").`);
  }
  // An option left out stays undefined, and the engine takes its default for it.
  const tuning: Tuning = {
    variant: variant as KernelVariant | undefined,
    chunkSize,
    prefillGemm: { bigMinTiles, splitTarget, midTile: midTile as MidTile | undefined },
    f16Kernels: f16Kernels as Tuning['f16Kernels'],
    subgroupMatrix: args.flags.has('no-subgroup-matrix')
      ? false
      : args.flags.has('subgroup-matrix') || undefined,
    sgmm: sgmmX === 'f16' ? { ...SGMM_CHOICE, kernel: 'gemm_sgmm_ds_db' } : undefined,
    decodeMiddle: decodeMiddle as DecodeMiddle | undefined,
    decodeRows,
    decodeSteps,
    ssd: ssd as SsdForm | undefined,
    ssdChunk,
    m2InProjSplit: split === undefined ? undefined : split !== 'off',
    m2InProjSplitAt: split !== undefined && /^\d+$/.test(split) ? Number(split) : undefined,
    gatedNorm: gatedNorm as GatedNormForm | undefined,
    m2NormRows: normRows === undefined ? undefined : normRows === 'on',
    m2Conv: m2Conv as M2ConvForm | undefined,
    ...batchMemoryOption(args),
  };
  const { engine, tokenizer, dev, aLogs, uploadMs } = await open(
    model,
    dtype,
    intOption(args, 'seed', 0)!,
    tuning,
  );
  process.stderr.write(
    `bench: ${dev.hasShaderF16 ? 'shader-f16 on' : 'no shader-f16'}; weights ${engine.dtype}${
      engine.dtype === 'f16' ? (engine.nativeF16 ? ' read natively' : ' packed in u32') : ''
    }\n`,
  );
  try {
    if (args.flags.has('batch-queries')) return await runBatchBench(args, engine, tokenizer, dev, model);
    const checkFile = args.values.get('check');
    const check = checkFile ? await checkLogits(engine, checkFile) : undefined;
    const info = dev.adapterInfo;
    const result: BenchResult & { check?: LogitsCheck } = await runBenchmark(
      {
        engine,
        aLogs,
        tokenizer,
        model,
        adapter: [info.vendor, info.architecture, info.device, info.description].filter(Boolean).join(' '),
        hasTimestamps: dev.hasTimestamps,
        adapterFeatures: dev.adapterFeatures,
        subgroupMatrixRefused: dev.subgroupMatrixRefused,
        uploadMs,
      },
      opts,
    );
    if (check) result.check = check;
    if (json) {
      process.stdout.write(JSON.stringify(result) + '\n');
    } else {
      process.stdout.write(formatText(result) + '\n');
      if (check) {
        process.stdout.write(
          `logits vs ${check.file}: max |diff| ${check.maxAbsDiff.toExponential(3)}, relative ${check.relMaxDiff.toExponential(3)}, argmax agrees at ${(100 * check.argmaxAgreement).toFixed(1)} % of ${check.tokens} positions\n`,
        );
      }
    }
  } finally {
    engine.destroy();
  }
}
