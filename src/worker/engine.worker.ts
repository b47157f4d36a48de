/**
 * The engine Worker: owns the backend (WebGPU engine or CPU reference), the tokenizer and every state
 * tensor, so the page never blocks on model work. Stored states are kept here keyed by library id; the page
 * holds only ids and metadata. Requests run concurrently; a `cancel` aborts one at its next step, which is
 * how newer perplexity work supersedes older work instead of queueing behind it.
 */
import type { MambaState } from '../engine/weights.ts';
import type { Backend } from './backend.ts';
import { bpeCodec, bytesCodec, type TextCodec } from './codec.ts';
import { createBackend } from './create-backend.ts';
import { loadModelFiles } from './load.ts';
import { mixStates } from './mix.ts';
import type {
  GeneratedToken,
  LayerNorms,
  ModelInfo,
  StartState,
  WorkerRequest,
  WorkerResponse,
} from './protocol.ts';

const scope = self as unknown as {
  postMessage(m: WorkerResponse): void;
  onmessage: ((e: MessageEvent<WorkerRequest>) => void) | null;
};

let backend: Backend | undefined;
let codec: TextCodec | undefined;
const states = new Map<string, MambaState>();
/** States of texts read from zero (concatenations), by text; small, most recent last. */
const textStates = new Map<string, MambaState>();
const running = new Map<number, AbortController>();

const post = (m: WorkerResponse) => scope.postMessage(m);

function ready(): { backend: Backend; codec: TextCodec } {
  if (!backend || !codec) throw new Error('No model is loaded yet. Wait for "Model ready" or load a model.');
  return { backend, codec };
}

async function startState(start: StartState, signal: AbortSignal): Promise<MambaState | null> {
  const { backend: b, codec: c } = ready();
  switch (start.kind) {
    case 'zero':
      return null;
    case 'stored':
      return stored(start.key);
    case 'mix':
      return mixStates(
        b.config,
        start.recipe.sources.map((s) => stored(s.key)),
        start.recipe,
        (l) => b.aLog(l),
      );
    case 'text': {
      const hit = textStates.get(start.text);
      if (hit) return hit;
      const s = await b.capture(c.encode(start.text), { signal });
      textStates.set(start.text, s);
      if (textStates.size > 8) textStates.delete(textStates.keys().next().value!);
      return s;
    }
  }
}

function stored(key: string): MambaState {
  const s = states.get(key);
  if (!s) throw new Error(`State ${key} is not in the worker yet; it is still being computed or failed.`);
  return s;
}

function tokensOf(text: string) {
  const { codec: c } = ready();
  return c.encode(text).map((id) => ({ id, text: c.tokenText(id) }));
}

function norm(a: Float32Array, from = 0, to = a.length) {
  let s = 0;
  for (let i = from; i < to; i++) s += a[i]! * a[i]!;
  return Math.sqrt(s);
}

function flatSsm(s: MambaState): Float32Array[] {
  return s.layers.map((l) => l.ssm);
}

function cosine(a: MambaState, b: MambaState): number {
  let dot = 0;
  let na = 0;
  let nb = 0;
  const la = flatSsm(a);
  const lb = flatSsm(b);
  la.forEach((x, l) => {
    const y = lb[l]!;
    for (let i = 0; i < x.length; i++) {
      dot += x[i]! * y[i]!;
      na += x[i]! * x[i]!;
      nb += y[i]! * y[i]!;
    }
  });
  return na > 0 && nb > 0 ? dot / Math.sqrt(na * nb) : 0;
}

function perplexityOf(nll: Float32Array): number {
  if (nll.length === 0) return NaN;
  let s = 0;
  for (const x of nll) s += x;
  return Math.exp(s / nll.length);
}

