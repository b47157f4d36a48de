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

/** Dot products of the SSM states of `list`, one n × n matrix per layer (the inspector's cosines and PCA map). */
export function ssmGrams(list: MambaState[]): number[][][] {
  const layers = list[0]?.layers.length ?? 0;
  return Array.from({ length: layers }, (_, l) => {
    const g = list.map(() => Array<number>(list.length).fill(0));
    for (let i = 0; i < list.length; i++) {
      const x = list[i]!.layers[l]!.ssm;
      for (let j = i; j < list.length; j++) {
        const y = list[j]!.layers[l]!.ssm;
        let dot = 0;
        for (let k = 0; k < x.length; k++) dot += x[k]! * y[k]!;
        g[i]![j] = dot;
        g[j]![i] = dot;
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
