/**
 * The inspector's PCA (src/features/inspector/pca.ts) on data whose answer is known independently: points on a
 * line (the first coordinate is the signed distance along it), points on a plane in a high-dimensional space
 * (the closed-form eigenvectors of the 2 × 2 covariance of the in-plane coordinates), and the eigen-solver
 * checked by its defining equations.
 */
import { describe, expect, it } from 'vitest';
import {
  centreGram,
  cosinesFromGram,
  gramOf,
  pcaFromGram,
  sumGrams,
  symmetricEigen,
} from '../src/features/inspector/pca.ts';

function rng(seed: number) {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32 - 0.5;
  };
}

const dot = (a: number[], b: number[]) => a.reduce((s, x, i) => s + x * b[i]!, 0);
const scaled = (a: number[], k: number) => a.map((x) => x * k);
const plus = (...vs: number[][]) => vs[0]!.map((_, i) => vs.reduce((s, v) => s + v[i]!, 0));

/** Two orthonormal vectors in R^d (Gram–Schmidt on random ones). */
function orthonormalPair(d: number, r: () => number): [number[], number[]] {
  const a = Array.from({ length: d }, r);
  const e1 = scaled(a, 1 / Math.sqrt(dot(a, a)));
  const b = Array.from({ length: d }, r);
  const b2 = plus(b, scaled(e1, -dot(b, e1)));
  return [e1, scaled(b2, 1 / Math.sqrt(dot(b2, b2)))];
}

describe('symmetricEigen', () => {
  it('satisfies A v = λ v with orthonormal v, eigenvalues descending and summing to the trace', () => {
    const r = rng(3);
    const n = 7;
    const b = Array.from({ length: n }, () => Array.from({ length: n }, r));
    const a = b.map((row, i) => row.map((_, j) => b[i]![j]! + b[j]![i]!));
    const { values, vectors } = symmetricEigen(a);
    for (let k = 0; k < n; k++) {
      const v = vectors[k]!;
      const av = a.map((row) => dot(row, v));
      av.forEach((x, i) => expect(x).toBeCloseTo(values[k]! * v[i]!, 10));
      for (let l = 0; l < n; l++) expect(dot(v, vectors[l]!)).toBeCloseTo(k === l ? 1 : 0, 10);
      if (k > 0) expect(values[k]!).toBeLessThanOrEqual(values[k - 1]!);
    }
    const trace = a.reduce((s, row, i) => s + row[i]!, 0);
    expect(values.reduce((s, x) => s + x, 0)).toBeCloseTo(trace, 10);
  });

  it('matches the closed form of a 2 × 2 matrix', () => {
    const [p, q, s] = [2, 5, 1.5];
    const mid = (p + s) / 2;
    const rad = Math.sqrt(((p - s) / 2) ** 2 + q * q);
    const { values } = symmetricEigen([
      [p, q],
      [q, s],
    ]);
    expect(values[0]).toBeCloseTo(mid + rad, 12);
    expect(values[1]).toBeCloseTo(mid - rad, 12);
  });
});

