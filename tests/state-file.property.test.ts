/**
 * Property tests of the state-file reader (untrusted input: any file a user imports). Every input ends in a
 * StateFileError that says what is wrong, or in states whose every array has the size the file's shape
 * implies; never a TypeError, a RangeError, a ModelFormatError leaking through, or a hang. Inputs: random
 * bytes, and valid state files of both families (version 1 Mamba-1, version 2 Mamba-2; written here from a
 * header object) with one metadata value, one tensor field, the length prefix or the bytes mutated.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { importStateFile, type ImportExpectation } from '../src/engine/states/stateFile.ts';
import { StateFileError, type StateShape, type StoredState } from '../src/engine/states/types.ts';
import {
  headerObject,
  mutatedFile,
  mutation,
  type Dtype,
  type HeaderSpec,
} from './helpers/safetensors-arbitraries.ts';

interface Spec {
  layers: number;
  dInner: number;
  dState: number;
  conv: number;
  /** Mamba-2 only: heads × head_dim = dInner; n_groups divides the heads. */
  m2?: { heads: number; headDim: number; groups: number };
  tokens: number[];
  metadata: Record<string, string>;
}

const fileMetas = (tokens: number[], name: string) =>
  JSON.stringify(
    tokens.map((_, i) => ({
      id: `id${i}`,
      name,
      text: 'hi',
      token_count: 2,
      created_at: 1700000000000,
    })),
  );

/** Version-1 (Mamba-1) files. */
const mamba1Spec: fc.Arbitrary<Spec> = fc
  .record({
    layers: fc.integer({ min: 1, max: 3 }),
    dInner: fc.integer({ min: 1, max: 4 }),
    dState: fc.integer({ min: 1, max: 4 }),
    conv: fc.integer({ min: 1, max: 3 }),
    tokens: fc.array(fc.integer({ min: 1, max: 4 }), { minLength: 1, maxLength: 3 }),
    name: fc.string({ maxLength: 6 }),
  })
  .map(({ name, ...s }) => ({
    ...s,
    metadata: {
      format: 'state-soup.states',
      format_version: '1',
      model_id: 'org/model',
      weights_hash: 'abc123',
      dtype: 'F32',
      shape: JSON.stringify({
        layers: s.layers,
        d_inner: s.dInner,
        d_state: s.dState,
        d_conv_minus_1: s.conv,
      }),
      states: fileMetas(s.tokens, name),
    },
  }));

/** Version-2 (Mamba-2) files: per-head SSM state, conv over x, B and C, Σ Δ per head. */
const mamba2Spec: fc.Arbitrary<Spec> = fc
  .record({
    layers: fc.integer({ min: 1, max: 3 }),
    heads: fc.integer({ min: 1, max: 4 }),
    headDim: fc.integer({ min: 1, max: 3 }),
    allGroups: fc.boolean(),
    dState: fc.integer({ min: 1, max: 3 }),
    conv: fc.integer({ min: 1, max: 3 }),
    tokens: fc.array(fc.integer({ min: 1, max: 4 }), { minLength: 1, maxLength: 3 }),
    name: fc.string({ maxLength: 6 }),
  })
  .map(({ name, heads, headDim, allGroups, ...s }) => {
    const groups = allGroups ? heads : 1;
    return {
      ...s,
      dInner: heads * headDim,
      m2: { heads, headDim, groups },
      metadata: {
        format: 'state-soup.states',
        format_version: '2',
        architecture: 'mamba2',
        model_id: 'org/model',
        weights_hash: 'abc123',
        dtype: 'F32',
        shape: JSON.stringify({
          family: 'mamba2',
          layers: s.layers,
          d_inner: heads * headDim,
          num_heads: heads,
          head_dim: headDim,
          state_size: s.dState,
          n_groups: groups,
          d_conv_minus_1: s.conv,
        }),
        states: fileMetas(s.tokens, name),
      },
    };
  });

const stateSpec = fc.oneof(mamba1Spec, mamba2Spec);

/** The state file `spec` describes: per state ssm, conv, dt_sum (F32) and token_ids (I32). */
function headerSpec(s: Spec): HeaderSpec {
  const tensors: HeaderSpec['tensors'] = [];
  s.tokens.forEach((n, i) => {
    const f32 = (part: string, shape: number[]) => ({
      name: `states.${i}.${part}`,
      dtype: 'F32' as Dtype,
      shape,
    });
    if (s.m2) {
      const { heads, headDim, groups } = s.m2;
      tensors.push(f32('ssm', [s.layers, heads, headDim, s.dState]));
      tensors.push(f32('conv', [s.layers, s.dInner + 2 * groups * s.dState, s.conv]));
      tensors.push(f32('dt_sum', [s.layers, heads]));
    } else {
      tensors.push(f32('ssm', [s.layers, s.dInner, s.dState]));
      tensors.push(f32('conv', [s.layers, s.dInner, s.conv]));
      tensors.push(f32('dt_sum', [s.layers, s.dInner]));
    }
    tensors.push({ name: `states.${i}.token_ids`, dtype: 'I32', shape: [n] });
  });
  return { tensors, metadata: s.metadata };
}

