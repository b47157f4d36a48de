/**
 * The engine's options as a caller gives them (EngineOptions) and as the engine runs them (ResolvedOptions):
 * every default is settled here, once, from the device's traits, so the rest of the engine reads plain values.
 */
import { isMamba2Config, type AnyMambaConfig } from '../model/family.ts';
import { ModelFormatError } from '../model/errors.ts';
import type { WeightDtype } from './api.ts';
import type { EngineDevice } from './gpu/device.ts';
import {
  BATCH_SLOT_BYTES,
  defaultChunkSize,
  DEFAULT_INT8,
  gemmKernel,
  gemvSteps,
  nativeF16,
  type DecodeMiddle,
  type F16Kernels,
  type Int8Choice,
} from './decisions.ts';
import {
  GATED_NORM_FORMS,
  gatedNormFoldRefusal,
  M2_CONV_FORMS,
  m2ConvDefault,
  m2InProjSplitDefault,
  m2InProjSplitRow,
  normRowsDefault,
  NORM_ROWS_WG,
  normRowsRefusal,
  m2SsdChoice,
  m2SsdPlan,
  m2SsdSgmmRefusal,
  type GatedNormForm,
  type M2ConvForm,
  type M2SsdChoice,
  type SsdForm,
} from './mamba2/decisions.ts';
import { sgmatKernel, type SgmmChoice, type SubgroupMatrixTraits } from './sgmmDecisions.ts';
import { assertInt8Group } from './gpu/int8.ts';

export type KernelVariant = 'software' | 'hardware';

/** The prefill GEMM's mid-path tile, tokens x outputs (gemm_tiled.wgsl's 16·TM x 16·TN). */
export type MidTile = 'auto' | '64x64' | '64x128' | '128x64';
export const MID_TILES: readonly MidTile[] = ['auto', '64x64', '64x128', '128x64'];

/** A forced tile as gemm_tiled's TM / TN; 'auto' forces none (decisions.ts midTile chooses per matrix). */
function midTileOverrides(tile: MidTile): { midTm?: 4 | 8; midTn?: 4 | 8 } {
  if (!MID_TILES.includes(tile))
    throw new RangeError(`prefillGemm.midTile must be ${MID_TILES.join(', ')} (got "${tile}").`);
  return tile === 'auto' ? {} : { midTm: tile === '128x64' ? 8 : 4, midTn: tile === '64x128' ? 8 : 4 };
}
export type { F16Kernels } from './decisions.ts';

