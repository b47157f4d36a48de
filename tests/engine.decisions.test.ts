/**
 * The engine's kernel decisions (src/engine/decisions.ts, sgmmDecisions.ts, mamba2/decisions.ts, options.ts)
 * without a GPU: each expected value below is worked out by hand from the rules the shaders and
 * bench/RESULTS.md state, at the shapes of mamba-130m (d_model 768, d_inner 1536, dt_rank 48, d_state 16, so
 * x_proj has 80 outputs) and at edges.
 */
import { describe, expect, it } from 'vitest';
import {
  BATCH_SLOT_BYTES,
  batchSlots,
  decodeMiddle,
  decodeRowsFor,
  gemvSteps,
  defaultChunkSize,
  dtProjFirst,
  fusedDecode,
  fusedGemvKernel,
  gemmKernel,
  MAX_BATCH,
  maxSplitFor,
  MID_WIDE_K,
  midSplit,
  midTile,
  prefillBlocks,
  reductionWidth,
  scanChannelsPerGroup,
  scanKernel,
  sgmatSplit,
  splitCount,
  splitKFloats,
  ssmDecodeChannels,
  useBigTiles,
} from '../src/engine/decisions.ts';
import {
  M2_SCAN_CHUNK,
  M2_SCAN_CHUNK_GPU,
  M2_SCAN_SLICE_GPU,
  gatedNormKernel,
  M2_SSD_FUSED,
  gatedNormFoldRefusal,
  normRowsFit,
  NORM_ROWS_WG,
  M2_SSD_FUSED8,
  M2_SSD_FUSED_NOPREFETCH,
  M2_SSD_SGMM_Q,
  m2InProjSplitDefault,
  m2InProjSplits,
  m2InProjSplitRow,
  m2SsdSgmm,
  m2SsdSgmmRefusal,
  m2SsdSgmmStorage,
  m2SsdChoice,
  m2SsdPlan,
  m2ScanDecodeKernel,
  m2ScanRows,
  m2ScanSegKernel,
  M2_SCAN_SEG_WG_MAX_N,
  fused4rSpan,
} from '../src/engine/mamba2/decisions.ts';
import {
  SGMM_CHOICE,
  SGMM_KERNELS,
  sgmatKernel,
  sgmmConstants,
  sgmmFits,
  sgmmLayout,
  type SgmmChoice,
} from '../src/engine/sgmmDecisions.ts';
import { shaderSources } from '../src/engine/shaders.gen.ts';
import { assertSupported, resolveOptions } from '../src/engine/options.ts';
import { featuresToRequest } from '../src/engine/gpu/device.ts';
import { MAMBA_130M } from '../src/engine/bench.ts';
import { randomConfig, randomMamba2Config } from '../src/engine/randomWeights.ts';
import { ModelFormatError } from '../src/model/errors.ts';

// mamba-130m's shape, the input most decisions below are worked out for by hand.
const c130m = MAMBA_130M;

const defaults = { bigMinTiles: Infinity, splitTarget: 264 };
const MiB128 = 128 * 2 ** 20;
/** A GPU adapter's traits as resolveOptions reads them (hardware, subgroups, 128 MiB bindings). */
const gpu = { isSoftware: false, hasSubgroups: true, maxStorageBufferBindingSize: MiB128 };

describe('split-K', () => {
  it('maxSplitFor keeps at least 4 steps of 16 inputs per split and at most 16 splits', () => {
    expect(maxSplitFor(1536)).toBe(16); // 96 steps / 4 = 24, capped at 16
    expect(maxSplitFor(768)).toBe(12); // 48 steps / 4
    expect(maxSplitFor(256)).toBe(4); // 16 steps / 4
    expect(maxSplitFor(100)).toBe(1); // 7 steps: fewer than 8, no split
    expect(maxSplitFor(48)).toBe(1);
    expect(maxSplitFor(1)).toBe(1);
  });

  it('splitCount fills `target` workgroups from the 64 x 64 tiles, bounded by maxSplit', () => {
    // x_proj of 130m at 512 tokens: 8 x 2 = 16 tiles; 264 / 16 → 17, capped at 16.
    expect(splitCount(512, 80, 4, 4, 264, 16)).toBe(16);
    // out_proj (768 outputs, K 1536) at 512 tokens: 8 x 12 = 96 tiles → ⌈264 / 96⌉ = 3.
    expect(splitCount(512, 768, 4, 4, 264, 16)).toBe(3);
    // in_proj (3072 outputs) at 512 tokens: 8 x 48 = 384 tiles, already more than 264.
    expect(splitCount(512, 3072, 4, 4, 264, 16)).toBe(1);
    // No split allowed, whatever the tile count.
    expect(splitCount(1, 1, 4, 4, 264, 1)).toBe(1);
    expect(splitCount(1, 1, 4, 4, 264, 0)).toBe(1);
    // One token, one output: one tile, the full target but capped.
    expect(splitCount(1, 1, 4, 4, 264, 7)).toBe(7);
  });

  it('midSplit uses the mid tile, the tuning target and the K bound', () => {
    const t64 = { ...defaults, midTm: 4 as const, midTn: 4 as const };
    expect(midSplit(512, 768, 1536, t64)).toBe(3);
    expect(midSplit(512, 768, 1536, { ...t64, splitTarget: 1000 })).toBe(11); // ⌈1000 / 96⌉
    expect(midSplit(64, 80, 100, defaults)).toBe(1); // K of 100 allows no split
    // 64 x 128 tiles: 8 x 6 = 48 tiles at 512 tokens → ⌈264 / 48⌉ = 6; 128 x 64: 4 x 12 → ⌈264 / 48⌉ = 6.
    expect(midSplit(512, 768, 1536, { ...defaults, midTn: 8 })).toBe(6);
    expect(midSplit(512, 768, 1536, { ...defaults, midTm: 8 })).toBe(6);
    expect(midSplit(448, 768, 1536, { ...defaults, midTm: 8 })).toBe(6); // 4 x 12 tiles still
  });

  it('midTile takes 128 x 64 tiles from 1,536 inputs, 64 x 64 below, unless a tile is forced', () => {
    expect(MID_WIDE_K).toBe(1536);
    expect(midTile(defaults, 768)).toEqual({ tm: 4, tn: 4 }); // 130m's in_proj
    expect(midTile(defaults, 1535)).toEqual({ tm: 4, tn: 4 });
    expect(midTile(defaults, 1536)).toEqual({ tm: 8, tn: 4 }); // 130m's out_proj
    expect(midTile(defaults, 5120)).toEqual({ tm: 8, tn: 4 }); // 2.8b's out_proj
    expect(midTile({ ...defaults, midTm: 4, midTn: 4 }, 5120)).toEqual({ tm: 4, tn: 4 });
    expect(midTile({ ...defaults, midTn: 8 }, 768)).toEqual({ tm: 4, tn: 8 });
    // The split follows the tile: 130m's out_proj (768 outputs) at 512 tokens has 4 x 12 = 48 tiles of
    // 128 x 64 → ⌈264 / 48⌉ = 6, against 3 on 64 x 64 tiles; and splitKFloats sizes for it.
    expect(midSplit(512, 768, 1536, { ...defaults, midTm: 4, midTn: 4 })).toBe(3);
    expect(splitKFloats([{ rows: 768, cols: 1536 }], 512, defaults)).toBe(6 * 512 * 768);
  });

  it('splitKFloats is the largest split × tokens × rows over every chunk length', () => {
    // One part of 80 rows and K 1536, chunks up to 64: always 2 tiles → 132, capped at 16; largest at t = 64.
    expect(splitKFloats([{ rows: 80, cols: 1536 }], 64, defaults)).toBe(16 * 64 * 80);
    // A part that never splits leaves the 4-float floor.
    expect(splitKFloats([{ rows: 4096, cols: 32 }], 64, defaults)).toBe(4);
    // With 128 x 128 tiles always on, no 64 x 64 GEMM runs, so nothing splits.
    expect(splitKFloats([{ rows: 80, cols: 1536 }], 64, { ...defaults, bigMinTiles: 0 })).toBe(4);
  });

  it('128 x 128 tiles only where they give bigMinTiles workgroups (never by default)', () => {
    expect(useBigTiles(512, 50280, defaults)).toBe(false);
    expect(useBigTiles(256, 256, { ...defaults, bigMinTiles: 4 })).toBe(true); // 2 x 2
    expect(useBigTiles(256, 255, { ...defaults, bigMinTiles: 5 })).toBe(false);
  });
});