/** Metadata values that are wrong in the ways a hand-edited or foreign file would be. */
const oddMetaValue = fc.oneof(
  fc.string({ maxLength: 12 }),
  fc.constantFrom(
    '',
    'null',
    '[]',
    '{}',
    '"x"',
    '0',
    '2',
    '1.5',
    '-1',
    'NaN',
    'F16',
    '[null]',
    '[{"id":1,"name":"a"}]',
    '[{"id":"a","name":"b","token_count":1e999,"created_at":"x"}]',
    '{"layers":1e999,"d_inner":1,"d_state":1,"d_conv_minus_1":1}',
    '{"layers":2e9,"d_inner":2e9,"d_state":2e9,"d_conv_minus_1":2e9}',
    '{"layers":"1","d_inner":true,"d_state":[1],"d_conv_minus_1":null}',
    'mamba',
    'mamba2',
    'mamba3',
    '{"family":"mamba2","layers":1,"d_inner":6,"num_heads":4,"head_dim":2,"state_size":1,"n_groups":1,"d_conv_minus_1":1}',
    '{"family":"mamba2","layers":1,"d_inner":4,"num_heads":4,"head_dim":1,"state_size":1,"n_groups":3,"d_conv_minus_1":1}',
    '{"layers":2e9,"d_inner":4e9,"num_heads":2e9,"head_dim":2,"state_size":2e9,"n_groups":1,"d_conv_minus_1":2e9}',
  ),
);
const metaMutation = fc.option(
  fc.record({
    key: fc.constantFrom(
      'format',
      'format_version',
      'architecture',
      'model_id',
      'weights_hash',
      'dtype',
      'shape',
      'states',
    ),
    value: fc.option(oddMetaValue, { nil: undefined }),
  }),
  { nil: undefined },
);

/** JSON with sorted keys, so shapes compare by value whatever order their fields were written in. */
function canonical(o: object): string {
  return JSON.stringify(Object.fromEntries(Object.entries(o).sort(([a], [b]) => a.localeCompare(b))));
}

function importOrRefuse(bytes: Uint8Array, expect?: ImportExpectation): StoredState[] | undefined {
  try {
    return importStateFile(bytes, 'states.safetensors', expect);
  } catch (e) {
    if (e instanceof StateFileError) return undefined;
    throw e;
  }
}

/**
 * What an imported state promises its users (the mixer, the engine's state upload, the library): the broken
 * promises, as text (one expect per case keeps thousands of cases fast).
 */
function problems(states: StoredState[], ex?: ImportExpectation): string[] {
  const out: string[] = [];
  const check = (ok: boolean, what: string) => void (ok || out.push(what));
  check(states.length > 0, 'no states');
  states.forEach(({ meta, state }, i) => {
    check(
      typeof meta.id === 'string' && typeof meta.name === 'string' && typeof meta.text === 'string',
      `${i}: id, name or text not a string`,
    );
    check(meta.modelId.length > 0 && meta.weightsHash.length > 0, `${i}: no model id or hash`);
    const sh = meta.shape;
    const dims = [sh.layers, sh.dInner, sh.dState, sh.convWidth];
    // Sizes per layer written out here from the layouts in stateFile.ts's header, not taken from types.ts.
    let want = { ssm: sh.dInner * sh.dState, conv: sh.dInner * sh.convWidth, dtSum: sh.dInner };
    if (sh.family === 'mamba2') {
      dims.push(sh.numHeads, sh.headDim, sh.nGroups);
      check(sh.numHeads * sh.headDim === sh.dInner, `${i}: heads × head_dim ≠ d_inner`);
      check(sh.numHeads % sh.nGroups === 0, `${i}: groups do not divide the heads`);
      want = {
        ssm: sh.numHeads * sh.headDim * sh.dState,
        conv: (sh.dInner + 2 * sh.nGroups * sh.dState) * sh.convWidth,
        dtSum: sh.numHeads,
      };
    } else {
      check(sh.family === undefined, `${i}: a Mamba-1 shape with a family field`);
    }
    check(
      dims.every((v) => Number.isSafeInteger(v) && v > 0),
      `${i}: shape ${JSON.stringify(meta.shape)}`,
    );
    check(state.layers.length === sh.layers, `${i}: ${state.layers.length} layers`);
    for (const l of state.layers) {
      check(l.ssm.length === want.ssm, `${i}: ssm of ${l.ssm.length}`);
      check(l.conv.length === want.conv, `${i}: conv of ${l.conv.length}`);
      check(l.dtSum.length === want.dtSum, `${i}: dt_sum of ${l.dtSum.length}`);
    }
    check(
      meta.tokenIds.every((t) => Number.isInteger(t)),
      `${i}: token ids`,
    );
    check(Number.isInteger(meta.tokenCount) && Number.isFinite(meta.createdAt), `${i}: count or date`);
    if (ex) {
      check(meta.weightsHash === ex.weightsHash, `${i}: another model's state`);
      check(canonical(meta.shape) === canonical(ex.shape), `${i}: another shape`);
    }
  });
  return out;
}

