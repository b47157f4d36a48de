/**
 * Seeded randomness for the studies: every draw (which examples a prompt holds, which queries are asked,
 * which orders are sampled) comes from a generator seeded by the run's seed and the names of what it is
 * drawn for, so a unit's draw does not depend on which other tasks, shots or methods the run includes, and
 * the app and the command line draw the same examples for the same seed.
 */

/** mulberry32: a small, fast 32-bit generator with good enough statistics for sampling. */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A 32-bit seed from the run's seed and the parts that name the draw (FNV-1a over their text). */
export function seedFor(seed: number, ...parts: (string | number)[]): number {
  let h = 0x811c9dc5;
  for (const ch of `${seed}\u0000${parts.join('\u0000')}`) {
    h ^= ch.codePointAt(0)!;
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

/** A uniform integer in [0, n). */
export function below(rng: () => number, n: number): number {
  return Math.floor(rng() * n);
}

/**
 * `count` distinct indices of [0, n) in random order: a partial Fisher–Yates over a sparse swap map, so it
 * costs O(count) even for a pool of twenty thousand examples.
 */
export function sampleIndices(n: number, count: number, rng: () => number): number[] {
  if (count > n) throw new RangeError(`Cannot draw ${count} distinct items from ${n}.`);
  const out: number[] = [];
  const draw = indexDrawer(n, rng);
  for (let i = 0; i < count; i++) out.push(draw()!);
  return out;
}

/**
 * Distinct indices of [0, n) one at a time in random order (undefined when all are drawn): the same sequence
 * sampleIndices returns, for callers that skip some draws.
 */
export function indexDrawer(n: number, rng: () => number): () => number | undefined {
  const swapped = new Map<number, number>();
  let i = 0;
  return () => {
    if (i >= n) return undefined;
    const j = i + below(rng, n - i);
    const vi = swapped.get(i) ?? i;
    const vj = swapped.get(j) ?? j;
    swapped.set(j, vi);
    swapped.set(i, vj);
    i++;
    return vj;
  };
}

/** A shuffled copy of `items`. */
export function shuffled<T>(items: readonly T[], rng: () => number): T[] {
  return sampleIndices(items.length, items.length, rng).map((i) => items[i]!);
}