export interface EngineOptions {
  dtype: WeightDtype;
  /** Tokens per prefill chunk (one scan dispatch per layer per chunk). Default 512 (hardware), 128 (software). */
  chunkSize?: number;
  /**
   * 'software': one invocation per output row / channel, no workgroup barriers (SwiftShader);
   * 'hardware': cooperative reductions through workgroup memory. Default: by `EngineDevice.isSoftware`.
   */
  variant?: KernelVariant;
  /** Hardware variant only: reduce GEMV rows with subgroupAdd. Default: where the device has subgroups. */
  subgroups?: boolean;
  /** Largest binding for one part of a weight matrix; default the device limit. Tests shrink it. */
  maxBindingBytes?: number;
  /**
   * Rows per workgroup of the fused decode GEMV (1 to 4). Default: 4 for row parts of at least 4,096 rows (2.8b
   * in_proj, LM heads), where it saves re-reading the input per row and workgroups stay plentiful, else 1.
   * Tests force it to cover the multi-row path on small models. Forced, it also sets the state rows per
   * workgroup of Mamba-2's decode step (m2_scan_decode; default 1, mamba2/decisions.ts m2ScanRows).
   */
  decodeRows?: number;
  /** Steps of the fused decode GEMV loaded together (1 or 4; decisions.ts gemvSteps, default 1). */
  decodeSteps?: 1 | 4;
  /**
   * Hardware variant: how the middle of each decode layer runs ('fused': one kernel, 3 dispatches per layer;
   * 'split': x_proj, then the decode scan step; 'scan': x_proj, then the prefill scan kernel). Default: by the
   * x_proj size (decodeMiddle in decisions.ts), which also falls back where a shape does not fit a kernel.
   */
  decodeMiddle?: DecodeMiddle;
  /**
   * Hardware variant, prefill GEMMs (shaders/gemm_tiled.wgsl), chosen per matrix and chunk length: 128 x 128
   * tiles where they give at least `bigMinTiles` workgroups, else 64 x 64 tiles with split-K up to
   * `splitTarget` workgroups. Defaults from the H200 (bench/RESULTS.md, fourth pass): split-K to 264
   * workgroups, and no 128 x 128 tiles (Infinity): there they ran 14x slower than 64 x 64 (2.8b in_proj,
   * 512 tokens: 820 vs 58 ms; 1.6x on the H100 since session 12 changed its sums). `midTile` ('tokens x
   * outputs') forces the mid path's tile; 'auto' (the default) takes 128 x 64 for matrices of 1,536 inputs or
   * more and 64 x 64 below (decisions.ts midTile). Benchmarks sweep all three (`soup bench --big-tiles
   * --split-target --mid-tile`).
   */
  prefillGemm?: { bigMinTiles?: number; splitTarget?: number; midTile?: MidTile };
  /** dtype 'int8' only: the group size and which matrices are quantised (default DEFAULT_INT8). */
  int8?: Partial<Int8Choice>;
  /**
   * How f16 weights are read (decisions.ts nativeF16): 'auto' (default) natively (`enable f16;` kernels)
   * where the device has `shader-f16`, else packed in u32; 'packed' always packed (benchmarks compare the
   * two); 'native' insists, and fails on a device without `shader-f16`. The bytes on the GPU are the same.
   */
  f16Kernels?: F16Kernels;
  /**
   * Prefill GEMMs of f16 weights on subgroup matrices (shaders/gemm_sgmm.wgsl) where the device offers them
   * (sgmatKernel in sgmmDecisions.ts). Opt-in (default false). SGMM_CHOICE multiplies X as hi + lo f16 halves
   * (the _x2 variant), so the GEMMs keep the f32 GEMM's accuracy; it has not run on a GPU with subgroup
   * matrices yet, so it is neither timed nor on by default. Its predecessor, which rounded X to f16, ran 2.8b's
   * prefill 2048 at 5,350 against 4,363 tok/s on the H200, but on by default tiny-a's f16 greedy argmax agreed
   * with transformers at 98.4 % of positions (the fixture test asks 99 %) and continueMany's logits moved 6e-4
   * from the single path's (bench/runs/2026-12-04-h200-session6); `sgmm: { ...SGMM_CHOICE, kernel:
   * 'gemm_sgmm_ds_db' }` (soup bench --sgmm-x f16) still runs it.
   */
  subgroupMatrix?: boolean;
  /** The gemm_sgmm variant and overrides with subgroupMatrix (default SGMM_CHOICE; bench/sgmat-sweep.ts tries others). */
  sgmm?: SgmmChoice;
  /**
   * Mamba-2 prefill's SSD scan (mamba2/decisions.ts m2SsdPlan): 'auto' (default) the fused pair on GPUs with
   * subgroups where state_size ≤ 128 (four state rows an invocation from d_inner 4,096 where subgroups span 32),
   * else the three passes; 'fused', 'fused8' (8 state rows a workgroup), 'fused-noprefetch' (no load of the next
   * chunk ahead), 'fused4r' (four state rows an invocation) or 'passes' force one (benchmarks compare them; the
   * fused forms fail on a device without subgroups or a model with a larger state); 'sgmm' the passes with their two chunk kernels on subgroup matrices (f16 weights and
   * a device with subgroup matrices only: m2SsdSgmmRefusal says why not; opt-in until it is timed).
   */
  ssd?: SsdForm;
  /** Tokens per chunk of the SSD passes and of 'sgmm' (16, 32, 48 or 64; Q 32 at most for SwiftShader's). */
  ssdChunk?: number;
  /**
   * Mamba-2 prefill (hardware variant): run in_proj as two GEMMs, split where mamba2/decisions.ts
   * m2InProjSplitRow says (after z and x, or from d_inner 4,096 at the last whole 64-row tile). Default: from
   * d_inner 4,096 (m2InProjSplitDefault, measured on the H200). Tests force it either way.
   */
  m2InProjSplit?: boolean;
  /**
   * Splits in_proj at this row (benchmarks; default m2InProjSplitRow's row where the split is on). Between 1 and
   * in_proj's rows − 1.
   */
  m2InProjSplitAt?: number;
  /**
   * Mamba-2 prefill (hardware variant): in_proj's rows past its split are made by the RMSNorm before it
   * (shaders/rmsnorm_rows.wgsl), and the GEMM stops at the split, so the thin part takes no dispatch of its own.
   * Default where the split falls at the last whole tile (mamba2/decisions.ts normRowsDefault); true where
   * normRowsRefusal says the plan cannot take it is refused.
   */
  m2NormRows?: boolean;
  /**
   * Mamba-2 prefill (hardware variant): how the gated RMSNorm is made (mamba2/decisions.ts GatedNormForm).
   * 'fold' gates in the fused SSD kernel and scales in out_proj's GEMM, with no pass of its own; 'keep' holds
   * each invocation's gated values in registers between the sum of squares and the store (m2_gated_norm_keep:
   * y and z read once); 'loop' walks them twice (m2_gated_norm_v4). Default 'loop': 'fold' (where
   * gatedNormFoldRefusal allows it: a fused SSD form, out_proj on gemm_tiled) was slower on the H100.
   */
  gatedNorm?: GatedNormForm;
  /**
   * Mamba-2 prefill: the conv over x, B and C one channel an invocation ('scalar', m2_conv) or four channels
   * and four tokens with vec4 loads ('vec4', m2_conv4, d_conv 4 only). Default 'vec4' on the hardware variant,
   * 'scalar' on the software one (mamba2/decisions.ts m2ConvDefault).
   */
  m2Conv?: M2ConvForm;
  /**
   * Bytes continueMany's state slots may take, all layers together (decisions.ts batchSlots; default
   * BATCH_SLOT_BYTES, 256 MiB). More slots batch more queries per pass; Mamba-2 2.7b needs more than twice
   * its 172 MB state to batch at all.
   */
  batchMemory?: number;
  /**
   * Whether continueMany batches its queries when the caller gives no batchSize (a given batchSize always
   * batches). Default true, for both families: Mamba-2's batched plan on m2_scan_seg_wg answered 8-shot ICL
   * queries 2.27x as fast as one generate() per query at mamba2-130m f16 (batch 13) and 1.28x at mamba2-2.7b
   * (batch 12) on the H100 (bench/runs/2026-12-05-h100-session12, run 1); its earlier token-by-token scan had
   * been slower than generate() on the H200 (session 10), when Mamba-2 on GPUs did not batch by default.
   */
  batched?: boolean;
}

