/**
 * Acquiring a GPUDevice the same way in a page, a Worker and Node: request the adapter's own limits (the
 * defaults, 128 MiB per binding, are too small for real checkpoints) and turn GPU failures into typed errors
 * whose message says what to do.
 */

export class GpuUnavailableError extends Error {
  override name = 'GpuUnavailableError';
}
export class GpuDeviceLostError extends Error {
  override name = 'GpuDeviceLostError';
}
export class GpuOutOfMemoryError extends Error {
  override name = 'GpuOutOfMemoryError';
}
export class GpuValidationError extends Error {
  override name = 'GpuValidationError';
}

import {
  sgmatKernel,
  sgmmConstants,
  type SubgroupMatrixConfig,
  type SubgroupMatrixTraits,
} from '../sgmmDecisions.ts';
import { shaderSources } from '../shaders.gen.ts';

export interface EngineDevice {
  device: GPUDevice;
  adapterInfo: { vendor: string; architecture: string; device: string; description: string };
  /** True for software adapters (SwiftShader), where workgroup barriers are costly: kernels pick variants by it. */
  isSoftware: boolean;
  hasSubgroups: boolean;
  /** The adapter's smallest subgroup size (GPUAdapterInfo.subgroupMinSize; 0 where it does not say). */
  subgroupMinSize: number;
  hasTimestamps: boolean;
  /**
   * The device has `shader-f16` (requested wherever the adapter offers it): kernels may declare `enable f16;`
   * and read f16 weights natively (decisions.ts picks the variant); without it f16 weights stay packed in u32.
   */
  hasShaderF16: boolean;
  /** Every feature the adapter offered, sorted (benchmarks print it: which toggles took effect). */
  adapterFeatures: string[];
  /** Where the device has chromium-experimental-subgroup-matrix: its configs and what the kernels need to know. */
  subgroupMatrix?: SubgroupMatrixTraits;
  /**
   * Why the device offers chromium-experimental-subgroup-matrix but the engine will not use it (its kernel
   * failed to compile here); benchmarks print it, so a silent fallback to the other kernels shows.
   */
  subgroupMatrixRefused?: string;
  /** Resolves when the device is lost, with a user-facing error. */
  lost: Promise<GpuDeviceLostError>;
}

const LIMITS_WANTED = [
  'maxStorageBufferBindingSize',
  'maxBufferSize',
  'maxComputeWorkgroupStorageSize',
  'maxComputeInvocationsPerWorkgroup',
  'maxComputeWorkgroupSizeX',
  'maxComputeWorkgroupsPerDimension',
  'maxStorageBuffersPerShaderStage',
] as const;

/**
 * Features the engine requests whenever the adapter offers them; a kernel that needs one checks the device
 * (EngineDevice.hasShaderF16, …) and keeps a fallback. Browsers and Dawn offer `shader-f16` only on some
 * adapters (see the README's table of flags); on NVIDIA through Dawn's Vulkan backend it needs the adapter
 * toggle `vulkan_enable_f16_on_nvidia` (src/engine/gpu/node.ts sets it in Node).
 */
const SUBGROUP_MATRIX = 'chromium-experimental-subgroup-matrix';
// Subgroup matrices serve the prefill GEMMs (sgmmDecisions.ts sgmatKernel); Dawn offers them only with its
// allow_unsafe_apis toggle (Chrome: --enable-unsafe-webgpu), and their f16 configs need shader-f16 too.
export const OPTIONAL_FEATURES: readonly GPUFeatureName[] = [
  'subgroups',
  'timestamp-query',
  'shader-f16',
  SUBGROUP_MATRIX as GPUFeatureName,
];

/** The optional features of `offered` that a device should request, in OPTIONAL_FEATURES order. */
export function featuresToRequest(offered: ReadonlySet<string>): GPUFeatureName[] {
  return OPTIONAL_FEATURES.filter((f) => offered.has(f));
}

export async function openDevice(gpu: GPU | undefined, label = 'state-soup'): Promise<EngineDevice> {
  if (!gpu) {
    throw new GpuUnavailableError(
      'WebGPU is not available. Use a recent Chrome or Edge (or Firefox/Safari with WebGPU enabled); on Linux start Chromium with --enable-unsafe-webgpu --enable-features=Vulkan.',
    );
  }
  const adapter = await gpu.requestAdapter({ powerPreference: 'high-performance' });
  if (!adapter) {
    throw new GpuUnavailableError(
      'No WebGPU adapter was found. Enable hardware acceleration in the browser settings, or install a Vulkan driver (SwiftShader works for testing).',
    );
  }
  const requiredLimits: Record<string, number> = {};
  for (const k of LIMITS_WANTED) requiredLimits[k] = adapter.limits[k] as number;
  const features = featuresToRequest(adapter.features);
  const device = await adapter.requestDevice({ label, requiredLimits, requiredFeatures: features });
  const info = adapter.info;
  const text = `${info.vendor} ${info.architecture} ${info.device} ${info.description}`.toLowerCase();
  const isSoftware =
    text.includes('swiftshader') ||
    text.includes('llvmpipe') ||
    (info.vendor === 'google' && info.architecture === 'swiftshader');
  const lost = device.lost.then(
    (l) =>
      new GpuDeviceLostError(
        `The GPU device was lost (${l.reason}: ${l.message || 'no detail'}). Reload the model to continue; saved states are kept.`,
      ),
  );
  return {
    device,
    adapterInfo: {
      vendor: info.vendor,
      architecture: info.architecture,
      device: info.device,
      description: info.description,
    },
    isSoftware,
    hasSubgroups: device.features.has('subgroups'),
    subgroupMinSize: (info as GPUAdapterInfo & { subgroupMinSize?: number }).subgroupMinSize ?? 0,
    hasTimestamps: device.features.has('timestamp-query'),
    hasShaderF16: device.features.has('shader-f16'),
    adapterFeatures: [...adapter.features].map(String).sort(),
    ...(device.features.has(SUBGROUP_MATRIX) ? await usableSubgroupMatrix(info, device) : {}),
    lost,
  };
}