describe('prefill column blocks (Mamba-2 in_proj as [z | x] and [B | C | dt])', () => {
  const m2small = randomMamba2Config('mamba2-130m'); // d_model 768, d_inner 1,536, in_proj 3,352 rows
  const m2big = randomMamba2Config('mamba2-2.7b'); // d_model 2,560, d_inner 5,120, in_proj 10,576 rows

  it('a forced split row turns the split on and must fall inside in_proj', () => {
    const r = resolveOptions({ dtype: 'f16', m2InProjSplitAt: 10368 }, gpu, m2big);
    expect([r.m2InProjSplit, r.m2InProjSplitAt]).toEqual([true, 10368]);
    expect(resolveOptions({ dtype: 'f16', m2InProjSplitAt: 10575 }, gpu, m2big).m2InProjSplitAt).toBe(10575);
    for (const at of [0, 10576, 1.5])
      expect(() => resolveOptions({ dtype: 'f16', m2InProjSplitAt: at }, gpu, m2big), String(at)).toThrow(
        /m2InProjSplitAt must be a row of in_proj from 1 to 10575/,
      );
  });

  it('in_proj splits by default from d_inner 4,096: after z and x below it, at the last whole 64-row tile from it', () => {
    expect(m2InProjSplits(m2small, true)).toEqual([3072]);
    // 10,576 rows: 165 whole tiles (10,560), the thin part dt's 16 rows (session 15's H100 run).
    expect(m2InProjSplits(m2big, true)).toEqual([10560]);
    expect(m2InProjSplits(m2big, true, 10240)).toEqual([10240]);
    expect(m2InProjSplits(m2big, false)).toEqual([]);
    // mamba2-1.3b's 8,512 rows are whole tiles: the split stays after z and x.
    expect(m2InProjSplitRow({ intermediateSize: 4096, inProjSize: 8512 })).toBe(8192);
    expect(m2InProjSplitDefault(m2small)).toBe(false); // d_inner 1,536: the split cost 0.37 ms a chunk
    expect(m2InProjSplitDefault(m2big)).toBe(true); // 5,120: it saved 1.05 ms
    expect(m2InProjSplitDefault({ intermediateSize: 4096 })).toBe(true);
    expect(m2InProjSplitDefault({ intermediateSize: 3072 })).toBe(false);
    expect(m2small.inProjSize - 3072).toBe(280); // 2·G·N + H = 256 + 24
    expect(m2big.inProjSize - 10240).toBe(336); // 256 + 80
  });

  it("mamba2-130m: the bulk gets Mamba-1 130m's 8 x 48 tiles at 512 tokens, the thin rest split-K", () => {
    const blocks = prefillBlocks({ row0: 0, rows: 3352 }, 768, 'f16', [3072], 256);
    expect(blocks).toEqual([
      { row0: 0, rows: 3072, byteOffset: 0, byteSize: 3072 * 768 * 2 },
      { row0: 3072, rows: 280, byteOffset: 3072 * 768 * 2 },
    ]);
    // 424 tiles of 64 x 64 whole (past 3 · 132); 384 for the bulk, 8 x 5 = 40 for the rest, split 7 ways.
    expect(8 * Math.ceil(3352 / 64)).toBe(424);
    expect(8 * Math.ceil(blocks[0]!.rows / 64)).toBe(384);
    expect(midSplit(512, blocks[1]!.rows, 768, defaults)).toBe(7); // ⌈264 / 40⌉, under maxSplitFor(768) = 12
    expect(midSplit(512, blocks[0]!.rows, 768, defaults)).toBe(1);
  });

  it('mamba2-2.7b in f32: 10,240 and 336 rows, the offset in 4-byte weights', () => {
    expect(prefillBlocks({ row0: 0, rows: 10576 }, 2560, 'f32', [10240], 256)).toEqual([
      { row0: 0, rows: 10240, byteOffset: 0, byteSize: 10240 * 2560 * 4 },
      { row0: 10240, rows: 336, byteOffset: 10240 * 2560 * 4 },
    ]);
  });

  it('no split, or none inside the part: the part whole, bound from its start', () => {
    const whole = [{ row0: 62, rows: 31, byteOffset: 0 }];
    expect(prefillBlocks({ row0: 62, rows: 31 }, 32, 'f16', [], 256)).toEqual(whole);
    // Before, after, and at either edge of the part: nothing to split.
    expect(prefillBlocks({ row0: 62, rows: 31 }, 32, 'f16', [10, 62, 93, 200], 256)).toEqual(whole);
  });

  it('a split inside a later row part starts at its offset in that part', () => {
    // m2-tiny-b (d_model 32, in_proj 156 rows) in f16 with 2,048-byte bindings: parts of 31 rows; the split
    // at 2·d_inner = 128 falls 4 rows into the part from row 124, 4 · 32 · 2 = 256 bytes in.
    expect(prefillBlocks({ row0: 124, rows: 31 }, 32, 'f16', [128], 256)).toEqual([
      { row0: 124, rows: 4, byteOffset: 0, byteSize: 256 },
      { row0: 128, rows: 27, byteOffset: 256 },
    ]);
  });

  it('drops a split the buffer cannot be bound at: off the alignment, mid-word in f16, or in int8', () => {
    // 10 rows of 36 f32 weights: 1,440 bytes, not a multiple of 256 (it is of 32).
    expect(prefillBlocks({ row0: 0, rows: 80 }, 36, 'f32', [10], 256)).toHaveLength(1);
    expect(prefillBlocks({ row0: 0, rows: 80 }, 36, 'f32', [10], 32)).toHaveLength(2);
    // f16 packs two weights per u32 from the part's start: 3 rows of 5 end mid-word (an alignment of 2, which
    // no device has, shows that rule by itself).
    expect(prefillBlocks({ row0: 0, rows: 8 }, 5, 'f16', [3], 2)).toHaveLength(1);
    expect(prefillBlocks({ row0: 0, rows: 8 }, 5, 'f16', [2], 2)).toHaveLength(2);
    // int8 parts keep their scales after all the values, so a block of one is no int8 matrix.
    expect(prefillBlocks({ row0: 0, rows: 3352 }, 768, 'int8', [3072], 256)).toEqual([
      { row0: 0, rows: 3352, byteOffset: 0 },
    ]);
  });

  it('several splits in any order, repeated, one of them dropped: blocks between those kept', () => {
    // 64 f32 weights a row: every row starts on a 256-byte boundary; 8 rows of 12 is 384 bytes, which is not.
    expect(prefillBlocks({ row0: 0, rows: 100 }, 64, 'f32', [50, 20, 50], 256)).toEqual([
      { row0: 0, rows: 20, byteOffset: 0, byteSize: 20 * 256 },
      { row0: 20, rows: 30, byteOffset: 20 * 256, byteSize: 30 * 256 },
      { row0: 50, rows: 50, byteOffset: 50 * 256 },
    ]);
    expect(prefillBlocks({ row0: 0, rows: 100 }, 12, 'f32', [8, 64], 256)).toEqual([
      { row0: 0, rows: 64, byteOffset: 0, byteSize: 64 * 48 },
      { row0: 64, rows: 36, byteOffset: 64 * 48 },
    ]);
  });
});

