/**
 * The engine worker's service, run for real in Node: the bundled model (public/models) served over HTTP as
 * the app serves it, loaded onto Dawn's adapter (SwiftShader here) through the same EngineService and
 * RequestDispatcher the Worker uses, with an in-memory state library standing in for IndexedDB. Replies are
 * checked against values computed here independently: the weights hash from the safetensors file, token
 * counts from the tokenizer, perplexity from the returned losses, a continuation scored from a stored state
 * against the same tokens scored from zero.
 */
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadTokenizerFromDir } from '../src/model/node.ts';
import type { MambaTokenizer } from '../src/model/tokenizer.ts';
import { NO_STORAGE_WARNING } from '../src/worker/persistence.ts';
import type { MixRecipe, ModelSource } from '../src/worker/protocol.ts';
import { hashesOfModelDir } from './helpers/bundled-hashes.ts';
import { serveBundledModel, type HubServer } from './helpers/hub-server.ts';
import { MemoryStore, serviceHost } from './helpers/service-host.ts';

const FOLDER = 'soup-mamba-4.6m';
const DIR = join(import.meta.dirname, '../public/models', FOLDER);

let server: HubServer;
let source: Extract<ModelSource, { kind: 'bundled' }>;
let tokenizer: MambaTokenizer;

beforeAll(async () => {
  ({ server, source } = await serveBundledModel(DIR, FOLDER));
  tokenizer = await loadTokenizerFromDir(DIR);
});

afterAll(async () => {
  await server?.close();
});

const A = 'The king went to the city and spoke to the people.';
const B = ' They listened to him and went home.';
const greedy = { temperature: 0, topK: 0, topP: 1, seed: 1, maxNewTokens: 6 };
const mixOf = (sources: { key: string; weight: number }[]): MixRecipe => ({
  sources,
  mode: 'weighted',
  normalize: false,
  parts: { ssm: true, conv: true },
  profile: 'uniform',
});

