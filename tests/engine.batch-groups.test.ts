/**
 * How continueMany splits its queries (continueInGroups in src/engine/batchRun.ts), without a GPU: groups of
 * batchSize, at most the engine's capacity, through the batched pass; one generate() per query where the
 * capacity is 0 (batchSlots found fewer than two states fitting, as for Mamba-2 at 2.7b size).
 */
import { describe, expect, it } from 'vitest';
import type { GpuState } from '../src/engine/api.ts';
import { continueInGroups, type BatchHost } from '../src/engine/batchRun.ts';

const states = Array.from({ length: 5 }, (_, i) => ({ id: i }) as unknown as GpuState);
const queries = [[1], [2, 3], [4], [5, 6, 7], [8]];

function host(capacity: number) {
  const calls: { generate: number[][]; groups: { states: unknown; group: number[][] }[] } = {
    generate: [],
    groups: [],
  };
  const h: BatchHost = {
    check: (q) => Uint32Array.from(q as number[]),
    capacity,
    generate: async (_s, p) => {
      calls.generate.push([...p]);
      return [p[0]! + 100];
    },
    runGroup: async (s, group) => {
      calls.groups.push({ states: s, group: group.map((g) => [...g]) });
      return group.map((g) => [g[0]! + 100]);
    },
  };
  return { h, calls };
}

describe('continueInGroups', () => {
  it('runs groups of batchSize, at most the capacity, each with its queries’ states', async () => {
    const { h, calls } = host(2);
    const progress: number[] = [];
    const out = await continueInGroups(
      states,
      queries,
      { maxNewTokens: 3, batchSize: 5, onProgress: (p) => progress.push(p.done) },
      h,
    );
    expect(out).toEqual([[101], [102], [104], [105], [108]]);
    expect(calls.generate).toEqual([]);
    expect(calls.groups.map((g) => g.group)).toEqual([[[1], [2, 3]], [[4], [5, 6, 7]], [[8]]]);
    expect(calls.groups.map((g) => g.states)).toEqual([
      states.slice(0, 2),
      states.slice(2, 4),
      states.slice(4),
    ]);
    expect(progress).toEqual([2, 4, 5]);
  });

  it('runs one generate() per query where the capacity is 0', async () => {
    const { h, calls } = host(0);
    const progress: number[] = [];
    const out = await continueInGroups(
      states[0]!,
      queries,
      { maxNewTokens: 3, onProgress: (p) => progress.push(p.done) },
      h,
    );
    expect(out).toEqual([[101], [102], [104], [105], [108]]);
    expect(calls.groups).toEqual([]);
    expect(calls.generate).toEqual(queries);
    expect(progress).toEqual([1, 2, 3, 4, 5]);
  });
});
