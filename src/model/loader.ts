/**
 * Loads a Mamba checkpoint of either family (by config.json's model_type: "mamba" or "mamba2") from any ModelSource into a WeightSink (the GPU model): config.json is read and
 * validated, the memory estimate checked, tokenizer.json loaded, then the safetensors file (or the shards its
 * index lists) streamed tensor by tensor into the sink. Every tensor is checked against config.json before its
 * bytes are read; the first failure destroys the half-built sink, so nothing stays on the GPU, and a cached
 * file that proves corrupt is evicted so loading again starts clean.
 */
import type { WeightDtype } from '../engine/api.ts';
import { EMBEDDING_NAME } from './architectures/mamba1.ts';
import { DownloadError, ModelFormatError } from './errors.ts';
import {
  familyLabel,
  familyOf,
  parseModelConfig,
  tensorKindOf,
  tensorShapesOf,
  type AnyMambaConfig,
} from './family.ts';
import { pythonJsonToJson } from './mamba2Config.ts';
import { assertFits, defaultPrecision, type DeviceLimits, type MemoryEstimate } from './memory.ts';
import { RateMeter } from './progress.ts';
import type { SafetensorsHeader, TensorInfo } from './safetensors.ts';
import { readAllText, type ModelSource, type OpenedFile } from './sources.ts';
import {
  streamSafetensors,
  unsupportedDtype,
  weightToFloat32,
  WEIGHT_DTYPES,
  type ByteChunks,
} from './stream.ts';
import { MambaTokenizer } from './tokenizer.ts';

/**
 * Where weights go. `GpuMambaModel` (src/engine/model.ts) is one: `uploadTensor` per Hugging Face tensor
 * name, `finalize` when all are in, `destroy` to free everything if loading fails.
 */
export interface WeightSink {
  uploadTensor(name: string, data: Float32Array): void | Promise<void>;
  finalize(): void | Promise<void>;
  destroy(): void;
}

export type PrecisionChoice = WeightDtype | 'auto';

export interface LoadProgress {
  phase: 'metadata' | 'weights' | 'finalize' | 'done';
  /** The file being read, as named in messages. */
  file: string;
  fileIndex: number;
  fileCount: number;
  /** Bytes of this file read so far, and its size when known. */
  loaded: number;
  total: number | undefined;
  /** Over all weight files. */
  overallLoaded: number;
  overallTotal: number | undefined;
  percent: number | undefined;
  bytesPerSecond: number;
  secondsLeft: number | undefined;
  fromCache: boolean;
  tensorsDone: number;
  tensorsTotal: number;
}

export interface LoadOptions<S extends WeightSink> {
  /** Builds the sink once the precision is known (after the first safetensors header). */
  createSink: (config: AnyMambaConfig, precision: WeightDtype) => S | Promise<S>;
  /** 'auto' (default): f16 above 500 MB of f32 weights, else the checkpoint's own. */
  precision?: PrecisionChoice;
  /** The adapter's limits: the estimate is checked against them before any weight is downloaded. */
  limits?: DeviceLimits;
  /** 'auto' keeps models under 500 MB in f32 even from F16/BF16 files (software adapters: see defaultPrecision). */
  preferF32?: boolean;
  /** GPU memory the caller knows to be available; above it the model is refused before downloading. */
  memoryBudgetBytes?: number;
  /** Load tokenizer.json too (default true). */
  tokenizer?: boolean;
  signal?: AbortSignal;
  onProgress?: (p: LoadProgress) => void;
  /**
   * Least time between two 'weights' progress events (default 100 ms): an 11 GB download arrives in ~170,000
   * chunks, far more updates than a progress bar needs. The last event of each file is always sent.
   */
  progressIntervalMs?: number;
  /** Non-fatal problems (the cache is full): the model still loads. */
  onWarning?: (message: string) => void;
}

export interface LoadedFile {
  file: string;
  bytes: number;
  fromCache: boolean;
}

export interface LoadedModel<S extends WeightSink> {
  source: string;
  sink: S;
  config: AnyMambaConfig;
  tokenizer: MambaTokenizer | undefined;
  precision: WeightDtype;
  /** The dtype the checkpoint stores its weights in (F32, F16, BF16). */
  checkpointDtype: string;
  estimate: MemoryEstimate;
  files: LoadedFile[];
  warnings: string[];
}

