/**
 * Token choice from logits on the host: greedy, or seeded sampling with temperature, top-k and top-p. Used by
 * the CPU backend and to report probabilities and top alternatives; the same seed gives the same tokens.
 */
import type { SamplingSettings } from './protocol.ts';

/** mulberry32: small, fast, seedable; plenty for sampling. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Softmax of `logits` at temperature 1 (what probabilities are reported at), stable. */
export function softmax(logits: ArrayLike<number>): Float64Array {
  let max = -Infinity;
  for (let i = 0; i < logits.length; i++) max = Math.max(max, logits[i]!);
  const p = new Float64Array(logits.length);
  let sum = 0;
  for (let i = 0; i < logits.length; i++) {
    const e = Math.exp(logits[i]! - max);
    p[i] = e;
    sum += e;
  }
  for (let i = 0; i < p.length; i++) p[i] = p[i]! / sum;
  return p;
}

/** The `k` largest entries, best first. */
export function topEntries(values: ArrayLike<number>, k: number): { id: number; value: number }[] {
  const best: { id: number; value: number }[] = [];
  for (let i = 0; i < values.length; i++) {
    const v = values[i]!;
    if (best.length < k || v > best[best.length - 1]!.value) {
      best.push({ id: i, value: v });
      best.sort((a, b) => b.value - a.value);
      if (best.length > k) best.pop();
    }
  }
  return best;
}

/** Picks the next token id; `random` is consumed only when sampling (temperature > 0). */
export function chooseToken(logits: ArrayLike<number>, s: SamplingSettings, random: () => number): number {
  if (!(s.temperature > 0)) return topEntries(logits, 1)[0]!.id;
  const scaled = Array.from(logits, (x) => x / s.temperature);
  const probs = softmax(scaled);
  let order = Array.from(probs.keys()).sort((a, b) => probs[b]! - probs[a]!);
  if (s.topK > 0) order = order.slice(0, s.topK);
  if (s.topP > 0 && s.topP < 1) {
    let acc = 0;
    const kept: number[] = [];
    for (const id of order) {
      kept.push(id);
      acc += probs[id]!;
      if (acc >= s.topP) break;
    }
    order = kept;
  }
  const total = order.reduce((a, id) => a + probs[id]!, 0);
  let r = random() * total;
  for (const id of order) {
    r -= probs[id]!;
    if (r <= 0) return id;
  }
  return order[order.length - 1]!;
}
