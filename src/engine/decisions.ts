/**
 * The engine's kernel decisions as pure functions of shapes and options: prefill GEMM tiles, split-K and column
 * blocks, which GEMV kernel a variant uses, whether decode takes the fused path, rows per fused-GEMV workgroup,
 * reduction widths and scan grouping. Nothing here touches a GPU, so tests/engine.decisions.test.ts checks
 * them directly; the dispatch builders (src/engine/plan/) only apply them. The prefill GEMM on subgroup
 * matrices has its own decisions in sgmmDecisions.ts, and Mamba-2's scan kernels theirs in mamba2/decisions.ts.
 *
 * Kernel variants: 'software' (SwiftShader) uses one invocation per output row / channel and 4-wide
 * reductions, because workgroup barriers dominate there; 'hardware' uses register-tiled GEMMs through workgroup
 * memory (64 x 64 tiles, with split-K where they leave too few workgroups), one workgroup per GEMV row
 * (reduced with subgroupAdd where the device has subgroups), a scan with one invocation per (channel, state
 * element), and wide reductions. Both are tested on SwiftShader (tests/kernels*.test.ts, tests/engine*.test.ts).
 */
import type { MambaConfig } from '../model/config.ts';
import type { WeightDtype } from './api.ts';
import { GpuUnavailableError } from './gpu/device.ts';
import type { KernelVariant } from './options.ts';
import { sgmmLayout, type SgmmChoice } from './sgmmDecisions.ts';

const ceil = (a: number, b: number) => Math.ceil(a / b);

/**
 * Tokens per prefill chunk by variant. GPUs: 512-token chunks give the thin GEMMs (x_proj, out_proj) 4x the
 * workgroups of 128 (the H200 run measured 4 and 24 workgroups at 128 tokens, on a 132-SM GPU); SwiftShader
 * has nothing to gain.
 */
export function defaultChunkSize(variant: KernelVariant): number {
  return variant === 'hardware' ? 512 : 128;
}

/** Workgroups along z of gemm_tiled.wgsl for `t` tokens; the same formula as splitCount() in the shader. */
export function splitCount(
  t: number,
  rows: number,
  tm: number,
  tn: number,
  target: number,
  maxSplit: number,
) {
  if (maxSplit <= 1) return 1;
  const tiles = ceil(t, 16 * tm) * ceil(rows, 16 * tn);
  return Math.min(maxSplit, Math.max(1, ceil(target, tiles)));
}

/** gemm_tiled.wgsl's split-K bound for `k` inputs: each split keeps at least 4 steps of 16 k; at most 16 splits. */
export function maxSplitFor(k: number): number {
  return Math.max(1, Math.min(16, Math.floor(ceil(k, 16) / 4)));
}

/** The prefill-GEMM tuning the engine runs with (ResolvedOptions carries these). */
export interface GemmTuning {
  bigMinTiles: number;
  splitTarget: number;
  /**
   * A forced mid-path tile: 16·midTm tokens x 16·midTn outputs (gemm_tiled's TM / TN, 4 or 8); undefined
   * (the default): chosen per matrix by midTile.
   */
  midTm?: 4 | 8;
  midTn?: 4 | 8;
}

/**
 * Inputs from which the mid path takes 128-token tiles. On the H100 (bench/RESULTS.md, session 12, run 3: GPU
 * ms per 512-token chunk, f16), 128 x 64 tiles beat 64 x 64 on every matrix with K >= 1536 (130m's out_proj
 * 1.92 -> 1.76; 2.8b's in_proj 57.3 -> 47.5 and out_proj 36.1 -> 30.0, the chunk 111.2 -> 95.3) and lost on
 * K = 768 (130m's in_proj, 2.37 -> 2.56): a long reduction amortises the bigger tile's loads, a short one leaves
 * it too few workgroups.
 */
export const MID_WIDE_K = 1536;

