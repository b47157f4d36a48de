/**
 * The engine Worker: owns the WebGPU engine, the tokenizer and every state tensor, so the page never blocks on
 * model work; the page holds ids and metadata. States are saved to the IndexedDB library (src/storage) as they
 * are made, and taken from it on the next visit when they were made with the same weights. Requests run
 * concurrently; a `cancel` aborts one (at its next step, or before it starts if it is still waiting), which is
 * how newer perplexity work supersedes older work instead of queueing behind it.
 */
import { mixStoredCpu } from '../engine/states/mix.ts';
import { rankStates } from '../engine/states/retrieval.ts';
import { exportStateFile, importStateFile, stateFileName } from '../engine/states/stateFile.ts';
import { shapeOfConfig, type StoredState } from '../engine/states/types.ts';
import type { MambaState } from '../engine/weights.ts';
import { bundledSource, filesSource, hubSource, type ModelSource as LoaderSource } from '../model/sources.ts';
import { StateLibrary } from '../storage/stateLibrary.ts';
import { DownloadError } from '../model/errors.ts';
import { bpeCodec, bytesCodec, type TextCodec } from './codec.ts';
import { openGpuBackend, type GpuBackend } from './gpu-backend.ts';
import { specOf } from './mix-recipe.ts';
import type {
  GeneratedToken,
  LayerNorms,
  MixRecipe,
  ModelInfo,
  ModelSource,
  StartState,
  StateSummary,
  WorkerRequest,
  WorkerResponse,
} from './protocol.ts';

const scope = self as unknown as {
  postMessage(m: WorkerResponse, transfer?: Transferable[]): void;
  onmessage: ((e: MessageEvent<WorkerRequest>) => void) | null;
};

interface Loaded {
  backend: GpuBackend;
  codec: TextCodec;
  info: ModelInfo;
  /** The retired "s1-" fingerprint of these weights, to recognise states saved by an older version. */
  legacyHash: string;
}

let model: Loaded | undefined;
const states = new Map<string, StoredState>();
/** States of texts read from zero (concatenations), by text; a few, most recent last. */
const textStates = new Map<string, MambaState>();
const running = new Map<number, AbortController>();
let library: Promise<StateLibrary | undefined> | undefined;

const post = (m: WorkerResponse, transfer: Transferable[] = []) => scope.postMessage(m, transfer);

/** The IndexedDB library, or undefined where IndexedDB is unavailable (states then last for the visit). */
function openLibrary(): Promise<StateLibrary | undefined> {
  library ??= StateLibrary.open().catch(() => undefined);
  return library;
}

function ready(): Loaded {
  if (!model) throw new Error('No model is loaded yet. Wait for "Model ready" or load a model.');
  return model;
}

function stored(key: string): StoredState {
  const s = states.get(key);
  if (!s) throw new Error(`That state is not ready yet: it is still being computed, or computing it failed.`);
  return s;
}

function mix(recipe: MixRecipe): MambaState {
  const { backend } = ready();
  const spec = specOf(recipe, backend.config.numLayers);
  return mixStoredCpu(
    recipe.sources.map((s) => stored(s.key)),
    spec,
    recipe.mode === 'adecay' ? backend.allALogs() : undefined,
  ).state;
}

async function startState(start: StartState, signal: AbortSignal): Promise<MambaState | null> {
  const { backend, codec } = ready();
  switch (start.kind) {
    case 'zero':
      return null;
    case 'stored':
      return stored(start.key).state;
    case 'mix':
      return start.recipe.sources.length === 0 ? null : mix(start.recipe);
    case 'text': {
      const hit = textStates.get(start.text);
      if (hit) return hit;
      const s = await backend.capture(codec.encode(start.text), { signal });
      textStates.set(start.text, s);
      if (textStates.size > 8) textStates.delete(textStates.keys().next().value!);
      return s;
    }
  }
}

function tokensOf(text: string) {
  const { codec } = ready();
  return codec.encode(text).map((id) => ({ id, text: codec.tokenText(id) }));
}

function norm(a: Float32Array) {
  let s = 0;
  for (const x of a) s += x * x;
  return Math.sqrt(s);
}

