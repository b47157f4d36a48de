/**
 * Keeping stored states on the GPU, as bookkeeping (no GPU here): the byte-bounded LRU, and the state cache's
 * uploads through a recording stand-in for the engine's state calls. That the GPU copies give the same
 * results as the host path is tested on a real adapter in tests/worker-service.gpu-mix.test.ts.
 */
import { describe, expect, it } from 'vitest';
import type { GpuState } from '../src/engine/api.ts';
import type { StoredState } from '../src/engine/states/types.ts';
import type { MambaState } from '../src/engine/weights.ts';
import { ByteLru } from '../src/worker/byte-lru.ts';
import { StateCache, stateBytes, type StateDevice } from '../src/worker/state-cache.ts';

function lru(budget: number) {
  const released: string[] = [];
  const m = new ByteLru<string>(budget, (v, k) => released.push(`${k}=${v}`));
  return { m, released };
}

describe('the byte-bounded LRU', () => {
  it('evicts the least recently used entries until the bytes fit, and releases each once', () => {
    const { m, released } = lru(100);
    m.set('a', 'A', 40);
    m.set('b', 'B', 40);
    expect(m.bytes).toBe(80);
    m.get('a'); // a is now the most recent
    m.set('c', 'C', 40);
    expect(m.keys()).toEqual(['a', 'c']);
    expect(m.bytes).toBe(80);
    expect(released).toEqual(['b=B']);
    m.set('d', 'D', 70); // needs both a and c gone
    expect(m.keys()).toEqual(['d']);
    expect(released).toEqual(['b=B', 'a=A', 'c=C']);
  });

  it('never evicts the new entry or the kept keys; trim brings it back within budget later', () => {
    const { m, released } = lru(50);
    m.set('a', 'A', 40);
    m.set('b', 'B', 40, new Set(['a']));
    expect(m.keys()).toEqual(['a', 'b']);
    expect(m.bytes).toBe(80);
    m.set('big', 'X', 120);
    expect(m.keys()).toEqual(['big']);
    expect(m.bytes).toBe(120);
    m.trim();
    expect(m.keys()).toEqual([]);
    expect(m.bytes).toBe(0);
    expect(released).toEqual(['a=A', 'b=B', 'big=X']);
  });

  it('replacing, deleting and clearing release the old values and keep the byte count exact', () => {
    const { m, released } = lru(1000);
    m.set('a', 'A1', 10);
    m.set('a', 'A2', 30);
    expect(m.bytes).toBe(30);
    m.set('b', 'B', 5);
    m.delete('a');
    m.delete('missing');
    expect(m.bytes).toBe(5);
    m.clear();
    expect(m.bytes).toBe(0);
    expect(released).toEqual(['a=A1', 'a=A2', 'b=B']);
    expect(() => new ByteLru(-1, () => undefined)).toThrow(RangeError);
  });
});

/** A host state of `layers` layers, each of `n` SSM values, filled with `v`. */
const hostState = (v: number, layers = 2, n = 4): MambaState => ({
  layers: Array.from({ length: layers }, () => ({
    ssm: new Float32Array(n).fill(v),
    conv: new Float32Array(2).fill(v),
    dtSum: new Float32Array(1).fill(v),
  })),
});

const stored = (id: string, v: number): StoredState => ({
  meta: {
    id,
    name: id,
    modelId: 'm',
    weightsHash: 'w',
    shape: { layers: 2, dInner: 1, dState: 4, convWidth: 2 },
    text: id,
    tokenIds: [1],
    tokenCount: 1,
    createdAt: 0,
  },
  state: hostState(v),
});

