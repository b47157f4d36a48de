/**
 * Picks the backend for a loaded model. The WebGPU engine (src/engine/model.ts) is used where it exists and
 * a device opens; until it lands in this build, the float64 CPU reference runs and the UI labels it.
 */
import type { Backend } from './backend.ts';
import { CpuReferenceBackend } from './cpu-backend.ts';
import type { LoadedFiles } from './load.ts';
import type { Precision } from './protocol.ts';

export async function createBackend(
  files: LoadedFiles,
  _precision: Precision,
  _progress: (phase: string, done: number, total: number) => void,
  _onFatal: (e: Error) => void,
): Promise<Backend> {
  return new CpuReferenceBackend(files.weights);
}