export const CONFIG_FILE = 'config.json';
export const TOKENIZER_FILE = 'tokenizer.json';
export const WEIGHTS_FILE = 'model.safetensors';
export const INDEX_FILE = 'model.safetensors.index.json';

const EVICTED = ' The cached copy was removed, so loading again downloads it afresh.';

export async function loadModel<S extends WeightSink>(
  source: ModelSource,
  opts: LoadOptions<S>,
): Promise<LoadedModel<S>> {
  const { signal } = opts;
  const warnings: string[] = [];
  const files: LoadedFile[] = [];
  const warn = (m: string) => {
    warnings.push(m);
    opts.onWarning?.(m);
  };
  const label = (f: string) => source.label(f);
  let sink: S | undefined;

  const emit = (p: Partial<LoadProgress> & Pick<LoadProgress, 'phase' | 'file'>) =>
    opts.onProgress?.({
      fileIndex: 0,
      fileCount: 1,
      loaded: 0,
      total: undefined,
      overallLoaded: 0,
      overallTotal: undefined,
      percent: undefined,
      bytesPerSecond: 0,
      secondsLeft: undefined,
      fromCache: false,
      tensorsDone: 0,
      tensorsTotal: 0,
      ...p,
    });

  /** Reads a small JSON file, validates it with `parse`, then stores it in the cache. */
  async function readSmall<T>(file: string, parse: (text: string) => T): Promise<T> {
    signal?.throwIfAborted();
    emit({ phase: 'metadata', file: label(file) });
    const opened = await source.open(file, { signal });
    try {
      const text = await readAllText(opened.body);
      const value = parse(text);
      const w = await opened.commit();
      if (w) warn(w);
      files.push({ file, bytes: new TextEncoder().encode(text).byteLength, fromCache: opened.fromCache });
      return value;
    } catch (e) {
      throw await failed(opened, e);
    }
  }

  async function failed(opened: OpenedFile, e: unknown): Promise<unknown> {
    opened.abort(e);
    if (e instanceof ModelFormatError && opened.fromCache && opened.evict) {
      await opened.evict().catch(() => undefined);
      return new ModelFormatError(e.message + EVICTED);
    }
    return e;
  }

  try {
    const config = await readSmall(CONFIG_FILE, (text) =>
      // Python writes an infinite time_step_limit as a bare Infinity, which JSON.parse refuses.
      parseModelConfig(parseJson(pythonJsonToJson(text), label(CONFIG_FILE)), label(CONFIG_FILE)),
    );
    const choice = opts.precision ?? 'auto';
    // Before the header says the checkpoint's dtype, 'auto' is judged at its larger possible size.
    const provisional: WeightDtype = choice === 'auto' ? defaultPrecision(config, 'F32') : choice;
    let estimate = assertFits(config, provisional, opts.limits, opts.memoryBudgetBytes, source.id);

    let tokenizer: MambaTokenizer | undefined;
    if (opts.tokenizer !== false) {
      tokenizer = await readSmall(TOKENIZER_FILE, (text) =>
        MambaTokenizer.fromJSON(text, label(TOKENIZER_FILE)),
      );
      if (tokenizer.vocabSize > config.vocabSize) {
        throw new ModelFormatError(
          `${label(TOKENIZER_FILE)} has ${tokenizer.vocabSize} tokens but ${label(CONFIG_FILE)} gives the model a vocabulary of ${config.vocabSize}; they belong to different models.`,
        );
      }
    }

    const expected = tensorShapesOf(config);
    const plan = await planWeightFiles(source, expected, readSmall, familyLabel(familyOf(config)));
    const tensorsTotal = expected.size;
    const uploaded = new Set<string>();
    let precision: WeightDtype | undefined;
    let checkpointDtype = 'F32';
    let overallLoaded = 0;
    const meter = new RateMeter();
    const interval = opts.progressIntervalMs ?? 100;
    let lastReport = -Infinity;

    for (const [fileIndex, file] of plan.files.entries()) {
      signal?.throwIfAborted();
      const name = label(file);
      const opened = await source.open(file, { signal }).catch((e: unknown) => {
        if (plan.files.length === 1 && e instanceof DownloadError && e.failure === 'not-found') {
          throw new DownloadError(
            `${source.id} has neither ${WEIGHTS_FILE} nor ${INDEX_FILE}${/^https?:/.test(e.url) ? ` (not found at ${e.url})` : ''}. Only safetensors checkpoints can be loaded: pick a repo that has them (the state-spaces/mamba-*-hf repos do), or convert pytorch_model.bin to safetensors first.`,
            'not-found',
            e.url,
            e.status,
          );
        }
        throw e;
      });
      const total = opened.size;
      const overallTotal = plan.files.length === 1 ? total : plan.totalBytes;
      let loaded = 0;
      const report = (phase: LoadProgress['phase'], force = false) => {
        const now = performance.now();
        if (!force && now - lastReport < interval) return;
        lastReport = now;
        const t = overallTotal !== undefined ? Math.max(overallTotal, overallLoaded) : undefined;
        const rate = meter.update(overallLoaded, t);
        emit({
          phase,
          file: name,
          fileIndex,
          fileCount: plan.files.length,
          loaded,
          total,
          overallLoaded,
          overallTotal: t,
          percent: t ? (100 * overallLoaded) / t : undefined,
          ...rate,
          fromCache: opened.fromCache,
          tensorsDone: uploaded.size,
          tensorsTotal,
        });
      };
      const counted = countBytes(
        opened.body,
        (n) => {
          loaded += n;
          overallLoaded += n;
          report('weights');
        },
        signal,
      );
      try {
        await streamSafetensors(counted, {
          file: name,
          fileSize: total,
          signal,
          onHeader: async (header) => {
            checkHeader(header, name, expected, plan.inFile(file), config);
            if (!sink) {
              checkpointDtype = headerDtype(header, expected);
              precision =
                choice === 'auto' ? defaultPrecision(config, checkpointDtype, opts.preferF32) : choice;
              estimate = assertFits(config, precision, opts.limits, opts.memoryBudgetBytes, source.id);
              sink = await opts.createSink(config, precision);
            }
          },
          want: (t) => expected.has(t.name) && !uploaded.has(t.name),
          onTensor: async (t, bytes) => {
            const data = weightToFloat32(bytes, t.dtype, name, t.name);
            await sink!.uploadTensor(t.name, data);
            uploaded.add(t.name);
            report('weights');
          },
        });
        report('weights', true);
        const w = await opened.commit();
        if (w) warn(w);
        files.push({ file, bytes: loaded, fromCache: opened.fromCache });
      } catch (e) {
        throw await failed(opened, e);
      }
    }

    for (const n of expected.keys()) {
      if (!uploaded.has(n)) {
        throw new ModelFormatError(
          `${source.id}: no weight file holds tensor "${n}" that ${CONFIG_FILE} requires.`,
        );
      }
    }
    emit({ phase: 'finalize', file: source.id, tensorsDone: uploaded.size, tensorsTotal });
    await sink!.finalize();
    emit({ phase: 'done', file: source.id, tensorsDone: uploaded.size, tensorsTotal, percent: 100 });
    return {
      source: source.id,
      sink: sink!,
      config,
      tokenizer,
      precision: precision!,
      checkpointDtype,
      estimate,
      files,
      warnings,
    };
  } catch (e) {
    // Nothing half-loaded stays on the GPU.
    try {
      sink?.destroy();
    } catch {
      /* the original error matters more */
    }
    throw e; // an AbortError stays an AbortError: the caller tells a cancel from a failure by its name
  }
}