describe('the engine service on a real adapter (bundled model)', () => {
  const store = new MemoryStore();
  const h = serviceHost(async () => store);
  const expected = hashesOfModelDir(DIR);
  afterAll(() => h.service.dispose());

  it('answers requests before a model is loaded with a clear error', async () => {
    const e = await h.failure({ type: 'score', start: { kind: 'zero' }, text: A });
    expect(e.message).toMatch(/No model is loaded yet/);
  });

  it('loads the model, reporting progress and the weights hash of the file', async () => {
    const replies = await h.send({ type: 'load', source, precision: 'auto' }).replies;
    const loaded = replies.at(-1)!;
    if (loaded.type !== 'loaded') throw new Error(JSON.stringify(loaded));
    expect(loaded.info).toMatchObject({
      id: FOLDER,
      layers: 8,
      dModel: 256,
      tokenizer: 'bpe',
      engine: 'webgpu',
    });
    expect(loaded.info.weightsHash).toBe(expected.w2);
    const progress = replies.filter((m) => m.type === 'progress');
    expect(progress.length).toBeGreaterThan(0);
    expect(progress.some((m) => m.type === 'progress' && m.phase.includes('model.safetensors'))).toBe(true);
  });

  it('saves a state, tokenized as the tokenizer does, and keeps it in the library', async () => {
    const r = await h.final('captured', { type: 'capture', key: 'a', name: 'A', text: A });
    expect(r).toMatchObject({ key: 'a', fromStorage: false, tokenCount: tokenizer.encode(A).length });
    expect(r.warning).toBeUndefined();
    expect(store.saved.get('a')?.meta.weightsHash).toBe(expected.w2);
    const t = await h.final('tokenized', { type: 'tokenize', text: B });
    expect(t.tokens.map((x) => x.id)).toEqual(tokenizer.encode(B));
  });

  it('scores from a stored state as reading its text first does', async () => {
    const ids = [...tokenizer.encode(A), ...tokenizer.encode(B)];
    // The concatenation must tokenize as the two parts do, or the comparison below means nothing.
    expect(tokenizer.encode(A + B)).toEqual(ids);
    const fromZero = await h.final('scored', { type: 'score', start: { kind: 'zero' }, text: A + B });
    const fromA = await h.final('scored', { type: 'score', start: { kind: 'stored', key: 'a' }, text: B });
    const n = tokenizer.encode(B).length;
    expect(fromA.nll).toHaveLength(n - 1);
    const tail = fromZero.nll.slice(-(n - 1));
    for (let i = 0; i < n - 1; i++) expect(fromA.nll[i]).toBeCloseTo(tail[i]!, 3);
    const mean = fromA.nll.reduce((s, x) => s + x, 0) / fromA.nll.length;
    expect(fromA.perplexity).toBeCloseTo(Math.exp(mean), 5);
    // The text start reads A from zero, as capture did.
    const fromText = await h.final('scored', { type: 'score', start: { kind: 'text', text: A }, text: B });
    for (let i = 0; i < n - 1; i++) expect(fromText.nll[i]).toBeCloseTo(fromA.nll[i]!, 5);
  });

  it('mixes: a single source at weight 1 scores as the state itself, weight 0 as the zero state', async () => {
    const stored = await h.final('scored', { type: 'score', start: { kind: 'stored', key: 'a' }, text: B });
    const zero = await h.final('scored', { type: 'score', start: { kind: 'zero' }, text: B });
    const one = await h.final('scored', {
      type: 'score',
      start: { kind: 'mix', recipe: mixOf([{ key: 'a', weight: 1 }]) },
      text: B,
    });
    const none = await h.final('scored', {
      type: 'score',
      start: { kind: 'mix', recipe: mixOf([{ key: 'a', weight: 0 }]) },
      text: B,
    });
    expect(one.nll).toEqual(stored.nll);
    for (let i = 0; i < zero.nll.length; i++) expect(none.nll[i]).toBeCloseTo(zero.nll[i]!, 4);
    expect(Math.abs(stored.perplexity - zero.perplexity)).toBeGreaterThan(1e-3);
    const sweep = await h.final('swept', {
      type: 'sweep',
      recipe: mixOf([{ key: 'a', weight: 0.3 }]),
      key: 'a',
      alphas: [0, 1],
      text: B,
    });
    expect(sweep.points.map((p) => p.alpha)).toEqual([0, 1]);
    expect(sweep.points[1]!.perplexity).toBeCloseTo(stored.perplexity, 4);
    expect(sweep.points[0]!.perplexity).toBeCloseTo(zero.perplexity, 3);
  });

  it('sweeps answer probabilities: at α = 0 and 1 each state alone, the product over the answer tokens', async () => {
    const U = 'hot->HOT\nbig->BIG\n';
    const P = 'cat->cats\ndog->dogs\n';
    await h.final('captured', { type: 'capture', key: 'u', name: 'U', text: U });
    await h.final('captured', { type: 'capture', key: 'p', name: 'P', text: P });
    const query = 'trace->';
    const answers = ['TRACE', 'traces'];
    const text = 'absorb->ABSORB\nact->acts\n';
    const r = await h.final('answersSwept', {
      type: 'answerSweep',
      a: 'u',
      b: 'p',
      alphas: [0, 0.5, 1],
      query,
      answers,
      text,
    });
    expect(r.points.map((p) => p.alpha)).toEqual([0, 0.5, 1]);
    // Independently: score query + answer from each stored state; the answer's tokens are the last ones,
    // counted with the tokenizer here (the split must hold, or the count below would not be the answer's).
    const nq = tokenizer.encode(query).length;
    for (const [i, key] of [
      [0, 'u'],
      [2, 'p'],
    ] as const) {
      for (const [j, answer] of answers.entries()) {
        const ids = tokenizer.encode(query + answer);
        expect(ids.slice(0, nq)).toEqual(tokenizer.encode(query));
        const scored = await h.final('scored', {
          type: 'score',
          start: { kind: 'stored', key },
          text: query + answer,
        });
        const logp = scored.nll.slice(-(ids.length - nq)).reduce((s, x) => s + x, 0);
        expect(r.points[i]!.probs[j]).toBeCloseTo(Math.exp(-logp), 4);
      }
      const ppl = await h.final('scored', { type: 'score', start: { kind: 'stored', key }, text });
      expect(r.points[i]!.perplexity).toBeCloseTo(ppl.perplexity, 3);
    }
    // The bundled model reads these two prompts as the two tasks: each end prefers its own task's answer.
    expect(r.points[0]!.probs[0]).toBeGreaterThan(r.points[0]!.probs[1]!);
    expect(r.points[2]!.probs[1]).toBeGreaterThan(r.points[2]!.probs[0]!);
  });

  it('generates greedily, streaming the tokens it returns, the same each time', async () => {
    const body = {
      type: 'generate',
      start: { kind: 'stored', key: 'a' },
      query: ' The',
      sampling: greedy,
    } as const;
    const replies = await h.send(body).replies;
    const done = replies.at(-1)!;
    if (done.type !== 'generated') throw new Error(JSON.stringify(done));
    expect(done.tokens.length).toBeGreaterThan(0);
    expect(done.tokens.length).toBeLessThanOrEqual(greedy.maxNewTokens);
    const streamed = replies.flatMap((m) => (m.type === 'token' ? [m.token] : []));
    expect(streamed).toEqual(done.tokens);
    for (const t of done.tokens) expect(t.text).toBe(tokenizer.decode([t.id]));
    const again = await h.final('generated', body);
    expect(again.tokens.map((t) => t.id)).toEqual(done.tokens.map((t) => t.id));
  });

  it('stops at a stop sequence: the end of the line ends a task answer, the same tokens up to it', async () => {
    // Three examples of a task and a query: the greedy continuation answers, then starts another line.
    const body = {
      type: 'generate',
      start: { kind: 'zero' },
      query: 'hot->cold\nbig->small\nfast->slow\nhigh->',
      sampling: { ...greedy, maxNewTokens: 16 },
    } as const;
    const free = await h.final('generated', body);
    const texts = free.tokens.map((t) => t.text);
    const eol = texts.findIndex((t) => t.includes('\n'));
    // The case under test: a newline before the last token, so stopping there must leave tokens out.
    expect(eol).toBeGreaterThanOrEqual(0);
    expect(eol).toBeLessThan(texts.length - 1);
    const replies = await h.send({ ...body, stop: '\n' }).replies;
    const done = replies.at(-1)!;
    if (done.type !== 'generated') throw new Error(JSON.stringify(done));
    expect(done.tokens.map((t) => t.id)).toEqual(free.tokens.slice(0, eol + 1).map((t) => t.id));
    // Only the kept tokens were streamed.
    expect(replies.filter((m) => m.type === 'token')).toHaveLength(eol + 1);
    // Any sequence: the tokens up to the first whose text completes "->" (it may span two tokens).
    const upTo = texts.findIndex((_, i) =>
      texts
        .slice(0, i + 1)
        .join('')
        .includes('->'),
    );
    expect(upTo).toBeGreaterThan(eol);
    const arrow = await h.final('generated', { ...body, stop: '->' });
    expect(arrow.tokens.map((t) => t.id)).toEqual(free.tokens.slice(0, upTo + 1).map((t) => t.id));
  });

  it('supersedes: a cancelled request ends in an AbortError, and the next one runs', async () => {
    // Cancelled before it reaches the GPU.
    const early = h.send({ type: 'score', start: { kind: 'zero' }, text: A + B });
    h.cancel(early.id);
    const next = h.send({ type: 'score', start: { kind: 'zero' }, text: B });
    expect((await early.replies).at(-1)).toMatchObject({ type: 'error', error: { name: 'AbortError' } });
    expect((await next.replies).at(-1)?.type).toBe('scored');
    // Cancelled mid-run, after its first streamed token.
    const sampling = { ...greedy, maxNewTokens: 200 };
    let cancelled = false;
    const long = h.send({ type: 'generate', start: { kind: 'zero' }, query: A, sampling }, (m) => {
      if (m.type === 'token' && !cancelled) {
        cancelled = true;
        h.cancel(long.id);
      }
    });
    const replies = await long.replies;
    expect(replies.at(-1)).toMatchObject({ type: 'error', error: { name: 'AbortError' } });
    expect(replies.filter((m) => m.type === 'token').length).toBeLessThan(sampling.maxNewTokens);
    expect((await h.send({ type: 'tokenize', text: B }).replies).at(-1)?.type).toBe('tokenized');
  });

  it('inspects and retrieves from the stored states', async () => {
    await h.final('captured', { type: 'capture', key: 'b', name: 'B', text: B });
    const ins = await h.final('inspected', { type: 'inspect', keys: ['a', 'missing', 'b'] });
    expect(ins.norms.map((n) => n.key)).toEqual(['a', 'b']);
    expect(ins.grams).toHaveLength(8);
    for (let l = 0; l < 8; l++) {
      expect(ins.grams[l]![0]![0]).toBeCloseTo(ins.norms[0]!.ssm[l]! ** 2, 1);
      expect(ins.grams[l]![0]![1]).toBe(ins.grams[l]![1]![0]);
    }
    const r = await h.final('retrieved', {
      type: 'retrieve',
      query: B,
      keys: ['a', 'b'],
      metric: 'cosine',
      layer: 'all',
    });
    expect(r.hits[0]).toMatchObject({ key: 'b' });
    expect(r.hits[0]!.score).toBeCloseTo(1, 4);
    expect(r.queryTokens).toBe(tokenizer.encode(B).length);
  });

  it('exports and imports a state file under fresh keys; renames and drops', async () => {
    const out = await h.final('exported', { type: 'export', keys: ['a'] });
    const bytes = out.bytes.slice().buffer;
    const imp = await h.final('imported', { type: 'importFile', bytes, fileName: out.fileName });
    expect(imp.states).toHaveLength(1);
    const copy = imp.states[0]!;
    expect(copy.key).not.toBe('a');
    expect(copy).toMatchObject({ name: 'A', text: A, tokenCount: tokenizer.encode(A).length });
    const ins = await h.final('inspected', { type: 'inspect', keys: ['a', copy.key] });
    expect(ins.norms[1]!.ssm).toEqual(ins.norms[0]!.ssm);
    await h.final('done', { type: 'rename', key: copy.key, name: 'copy' });
    expect(store.saved.get(copy.key)?.meta.name).toBe('copy');
    await h.final('done', { type: 'drop', key: copy.key });
    expect(store.saved.has(copy.key)).toBe(false);
    const e = await h.failure({ type: 'score', start: { kind: 'stored', key: copy.key }, text: B });
    expect(e.message).toMatch(/not ready yet/);
  });

  it('replies with errors that say what to do, and keeps working', async () => {
    expect((await h.failure({ type: 'capture', key: 'e', name: 'E', text: '' })).message).toMatch(
      /no tokens/,
    );
    expect(
      (await h.failure({ type: 'generate', start: { kind: 'zero' }, query: '', sampling: greedy })).message,
    ).toMatch(/no tokens/);
    const noParts = { ...mixOf([{ key: 'a', weight: 1 }]), parts: { ssm: false, conv: false } };
    const e = await h.failure({ type: 'score', start: { kind: 'mix', recipe: noParts }, text: B });
    expect(e).toMatchObject({ name: 'RangeError' });
    expect(e.message).toMatch(/at least one part/);
    const bad = await h.failure({
      type: 'importFile',
      bytes: new Uint8Array([1, 2, 3]).buffer,
      fileName: 'x.safetensors',
    });
    expect(bad.message.length).toBeGreaterThan(10);
    expect(
      (await h.final('scored', { type: 'score', start: { kind: 'stored', key: 'a' }, text: B })).nll.length,
    ).toBe(tokenizer.encode(B).length - 1);
    expect(h.fatal).toEqual([]);
  });
});

