/**
 * Orderings of K chunks for the order-averaged composition (PICASO's average over permutations): every
 * permutation when K ≤ 6 (720 at most), else a seeded sample of distinct-as-drawn permutations whose count is
 * reported with the result.
 */
import { mulberry32, shuffled } from './random.ts';

/** The largest K whose K! orders are all enumerated. */
export const EXACT_ORDERS_MAX = 6;

/** Every permutation of 0..k−1, in lexicographic order. */
export function allOrders(k: number): number[][] {
  if (k < 1) return [];
  const out: number[][] = [];
  const walk = (prefix: number[], rest: number[]) => {
    if (rest.length === 0) {
      out.push(prefix);
      return;
    }
    rest.forEach((x, i) => walk([...prefix, x], [...rest.slice(0, i), ...rest.slice(i + 1)]));
  };
  walk(
    [],
    Array.from({ length: k }, (_, i) => i),
  );
  return out;
}

export interface OrderSet {
  orders: number[][];
  /** True when `orders` is every permutation (K ≤ 6); false for a sample. */
  exact: boolean;
}

/** All orders for K ≤ 6; otherwise `samples` uniformly random permutations from `seed`. */
export function ordersFor(k: number, samples: number, seed: number): OrderSet {
  if (k <= EXACT_ORDERS_MAX) return { orders: allOrders(k), exact: true };
  if (!Number.isInteger(samples) || samples < 1)
    throw new RangeError('The number of sampled orders must be a positive whole number.');
  const rng = mulberry32(seed);
  const identity = Array.from({ length: k }, (_, i) => i);
  return { orders: Array.from({ length: samples }, () => shuffled(identity, rng)), exact: false };
}
