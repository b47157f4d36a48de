/**
 * State files of both families: the committed version-1 file (written by the release before Mamba-2) loads as
 * it always did, Mamba-2 states round-trip in format version 2, neither family's file loads into the other,
 * and a Mamba-2 state exported from the float64 reference continues, by the docs/states.md cache recipe, to
 * the m2-tiny-a fixture's logits.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { exportStateFile, importStateFile } from '../src/engine/states/stateFile.ts';
import { SafetensorsFile, writeSafetensors } from '../src/model/safetensors.ts';
import { StateFileError, type StateShape, type StoredState } from '../src/engine/states/types.ts';
import { FIXTURES_DIR } from './helpers/fixtures.ts';
import { M2_TINY_A_HEAD_FILE, m2TinyAHeadMix } from './helpers/m2TinyAState.ts';
import { bits, randomState } from './mix-helpers.ts';

const V1_FILE = new Uint8Array(readFileSync(join(FIXTURES_DIR, 'states/v1-mamba1.state.safetensors')));
const v1Shape: StateShape = { layers: 2, dInner: 6, dState: 4, convWidth: 3 };
const m2Shape: StateShape = {
  family: 'mamba2',
  layers: 2,
  dInner: 12,
  dState: 5,
  convWidth: 2,
  numHeads: 4,
  headDim: 3,
  nGroups: 2,
};

function m2State(i: number): StoredState {
  return {
    meta: {
      id: `m2-${i}`,
      name: `mamba-2 state ${i}`,
      modelId: 'test/m2-model',
      weightsHash: 'w2-m2m2m2m2m2m2m2m2',
      shape: m2Shape,
      text: `hot->cold ${i}`,
      tokenIds: [3, 4, i],
      tokenCount: 3,
      createdAt: 1764400000000 + i,
      taskLabel: 'antonym',
    },
    state: randomState(m2Shape, 60 + i),
  };
}

describe('version 1 (Mamba-1) files written by the earlier release', () => {
  it('load as before: the shape, metadata and every value bit for bit', () => {
    const got = importStateFile(V1_FILE, 'v1.safetensors', {
      modelId: 'test/v1-model',
      weightsHash: 'w2-00112233445566ff',
      shape: v1Shape,
    });
    expect(got.map((s) => s.meta.shape)).toEqual([v1Shape, v1Shape]);
    expect(got[0]!.meta).toMatchObject({
      id: 's-v1-0',
      name: 'antonyms ✓',
      taskLabel: 'antonym',
      tokenIds: [5, 6, 7, 8],
    });
    expect(got[1]!.meta).toMatchObject({ id: 's-v1-1', tokenIds: [], origin: 'mix {"mode":"mean"}' });
    // The file was written from randomState(shape, 40 + i) (tests/fixtures/states/README.md).
    got.forEach((s, i) => expect(bits(s.state)).toEqual(bits(randomState(v1Shape, 40 + i))));
  });

  it('a Mamba-1 export today is still version 1, byte for byte the earlier release’s file', () => {
    const again = exportStateFile(importStateFile(V1_FILE, 'v1.safetensors'));
    expect(Buffer.from(again).equals(Buffer.from(V1_FILE))).toBe(true);
  });
});

describe('version 2 (Mamba-2) files', () => {
  it('round-trip bit for bit, with the architecture and the per-head layout in the file', () => {
    const set = [m2State(1), m2State(2)];
    const bytes = exportStateFile(set);
    const st = new SafetensorsFile(bytes);
    expect(st.metadata['format_version']).toBe('2');
    expect(st.metadata['architecture']).toBe('mamba2');
    expect(st.info('states.1.ssm').shape).toEqual([2, 4, 3, 5]);
    expect(st.info('states.1.conv').shape).toEqual([2, 12 + 2 * 2 * 5, 2]);
    expect(st.info('states.1.dt_sum').shape).toEqual([2, 4]);
    const back = importStateFile(bytes, 'm2.safetensors', {
      modelId: 'test/m2-model',
      weightsHash: 'w2-m2m2m2m2m2m2m2m2',
      shape: m2Shape,
    });
    expect(back.map((s) => s.meta)).toEqual(set.map((s) => s.meta));
    back.forEach((s, i) => expect(bits(s.state)).toEqual(bits(set[i]!.state)));
  });

  it('neither family loads into the other: one line naming both families and what to load', () => {
    const m2file = exportStateFile([m2State(1)]);
    const intoM1 = () =>
      importStateFile(m2file, 'm2.safetensors', {
        modelId: 'test/v1-model',
        weightsHash: 'w2-00112233445566ff',
        shape: v1Shape,
      });
    expect(intoM1).toThrow(StateFileError);
    expect(intoM1).toThrow(
      'm2.safetensors holds Mamba-2 states (of test/m2-model); the loaded model is Mamba-1 (test/v1-model). Load test/m2-model, a Mamba-2 model, to import them.',
    );
    const intoM2 = () =>
      importStateFile(V1_FILE, 'v1.safetensors', {
        modelId: 'test/m2-model',
        weightsHash: 'w2-m2m2m2m2m2m2m2m2',
        shape: m2Shape,
      });
    expect(intoM2).toThrow(
      'v1.safetensors holds Mamba-1 states (of test/v1-model); the loaded model is Mamba-2 (test/m2-model). Load test/v1-model, a Mamba-1 model, to import them.',
    );
  });

  it('refuses a version-2 file without an architecture, inconsistent head sizes, and version 3', () => {
    const st = new SafetensorsFile(exportStateFile([m2State(1)]));
    const rewrite = (patch: Record<string, string | undefined>) => {
      const md = { ...st.metadata, ...patch };
      for (const k of Object.keys(md)) if (md[k] === undefined) delete md[k];
      const tensors = Object.fromEntries(
        st.names.map((n) => {
          const info = st.info(n);
          const buf = st.raw(n).slice().buffer;
          const data = info.dtype === 'I32' ? new Int32Array(buf) : new Float32Array(buf);
          return [n, { dtype: info.dtype as 'F32' | 'I32', shape: info.shape, data }];
        }),
      );
      return writeSafetensors(tensors, md as Record<string, string>);
    };
    expect(() => importStateFile(rewrite({ architecture: undefined }), 'f')).toThrow(
      /does not say which architecture/,
    );
    const shape = JSON.parse(st.metadata['shape']!) as Record<string, unknown>;
    expect(() =>
      importStateFile(rewrite({ shape: JSON.stringify({ ...shape, num_heads: 5 }) }), 'f'),
    ).toThrow(/num_heads × head_dim/);
    expect(() => importStateFile(rewrite({ format_version: '3' }), 'f')).toThrow(
      /version 3; this app reads up to 2/,
    );
  });
});

describe('docs/states.md, Mamba-2', () => {
  const file = join(FIXTURES_DIR, M2_TINY_A_HEAD_FILE);

  it('the committed m2-tiny-a state file is what this code exports (the input of tests/py/hf_continue_mamba2.py)', () => {
    const now = exportStateFile([m2TinyAHeadMix()]);
    expect(Buffer.from(now).equals(readFileSync(file))).toBe(true);
  });

  it("tests/py/hf_continue_mamba2.py runs the recipe's own cache functions (slot, layer_tensors, returned_cache)", () => {
    const root = join(import.meta.dirname, '..');
    const doc = readFileSync(join(root, 'docs/states.md'), 'utf8');
    const script = readFileSync(join(import.meta.dirname, 'py/hf_continue_mamba2.py'), 'utf8');
    // A Python function's text: from its `def` to the first blank line.
    const fn = (text: string, name: string) => {
      const at = text.indexOf(`def ${name}(`);
      return at < 0 ? undefined : text.slice(at, text.indexOf('\n\n', at));
    };
    for (const name of ['slot', 'layer_tensors', 'returned_cache']) {
      expect(fn(doc, name), name).toBeDefined();
      expect(fn(script, name), name).toBe(fn(doc, name));
    }
  });

  it('m2-tiny-a: that state (head, mixed with itself) continues to mix.query_logits by the cache recipe (numpy, 1e-3)', () => {
    const out = execFileSync(
      'python3',
      [join(import.meta.dirname, 'py/continue_like_hf_mamba2.py'), file, join(FIXTURES_DIR, 'm2-tiny-a')],
      { encoding: 'utf8' },
    );
    const { rel_max_diff: d } = JSON.parse(out) as { rel_max_diff: number };
    console.log(
      `[states.file.mamba2] numpy continuation from the exported state vs mix.query_logits: ${d.toExponential(2)}`,
    );
    expect(d).toBeLessThan(1e-3);
  });
});