/** Dot products of the SSM states of `list`, one n × n matrix per layer (the inspector's cosines and PCA map). */
function ssmGrams(list: MambaState[]): number[][][] {
  const layers = list[0]?.layers.length ?? 0;
  return Array.from({ length: layers }, (_, l) => {
    const g = list.map(() => Array<number>(list.length).fill(0));
    for (let i = 0; i < list.length; i++) {
      const x = list[i]!.layers[l]!.ssm;
      for (let j = i; j < list.length; j++) {
        const y = list[j]!.layers[l]!.ssm;
        let dot = 0;
        for (let k = 0; k < x.length; k++) dot += x[k]! * y[k]!;
        g[i]![j] = dot;
        g[j]![i] = dot;
      }
    }
    return g;
  });
}

function perplexityOf(nll: Float32Array): number {
  if (nll.length === 0) return NaN;
  let s = 0;
  for (const x of nll) s += x;
  return Math.exp(s / nll.length);
}

function loaderSource(source: ModelSource): LoaderSource {
  switch (source.kind) {
    case 'bundled':
      return listedFilesOnly(bundledSource(source.folder, source.modelsUrl), source.files);
    case 'hub':
      return hubSource({ repo: source.repo, ...(source.hubUrl ? { hubUrl: source.hubUrl } : {}) });
    case 'files':
      return filesSource(source.files);
  }
}

/**
 * A bundled folder holds only the files its manifest lists. Static servers with a single-page-app fallback
 * answer any other path with index.html and status 200, which the loader would read as a corrupt
 * model.safetensors.index.json; with the list, an unlisted file is "not found" without a request.
 */
function listedFilesOnly(source: LoaderSource, files: string[] | undefined): LoaderSource {
  if (!files) return source;
  return {
    id: source.id,
    label: (f) => source.label(f),
    open: (f, opts) => {
      if (!files.includes(f)) {
        return Promise.reject(
          new DownloadError(`${source.label(f)} is not in the model's manifest.`, 'not-found', f),
        );
      }
      return source.open(f, opts);
    },
    ...(source.isCached ? { isCached: (f: string) => source.isCached!(f) } : {}),
  };
}

function modelIdOf(source: ModelSource): string {
  switch (source.kind) {
    case 'bundled':
      return source.id;
    case 'hub':
      return source.repo;
    case 'files':
      return (
        source.files.find((f) => f.name === 'config.json')?.webkitRelativePath.split('/')[0] || 'local files'
      );
  }
}

/** Saves to IndexedDB; returns a warning (full disk, no IndexedDB) instead of failing: the state still works. */
async function persist(s: StoredState): Promise<string | undefined> {
  const lib = await openLibrary();
  if (!lib)
    return 'This browser’s storage is unavailable, so the state lasts only for this visit (its text is kept).';
  try {
    await lib.save(s);
    return undefined;
  } catch (e) {
    return (e as Error).message;
  }
}

async function fromStorage(key: string, text: string): Promise<StoredState | undefined> {
  const { info } = ready();
  const lib = await openLibrary();
  if (!lib) return undefined;
  try {
    const s = await lib.load(key);
    if (s.meta.text !== text) return undefined;
    if (s.meta.weightsHash === info.weightsHash) return s;
    // Saved by an older version under the retired "s1-" fingerprint of these very weights (recomputed while
    // this model loaded): re-tag it with the one weights hash and save it back, so it is neither lost nor
    // recomputed. A state of other weights stays as it is and is recomputed from its text.
    if (s.meta.modelId !== info.id || s.meta.weightsHash !== model!.legacyHash) return undefined;
    const migrated: StoredState = { meta: { ...s.meta, weightsHash: info.weightsHash }, state: s.state };
    await lib.save(migrated).catch(() => undefined);
    return migrated;
  } catch {
    return undefined;
  }
}

