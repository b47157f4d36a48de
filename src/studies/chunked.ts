/**
 * Study 2, chunked context (PAPER.md experiment 1): each document is tokenized once; its last `continuation`
 * tokens are scored (the first read, the rest predicted, as `soup score` does) from a state built from the
 * tokens before them, split into K chunks of equal length (the remainder going to the last chunk), each
 * chunk read from the zero state:
 *  - zero: the zero state;  full: the whole context read in order (the reference);
 *  - last: the last chunk's state;  mean: the mean of the chunks' states;  adecay: A-decay composition in order;
 *  - order-avg: the A-decay-composed SSM states averaged over orderings of the chunks (PICASO), with the
 *    conv state the chunks' mean; every order for K ≤ 6, else `orderSamples` seeded random orders.
 * Rows are token-weighted over the documents: tokens and Σ NLL summed, nll = Σ NLL / tokens.
 */
import type { MambaState } from '../engine/weights.ts';
import { isAbort, StudyRunner, type StudyHooks, type StudyModel, checkCounts } from './context.ts';
import { ordersFor } from './orders.ts';
import { seedFor } from './random.ts';
import { finish, newRecord, type RunRecord } from './record.ts';
import { StudyInputError } from './tasks.ts';

export const CHUNKED_METHODS = ['zero', 'last', 'mean', 'adecay', 'order-avg', 'full'] as const;
export type ChunkedMethod = (typeof CHUNKED_METHODS)[number];

export interface StudyDocument {
  name: string;
  text: string;
  source: string;
}

export interface ChunkedSettings {
  documents: StudyDocument[];
  chunks: number[];
  continuation: number;
  /** Orders sampled for order-avg when K > 6. */
  orderSamples?: number;
  seed?: number;
}

export interface ChunkedRow {
  chunks: number;
  method: ChunkedMethod;
  tokens: number;
  nll: number;
  ppl: number;
}

export interface ChunkedResult {
  documents: number;
  rows: ChunkedRow[];
  run: RunRecord;
}

export const CHUNKED_DEFAULTS = { chunks: [2, 4, 8], continuation: 128, orderSamples: 720, seed: 1 };

/** K chunks of equal length floor(n/K) over `context`; the remainder goes to the last. */
export function splitChunks(context: number[], k: number): number[][] {
  const len = Math.floor(context.length / k);
  return Array.from({ length: k }, (_, i) =>
    context.slice(i * len, i === k - 1 ? context.length : (i + 1) * len),
  );
}

/** The order-averaged A-decay composition: SSM averaged over `orders`, conv the mean, Σ Δ the sum. */
export function orderAverage(runner: StudyRunner, states: MambaState[], orders: number[][]): MambaState {
  const acc = states[0]!.layers.map((l) => new Float64Array(l.ssm.length));
  for (const order of orders) {
    const composed = runner.mix(
      order.map((i) => states[i]!),
      { mode: 'adecay', conv: 'zero' },
    );
    composed.layers.forEach((l, li) => {
      const a = acc[li]!;
      for (let e = 0; e < a.length; e++) a[e]! += l.ssm[e]!;
    });
  }
  const mean = runner.mix(states, { mode: 'mean' });
  const summed = runner.mix(states, { mode: 'adecay', conv: 'zero' });
  return {
    layers: mean.layers.map((l, li) => ({
      ssm: Float32Array.from(acc[li]!, (x) => x / orders.length),
      conv: l.conv,
      dtSum: summed.layers[li]!.dtSum,
    })),
  };
}

