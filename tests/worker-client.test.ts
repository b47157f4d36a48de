/**
 * The page's worker client over a real MessageChannel (Node's structured clone and event loop, no GPU): the
 * far port plays the worker, answering only when a test tells it to, so the order of messages is the test's.
 * Lanes: newer work supersedes older work in the same lane (the older promise rejects at once and the worker
 * is told to cancel it; its late reply is dropped), different lanes leave each other alone, a finished
 * request frees its lane. Errors, progress, tokens and fatal messages reach the page. The request → reply
 * pairs are checked by tsc: the `@ts-expect-error` lines below fail type-checking if a mismatch compiles.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { EngineClient, isAbort, type EnginePort } from '../src/worker/client.ts';
import type { WorkerRequest, WorkerResponse } from '../src/worker/protocol.ts';

/** The worker's end: every request it receives, and a way to answer. */
function fakeWorkerEnd(port: MessagePort) {
  const received: WorkerRequest[] = [];
  const waiters: (() => void)[] = [];
  port.onmessage = (e: MessageEvent<WorkerRequest>) => {
    received.push(e.data);
    waiters.splice(0).forEach((w) => w());
  };
  return {
    received,
    /** Resolves once `n` messages have arrived. */
    async receivedCount(n: number) {
      while (received.length < n) await new Promise<void>((r) => waiters.push(r));
      return received;
    },
    reply: (m: WorkerResponse) => port.postMessage(m),
  };
}

let open: MessageChannel[] = [];
afterEach(() => {
  for (const c of open) {
    c.port1.close();
    c.port2.close();
  }
  open = [];
});

function connect() {
  const channel = new MessageChannel();
  open.push(channel);
  const port: EnginePort = {
    postMessage: (m, transfer) => channel.port1.postMessage(m, transfer),
    onmessage: null,
    onerror: null,
    terminate: () => channel.port1.close(),
  };
  channel.port1.onmessage = (e) => port.onmessage?.(e as MessageEvent<WorkerResponse>);
  return { client: new EngineClient(port), worker: fakeWorkerEnd(channel.port2) };
}

const scored = (id: number, perplexity: number): WorkerResponse => ({
  type: 'scored',
  id,
  tokens: [],
  nll: [],
  perplexity,
  ms: 1,
});

