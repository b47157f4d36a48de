/**
 * Mamba-2's kernel decisions as pure functions, like decisions.ts: the decode step's scan kernel and rows per
 * workgroup, the batched plan's segmented scan, the gated norm's kernel, prefill's chunked SSD scan (the chunk length Q, simple or tiled passes,
 * or the fused pair), and where prefill's in_proj GEMM is split into column blocks. mamba2/plan.ts and
 * mamba2/ssd.ts apply them; tests/engine.decisions.test.ts checks them without a GPU.
 */
import type { Mamba2Config } from '../../model/mamba2Config.ts';
import type { KernelVariant } from '../options.ts';
import { hasF16Matrices, type SubgroupMatrixTraits } from '../sgmmDecisions.ts';

/**
 * Rows of in_proj where prefill starts a new GEMM dispatch (decisions.ts prefillBlocks, which drops a split a
 * part's buffer cannot be bound at), where `split` (m2InProjSplitDefault unless forced) says so: at
 * m2InProjSplitRow, or at `at` (EngineOptions.m2InProjSplitAt, benchmarks). Decode keeps one GEMV per part: it is
 * bound by its dispatches.
 */
export function m2InProjSplits(
  c: Pick<Mamba2Config, 'intermediateSize' | 'inProjSize'>,
  split: boolean,
  at?: number,
): number[] {
  return split ? [at ?? m2InProjSplitRow(c)] : [];
}

/**
 * Where in_proj's split falls by default. Below d_inner 4,096 it falls after z and x, at 2·d_inner, so the bulk
 * [z | x] has the very shape of Mamba-1's in_proj and the thin rest [B | C | dt] (280 rows at mamba2-130m) takes
 * split-K like Mamba-1's x_proj. From 4,096 it falls at the last whole tile of 64 rows, where in_proj's rows leave
 * one partly filled, so the thin part is only the rows past it (dt's 16 of 10,576 at 2.7b). Measured on the H100
 * (bench/RESULTS.md, session 15; prefill 2048 f16, GPU ms per 512-token chunk, 2 rounds): mamba2-2.7b 98.46 at
 * 10,560 against 99.38 at 10,240 (in_proj and its reduce 51.01 against 51.81; 103.34 unsplit). At mamba2-130m,
 * where the split is off by default, the last whole tile (3,328) was slower than 3,072 (8.65 against 8.47). The
 * thin part's dispatches cost about as much whatever its rows, so fewer rows help only where the bulk keeps its
 * pace.
 */
export function m2InProjSplitRow(c: Pick<Mamba2Config, 'intermediateSize' | 'inProjSize'>): number {
  const whole = Math.floor(c.inProjSize / 64) * 64;
  const last = c.intermediateSize >= 4096 && whole > 2 * c.intermediateSize && whole < c.inProjSize;
  return last ? whole : 2 * c.intermediateSize;
}

/**
 * Whether prefill splits in_proj by default: from d_inner 4,096 (Mamba-2 1.3b and 2.7b). Measured on the H200
 * (bench/RESULTS.md, session 10; prefill 2048 f16, GPU ms per 512-token chunk, medians of 2): at 2.7b (d_inner
 * 5,120) the split saved 1.05 ms of in_proj's 62.9 (the rest's split-K GEMM and reduce, 4.7 ms, against 5.8 ms
 * that its 336 rows added to the whole GEMM); at 130m (1,536) it cost 0.37 ms of 2.81, the two extra dispatches
 * per layer costing more than the rows they took out. Sizes between the two were not measured.
 */
export function m2InProjSplitDefault(c: Pick<Mamba2Config, 'intermediateSize'>): boolean {
  return c.intermediateSize >= 4096;
}

/** The most rows past in_proj's split that rmsnorm_rows.wgsl takes (its workgroup arrays' sizes). */
export const NORM_ROWS_MAX = 32;
/** rmsnorm_rows.wgsl's invocations a token, as the plain norm's on GPUs (NORM_WG_GPU); hardware variant only. */
export const NORM_ROWS_WG = 256;

