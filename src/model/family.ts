/**
 * The two checkpoint families the engine runs. Mamba-1 (`model_type: "mamba"`) keeps a state per channel;
 * Mamba-2 (`"mamba2"`) per head, with one scalar decay per head. Code that differs by family asks
 * `familyOf` (or the type guard) instead of probing fields, so the test is written once.
 */
import { MAMBA1 } from './architectures/mamba1.ts';
import { MAMBA2 } from './architectures/mamba2.ts';
import { lookupTensor, type TensorKind } from './architectures/types.ts';
import { expectedTensorShapes, parseMambaConfig, type MambaConfig } from './config.ts';
import { ModelFormatError } from './errors.ts';
import { mamba2TensorShapes, parseMamba2Config, type Mamba2Config } from './mamba2Config.ts';

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

/** What tensor `name` is in `c`'s family's table, or undefined for a name the table does not list. */
export function tensorKindOf(c: AnyMambaConfig, name: string): TensorKind | undefined {
  return (isMamba2Config(c) ? lookupTensor(MAMBA2, name) : lookupTensor(MAMBA1, name))?.spec.kind;
}

/** The layer whose A_log `name` is in `c`'s family, or undefined (A-decay mixing needs A_log on the host). */
export function aLogLayerOf(c: AnyMambaConfig, name: string): number | undefined {
  const t = isMamba2Config(c) ? lookupTensor(MAMBA2, name) : lookupTensor(MAMBA1, name);
  return t?.spec.kind === 'A_log' ? t.layer : undefined;
}

/**
 * Parses a `config.json` object of either family, going by its `model_type`: "mamba" is Mamba-1, "mamba2"
 * Mamba-2. mamba_ssm's own format (d_model, ssm_cfg) goes to the parser of its family, which refuses it
 * with the format expected; anything else is refused as not a Mamba model.
 */
export function parseModelConfig(raw: unknown, file = 'config.json'): AnyMambaConfig {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    throw new ModelFormatError(`${file} is not a JSON object.`);
  }
  const r = raw as Record<string, unknown>;
  const type = r['model_type'];
  if (type === MAMBA2.modelType) return parseMamba2Config(r, file);
  if (type === MAMBA1.modelType) return parseMambaConfig(r, file);
  if ('d_model' in r || 'ssm_cfg' in r) {
    const cfg = r['ssm_cfg'];
    const layer =
      typeof cfg === 'object' && cfg !== null ? (cfg as Record<string, unknown>)['layer'] : undefined;
    return layer === 'Mamba2' ? parseMamba2Config(r, file) : parseMambaConfig(r, file);
  }
  throw new ModelFormatError(
    `${file}: model_type is ${JSON.stringify(type) ?? 'missing'}, not "mamba" or "mamba2"; this is not a Mamba model. Pick a checkpoint in the Hugging Face layout (for example state-spaces/mamba-130m-hf or AntonV/mamba2-130m-hf).`,
  );
}
