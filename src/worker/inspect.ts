/**
 * The numbers the inspector and the perplexity panel show, computed from host states and per-token losses:
 * pure functions, so they are tested without a GPU.
 */
import type { MambaState } from '../engine/weights.ts';
import type { LayerNorms } from './protocol.ts';

function norm(a: Float32Array): number {
  let s = 0;
  for (const x of a) s += x * x;
  return Math.sqrt(s);
}

/** The L2 norm of each layer's SSM and conv state. */
export function layerNorms(key: string, state: MambaState): LayerNorms {
  return { key, ssm: state.layers.map((l) => norm(l.ssm)), conv: state.layers.map((l) => norm(l.conv)) };
}

/**
 * Σ x·y with four accumulators: about twice as fast as one in V8, which matters for large states (a 2.7b Mamba-2
 * layer is 655,360 values and the inspector takes n(n+1)/2 of these per layer).
 */
function dot(x: Float32Array, y: Float32Array): number {
  let s0 = 0;
  let s1 = 0;
  let s2 = 0;
  let s3 = 0;
  const m = x.length - (x.length % 4);
  let k = 0;
  for (; k < m; k += 4) {
    s0 += x[k]! * y[k]!;
    s1 += x[k + 1]! * y[k + 1]!;
    s2 += x[k + 2]! * y[k + 2]!;
    s3 += x[k + 3]! * y[k + 3]!;
  }
  for (; k < x.length; k++) s0 += x[k]! * y[k]!;
  return s0 + s1 + (s2 + s3);
}

/** Dot products of the SSM states of `list`, one n × n matrix per layer (the inspector's cosines and PCA map). */
export function ssmGrams(list: MambaState[]): number[][][] {
  const layers = list[0]?.layers.length ?? 0;
  return Array.from({ length: layers }, (_, l) => {
    const g = list.map(() => Array<number>(list.length).fill(0));
    for (let i = 0; i < list.length; i++) {
      const x = list[i]!.layers[l]!.ssm;
      for (let j = i; j < list.length; j++) {
        const d = dot(x, list[j]!.layers[l]!.ssm);
        g[i]![j] = d;
        g[j]![i] = d;
      }
    }
    return g;
  });
}

/** exp(mean nll); NaN for a text of one token (nothing was predicted). */
export function perplexityOf(nll: Float32Array): number {
  if (nll.length === 0) return NaN;
  let s = 0;
  for (const x of nll) s += x;
  return Math.exp(s / nll.length);
}