/** Records what the cache asks of the device; a "GPU state" remembers the host values written to it. */
function recordingDevice() {
  const log: string[] = [];
  let next = 0;
  type Fake = GpuState & { n: number; value?: number };
  const device: StateDevice = {
    createState() {
      const g: Fake = {
        n: next++,
        ssm: {} as GPUBuffer,
        conv: {} as GPUBuffer,
        dtSum: {} as GPUBuffer,
        destroy: () => log.push(`destroy ${g.n}`),
      };
      return g;
    },
    writeState(g, host) {
      (g as Fake).value = host.layers[0]!.ssm[0];
      log.push(`write ${(g as Fake).n}=${(g as Fake).value}`);
    },
    copyState(dst, src) {
      log.push(`copy ${(src as Fake).n}`);
      (dst as Fake).value = (src as Fake).value;
    },
  };
  return { device, log, value: (g: GpuState) => (g as Fake).value };
}

describe('the state cache on a device', () => {
  const one = stateBytes(hostState(0));

  it('counts a state’s bytes as its three f32 buffers', () => {
    expect(one).toBe(4 * 2 * (4 + 2 + 1));
  });

  it('uploads a state once while it stays resident, and again from its host copy after eviction', async () => {
    const { device, log, value } = recordingDevice();
    const c = new StateCache();
    c.useGpu(device, 2 * one);
    for (const [k, v] of [
      ['a', 1],
      ['b', 2],
      ['c', 3],
    ] as const)
      c.put(k, stored(k, v));
    expect(c.onGpu(['a', 'b']).map(value)).toEqual([1, 2]);
    expect(c.onGpu(['a']).map(value)).toEqual([1]);
    expect(log).toEqual(['write 0=1', 'write 1=2']);
    // c needs room: b, the least recently used, goes.
    expect(c.onGpu(['c']).map(value)).toEqual([3]);
    expect(c.residentKeys()).toEqual(['a', 'c']);
    expect(c.residentBytes()).toBe(2 * one);
    expect(log.slice(2)).toEqual(['write 2=3', 'destroy 1']);
    // b is uploaded again, from its host copy.
    expect(c.onGpu(['b']).map(value)).toEqual([2]);
    expect(c.residentKeys()).toEqual(['c', 'b']);
  });

  it('a mix of more states than fit gets them all, and the cache is back in budget on the next call', () => {
    const { device } = recordingDevice();
    const c = new StateCache();
    c.useGpu(device, one);
    for (const k of ['a', 'b', 'c']) c.put(k, stored(k, 0));
    expect(c.onGpu(['a', 'b', 'c'])).toHaveLength(3);
    expect(c.residentBytes()).toBe(3 * one);
    c.onGpu(['b']);
    expect(c.residentKeys()).toEqual(['b']);
    expect(c.residentBytes()).toBe(one);
  });

  it('starts runs from a copy of the resident state; replaced, dropped and cleared states leave the GPU', async () => {
    const { device, log, value } = recordingDevice();
    const c = new StateCache();
    c.useGpu(device);
    c.put('a', stored('a', 1));
    const start = await c.startOf('a');
    if (typeof start !== 'function') throw new Error('expected a GPU start');
    const scratch = device.createState();
    await start(scratch);
    expect(value(scratch)).toBe(1);
    // A new state under the same key: the old GPU copy is stale and goes.
    c.put('a', stored('a', 5));
    expect(c.residentKeys()).toEqual([]);
    expect(c.onGpu(['a']).map(value)).toEqual([5]);
    c.drop('a');
    expect(c.residentKeys()).toEqual([]);
    expect(() => c.onGpu(['a'])).toThrow(/not ready yet/);
    c.put('b', stored('b', 2));
    c.onGpu(['b']);
    c.clear();
    expect(c.residentKeys()).toEqual([]);
    expect(log.filter((l) => l.startsWith('destroy'))).toHaveLength(3);
    expect(() => c.onGpu(['b'])).toThrow(/No model is loaded/);
  });

  it('without a device, a run starts from the host copy', async () => {
    const c = new StateCache();
    const s = stored('a', 1);
    c.put('a', s);
    expect(await c.startOf('a')).toBe(s.state);
  });
});
