/**
 * The storage facade's pure parts in Node: the names it keeps things under, the v1 → v2 and v2 → v3 record
 * migrations,
 * the record conversion and the localStorage wrapper's handling of a full disk. The IndexedDB, Cache Storage
 * and localStorage parts themselves run in real Chromium (e2e/storage.spec.ts).
 */
import { describe, expect, it } from 'vitest';
import { STORAGE_KEYS } from '../src/storage/keys.ts';
import {
  metaV2ToV3,
  statesV1ToV2,
  type V1StateRecord,
  type V2MetaRecord,
} from '../src/storage/migrations.ts';
import {
  fromRecords,
  INLINE_TENSOR_BYTES,
  modelKey,
  tensorBytes,
  toRecords,
  type TensorBytes,
} from '../src/storage/records.ts';
import { localStorageFull, onLocalStorageFull, safeStateStorage } from '../src/storage/local.ts';
import { StateMismatchError, type StateShape, type StoredState } from '../src/engine/states/types.ts';
import { bits as bitsOf, randomState } from './mix-helpers.ts';

describe('STORAGE_KEYS', () => {
  it('keeps the names earlier releases saved under (a rename would orphan users’ data)', () => {
    expect(STORAGE_KEYS.stateDb).toBe('state-soup-states');
    expect(STORAGE_KEYS.modelCache).toBe('soup-models-v1');
    expect(STORAGE_KEYS.local).toEqual({
      library: 'soup.library.v1',
      mixer: 'soup.mixer.v1',
      session: 'soup.session.v1',
    });
  });

  it('keys states by model id and weights hash', () => {
    expect(modelKey('state-spaces/mamba-130m-hf', 'w2-0123')).toBe('state-spaces/mamba-130m-hf#w2-0123');
  });
});

const f32 = (...xs: number[]) => new Float32Array(xs).buffer;

describe('statesV1ToV2', () => {
  const v1: V1StateRecord = {
    id: 'id-1',
    name: 'capitals',
    modelId: 'm',
    weightsHash: 'w1-x',
    text: 'Paris is in France.',
    tokenIds: [5, 6, 7],
    createdAt: 1700000000000,
    layers: 2,
    dInner: 1,
    dState: 2,
    convWidth: 1,
    ssm: f32(1, 2, 3, 4),
    conv: f32(5, 6),
    dtSum: f32(7, 8),
  };

  it('splits a v1 record into meta (with shape, token count, model key, size) and the same tensor bytes', () => {
    const { meta, tensors } = statesV1ToV2(v1);
    expect(meta).toEqual({
      id: 'id-1',
      name: 'capitals',
      modelId: 'm',
      weightsHash: 'w1-x',
      shape: { layers: 2, dInner: 1, dState: 2, convWidth: 1 },
      text: 'Paris is in France.',
      tokenIds: [5, 6, 7],
      tokenCount: 3,
      createdAt: 1700000000000,
      modelKey: 'm#w1-x',
      bytes: 32,
    });
    expect(tensors.id).toBe('id-1');
    expect(tensors.ssm).toBe(v1.ssm);
    expect(tensors.conv).toBe(v1.conv);
    expect(tensors.dtSum).toBe(v1.dtSum);
  });

  it('keeps a task label only when the v1 record had one', () => {
    expect('taskLabel' in statesV1ToV2(v1).meta).toBe(false);
    expect(statesV1ToV2({ ...v1, taskLabel: 'geo' }).meta.taskLabel).toBe('geo');
  });

  it('gives a record that reads back, after the v2 → v3 step, as the state the v1 record held', async () => {
    const { meta, tensors } = statesV1ToV2(v1);
    const s = fromRecords(metaV2ToV3(meta), await tensorBytes(tensors));
    expect(s.state.layers.map((l) => [...l.ssm])).toEqual([
      [1, 2],
      [3, 4],
    ]);
    expect(s.state.layers.map((l) => [...l.conv])).toEqual([[5], [6]]);
    expect(s.state.layers.map((l) => [...l.dtSum])).toEqual([[7], [8]]);
    expect('modelKey' in s.meta || 'bytes' in s.meta).toBe(false);
  });
});

describe('toRecords / fromRecords', () => {
  const state: StoredState = {
    meta: {
      id: 'a',
      name: 'a',
      modelId: 'm',
      weightsHash: 'h',
      shape: { layers: 2, dInner: 1, dState: 1, convWidth: 1 },
      text: '',
      tokenIds: [],
      tokenCount: 0,
      createdAt: 1,
    },
    state: {
      layers: [
        { ssm: new Float32Array([-0]), conv: new Float32Array([1.5]), dtSum: new Float32Array([2]) },
        { ssm: new Float32Array([3]), conv: new Float32Array([NaN]), dtSum: new Float32Array([4]) },
      ],
    },
  };

  it('stacks layers and round-trips every bit (−0 and NaN included)', () => {
    const r = toRecords(state);
    expect(r.meta.bytes).toBe(6 * 4);
    // A small state stays inline: ArrayBuffers, as every record saved before.
    const t = r.tensors as TensorBytes;
    expect(t.ssm).toBeInstanceOf(ArrayBuffer);
    expect([...new Float32Array(t.ssm)]).toEqual([-0, 3]);
    const back = fromRecords(r.meta, t);
    const bits = (s: StoredState) =>
      s.state.layers.flatMap((l) => [l.ssm, l.conv, l.dtSum].flatMap((a) => [...new Uint32Array(a.buffer)]));
    expect(bits(back)).toEqual(bits(state));
    expect(back.meta).toEqual(state.meta);
  });

  it('refuses a state whose tensors do not match its shape', () => {
    const bad = { ...state, meta: { ...state.meta, shape: { ...state.meta.shape, dState: 2 } } };
    expect(() => toRecords(bad)).toThrow(StateMismatchError);
  });

  it('records the family: a Mamba-1 state "mamba1", a Mamba-2 state "mamba2" (and reads back its shape)', async () => {
    expect(toRecords(state).meta.family).toBe('mamba1');
    const shape: StateShape = {
      family: 'mamba2',
      layers: 2,
      dInner: 4,
      dState: 3,
      convWidth: 2,
      numHeads: 2,
      headDim: 2,
      nGroups: 1,
    };
    const m2: StoredState = { meta: { ...state.meta, shape }, state: randomState(shape, 5) };
    const r = toRecords(m2);
    expect(r.meta.family).toBe('mamba2');
    // Per layer: ssm 2·2·3, conv (4 + 2·3)·2, Σ Δ 2 — stacked over 2 layers, 4 bytes each.
    expect(r.meta.bytes).toBe(2 * 4 * (12 + 20 + 2));
    const back = fromRecords(r.meta, await tensorBytes(r.tensors));
    expect(back.meta).toEqual(m2.meta);
    expect(bitsOf(back.state)).toEqual(bitsOf(m2.state));
  });
});

