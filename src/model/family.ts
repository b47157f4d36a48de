/**
 * The two checkpoint families the engine runs. Mamba-1 (`model_type: "mamba"`) keeps a state per channel;
 * Mamba-2 (`"mamba2"`) per head, with one scalar decay per head. Code that differs by family asks
 * `familyOf` (or the type guard) instead of probing fields, so the test is written once.
 */
import { expectedTensorShapes, type MambaConfig } from './config.ts';
import { mamba2TensorShapes, type Mamba2Config } from './mamba2Config.ts';

export type ModelFamily = 'mamba1' | 'mamba2';

/** A parsed config of either family. */
export type AnyMambaConfig = MambaConfig | Mamba2Config;

export function isMamba2Config(c: AnyMambaConfig): c is Mamba2Config {
  return 'numHeads' in c;
}

export function familyOf(c: AnyMambaConfig): ModelFamily {
  return isMamba2Config(c) ? 'mamba2' : 'mamba1';
}

/** How people name the family: "Mamba-1" or "Mamba-2". */
export function familyLabel(f: ModelFamily): string {
  return f === 'mamba2' ? 'Mamba-2' : 'Mamba-1';
}

/** The tensors a checkpoint of `c`'s family must hold for `c`, with their shapes, by Hugging Face name. */
export function tensorShapesOf(c: AnyMambaConfig): Map<string, number[]> {
  return isMamba2Config(c) ? mamba2TensorShapes(c) : expectedTensorShapes(c);
}