describe('kernel choice by adapter kind', () => {
  it('matrix products: tiles on GPUs, register loops and 4-row GEMVs on SwiftShader', () => {
    expect(gemmKernel('gemm', 'hardware', true)).toBe('gemm_tiled');
    expect(gemmKernel('gemm', 'hardware', false)).toBe('gemm_tiled');
    expect(gemmKernel('gemm', 'software', false)).toBe('gemm_reg');
    expect(gemmKernel('gemv', 'software', false)).toBe('gemv');
    expect(gemmKernel('gemv', 'hardware', false)).toBe('gemv_coop');
    expect(gemmKernel('gemv', 'hardware', true)).toBe('gemv_subgroup');
    expect(fusedGemvKernel(true)).toBe('gemv_fused_sg');
    expect(fusedGemvKernel(false)).toBe('gemv_fused');
    // Mamba-2's token step on the fused plan: subgroupAdd where there are subgroups; one row per workgroup
    // unless EngineOptions.decodeRows forces it.
    expect(m2ScanDecodeKernel(true)).toBe('m2_scan_decode_sg');
    expect(m2ScanDecodeKernel(false)).toBe('m2_scan_decode');
    expect(m2ScanRows()).toBe(1);
    expect(m2ScanRows(3)).toBe(3);
    // The batched plan's segmented scan: a workgroup per state row on GPUs (subgroupAdd where there are
    // subgroups), up to the 256 state entries its 64 invocations hold; one invocation per row on SwiftShader.
    expect(m2ScanSegKernel('hardware', true, 128)).toBe('m2_scan_seg_wg_sg');
    expect(m2ScanSegKernel('hardware', false, 128)).toBe('m2_scan_seg_wg');
    expect(m2ScanSegKernel('hardware', true, M2_SCAN_SEG_WG_MAX_N)).toBe('m2_scan_seg_wg_sg');
    expect(M2_SCAN_SEG_WG_MAX_N).toBe(256);
    expect(m2ScanSegKernel('hardware', true, M2_SCAN_SEG_WG_MAX_N + 1)).toBe('m2_scan_seg');
    expect(m2ScanSegKernel('hardware', false, 257)).toBe('m2_scan_seg');
    expect(m2ScanSegKernel('software', false, 16)).toBe('m2_scan_seg');
    expect(m2ScanSegKernel('software', true, 16)).toBe('m2_scan_seg');
  });

  it("Mamba-2's chunked SSD: tiled kernels on GPUs, the simple ones (Q ≤ 32) on SwiftShader", () => {
    expect(m2SsdChoice('software')).toEqual({ tiled: false, q: M2_SCAN_CHUNK, nk: 0, fused: false });
    expect(m2SsdChoice('hardware')).toEqual({
      tiled: true,
      q: M2_SCAN_CHUNK_GPU,
      nk: M2_SCAN_SLICE_GPU,
      fused: false,
    });
    expect(m2SsdChoice('hardware', 64, 8)).toEqual({ tiled: true, q: 64, nk: 8, fused: false });
    expect(M2_SCAN_CHUNK).toBeLessThanOrEqual(32);
    expect(() => m2SsdChoice('hardware', 40)).toThrow(/16, 32, 48 or 64/);
    expect(() => m2SsdChoice('hardware', 128)).toThrow(/16, 32, 48 or 64/);
    expect(() => m2SsdChoice('hardware', 32, 12)).toThrow(/8 or 16/);
  });

  it("Mamba-2's SSD plan: the fused pair on GPUs with subgroups and N ≤ 128, else the passes; forcing is checked", () => {
    expect(m2SsdPlan('hardware', 128, true)).toEqual(M2_SSD_FUSED);
    expect(m2SsdPlan('hardware', 256, true)).toEqual(m2SsdChoice('hardware'));
    expect(m2SsdPlan('hardware', 128, false)).toEqual(m2SsdChoice('hardware'));
    expect(m2SsdPlan('software', 64, true)).toEqual(m2SsdChoice('software'));
    expect(m2SsdPlan('software', 64, true, 'fused')).toEqual(M2_SSD_FUSED);
    expect(m2SsdPlan('hardware', 128, true, 'passes')).toEqual(m2SsdChoice('hardware'));
    expect(m2SsdPlan('hardware', 128, true, 'fused8')).toEqual(M2_SSD_FUSED8);
    expect(m2SsdPlan('hardware', 128, true, 'fused-noprefetch')).toEqual(M2_SSD_FUSED_NOPREFETCH);
    expect(M2_SSD_FUSED_NOPREFETCH.prefetch).toBe(false);
    expect(() => m2SsdPlan('hardware', 256, true, 'fused-noprefetch')).toThrow(/state_size ≤ 128/);
    expect(M2_SSD_FUSED8.rows).toBe(8);
    expect(m2SsdPlan('hardware', 128, true, 'fused4r', undefined, 32)).toEqual({
      ...M2_SSD_FUSED,
      rows4: true,
      sgs: 32,
    });
    expect(m2SsdPlan('hardware', 128, true, 'fused4r', undefined, 4).sgs).toBe(4);
    // The butterfly's span: the smallest subgroup size up to its 32 lanes, where a power of two; else memory.
    expect([32, 64, 4, 16, 12, 0, undefined].map(fused4rSpan)).toEqual([32, 32, 4, 16, 1, 1, 1]);
    // 'auto' takes it from d_inner 4,096 where the butterfly is all shuffles (session 15's H100 run).
    const fused4r32 = { ...M2_SSD_FUSED, rows4: true, sgs: 32 };
    expect(m2SsdPlan('hardware', 128, true, 'auto', undefined, 32, 5120)).toEqual(fused4r32);
    expect(m2SsdPlan('hardware', 128, true, 'auto', undefined, 32, 4096)).toEqual(fused4r32);
    expect(m2SsdPlan('hardware', 128, true, 'auto', undefined, 32, 1536)).toEqual(M2_SSD_FUSED);
    expect(m2SsdPlan('hardware', 128, true, 'auto', undefined, 16, 5120)).toEqual(M2_SSD_FUSED);
    expect(m2SsdPlan('hardware', 128, true, 'fused', undefined, 32, 5120)).toEqual(M2_SSD_FUSED);
    expect(m2SsdPlan('software', 128, true, 'auto', undefined, 32, 5120).fused).toBe(false);
    expect(() => m2SsdPlan('hardware', 256, true, 'fused4r')).toThrow(/state_size ≤ 128/);
    expect(() => m2SsdPlan('hardware', 128, false, 'fused8')).toThrow(/no subgroups/);
    expect(() => m2SsdPlan('hardware', 256, true, 'fused')).toThrow(
      /state_size ≤ 128 \(this model has 256\)/,
    );
    expect(() => m2SsdPlan('hardware', 128, false, 'fused')).toThrow(/no subgroups/);
    expect(() => m2SsdPlan('hardware', 128, true, 'fast' as never)).toThrow(
      /auto, fused, fused8, fused-noprefetch, fused4r, passes or sgmm/,
    );
    // Q for the passes (forced, or where 'auto' falls back to them); the fused forms keep 16.
    expect(m2SsdPlan('hardware', 128, true, 'passes', 64)).toEqual(m2SsdChoice('hardware', 64));
    expect(m2SsdPlan('hardware', 256, true, 'auto', 32)).toEqual(m2SsdChoice('hardware', 32));
    expect(() => m2SsdPlan('hardware', 128, true, 'fused', 32)).toThrow(/run Q 16/);
  });

  it("Mamba-2's SSD on subgroup matrices: forced only, on the hardware variant, f16 weights and a device that has them", () => {
    expect(m2SsdPlan('hardware', 128, true, 'sgmm')).toEqual({
      tiled: true,
      q: M2_SSD_SGMM_Q,
      nk: 0,
      fused: false,
      sgmm: true,
    });
    expect(m2SsdPlan('hardware', 256, false, 'sgmm', 32)).toEqual(m2SsdSgmm(32));
    expect(() => m2SsdPlan('software', 128, true, 'sgmm')).toThrow(/hardware variant only/);
    expect(() => m2SsdSgmm(40)).toThrow(/16, 32, 48 or 64/);
    // Staged operands (the larger kernel's), 8 KB of patches, 512 bytes of Δ and cum: 27,136 bytes at Q 64.
    expect(m2SsdSgmmStorage(64)).toBe(2 * 64 * 72 * 2 + 8192 + 512);
    expect(m2SsdSgmmStorage(32, 4)).toBe((2 * 32 + 64) * 40 * 4 + 8192 + 512);
    const f16 = (N: number) => ({ componentType: 'f16', resultComponentType: 'f32', M: 16, N, K: 16 });
    const sm = {
      configs: [f16(16)],
      subgroupMinSize: 32,
      subgroupMaxSize: 32,
      hasShaderF16: true,
      maxWorkgroupStorage: 32768,
    };
    expect(m2SsdSgmmRefusal('f16', sm, 64)).toBeUndefined();
    expect(m2SsdSgmmRefusal('f32', sm, 64)).toMatch(/f16 weights only \(these are f32\)/);
    expect(m2SsdSgmmRefusal('f16', undefined, 64)).toMatch(/needs a device with f16 subgroup matrices/);
    expect(m2SsdSgmmRefusal('f16', { ...sm, configs: [f16(8)] }, 64)).toMatch(/16 × 16 × 16/);
    expect(m2SsdSgmmRefusal('f16', { ...sm, subgroupMinSize: 16 }, 64)).toMatch(/subgroups of 32/);
    expect(m2SsdSgmmRefusal('f16', { ...sm, maxWorkgroupStorage: 16384 }, 64)).toMatch(
      /27136 bytes of workgroup memory at Q 64 \(the device has 16384\)/,
    );
  });

  it("Mamba-2's gated norm reads vec4s only where every row, group and z column starts at a multiple of 4", () => {
    // mamba2-130m: d_inner 1,536, in_proj rows of 3,352.
    expect(gatedNormKernel(1536, 1536, 3352, 0)).toBe('m2_gated_norm_v4');
    // An odd number of heads makes an odd in_proj row (tiny fixture models).
    expect(gatedNormKernel(32, 32, 119, 0)).toBe('m2_gated_norm');
    expect(gatedNormKernel(32, 32, 120, 2)).toBe('m2_gated_norm');
    expect(gatedNormKernel(32, 6, 120, 0)).toBe('m2_gated_norm');
  });

  it('fused decode on GPUs only, and only where d_model and d_inner are multiples of 8', () => {
    expect(fusedDecode(c130m, 'hardware')).toBe(true);
    expect(fusedDecode(c130m, 'software')).toBe(false);
    expect(fusedDecode({ ...c130m, hiddenSize: 36, intermediateSize: 72 }, 'hardware')).toBe(false);
    expect(fusedDecode({ ...c130m, intermediateSize: 1540 }, 'hardware')).toBe(false);
  });

  it('decode middle: the earlier kernels unless forced (fused was slower on the H200); forced within what the kernels take', () => {
    // x_proj is (R + 2 DS) x DI: 130m 80 x 1536, 2.8b 192 x 5120.
    for (const c of [c130m, randomConfig('790m'), randomConfig('2.8b')]) {
      for (const dtype of ['f32', 'f16', 'int8']) expect(decodeMiddle(c, dtype, 1)).toBe('scan');
    }
    // Forced, within what the kernels take.
    expect(decodeMiddle(randomConfig('2.8b'), 'f16', 1, 'fused')).toBe('fused');
    expect(decodeMiddle(c130m, 'f16', 1, 'split')).toBe('split');
    expect(decodeMiddle(c130m, 'f16', 1, 'scan')).toBe('scan');
    // x_proj in two row parts, or weights in another format: it cannot be recomputed in the kernel.
    expect(decodeMiddle(c130m, 'f16', 2, 'fused')).toBe('split');
    expect(decodeMiddle(c130m, 'int8', 1, 'fused')).toBe('split');
    // 192 + 2 x 32 = 256 outputs fit ssm_decode's array; 257 do not.
    expect(decodeMiddle({ ...c130m, timeStepRank: 192, stateSize: 32 }, 'f16', 1, 'fused')).toBe('fused');
    expect(decodeMiddle({ ...c130m, timeStepRank: 193, stateSize: 32 }, 'f16', 1, 'fused')).toBe('scan');
  });

  it('ssm_decode channels per workgroup: 1,024 pairs when recomputing x_proj, else 256', () => {
    expect(ssmDecodeChannels(16, true)).toBe(64);
    expect(ssmDecodeChannels(16, false)).toBe(16);
    expect(ssmDecodeChannels(5, true)).toBe(204);
    expect(ssmDecodeChannels(5, false)).toBe(51);
    expect(ssmDecodeChannels(64, false)).toBe(4);
    expect(ssmDecodeChannels(1, true)).toBe(256); // at most one channel per invocation
  });

  it('rows per fused-GEMV workgroup: 4 from 4,096 rows unless forced', () => {
    expect(decodeRowsFor(4096)).toBe(4);
    expect(decodeRowsFor(50280)).toBe(4);
    expect(decodeRowsFor(4095)).toBe(1);
    expect(decodeRowsFor(80)).toBe(1);
    expect(decodeRowsFor(80, 3)).toBe(3);
    expect(decodeRowsFor(8192, 2)).toBe(2);
    // A NORM prologue over 4,096 or more inputs: 4 rows, so fewer workgroups repeat the RMS (2.7b's out_proj).
    expect(decodeRowsFor(2560, undefined, 5120)).toBe(4);
    expect(decodeRowsFor(768, undefined, 1536)).toBe(1);
    expect(decodeRowsFor(2560, 2, 5120)).toBe(2);
  });

  it('fused-GEMV steps loaded together: 1 unless forced to 4, and nothing else accepted', () => {
    expect(gemvSteps()).toBe(1);
    expect(gemvSteps(4)).toBe(4);
    expect(resolveOptions({ dtype: 'f16' }, gpu, c130m).decodeSteps).toBe(1);
    expect(resolveOptions({ dtype: 'f16', decodeSteps: 4 }, gpu, c130m).decodeSteps).toBe(4);
    expect(() => resolveOptions({ dtype: 'f16', decodeSteps: 2 as 4 }, gpu, c130m)).toThrow(
      /decodeSteps must be 1 or 4, got 2/,
    );
  });

  it("Mamba-2's gated norm and conv: walked twice unless asked, folded only where the SSD is fused, the conv on vec4s on GPUs, nothing else accepted", () => {
    const m2 = randomMamba2Config('mamba2-2.7b');
    expect(resolveOptions({ dtype: 'f16' }, gpu, m2).gatedNorm).toBe('loop');
    expect(resolveOptions({ dtype: 'f16', gatedNorm: 'fold' }, gpu, m2).gatedNorm).toBe('fold');
    expect(resolveOptions({ dtype: 'f16', ssd: 'passes' }, gpu, m2).gatedNorm).toBe('loop');
    expect(resolveOptions({ dtype: 'f16', variant: 'software' }, gpu, m2).gatedNorm).toBe('loop');
    expect(resolveOptions({ dtype: 'f16', gatedNorm: 'keep' }, gpu, m2).gatedNorm).toBe('keep');
    expect(resolveOptions({ dtype: 'f16', gatedNorm: 'loop' }, gpu, m2).gatedNorm).toBe('loop');
    expect(() => resolveOptions({ dtype: 'f16', ssd: 'passes', gatedNorm: 'fold' }, gpu, m2)).toThrow(
      /folded into the SSD and out_proj needs a fused SSD form/,
    );
    expect(() => resolveOptions({ dtype: 'f16', gatedNorm: 'once' as never }, gpu, m2)).toThrow(
      /gatedNorm must be 'loop', 'keep' or 'fold', got once/,
    );
    expect(gatedNormFoldRefusal('hardware', M2_SSD_FUSED, true)).toMatch(/not on subgroup matrices/);
    expect(gatedNormFoldRefusal('hardware', M2_SSD_FUSED, false)).toBeUndefined();
    expect(resolveOptions({ dtype: 'f16' }, gpu, m2).m2Conv).toBe('vec4');
    expect(resolveOptions({ dtype: 'f16', variant: 'software' }, gpu, m2).m2Conv).toBe('scalar');
    expect(resolveOptions({ dtype: 'f16', m2Conv: 'scalar' }, gpu, m2).m2Conv).toBe('scalar');
    expect(resolveOptions({ dtype: 'f16', m2Conv: 'vec4' }, gpu, m2).m2Conv).toBe('vec4');
    expect(() => resolveOptions({ dtype: 'f16', m2Conv: 'wide' as never }, gpu, m2)).toThrow(
      /m2Conv must be 'scalar' or 'vec4', got wide/,
    );
  });

  it("Mamba-2's in_proj rows past the split from the RMSNorm: on where the split falls at the last whole tile, refused where they cannot be", () => {
    const big = randomMamba2Config('mamba2-2.7b');
    const small = randomMamba2Config('mamba2-130m');
    expect(resolveOptions({ dtype: 'f16' }, gpu, big).m2NormRows).toBe(true);
    expect(resolveOptions({ dtype: 'f16', m2NormRows: false }, gpu, big).m2NormRows).toBe(false);
    expect(resolveOptions({ dtype: 'f16', variant: 'software' }, gpu, big).m2NormRows).toBe(false);
    expect(resolveOptions({ dtype: 'f16' }, gpu, small).m2NormRows).toBe(false);
    // 130m's last whole tile of 64 rows is 3,328: dt's 24 rows past it.
    const forced = { dtype: 'f16', m2InProjSplitAt: 3328, m2NormRows: true } as const;
    expect(resolveOptions(forced, gpu, small).m2NormRows).toBe(true);
    expect(() => resolveOptions({ ...forced, m2InProjSplitAt: 3072 }, gpu, small)).toThrow(
      /at most 32 rows past the split \(280 here\)/,
    );
    expect(() => resolveOptions({ ...forced, dtype: 'int8' }, gpu, small)).toThrow(/f32 or f16 weights/);
    expect(normRowsFit(2560, 16, NORM_ROWS_WG)).toBe(true);
    expect(normRowsFit(2564, 16, NORM_ROWS_WG)).toBe(false);
    expect(normRowsFit(8192, 16, NORM_ROWS_WG)).toBe(false);
    expect(normRowsFit(768, 33, NORM_ROWS_WG)).toBe(false);
  });

  it('reductions are 4 wide on SwiftShader, as wide as asked on GPUs', () => {
    expect(reductionWidth('software', 256)).toBe(4);
    expect(reductionWidth('software', 64)).toBe(4);
    expect(reductionWidth('hardware', 256)).toBe(256);
  });

  it('scan: one invocation per (channel, state element) on GPUs; dt_proj first only for GPU prefill', () => {
    expect(scanKernel('hardware')).toBe('scan_coop');
    expect(scanKernel('software')).toBe('scan');
    expect(scanChannelsPerGroup(16)).toBe(4);
    expect(scanChannelsPerGroup(64)).toBe(1);
    expect(scanChannelsPerGroup(3)).toBe(21);
    expect(dtProjFirst('gemm', 'hardware')).toBe(true);
    expect(dtProjFirst('gemv', 'hardware')).toBe(false);
    expect(dtProjFirst('gemm', 'software')).toBe(false);
  });
});

