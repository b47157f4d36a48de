/**
 * The engine service: everything the engine worker does, as one class whose methods mirror the protocol's
 * requests (load, capture, score, generate, …) and return their final replies. It owns the loaded model
 * (GPU backend and tokenizer); states live in the StateCache and are saved through StatePersistence. Nothing
 * here touches `self` or postMessage, so the same service runs in the Worker (engine.worker.ts) and in Node on
 * Dawn (tests/worker-service.test.ts); the device and the library are passed in.
 */
import type { GpuMambaModel } from '../engine/model.ts';
import type { MambaTokenizer } from '../model/tokenizer.ts';
import { planStoredMix } from '../engine/states/mix.ts';
import { rankStates } from '../engine/states/retrieval.ts';
import { exportStateFile, importStateFile, stateFileName } from '../engine/states/stateFile.ts';
import { newStateId, shapeOfConfig, type StoredState } from '../engine/states/types.ts';
import { answerTokens, probabilityOfLast } from './answers.ts';
import type { RunStart } from './backend.ts';
import { generateUntil } from './generate-until.ts';
import { bpeCodec, bytesCodec } from './codec.ts';
import { GpuBackend, openGpuBackend } from './gpu-backend.ts';
import { layerNorms, perplexityOf, ssmGrams } from './inspect.ts';
import { specOf } from './mix-recipe.ts';
import { modelInfoOf, type LoadFacts } from './model-info.ts';
import { loaderSource, modelIdOf } from './model-source.ts';
import { StatePersistence } from './persistence.ts';
import type {
  FinalResponse,
  GeneratedToken,
  MixRecipe,
  ModelInfo,
  ReplyingRequest,
  ReplyTo,
  StartState,
  StateSummary,
} from './protocol.ts';
import { StateCache } from './state-cache.ts';
import { runStudySpec } from '../studies/request.ts';

import type { Call, EngineServiceOptions, Loaded, Reply, Req, ServiceMethods } from './service-types.ts';

export type { Call, EngineServiceOptions, ServiceMethods } from './service-types.ts';

export class EngineService implements ServiceMethods {
  private model: Loaded | undefined;
  private readonly states = new StateCache();
  private readonly persistence: StatePersistence;
  /** Running studies by request id: stopping one keeps its finished rows (cancel drops the reply). */
  private readonly studyStops = new Map<number, AbortController>();

  constructor(private readonly options: EngineServiceOptions) {
    this.persistence = new StatePersistence(options.openStore);
  }

  /** Runs `req` and gives its final reply; failures reject (the caller turns them into error replies). */
  async handle(req: ReplyingRequest, call: Call): Promise<FinalResponse> {
    switch (req.type) {
      case 'load':
        return this.load(req, call);
      case 'capture':
        return this.capture(req, call);
      case 'importFile':
        return this.importFile(req);
      case 'export':
        return this.export(req);
      case 'rename':
        return this.rename(req);
      case 'drop':
        return this.drop(req);
      case 'tokenize':
        return this.tokenize(req);
      case 'score':
        return this.score(req, call);
      case 'sweep':
        return this.sweep(req, call);
      case 'answerSweep':
        return this.answerSweep(req, call);
      case 'generate':
        return this.generate(req, call);
      case 'retrieve':
        return this.retrieve(req, call);
      case 'inspect':
        return this.inspect(req);
      case 'study':
        return this.study(req, call);
      case 'stopStudy':
        return this.stopStudy(req);
    }
  }

  /** Frees the GPU: the model and its device. */
  dispose(): void {
    this.model?.backend.destroy();
    this.model = undefined;
    this.states.clear();
  }