/**
 * The mid path's TM / TN (gemm_tiled.wgsl overrides) for a matrix of `k` inputs under `tuning`: the forced
 * tile, else 128 x 64 from MID_WIDE_K inputs and 64 x 64 below. 64 x 128 is never chosen (101.2 ms a chunk
 * at 2.8b, against 95.3), nor 128 x 128 (177 ms in run 2).
 */
export function midTile(tuning: GemmTuning, k: number): { tm: 4 | 8; tn: 4 | 8 } {
  if (tuning.midTm !== undefined || tuning.midTn !== undefined) {
    return { tm: tuning.midTm ?? 4, tn: tuning.midTn ?? 4 };
  }
  return { tm: k >= MID_WIDE_K ? 8 : 4, tn: 4 };
}

/** Whether a prefill GEMM part of `rows` outputs runs on 128 x 128 tiles at `t` tokens (else 64 x 64). */
export function useBigTiles(t: number, rows: number, tuning: GemmTuning): boolean {
  return ceil(t, 128) * ceil(rows, 128) >= tuning.bigMinTiles;
}

/** Split-K workgroups along z of the mid-path prefill GEMM (midTile) of a part of `rows` outputs and `k` inputs. */
export function midSplit(t: number, rows: number, k: number, tuning: GemmTuning): number {
  const { tm, tn } = midTile(tuning, k);
  return splitCount(t, rows, tm, tn, tuning.splitTarget, maxSplitFor(k));
}

/**
 * Floats of split-K partial sums the largest prefill GEMM part needs at any chunk length up to `chunkSize`
 * (at least 4, so the buffer is never empty). `parts` lists every row part as its rows and inputs; `sgmat`:
 * the GEMMs run on gemm_sgmm.wgsl (sgmatKernel) on its BM x BN tiles, split by sgmatSplit, where a part
 * fits it, else on gemm_tiled: room for either, and at least one 16 x 16 f32 matrix (256 floats), since Dawn
 * asks every binding that gemm_sgmm stores subgroup matrices into to hold one (on the H200 a tiny model with no
 * split failed to bind its 16-byte buffer).
 */
export function splitKFloats(
  parts: Iterable<{ rows: number; cols: number }>,
  chunkSize: number,
  tuning: GemmTuning,
  sgmat?: SgmmChoice,
): number {
  let most = sgmat ? 256 : 4;
  const l = sgmat && sgmmLayout(sgmat);
  for (const p of parts) {
    for (let t = 1; t <= chunkSize; t++) {
      const mid = useBigTiles(t, p.rows, tuning) ? 1 : midSplit(t, p.rows, p.cols, tuning);
      const sg = l ? sgmatSplit(t, p.rows, p.cols, tuning, l.BM, l.BN) : 1;
      const s = Math.max(mid, sg);
      if (s > 1) most = Math.max(most, s * t * p.rows);
    }
  }
  return most;
}

/**
 * A block of a weight matrix's row part that a prefill GEMM runs as its own dispatch (see prefillBlocks): its
 * rows in the matrix, and where its weights lie in the part's buffer.
 */
export interface PrefillBlock {
  /** The block's first row in the matrix (part.row0 + its start in the part). */
  row0: number;
  rows: number;
  /** Bytes into the part's buffer where the block's weights start. */
  byteOffset: number;
  /** Bytes of its weights; undefined for the last block, which runs to the end of the buffer (its padding). */
  byteSize?: number;
}

/**
 * Bytes into a row part's buffer of its row `r` when a binding may start there, else undefined: f32 weights
 * take 4 bytes, f16 2, packed two per u32 from the part's start, so r·K must be even (no word holds rows of two
 * blocks); WebGPU wants a binding's offset to be a multiple of `minAlign` (minStorageBufferOffsetAlignment).
 * int8 parts keep every row's scales after all the part's values (gpu/int8.ts), so no block of one is a
 * self-contained int8 matrix.
 */
