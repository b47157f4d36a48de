/**
 * Results shown on the page (small arrays: per-token numbers, sweep points). Not persisted.
 *
 * Written through the module-level actions below, named for what happened (a score arrived, a token streamed);
 * read through selectors. Generation streams a token at a time, so a view of anything else here must select
 * only its own fields (`selectScore`, `selectSweep`, with useShallow): a whole-store subscription would
 * re-render it on every token.
 */
import { create } from 'zustand';
import type { GeneratedToken, LayerNorms, TokenView } from '../worker/protocol.ts';

export interface ScoreView {
  tokens: TokenView[];
  nll: number[];
  perplexity: number;
  ms: number;
}

export interface Baseline {
  label: string;
  perplexity?: number;
  error?: string;
}

export interface GenerationColumn {
  key: string;
  label: string;
  tokens: GeneratedToken[];
  status: 'running' | 'done' | 'error';
  error?: string;
  ms?: number;
}

export interface SweepResult {
  key: string;
  label: string;
  points: { alpha: number; perplexity: number }[];
}

export interface Results {
  score?: ScoreView;
  /** Counts results received, so a test or a view can tell a new result from an equal-looking one. */
  scoreSeq: number;
  scoreStatus: 'idle' | 'running' | 'done' | 'error';
  scoreError?: string;
  baselines: Baseline[];
  sweep?: SweepResult;
  sweepStatus: 'idle' | 'running' | 'error';
  sweepProgress?: { done: number; total: number };
  generation: GenerationColumn[];
  /** `grams`: per layer, the dot products of the inspected states' SSM states (the cosines and the PCA map). */
  inspector?: { norms: LayerNorms[]; grams: number[][][]; keys: string[] };
}

interface ResultsStore extends Results {
  set(p: Partial<Results>): void;
  updateColumn(key: string, f: (c: GenerationColumn) => GenerationColumn): void;
}

export const useResultsStore = create<ResultsStore>()((): ResultsStore => ({
  scoreStatus: 'idle',
  scoreSeq: 0,
  baselines: [],
  sweepStatus: 'idle',
  generation: [],
  set: (p) => useResultsStore.setState(p),
  updateColumn: (key, f) => updateColumn(key, f),
}));

const update = useResultsStore.setState;

/** No score is being computed: the model or the text is missing, or (with a reason) the mix is not ready. */
export function scoreIdle(reason?: string): void {
  update({ scoreStatus: 'idle', scoreError: reason });
}

/** A new score was asked for; the last one stays shown until it is replaced. */
export function scoreStarted(): void {
  update({ scoreStatus: 'running', scoreError: undefined });
}

export function scoreArrived(score: ScoreView): void {
  update((s) => ({ score, scoreStatus: 'done', scoreSeq: s.scoreSeq + 1 }));
}

export function scoreFailed(message: string): void {
  update({ scoreStatus: 'error', scoreError: message });
}

export function baselinesChanged(baselines: Baseline[]): void {
  update({ baselines });
}

export function sweepStarted(total: number): void {
  update({ sweepStatus: 'running', sweepProgress: { done: 0, total } });
}

export function sweepProgressed(done: number, total: number): void {
  update({ sweepProgress: { done, total } });
}

export function sweepFinished(sweep: SweepResult): void {
  update({ sweep, sweepStatus: 'idle' });
}

/** The sweep stopped without a result (cancelled or failed); the previous result stays. */
export function sweepStopped(): void {
  update({ sweepStatus: 'idle' });
}

/** New generation columns start empty and running; `kept` columns (not re-run) stay after them. */
export function generationStarted(fresh: GenerationColumn[], kept: GenerationColumn[] = []): void {
  update({ generation: [...fresh, ...kept] });
}

export function updateColumn(key: string, f: (c: GenerationColumn) => GenerationColumn): void {
  update((s) => ({ generation: s.generation.map((c) => (c.key === key ? f(c) : c)) }));
}

/** One more token of a column's continuation. */
export function tokenStreamed(key: string, token: GeneratedToken): void {
  updateColumn(key, (c) => ({ ...c, tokens: [...c.tokens, token] }));
}

export function inspected(inspector: NonNullable<Results['inspector']>): void {
  update({ inspector });
}

/** What the perplexity readout shows: use with useShallow, so streamed tokens do not re-render it. */
export const selectScore = (s: Results) => ({
  score: s.score,
  scoreStatus: s.scoreStatus,
  scoreError: s.scoreError,
  baselines: s.baselines,
  scoreSeq: s.scoreSeq,
});

/** What the sweep chart shows: use with useShallow. */
export const selectSweep = (s: Results) => ({
  sweep: s.sweep,
  sweepStatus: s.sweepStatus,
  sweepProgress: s.sweepProgress,
  baselines: s.baselines,
});
