/**
 * How the GPU-machine check scripts (check-fixtures, check-mamba2, check-random) compare logits and states with
 * what they expect: the fixtures' measure, max |a − b| / max(1, max |b|), and per-row argmax. Vitest's
 * tests use tests/helpers instead, which fail the test on a length mismatch rather than report Infinity.
 */

/** max |a − b| / max(1, max |b|); Infinity when the lengths differ (a check then fails visibly). */
export function relMaxDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) return Infinity;
  let diff = 0;
  let scale = 1;
  for (let i = 0; i < a.length; i++) {
    diff = Math.max(diff, Math.abs(a[i]! - b[i]!));
    scale = Math.max(scale, Math.abs(b[i]!));
  }
  return diff / scale;
}

/** The index of the largest of `width` values starting at `offset`. */
export function argmaxAt(x: ArrayLike<number>, offset: number, width: number): number {
  let best = 0;
  for (let i = 1; i < width; i++) if (x[offset + i]! > x[offset + best]!) best = i;
  return best;
}

/** The argmax of every row of a row-major [rows, width] array. */
export function argmaxRows(x: ArrayLike<number>, width: number): number[] {
  const out: number[] = [];
  for (let r = 0; r * width < x.length; r++) out.push(argmaxAt(x, r * width, width));
  return out;
}
