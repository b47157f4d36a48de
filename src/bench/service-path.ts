/**
 * The page's own mix-and-rescore path, timed: a recipe in, a score out, through the EngineService that the
 * engine worker runs (src/worker/service.ts): the recipe is checked, the stored states' GPU copies are mixed
 * on the GPU, the evaluation text is tokenized and scored, the losses are read back. Each timed request
 * gives the first state another weight, so no result of an earlier request can be reused. What it leaves out
 * is the page's postMessage hop to the Worker and back.
 */
import type { GpuMambaModel } from '../engine/model.ts';
import type { MambaTokenizer } from '../model/tokenizer.ts';
import type { Call } from '../worker/service.ts';
import { EngineService } from '../worker/service.ts';
import type { MixRecipe } from '../worker/protocol.ts';
import { median, now } from './stats.ts';

export interface ServicePathResult {
  evalTokens: number;
  /** Timed requests (after one untimed warm-up). */
  requests: number;
  /** Median milliseconds of one score request starting from the recipe's mix. */
  totalMs: number;
  minMs: number;
}

const WORDS = [
  'river',
  'stone',
  'light',
  'over',
  'the',
  'quiet',
  'field',
  'and',
  'a',
  'small',
  'bird',
  'sang',
];

/** Words in a fixed order until the text is `tokens` tokens long by `count` (trimmed from the end). */
export function textOfTokens(tokens: number, count: (text: string) => number): string {
  let text = '';
  for (let i = 0; count(text) < tokens; i++)
    text += `${i ? ' ' : ''}${WORDS[(i * 7 + (i >> 3)) % WORDS.length]}`;
  while (count(text) > tokens) text = text.slice(0, -1);
  return text;
}

function quietCall(): Call {
  return { signal: new AbortController().signal, progress: () => undefined, token: () => undefined };
}

/**
 * Times `requests` mix-and-score requests of `evalTokens` tokens from two captured states, through an
 * EngineService serving `engine` (which stays the caller's; no state library is opened).
 */
export async function timeServicePath(
  engine: GpuMambaModel,
  aLogs: Float32Array[],
  opts: { evalTokens: number; stateTokens: number; requests: number; tokenizer?: MambaTokenizer },
): Promise<ServicePathResult> {
  const service = new EngineService({
    openDevice: () => Promise.reject(new Error('The benchmark serves an engine it already opened.')),
    openStore: () => Promise.reject(new Error('The benchmark keeps no states.')),
  });
  let id = 0;
  try {
    service.adopt(engine, aLogs, 'bench', opts.tokenizer);
    const count = (text: string) => service.tokenize({ type: 'tokenize', id: ++id, text }).tokens.length;
    for (const [key, offset] of [
      ['a', 0],
      ['b', 5],
    ] as const) {
      const text = textOfTokens(opts.stateTokens + offset, count);
      await service.capture({ type: 'capture', id: ++id, key, name: key, text }, quietCall());
    }
    const evalText = textOfTokens(opts.evalTokens, count);
    const evalTokens = count(evalText);
    const recipe = (w: number): MixRecipe => ({
      sources: [
        { key: 'a', weight: w },
        { key: 'b', weight: 1 - w },
      ],
      mode: 'weighted',
      normalize: false,
      parts: { ssm: true, conv: true },
      profile: 'uniform',
    });
    const times: number[] = [];
    for (let i = 0; i <= opts.requests; i++) {
      const t0 = now();
      const r = await service.score(
        {
          type: 'score',
          id: ++id,
          start: { kind: 'mix', recipe: recipe(0.3 + (0.4 * i) / (opts.requests + 1)) },
          text: evalText,
        },
        quietCall(),
      );
      const ms = now() - t0;
      if (!Number.isFinite(r.perplexity))
        throw new Error(`The service's rescore gave perplexity ${r.perplexity}.`);
      if (i > 0) times.push(ms); // the first is the warm-up
    }
    return { evalTokens, requests: times.length, totalMs: median(times), minMs: Math.min(...times) };
  } finally {
    service.dispose();
  }
}
