/**
 * Opens a model folder in the Hugging Face layout (config.json, model.safetensors or a sharded index,
 * optionally tokenizer.json) for the command line: streamed from disk by the loader (src/model/node.ts) into
 * the engine on the adapter Node finds (src/engine/gpu/node.ts).
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { AnyMambaConfig } from '../model/family.ts';
import { dirSource } from '../model/node.ts';
import type { MambaTokenizer } from '../model/tokenizer.ts';
import type { WeightDtype } from '../engine/api.ts';
import { openNodeDevice } from '../engine/gpu/node.ts';
import type { EngineDevice } from '../engine/gpu/device.ts';
import type { EngineOptions, GpuMambaModel } from '../engine/model.ts';
import { adapterName, openEngine } from '../engine/open.ts';
import { WeightsHasher } from '../engine/states/hash.ts';
import { numberOption, UsageError, type ParsedArgs } from './args.ts';

export interface OpenedModel {
  dir: string;
  config: AnyMambaConfig;
  engine: GpuMambaModel;
  dev: EngineDevice;
  tokenizer?: MambaTokenizer;
  /** Each layer's A_log, kept from the stream because A-decay mixing needs it on the host. */
  aLogs: Float32Array[];
  /** The app's weights hash (WeightsHasher), so state files written here import in the app. */
  weightsHash: string;
  /** The weights' precision on the GPU. */
  dtype: WeightDtype;
  /** The adapter, as the app names it. */
  adapter: string;
}

/** `dtype` undefined: the checkpoint's own precision (F32 stays f32) unless it is too large for it. */
export async function openModelDir(
  dir: string,
  dtype?: WeightDtype,
  engineOptions: Omit<EngineOptions, 'dtype'> = {},
): Promise<OpenedModel> {
  if (!existsSync(dir)) throw new UsageError(`Model folder ${dir} does not exist.`);
  let hasher: WeightsHasher | undefined;
  const opened = await openEngine(dirSource(dir), {
    device: await openNodeDevice(),
    precision: dtype ?? 'auto',
    // Fixture and converted folders may lack a tokenizer; then prompts are given as token ids.
    tokenizer: existsSync(join(dir, 'tokenizer.json')),
    engine: engineOptions,
    observe: {
      created: (config) => void (hasher = new WeightsHasher(config)),
      tensor: (name, data) => hasher!.add(name, data),
    },
  });
  return {
    dir,
    config: opened.config,
    engine: opened.engine,
    dev: opened.dev,
    tokenizer: opened.tokenizer,
    aLogs: opened.aLogs,
    weightsHash: hasher!.digest(),
    dtype: opened.engine.dtype,
    adapter: adapterName(opened.dev),
  };
}

export function parseDtype(v: string | undefined): WeightDtype | undefined {
  if (v === undefined) return undefined;
  if (v !== 'f32' && v !== 'f16' && v !== 'int8') {
    throw new UsageError(`--dtype must be f32, f16 or int8 (got "${v}").`);
  }
  return v;
}

/**
 * `--batch-memory MiB`: the bytes continueMany's state slots may take (EngineOptions.batchMemory); {} when the
 * option is absent, so the engine keeps its default (256 MiB, decisions.ts BATCH_SLOT_BYTES).
 */
export function batchMemoryOption(args: ParsedArgs): Pick<EngineOptions, 'batchMemory'> {
  const mib = numberOption(args, 'batch-memory');
  if (mib === undefined) return {};
  if (!(mib > 0)) throw new UsageError(`--batch-memory must be a number of MiB above 0 (got ${mib}).`);
  return { batchMemory: Math.floor(mib * 2 ** 20) };
}