describe('resolved options', () => {
  const swiftshader = { isSoftware: true, hasSubgroups: true, maxStorageBufferBindingSize: MiB128 };

  it('the variant follows the adapter; subgroups only on the hardware variant', () => {
    const g = resolveOptions({ dtype: 'f16' }, gpu, c130m);
    expect([g.variant, g.useSubgroups, g.chunkSize]).toEqual(['hardware', true, 512]);
    const s = resolveOptions({ dtype: 'f32' }, swiftshader, c130m);
    expect([s.variant, s.useSubgroups, s.chunkSize]).toEqual(['software', false, 128]);
    expect(resolveOptions({ dtype: 'f32', subgroups: false }, gpu, c130m).useSubgroups).toBe(false);
    expect(resolveOptions({ dtype: 'f32', variant: 'hardware' }, swiftshader, c130m).useSubgroups).toBe(true);
    expect(defaultChunkSize('hardware')).toBe(512);
    expect(defaultChunkSize('software')).toBe(128);
  });

  it('H200 defaults: split-K to 264 workgroups, no 128 x 128 tiles', () => {
    const g = resolveOptions({ dtype: 'f16' }, gpu, c130m);
    expect(g.splitTarget).toBe(264);
    expect(g.bigMinTiles).toBe(Infinity);
    const t = resolveOptions({ dtype: 'f16', prefillGemm: { bigMinTiles: 8, splitTarget: 100 } }, gpu, c130m);
    expect([t.bigMinTiles, t.splitTarget]).toEqual([8, 100]);
  });

  it('a chunk never holds more logits than one binding; maxBindingBytes only shrinks the device limit', () => {
    // 1 MiB binding / (50,280 × 4 bytes) = 5 tokens.
    const small = { ...gpu, maxStorageBufferBindingSize: 2 ** 20 };
    expect(resolveOptions({ dtype: 'f16' }, small, c130m).chunkSize).toBe(5);
    expect(resolveOptions({ dtype: 'f16', chunkSize: 3 }, small, c130m).chunkSize).toBe(3);
    expect(resolveOptions({ dtype: 'f16', chunkSize: 0 }, gpu, c130m).chunkSize).toBe(1);
    expect(resolveOptions({ dtype: 'f16', maxBindingBytes: 4096 }, gpu, c130m).maxBinding).toBe(4096);
    expect(resolveOptions({ dtype: 'f16', maxBindingBytes: 2 ** 40 }, gpu, c130m).maxBinding).toBe(MiB128);
  });

  it('decodeRows must be 1 to 4', () => {
    for (const bad of [0, 5, 1.5]) {
      expect(() => resolveOptions({ dtype: 'f32', decodeRows: bad }, gpu, c130m)).toThrow(
        `decodeRows must be 1 to 4, got ${bad}`,
      );
    }
    expect(resolveOptions({ dtype: 'f32', decodeRows: 2 }, gpu, c130m).decodeRows).toBe(2);
  });

  it('decodeMiddle must be fused, split or scan', () => {
    const bad = { dtype: 'f32', decodeMiddle: 'both' } as unknown as Parameters<typeof resolveOptions>[0];
    expect(() => resolveOptions(bad, gpu, c130m)).toThrow(
      "decodeMiddle must be 'fused', 'split' or 'scan', got both",
    );
    expect(resolveOptions({ dtype: 'f32', decodeMiddle: 'scan' }, gpu, c130m).decodeMiddle).toBe('scan');
    expect(resolveOptions({ dtype: 'f32' }, gpu, c130m).decodeMiddle).toBeUndefined();
  });

  it('refuses conv kernels outside 2..8 and more than 64 states', () => {
    expect(() => assertSupported({ ...c130m, convKernel: 1 })).toThrow(ModelFormatError);
    expect(() => assertSupported({ ...c130m, convKernel: 9 })).toThrow('conv_kernel 9 is not supported');
    expect(() => assertSupported({ ...c130m, stateSize: 65 })).toThrow('state_size 65 is not supported');
    expect(() => assertSupported({ ...c130m, convKernel: 8, stateSize: 64 })).not.toThrow();
  });
});

