/**
 * The Mamba-2 state of tests/fixtures/states/m2-tiny-a-head.state.safetensors: m2-tiny-a's state after its
 * `head` tokens (the float64 reference, rounded to f32), mixed with itself at 0.5 / 0.5 as the fixture's `mix`
 * is, with fixed metadata so the file is the same on every run.
 */
import { mixStoredCpu } from '../../src/engine/states/mix.ts';
import { mamba2Forward } from '../../src/engine/reference/mamba2.ts';
import { shapeOfConfig, type StoredState } from '../../src/engine/states/types.ts';
import { loadMamba2Fixture } from './mamba2Fixture.ts';

export const M2_TINY_A_HEAD_FILE = 'states/m2-tiny-a-head.state.safetensors';

export function m2TinyAHeadMix(): StoredState {
  const fx = loadMamba2Fixture('m2-tiny-a');
  const head = Array.from(fx.expected.int32('head.tokens'));
  const ref = mamba2Forward(fx.weights, head).state;
  const source: StoredState = {
    meta: {
      id: 'head',
      name: 'head',
      modelId: 'm2-tiny-a',
      weightsHash: 'fixture',
      shape: shapeOfConfig(fx.weights.config),
      text: '',
      tokenIds: head,
      tokenCount: head.length,
      createdAt: 0,
    },
    state: {
      layers: ref.layers.map((l) => ({
        ssm: Float32Array.from(l.ssm),
        conv: Float32Array.from(l.conv),
        dtSum: Float32Array.from(l.dtSum),
      })),
    },
  };
  const mixed = mixStoredCpu([source, source], { mode: 'weighted', weights: [0.5, 0.5] });
  return { ...mixed, meta: { ...mixed.meta, id: 'm2-tiny-a-head-mix', createdAt: 1764800000000 } };
}
