/**
 * State files: export → import is bit-identical (tensors and metadata), bad files are refused with a clear
 * StateFileError, and the bytes follow the safetensors format strictly enough for Python to read them.
 */
import { describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { exportStateFile, importStateFile, stateFileName } from '../src/engine/states/stateFile.ts';
import { StateFileError, type StoredState, type StateShape } from '../src/engine/states/types.ts';
import { writeSafetensors } from '../src/model/safetensors.ts';
import { FIXTURES_DIR, loadFixture } from './helpers/fixtures.ts';
import { mixStoredCpu } from '../src/engine/states/mix.ts';
import { shapeOfConfig } from '../src/engine/states/types.ts';
import { bits, randomState } from './mix-helpers.ts';

const shape: StateShape = { layers: 2, dInner: 24, dState: 4, convWidth: 3 };

function state(i: number, extra: Partial<StoredState['meta']> = {}): StoredState {
  return {
    meta: {
      id: `id-${i}`,
      name: `state ${i} “quoted” ✓`,
      modelId: 'test/model',
      weightsHash: 'w1-0123456789abcdef',
      shape,
      text: `antonyms: hot->cold\nbig->small ${i}`,
      tokenIds: [5, 6, 7, i],
      tokenCount: 4,
      createdAt: 1764300000000 + i,
      taskLabel: 'antonyms',
      ...extra,
    },
    state: randomState(shape, 100 + i),
  };
}

const expectation = { modelId: 'test/model', weightsHash: 'w1-0123456789abcdef', shape };

describe('state files', () => {
  it('export → import of one state and of many is bit-identical, metadata included', () => {
    const one = [state(1)];
    const many = [
      state(1),
      state(2, { taskLabel: undefined, tokenIds: [], tokenCount: 0, origin: 'mix' }),
      state(3),
    ];
    for (const set of [one, many]) {
      const back = importStateFile(exportStateFile(set), 'x.safetensors', expectation);
      expect(back.length).toBe(set.length);
      back.forEach((b, i) => {
        expect(bits(b.state)).toEqual(bits(set[i]!.state));
        const want = { ...set[i]!.meta };
        if (want.taskLabel === undefined) delete want.taskLabel;
        expect(b.meta).toEqual(want);
      });
    }
    expect(stateFileName(one)).toBe('state_1_quoted_.state.safetensors');
  });

  it('refuses a corrupt file (truncated, damaged header, random bytes) with StateFileError', () => {
    const good = exportStateFile([state(1)]);
    const truncated = good.slice(0, good.length - 10);
    const damaged = good.slice();
    damaged[12] = 0x7b; // a stray "{" inside the JSON header
    const random = Uint8Array.from({ length: 300 }, (_, i) => (i * 37) & 255);
    for (const bad of [truncated, damaged, random, new Uint8Array(3)]) {
      expect(() => importStateFile(bad, 'bad.safetensors', expectation)).toThrow(StateFileError);
    }
    expect(() => importStateFile(truncated, 'bad.safetensors')).toThrow(/truncated/);
  });

  it('refuses a safetensors file that is not a state (a model checkpoint)', () => {
    const model = new Uint8Array(readFileSync(join(FIXTURES_DIR, 'tiny-a/model.safetensors')));
    expect(() => importStateFile(model, 'model.safetensors', expectation)).toThrow(/not a saved state/);
  });

  it('refuses a state of another model, of another shape, or of a newer format version', () => {
    const file = exportStateFile([state(1)]);
    expect(() => importStateFile(file, 's', { ...expectation, weightsHash: 'w1-ffffffffffffffff' })).toThrow(
      /loaded model is test\/model \(weights w1-ffffffffffffffff\)/,
    );
    expect(() => importStateFile(file, 's', { ...expectation, shape: { ...shape, dState: 16 } })).toThrow(
      /shape/,
    );
    const newer = writeSafetensors(
      { 'states.0.ssm': { dtype: 'F32', shape: [1], data: new Float32Array(1) } },
      { format: 'state-soup.states', format_version: '3' },
    );
    expect(() => importStateFile(newer, 's')).toThrow(/version 3/);
  });

  it('refuses a file whose tensors do not match its declared shape', () => {
    const s = state(1);
    const file = exportStateFile([s]);
    const text = new TextDecoder().decode(file);
    const lied = text.replace('"d_state":4', '"d_state":5');
    expect(() => importStateFile(new TextEncoder().encode(lied), 's')).toThrow(StateFileError);
  });

  it('refuses to export states of different models into one file', () => {
    expect(() => exportStateFile([state(1), state(2, { weightsHash: 'w1-other' })])).toThrow(
      /different models/,
    );
  });

  it('Python reads the file: a strict reader of the safetensors spec (numpy) gets the same values', () => {
    const dir = mkdtempSync(join(tmpdir(), 'statefile-'));
    const set = [state(1), state(2)];
    writeFileSync(join(dir, 'two.safetensors'), exportStateFile(set));
    const out = execFileSync(
      'python3',
      [join(import.meta.dirname, 'py/read_state_file.py'), join(dir, 'two.safetensors')],
      {
        encoding: 'utf8',
      },
    );
    const got = JSON.parse(out) as {
      metadata: Record<string, string>;
      sums: Record<string, number>;
      tokens: Record<string, number[]>;
    };
    expect(got.metadata['format']).toBe('state-soup.states');
    expect(JSON.parse(got.metadata['states']!)[1].name).toBe(set[1]!.meta.name);
    set.forEach((s, i) => {
      const sum = s.state.layers.reduce((a, l) => a + l.ssm.reduce((x, y) => x + y, 0), 0);
      expect(got.sums[`states.${i}.ssm`]).toBeCloseTo(sum, 3);
      expect(got.tokens[`states.${i}.token_ids`]).toEqual(s.meta.tokenIds);
    });
  });

  it('docs/states.md recipe: the exported mix of tiny-a, put in transformers-style conv windows, continues to mix.query_logits', () => {
    const fx = loadFixture('tiny-a');
    const sources: StoredState[] = Array.from(fx.expected.int32('mix.sources')).map((i) => {
      const seq = fx.sequences[i]!;
      return {
        meta: {
          ...state(i).meta,
          id: seq,
          name: seq,
          modelId: 'tiny-a',
          shape: shapeOfConfig(fx.weights.config),
        },
        state: {
          layers: fx.weights.layers.map((_, l) => ({
            ssm: fx.expected.float32(`${seq}.ssm_state.${l}`),
            conv: fx.expected.float32(`${seq}.conv_state.${l}`),
            dtSum: fx.expected.float32(`${seq}.dt_sum.${l}`),
          })),
        },
      };
    });
    const mixed = mixStoredCpu(sources, {
      mode: 'weighted',
      weights: Array.from(fx.expected.float32('mix.weights')),
    });
    const dir = mkdtempSync(join(tmpdir(), 'statefile-'));
    writeFileSync(join(dir, 'mix.safetensors'), exportStateFile([mixed]));
    const out = execFileSync(
      'python3',
      [join(import.meta.dirname, 'py/continue_like_hf.py'), join(dir, 'mix.safetensors'), fx.dir],
      { encoding: 'utf8' },
    );
    const { rel_max_diff: d } = JSON.parse(out) as { rel_max_diff: number };
    console.log(
      `[states.file] numpy continuation from the exported mix vs mix.query_logits: ${d.toExponential(2)}`,
    );
    expect(d).toBeLessThan(1e-3);
  });
});
