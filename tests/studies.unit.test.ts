/**
 * The studies' pure parts: Wilson intervals against published values (Newcombe 1998, Table II) and against
 * inverting the score test numerically; seeded draws and splits; task parsing and its messages; the order
 * enumeration and the order-averaged composition against its closed form; the chunk split and the α grid.
 */
import { describe, expect, it } from 'vitest';
import type { MambaEngine } from '../src/engine/api.ts';
import type { MambaState } from '../src/engine/weights.ts';
import {
  allOrders,
  classify,
  drawExamples,
  linesTask,
  mulberry32,
  orderAverage,
  ordersFor,
  parseAlphas,
  parseTaskLines,
  parseTaskSuite,
  sampleIndices,
  seedFor,
  splitChunks,
  StudyInputError,
  StudyRunner,
  suiteTasks,
  taskPools,
  wilson,
  answerer,
  type StudyModel,
} from '../src/studies/index.ts';

/** The Wilson bounds by bisection on the score test |p̂ − p| ≤ z·√(p(1−p)/n): no closed form involved. */
function scoreTestBounds(x: number, n: number, z = 1.959963984540054): [number, number] {
  const ph = x / n;
  const f = (p: number) => Math.abs(ph - p) - z * Math.sqrt((p * (1 - p)) / n);
  const bisect = (a: number, b: number) => {
    for (let i = 0; i < 200; i++) {
      const m = (a + b) / 2;
      if (f(a) > 0 === f(m) > 0) a = m;
      else b = m;
    }
    return (a + b) / 2;
  };
  return [x === 0 ? 0 : bisect(0, ph), x === n ? 1 : bisect(ph, 1)];
}

describe('wilson', () => {
  it('matches Newcombe (1998) Table II to four decimals', () => {
    const published: [number, number, number, number][] = [
      [81, 263, 0.2553, 0.3662],
      [15, 148, 0.0624, 0.1605],
      [0, 20, 0, 0.1611],
      [1, 29, 0.0061, 0.1718],
    ];
    for (const [x, n, lo, hi] of published) {
      const w = wilson(x, n);
      expect(w.lo, `${x}/${n}`).toBeCloseTo(lo, 4);
      expect(w.hi, `${x}/${n}`).toBeCloseTo(hi, 4);
    }
  });

  it('equals the inverted score test for every count up to n = 60', () => {
    for (const n of [1, 2, 7, 60]) {
      for (let x = 0; x <= n; x++) {
        const [lo, hi] = scoreTestBounds(x, n);
        const w = wilson(x, n);
        expect(Math.abs(w.lo - lo), `${x}/${n}`).toBeLessThan(1e-9);
        expect(Math.abs(w.hi - hi), `${x}/${n}`).toBeLessThan(1e-9);
      }
    }
  });

  it('gives [0, 1] for no trials and refuses impossible counts', () => {
    expect(wilson(0, 0)).toEqual({ lo: 0, hi: 1 });
    expect(() => wilson(3, 2)).toThrow(RangeError);
    expect(() => wilson(-1, 2)).toThrow(RangeError);
  });
});

describe('seeded draws', () => {
  it('sampleIndices draws distinct indices, the same for the same seed', () => {
    const a = sampleIndices(1000, 50, mulberry32(7));
    expect(new Set(a).size).toBe(50);
    expect(a.every((i) => i >= 0 && i < 1000)).toBe(true);
    expect(sampleIndices(1000, 50, mulberry32(7))).toEqual(a);
    expect(sampleIndices(1000, 50, mulberry32(8))).not.toEqual(a);
    expect(sampleIndices(5, 5, mulberry32(1)).sort()).toEqual([0, 1, 2, 3, 4]);
    expect(() => sampleIndices(3, 4, mulberry32(1))).toThrow(RangeError);
  });

  it('seedFor separates the names of a draw', () => {
    expect(seedFor(1, 'a', 2)).toBe(seedFor(1, 'a', 2));
    expect(seedFor(1, 'a', 2)).not.toBe(seedFor(1, 'a', 3));
    expect(seedFor(1, 'ab', '')).not.toBe(seedFor(1, 'a', 'b'));
  });

  it('drawExamples never draws the query input', () => {
    const pool: [string, string][] = Array.from({ length: 20 }, (_, i) => [`w${i}`, `o${i}`]);
    for (let seed = 0; seed < 30; seed++) {
      const got = drawExamples(pool, 19, mulberry32(seed), new Set(['w3']), 't');
      expect(got.some((p) => p[0] === 'w3')).toBe(false);
      expect(new Set(got.map((p) => p[0])).size).toBe(19);
    }
    expect(() => drawExamples(pool, 20, mulberry32(1), new Set(['w3']), 'antonym')).toThrow(/"antonym"/);
  });
});

