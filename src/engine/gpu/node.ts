/**
 * WebGPU in Node through Dawn (the npm package `webgpu`). Finds an adapter by itself: a real GPU where the
 * system has a Vulkan driver, otherwise SwiftShader from Debian's Chromium. The object `create()` returns is
 * kept in a module variable for the life of the process: when it is garbage-collected Dawn crashes Node.
 *
 * Dawn's adapter toggles (DAWN_TOGGLES) are on by default, so the CLI, benchmarks and check scripts get what
 * the hardware can do: `vulkan_enable_f16_on_nvidia` gives NVIDIA's Vulkan adapters `shader-f16`, and
 * `allow_unsafe_apis` exposes experimental features such as `chromium-experimental-subgroup-matrix`.
 * SOUP_DAWN_TOGGLES=0 in the environment (or `soup bench --no-dawn-toggles`) leaves them off.
 */
import { existsSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createRequire } from 'node:module';
import { GpuUnavailableError, openDevice, type EngineDevice } from './device.ts';

const SWIFTSHADER_ICD = '/usr/lib/chromium/vk_swiftshader_icd.json';
/** One Dawn instance per distinct flag list (in practice one per process); never released, see above. */
const keepAlive = new Map<string, GPU>();

/** The Dawn adapter toggles the engine asks for unless told not to (see the module comment). */
export const DAWN_TOGGLES = ['allow_unsafe_apis', 'vulkan_enable_f16_on_nvidia'] as const;

/** Whether the toggles are wanted by default: on unless SOUP_DAWN_TOGGLES is 0, off, false or no. */
export function dawnTogglesFromEnv(env: Record<string, string | undefined> = process.env): boolean {
  const v = env['SOUP_DAWN_TOGGLES']?.trim().toLowerCase();
  return !(v === '0' || v === 'off' || v === 'false' || v === 'no');
}

/**
 * Further Dawn toggles to turn on, from SOUP_DAWN_EXTRA (comma-separated names, e.g. `disable_robustness`), for
 * measuring what a toggle changes (bench/RESULTS.md); only with the adapter toggles, since most need
 * `allow_unsafe_apis`. Names are checked for shape only: Dawn ignores a name it does not know.
 */
export function extraTogglesFromEnv(env: Record<string, string | undefined> = process.env): string[] {
  const names = (env['SOUP_DAWN_EXTRA'] ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  for (const n of names) {
    if (!/^[a-z0-9_]+$/.test(n)) throw new Error(`SOUP_DAWN_EXTRA: "${n}" is not a Dawn toggle name.`);
  }
  return names;
}

/** The flags given to Dawn's create(): real timestamps always, and the adapter toggles when `toggles`. */
export function dawnFlags(toggles: boolean, extra: readonly string[] = extraTogglesFromEnv()): string[] {
  // Dawn rounds timestamp queries to 2^16 ns by default (a browser's anti-fingerprinting measure); the
  // benchmark's per-kernel profiles need real durations. Measured on SwiftShader here: with the toggle every
  // timestamp was a multiple of 65,536 ns, without it none were.
  const flags = ['disable-dawn-features=timestamp_quantization'];
  if (toggles) flags.unshift(`enable-dawn-features=${[...DAWN_TOGGLES, ...extra].join(',')}`);
  return flags;
}

export interface NodeDeviceOptions {
  /** Dawn's adapter toggles (DAWN_TOGGLES); default: on unless SOUP_DAWN_TOGGLES turns them off. */
  dawnToggles?: boolean;
}

function loadDawn(): { create: (flags: string[]) => GPU; globals: Record<string, unknown> } {
  const require = createRequire(import.meta.url);
  try {
    return require('webgpu') as { create: (flags: string[]) => GPU; globals: Record<string, unknown> };
  } catch (e) {
    throw new GpuUnavailableError(
      `The npm package "webgpu" (Dawn) could not be loaded: ${(e as Error).message}. Run npm install.`,
    );
  }
}

export function nodeGpu(toggles = dawnTogglesFromEnv()): GPU {
  const flags = dawnFlags(toggles);
  const key = flags.join(' ');
  const existing = keepAlive.get(key);
  if (existing) return existing;
  // The Vulkan loader prints an error line on every start when XDG_RUNTIME_DIR is unset (CI, containers):
  // give it a private folder so a command's stderr carries only our own messages.
  if (!process.env['XDG_RUNTIME_DIR']) {
    const dir = join(tmpdir(), `soup-runtime-${process.getuid?.() ?? 0}`);
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    process.env['XDG_RUNTIME_DIR'] = dir;
  }
  const dawn = loadDawn();
  Object.assign(globalThis, dawn.globals);
  const gpu = dawn.create(flags);
  keepAlive.set(key, gpu);
  return gpu;
}

/** Opens a device in Node: the system's Vulkan adapter, or SwiftShader when there is none. */
export async function openNodeDevice(opts: NodeDeviceOptions = {}): Promise<EngineDevice> {
  if (!process.env['VK_ICD_FILENAMES'] && !hasSystemVulkanDriver() && existsSync(SWIFTSHADER_ICD)) {
    process.env['VK_ICD_FILENAMES'] = SWIFTSHADER_ICD;
  }
  try {
    return await openDevice(nodeGpu(opts.dawnToggles));
  } catch (e) {
    if (e instanceof GpuUnavailableError && !existsSync(SWIFTSHADER_ICD)) {
      throw new GpuUnavailableError(
        "No WebGPU adapter was found: install a Vulkan driver for your GPU, or Debian's chromium package (it ships SwiftShader) and libvulkan1.",
      );
    }
    throw e;
  }
}

function hasSystemVulkanDriver(): boolean {
  // Mesa's lavapipe ICD arrives with Chromium's dependencies, so ICD folders alone say nothing; a device node
  // (NVIDIA, or a DRM render node) says there is real hardware for the system loader to find.
  return Boolean(process.env['VK_DRIVER_FILES']) || existsSync('/dev/nvidia0') || existsSync('/dev/dri');
}