/**
 * The subgroup-matrix traits, if the kernel the engine would choose with them (sgmmDecisions.ts sgmatKernel)
 * compiles on this device: an experimental extension may change its WGSL between Dawn releases, and then the
 * engine keeps its other kernels rather than failing to load.
 */
async function usableSubgroupMatrix(
  info: GPUAdapterInfo,
  device: GPUDevice,
): Promise<Pick<EngineDevice, 'subgroupMatrix' | 'subgroupMatrixRefused'>> {
  const traits = subgroupMatrixTraits(info, device);
  const choice = sgmatKernel('hardware', 'f16', traits);
  const code = choice && shaderSources[choice.kernel];
  if (!choice || !code) return { subgroupMatrix: traits };
  device.pushErrorScope('validation');
  const module = device.createShaderModule({ label: `probe ${choice.kernel}`, code });
  // Any chunk size does: only the overrides' presence matters to the compiler.
  const constants = sgmmConstants(choice, 512);
  const failure = await device
    .createComputePipelineAsync({ layout: 'auto', compute: { module, entryPoint: 'main', constants } })
    .then(
      () => undefined,
      (e: unknown) => (e instanceof Error ? e.message : String(e)),
    );
  const error = await device.popErrorScope();
  const why = failure ?? error?.message;
  return why === undefined
    ? { subgroupMatrix: traits }
    : { subgroupMatrixRefused: `${choice.kernel} did not compile on this device: ${why.split('\n')[0]}` };
}

/**
 * The adapter's subgroup-matrix configs as plain objects, field by field: Dawn's are getters on a prototype, so
 * a spread (`{ ...c }`) copies nothing.
 */
export function subgroupMatrixConfigsOf(info: GPUAdapterInfo): SubgroupMatrixConfig[] {
  const extra = info as GPUAdapterInfo & { subgroupMatrixConfigs?: readonly SubgroupMatrixConfig[] };
  return (extra.subgroupMatrixConfigs ?? []).map((c) => ({
    componentType: c.componentType,
    resultComponentType: c.resultComponentType,
    M: c.M,
    N: c.N,
    K: c.K,
  }));
}

/** The adapter's subgroup-matrix configs and sizes (fields of GPUAdapterInfo that @webgpu/types lacks). */
function subgroupMatrixTraits(info: GPUAdapterInfo, device: GPUDevice): SubgroupMatrixTraits {
  const extra = info as GPUAdapterInfo & { subgroupMinSize?: number; subgroupMaxSize?: number };
  return {
    configs: subgroupMatrixConfigsOf(info),
    subgroupMinSize: extra.subgroupMinSize ?? 0,
    subgroupMaxSize: extra.subgroupMaxSize ?? 0,
    hasShaderF16: device.features.has('shader-f16'),
    maxWorkgroupStorage: device.limits.maxComputeWorkgroupStorageSize,
  };
}

/**
 * Runs `fn` inside validation and out-of-memory error scopes and throws a typed error if either fires.
 * Scopes pop in reverse order of pushing.
 */
export async function withGpuErrors<T>(
  device: GPUDevice,
  what: string,
  fn: () => T | Promise<T>,
): Promise<T> {
  device.pushErrorScope('out-of-memory');
  device.pushErrorScope('validation');
  let result: T | undefined;
  let failure: unknown;
  try {
    result = await fn();
  } catch (e) {
    failure = e;
  }
  // Both pops issued at once (validation first: it was pushed last) and awaited together: one wait for the
  // device instead of two in a row (each is a trip through Dawn's event loop; the mix is mostly this).
  const [validation, oom] = await Promise.all([device.popErrorScope(), device.popErrorScope()]);
  if (oom) {
    throw new GpuOutOfMemoryError(
      `The GPU ran out of memory while ${what}. Choose a smaller model or f16 precision, or close other GPU-heavy tabs.`,
    );
  }
  if (validation) throw new GpuValidationError(`GPU validation failed while ${what}: ${validation.message}`);
  if (failure !== undefined) throw failure;
  return result as T;
}