  async load(req: Req<'load'>, call: Call): Promise<Reply<'loaded'>> {
    this.dispose();
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
        call.progress(phase, p.overallLoaded, p.overallTotal ?? 0);
      },
      (error) => {
        this.model = undefined;
        this.states.useGpu(undefined);
        this.options.onFatal?.({ name: error.name, message: error.message });
      },
      call.signal,
      this.options.openDevice,
    );
    const info = this.install(r.backend, r.tokenizer, r.legacyWeightsHash, {
      id: modelIdOf(req.source),
      precision: r.precision,
      memoryBytes: r.estimateBytes,
      weightsHash: r.weightsHash,
      warnings: r.warnings,
    });
    return { type: 'loaded', id: req.id, info };
  }

  /** Serves an engine the caller opened (the benchmark) as if loaded; the engine and its device stay theirs. */
  adopt(engine: GpuMambaModel, aLogs: Float32Array[], id: string, tokenizer?: MambaTokenizer): ModelInfo {
    this.dispose();
    const backend = new GpuBackend(engine, aLogs, 'adopted', { destroyed: false, borrowed: true });
    const facts = { id, precision: engine.dtype, memoryBytes: 0, weightsHash: id, warnings: [] };
    return this.install(backend, tokenizer, id, facts);
  }

  private install(
    backend: GpuBackend,
    tokenizer: MambaTokenizer | undefined,
    legacyHash: string,
    facts: LoadFacts,
  ) {
    const codec = tokenizer ? bpeCodec(tokenizer) : bytesCodec(backend.config.vocabSize);
    const info = modelInfoOf(backend.config, backend.adapter, codec.kind, facts);
    this.model = { backend, codec, info, legacyHash };
    this.states.useGpu(backend.stateDevice, this.options.gpuStateBytes);
    return info;
  }

  async capture(req: Req<'capture'>, call: Call): Promise<Reply<'captured'>> {
    const { backend, codec, info, legacyHash } = this.ready();
    const kept = await this.persistence.find(req.key, req.text, {
      modelId: info.id,
      weightsHash: info.weightsHash,
      legacyHash,
    });
    if (kept) {
      this.states.put(req.key, kept);
      return {
        type: 'captured',
        id: req.id,
        key: req.key,
        tokenCount: kept.meta.tokenCount,
        fromStorage: true,
      };
    }
    const tokenIds = codec.encode(req.text);
    if (tokenIds.length === 0) throw new Error('The text has no tokens; type some text to make a state.');
    const state = await backend.capture(tokenIds, {
      signal: call.signal,
      onProgress: (d, t) => call.progress('Reading text', d, t),
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
    this.states.put(req.key, s);
    const warning = await this.persistence.save(s);
    return {
      type: 'captured',
      id: req.id,
      key: req.key,
      tokenCount: tokenIds.length,
      fromStorage: false,
      ...(warning ? { warning } : {}),
    };
  }

  async importFile(req: Req<'importFile'>): Promise<Reply<'imported'>> {
    const { backend, info } = this.ready();
    const got = importStateFile(new Uint8Array(req.bytes), req.fileName, {
      modelId: info.id,
      weightsHash: info.weightsHash,
      shape: shapeOfConfig(backend.config),
    });
    const summaries: StateSummary[] = [];
    let warning: string | undefined;
    for (const s of got) {
      // Fresh ids: importing the same file twice gives two entries, never a silent overwrite.
      const key = newStateId();
      const copy: StoredState = {
        meta: { ...s.meta, id: key, origin: `import ${req.fileName}` },
        state: s.state,
      };
      this.states.put(key, copy);
      warning = (await this.persistence.save(copy)) ?? warning;
      summaries.push({
        key,
        name: s.meta.name,
        text: s.meta.text,
        tokenCount: s.meta.tokenCount,
        ...(s.meta.taskLabel ? { task: s.meta.taskLabel } : {}),
      });
    }
    return { type: 'imported', id: req.id, states: summaries, ...(warning ? { warning } : {}) };
  }

  async export(req: Req<'export'>): Promise<Reply<'exported'>> {
    const list = await this.states.storedMany(req.keys);
    return { type: 'exported', id: req.id, bytes: exportStateFile(list), fileName: stateFileName(list) };
  }

  async rename(req: Req<'rename'>): Promise<Reply<'done'>> {
    this.states.rename(req.key, req.name);
    await this.persistence.rename(req.key, req.name);
    return { type: 'done', id: req.id };
  }

  async drop(req: Req<'drop'>): Promise<Reply<'done'>> {
    this.states.drop(req.key);
    await this.persistence.drop(req.key);
    return { type: 'done', id: req.id };
  }

  tokenize(req: Req<'tokenize'>): Reply<'tokenized'> {
    return { type: 'tokenized', id: req.id, tokens: this.tokensOf(req.text) };
  }

  async score(req: Req<'score'>, call: Call): Promise<Reply<'scored'>> {
    const { backend } = this.ready();
    const t0 = performance.now();
    const start = await this.startState(req.start, call.signal);
    const tokens = this.tokensOf(req.text);
    const nll = await backend.score(
      start,
      tokens.map((t) => t.id),
      // Progress lets the page show tokens/s and an ETA for a long evaluation text.
      { signal: call.signal, onProgress: (d, t) => call.progress('Scoring', d, t) },
    );
    return {
      type: 'scored',
      id: req.id,
      tokens,
      nll: Array.from(nll),
      perplexity: perplexityOf(nll),
      ms: performance.now() - t0,
    };
  }

  async sweep(req: Req<'sweep'>, call: Call): Promise<Reply<'swept'>> {
    const { backend } = this.ready();
    const ids = this.tokensOf(req.text).map((t) => t.id);
    const points: { alpha: number; perplexity: number }[] = [];
    for (const [i, alpha] of req.alphas.entries()) {
      const recipe = {
        ...req.recipe,
        sources: req.recipe.sources.map((s) => (s.key === req.key ? { ...s, weight: alpha } : s)),
      };
      const nll = await backend.score(await this.mix(recipe), ids, { signal: call.signal });
      points.push({ alpha, perplexity: perplexityOf(nll) });
      call.progress('Sweeping', i + 1, req.alphas.length);
    }
    return { type: 'swept', id: req.id, points };
  }

  async answerSweep(req: Req<'answerSweep'>, call: Call): Promise<Reply<'answersSwept'>> {
    const { backend, codec } = this.ready();
    if (req.query === '') throw new Error('The query is empty; the answers are scored after a query.');
    const answers = req.answers.map((a) => answerTokens((t) => codec.encode(t), req.query, a));
    const textIds = req.text ? codec.encode(req.text) : [];
    const points: Reply<'answersSwept'>['points'] = [];
    for (const [i, alpha] of req.alphas.entries()) {
      const start = await this.mix({
        sources: [
          { key: req.a, weight: 1 - alpha },
          { key: req.b, weight: alpha },
        ],
        mode: 'weighted',
        normalize: false,
        parts: { ssm: true, conv: true },
        profile: 'uniform',
      });
      const probs: number[] = [];
      for (const a of answers) {
        const nll = await backend.score(start, a.ids, { signal: call.signal });
        probs.push(probabilityOfLast(nll, a.answerCount));
      }
      const perplexity =
        textIds.length > 1 ? perplexityOf(await backend.score(start, textIds, { signal: call.signal })) : NaN;
      points.push({ alpha, probs, perplexity });
      call.progress('Sweeping', i + 1, req.alphas.length);
    }
    return { type: 'answersSwept', id: req.id, points };
  }

  async generate(req: Req<'generate'>, call: Call): Promise<Reply<'generated'>> {
    const { backend, codec } = this.ready();
    const t0 = performance.now();
    const start = await this.startState(req.start, call.signal);
    const prompt = codec.encode(req.query);
    if (prompt.length === 0) throw new Error('The query has no tokens; type a query to continue.');
    const view = (tid: number, prob: number, top: { id: number; prob: number }[]): GeneratedToken => ({
      id: tid,
      text: codec.tokenText(tid),
      prob,
      top: top.map((t) => ({ text: codec.tokenText(t.id), prob: t.prob })),
    });
    const steps = await generateUntil(req.stop, call.signal, (signal, onStep) =>
      backend.generate(start, prompt, req.sampling, codec.stopTokens, {
        signal,
        onStep: (s, index) => {
          const token = view(s.id, s.prob, s.top);
          if (onStep(s, token.text)) call.token(index, token);
        },
      }),
    );
    return {
      type: 'generated',
      id: req.id,
      tokens: steps.map((s) => view(s.id, s.prob, s.top)),
      ms: performance.now() - t0,
    };
  }

  async retrieve(req: Req<'retrieve'>, call: Call): Promise<Reply<'retrieved'>> {
    const { backend, codec, info } = this.ready();
    const tokenIds = codec.encode(req.query);
    if (tokenIds.length === 0) throw new Error('The retrieval query has no tokens; type a query first.');
    // The query's state read from zero, the same way stored states were made (cached like concatenations).
    const state = await this.textState(req.query, call.signal);
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
    const hits = rankStates(query, await this.states.readyOf(req.keys), {
      metric: req.metric,
      layer: req.layer,
    });
    return {
      type: 'retrieved',
      id: req.id,
      hits: hits.map((h) => ({ key: h.state.meta.id, score: h.score })),
      queryTokens: tokenIds.length,
    };
  }

  async inspect(req: Req<'inspect'>): Promise<Reply<'inspected'>> {
    const keys = this.states.readyKeys(req.keys);
    const states = (await this.states.storedMany(keys)).map((s) => s.state);
    return {
      type: 'inspected',
      id: req.id,
      norms: keys.map((k, i) => layerNorms(k, states[i]!)),
      grams: ssmGrams(states),
    };
  }

  /** The stored states kept on the GPU now, least recently used first, and the bytes they take. */
  residentStates(): { keys: string[]; bytes: number } {
    return { keys: this.states.residentKeys(), bytes: this.states.residentBytes() };
  }

  private ready(): Loaded {
    if (!this.model) throw new Error('No model is loaded yet. Wait for "Model ready" or load a model.');
    return this.model;
  }

  private tokensOf(text: string) {
    const { codec } = this.ready();
    return codec.encode(text).map((id) => ({ id, text: codec.tokenText(id) }));
  }

  /** The mix of `recipe`, made on the GPU from the sources' resident copies when the run starts. */
  private async mix(recipe: MixRecipe): Promise<RunStart> {
    const { backend } = this.ready();
    const keys = recipe.sources.map((s) => s.key);
    // Checked now, on the host copies' metadata, so a bad recipe fails before it waits for the GPU.
    const plan = planStoredMix(await this.states.storedMany(keys), specOf(recipe, backend.config.numLayers));
    return (dst) => backend.mixInto(this.states.onGpu(keys), plan, dst);
  }

  /** Stops the running study between units; its own reply then carries the rows that finished. */
  stopStudy(req: Req<'stopStudy'>): ReplyTo<'stopStudy'> {
    for (const stop of this.studyStops.values()) stop.abort();
    return { type: 'done', id: req.id };
  }

  async study(req: Req<'study'>, call: Call): Promise<Reply<'studied'>> {
    const { backend, codec, info } = this.ready();
    const stop = new AbortController();
    const onCancel = () => stop.abort();
    call.signal.addEventListener('abort', onCancel);
    this.studyStops.set(req.id, stop);
    try {
      const result = await backend.withEngine(call.signal, (engine) =>
        runStudySpec(
          {
            engine,
            tokenizer: { encode: (t) => codec.encode(t), decode: (ids) => codec.decode(Array.from(ids)) },
            aLogs: backend.allALogs(),
            info: {
              id: info.id,
              weightsHash: info.weightsHash,
              adapter: info.adapter,
              dtype: info.precision,
              layers: info.layers,
              dModel: info.dModel,
            },
          },
          req.spec,
          { signal: stop.signal, onProgress: (p) => call.progress(p.label, p.done, p.total) },
        ),
      );
      return { type: 'studied', id: req.id, result };
    } finally {
      call.signal.removeEventListener('abort', onCancel);
      this.studyStops.delete(req.id);
    }
  }

  private async startState(start: StartState, signal: AbortSignal): Promise<RunStart> {
    this.ready();
    switch (start.kind) {
      case 'zero':
        return null;
      case 'stored':
        return this.states.startOf(start.key);
      case 'mix':
        return start.recipe.sources.length === 0 ? null : this.mix(start.recipe);
      case 'text':
        return this.textState(start.text, signal);
    }
  }

  private textState(text: string, signal: AbortSignal) {
    const { backend, codec } = this.ready();
    return this.states.textState(text, () => backend.capture(codec.encode(text), { signal }));
  }
}