function blockByteOffset(r: number, k: number, dtype: WeightDtype, minAlign: number): number | undefined {
  if (dtype === 'int8' || (dtype === 'f16' && (r * k) % 2 !== 0)) return undefined;
  const bytes = r * k * (dtype === 'f16' ? 2 : 4);
  return bytes % minAlign === 0 ? bytes : undefined;
}

/**
 * The column blocks a prefill GEMM runs row part `part` of a matrix with `k` inputs in: one per stretch between
 * the `splits` (matrix rows where a new block should start) that fall inside the part and where its buffer can
 * be bound (blockByteOffset); a split that cannot is dropped, so its two sides run as one block. No split: the
 * whole part, one block.
 */
export function prefillBlocks(
  part: { row0: number; rows: number },
  k: number,
  dtype: WeightDtype,
  splits: readonly number[],
  minAlign: number,
): PrefillBlock[] {
  const starts = [{ r: 0, byteOffset: 0 }];
  for (const s of [...new Set(splits)].sort((a, b) => a - b)) {
    const r = s - part.row0;
    if (r <= 0 || r >= part.rows) continue;
    const byteOffset = blockByteOffset(r, k, dtype, minAlign);
    if (byteOffset !== undefined) starts.push({ r, byteOffset });
  }
  return starts.map(({ r, byteOffset }, i) => {
    const next = starts[i + 1];
    const end = next?.r ?? part.rows;
    const byteSize = next && next.byteOffset - byteOffset;
    const block = { row0: part.row0 + r, rows: end - r, byteOffset };
    return byteSize === undefined ? block : { ...block, byteSize };
  });
}

export type GemmKind = 'gemm_tiled' | 'gemm_reg' | 'gemv' | 'gemv_coop' | 'gemv_subgroup';

/**
 * The kernel of an unfused matrix product: prefill ('gemm') on GPUs through tiles (gemm_tiled), on
 * SwiftShader with a register-blocked loop (gemm_reg); decode ('gemv') one invocation per 4 rows on
 * SwiftShader (gemv), else one workgroup per row, reduced through subgroups where the device has them.
 */
export function gemmKernel(mode: 'gemm' | 'gemv', variant: KernelVariant, useSubgroups: boolean): GemmKind {
  if (mode === 'gemm') return variant === 'hardware' ? 'gemm_tiled' : 'gemm_reg';
  if (variant === 'software') return 'gemv';
  return useSubgroups ? 'gemv_subgroup' : 'gemv_coop';
}

/**
 * Decode (hardware variant) keeps to 3 or 4 dispatches per layer (see decodeMiddle) through gemv_fused.wgsl, whose vec4 weight loads
 * need K % 8 == 0 (f16) / K % 4 == 0 (f32) for every matrix; other shapes keep the 6-dispatch plan.
 */
export function fusedDecode(
  config: Pick<MambaConfig, 'hiddenSize' | 'intermediateSize'>,
  variant: KernelVariant,
  dtype?: WeightDtype,
): boolean {
  // int8 rows are read 16 weights per vec4<u32> load.
  const q = dtype === 'int8' ? 16 : 8;
  return variant === 'hardware' && config.hiddenSize % q === 0 && config.intermediateSize % q === 0;
}

/** The fused GEMV's kernel: with subgroupAdd where the device has subgroups. */
export function fusedGemvKernel(useSubgroups: boolean): 'gemv_fused' | 'gemv_fused_sg' {
  return useSubgroups ? 'gemv_fused_sg' : 'gemv_fused';
}

/**
 * Rows per fused-GEMV workgroup for a row part of `rows` rows: `forced` when given, else 4 from 4,096 rows, or
 * when a NORM prologue runs over an input of 4,096 or more (`normCols`): each workgroup computes the input's RMS
 * itself, so fewer workgroups repeat that read. On the H200 (soup bench --decode-rows, f16): Mamba-2 2.7b's
 * out_proj (2,560 rows, gated norm over 5,120) took 2.04 ms per token at 1 row and 1.53 at 4; mamba2-130m's
 * (768 rows, norm over 1,536) 0.28 at 1 and 0.32 at 4, where 4 leaves too few workgroups.
 */
