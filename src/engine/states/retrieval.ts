/**
 * Retrieval: rank stored states by their similarity to a query state (the paper's experiment 3: a short
 * query's state, at an intermediate layer, finds the stored state of the same task), and mix the top k with
 * weights softmax(similarity / τ). Runs on host arrays in f64; a library of states is small next to a model.
 */
import type { MambaState } from '../weights.ts';
import { checkMixable, mixStoredCpu } from './mix.ts';
import type { MixSpec } from './mixSpec.ts';
import { StateMismatchError, type StoredState } from './types.ts';

export type SimilarityMetric = 'cosine' | 'l2';

export interface RetrievalOptions {
  metric: SimilarityMetric;
  /** One layer (0-based) or every layer concatenated. */
  layer: number | 'all';
  /** Which tensors form the vector compared; default the SSM state (the part that carries the task). */
  part?: 'ssm' | 'conv' | 'both';
  /** How many hits to return (default all). */
  k?: number;
}

export interface RetrievalHit {
  state: StoredState;
  /** Higher is more similar: the cosine, or −(L2 distance). */
  score: number;
  /** The L2 distance (l2 only). */
  distance?: number;
}

function vectors(s: MambaState, opts: RetrievalOptions): Float32Array[] {
  const layers = opts.layer === 'all' ? s.layers : [s.layers[opts.layer]!];
  const part = opts.part ?? 'ssm';
  return layers.flatMap((l) => (part === 'ssm' ? [l.ssm] : part === 'conv' ? [l.conv] : [l.ssm, l.conv]));
}

/** cosine or −L2 between the same selection of two states. */
export function similarity(
  a: MambaState,
  b: MambaState,
  opts: RetrievalOptions,
): { score: number; distance?: number } {
  const va = vectors(a, opts);
  const vb = vectors(b, opts);
  // Only the sums the metric needs: the vectors are large (a 2.7b Mamba-2 state is 43 M values).
  if (opts.metric === 'l2') {
    let d2 = 0;
    va.forEach((x, t) => {
      const y = vb[t]!;
      for (let i = 0; i < x.length; i++) {
        const d = x[i]! - y[i]!;
        d2 += d * d;
      }
    });
    return { score: -Math.sqrt(d2), distance: Math.sqrt(d2) };
  }
  let dot = 0;
  let na = 0;
  let nb = 0;
  va.forEach((x, t) => {
    const y = vb[t]!;
    for (let i = 0; i < x.length; i++) {
      const p = x[i]!;
      const q = y[i]!;
      dot += p * q;
      na += p * p;
      nb += q * q;
    }
  });
  // A zero vector (the zero state) is equally unlike everything.
  return { score: na > 0 && nb > 0 ? dot / Math.sqrt(na * nb) : 0 };
}

/** The library ranked by similarity to `query`, best first, the top k. All states must be of one model. */
export function rankStates(
  query: StoredState,
  library: StoredState[],
  opts: RetrievalOptions,
): RetrievalHit[] {
  checkMixable([query.meta, ...library.map((s) => s.meta)]);
  const layers = query.meta.shape.layers;
  if (opts.layer !== 'all' && !(Number.isInteger(opts.layer) && opts.layer >= 0 && opts.layer < layers)) {
    throw new StateMismatchError(
      `Layer ${opts.layer} does not exist; this model has layers 0 to ${layers - 1}.`,
    );
  }
  const hits = library.map((state) => ({ state, ...similarity(query.state, state.state, opts) }));
  hits.sort((a, b) => b.score - a.score);
  return hits.slice(0, opts.k ?? hits.length);
}

/** softmax(score / τ), computed stably (shifted by the maximum). τ → 0 approaches the single best hit. */
export function softmaxWeights(scores: number[], tau: number): number[] {
  if (!(tau > 0)) throw new StateMismatchError('The retrieval temperature τ must be positive.');
  const m = Math.max(...scores);
  const e = scores.map((s) => Math.exp((s - m) / tau));
  const z = e.reduce((a, b) => a + b, 0);
  return e.map((x) => x / z);
}

export interface RetrieveAndMix {
  hits: RetrievalHit[];
  weights: number[];
  /** The weighted mix of the hits' states with those weights (a MixSpec to run on the GPU as well). */
  spec: MixSpec;
  sources: StoredState[];
}

/** Ranks, keeps the top k and builds the mix softmax(similarity/τ) over them; `mixed` is its CPU result. */
export function retrieveAndMix(
  query: StoredState,
  library: StoredState[],
  opts: RetrievalOptions & { k: number; tau: number },
): RetrieveAndMix & { mixed: StoredState } {
  if (library.length === 0)
    throw new StateMismatchError('The library has no states of this model to retrieve.');
  const hits = rankStates(query, library, opts);
  const weights = softmaxWeights(
    hits.map((h) => h.score),
    opts.tau,
  );
  const spec: MixSpec = { mode: 'weighted', weights };
  const sources = hits.map((h) => h.state);
  const mixed = mixStoredCpu(sources, spec, undefined, `retrieved mix (top ${hits.length}, τ ${opts.tau})`);
  return { hits, weights, spec, sources, mixed };
}