describe('the engine service and the state library across visits', () => {
  const expected = hashesOfModelDir(DIR);

  it('takes a saved state back, re-tags one saved under the retired fingerprint, and warns without storage', async () => {
    const store = new MemoryStore();
    const first = serviceHost(async () => store);
    await first.final('loaded', { type: 'load', source, precision: 'auto' });
    await first.final('captured', { type: 'capture', key: 'a', name: 'A', text: A });
    const made = store.saved.get('a')!;
    // An older version's copy of the same state, tagged with the "s1-" fingerprint of these weights.
    store.saved.set('old', {
      meta: { ...made.meta, id: 'old', weightsHash: expected.s1 },
      state: made.state,
    });
    // And one of other weights: it must be recomputed, not taken.
    store.saved.set('other', {
      meta: { ...made.meta, id: 'other', weightsHash: 'w2-other' },
      state: made.state,
    });
    first.service.dispose();

    const second = serviceHost(async () => store);
    await second.final('loaded', { type: 'load', source, precision: 'auto' });
    const again = await second.final('captured', { type: 'capture', key: 'a', name: 'A', text: A });
    expect(again.fromStorage).toBe(true);
    const old = await second.final('captured', { type: 'capture', key: 'old', name: 'A', text: A });
    expect(old.fromStorage).toBe(true);
    expect(store.saved.get('old')!.meta.weightsHash).toBe(expected.w2);
    const other = await second.final('captured', { type: 'capture', key: 'other', name: 'A', text: A });
    expect(other.fromStorage).toBe(false);
    // Another text under the same key: recomputed.
    const changed = await second.final('captured', { type: 'capture', key: 'a', name: 'A', text: B });
    expect(changed.fromStorage).toBe(false);
    second.service.dispose();

    const noStorage = serviceHost(() => Promise.reject(new Error('IndexedDB is unavailable')));
    await noStorage.final('loaded', { type: 'load', source, precision: 'auto' });
    const r = await noStorage.final('captured', { type: 'capture', key: 'a', name: 'A', text: A });
    expect(r).toMatchObject({ fromStorage: false, warning: NO_STORAGE_WARNING });
    expect(
      (await noStorage.final('scored', { type: 'score', start: { kind: 'stored', key: 'a' }, text: B })).type,
    ).toBe('scored');
    noStorage.service.dispose();
  });

  it('reports a model that is not there as a failed load, and loads nothing', async () => {
    const h = serviceHost(async () => new MemoryStore());
    const e = await h.failure({
      type: 'load',
      source: { ...source, folder: 'no-such-model' },
      precision: 'auto',
    });
    expect(e.name).toBe('DownloadError');
    expect((await h.failure({ type: 'tokenize', text: A })).message).toMatch(/No model is loaded yet/);
  });
});
