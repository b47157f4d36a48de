/**
 * Study 3, retrieval (PAPER.md experiment 3): a library of task states, each from an m-example prompt; each
 * query is the state of a short prompt (1–2 examples, disjoint from the library's) of a known task. Top-1
 * retrieval is correct when the most similar library state belongs to the query's task; it is counted per
 * layer and over all layers, for cosine and L2 (the playground's `similarity`, on the SSM state).
 * Then each query's held-out question, read after the query's own examples, is answered from three states:
 * the one retrieved (by `retrieveLayer` and `retrieveMetric`), the zero state (plain small-k ICL), and the true
 * task's library state (its most similar one when the library holds several per task).
 */
import type { MambaState } from '../engine/weights.ts';
import { similarity, type SimilarityMetric } from '../engine/states/retrieval.ts';
import {
  checkCounts,
  DEFAULT_MAX_NEW_TOKENS,
  isAbort,
  StudyRunner,
  type StudyHooks,
  type StudyModel,
} from './context.ts';
import { mulberry32, sampleIndices, seedFor } from './random.ts';
import { finish, newRecord, type RunRecord } from './record.ts';
import { accuracyOf, type Accuracy } from './stats.ts';
import { drawExamples, exampleText, queryText, StudyInputError, taskPools, type StudyTask } from './tasks.ts';

export const METRICS: SimilarityMetric[] = ['cosine', 'l2'];

export interface RetrievalSettings {
  tasks: StudyTask[];
  libraryShots: number;
  /** Library states per task (default 1). */
  libraryStates?: number;
  queryShots: number[];
  queries: number;
  seed: number;
  /** Which layer and metric pick the state answers are made from (default: the middle layer, cosine). */
  retrieveLayer?: number | 'all';
  retrieveMetric?: SimilarityMetric;
  maxNewTokens?: number;
}

export interface RetrievalRow {
  layer: number | 'all';
  metric: SimilarityMetric;
  top1: number;
  total: number;
}

export type AnswerSource = 'retrieved' | 'zero' | 'true';

export interface RetrievalAnswerRow extends Accuracy {
  source: AnswerSource;
}

export interface RetrievalResult {
  rows: RetrievalRow[];
  answers: RetrievalAnswerRow[];
  run: RunRecord;
}

export const RETRIEVAL_DEFAULTS = {
  libraryShots: 4,
  libraryStates: 1,
  queryShots: [1, 2],
  queries: 50,
  seed: 1,
};

interface LibraryEntry {
  task: string;
  state: MambaState;
}

/** The index of the most similar entry (the first of equals). */
function best(
  query: MambaState,
  library: LibraryEntry[],
  layer: number | 'all',
  metric: SimilarityMetric,
): number {
  let at = 0;
  let top = -Infinity;
  library.forEach((e, i) => {
    const { score } = similarity(query, e.state, { metric, layer });
    if (score > top) {
      top = score;
      at = i;
    }
  });
  return at;
}