/**
 * Whether rmsnorm_rows.wgsl can make `rows` rows of a projection of `dm` inputs with `wg` invocations a token:
 * 8-channel groups, the normalised row in 1,024 vec4s of workgroup memory, at least one invocation a row.
 */
export function normRowsFit(dm: number, rows: number, wg: number): boolean {
  return dm % 8 === 0 && dm <= 4096 && rows >= 1 && rows <= NORM_ROWS_MAX && rows <= wg;
}

/**
 * Why the RMSNorm cannot make in_proj's rows past its split (EngineOptions.m2NormRows) for this plan, or
 * undefined where it can: the hardware variant, f32 or f16 weights, a split, at most NORM_ROWS_MAX rows past it
 * and a shape normRowsFit takes. (The plan also needs the split to fall on a bound block of one row part,
 * mamba2/plan.ts normRowsAt; it keeps the thin GEMM where it does not.)
 */
export function normRowsRefusal(
  c: Pick<Mamba2Config, 'hiddenSize' | 'intermediateSize' | 'inProjSize'>,
  variant: KernelVariant,
  dtype: string,
  splitAt: number | undefined,
  wg: number,
): string | undefined {
  if (variant !== 'hardware') return 'needs the hardware variant';
  if (dtype === 'int8') return 'needs f32 or f16 weights';
  if (splitAt === undefined) return 'needs in_proj split';
  const rows = c.inProjSize - splitAt;
  if (!normRowsFit(c.hiddenSize, rows, wg))
    return `takes at most ${NORM_ROWS_MAX} rows past the split (${rows} here) and d_model a multiple of 8 up to 4,096`;
  return undefined;
}

/**
 * Whether the RMSNorm makes in_proj's rows past the split by default: where the split falls at the last whole
 * tile (from d_inner 4,096, m2InProjSplitRow), so the rows are dt's few. On the H100 (bench/RESULTS.md, session
 * 16; prefill 2048 f16, GPU ms per 512-token chunk, medians of 3) mamba2-2.7b took 96.00 against 98.38 with the
 * thin GEMM (in_proj 48.00 against 50.99, the norm 1.78 against 1.17). At mamba2-130m, forced at 3,328 (24 rows),
 * 8.28 against 8.05: the GEMM kept its pace and the norm cost more.
 */
