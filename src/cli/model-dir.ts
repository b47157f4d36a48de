/**
 * Opens a model folder in the Hugging Face layout (config.json, model.safetensors or a sharded index,
 * optionally tokenizer.json) for the command line, on the adapter Node finds (src/engine/gpu/node.ts).
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseMambaConfig, type MambaConfig } from '../model/config.ts';
import { ModelFormatError } from '../model/errors.ts';
import { SafetensorsFile } from '../model/safetensors.ts';
import { MambaTokenizer } from '../model/tokenizer.ts';
import type { WeightDtype } from '../engine/api.ts';
import { openNodeDevice } from '../engine/gpu/node.ts';
import type { EngineDevice } from '../engine/gpu/device.ts';
import { GpuMambaModel } from '../engine/model.ts';
import { weightsFromSource, type MambaWeights } from '../engine/weights.ts';
import { UsageError } from './args.ts';

export interface OpenedModel {
  dir: string;
  config: MambaConfig;
  weights: MambaWeights;
  engine: GpuMambaModel;
  dev: EngineDevice;
  tokenizer?: MambaTokenizer;
  /** The checkpoint's own precision: F32 stays f32, F16/BF16 become packed f16. */
  checkpointDtype: WeightDtype;
}

export function readConfig(dir: string): MambaConfig {
  const file = join(dir, 'config.json');
  if (!existsSync(dir)) throw new UsageError(`Model folder ${dir} does not exist.`);
  if (!existsSync(file)) {
    throw new ModelFormatError(`${file} is missing: a model folder needs config.json and model.safetensors.`);
  }
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(file, 'utf8'));
  } catch {
    throw new ModelFormatError(`${file} is not valid JSON.`);
  }
  return parseMambaConfig(raw, file);
}

export function readTokenizer(dir: string): MambaTokenizer | undefined {
  const file = join(dir, 'tokenizer.json');
  return existsSync(file) ? MambaTokenizer.fromJSON(readFileSync(file, 'utf8'), file) : undefined;
}

/** Reads every tensor of the folder's checkpoint (single file or shards) into host weights. */
export function readWeights(dir: string, config: MambaConfig): { weights: MambaWeights; dtype: WeightDtype } {
  const single = join(dir, 'model.safetensors');
  const index = join(dir, 'model.safetensors.index.json');
  const files: SafetensorsFile[] = [];
  if (existsSync(single)) {
    files.push(new SafetensorsFile(new Uint8Array(readFileSync(single)), single));
  } else if (existsSync(index)) {
    const map = (JSON.parse(readFileSync(index, 'utf8')) as { weight_map?: Record<string, string> })
      .weight_map;
    if (!map) throw new ModelFormatError(`${index} has no "weight_map".`);
    for (const shard of new Set(Object.values(map))) {
      const p = join(dir, shard);
      files.push(new SafetensorsFile(new Uint8Array(readFileSync(p)), p));
    }
  } else {
    throw new ModelFormatError(`${dir} has neither model.safetensors nor model.safetensors.index.json.`);
  }
  const find = (n: string) => files.find((f) => f.has(n));
  const source = {
    has: (n: string) => find(n) !== undefined,
    shape: (n: string) => find(n)!.info(n).shape,
    float32: (n: string) => find(n)!.float32(n),
  };
  const weights = weightsFromSource(config, source, files[0]!.file);
  const embDtype = find('backbone.embeddings.weight')!.info('backbone.embeddings.weight').dtype;
  return { weights, dtype: embDtype === 'F32' || embDtype === 'F64' ? 'f32' : 'f16' };
}

export async function openModelDir(dir: string, dtype?: WeightDtype): Promise<OpenedModel> {
  const config = readConfig(dir);
  const { weights, dtype: checkpointDtype } = readWeights(dir, config);
  const tokenizer = readTokenizer(dir);
  const dev = await openNodeDevice();
  const engine = await GpuMambaModel.fromWeights(dev, weights, { dtype: dtype ?? checkpointDtype });
  return { dir, config, weights, engine, dev, tokenizer, checkpointDtype };
}

export function parseDtype(v: string | undefined): WeightDtype | undefined {
  if (v === undefined) return undefined;
  if (v !== 'f32' && v !== 'f16') throw new UsageError(`--dtype must be f32 or f16 (got "${v}").`);
  return v;
}