export function decodeRowsFor(rows: number, forced?: number, normCols = 0): number {
  return forced ?? (rows >= 4096 || normCols >= 4096 ? 4 : 1);
}

/**
 * Steps of the fused decode GEMV whose weights each invocation loads before summing any (gemv_fused.wgsl's
 * STEPS4): `forced` when given, else 1. Four keep 4 · ROWS loads of 16 bytes in flight per invocation where one
 * keeps ROWS; they only run where a row has more than 192 of those loads (K > 1,536 in f16, > 768 in f32: the
 * 2.8b-size GEMVs, whose in_proj read 1.2-1.6 TB/s of the H200's 4.8 in sessions 4-6). Not the default until the
 * GPU machine times it (bench/session13_run2.sh; `soup bench --gemv-steps 4`).
 */
export function gemvSteps(forced?: 1 | 4): 1 | 4 {
  return forced ?? 1;
}

/**
 * Invocations for a one-workgroup reduction (RMSNorm, log-softmax, sampling): `gpu` wide on GPUs; 4 on
 * SwiftShader, where each workgroup barrier costs a switch of every invocation's fiber (a 256-wide
 * sampler spent ~18 ms per token in barriers there).
 */
export function reductionWidth(variant: KernelVariant, gpu: number): number {
  return variant === 'software' ? 4 : gpu;
}

/**
 * Invocations per token of the prefill norms on GPUs (rmsnorm.wgsl, m2_gated_norm.wgsl: one workgroup per
 * token). At 64, a 512-token chunk keeps 32K invocations in flight, an eighth of an H200's slots, each walking
 * 40 (2.8b's 2,560) or 80 (mamba2-2.7b's 5,120) dependent loads twice; 256 cuts each walk to a quarter.
 * Measured on the H200 (per 512-token chunk, 64 → 256): rmsnorm 2.40 → 1.10 ms at 2.8b, 0.37 → 0.26 at 130m;
 * the gated norm 4.89 → 1.80 ms at mamba2-2.7b, 0.61 → 0.33 at mamba2-130m.
 */
export const NORM_WG_GPU = 256;

/** The scan's kernel: one invocation per (channel, state element) on GPUs, one per channel on SwiftShader. */
export function scanKernel(variant: KernelVariant): 'scan' | 'scan_coop' {
  return variant === 'hardware' ? 'scan_coop' : 'scan';
}

/** Channels per workgroup of scan_coop.wgsl (64 invocations shared out over `stateSize` elements each). */
export function scanChannelsPerGroup(stateSize: number): number {
  return Math.max(1, Math.floor(64 / stateSize));
}

/** Prefill on GPUs runs dt_proj for the whole chunk in parallel first, so the sequential scan does less. */
export function dtProjFirst(mode: 'gemm' | 'gemv', variant: KernelVariant): boolean {
  return mode === 'gemm' && variant === 'hardware';
}

/** Which int8 engine holds what (EngineOptions.int8): the group size, and the matrices quantised beyond in/out_proj. */
export interface Int8Choice {
  /** Inputs per scale along K (a multiple of 16), or 0: one scale per output row (per-channel). */
  group: number;
  /** Quantise the embedding (and with it a tied LM head) and an untied LM head; else they stay f16. */
  embedding: boolean;
  /** Quantise x_proj; else it stays f16. */
  xProj: boolean;
}

/** The int8 defaults: per-channel scales, every large matrix quantised (tests/engine.int8.test.ts measures them). */
export const DEFAULT_INT8: Int8Choice = { group: 0, embedding: true, xProj: true };

export type MatrixRole = 'embedding' | 'lm_head' | 'in_proj' | 'x_proj' | 'out_proj';