/** What the engine needs to know of its device to settle the defaults. */
export interface DeviceTraits {
  isSoftware: boolean;
  hasSubgroups: boolean;
  /** The adapter's smallest subgroup size (0 or absent: unknown). */
  subgroupMinSize?: number;
  maxStorageBufferBindingSize: number;
  /** The device has `shader-f16` (absent: no). */
  hasShaderF16?: boolean;
  /** Subgroup matrices, where the device was opened with chromium-experimental-subgroup-matrix. */
  subgroupMatrix?: SubgroupMatrixTraits;
}

export interface ResolvedOptions {
  dtype: WeightDtype;
  variant: KernelVariant;
  useSubgroups: boolean;
  /** f16 weights are read by the native-f16 kernel variants (`<kernel>_h`); false for f32 and packed f16. */
  nativeF16: boolean;
  /** Forced rows per fused-GEMV workgroup; undefined: chosen per row part (decodeRowsFor). */
  decodeRows?: number;
  /** Steps of the fused decode GEMV loaded together (gemvSteps). */
  decodeSteps: 1 | 4;
  /** Forced decode middle; undefined: chosen by the x_proj size (decodeMiddle in decisions.ts). */
  decodeMiddle?: DecodeMiddle;
  bigMinTiles: number;
  splitTarget: number;
  /** A forced mid-path tile (gemm_tiled's TM / TN); absent: chosen per matrix (decisions.ts midTile). */
  midTm?: 4 | 8;
  midTn?: 4 | 8;
  /** Largest binding for one part of a weight matrix. */
  maxBinding: number;
  chunkSize: number;
  /** Read by int8 engines only. */
  int8: Int8Choice;
  /** The prefill GEMMs' kernel on subgroup matrices; undefined: gemm_tiled / gemm_reg as the variant says. */
  sgmat?: SgmmChoice;
  /** The kernel prefill GEMMs run on (benchmarks print it). */
  prefillGemmKernel: string;
  /** Mamba-2 prefill's SSD scan (m2SsdPlan); the three passes' default for a Mamba-1 model, which has none. */
  m2Ssd: M2SsdChoice;
  /** Bytes of continueMany's state slots (EngineOptions.batchMemory). */
  batchMemory: number;
  /** continueMany batches when the caller gives no batchSize (EngineOptions.batched). */
  batched: boolean;
  /** Mamba-2 prefill runs in_proj as two GEMMs (false for Mamba-1, which has no such split). */
  m2InProjSplit: boolean;
  /** Where the split is made (EngineOptions.m2InProjSplitAt); undefined: at m2InProjSplitRow's row. */
  m2InProjSplitAt?: number;
  /** Whether the RMSNorm makes in_proj's rows past the split (EngineOptions.m2NormRows). */
  m2NormRows: boolean;
  /** Mamba-2's gated RMSNorm form on the hardware variant (EngineOptions.gatedNorm). */
  gatedNorm: GatedNormForm;
  /** Mamba-2's prefill conv form (EngineOptions.m2Conv). */
  m2Conv: M2ConvForm;
}