describe('prefill GEMMs on subgroup matrices', () => {
  const f16 = (M: number, N: number, K: number) => ({
    componentType: 'f16',
    resultComponentType: 'f32',
    M,
    N,
    K,
  });
  const i8 = (M: number, N: number, K: number) => ({
    componentType: 'i8',
    resultComponentType: 'i32',
    M,
    N,
    K,
  });
  // What the H200 reported through Dawn with allow_unsafe_apis and vulkan_enable_f16_on_nvidia (issue 14).
  const h200 = {
    configs: [f16(16, 16, 16), f16(16, 8, 16), f16(16, 8, 8), i8(16, 16, 32), i8(16, 8, 32)],
    subgroupMinSize: 32,
    subgroupMaxSize: 32,
    hasShaderF16: true,
    maxWorkgroupStorage: 48 * 1024,
  };

  // A choice as the sweep may leave it: 128 x 128 tiles of 4 subgroups, double-buffered f32-X staging.
  const fsdb: SgmmChoice = { kernel: 'gemm_sgmm_fs_db', SGM: 2, SGN: 2, TI: 4, TJ: 4, BK: 32 };

  it('takes the choice for f16 weights on the hardware variant', () => {
    expect(sgmatKernel('hardware', 'f16', h200, fsdb)).toEqual(fsdb);
    expect(sgmatKernel('hardware', 'f16', h200)).toEqual(SGMM_CHOICE);
  });

  it('keeps the current kernels for f32 weights, SwiftShader and devices without what the kernel needs', () => {
    expect(sgmatKernel('hardware', 'f32', h200, fsdb)).toBeUndefined(); // an F32 checkpoint stays exact f32
    expect(sgmatKernel('software', 'f16', h200, fsdb)).toBeUndefined();
    expect(sgmatKernel('hardware', 'f16', undefined, fsdb)).toBeUndefined();
    // Without Dawn's f16 toggle the H200 offers only the int8 configs, and no shader-f16.
    const noF16 = { ...h200, configs: [i8(16, 16, 32), i8(16, 8, 32)], hasShaderF16: false };
    expect(sgmatKernel('hardware', 'f16', noF16, fsdb)).toBeUndefined();
    expect(sgmatKernel('hardware', 'f16', { ...h200, hasShaderF16: false }, fsdb)).toBeUndefined();
    // The 16 x 16 x 16 variants need that config; the _n8 ones 16 x 8 x 16; f16 results serve neither.
    const only8 = { ...h200, configs: [f16(16, 8, 16), f16(16, 8, 8)] };
    expect(sgmatKernel('hardware', 'f16', only8, fsdb)).toBeUndefined();
    const n8: SgmmChoice = { ...fsdb, kernel: 'gemm_sgmm_fs_n8' };
    expect(sgmatKernel('hardware', 'f16', only8, n8)).toEqual(n8);
    const f16Result = { componentType: 'f16', resultComponentType: 'f16', M: 16, N: 16, K: 16 };
    expect(sgmatKernel('hardware', 'f16', { ...h200, configs: [f16Result] }, fsdb)).toBeUndefined();
    expect(sgmatKernel('hardware', 'f16', { ...h200, configs: [f16(8, 8, 8)] }, fsdb)).toBeUndefined();
    // The kernel lays out subgroups of exactly 32 invocations.
    expect(sgmatKernel('hardware', 'f16', { ...h200, subgroupMinSize: 16 }, fsdb)).toBeUndefined();
    expect(sgmatKernel('hardware', 'f16', { ...h200, subgroupMaxSize: 64 }, fsdb)).toBeUndefined();
    // fsdb declares 2 buffers x (128 + 128) rows x 40 halves + 4 patches of 16 x 16 f32 = 40,960 + 4,096 bytes.
    expect(sgmmLayout(fsdb).workgroupBytes).toBe(45056);
    expect(sgmatKernel('hardware', 'f16', { ...h200, maxWorkgroupStorage: 45055 }, fsdb)).toBeUndefined();
    expect(sgmatKernel('hardware', 'f16', { ...h200, maxWorkgroupStorage: 45056 }, fsdb)).toEqual(fsdb);
  });

  it('gives every variant exactly the overrides its shader declares, those without a default included', () => {
    // The device's compile probe and the plan both pass sgmmConstants: an override without a default left out
    // (XROWS of the _x2 variants) fails pipeline creation, and the probe then turns subgroup matrices off.
    for (const kernel of SGMM_KERNELS) {
      const src = shaderSources[kernel] ?? '';
      const declared = [...src.matchAll(/^override (\w+): \w+( = [^;]+)?;/gm)];
      expect(
        declared.map((m) => m[1]),
        kernel,
      ).toEqual(expect.arrayContaining(['SGM', 'SGN', 'TI', 'TJ', 'BK']));
      const required = declared.filter((m) => m[2] === undefined).map((m) => m[1] ?? '');
      const given = Object.keys(sgmmConstants({ ...SGMM_CHOICE, kernel }, 512));
      expect(
        given.filter((k) => !declared.some((m) => m[1] === k)),
        kernel,
      ).toEqual([]);
      expect(
        required.filter((k) => !given.includes(k)),
        kernel,
      ).toEqual([]);
    }
    // X's lo half starts at whole 256-row tiles past the chunk.
    expect(sgmmConstants(SGMM_CHOICE, 512).XROWS).toBe(512);
    expect(sgmmConstants(SGMM_CHOICE, 600).XROWS).toBe(768);
  });

  it("knows each variant's tiles, loads and limits", () => {
    // 256 x 128 tiles of 8 subgroups, X f16 straight, W staged: 128 x 40 halves once + 8 patches.
    const ds = sgmmLayout({ kernel: 'gemm_sgmm_ds', SGM: 4, SGN: 2, TI: 4, TJ: 4, BK: 32 });
    expect(ds).toEqual({
      BM: 256,
      BN: 128,
      SN: 16,
      invocations: 256,
      workgroupBytes: 128 * 40 * 2 + 8 * 256 * 4,
      halfX: true,
      splitX: false,
      directX: true,
      directW: false,
      xItems: 0,
      wItems: 2,
    });
    // _x2: the same tiles, X as hi + lo halves.
    const x2 = sgmmLayout({ kernel: 'gemm_sgmm_ds_db_x2', SGM: 2, SGN: 2, TI: 2, TJ: 4, BK: 16 });
    expect([x2.BM, x2.BN, x2.halfX, x2.splitX, x2.directX, x2.directW]).toEqual([
      64,
      128,
      true,
      true,
      true,
      false,
    ]);
    // _n8: 16 x 8 result matrices, so BN = 8 SGN TJ.
    expect(sgmmLayout({ kernel: 'gemm_sgmm_dd_n8', SGM: 2, SGN: 4, TI: 2, TJ: 2, BK: 64 }).BN).toBe(64);
    // At most 8 staged vec4 per invocation: 256 x 64 f32 over 256 invocations is 16.
    expect(sgmmFits({ kernel: 'gemm_sgmm_fs', SGM: 4, SGN: 2, TI: 4, TJ: 4, BK: 64 }, 1 << 20)).toBe(false);
    expect(sgmmFits({ kernel: 'gemm_sgmm_fs', SGM: 4, SGN: 2, TI: 4, TJ: 4, BK: 32 }, 1 << 20)).toBe(true);
    // Straight W loads need whole tiles of rows and K % 16 == 0; staged ones take anything.
    const dd: SgmmChoice = { kernel: 'gemm_sgmm_dd', SGM: 2, SGN: 2, TI: 4, TJ: 4, BK: 32 };
    expect(sgmmFits(dd, 49152, { rows: 10240, k: 2560 })).toBe(true);
    expect(sgmmFits(dd, 49152, { rows: 80, k: 1536 })).toBe(false); // 130m x_proj
    expect(sgmmFits(dd, 49152, { rows: 128, k: 72 })).toBe(false);
    expect(sgmmFits(fsdb, 49152, { rows: 80, k: 1537 })).toBe(true);
    expect(sgmmFits({ ...fsdb, TI: 5 }, 49152)).toBe(false);
    expect(sgmmFits({ ...fsdb, BK: 24 }, 49152)).toBe(false);
  });

  it('splits thin matrices along K over 128 x 128 tiles', () => {
    // mamba-2.8b at 512-token chunks: x_proj (192 outputs, K 5120) has 4 x 2 tiles: ceil(264 / 8) = 33,
    // capped at maxSplitFor(5120) = 16; out_proj (2560, K 5120) 4 x 20 tiles: ceil(264 / 80) = 4; in_proj
    // (10240, K 2560) 4 x 80 = 320 tiles: no split.
    expect(sgmatSplit(512, 192, 5120, defaults)).toBe(16);
    expect(sgmatSplit(512, 2560, 5120, defaults)).toBe(4);
    expect(sgmatSplit(512, 10240, 2560, defaults)).toBe(1);
    // mamba-130m's in_proj (3072, K 768) at 512 tokens: 4 x 24 tiles: ceil(264 / 96) = 3.
    expect(sgmatSplit(512, 3072, 768, defaults)).toBe(3);
  });

  it('sizes the split-K partials for the 128 x 128 tiles', () => {
    // 130m in_proj, chunks up to 512: t = 128 → 11 splits (24 tiles), 256 → 6, 384 → 4, 512 → 3; the most is
    // 6 x 256 = 4 x 384 = 3 x 512 = 1536 token rows of 3072 outputs (gemm_tiled's 64 x 64 tiles, which a part
    // the variant cannot take falls back to, need less: 96 tiles at t = 128 → 3 splits).
    expect(splitKFloats([{ rows: 3072, cols: 768 }], 512, defaults, fsdb)).toBe(1536 * 3072);
    // No split at all: still one 16 x 16 f32 matrix, the least Dawn binds where subgroup matrices are stored.
    expect(splitKFloats([{ rows: 4096, cols: 32 }], 64, defaults, fsdb)).toBe(256);
  });

  it('is requested from the device wherever the adapter offers it', () => {
    const offered = new Set(['subgroups', 'shader-f16', 'chromium-experimental-subgroup-matrix']);
    expect(featuresToRequest(offered)).toEqual([
      'subgroups',
      'shader-f16',
      'chromium-experimental-subgroup-matrix',
    ]);
    expect(featuresToRequest(new Set(['subgroups']))).toEqual(['subgroups']);
  });

  it('resolves to the chosen kernel when the caller opts in, else gemm_tiled', () => {
    const withSm = { ...gpu, subgroupMatrix: h200 };
    const on = resolveOptions({ dtype: 'f16', subgroupMatrix: true }, withSm, c130m);
    expect(on.sgmat).toEqual(SGMM_CHOICE);
    expect(on.prefillGemmKernel).toBe(SGMM_CHOICE.kernel);
    const other = resolveOptions({ dtype: 'f16', subgroupMatrix: true, sgmm: fsdb }, withSm, c130m);
    expect(other.sgmat).toEqual(fsdb);
    // SGMM_CHOICE is the _x2 variant, which keeps the f32 GEMM's accuracy; opt-in until a GPU with subgroup
    // matrices has timed it and run the GPU test project with it on (options.ts).
    expect(SGMM_CHOICE.kernel).toBe('gemm_sgmm_ds_db_x2');
    const byDefault = resolveOptions({ dtype: 'f16' }, withSm, c130m);
    expect([byDefault.sgmat, byDefault.prefillGemmKernel]).toEqual([undefined, 'gemm_tiled']);
    const off = resolveOptions({ dtype: 'f16', subgroupMatrix: false }, withSm, c130m);
    expect([off.sgmat, off.prefillGemmKernel]).toEqual([undefined, 'gemm_tiled']);
    const f32 = resolveOptions({ dtype: 'f32', subgroupMatrix: true }, withSm, c130m);
    expect(f32.prefillGemmKernel).toBe('gemm_tiled');
    expect(resolveOptions({ dtype: 'f16', subgroupMatrix: true }, gpu, c130m).prefillGemmKernel).toBe(
      'gemm_tiled',
    );
    const sw = { ...withSm, isSoftware: true };
    expect(resolveOptions({ dtype: 'f16', subgroupMatrix: true }, sw, c130m).prefillGemmKernel).toBe(
      'gemm_reg',
    );
  });
});

