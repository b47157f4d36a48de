/**
 * The engine's kernel decisions as pure functions of shapes and options: prefill GEMM tiles and split-K,
 * which GEMV kernel a variant uses, whether decode takes the fused path, rows per fused-GEMV workgroup,
 * reduction widths and scan grouping. Nothing here touches a GPU, so tests/engine.decisions.test.ts checks
 * them directly; the dispatch builders (src/engine/plan/) only apply them.
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
}

/** Whether a prefill GEMM part of `rows` outputs runs on 128 x 128 tiles at `t` tokens (else 64 x 64). */
export function useBigTiles(t: number, rows: number, tuning: GemmTuning): boolean {
  return ceil(t, 128) * ceil(rows, 128) >= tuning.bigMinTiles;
}

/** Split-K workgroups along z of the 64 x 64 prefill GEMM of a part of `rows` outputs and `k` inputs. */
export function midSplit(t: number, rows: number, k: number, tuning: GemmTuning): number {
  return splitCount(t, rows, 4, 4, tuning.splitTarget, maxSplitFor(k));
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

/**
 * Mamba-2's decode step on the fused plan (hardware variant): shaders/m2_scan_decode.wgsl, 64 invocations across
 * each state row (contiguous loads and stores), its row sums reduced with subgroupAdd where the device has
 * subgroups. The software variant keeps m2_scan_step (one invocation per row, no barriers), as its unfused plan
 * does.
 */
export function m2ScanDecodeKernel(useSubgroups: boolean): 'm2_scan_decode' | 'm2_scan_decode_sg' {
  return useSubgroups ? 'm2_scan_decode_sg' : 'm2_scan_decode';
}

/**
 * State rows per workgroup of m2_scan_decode: `forced` (EngineOptions.decodeRows) when given, else 1. One row
 * gives the most workgroups (1,536 at 130m, 5,120 at 2.7b) and the shortest chain of dependent loads per
 * invocation. Measured on the H200 (soup bench --decode-rows): 0.24 ms per token at 1 row against 0.31 at 4 on
 * mamba2-130m, 0.83 against 0.94 ms on mamba2-2.7b.
 */
export function m2ScanRows(forced?: number): number {
  return forced ?? 1;
}

/**
 * Tokens per chunk Q of Mamba-2's chunked SSD scan on SwiftShader (m2_ssd_chunk_state / m2_ssd_chunk_scan): at
 * most 32, since that workgroup holds the Q × Q intra-chunk matrix in workgroup memory.
 */
export const M2_SCAN_CHUNK = 32;

/**
 * Q of the tiled SSD kernels on GPUs (m2_ssd_chunk_state_tiled / m2_ssd_chunk_scan_tiled; 16, 32, 48 or 64).
 * Measured on the H200 (bench/m2-ssd-bench.ts, 512-token chunk, bench/runs/2026-12-04-h200-session6): the three
 * passes take 3.70 ms per chunk at Q 16 against 5.13 at Q 32 and 7.88 at Q 64 on the 130m shape, 37.9 against
 * 58.9 and 79.3 ms on the 2.7b shape. Smaller Q gives chunk_scan more workgroups (one per chunk and head) and
 * less C·Bᵀ and M·x work; the extra entering states (cs) cost less than that gains.
 */
export const M2_SCAN_CHUNK_GPU = 16;

/** The smallest Q any variant runs with: the entering-state buffer (cs) is sized for ceil(T / this) chunks. */
export const M2_SCAN_CHUNK_MIN = Math.min(M2_SCAN_CHUNK, M2_SCAN_CHUNK_GPU);

/** How Mamba-2's prefill runs its chunked SSD scan (src/engine/mamba2/ssd.ts builds the three dispatches). */
export interface M2SsdChoice {
  /** The tiled kernels (256 invocations, register blocks, operands staged in workgroup memory) or the simple ones. */
  tiled: boolean;
  /** Tokens per chunk Q. */
  q: number;
  /** Tiled chunk_scan: state entries per staged slice of N (8 or 16). */
  nk: number;
  /**
   * The fused pair (m2_ssd_cb → m2_ssd_fused: the state carried through the chunks in registers, Q 16,
   * N ≤ 128) instead of the three passes.
   */
  fused: boolean;
}

/**
 * N per staged slice of m2_ssd_chunk_scan_tiled: 16 halves its barriers against 8 and holds 12 more values in
 * registers per invocation (the next slice, loaded while this one is multiplied). On the H200 the two were
 * within 2 % of each other at Q 32 and 64 (bench/m2-ssd-bench.ts).
 */
export const M2_SCAN_SLICE_GPU = 16;

/**
 * The SSD kernels by variant: GPUs the tiled ones; SwiftShader the one-invocation-per-output kernels, which ran
 * faster there (barriers switch every invocation's fiber; see tests/kernels.mamba2.test.ts's header for the
 * timings). `q` and `nk` override Q and the N slice of the tiled kernels (the benchmark's sweep).
 */
export function m2SsdChoice(variant: KernelVariant, q?: number, nk?: number): M2SsdChoice {
  if (variant === 'software') {
    const Q = q ?? M2_SCAN_CHUNK;
    if (Q < 1 || Q > 32) throw new RangeError(`The simple SSD kernels take Q ≤ 32 (got ${Q}).`);
    return { tiled: false, q: Q, nk: 0, fused: false };
  }
  const Q = q ?? M2_SCAN_CHUNK_GPU;
  if (Q % 16 !== 0 || Q < 16 || Q > 64)
    throw new RangeError(`The tiled SSD kernels take Q = 16, 32, 48 or 64 (got ${Q}).`);
  const NK = nk ?? M2_SCAN_SLICE_GPU;
  if (NK !== 8 && NK !== 16)
    throw new RangeError(`The tiled SSD scan stages N in slices of 8 or 16 (got ${NK}).`);
  return { tiled: true, q: Q, nk: NK, fused: false };
}

/** The largest state_size the fused SSD kernel stages (two vec4s of state per invocation). */
export const M2_FUSED_MAX_N = 128;

/** The fused SSD pair (Q 16; N ≤ M2_FUSED_MAX_N). */
export const M2_SSD_FUSED: M2SsdChoice = { tiled: true, q: 16, nk: 0, fused: true };

/** Which SSD form prefill runs (EngineOptions.ssd): by the decisions below, or forced. */
export type SsdForm = 'auto' | 'fused' | 'passes';

/**
 * The SSD scan prefill runs: on GPUs the fused pair where N ≤ M2_FUSED_MAX_N and the device has subgroups (the
 * state stays in registers across the chunks instead of going through memory twice per chunk; its reduction
 * shuffles across subgroups), else the tiled passes; on SwiftShader the simple passes (its barriers are slow,
 * and the fused kernel has three per chunk). `form` forces one; the tests force 'fused' on SwiftShader (it has
 * subgroups of 4) to run it through the whole engine. Measured on the H200 (bench/m2-ssd-bench.ts, 512 tokens,
 * bench/runs/2026-12-04-h200-session7 run 3): 90.5 against 154.1 µs a layer at the 130m shape, 235.3 against
 * 453.6 at 2.7b; prefill 2048 with the engine 72,056 against 60,340 tok/s (mamba2-130m), 4,301 against 3,908
 * (mamba2-2.7b).
 */
export function m2SsdPlan(
  variant: KernelVariant,
  stateSize: number,
  hasSubgroups: boolean,
  form: SsdForm = 'auto',
): M2SsdChoice {
  if (form !== 'auto' && form !== 'fused' && form !== 'passes') {
    throw new RangeError(`ssd must be auto, fused or passes (got "${String(form)}").`);
  }
  const fits = stateSize <= M2_FUSED_MAX_N && hasSubgroups;
  if (form === 'fused' && !fits) {
    throw new RangeError(
      `The fused SSD kernel needs subgroups and state_size ≤ ${M2_FUSED_MAX_N} (this model has ${stateSize}${
        hasSubgroups ? '' : '; the device has no subgroups'
      }).`,
    );
  }
  const fused = form === 'fused' || (form === 'auto' && variant === 'hardware' && fits);
  return fused ? M2_SSD_FUSED : m2SsdChoice(variant);
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
  'gemm_reg',
] as const;
export type HalfKernel = (typeof HALF_KERNELS)[number];

/** `kernel` itself, or its native-f16 twin when `native`. */
export function halfTwin<K extends HalfKernel>(kernel: K, native: boolean): K | `${K}_h` {
  return native ? `${kernel}_h` : kernel;
}

/** One configuration of chromium-experimental-subgroup-matrix (GPUAdapterInfo.subgroupMatrixConfigs). */
export interface SubgroupMatrixConfig {
  componentType: string;
  resultComponentType: string;
  M: number;
  N: number;
  K: number;
}

/** What the device offers for subgroup-matrix GEMMs (DeviceTraits.subgroupMatrix). */
export interface SubgroupMatrixTraits {
  configs: readonly SubgroupMatrixConfig[];
  subgroupMinSize: number;
  subgroupMaxSize: number;
  hasShaderF16: boolean;
  maxWorkgroupStorage: number;
}

export type SgmatKernel = 'gemm_sgmat_f16' | SgmmKernel;

/** The variants of shaders/gemm_sgmm.wgsl: X f32 staged (f), f16 staged (h) or straight (d); W staged (s) or straight (d). */
export const SGMM_KERNELS = [
  'gemm_sgmm_fs',
  'gemm_sgmm_fs_db',
  'gemm_sgmm_fd',
  'gemm_sgmm_fd_db',
  'gemm_sgmm_hs',
  'gemm_sgmm_hs_db',
  'gemm_sgmm_hd',
  'gemm_sgmm_ds',
  'gemm_sgmm_ds_db',
  'gemm_sgmm_dd',
  'gemm_sgmm_fs_n8',
  'gemm_sgmm_dd_n8',
] as const;
export type SgmmKernel = (typeof SGMM_KERNELS)[number];

/** One gemm_sgmm variant with its overrides: SGM x SGN subgroups, TI x TJ result matrices each, BK k per step. */
export interface SgmmChoice {
  kernel: SgmmKernel;
  SGM: number;
  SGN: number;
  TI: number;
  TJ: number;
  BK: number;
}

/**
 * The gemm_sgmm variant the engine runs where sgmatKernel allows subgroup matrices: bench/sgmat-sweep.ts's
 * `CHOICE` on the H200 (least time over 2.8b's and 130m's in_proj and out_proj at 512 tokens, conversions
 * included; bench/runs/2026-12-04-h200-session6): 64 x 128 tiles of 2 x 2 subgroups, each 2 x 4 result
 * matrices, X (converted to f16 by to_f16 first) read straight from storage, W staged through double-buffered
 * workgroup memory, BK 16.
 */
export const SGMM_CHOICE: SgmmChoice = { kernel: 'gemm_sgmm_ds_db', SGM: 2, SGN: 2, TI: 2, TJ: 4, BK: 16 };

/** What a gemm_sgmm variant's overrides add up to (the shader's own formulas). */
export interface SgmmLayout {
  /** Tokens x outputs per workgroup, outputs per result matrix (16, or 8 for the 16 x 8 x 16 config). */
  BM: number;
  BN: number;
  SN: number;
  invocations: number;
  workgroupBytes: number;
  /** X is read as f16 (to_f16.wgsl first); X / W loaded straight from storage, not staged. */
  halfX: boolean;
  directX: boolean;
  directW: boolean;
  /** vec4 items of X and W each invocation stages per step (the shader holds at most 8 of each). */
  xItems: number;
  wItems: number;
}

export function sgmmLayout(c: SgmmChoice): SgmmLayout {
  const tag = c.kernel.replace('gemm_sgmm_', '');
  const SN = tag.endsWith('_n8') ? 8 : 16;
  const nbuf = tag.includes('_db') ? 2 : 1;
  const BM = 16 * c.SGM * c.TI;
  const BN = SN * c.SGN * c.TJ;
  const invocations = 32 * c.SGM * c.SGN;
  const directX = tag[0] === 'd';
  const directW = tag[1] === 'd';
  const lds = c.BK + 8;
  const xPerItem = tag[0] === 'f' ? 4 : 8;
  const workgroupBytes =
    (directX ? 0 : nbuf * BM * lds * 2) + (directW ? 0 : nbuf * BN * lds * 2) + c.SGM * c.SGN * 16 * SN * 4;
  return {
    BM,
    BN,
    SN,
    invocations,
    workgroupBytes,
    halfX: tag[0] !== 'f',
    directX,
    directW,
    xItems: directX ? 0 : ceil((BM * c.BK) / xPerItem, invocations),
    wItems: directW ? 0 : ceil((BN * c.BK) / 8, invocations),
  };
}

/**
 * Whether variant `c` can run at all on a device with `maxWorkgroupStorage` bytes: 1..4 result matrices each
 * way, BK a multiple of 16, at most 8 staged items per invocation, whole 16-row tiles for split-K's reduce,
 * at most 1024 invocations; and for one weight part of `rows` x `k` (when given): K % 16 == 0 where an
 * operand is loaded straight (k steps of 16 stop at K), rows % BN == 0 where W is (no rows past the part).
 */
export function sgmmFits(
  c: SgmmChoice,
  maxWorkgroupStorage: number,
  part?: { rows: number; k: number },
): boolean {
  const l = sgmmLayout(c);
  const ok =
    [c.TI, c.TJ].every((v) => Number.isInteger(v) && v >= 1 && v <= 4) &&
    c.SGM >= 1 &&
    c.SGN >= 1 &&
    c.BK >= 16 &&
    c.BK % 16 === 0 &&
    l.invocations <= 1024 &&
    l.xItems <= 8 &&
    l.wItems <= 8 &&
    l.BN % 16 === 0 &&
    l.workgroupBytes <= maxWorkgroupStorage;
  if (!ok || !part) return ok;
  if ((l.directX || l.directW || l.halfX) && part.k % 16 !== 0) return false;
  return !l.directW || part.rows % l.BN === 0;
}

/**
 * The prefill GEMM on subgroup matrices (shaders/gemm_sgmm.wgsl, variant and overrides `choice`), or undefined
 * for the current kernels: only for f16 weights on the hardware variant (an F32 checkpoint keeps exact f32
 * arithmetic), where the device has shader-f16, subgroups of exactly 32 (the kernel's subgroup layout), the
 * workgroup memory the choice declares (sgmmFits), and the f16 x f16 -> f32 config it multiplies with
 * (16 x 16 x 16, or 16 x 8 x 16 for the _n8 variants).
 */
export function sgmatKernel(
  variant: KernelVariant,
  dtype: string,
  sm: SubgroupMatrixTraits | undefined,
  choice: SgmmChoice = SGMM_CHOICE,
): SgmmChoice | undefined {
  if (variant !== 'hardware' || dtype !== 'f16' || !sm) return undefined;
  if (!sm.hasShaderF16 || sm.subgroupMinSize !== 32 || sm.subgroupMaxSize !== 32) return undefined;
  if (!sgmmFits(choice, sm.maxWorkgroupStorage)) return undefined;
  const SN = sgmmLayout(choice).SN;
  const has = sm.configs.some(
    (c) =>
      c.componentType === 'f16' && c.resultComponentType === 'f32' && c.M === 16 && c.N === SN && c.K === 16,
  );
  return has ? choice : undefined;
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
/** The bytes the batch's state slots may take, all layers together. */
export const BATCH_SLOT_BYTES = 256 * 2 ** 20;

/**
 * Sequences per batched pass (plan/batch.ts) for a model whose working state takes `stateBytes` (all
 * layers): at most MAX_BATCH and the chunk size (a decode step is one chunk of one token per sequence), and
 * no more slots than fit BATCH_SLOT_BYTES (130m: 64 slots of 2.9 MB; 2.8b: 10 of 26 MB).
 */
export function batchSlots(stateBytes: number, chunkSize: number): number {
  return Math.max(1, Math.min(MAX_BATCH, chunkSize, Math.floor(BATCH_SLOT_BYTES / Math.max(1, stateBytes))));
}