describe('task sources', () => {
  const lines = Array.from({ length: 12 }, (_, i) => `in${i}->out${i}`).join('\n');

  it('parses input->output lines, skipping blank ones', () => {
    expect(parseTaskLines('a->b\n\n c ->d e\r\n', 'x.txt')).toEqual([
      ['a', 'b'],
      [' c ', 'd e'],
    ]);
  });

  it('names the line without a separator, with an empty side, and an empty text', () => {
    expect(() => parseTaskLines('a->b\nhello\n', 'mine.txt')).toThrow(
      /mine\.txt, line 2: "hello" has no "->"/,
    );
    expect(() => parseTaskLines('a->b\n->x', 'mine.txt')).toThrow(/line 2/);
    expect(() => parseTaskLines('\n  \n', 'mine.txt')).toThrow(/mine\.txt is empty/);
  });

  it('splits a user task into disjoint seeded pools and refuses too few pairs for k·M', () => {
    const t = linesTask('mine', lines, 'file mine.txt');
    const p = taskPools(t, 4, 6, 1);
    expect(p.queries).toHaveLength(4);
    expect(p.examples).toHaveLength(8);
    const qs = new Set(p.queries.map((x) => x[0]));
    expect(p.examples.some((x) => qs.has(x[0]))).toBe(false);
    expect(taskPools(t, 4, 6, 1)).toEqual(p);
    expect(taskPools(t, 4, 6, 2)).not.toEqual(p);
    expect(() => taskPools(t, 4, 9, 1)).toThrow(/12 pairs; 4 queries and 9 examples \(k·M\) need 13/);
  });

  it('picks suite tasks by name and names an unknown one with the known ones', () => {
    const suite = parseTaskSuite({
      separator: '->',
      tasks: [{ name: 'up', train: [['a', 'A']], heldout: [['b', 'B']] }],
    });
    expect(suiteTasks(suite, ['up'], 'bundled suite')[0]!.pools!.queries).toEqual([['b', 'B']]);
    expect(() => suiteTasks(suite, ['antonm'], 'bundled suite')).toThrow(
      /Unknown task "antonm" in bundled suite; it has up/,
    );
    expect(() => parseTaskSuite({ tasks: 3 })).toThrow(StudyInputError);
    expect(() =>
      parseTaskSuite({ separator: '->', tasks: [{ name: 'x', train: [[1, 2]], heldout: [] }] }),
    ).toThrow(/task "x" has no "train"/);
  });
});

describe('orders', () => {
  it('enumerates every permutation for K ≤ 6', () => {
    for (let k = 1; k <= 6; k++) {
      const { orders, exact } = ordersFor(k, 10, 1);
      const fact = Array.from({ length: k }, (_, i) => i + 1).reduce((a, b) => a * b, 1);
      expect(exact).toBe(true);
      expect(orders).toHaveLength(fact);
      expect(new Set(orders.map((o) => o.join())).size).toBe(fact);
      expect(
        orders.every((o) => [...o].sort().join() === Array.from({ length: k }, (_, i) => i).join()),
      ).toBe(true);
    }
    expect(allOrders(3)).toEqual([
      [0, 1, 2],
      [0, 2, 1],
      [1, 0, 2],
      [1, 2, 0],
      [2, 0, 1],
      [2, 1, 0],
    ]);
  });

  it('samples the requested number of permutations for K > 6, seeded', () => {
    const a = ordersFor(8, 40, 5);
    expect(a.exact).toBe(false);
    expect(a.orders).toHaveLength(40);
    expect(a.orders.every((o) => [...o].sort().join() === '0,1,2,3,4,5,6,7')).toBe(true);
    expect(ordersFor(8, 40, 5)).toEqual(a);
  });
});

/** Elementary symmetric polynomials e_0..e_n of `xs`. */
function elementary(xs: number[]): number[] {
  const e = [1, ...xs.map(() => 0)];
  for (const x of xs) for (let j = e.length - 1; j > 0; j--) e[j]! += e[j - 1]! * x;
  return e;
}
const choose = (n: number, k: number) => {
  let c = 1;
  for (let i = 0; i < k; i++) c = (c * (n - i)) / (i + 1);
  return c;
};