export async function runChunked(
  model: StudyModel,
  s: ChunkedSettings,
  hooks: StudyHooks = {},
): Promise<ChunkedResult> {
  if (s.documents.length === 0) throw new StudyInputError('Give at least one document (a text file).');
  checkCounts(s.chunks, 'Chunks');
  checkCounts([s.continuation], 'The continuation', 2);
  const orderSamples = s.orderSamples ?? CHUNKED_DEFAULTS.orderSamples;
  const seed = s.seed ?? CHUNKED_DEFAULTS.seed;
  const kMax = Math.max(...s.chunks);
  const runner = new StudyRunner(model, s.documents.length * s.chunks.length, hooks);
  const docs = s.documents.map((d) => {
    if (d.text.trim() === '') throw new StudyInputError(`${d.source} is empty: give a text to score.`);
    const tokens = model.tokenizer.encode(d.text);
    if (tokens.length < s.continuation + kMax) {
      throw new StudyInputError(
        `${d.source} has ${tokens.length} tokens; a continuation of ${s.continuation} and ${kMax} chunks of at least one token need ${s.continuation + kMax}. Use a longer text or lower --continuation.`,
      );
    }
    const cut = tokens.length - s.continuation;
    return { ...d, context: tokens.slice(0, cut), continuation: tokens.slice(cut) };
  });
  const orderCounts: Record<string, { orders: number; exact: boolean }> = {};
  for (const k of s.chunks) {
    const o = ordersFor(k, orderSamples, seedFor(seed, 'orders', k));
    orderCounts[k] = { orders: o.orders.length, exact: o.exact };
  }
  const started = Date.now();
  let record = newRecord(
    'chunked',
    model.info,
    seed,
    s.documents.map((d) => ({ name: d.name, source: d.source })),
    {
      chunks: s.chunks,
      continuation: s.continuation,
      orderSamples,
      orderAvg: orderCounts,
      methods: CHUNKED_METHODS,
      split: 'equal lengths, the remainder in the last chunk; each chunk from the zero state',
      orderAvgConv: 'the chunks’ mean',
      adecayConv: 'last chunk (the app default for A-decay)',
      weighting: 'token-weighted over documents',
    },
  );
  const rows: ChunkedRow[] = [];
  const fixed = new Map<string, { tokens: number; nllSum: number }>();
  let complete = true;
  try {
    runner.checkCancelled();
    for (const k of s.chunks) {
      const sums = new Map<ChunkedMethod, { tokens: number; nllSum: number }>(
        CHUNKED_METHODS.map((m) => [m, { tokens: 0, nllSum: 0 }]),
      );
      const add = (m: ChunkedMethod, r: { tokens: number; nllSum: number }) => {
        const t = sums.get(m)!;
        t.tokens += r.tokens;
        t.nllSum += r.nllSum;
      };
      const { orders } = ordersFor(k, orderSamples, seedFor(seed, 'orders', k));
      for (const [di, d] of docs.entries()) {
        // The zero and full states do not depend on K: computed once per document.
        for (const m of ['zero', 'full'] as const) {
          const key = `${m}\u0000${di}`;
          if (!fixed.has(key)) {
            const state = m === 'zero' ? runner.zero() : await runner.captureTokens(d.context);
            fixed.set(key, await runner.scoreSum(state, d.continuation));
          }
          add(m, fixed.get(key)!);
        }
        const states: MambaState[] = [];
        for (const c of splitChunks(d.context, k)) states.push(await runner.captureTokens(c));
        const combined: [ChunkedMethod, MambaState][] = [
          ['last', states[states.length - 1]!],
          ['mean', runner.mix(states, { mode: 'mean' })],
          ['adecay', runner.mix(states, { mode: 'adecay' })],
          ['order-avg', orderAverage(runner, states, orders)],
        ];
        for (const [m, state] of combined) add(m, await runner.scoreSum(state, d.continuation));
        runner.step(`${k} chunks, ${d.name} (${di + 1} of ${docs.length})`);
      }
      for (const m of CHUNKED_METHODS) {
        const t = sums.get(m)!;
        const nll = t.nllSum / t.tokens;
        rows.push({ chunks: k, method: m, tokens: t.tokens, nll, ppl: Math.exp(nll) });
      }
    }
  } catch (e) {
    if (!isAbort(e)) throw e;
    complete = false;
  }
  record = finish(record, started, complete);
  return { documents: docs.length, rows, run: record };
}