export async function runRetrieval(
  model: StudyModel,
  s: RetrievalSettings,
  hooks: StudyHooks = {},
): Promise<RetrievalResult> {
  if (s.tasks.length < 2) throw new StudyInputError('Retrieval needs at least two tasks to tell apart.');
  const L = s.libraryStates ?? RETRIEVAL_DEFAULTS.libraryStates;
  checkCounts([s.libraryShots], 'Library shots');
  checkCounts([L], 'Library states per task');
  checkCounts(s.queryShots, 'Query shots');
  checkCounts([s.queries], 'Queries');
  const layers = model.engine.config.numLayers;
  const retrieveLayer = s.retrieveLayer ?? Math.floor(layers / 2);
  const retrieveMetric = s.retrieveMetric ?? 'cosine';
  if (
    retrieveLayer !== 'all' &&
    !(Number.isInteger(retrieveLayer) && retrieveLayer >= 0 && retrieveLayer < layers)
  ) {
    throw new StudyInputError(
      `Layer ${retrieveLayer} does not exist; this model has layers 0 to ${layers - 1}.`,
    );
  }
  const maxNewTokens = s.maxNewTokens ?? DEFAULT_MAX_NEW_TOKENS;
  const qMax = Math.max(...s.queryShots);
  const pools = s.tasks.map((t) => taskPools(t, s.queries, L * s.libraryShots + qMax, s.seed));
  const started = Date.now();
  let record = newRecord(
    'retrieval',
    model.info,
    s.seed,
    s.tasks.map((t) => ({ name: t.name, source: t.source })),
    {
      tasks: s.tasks.map((t) => t.name),
      libraryShots: s.libraryShots,
      libraryStates: L,
      queryShots: s.queryShots,
      queries: s.queries,
      retrieveLayer,
      retrieveMetric,
      maxNewTokens,
      compared: 'the SSM state (the playground’s retrieval default)',
      answerPrompt: 'the query’s own examples, then the question, read after the source state',
    },
  );
  const units = s.tasks.length * (1 + s.queries * s.queryShots.length);
  const runner = new StudyRunner(model, units, hooks);
  const layerKeys: (number | 'all')[] = [...Array.from({ length: layers }, (_, l) => l), 'all'];
  const top1 = new Map<string, number>();
  const answered = { retrieved: 0, zero: 0, true: 0 };
  let total = 0;
  let complete = true;
  try {
    runner.checkCancelled();
    const library: LibraryEntry[] = [];
    const libraryInputs = new Map<string, Set<string>>();
    for (const [ti, task] of s.tasks.entries()) {
      const rng = mulberry32(seedFor(s.seed, 'library', task.name));
      const drawn = drawExamples(pools[ti]!.examples, L * s.libraryShots, rng, new Set(), task.name);
      libraryInputs.set(task.name, new Set(drawn.map((p) => p[0])));
      for (let i = 0; i < L; i++) {
        const text = exampleText(drawn.slice(i * s.libraryShots, (i + 1) * s.libraryShots), task.separator);
        library.push({ task: task.name, state: await runner.capture(text) });
      }
      runner.step(`library: ${task.name}`);
    }
    const zero = runner.zero();
    for (const [ti, task] of s.tasks.entries()) {
      const { examples, queries: pool } = pools[ti]!;
      const own = library.filter((e) => e.task === task.name);
      const queries = sampleIndices(
        pool.length,
        s.queries,
        mulberry32(seedFor(s.seed, 'queries', task.name)),
      ).map((i) => pool[i]!);
      for (const [qi, q] of queries.entries()) {
        for (const k of s.queryShots) {
          const rng = mulberry32(seedFor(s.seed, 'query-examples', task.name, k, qi));
          const avoid = new Set([q[0], ...libraryInputs.get(task.name)!]);
          const prompt = exampleText(drawExamples(examples, k, rng, avoid, task.name), task.separator);
          const queryState = await runner.capture(prompt);
          for (const layer of layerKeys) {
            for (const metric of METRICS) {
              const hit = library[best(queryState, library, layer, metric)]!;
              const key = `${layer}\u0000${metric}`;
              top1.set(key, (top1.get(key) ?? 0) + +(hit.task === task.name));
            }
          }
          const retrieved = library[best(queryState, library, retrieveLayer, retrieveMetric)]!.state;
          const truth = own[best(queryState, own, retrieveLayer, retrieveMetric)]!.state;
          const text = prompt + queryText(q, task.separator);
          const sources = [
            ['retrieved', retrieved],
            ['zero', zero],
            ['true', truth],
          ] as const;
          // The three sources answer in one batched call.
          const answers = await runner.answerMany(
            sources.map(([, state]) => [state, text] as [MambaState, string]),
            maxNewTokens,
          );
          sources.forEach(([source], i) => (answered[source] += +(answers[i] === q[1])));
          total++;
          runner.step(`${task.name}, ${k}-example query ${qi + 1}`);
        }
      }
    }
  } catch (e) {
    if (!isAbort(e)) throw e;
    complete = false;
  }
  record = finish(record, started, complete);
  const rows: RetrievalRow[] = layerKeys.flatMap((layer) =>
    METRICS.map((metric) => ({ layer, metric, top1: top1.get(`${layer}\u0000${metric}`) ?? 0, total })),
  );
  const answers: RetrievalAnswerRow[] = (['retrieved', 'zero', 'true'] as const).map((source) => ({
    source,
    ...accuracyOf(answered[source], total),
  }));
  return { rows, answers, run: record };
}