function parseJson(text: string, file: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    throw new ModelFormatError(
      `${file} is not valid JSON; the file is corrupt or is not a model file. Download it again.`,
    );
  }
}

interface WeightPlan {
  files: string[];
  /** Tensors the plan expects in `file` (all of them for a single file). */
  inFile(file: string): (name: string) => boolean;
  /** Sum of tensor bytes from the index's metadata, when sharded. */
  totalBytes: number | undefined;
}

/**
 * One model.safetensors, or the shards model.safetensors.index.json lists. The cache is asked first so a
 * cached model loads offline whichever layout it has.
 */
async function planWeightFiles(
  source: ModelSource,
  expected: Map<string, number[]>,
  readSmall: <T>(file: string, parse: (text: string) => T) => Promise<T>,
  family: string,
): Promise<WeightPlan> {
  const single: WeightPlan = { files: [WEIGHTS_FILE], inFile: () => () => true, totalBytes: undefined };
  if (await source.isCached?.(WEIGHTS_FILE)) return single;
  const label = source.label(INDEX_FILE);
  let index: { weight_map: Record<string, string>; metadata?: { total_size?: number } };
  try {
    index = await readSmall(INDEX_FILE, (text) => {
      const raw = parseJson(text, label) as { weight_map?: unknown; metadata?: { total_size?: number } };
      const map = raw.weight_map;
      if (typeof map !== 'object' || map === null || Array.isArray(map)) {
        throw new ModelFormatError(`${label} has no "weight_map" object; it is not a safetensors index.`);
      }
      for (const [tensor, shard] of Object.entries(map as Record<string, unknown>)) {
        if (typeof shard !== 'string' || !/^[\w.-]+\.safetensors$/.test(shard) || shard.includes('..')) {
          throw new ModelFormatError(
            `${label}: tensor "${tensor}" maps to ${JSON.stringify(shard)}, which is not a shard file name.`,
          );
        }
      }
      return raw as typeof index;
    });
  } catch (e) {
    if (e instanceof DownloadError && e.failure === 'not-found') return single;
    throw e;
  }
  const map = index.weight_map;
  for (const name of expected.keys()) {
    if (!(name in map)) {
      throw new ModelFormatError(
        `${label} does not list tensor "${name}" that ${CONFIG_FILE} requires; the checkpoint is incomplete or not a ${family} model.`,
      );
    }
  }
  const files = [...new Set(Object.values(map))].sort();
  const total = index.metadata?.total_size;
  return {
    files,
    inFile: (file) => (name) => map[name] === file,
    totalBytes: typeof total === 'number' && total > 0 ? total : undefined,
  };
}