async function handle(req: Exclude<WorkerRequest, { type: 'cancel' }>, signal: AbortSignal): Promise<void> {
  const { id } = req;
  const progress = (phase: string, done: number, total: number) =>
    post({ type: 'progress', id, phase, done, total });
  switch (req.type) {
    case 'load': {
      backend?.destroy();
      backend = undefined;
      codec = undefined;
      states.clear();
      textStates.clear();
      const files = await loadModelFiles(req.source, progress, signal);
      const made = await createBackend(files, req.precision, progress, (error) =>
        post({ type: 'fatal', id: 0, error: { name: error.name, message: error.message } }),
      );
      backend = made;
      codec = files.tokenizerJson ? bpeCodec(files.tokenizerJson) : bytesCodec(files.config.vocabSize);
      const cfg = files.config;
      const info: ModelInfo = {
        id: files.id,
        description: '',
        layers: cfg.numLayers,
        dModel: cfg.hiddenSize,
        dState: cfg.stateSize,
        vocab: cfg.vocabSize,
        precision: made.kind === 'webgpu' ? req.precision : 'f32',
        engine: made.kind,
        adapter: made.adapter,
        tokenizer: codec.kind,
        stateBytes: cfg.numLayers * cfg.intermediateSize * (cfg.stateSize + cfg.convKernel - 1 + 1) * 4,
      };
      post({ type: 'loaded', id, info });
      return;
    }
    case 'capture': {
      const { backend: b, codec: c } = ready();
      const tokens = c.encode(req.text);
      const s = await b.capture(tokens, { signal, onProgress: (d, t) => progress('Reading text', d, t) });
      states.set(req.key, s);
      post({ type: 'captured', id, key: req.key, tokenCount: tokens.length });
      return;
    }
    case 'import':
      ready();
      states.set(req.key, req.state);
      post({ type: 'captured', id, key: req.key, tokenCount: 0 });
      return;
    case 'export':
      post({ type: 'exported', id, key: req.key, state: stored(req.key) });
      return;
    case 'drop':
      states.delete(req.key);
      post({ type: 'done', id });
      return;
    case 'tokenize':
      post({ type: 'tokenized', id, tokens: tokensOf(req.text) });
      return;
    case 'score': {
      const { backend: b } = ready();
      const t0 = performance.now();
      const start = await startState(req.start, signal);
      const tokens = tokensOf(req.text);
      const nll = await b.score(
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
      const { backend: b } = ready();
      const ids = tokensOf(req.text).map((t) => t.id);
      const points: { alpha: number; perplexity: number }[] = [];
      for (const [i, alpha] of req.alphas.entries()) {
        const recipe = {
          ...req.recipe,
          sources: req.recipe.sources.map((s) => (s.key === req.key ? { ...s, weight: alpha } : s)),
        };
        const start = mixStates(
          b.config,
          recipe.sources.map((s) => stored(s.key)),
          recipe,
          (l) => b.aLog(l),
        );
        const nll = await b.score(start, ids, { signal });
        points.push({ alpha, perplexity: perplexityOf(nll) });
        progress('Sweeping', i + 1, req.alphas.length);
      }
      post({ type: 'swept', id, points });
      return;
    }
    case 'generate': {
      const { backend: b, codec: c } = ready();
      const t0 = performance.now();
      const start = await startState(req.start, signal);
      const view = (tid: number, prob: number, top: { id: number; prob: number }[]): GeneratedToken => ({
        id: tid,
        text: c.tokenText(tid),
        prob,
        top: top.map((t) => ({ text: c.tokenText(t.id), prob: t.prob })),
      });
      const steps = await b.generate(start, c.encode(req.query), req.sampling, c.stopTokens, {
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
    case 'inspect': {
      const picked = req.keys.filter((k) => states.has(k));
      const norms: LayerNorms[] = picked.map((key) => {
        const s = stored(key);
        return { key, ssm: s.layers.map((l) => norm(l.ssm)), conv: s.layers.map((l) => norm(l.conv)) };
      });
      const similarity = picked.map((a) => picked.map((b) => cosine(stored(a), stored(b))));
      post({ type: 'inspected', id, norms, similarity });
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
