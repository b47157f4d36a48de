/**
 * Binomial confidence intervals for the studies' accuracies: the Wilson score interval, which stays inside
 * [0, 1] and behaves at 0 and n successes where the normal approximation (p ± z·√(p(1−p)/n)) collapses to a
 * point. Every accuracy a study reports carries one.
 */

/** z for a two-sided 95 % interval (the 97.5th percentile of the standard normal). */
export const Z95 = 1.959963984540054;

export interface Interval {
  lo: number;
  hi: number;
}

/** The Wilson score interval for `successes` out of `total` at the given z; [0, 1] when there are no trials. */
export function wilson(successes: number, total: number, z = Z95): Interval {
  if (!Number.isInteger(successes) || !Number.isInteger(total) || successes < 0 || successes > total) {
    throw new RangeError(`wilson: ${successes} successes out of ${total} is not a count.`);
  }
  if (total === 0) return { lo: 0, hi: 1 };
  const p = successes / total;
  const z2 = z * z;
  const denom = 1 + z2 / total;
  const centre = (p + z2 / (2 * total)) / denom;
  const half = (z / denom) * Math.sqrt((p * (1 - p)) / total + z2 / (4 * total * total));
  // At 0 and n successes the bound is exactly 0 or 1; rounding must not push it past.
  return {
    lo: successes === 0 ? 0 : Math.max(0, centre - half),
    hi: successes === total ? 1 : Math.min(1, centre + half),
  };
}

/** An accuracy with its interval, the shape every study row that counts answers shares. */
export interface Accuracy extends Interval {
  correct: number;
  total: number;
  accuracy: number;
}

export function accuracyOf(correct: number, total: number): Accuracy {
  return { correct, total, accuracy: total === 0 ? 0 : correct / total, ...wilson(correct, total) };
}