it('keeps a state over INLINE_TENSOR_BYTES in Blobs (IndexedDB stores them outside the record) and reads it back', async () => {
  // 65 MiB of SSM state in one layer: over the inline limit, as a 2.7b Mamba-2 state (172 MB) is.
  const n = INLINE_TENSOR_BYTES / 4 + 1024;
  const shape: StateShape = { layers: 1, dInner: n / 16, dState: 16, convWidth: 1 };
  const ssm = new Float32Array(n);
  ssm[0] = -0;
  ssm[n - 1] = 3.5;
  const big: StoredState = {
    meta: {
      id: 'big',
      name: 'big',
      modelId: 'm',
      weightsHash: 'h',
      shape,
      text: '',
      tokenIds: [],
      tokenCount: 0,
      createdAt: 1,
    },
    state: {
      layers: [{ ssm, conv: new Float32Array(n / 16).fill(2), dtSum: new Float32Array(n / 16).fill(1) }],
    },
  };
  const r = toRecords(big);
  expect(r.tensors.ssm).toBeInstanceOf(Blob);
  expect(r.tensors.conv).toBeInstanceOf(Blob);
  expect(r.meta.bytes).toBe(4 * (n + 2 * (n / 16)));
  const back = fromRecords(r.meta, await tensorBytes(r.tensors)).state.layers[0]!;
  expect(Object.is(back.ssm[0], -0)).toBe(true);
  expect(back.ssm[n - 1]).toBe(3.5);
  expect(back.ssm.length).toBe(n);
  expect(back.conv.every((x) => x === 2)).toBe(true);
});

describe('metaV2ToV3', () => {
  const v2: V2MetaRecord = {
    id: 'x',
    name: 'saved in v2',
    modelId: 'state-spaces/mamba-130m-hf',
    weightsHash: 'w2-0123456789abcdef',
    shape: { layers: 24, dInner: 1536, dState: 16, convWidth: 3 },
    text: 'hot->cold',
    tokenIds: [1, 2],
    tokenCount: 2,
    createdAt: 5,
    taskLabel: 'antonym',
    modelKey: 'state-spaces/mamba-130m-hf#w2-0123456789abcdef',
    bytes: 123,
  };

  it('makes every existing record family "mamba1" and changes nothing else', () => {
    expect(metaV2ToV3(v2)).toEqual({ ...v2, family: 'mamba1' });
    expect(v2).not.toHaveProperty('family');
  });

  it('keeps a family that a record already has (an upgrade that is run again)', () => {
    expect(metaV2ToV3({ ...v2, family: 'mamba2' }).family).toBe('mamba2');
  });
});

/** A Storage whose writes fail as a full browser's do once `full` is set. */
function backing(): Storage & { full: boolean; data: Map<string, string> } {
  const data = new Map<string, string>();
  return {
    full: false,
    data,
    get length() {
      return data.size;
    },
    clear: () => data.clear(),
    key: (i: number) => [...data.keys()][i] ?? null,
    getItem: (k: string) => data.get(k) ?? null,
    removeItem: (k: string) => void data.delete(k),
    setItem(k: string, v: string) {
      if (this.full) throw Object.assign(new Error('quota'), { name: 'QuotaExceededError' });
      data.set(k, v);
    },
  };
}

describe('safeStateStorage', () => {
  it('keeps the last saved value and raises the flag when the disk is full, without throwing', () => {
    const b = backing();
    const s = safeStateStorage(b);
    const seen: string[] = [];
    const off = onLocalStorageFull((e) => seen.push(e.key));
    s.setItem('soup.mixer.v1', '{"a":1}');
    b.full = true;
    expect(() => s.setItem('soup.mixer.v1', '{"a":2}')).not.toThrow();
    off();
    expect(b.data.get('soup.mixer.v1')).toBe('{"a":1}');
    expect(seen).toEqual(['soup.mixer.v1']);
    expect(localStorageFull()?.name).toBe('LocalStorageFullError');
    expect(localStorageFull()?.message).toMatch(/Storage panel/);
  });

  it('passes other write errors on', () => {
    const b = backing();
    b.setItem = () => {
      throw new TypeError('not a quota error');
    };
    expect(() => safeStateStorage(b).setItem('k', 'v')).toThrow(TypeError);
  });

  it('keeps values in memory where there is no localStorage', () => {
    const s = safeStateStorage(undefined);
    expect(s.getItem('k')).toBeNull();
    s.setItem('k', 'v');
    expect(s.getItem('k')).toBe('v');
    s.removeItem('k');
    expect(s.getItem('k')).toBeNull();
  });
});