const RUNS = 2000;

describe('state files: any bytes end in a StateFileError or sound states', () => {
  it('random bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), (bytes) => {
        const states = importOrRefuse(bytes);
        if (states) expect(problems(states)).toEqual([]);
      }),
      { numRuns: RUNS },
    );
  });

  it('valid files are read back with every value bit for bit', () => {
    fc.assert(
      fc.property(stateSpec, (s) => {
        const spec = headerSpec(s);
        const data = (n: number) => Uint8Array.from({ length: n }, (_, i) => (i * 37 + 11) & 255);
        const bytes = mutatedFile(spec, { kind: 'none' }, data);
        const states = importStateFile(bytes);
        const found = problems(states);
        // Where each tensor's bytes are, computed from the header object rather than read back by the parser.
        const { header, dataBytes } = headerObject(spec);
        const all = data(dataBytes);
        const bytesOf = (name: string) => {
          const [b, e] = (header[name] as { data_offsets: [number, number] }).data_offsets;
          return all.subarray(b, e);
        };
        /** The layers' arrays, concatenated, as raw bytes (no trip through numbers: NaN payloads survive). */
        const bytesOfLayers = (arrays: Float32Array[]) => {
          const out = new Uint8Array(arrays.reduce((a, x) => a + x.byteLength, 0));
          let at = 0;
          for (const a of arrays) {
            out.set(new Uint8Array(a.buffer, a.byteOffset, a.byteLength), at);
            at += a.byteLength;
          }
          return out;
        };
        const same = (a: Uint8Array, b: Uint8Array) => a.length === b.length && a.every((x, k) => x === b[k]);
        if (states.length !== s.tokens.length) found.push(`${states.length} states`);
        states.forEach(({ meta, state }, i) => {
          for (const part of ['ssm', 'conv', 'dtSum'] as const) {
            const name = `states.${i}.${part === 'dtSum' ? 'dt_sum' : part}`;
            if (!same(bytesOfLayers(state.layers.map((l) => l[part])), bytesOf(name))) found.push(name);
          }
          if (meta.tokenIds.length !== s.tokens[i]) found.push(`${i}: ${meta.tokenIds.length} token ids`);
          if (meta.id !== `id${i}`) found.push(`${i}: id ${meta.id}`);
        });
        expect(found).toEqual([]);
      }),
      { numRuns: RUNS },
    );
  });

  it('valid files with one metadata value, one tensor field, the length prefix or the bytes mutated', () => {
    // What the loaded model expects: a Mamba-1 or a Mamba-2 model (the files are of either family).
    const shapes: StateShape[] = [
      { layers: 2, dInner: 3, dState: 2, convWidth: 1 },
      {
        family: 'mamba2',
        layers: 2,
        dInner: 4,
        dState: 2,
        convWidth: 1,
        numHeads: 2,
        headDim: 2,
        nGroups: 1,
      },
    ];
    fc.assert(
      fc.property(
        stateSpec,
        metaMutation,
        mutation,
        fc.constantFrom(undefined, ...shapes),
        (s, mm, m, shape) => {
          const metadata = { ...s.metadata };
          if (mm) {
            if (mm.value === undefined) delete metadata[mm.key];
            else metadata[mm.key] = mm.value;
          }
          const bytes = mutatedFile(headerSpec({ ...s, metadata }), m);
          const ex = shape ? { modelId: 'org/model', weightsHash: 'abc123', shape } : undefined;
          const states = importOrRefuse(bytes, ex);
          if (states) expect(problems(states, ex)).toEqual([]);
        },
      ),
      { numRuns: RUNS },
    );
  });
});