export function normRowsDefault(c: Pick<Mamba2Config, 'intermediateSize'>): boolean {
  return m2InProjSplitDefault(c);
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

/** The largest state_size m2_scan_seg_wg holds in registers (4 entries for each of its 64 invocations). */
export const M2_SCAN_SEG_WG_MAX_N = 256;

/**
 * The batched plan's segmented scan (mamba2/batch.ts): on the hardware variant shaders/m2_scan_seg_wg.wgsl, 64
 * invocations across each (state row, segment) with the row in registers and contiguous loads of B and C, its
 * row sums gathered with subgroupAdd where the device has subgroups (`useSubgroups`); m2_scan_seg (one invocation
 * per row and segment, the state in memory) on the software variant, where barriers are costly, and where
 * state_size passes M2_SCAN_SEG_WG_MAX_N. Why: m2_scan_seg's batched path ran slower than the queries one by one
 * on the H200 (bench/RESULTS.md, session 10). Untimed on a GPU so far: the new kernel waits for that measurement.
 */
export function m2ScanSegKernel(
  variant: KernelVariant,
  useSubgroups: boolean,
  stateSize: number,
): 'm2_scan_seg' | 'm2_scan_seg_wg' | 'm2_scan_seg_wg_sg' {
  if (variant !== 'hardware' || stateSize > M2_SCAN_SEG_WG_MAX_N) return 'm2_scan_seg';
  return useSubgroups ? 'm2_scan_seg_wg_sg' : 'm2_scan_seg_wg';
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

/** Mamba-2's prefill conv: one channel an invocation ('scalar', m2_conv) or four, in registers ('vec4'). */
export type M2ConvForm = 'scalar' | 'vec4';
/** Every M2ConvForm, for the engine's check and the command line's. */
export const M2_CONV_FORMS: readonly string[] = ['scalar', 'vec4'];

/**
 * The conv kernel over x, B and C for `form`: shaders/m2_conv4.wgsl (four channels and four tokens an
 * invocation, vec4 loads) where 'vec4' is asked and the filter is 4 wide (`dc`) and the channel count (`cd`),
 * in_proj's row stride (`ldp`) and xBC's first column (`xbcCol`) are multiples of 4; else m2_conv.
 */
export function m2ConvKernel(
  form: M2ConvForm,
  dc: number,
  cd: number,
  ldp: number,
  xbcCol: number,
): 'm2_conv' | 'm2_conv4' {
  return form === 'vec4' && dc === 4 && [cd, ldp, xbcCol].every((v) => v % 4 === 0) ? 'm2_conv4' : 'm2_conv';
}

/**
 * The conv form a variant takes unless forced: 'vec4' on GPUs. On the H100 (bench/RESULTS.md, session 14;
 * prefill 2048 f16, GPU ms per 512-token chunk, medians of 2) m2_conv4 took 1.38 ms where m2_conv took 2.00 at
 * mamba2-2.7b, 0.37 where 0.41 at mamba2-130m. SwiftShader keeps the measured scalar kernel.
 */
export function m2ConvDefault(variant: KernelVariant): M2ConvForm {
  return variant === 'hardware' ? 'vec4' : 'scalar';
}

/**
 * How prefill makes the gated RMSNorm: its own pass walking a row twice through memory ('loop') or once, kept in
 * registers ('keep'), or folded ('fold'): the fused SSD kernel gates and weights its outputs and leaves partial
 * sums of g² per token, and out_proj's GEMM (gemm_tiled_rs) scales each token's results by its rstd, so no pass
 * reads y and z again (continueMany's batched plan keeps the pass, as 'loop'). 'loop' is the default: on the H100
 * (bench/RESULTS.md, session 16; prefill 2048 f16, GPU ms per 512-token chunk) 'fold' saved the pass (1.20 ms at
 * mamba2-2.7b, 0.28 at 130m) but the SSD took 18.70 where 13.05 and out_proj 31.97 where 28.65 at 2.7b (2.69 and
 * 1.89 where 2.08 and 1.54 at 130m): 108.2 ms a chunk against 100.4.
 */
export type GatedNormForm = 'loop' | 'keep' | 'fold';
/** Every GatedNormForm, for the engine's check and the command line's. */
export const GATED_NORM_FORMS: readonly string[] = ['loop', 'keep', 'fold'];

/**
 * Why the gated norm cannot fold into the SSD and out_proj on this plan, or undefined where it can: it needs the
 * hardware variant, a fused SSD form and out_proj on gemm_tiled (not the subgroup-matrix GEMM).
 */
export function gatedNormFoldRefusal(
  variant: KernelVariant,
  ssd: M2SsdChoice,
  subgroupMatrixGemm: boolean,
): string | undefined {
  if (variant !== 'hardware') return 'needs the hardware variant';
  if (!ssd.fused) return 'needs a fused SSD form';
  if (subgroupMatrixGemm) return 'needs out_proj on gemm_tiled, not on subgroup matrices';
  return undefined;
}

/** Vec4 slots an invocation of m2_gated_norm_keep holds: its group is at most 4 · 8 · WG channels. */
export const GATED_NORM_KEEP_SLOTS = 8;

/**
 * The gated RMSNorm's kernel (shaders/m2_gated_norm.wgsl): the vec4 variant where the row of d_inner channels
 * (`di`), the normalised group (`gs`), in_proj's row stride (`ldp`) and z's first column (`zCol`) are all
 * multiples of 4, so every vec4 of y, z and out starts at a multiple of 4; else one channel at a time (tiny
 * fixture models with an odd number of heads have an odd in_proj row). With `form` 'keep' and a group that fits
 * GATED_NORM_KEEP_SLOTS vec4s for each of the `wg` invocations, the vec4 kernel that reads y and z once. 'loop'
 * stays the default: on the H100 (bench/RESULTS.md, session 14) 'keep' took 0.33 ms a 512-token chunk where
 * 'loop' took 0.28 at mamba2-130m, and 1.22 against 1.21 at mamba2-2.7b (the second read hits L2).
 */
export function gatedNormKernel(
  di: number,
  gs: number,
  ldp: number,
  zCol: number,
  form: GatedNormForm = 'loop',
  wg = 1,
): 'm2_gated_norm' | 'm2_gated_norm_v4' | 'm2_gated_norm_keep' {
  if (![di, gs, ldp, zCol].every((v) => v % 4 === 0)) return 'm2_gated_norm';
  return form === 'keep' && gs <= 4 * GATED_NORM_KEEP_SLOTS * wg ? 'm2_gated_norm_keep' : 'm2_gated_norm_v4';
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
  /** The fused kernel's state rows per workgroup: 16 (m2_ssd_fused, the default) or 8 (m2_ssd_fused8). */
  rows?: 8 | 16;
  /**
   * The fused kernel with four state rows an invocation (m2_ssd_fused4r, 128 invocations a workgroup of 16 rows)
   * instead of two; `sgs` is its butterfly's subgroup span (fused4rSpan).
   */
  rows4?: boolean;
  /** m2_ssd_fused4r's SGS: butterfly masks below it go through subgroup shuffles, the rest through memory. */
  sgs?: number;
  /**
   * false: the fused kernel loads each chunk's values at its start instead of during the chunk before
   * (m2_ssd_fused's PREFETCH), holding fewer registers through the chunk's products.
   */
  prefetch?: boolean;
  /**
   * The three passes with chunk_state and chunk_scan on subgroup matrices (m2_ssd_chunk_state_sgmm,
   * m2_ssd_chunk_scan_sgmm; f16 operands, f32 sums) and the tiled state pass between them.
   */
  sgmm?: boolean;
  /**
   * bench/m2-ssd-bench.ts --ablate only: the fused kernel's ABLATE bits (parts of each chunk's work left out, to
   * time what each costs; the results are then wrong). Never set by the engine.
   */
  ablate?: number;
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

/**
 * The fused pair with 8 state rows per workgroup of 128 invocations (m2_ssd_fused8): twice the workgroups of
 * the 16-row kernel. Not run by default: it waits for a measurement on the GPU machine (bench/session9_run1.sh
 * times both, with the workgroup-count probe that asks whether an SM holds one 16-row workgroup at a time).
 */
export const M2_SSD_FUSED8: M2SsdChoice = { ...M2_SSD_FUSED, rows: 8 };

/**
 * The fused pair (16 rows) without the prefetch of the next chunk's values: the staged values are not live
 * through the chunk's products, so an invocation needs fewer registers and an SM may hold more workgroups (at
 * 2.7b the fused kernel's time per layer fits one workgroup an SM; bench/RESULTS.md, session 7). Not run by
 * default: it waits for the GPU machine (bench/session13_run2.sh).
 */
export const M2_SSD_FUSED_NOPREFETCH: M2SsdChoice = { ...M2_SSD_FUSED, prefetch: false };

/**
 * Q of the SSD passes on subgroup matrices: 64, so each chunk's products are 64-deep (four 16-deep steps on
 * the tensor cores) and the entering states in memory are a quarter of Q 16's. Not run by default: it waits for
 * a measurement on the GPU machine against the fused pair (bench/m2-ssd-bench.ts --variants sgmm).
 */
export const M2_SSD_SGMM_Q = 64;

/** The passes on subgroup matrices at `q` tokens per chunk (16, 32, 48 or 64; default M2_SSD_SGMM_Q). */
export function m2SsdSgmm(q = M2_SSD_SGMM_Q): M2SsdChoice {
  if (q % 16 !== 0 || q < 16 || q > 64)
    throw new RangeError(`The SSD on subgroup matrices takes Q = 16, 32, 48 or 64 (got ${q}).`);
  return { tiled: true, q, nk: 0, fused: false, sgmm: true };
}

/**
 * Workgroup memory in bytes the larger of the two subgroup-matrix SSD kernels declares at `q`: its staged
 * operands (`operandBytes` each: 2 for f16; the tests' EMULATE builds hold f32, 4), 8 KB of f32 patches and
 * 512 bytes of Δ and cum (see the two kernels' headers).
 */
export function m2SsdSgmmStorage(q: number, operandBytes = 2): number {
  const state = 2 * q * 72;
  const scan = Math.max((2 * q + 64) * 40, q * (q + 8) + q * 72);
  return Math.max(state, scan) * operandBytes + 2048 * 4 + 512;
}

/**
 * Why the SSD on subgroup matrices cannot run here, or undefined when it can: it needs f16 weights (it rounds
 * the scan's operands to f16, which an f32 checkpoint's exact arithmetic must not), the f16 16 × 16 × 16
 * configuration with subgroups of exactly 32, and workgroup memory for Q.
 */
export function m2SsdSgmmRefusal(
  dtype: string,
  sm: SubgroupMatrixTraits | undefined,
  q: number,
): string | undefined {
  if (dtype !== 'f16')
    return `rounds its operands to f16, so it runs for f16 weights only (these are ${dtype})`;
  if (!hasF16Matrices(sm))
    return 'needs a device with f16 subgroup matrices (chromium-experimental-subgroup-matrix and shader-f16, 16 × 16 × 16, subgroups of 32)';
  const need = m2SsdSgmmStorage(q);
  if (need > sm.maxWorkgroupStorage)
    return `needs ${need} bytes of workgroup memory at Q ${q} (the device has ${sm.maxWorkgroupStorage})`;
  return undefined;
}

/**
 * The subgroup span m2_ssd_fused4r may shuffle across (its SGS): the device's smallest subgroup size, at most 32
 * (the butterfly's width), where that is a power of two; else 1, every round through workgroup memory. Subgroups
 * of at least that size made of consecutive invocations are what WebGPU's 1-D workgroups give on the GPUs
 * measured (NVIDIA's 32, SwiftShader's 4).
 */
export function fused4rSpan(subgroupMinSize: number | undefined): number {
  const m = subgroupMinSize ?? 0;
  return m >= 1 && (m & (m - 1)) === 0 ? Math.min(32, m) : 1;
}

/**
 * The fused pair with four state rows an invocation (m2_ssd_fused4r): a vec4 of C or B read from workgroup
 * memory feeds 16 multiply-adds instead of 8. The GPU plan's default where fused4rDefault says so.
 */
export function m2SsdFused4r(subgroupMinSize: number | undefined): M2SsdChoice {
  return { ...M2_SSD_FUSED, rows4: true, sgs: fused4rSpan(subgroupMinSize) };
}

/**
 * Whether the GPU plan takes m2_ssd_fused4r over m2_ssd_fused: from d_inner 4,096 where its butterfly shuffles
 * across all 32 invocations (subgroups of at least 32). Measured on the H100 (bench/RESULTS.md, session 15;
 * prefill 2048 f16, GPU ms per 512-token chunk, medians of 3): at mamba2-2.7b (d_inner 5,120, 320 workgroups) the
 * SSD took 14.27 ms where m2_ssd_fused took 15.49, the chunk 99.50 against 100.79; at mamba2-130m (1,536, 96
 * workgroups of 4 warps where m2_ssd_fused has 8, for 132 SMs) 2.59 against 2.33. Sizes between were not measured.
 */
export function fused4rDefault(dInner: number, subgroupMinSize: number | undefined): boolean {
  return dInner >= 4096 && fused4rSpan(subgroupMinSize) === 32;
}

/** Which SSD form prefill runs (EngineOptions.ssd): by the decisions below, or forced. */
export type SsdForm = 'auto' | 'fused' | 'fused8' | 'fused-noprefetch' | 'fused4r' | 'passes' | 'sgmm';
/** Every SsdForm, for the engine's check and the command line's. */
export const SSD_FORMS: readonly string[] = [
  'auto',
  'fused',
  'fused8',
  'fused-noprefetch',
  'fused4r',
  'passes',
  'sgmm',
];

/**
 * The SSD scan prefill runs: on GPUs the fused pair where N ≤ M2_FUSED_MAX_N and the device has subgroups (the
 * state stays in registers across the chunks instead of going through memory twice per chunk; its reduction
 * shuffles across subgroups), else the tiled passes; on SwiftShader the simple passes (its barriers are slow,
 * and the fused kernel has three per chunk). `form` forces one; the tests force 'fused' on SwiftShader (it has
 * subgroups of 4) to run it through the whole engine. Measured on the H200 (bench/m2-ssd-bench.ts, 512 tokens,
 * bench/runs/2026-12-04-h200-session7 run 3): 90.5 against 154.1 µs a layer at the 130m shape, 235.3 against
 * 453.6 at 2.7b; prefill 2048 with the engine 72,056 against 60,340 tok/s (mamba2-130m), 4,301 against 3,908
 * (mamba2-2.7b).
 * 'auto' takes 'fused4r' instead of 'fused' where fused4rDefault says so (`dInner`: heads × head_dim).
 * 'fused4r' the fused pair with four state rows an invocation, its butterfly's span from `subgroupMinSize`
 * (fused4rSpan).
 * 'sgmm' (forced only, hardware variant) takes the passes on subgroup matrices; options.ts checks the device
 * and the weights with m2SsdSgmmRefusal. `q` sets Q for 'passes' and 'sgmm' (and for 'auto' where it falls back
 * to the passes); the fused forms run Q 16 and refuse another.
 */
export function m2SsdPlan(
  variant: KernelVariant,
  stateSize: number,
  hasSubgroups: boolean,
  form: SsdForm = 'auto',
  q?: number,
  subgroupMinSize?: number,
  dInner = 0,
): M2SsdChoice {
  if (!SSD_FORMS.includes(form)) {
    throw new RangeError(
      `ssd must be auto, fused, fused8, fused-noprefetch, fused4r, passes or sgmm (got "${String(form)}").`,
    );
  }
  if (form === 'sgmm') {
    if (variant !== 'hardware')
      throw new RangeError('The SSD on subgroup matrices runs on the hardware variant only.');
    return m2SsdSgmm(q);
  }
  if (form === 'passes') return m2SsdChoice(variant, q);
  const fits = stateSize <= M2_FUSED_MAX_N && hasSubgroups;
  const fusedForm =
    form === 'fused' || form === 'fused8' || form === 'fused-noprefetch' || form === 'fused4r';
  if (fusedForm && !fits) {
    throw new RangeError(
      `The fused SSD kernel needs subgroups and state_size ≤ ${M2_FUSED_MAX_N} (this model has ${stateSize}${
        hasSubgroups ? '' : '; the device has no subgroups'
      }).`,
    );
  }
  if (fusedForm && q !== undefined && q !== M2_SSD_FUSED.q)
    throw new RangeError(`The fused SSD kernels run Q ${M2_SSD_FUSED.q} (got ${q}).`);
  if (form === 'fused8') return M2_SSD_FUSED8;
  if (form === 'fused4r') return m2SsdFused4r(subgroupMinSize);
  if (form === 'fused-noprefetch') return M2_SSD_FUSED_NOPREFETCH;
  const auto = form === 'auto' && variant === 'hardware' && fits;
  if (auto && fused4rDefault(dInner, subgroupMinSize)) return m2SsdFused4r(subgroupMinSize);
  const fused = form === 'fused' || auto;
  return fused ? M2_SSD_FUSED : m2SsdChoice(variant, q);
}