describe('continueMany batch slots (batchSlots)', () => {
  const MiB = 2 ** 20;
  // One layer's working state in bytes: Mamba-1 130m d_inner 1536 × (16 + 3 + 1) floats; Mamba-2 130m
  // 24 heads × 64 × 128 + 24 + (1536 + 2·128) × 3 floats; Mamba-2 2.7b 80 × 64 × 128 + 80 + (5120 + 256) × 3.
  const m1 = 1536 * 20 * 4;
  const m2s = (24 * 64 * 128 + 24 + 1792 * 3) * 4;
  const m2l = (80 * 64 * 128 + 80 + 5376 * 3) * 4;

  it('fits the 256 MiB budget over all layers, at most 64 and the chunk size', () => {
    expect(BATCH_SLOT_BYTES).toBe(256 * MiB);
    // 256 MiB / 2.9 MB = 91 states: MAX_BATCH bounds it; a chunk of 16 tokens bounds it further.
    expect(batchSlots(m1, 24, 512, 128 * MiB)).toBe(MAX_BATCH);
    expect(batchSlots(m1, 24, 16, 128 * MiB)).toBe(16);
    // Mamba-2 130m: 256 MiB / 19.4 MB = 13 states.
    expect(batchSlots(m2s, 24, 512, 128 * MiB)).toBe(13);
  });

  it('is 0 (one by one) where fewer than two states fit, as Mamba-2 2.7b’s 172 MB', () => {
    expect(batchSlots(m2l, 64, 512, 128 * MiB)).toBe(0);
    expect(batchSlots(m1, 24, 512, 128 * MiB)).toBeGreaterThan(0);
  });

  it('keeps one layer’s slot buffer within the device’s binding limit', () => {
    // One 40 MiB layer: the budget would allow 6 slots, a 128 MiB binding 3, a 64 MiB binding only 1 (so 0).
    expect(batchSlots(40 * MiB, 1, 512, 128 * MiB)).toBe(3);
    expect(batchSlots(40 * MiB, 1, 512, 64 * MiB)).toBe(0);
  });

  it('takes a larger budget where one is given (EngineOptions.batchMemory): Mamba-2 2.7b batches from 344 MB', () => {
    // 1 GiB / 172 MB = 6 states; 2 GiB 12; two states need 2 × 172 MB (2 × 2.69 MB a layer under the binding).
    expect(batchSlots(m2l, 64, 512, 128 * MiB, 1024 * MiB)).toBe(6);
    expect(batchSlots(m2l, 64, 512, 128 * MiB, 2048 * MiB)).toBe(12);
    expect(batchSlots(m2l, 64, 512, 128 * MiB, 2 * 64 * m2l - 1)).toBe(0);
    expect(batchSlots(m2l, 64, 512, 128 * MiB, 2 * 64 * m2l)).toBe(2);
    // A smaller one shrinks Mamba-1's batches too; 0 bytes turns batching off.
    expect(batchSlots(m1, 24, 512, 128 * MiB, 32 * MiB)).toBe(11);
    expect(batchSlots(m1, 24, 512, 128 * MiB, 0)).toBe(0);
  });

  it('resolveOptions takes batchMemory in bytes, 0 or more, and defaults to BATCH_SLOT_BYTES', () => {
    const device = { isSoftware: false, hasSubgroups: true, maxStorageBufferBindingSize: 128 * MiB };
    const config = randomConfig('130m');
    expect(resolveOptions({ dtype: 'f32' }, device, config).batchMemory).toBe(BATCH_SLOT_BYTES);
    expect(resolveOptions({ dtype: 'f32', batchMemory: 2 ** 30 }, device, config).batchMemory).toBe(2 ** 30);
    for (const bad of [-1, Number.NaN, Infinity])
      expect(() => resolveOptions({ dtype: 'f32', batchMemory: bad }, device, config)).toThrow(
        /batchMemory must be a number of bytes/,
      );
  });
});
