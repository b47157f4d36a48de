/**
 * One way to bring a checkpoint up on a GPU, shared by the worker, the command line and the test harness:
 * open (or take) a device, stream the weights of either family (the loader goes by config.json's model_type)
 * through the model loader into a GpuMambaModel with that family's backend, and keep each
 * layer's A_log on the host, because A-decay mixing runs there. Callers differ only in where the device comes
 * from, which ModelSource they read and what they watch stream past (hashes), so those are the parameters.
 */
import { DownloadError } from '../model/errors.ts';
import {
  loadModel,
  TOKENIZER_FILE,
  type LoadedModel,
  type LoadOptions,
  type WeightSink,
} from '../model/loader.ts';
import { aLogLayerOf, type AnyMambaConfig } from '../model/family.ts';
import type { WeightDtype } from './api.ts';
import type { ModelSource } from '../model/sources.ts';
import type { EngineDevice } from './gpu/device.ts';
import { GpuMambaModel, type EngineOptions } from './model.ts';

/** What a caller may watch while the weights stream in. */
export interface LoadObserver {
  /** A sink is about to be built for `config` at `precision` (once per attempt). */
  created?(config: AnyMambaConfig, precision: WeightDtype): void;
  /** Each tensor as it arrives, as f32, before the engine takes it. */
  tensor?(name: string, data: Float32Array): void;
  /** The half-built engine was destroyed because loading failed. */
  destroyed?(): void;
}

export interface OpenEngineOptions extends Omit<
  LoadOptions<EngineSink>,
  'createSink' | 'limits' | 'tokenizer'
> {
  /**
   * A device to use (the caller keeps owning it), or a function that opens one: a device opened here is
   * destroyed again when loading fails, so a failed load leaves nothing on the GPU.
   */
  device: EngineDevice | (() => Promise<EngineDevice>);
  /**
   * true: tokenizer.json must be there; false: not read; 'optional' (default): read when the source has one
   * (tiny test checkpoints ship none and run on byte ids).
   */
  tokenizer?: boolean | 'optional';
  /** Engine tuning (chunk size, kernel variant, …); the dtype is the loader's choice. */
  engine?: Omit<EngineOptions, 'dtype'>;
  observe?: LoadObserver;
}

/** The sink openEngine streams into: the engine itself. */
export interface EngineSink extends WeightSink {
  engine: GpuMambaModel;
}

export interface OpenedEngine extends Omit<LoadedModel<EngineSink>, 'sink'> {
  engine: GpuMambaModel;
  dev: EngineDevice;
  /** Each layer's A_log, kept from the stream: [d_inner, d_state] (Mamba-1) or [num_heads] (Mamba-2). */
  aLogs: Float32Array[];
}

export async function openEngine(source: ModelSource, opts: OpenEngineOptions): Promise<OpenedEngine> {
  const owned = typeof opts.device === 'function';
  const dev = typeof opts.device === 'function' ? await opts.device() : opts.device;
  const { observe, engine: tuning, tokenizer = 'optional', device: _device, ...loadOptions } = opts;
  const aLogs: Float32Array[] = [];
  const load = (withTokenizer: boolean) =>
    loadModel<EngineSink>(source, {
      ...loadOptions,
      tokenizer: withTokenizer,
      limits: dev.device.limits,
      createSink: async (config, precision) => {
        observe?.created?.(config, precision);
        const engine = await GpuMambaModel.create(dev, config, { ...tuning, dtype: precision });
        return {
          engine,
          uploadTensor(name: string, data: Float32Array) {
            observe?.tensor?.(name, data);
            const layer = aLogLayerOf(config, name);
            if (layer !== undefined) aLogs[layer] = data.slice();
            return engine.uploadTensor(name, data);
          },
          finalize: () => engine.finalize(),
          destroy: () => {
            engine.destroy();
            observe?.destroyed?.();
          },
        };
      },
    });
  try {
    // tokenizer.json is read before any weight, so trying again without it costs only config.json.
    const loaded = await load(tokenizer !== false).catch((e: unknown) => {
      const missingTokenizer =
        tokenizer === 'optional' &&
        e instanceof DownloadError &&
        e.failure === 'not-found' &&
        e.url.endsWith(TOKENIZER_FILE);
      if (!missingTokenizer) throw e;
      return load(false);
    });
    const { sink, ...rest } = loaded;
    return { ...rest, engine: sink.engine, dev, aLogs };
  } catch (e) {
    if (owned) dev.device.destroy();
    throw e;
  }
}

/** The adapter as one line for people: vendor, architecture, description. */
export function adapterName(dev: EngineDevice): string {
  const info = dev.adapterInfo;
  return [info.vendor, info.architecture, info.description].filter(Boolean).join(' ') || 'WebGPU adapter';
}
