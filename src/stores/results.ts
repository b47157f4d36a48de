/** Results shown on the page (small arrays: per-token numbers, sweep points). Not persisted. */
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

interface ResultsStore {
  score?: ScoreView;
  /** Counts results received, so a test or a view can tell a new result from an equal-looking one. */
  scoreSeq: number;
  scoreStatus: 'idle' | 'running' | 'done' | 'error';
  scoreError?: string;
  baselines: Baseline[];
  sweep?: { key: string; label: string; points: { alpha: number; perplexity: number }[] };
  sweepStatus: 'idle' | 'running' | 'error';
  sweepProgress?: { done: number; total: number };
  generation: GenerationColumn[];
  /** `grams`: per layer, the dot products of the inspected states' SSM states (the cosines and the PCA map). */
  inspector?: { norms: LayerNorms[]; grams: number[][][]; keys: string[] };
  set(p: Partial<Omit<ResultsStore, 'set'>>): void;
  updateColumn(key: string, f: (c: GenerationColumn) => GenerationColumn): void;
}

export const useResultsStore = create<ResultsStore>()((set) => ({
  scoreStatus: 'idle',
  scoreSeq: 0,
  baselines: [],
  sweepStatus: 'idle',
  generation: [],
  set: (p) => set(p),
  updateColumn: (key, f) => set((s) => ({ generation: s.generation.map((c) => (c.key === key ? f(c) : c)) })),
}));