describe('orderAverage', () => {
  it('equals the closed form of the average over orders: h_i weighted by E[Π of the decays after it]', () => {
    // One layer, d_inner 3, d_state 2: for a uniform random order, the chunks after i are a uniformly random
    // subset of size s (s uniform in 0..K−1), so E[Π_{j after i} Λ_j] = (1/K) Σ_s e_s(Λ_{−i}) / C(K−1, s).
    const dInner = 3;
    const dState = 2;
    const K = 5;
    const rnd = mulberry32(3);
    const aLog = Float32Array.from({ length: dInner * dState }, () => Math.log(0.2 + rnd()));
    const states: MambaState[] = Array.from({ length: K }, () => ({
      layers: [
        {
          ssm: Float32Array.from({ length: dInner * dState }, () => rnd() * 2 - 1),
          conv: Float32Array.from({ length: dInner * 3 }, () => rnd()),
          dtSum: Float32Array.from({ length: dInner }, () => rnd() * 3),
        },
      ],
    }));
    // The CPU mixer needs the layer count and A_log only; no engine runs here.
    const model = {
      engine: { config: { numLayers: 1 } } as unknown as MambaEngine,
      tokenizer: { encode: () => [1], decode: () => '' },
      aLogs: [aLog],
      info: { id: 't', weightsHash: 'w', adapter: 'none', dtype: 'f32', layers: 1, dModel: 1 },
    } satisfies StudyModel;
    const runner = new StudyRunner(model, 1);
    const got = orderAverage(runner, states, allOrders(K)).layers[0]!;
    for (let e = 0; e < dInner * dState; e++) {
      const d = Math.floor(e / dState);
      const a = -Math.exp(aLog[e]!);
      const lambda = states.map((s) => Math.exp(a * s.layers[0]!.dtSum[d]!));
      let want = 0;
      states.forEach((s, i) => {
        const es = elementary(lambda.filter((_, j) => j !== i));
        let c = 0;
        for (let k = 0; k < K; k++) c += es[k]! / choose(K - 1, k);
        want += (c / K) * s.layers[0]!.ssm[e]!;
      });
      expect(Math.abs(got.ssm[e]! - want)).toBeLessThan(1e-5 * Math.max(1, Math.abs(want)));
    }
    for (let e = 0; e < dInner * 3; e++) {
      const mean = states.reduce((acc, s) => acc + s.layers[0]!.conv[e]!, 0) / K;
      expect(got.conv[e]!).toBeCloseTo(mean, 5);
    }
    for (let d = 0; d < dInner; d++) {
      expect(got.dtSum[d]!).toBeCloseTo(
        states.reduce((acc, s) => acc + s.layers[0]!.dtSum[d]!, 0),
        4,
      );
    }
  });
});

describe('chunked split, α grid, switch classes', () => {
  it('splits into equal chunks with the remainder last', () => {
    const ctx = Array.from({ length: 11 }, (_, i) => i);
    expect(splitChunks(ctx, 3)).toEqual([
      [0, 1, 2],
      [3, 4, 5],
      [6, 7, 8, 9, 10],
    ]);
    expect(splitChunks(ctx, 1)).toEqual([ctx]);
  });

  it('parses start:stop:count inclusive', () => {
    expect(parseAlphas('0:1:5')).toEqual([0, 0.25, 0.5, 0.75, 1]);
    expect(parseAlphas('0:1:21')).toHaveLength(21);
    expect(parseAlphas('0.5:0.5:1')).toEqual([0.5]);
    expect(() => parseAlphas('0:1')).toThrow(/start:stop:count/);
    expect(() => parseAlphas('0:1:2.5')).toThrow(StudyInputError);
  });

  it('classifies answers as A, B, both composed, or other', () => {
    const up = answerer({ name: 'uppercase', source: 's', separator: '->', pairs: [] });
    const pl = answerer({ name: 'plural', source: 's', separator: '->', pairs: [['ant', 'ants']] });
    expect(classify('ANTS', 'ant', up, pl)).toBe('both');
    expect(classify('ANT', 'ant', up, pl)).toBe('a');
    expect(classify('ants', 'ant', up, pl)).toBe('b');
    expect(classify('antz', 'ant', up, pl)).toBe('other');
  });
});

describe('study exports', () => {
  it('CSV has one line per row with the run’s model and seed; retrieval tags its two tables', async () => {
    const { studyCsv } = await import('../src/features/studies/exportStudy.ts');
    const run = { model: { id: 'm,1' }, seed: 7 } as never;
    const csv = studyCsv({
      study: 'switch',
      rows: [{ alpha: 0, a: 2, b: 0, both: 0, other: 1, total: 3 }],
      run,
    });
    expect(csv).toBe('alpha,a,b,both,other,total,model,seed\n0,2,0,0,1,3,"m,1",7\n');
    const r = studyCsv({
      study: 'retrieval',
      rows: [{ layer: 'all', metric: 'cosine', top1: 3, total: 4 }],
      answers: [{ source: 'zero', correct: 1, total: 4, accuracy: 0.25, lo: 0.05, hi: 0.7 }],
      run,
    });
    expect(r.split('\n')[0]).toBe('table,layer,metric,top1,total,model,seed,source,correct,accuracy,lo,hi');
    expect(r.split('\n')[2]).toBe('answers,,,,4,"m,1",7,zero,1,0.25,0.05,0.7');
  });
});