/** How a big matrix is held in an engine of `dtype`: int8 engines keep the matrices `int8` leaves out in f16. */
export function matrixDtype(role: MatrixRole, dtype: WeightDtype, int8: Int8Choice): WeightDtype {
  if (dtype !== 'int8') return dtype;
  if ((role === 'embedding' || role === 'lm_head') && !int8.embedding) return 'f16';
  if (role === 'x_proj' && !int8.xProj) return 'f16';
  return 'int8';
}

/** How f16 weights are read: 'auto' natively where the device has shader-f16, 'native' or 'packed' by force. */
export type F16Kernels = 'auto' | 'native' | 'packed';

/**
 * Whether the kernels that read the big weight matrices take their native-f16 twins (`enable f16;`, weights
 * loaded as f16, sums in f32) instead of unpacking f16 pairs from u32 words. Only f16 weights, and only on a
 * device with `shader-f16`; the stored bytes are the same either way, so the packed path is the fallback.
 */
export function nativeF16(dtype: WeightDtype, hasShaderF16: boolean, asked: F16Kernels = 'auto'): boolean {
  if (asked !== 'auto' && asked !== 'native' && asked !== 'packed') {
    throw new RangeError(`f16 kernels must be auto, native or packed (got "${String(asked)}").`);
  }
  if (dtype !== 'f16' || asked === 'packed') return false;
  if (asked === 'native' && !hasShaderF16) {
    // The user's to fix (another adapter, the toggle, or another choice), so a GPU error the CLI prints as one line.
    throw new GpuUnavailableError(
      "Native f16 kernels need the adapter feature shader-f16, which this device lacks (in Node the Dawn toggle vulkan_enable_f16_on_nvidia gives it to NVIDIA GPUs; see the README's table of flags). Use 'auto' or 'packed'.",
    );
  }
  return hasShaderF16;
}

/** The kernels that read big weight matrices; each has a native-f16 twin `<kernel>_h` (#variant … HALF). */
export const HALF_KERNELS = [
  'embed',
  'gemv',
  'gemv_coop',
  'gemv_subgroup',
  'gemv_fused',
  'gemv_fused_sg',
  'gemm_tiled',
  'gemm_tiled_rs',
  'gemm_reg',
  'rmsnorm_rows',
] as const;
export type HalfKernel = (typeof HALF_KERNELS)[number];

/** `kernel` itself, or its native-f16 twin when `native`. */
export function halfTwin<K extends HalfKernel>(kernel: K, native: boolean): K | `${K}_h` {
  return native ? `${kernel}_h` : kernel;
}

/**
 * Split-K workgroups along z of gemm_sgmm.wgsl on BM x BN tiles (default: gemm_sgmat.wgsl's 128 x 128) for a
 * part of `rows` outputs and `k` inputs.
 */
export function sgmatSplit(
  t: number,
  rows: number,
  k: number,
  tuning: GemmTuning,
  bm = 128,
  bn = 128,
): number {
  return splitCount(t, rows, bm / 16, bn / 16, tuning.splitTarget, maxSplitFor(k));
}

/**
 * How the middle of a decode layer (x_proj, dt_proj, the scan step, the gate) runs on the fused plan:
 * 'fused': one shaders/ssm_decode.wgsl dispatch that recomputes x_proj in every workgroup (3 dispatches per
 * layer with norm+in_proj+conv before and out_proj+residual after); 'split': the x_proj GEMV, then ssm_decode
 * reading its output (4); 'scan': the x_proj GEMV, then the prefill scan kernel (4; the plan before
 * ssm_decode existed).
 */
export type DecodeMiddle = 'fused' | 'split' | 'scan';

/** Bounds of shaders/ssm_decode.wgsl's workgroup arrays: x_proj outputs, and (channel, state element) pairs. */
export const SSM_DECODE_MAX_ROWS = 256;
export const SSM_DECODE_MAX_PAIRS = 1024;

