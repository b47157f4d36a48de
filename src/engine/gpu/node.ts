/**
 * WebGPU in Node through Dawn (the npm package `webgpu`). Finds an adapter by itself: a real GPU where the
 * system has a Vulkan driver, otherwise SwiftShader from Debian's Chromium. The object `create()` returns is
 * kept in a module variable for the life of the process: when it is garbage-collected Dawn crashes Node.
 */
import { existsSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createRequire } from 'node:module';
import { GpuUnavailableError, openDevice, type EngineDevice } from './device.ts';

const SWIFTSHADER_ICD = '/usr/lib/chromium/vk_swiftshader_icd.json';
let keepAlive: GPU | undefined;

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

export function nodeGpu(): GPU {
  if (keepAlive) return keepAlive;
  // The Vulkan loader prints an error line on every start when XDG_RUNTIME_DIR is unset (CI, containers):
  // give it a private folder so a command's stderr carries only our own messages.
  if (!process.env['XDG_RUNTIME_DIR']) {
    const dir = join(tmpdir(), `soup-runtime-${process.getuid?.() ?? 0}`);
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    process.env['XDG_RUNTIME_DIR'] = dir;
  }
  const dawn = loadDawn();
  Object.assign(globalThis, dawn.globals);
  // Dawn rounds timestamp queries to 2^16 ns by default (a browser's anti-fingerprinting measure); the
  // benchmark's per-kernel profiles need real durations. Measured on SwiftShader here: with the toggle every
  // timestamp was a multiple of 65,536 ns, without it none were.
  keepAlive = dawn.create(['disable-dawn-features=timestamp_quantization']);
  return keepAlive;
}

/** Opens a device in Node: the system's Vulkan adapter, or SwiftShader when there is none. */
export async function openNodeDevice(): Promise<EngineDevice> {
  if (!process.env['VK_ICD_FILENAMES'] && !hasSystemVulkanDriver() && existsSync(SWIFTSHADER_ICD)) {
    process.env['VK_ICD_FILENAMES'] = SWIFTSHADER_ICD;
  }
  try {
    return await openDevice(nodeGpu());
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
