/**
 * Kernels on subgroup matrices where the adapter has none (SwiftShader here): a kernel's EMULATE build
 * (include/sgmm_ops.wgsl: every lane holds each 16 × 16 matrix whole as f32 and multiplies it itself) swapped
 * in for the generated WGSL, and a device described as offering the f16 configurations, so the engine plans
 * the kernels it would plan on a GPU that has them.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { EngineDevice } from '../../src/engine/gpu/device.ts';
import { hasF16Matrices } from '../../src/engine/sgmmDecisions.ts';
import { shaderSources } from '../../src/engine/shaders.gen.ts';
import { parseVariants, preprocess, type Defines } from '../../scripts/shaders/preprocess.ts';

const SHADERS = join(import.meta.dirname, '..', '..', 'shaders');

/** The WGSL of `kernel` (a #variant of shaders/<file>, or the file's one kernel) with `extra` defines added. */
export function buildWith(file: string, kernel: string, extra: Defines): string {
  const source = readFileSync(join(SHADERS, file), 'utf8');
  const v = parseVariants(source, file, file.replace(/\.wgsl$/, '')).find((x) => x.name === kernel);
  if (!v) throw new Error(`${file} has no kernel ${kernel}`);
  return preprocess(source, file, { ...v.defines, ...extra }, (name) =>
    readFileSync(join(SHADERS, 'include', name), 'utf8'),
  );
}

/**
 * Puts `wgsl` (kernel name → source) in place of those kernels' generated WGSL; the returned function puts
 * the real sources back. Pipelines are cached per device and kernel name, so a test swaps before the first
 * pipeline of those kernels is made on its device, and restores after, for the tests that follow in the same
 * process (the GPU machine's bundle runs every file in one).
 */
export function swapSources(wgsl: Record<string, string>): () => void {
  const sources = shaderSources as Record<string, string>;
  const real = Object.fromEntries(Object.keys(wgsl).map((k) => [k, sources[k]!]));
  Object.assign(sources, wgsl);
  return () => {
    Object.assign(sources, real);
  };
}

/** Swaps gemm_sgmm variant `kernel` for its EMULATE build; the returned function puts the real one back. */
export function emulateGemmSgmm(kernel: string): () => void {
  return swapSources({ [kernel]: buildWith('gemm_sgmm.wgsl', kernel, { EMULATE: '1' }) });
}

/** Whether the device has f16 16 × 16 × 16 subgroup matrices with subgroups of 32 (the H200 with the toggles). */
export function hasRealSubgroupMatrix(dev: EngineDevice): boolean {
  return hasF16Matrices(dev.subgroupMatrix);
}

/** `dev` described as offering f16 subgroup matrices (16 × 16 and 16 × 8 results) with subgroups of 32. */
export function describedWithSubgroupMatrix(dev: EngineDevice): EngineDevice {
  const f16 = (N: number) => ({ componentType: 'f16', resultComponentType: 'f32', M: 16, N, K: 16 });
  return {
    ...dev,
    subgroupMatrix: {
      configs: [f16(16), f16(8)],
      subgroupMinSize: 32,
      subgroupMaxSize: 32,
      hasShaderF16: true,
      maxWorkgroupStorage: dev.device.limits.maxComputeWorkgroupStorageSize,
    },
  };
}