/**
 * Channels per workgroup of ssm_decode.wgsl (256 invocations). Recomputing x_proj: as many as its pair array
 * holds, since each workgroup re-reads x_proj; with x_proj precomputed: one (channel, state element) pair per
 * invocation, for more workgroups.
 */
export function ssmDecodeChannels(stateSize: number, recompute: boolean): number {
  const pairs = recompute ? SSM_DECODE_MAX_PAIRS : 256;
  return Math.max(1, Math.min(256, Math.floor(pairs / stateSize)));
}

/**
 * The decode middle (see DecodeMiddle) for the fused plan. ssm_decode needs x_proj's R + 2 * DS outputs to fit
 * SSM_DECODE_MAX_ROWS (else 'scan'); recomputing x_proj also needs f32 or f16 weights in one row part (else
 * 'split'). Unforced it is 'scan', the kernels before ssm_decode: on the H200 (2026-12-04,
 * bench/runs/2026-12-04-h200-session4) 'fused' made 130m f16 decode slower (807 against 1,296 tok/s: ssm_decode
 * took 29 µs a layer on 24 workgroups) and 'split' 2.8b (249 against 257), so ssm_decode is opt-in
 * (`decodeMiddle`, `soup bench --decode-middle`) until it is tuned.
 */
export function decodeMiddle(
  config: MambaConfig,
  dtype: string,
  xProjParts: number,
  forced?: DecodeMiddle,
): DecodeMiddle {
  const { stateSize: ds, timeStepRank: r } = config;
  const rows = r + 2 * ds;
  if (rows > SSM_DECODE_MAX_ROWS || forced === 'scan') return 'scan';
  const canFuse = (dtype === 'f32' || dtype === 'f16') && xProjParts === 1;
  if (!forced) return 'scan';
  return canFuse ? forced : 'split';
}

/** The most sequences continueMany runs in one pass (slot buffers are allocated for this many). */
export const MAX_BATCH = 64;
/**
 * The bytes the batch's state slots may take by default, all layers together: 256 MiB, allocated on the first
 * continueMany on top of the weights and activations (the memory estimate, src/model/memory.ts, leaves them
 * out). A page shares the GPU with everything else the browser draws, so the default stays small; a GPU
 * server can give more (EngineOptions.batchMemory, `soup study … --batch-memory MiB`). Mamba-2's states are
 * large (19 MB at 130m size, 172 MB at 2.7b in f32), so this budget, not MAX_BATCH, bounds its batches.
 */
export const BATCH_SLOT_BYTES = 256 * 2 ** 20;

/**
 * Sequences per batched pass (plan/batch.ts) for a model whose working state takes `layerBytes` per layer over
 * `layers` layers: at most MAX_BATCH and the chunk size (a decode step is one chunk of one token per
 * sequence); no more slots than fit `budget` (default BATCH_SLOT_BYTES), all layers together (Mamba-1 130m: 64 slots of 2.9 MB,
 * 2.8b: 10 of 26 MB; Mamba-2 130m: 13 of 19 MB); and no more than one layer's slot buffer, which the segmented
 * kernels bind whole, fits `maxBinding` (the device's maxStorageBufferBindingSize; 128 MiB by default). 0 where
 * the memory allows fewer than 2 (Mamba-2 2.7b at the default budget: one 172 MB state; 1 GiB holds 6): a batch
 * of one gains nothing over
 * generate(), whose prefill runs the chunked scan where the batch scans token by token, so continueMany then
 * runs its queries one by one.
 */
export function batchSlots(
  layerBytes: number,
  layers: number,
  chunkSize: number,
  maxBinding: number,
  budget = BATCH_SLOT_BYTES,
): number {
  const bytes = Math.max(1, layerBytes);
  const byMemory = Math.min(Math.floor(budget / (bytes * layers)), Math.floor(maxBinding / bytes));
  if (byMemory < 2) return 0;
  return Math.max(1, Math.min(MAX_BATCH, chunkSize, byMemory));
}