/** The traits of an opened device that the options depend on. */
export function deviceTraits(dev: EngineDevice): DeviceTraits {
  return {
    isSoftware: dev.isSoftware,
    hasSubgroups: dev.hasSubgroups,
    subgroupMinSize: dev.subgroupMinSize,
    hasShaderF16: dev.hasShaderF16,
    maxStorageBufferBindingSize: dev.device.limits.maxStorageBufferBindingSize,
    subgroupMatrix: dev.subgroupMatrix,
  };
}

export function resolveOptions(
  opts: EngineOptions,
  dev: DeviceTraits,
  config: AnyMambaConfig,
): ResolvedOptions {
  const variant = opts.variant ?? (dev.isSoftware ? 'software' : 'hardware');
  if (
    opts.decodeRows !== undefined &&
    !(Number.isInteger(opts.decodeRows) && opts.decodeRows >= 1 && opts.decodeRows <= 4)
  ) {
    throw new RangeError(`decodeRows must be 1 to 4, got ${opts.decodeRows}`);
  }
  if (opts.decodeSteps !== undefined && opts.decodeSteps !== 1 && opts.decodeSteps !== 4) {
    throw new RangeError(`decodeSteps must be 1 or 4, got ${String(opts.decodeSteps)}`);
  }
  const int8 = { ...DEFAULT_INT8, ...opts.int8 };
  assertInt8Group(int8.group);
  if (opts.decodeMiddle !== undefined && !['fused', 'split', 'scan'].includes(opts.decodeMiddle)) {
    throw new RangeError(`decodeMiddle must be 'fused', 'split' or 'scan', got ${String(opts.decodeMiddle)}`);
  }
  if (opts.gatedNorm !== undefined && !GATED_NORM_FORMS.includes(opts.gatedNorm)) {
    throw new RangeError(`gatedNorm must be 'loop', 'keep' or 'fold', got ${String(opts.gatedNorm)}`);
  }
  if (opts.m2Conv !== undefined && !M2_CONV_FORMS.includes(opts.m2Conv)) {
    throw new RangeError(`m2Conv must be 'scalar' or 'vec4', got ${String(opts.m2Conv)}`);
  }
  if (isMamba2Config(config) && opts.m2InProjSplitAt !== undefined) {
    const at = opts.m2InProjSplitAt;
    if (!(Number.isInteger(at) && at >= 1 && at < config.inProjSize))
      throw new RangeError(
        `m2InProjSplitAt must be a row of in_proj from 1 to ${config.inProjSize - 1} (got ${at}).`,
      );
  }
  if (opts.batchMemory !== undefined && !(Number.isFinite(opts.batchMemory) && opts.batchMemory >= 0)) {
    throw new RangeError(`batchMemory must be a number of bytes, 0 or more (got ${opts.batchMemory}).`);
  }
  // A forced SSD form the model cannot take (or a misspelt one) fails here, before any weights load.
  const m2Ssd = isMamba2Config(config)
    ? m2SsdPlan(
        variant,
        config.stateSize,
        dev.hasSubgroups,
        opts.ssd,
        opts.ssdChunk,
        dev.subgroupMinSize,
        config.intermediateSize,
      )
    : m2SsdChoice(variant);
  const noSgmm = m2Ssd.sgmm === true ? m2SsdSgmmRefusal(opts.dtype, dev.subgroupMatrix, m2Ssd.q) : undefined;
  if (noSgmm !== undefined) throw new RangeError(`The SSD scan on subgroup matrices ${noSgmm}.`);
  const maxBinding = dev.maxStorageBufferBindingSize;
  const sgmat =
    opts.subgroupMatrix === true
      ? sgmatKernel(variant, opts.dtype, dev.subgroupMatrix, opts.sgmm)
      : undefined;
  const m2Split =
    isMamba2Config(config) &&
    (opts.m2InProjSplitAt !== undefined || (opts.m2InProjSplit ?? m2InProjSplitDefault(config)));
  const noNormRows = isMamba2Config(config)
    ? normRowsRefusal(
        config,
        variant,
        opts.dtype,
        m2Split ? (opts.m2InProjSplitAt ?? m2InProjSplitRow(config)) : undefined,
        NORM_ROWS_WG,
      )
    : 'needs a Mamba-2 model';
  if (opts.m2NormRows === true && noNormRows !== undefined)
    throw new RangeError(`in_proj's rows past its split made by the RMSNorm ${noNormRows}.`);
  const noFold = gatedNormFoldRefusal(variant, m2Ssd, sgmat !== undefined);
  if (isMamba2Config(config) && opts.gatedNorm === 'fold' && noFold !== undefined)
    throw new RangeError(`The gated norm folded into the SSD and out_proj ${noFold}.`);
  // The logits of one chunk must fit one binding too.
  const byLogits = Math.floor(maxBinding / (config.vocabSize * 4));
  return {
    dtype: opts.dtype,
    variant,
    useSubgroups: variant === 'hardware' && dev.hasSubgroups && (opts.subgroups ?? true),
    nativeF16: nativeF16(opts.dtype, dev.hasShaderF16 ?? false, opts.f16Kernels),
    decodeRows: opts.decodeRows,
    decodeSteps: gemvSteps(opts.decodeSteps),
    decodeMiddle: opts.decodeMiddle,
    bigMinTiles: opts.prefillGemm?.bigMinTiles ?? Infinity,
    splitTarget: opts.prefillGemm?.splitTarget ?? 264,
    ...midTileOverrides(opts.prefillGemm?.midTile ?? 'auto'),
    maxBinding: Math.min(opts.maxBindingBytes ?? Infinity, maxBinding),
    chunkSize: Math.max(1, Math.min(opts.chunkSize ?? defaultChunkSize(variant), byLogits)),
    int8,
    sgmat,
    prefillGemmKernel: sgmat?.kernel ?? gemmKernel('gemm', variant, false),
    m2Ssd,
    batchMemory: opts.batchMemory ?? BATCH_SLOT_BYTES,
    m2InProjSplit: m2Split,
    m2InProjSplitAt: isMamba2Config(config) ? opts.m2InProjSplitAt : undefined,
    m2NormRows:
      isMamba2Config(config) && noNormRows === undefined && (opts.m2NormRows ?? normRowsDefault(config)),
    gatedNorm: opts.gatedNorm ?? 'loop',
    m2Conv: opts.m2Conv ?? m2ConvDefault(variant),
    batched: opts.batched ?? true,
  };
}

/** Refuses shapes outside what the kernels were written for. */
export function assertSupported(config: AnyMambaConfig): void {
  if (config.convKernel < 2 || config.convKernel > 8) {
    throw new ModelFormatError(
      `conv_kernel ${config.convKernel} is not supported (the engine handles 2 to 8).`,
    );
  }
  // Mamba-2's kernels loop over the state; only Mamba-1's scan holds it in a bounded register array.
  if (!isMamba2Config(config) && config.stateSize > 64) {
    throw new ModelFormatError(
      `state_size ${config.stateSize} is not supported (the engine handles up to 64).`,
    );
  }
}
