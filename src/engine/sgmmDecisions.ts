/**
 * The prefill GEMM on subgroup matrices (chromium-experimental-subgroup-matrix; shaders/gemm_sgmm.wgsl, built by
 * plan/sgmatGemm.ts), as pure functions like decisions.ts: what the device offers, the gemm_sgmm variants and
 * the one the engine runs, what a variant's overrides add up to, whether it fits, and whether the engine takes
 * it at all (sgmatKernel). Its split-K count (sgmatSplit) and buffer (splitKFloats) stay with the other GEMMs'
 * in decisions.ts. tests/engine.decisions.test.ts checks them without a GPU.
 */
import type { KernelVariant } from './options.ts';

const ceil = (a: number, b: number) => Math.ceil(a / b);

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
  'gemm_sgmm_ds_db_x2',
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
 * The gemm_sgmm variant the engine runs where sgmatKernel allows subgroup matrices: the geometry of
 * bench/sgmat-sweep.ts's `CHOICE` on the H200 (least time over 2.8b's and 130m's in_proj and out_proj at 512
 * tokens, conversions included; bench/runs/2026-12-04-h200-session6): 64 x 128 tiles of 2 x 2 subgroups, each
 * 2 x 4 result matrices, X read straight from storage, W staged through double-buffered workgroup memory, BK 16;
 * in its _x2 form, which multiplies X as hi + lo f16 halves (to_f16_x2 first) to keep the f32 GEMM's accuracy.
 */
export const SGMM_CHOICE: SgmmChoice = { kernel: 'gemm_sgmm_ds_db_x2', SGM: 2, SGN: 2, TI: 2, TJ: 4, BK: 16 };

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
  /** _x2: X as two f16 halves (hi, lo; to_f16_x2 first), multiplied both: the f32 GEMM's accuracy. */
  splitX: boolean;
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
    splitX: tag.endsWith('_x2'),
    directX,
    directW,
    xItems: directX ? 0 : ceil((BM * c.BK) / xPerItem, invocations),
    wItems: directW ? 0 : ceil((BN * c.BK) / 8, invocations),
  };
}

/** Rows of the f16 copy of X: whole 256-row tiles, so straight loads of any BM <= 256 stay inside it. */
export const sgmmXRows = (chunkSize: number) => Math.ceil(chunkSize / 256) * 256;

/**
 * The pipeline overrides of variant `c` for chunks of up to `chunkSize` tokens: its tile shape, and for the
 * _x2 variants XROWS (where X's lo half starts; it has no default). The engine's plan and the device's compile
 * probe both take them from here, so the probe compiles the pipeline the engine would build.
 */
export function sgmmConstants(c: SgmmChoice, chunkSize: number): Record<string, number> {
  const { SGM, SGN, TI, TJ, BK } = c;
  return { SGM, SGN, TI, TJ, BK, ...(sgmmLayout(c).splitX ? { XROWS: sgmmXRows(chunkSize) } : {}) };
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
  if (variant !== 'hardware' || dtype !== 'f16') return undefined;
  if (!hasF16Matrices(sm, sgmmLayout(choice).SN) || !sgmmFits(choice, sm.maxWorkgroupStorage))
    return undefined;
  return choice;
}

/**
 * Whether `sm` offers what every kernel on subgroup matrices here assumes: shader-f16, f16 × f16 → f32
 * matrices of 16 × SN × 16, and subgroups of exactly 32 (their tiles are laid out by local_invocation_index / 32).
 */
export function hasF16Matrices(sm: SubgroupMatrixTraits | undefined, SN = 16): sm is SubgroupMatrixTraits {
  return (
    sm !== undefined &&
    sm.hasShaderF16 &&
    sm.subgroupMinSize === 32 &&
    sm.subgroupMaxSize === 32 &&
    sm.configs.some(
      (c) =>
        c.componentType === 'f16' &&
        c.resultComponentType === 'f32' &&
        c.M === 16 &&
        c.N === SN &&
        c.K === 16,
    )
  );
}