/** Refuses, before any tensor data is read, a file whose tensors do not match config.json. */
function checkHeader(
  header: SafetensorsHeader,
  file: string,
  expected: Map<string, number[]>,
  belongsHere: (name: string) => boolean,
  config: AnyMambaConfig,
): void {
  for (const [name, shape] of expected) {
    if (!belongsHere(name)) continue;
    const t = header.tensors.get(name);
    const kind = tensorKindOf(config, name);
    if (!t) {
      const why = kind === 'lmHead' ? ' (config.json says the embeddings are not tied)' : '';
      throw new ModelFormatError(`${file} is missing tensor "${name}" that config.json requires${why}.`);
    }
    if (!WEIGHT_DTYPES.includes(t.dtype)) throw new ModelFormatError(unsupportedDtype(file, name, t.dtype));
    const same = t.shape.length === shape.length && t.shape.every((d, i) => d === shape[i]);
    if (!same) {
      const vocabHint =
        kind === 'embedding' || kind === 'lmHead'
          ? ` (vocab_size is ${config.vocabSize}, hidden_size ${config.hiddenSize})`
          : '';
      throw new ModelFormatError(
        `${file}: tensor "${name}" has shape [${t.shape.join(', ')}] but config.json implies [${shape.join(', ')}]${vocabHint}.`,
      );
    }
  }
}

/** The checkpoint's storage dtype, taken from its embedding (or its first expected tensor). */
function headerDtype(header: SafetensorsHeader, expected: Map<string, number[]>): string {
  const emb = header.tensors.get(EMBEDDING_NAME);
  if (emb) return emb.dtype;
  for (const name of expected.keys()) {
    const t: TensorInfo | undefined = header.tensors.get(name);
    if (t) return t.dtype;
  }
  return 'F32';
}

/** Passes chunks through, reporting their sizes and stopping promptly when the signal aborts. */
async function* countBytes(
  body: ByteChunks,
  onBytes: (n: number) => void,
  signal: AbortSignal | undefined,
): AsyncGenerator<Uint8Array> {
  if (body instanceof ReadableStream) {
    const reader = body.getReader();
    try {
      for (;;) {
        signal?.throwIfAborted();
        const { done, value } = await reader.read();
        if (done) return;
        onBytes(value.byteLength);
        yield value;
      }
    } finally {
      await reader.cancel().catch(() => undefined);
      reader.releaseLock();
    }
  } else {
    for await (const chunk of body) {
      signal?.throwIfAborted();
      onBytes(chunk.byteLength);
      yield chunk;
    }
  }
}