describe('the worker client', () => {
  it('numbers requests and resolves each with its own reply', async () => {
    const { client, worker } = connect();
    const a = client.request('tokenized', { type: 'tokenize', text: 'a' });
    const b = client.request('tokenized', { type: 'tokenize', text: 'b' });
    const [ra, rb] = await worker.receivedCount(2);
    expect(ra).toMatchObject({ type: 'tokenize', text: 'a' });
    expect(rb).toMatchObject({ type: 'tokenize', text: 'b' });
    expect(ra!.id).not.toBe(rb!.id);
    // Answered out of order: each promise still gets its own reply.
    worker.reply({ type: 'tokenized', id: rb!.id, tokens: [{ id: 98, text: 'b' }] });
    worker.reply({ type: 'tokenized', id: ra!.id, tokens: [{ id: 97, text: 'a' }] });
    expect((await a).tokens[0]!.text).toBe('a');
    expect((await b).tokens[0]!.text).toBe('b');
  });

  it('supersedes older work in the same lane: it rejects at once, the worker is told, its late reply is dropped', async () => {
    const { client, worker } = connect();
    const older = client.request(
      'scored',
      { type: 'score', start: { kind: 'zero' }, text: 'x' },
      { lane: 'score' },
    );
    const olderDone = older.then(
      () => 'resolved',
      (e: unknown) => (isAbort(e) ? 'aborted' : `failed: ${String(e)}`),
    );
    const newer = client.request(
      'scored',
      { type: 'score', start: { kind: 'zero' }, text: 'xy' },
      { lane: 'score' },
    );
    expect(await olderDone).toBe('aborted');
    const [first, cancel, second] = await worker.receivedCount(3);
    expect(first).toMatchObject({ type: 'score', text: 'x' });
    expect(cancel).toMatchObject({ type: 'cancel', target: first!.id });
    expect(second).toMatchObject({ type: 'score', text: 'xy' });
    // The worker finished the old one anyway: its reply must not reach the newer promise.
    worker.reply(scored(first!.id, 111));
    worker.reply(scored(second!.id, 222));
    expect((await newer).perplexity).toBe(222);
  });

  it('leaves other lanes alone, and frees a lane when its request finishes', async () => {
    const { client, worker } = connect();
    const score = client.request(
      'scored',
      { type: 'score', start: { kind: 'zero' }, text: 's' },
      { lane: 'score' },
    );
    const sweep = client.request(
      'swept',
      {
        type: 'sweep',
        recipe: {
          sources: [],
          mode: 'mean',
          normalize: true,
          parts: { ssm: true, conv: true },
          profile: 'uniform',
        },
        key: 'k',
        alphas: [0],
        text: 's',
      },
      { lane: 'sweep' },
    );
    const [a, b] = await worker.receivedCount(2);
    worker.reply(scored(a!.id, 5));
    worker.reply({ type: 'swept', id: b!.id, points: [{ alpha: 0, perplexity: 6 }] });
    expect((await score).perplexity).toBe(5);
    expect((await sweep).points[0]!.perplexity).toBe(6);
    // The score lane is free again: a new request in it cancels nothing.
    const again = client.request(
      'scored',
      { type: 'score', start: { kind: 'zero' }, text: 't' },
      { lane: 'score' },
    );
    const got = await worker.receivedCount(3);
    expect(got[2]).toMatchObject({ type: 'score', text: 't' });
    worker.reply(scored(got[2]!.id, 7));
    expect((await again).perplexity).toBe(7);
    expect(worker.received.filter((m) => m.type === 'cancel')).toEqual([]);
  });

  it('delivers errors with their class name, progress and tokens in order, and fatal errors', async () => {
    const { client, worker } = connect();
    const seen: string[] = [];
    const gen = client.request(
      'generated',
      {
        type: 'generate',
        start: { kind: 'zero' },
        query: 'q',
        sampling: { temperature: 0, topK: 0, topP: 1, seed: 1, maxNewTokens: 2 },
      },
      {
        onProgress: (phase, done, total) => seen.push(`${phase} ${done}/${total}`),
        onToken: (index, token) => seen.push(`token ${index} ${token.text}`),
      },
    );
    const failing = client.request('captured', { type: 'capture', key: 'k', name: 'n', text: '' });
    const [g, c] = await worker.receivedCount(2);
    worker.reply({
      type: 'error',
      id: c!.id,
      error: { name: 'GpuOutOfMemoryError', message: 'Out of GPU memory.' },
    });
    await expect(failing).rejects.toMatchObject({
      name: 'GpuOutOfMemoryError',
      message: 'Out of GPU memory.',
    });
    worker.reply({ type: 'progress', id: g!.id, phase: 'Reading', done: 1, total: 2 });
    const tok = { id: 65, text: 'A', prob: 0.5, top: [] };
    worker.reply({ type: 'token', id: g!.id, index: 0, token: tok });
    worker.reply({ type: 'token', id: g!.id, index: 1, token: { ...tok, text: 'B' } });
    worker.reply({ type: 'generated', id: g!.id, tokens: [tok, { ...tok, text: 'B' }], ms: 3 });
    expect((await gen).tokens.map((t) => t.text)).toEqual(['A', 'B']);
    expect(seen).toEqual(['Reading 1/2', 'token 0 A', 'token 1 B']);

    const fatal = new Promise((r) => (client.onFatal = r));
    worker.reply({ type: 'fatal', id: 0, error: { name: 'GpuDeviceLostError', message: 'lost' } });
    expect(await fatal).toEqual({ name: 'GpuDeviceLostError', message: 'lost' });
  });

  it('cancelLane rejects the lane’s request and tells the worker', async () => {
    const { client, worker } = connect();
    const p = client.request('inspected', { type: 'inspect', keys: [] }, { lane: 'inspect' });
    client.cancelLane('inspect');
    await expect(p).rejects.toMatchObject({ name: 'AbortError' });
    const [req, cancel] = await worker.receivedCount(2);
    expect(cancel).toMatchObject({ type: 'cancel', target: req!.id });
  });
});

/** Never run: tsc checks that mismatched request → reply pairs do not compile. */
export function mismatchedPairsDoNotTypeCheck(client: EngineClient) {
  const sampling = { temperature: 0, topK: 0, topP: 1, seed: 0, maxNewTokens: 1 };
  // @ts-expect-error a generate request ends in 'generated', not 'scored'
  void client.request('scored', { type: 'generate', start: { kind: 'zero' }, query: 'q', sampling });
  // @ts-expect-error a score request ends in 'scored'
  void client.request('generated', { type: 'score', start: { kind: 'zero' }, text: 't' });
  // @ts-expect-error capture ends in 'captured'
  void client.request('done', { type: 'capture', key: 'k', name: 'n', text: 't' });
  // @ts-expect-error rename ends in 'done'
  void client.request('captured', { type: 'rename', key: 'k', name: 'n' });
  // @ts-expect-error cancel is not a request with a reply
  void client.request('done', { type: 'cancel', target: 1 });
  // @ts-expect-error a request's fields are checked against its type
  void client.request('tokenized', { type: 'tokenize', query: 'q' });
  // @ts-expect-error 'progress' is never a final reply
  void client.request('progress', { type: 'load', source: { kind: 'hub', repo: 'r' }, precision: 'auto' });
  // The right pairs compile, 'done' for both rename and drop.
  void client.request('done', { type: 'rename', key: 'k', name: 'n' });
  void client.request('done', { type: 'drop', key: 'k' });
  void client.request('generated', { type: 'generate', start: { kind: 'zero' }, query: 'q', sampling });
}
