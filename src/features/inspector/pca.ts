/**
 * Principal components of a handful of long vectors (flattened SSM states: up to millions of numbers each,
 * but rarely more than a few dozen of them) through the Gram matrix: with X the n × D data, centring gives
 * Gc = J X Xᵀ J (J = I − 11ᵀ/n), and if Gc = Σ λₖ uₖ uₖᵀ then point i's k-th principal coordinate is
 * √λₖ · uₖ[i]. So only n × n dot products cross from the worker, and the eigen-decomposition is of an
 * n × n symmetric matrix, done here with cyclic Jacobi rotations.
 */

/** Eigenvalues (descending) and unit eigenvectors (`vectors[k]` goes with `values[k]`) of a symmetric matrix. */
export function symmetricEigen(m: number[][]): { values: number[]; vectors: number[][] } {
  const n = m.length;
  const a = m.map((row) => row.slice());
  // v's columns are the eigenvectors; start from the identity and accumulate the rotations.
  const v = Array.from({ length: n }, (_, i) =>
    Array.from({ length: n }, (_, j): number => (i === j ? 1 : 0)),
  );
  let scale = 0;
  for (const row of a) for (const x of row) scale = Math.max(scale, Math.abs(x));
  const tiny = scale * 1e-15;
  for (let sweep = 0; sweep < 100; sweep++) {
    let off = 0;
    for (let p = 0; p < n; p++) for (let q = p + 1; q < n; q++) off = Math.max(off, Math.abs(a[p]![q]!));
    if (off <= tiny) break;
    for (let p = 0; p < n; p++) {
      for (let q = p + 1; q < n; q++) {
        const apq = a[p]![q]!;
        if (Math.abs(apq) <= tiny) continue;
        // The rotation in the (p, q) plane that zeroes a[p][q]: t = tan φ, the smaller root of
        // t² + 2θt − 1 = 0 with θ = (a_qq − a_pp) / (2 a_pq).
        const theta = (a[q]![q]! - a[p]![p]!) / (2 * apq);
        const t = (theta >= 0 ? 1 : -1) / (Math.abs(theta) + Math.sqrt(theta * theta + 1));
        const c = 1 / Math.sqrt(t * t + 1);
        const s = t * c;
        for (let k = 0; k < n; k++) {
          // columns p and q of A·J
          const akp = a[k]![p]!;
          const akq = a[k]![q]!;
          a[k]![p] = c * akp - s * akq;
          a[k]![q] = s * akp + c * akq;
        }
        for (let k = 0; k < n; k++) {
          // rows p and q of Jᵀ·(A·J)
          const apk = a[p]![k]!;
          const aqk = a[q]![k]!;
          a[p]![k] = c * apk - s * aqk;
          a[q]![k] = s * apk + c * aqk;
        }
        for (let k = 0; k < n; k++) {
          const vkp = v[k]![p]!;
          const vkq = v[k]![q]!;
          v[k]![p] = c * vkp - s * vkq;
          v[k]![q] = s * vkp + c * vkq;
        }
      }
    }
  }
  const order = Array.from({ length: n }, (_, i) => i).sort((i, j) => a[j]![j]! - a[i]![i]!);
  return {
    values: order.map((i) => a[i]![i]!),
    vectors: order.map((i) => v.map((row) => row[i]!)),
  };
}

/** Double-centres a Gram matrix of raw dot products: the Gram matrix of the points minus their mean. */
export function centreGram(g: number[][]): number[][] {
  const n = g.length;
  const rowMean = g.map((r) => r.reduce((s, x) => s + x, 0) / n);
  const all = rowMean.reduce((s, x) => s + x, 0) / n;
  return g.map((r, i) => r.map((x, j) => x - rowMean[i]! - rowMean[j]! + all));
}

/** The Gram matrix (all dot products) of some vectors. */
export function gramOf(rows: ArrayLike<number>[]): number[][] {
  return rows.map((a) =>
    rows.map((b) => {
      let s = 0;
      for (let i = 0; i < a.length; i++) s += a[i]! * b[i]!;
      return s;
    }),
  );
}

/** Adds Gram matrices of the same points (per-layer dot products → dot products of the concatenation). */
export function sumGrams(gs: number[][][]): number[][] {
  const n = gs[0]?.length ?? 0;
  return Array.from({ length: n }, (_, i) =>
    Array.from({ length: n }, (_, j) => gs.reduce((s, g) => s + g[i]![j]!, 0)),
  );
}

/** Cosines from a Gram matrix: ⟨a, b⟩ / √(⟨a, a⟩⟨b, b⟩), 0 where either vector is zero. */
export function cosinesFromGram(g: number[][]): number[][] {
  return g.map((row, i) =>
    row.map((d, j) => {
      const nn = g[i]![i]! * g[j]![j]!;
      return nn > 0 ? d / Math.sqrt(nn) : 0;
    }),
  );
}

export interface PcaMap {
  /** Point i's coordinates on the first `dims` principal components (0 where there is no such component). */
  coords: number[][];
  /** The share of the total variance each of those components explains (0 … 1). */
  explained: number[];
}

/**
 * Principal coordinates of n points given their (uncentred) Gram matrix. Each axis's sign is fixed so that
 * its largest-magnitude coordinate is positive, so the same library gives the same picture every time.
 */
export function pcaFromGram(g: number[][], dims = 2): PcaMap {
  const n = g.length;
  if (n === 0) return { coords: [], explained: Array<number>(dims).fill(0) };
  const { values, vectors } = symmetricEigen(centreGram(g));
  const total = values.reduce((s, x) => s + Math.max(0, x), 0);
  const coords = Array.from({ length: n }, () => Array<number>(dims).fill(0));
  const explained = Array<number>(dims).fill(0);
  for (let k = 0; k < Math.min(dims, n); k++) {
    const lambda = values[k]!;
    // Rounding leaves tiny (even negative) eigenvalues where the points span fewer dimensions.
    if (!(lambda > total * 1e-12) || total <= 0) continue;
    const u = vectors[k]!;
    let big = 0;
    for (const x of u) if (Math.abs(x) > Math.abs(big)) big = x;
    const sign = big < 0 ? -1 : 1;
    const r = Math.sqrt(lambda);
    for (let i = 0; i < n; i++) coords[i]![k] = sign * r * u[i]!;
    explained[k] = lambda / total;
  }
  return { coords, explained };
}