describe('PCA from the Gram matrix', () => {
  it('puts points on a line at their signed distance along it, with nothing on the second axis', () => {
    const r = rng(11);
    const d = 64;
    const origin = Array.from({ length: d }, () => 3 * r());
    const dir = Array.from({ length: d }, r);
    const len = Math.sqrt(dot(dir, dir));
    const ts = [-2, -0.5, 0.1, 0.7, 1.9, 3.3];
    const points = ts.map((t) => plus(origin, scaled(dir, t)));
    const { coords, explained } = pcaFromGram(gramOf(points));
    const mean = ts.reduce((s, t) => s + t, 0) / ts.length;
    // The farthest point from the mean (t = 3.3) has the largest |coordinate|, which the sign rule makes > 0.
    ts.forEach((t, i) => {
      expect(coords[i]![0]).toBeCloseTo((t - mean) * len, 8);
      expect(coords[i]![1]).toBe(0);
    });
    expect(explained[0]).toBeCloseTo(1, 10);
    expect(explained[1]).toBe(0);
  });

  it('finds the axes of points on a plane in R^200 from the in-plane covariance', () => {
    const r = rng(5);
    const d = 200;
    const [e1, e2] = orthonormalPair(d, r);
    const origin = Array.from({ length: d }, () => 10 * r());
    // In-plane coordinates, correlated, with clearly different spreads along the two principal directions.
    const ab = Array.from({ length: 12 }, () => {
      const u = 4 * r();
      const w = r();
      return [u + 0.5 * w, 0.8 * u - w];
    });
    const points = ab.map(([a, b]) => plus(origin, scaled(e1, a!), scaled(e2, b!)));
    // Independent answer: the 2 × 2 covariance of (a, b) and its eigenvectors in closed form.
    const n = ab.length;
    const ma = ab.reduce((s, p) => s + p[0]!, 0) / n;
    const mb = ab.reduce((s, p) => s + p[1]!, 0) / n;
    const caa = ab.reduce((s, p) => s + (p[0]! - ma) ** 2, 0);
    const cbb = ab.reduce((s, p) => s + (p[1]! - mb) ** 2, 0);
    const cab = ab.reduce((s, p) => s + (p[0]! - ma) * (p[1]! - mb), 0);
    const rad = Math.sqrt(((caa - cbb) / 2) ** 2 + cab * cab);
    const l1 = (caa + cbb) / 2 + rad;
    const l2 = (caa + cbb) / 2 - rad;
    const axis = (l: number) => {
      const v = [cab, l - caa];
      const norm = Math.sqrt(dot(v, v));
      return scaled(v, 1 / norm);
    };
    const expected = [axis(l1), axis(l2)].map((v) =>
      ab.map(([a, b]) => (a! - ma) * v[0]! + (b! - mb) * v[1]!),
    );
    const { coords, explained } = pcaFromGram(gramOf(points));
    for (const k of [0, 1]) {
      // Up to the sign of each axis, which the sign rule fixes: compare with the matching orientation.
      const sign = Math.sign(
        dot(
          expected[k]!,
          ab.map((_, i) => coords[i]![k]!),
        ),
      );
      ab.forEach((_, i) => expect(coords[i]![k]).toBeCloseTo(sign * expected[k]![i]!, 7));
    }
    expect(explained[0]).toBeCloseTo(l1 / (l1 + l2), 10);
    expect(explained[1]).toBeCloseTo(l2 / (l1 + l2), 10);
    // Planar data: the map keeps every pairwise distance.
    for (let i = 0; i < n; i++) {
      for (let j = 0; j < n; j++) {
        const dd = plus(points[i]!, scaled(points[j]!, -1));
        const dm = [coords[i]![0]! - coords[j]![0]!, coords[i]![1]! - coords[j]![1]!];
        expect(Math.sqrt(dot(dm, dm))).toBeCloseTo(Math.sqrt(dot(dd, dd)), 7);
      }
    }
  });

  it('per-layer Gram matrices add up to the Gram matrix of the concatenated vectors', () => {
    const r = rng(9);
    const layers = [0, 1, 2].map(() => Array.from({ length: 4 }, () => Array.from({ length: 10 }, r)));
    const concat = [0, 1, 2, 3].map((i) => layers.flatMap((l) => l[i]!));
    const summed = sumGrams(layers.map(gramOf));
    const whole = gramOf(concat);
    summed.forEach((row, i) => row.forEach((x, j) => expect(x).toBeCloseTo(whole[i]![j]!, 12)));
  });

  it("cosines from the Gram matrix are the vectors' cosines, 0 beside a zero vector", () => {
    const r = rng(5);
    const vs = [...Array.from({ length: 3 }, () => Array.from({ length: 7 }, r)), Array<number>(7).fill(0)];
    const cos = cosinesFromGram(gramOf(vs));
    vs.forEach((a, i) =>
      vs.forEach((b, j) => {
        const nn = dot(a, a) * dot(b, b);
        expect(cos[i]![j]).toBeCloseTo(nn > 0 ? dot(a, b) / Math.sqrt(nn) : 0, 12);
      }),
    );
    expect(cos[0]![0]).toBeCloseTo(1, 12);
    expect(cos[3]![1]).toBe(0);
  });

  it('centring removes a shared offset: the map does not depend on where the cloud sits', () => {
    const r = rng(21);
    const pts = Array.from({ length: 5 }, () => Array.from({ length: 6 }, r));
    const shifted = pts.map((p) => p.map((x, i) => x + 100 * (i + 1)));
    const a = pcaFromGram(gramOf(pts)).coords;
    const b = pcaFromGram(gramOf(shifted)).coords;
    a.forEach((row, i) => row.forEach((x, k) => expect(b[i]![k]).toBeCloseTo(x, 6)));
    const c = centreGram(gramOf(pts));
    c.forEach((row) => expect(row.reduce((s, x) => s + x, 0)).toBeCloseTo(0, 12));
  });

  it('one point or identical points sit at the origin', () => {
    expect(pcaFromGram([[4]]).coords).toEqual([[0, 0]]);
    const same = pcaFromGram(
      gramOf([
        [1, 2, 3],
        [1, 2, 3],
        [1, 2, 3],
      ]),
    );
    for (const row of same.coords) for (const x of row) expect(Math.abs(x)).toBeLessThan(1e-6);
    expect(pcaFromGram([]).coords).toEqual([]);
  });
});