async function handle(req: Exclude<WorkerRequest, { type: 'cancel' }>, signal: AbortSignal): Promise<void> {
  const { id } = req;
  const progress = (phase: string, done: number, total: number) =>
    post({ type: 'progress', id, phase, done, total });
  switch (req.type) {
    case 'load': {
      model?.backend.destroy();
      model = undefined;
      states.clear();
      textStates.clear();
      const r = await openGpuBackend(
        loaderSource(req.source),
        req.precision,
        (p) => {
          const phase =
            p.phase === 'weights'
              ? `${p.fromCache ? 'Reading cached' : 'Downloading'} ${p.file}`
              : p.phase === 'finalize'
                ? 'Preparing the GPU'
                : p.phase === 'metadata'
                  ? `Reading ${p.file}`
                  : 'Done';
          progress(phase, p.overallLoaded, p.overallTotal ?? 0);
        },
        (error) => {
          model = undefined;
          post({ type: 'fatal', id: 0, error: { name: error.name, message: error.message } });
        },
        signal,
      );
      const cfg = r.backend.config;
      const codec = r.tokenizer ? bpeCodec(r.tokenizer) : bytesCodec(cfg.vocabSize);
      const info: ModelInfo = {
        id: modelIdOf(req.source),
        description: '',
        layers: cfg.numLayers,
        dModel: cfg.hiddenSize,
        dState: cfg.stateSize,
        vocab: cfg.vocabSize,
        precision: r.precision,
        engine: 'webgpu',
        adapter: r.backend.adapter,
        tokenizer: codec.kind,
        stateBytes: cfg.numLayers * cfg.intermediateSize * (cfg.stateSize + cfg.convKernel) * 4,
        memoryBytes: r.estimateBytes,
        weightsHash: r.weightsHash,
        warnings: r.warnings,
      };
      model = { backend: r.backend, codec, info, legacyHash: r.legacyWeightsHash };
      post({ type: 'loaded', id, info });
      return;
    }
    case 'capture': {
      const { backend, codec, info } = ready();
      const kept = await fromStorage(req.key, req.text);
      if (kept) {
        states.set(req.key, kept);
        post({ type: 'captured', id, key: req.key, tokenCount: kept.meta.tokenCount, fromStorage: true });
        return;
      }
      const tokenIds = codec.encode(req.text);
      if (tokenIds.length === 0) throw new Error('The text has no tokens; type some text to make a state.');
      const state = await backend.capture(tokenIds, {
        signal,
        onProgress: (d, t) => progress('Reading text', d, t),
      });
      const s: StoredState = {
        meta: {
          id: req.key,
          name: req.name,
          modelId: info.id,
          weightsHash: info.weightsHash,
          shape: shapeOfConfig(backend.config),
          text: req.text,
          tokenIds,
          tokenCount: tokenIds.length,
          createdAt: Date.now(),
          ...(req.task ? { taskLabel: req.task } : {}),
        },
        state,
      };
      states.set(req.key, s);
      const warning = await persist(s);
      post({
        type: 'captured',
        id,
        key: req.key,
        tokenCount: tokenIds.length,
        fromStorage: false,
        ...(warning ? { warning } : {}),
      });
      return;
    }
    case 'importFile': {
      const { backend, info } = ready();
      const got = importStateFile(new Uint8Array(req.bytes), req.fileName, {
        modelId: info.id,
        weightsHash: info.weightsHash,
        shape: shapeOfConfig(backend.config),
      });
      const summaries: StateSummary[] = [];
      let warning: string | undefined;
      for (const s of got) {
        // Fresh ids: importing the same file twice gives two entries, never a silent overwrite.
        const key = `s-${crypto.randomUUID()}`;
        const copy: StoredState = {
          meta: { ...s.meta, id: key, origin: `import ${req.fileName}` },
          state: s.state,
        };
        states.set(key, copy);
        warning = (await persist(copy)) ?? warning;
        summaries.push({
          key,
          name: s.meta.name,
          text: s.meta.text,
          tokenCount: s.meta.tokenCount,
          ...(s.meta.taskLabel ? { task: s.meta.taskLabel } : {}),
        });
      }
      post({ type: 'imported', id, states: summaries, ...(warning ? { warning } : {}) });
      return;
    }
    case 'export': {
      const list = req.keys.map(stored);
      const bytes = exportStateFile(list);
      post({ type: 'exported', id, bytes, fileName: stateFileName(list) }, [bytes.buffer]);
      return;
    }
    case 'rename': {
      const s = states.get(req.key);
      if (s) s.meta = { ...s.meta, name: req.name };
      await (await openLibrary())?.updateMeta(req.key, { name: req.name }).catch(() => undefined);
      post({ type: 'done', id });
      return;
    }
    case 'drop':
      states.delete(req.key);
      await (await openLibrary())?.delete([req.key]).catch(() => undefined);
      post({ type: 'done', id });
      return;
    case 'tokenize':
      post({ type: 'tokenized', id, tokens: tokensOf(req.text) });
      return;
    case 'score': {
      const { backend } = ready();
      const t0 = performance.now();
      const start = await startState(req.start, signal);
      const tokens = tokensOf(req.text);
      const nll = await backend.score(
        start,
        tokens.map((t) => t.id),
        { signal },
      );
      post({
        type: 'scored',
        id,
        tokens,
        nll: Array.from(nll),
        perplexity: perplexityOf(nll),
        ms: performance.now() - t0,
      });
      return;
    }
    case 'sweep': {
      const { backend } = ready();
      const ids = tokensOf(req.text).map((t) => t.id);
      const points: { alpha: number; perplexity: number }[] = [];
      for (const [i, alpha] of req.alphas.entries()) {
        const recipe = {
          ...req.recipe,
          sources: req.recipe.sources.map((s) => (s.key === req.key ? { ...s, weight: alpha } : s)),
        };
        const nll = await backend.score(mix(recipe), ids, { signal });
        points.push({ alpha, perplexity: perplexityOf(nll) });
        progress('Sweeping', i + 1, req.alphas.length);
      }
      post({ type: 'swept', id, points });
      return;
    }
    case 'generate': {
      const { backend, codec } = ready();
      const t0 = performance.now();
      const start = await startState(req.start, signal);
      const prompt = codec.encode(req.query);
      if (prompt.length === 0) throw new Error('The query has no tokens; type a query to continue.');
      const view = (tid: number, prob: number, top: { id: number; prob: number }[]): GeneratedToken => ({
        id: tid,
        text: codec.tokenText(tid),
        prob,
        top: top.map((t) => ({ text: codec.tokenText(t.id), prob: t.prob })),
      });
      const steps = await backend.generate(start, prompt, req.sampling, codec.stopTokens, {
        signal,
        onStep: (s, index) => post({ type: 'token', id, index, token: view(s.id, s.prob, s.top) }),
      });
      post({
        type: 'generated',
        id,
        tokens: steps.map((s) => view(s.id, s.prob, s.top)),
        ms: performance.now() - t0,
      });
      return;
    }
    case 'retrieve': {
      const { backend, codec, info } = ready();
      const tokenIds = codec.encode(req.query);
      if (tokenIds.length === 0) throw new Error('The retrieval query has no tokens; type a query first.');
      // The query's state read from zero, the same way stored states were made (cached like concatenations).
      const state = (await startState({ kind: 'text', text: req.query }, signal))!;
      const query: StoredState = {
        meta: {
          id: 'retrieval-query',
          name: 'retrieval query',
          modelId: info.id,
          weightsHash: info.weightsHash,
          shape: shapeOfConfig(backend.config),
          text: req.query,
          tokenIds,
          tokenCount: tokenIds.length,
          createdAt: Date.now(),
        },
        state,
      };
      const library = req.keys.filter((k) => states.has(k)).map(stored);
      const hits = rankStates(query, library, { metric: req.metric, layer: req.layer });
      post({
        type: 'retrieved',
        id,
        hits: hits.map((h) => ({ key: h.state.meta.id, score: h.score })),
        queryTokens: tokenIds.length,
      });
      return;
    }
    case 'inspect': {
      const picked = req.keys.filter((k) => states.has(k));
      const norms: LayerNorms[] = picked.map((key) => {
        const s = stored(key).state;
        return { key, ssm: s.layers.map((l) => norm(l.ssm)), conv: s.layers.map((l) => norm(l.conv)) };
      });
      post({ type: 'inspected', id, norms, grams: ssmGrams(picked.map((k) => stored(k).state)) });
      return;
    }
  }
}

scope.onmessage = (e) => {
  const req = e.data;
  if (req.type === 'cancel') {
    running.get(req.target)?.abort();
    return;
  }
  const ctl = new AbortController();
  running.set(req.id, ctl);
  handle(req, ctl.signal)
    .catch((err: unknown) => {
      const error =
        err instanceof Error || err instanceof DOMException
          ? { name: err.name, message: err.message }
          : { name: 'Error', message: String(err) };
      post({ type: 'error', id: req.id, error });
    })
    .finally(() => running.delete(req.id));
};
