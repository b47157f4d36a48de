/**
 * What one decode token costs by construction: the bytes of weights it reads (every matrix once, plus the
 * small per-layer parameters) and the dispatches the engine's plan issues. Effective bandwidth = bytes ×
 * tokens/s; comparing it with the adapter's peak says whether decode is bandwidth-bound.
 */
import { isMamba2Config, type AnyMambaConfig } from '../model/family.ts';
import type { WeightDtype } from '../engine/api.ts';
import { packedBytes } from '../engine/gpu/weightMatrix.ts';
import { layerParamLayout } from '../engine/kernels/layout.ts';
import type { Dispatch } from '../engine/kernels/pipelines.ts';
import { mamba2ParamLayout } from '../engine/mamba2/placement.ts';
import { stateGeometry } from '../engine/stateIO.ts';

export interface DecodeBytes {
  /** in_proj + x_proj + out_proj of every layer. */
  layerMatrices: number;
  /** The LM head (the embedding when tied): vocab × d_model. */
  head: number;
  /** norms, conv, dt_proj, biases, A, D (f32) and the SSM state read and written (f32). */
  paramsAndState: number;
  total: number;
}

export function decodeBytesPerToken(c: AnyMambaConfig, dtype: WeightDtype): DecodeBytes {
  const { hiddenSize: dm, intermediateSize: di, numLayers: L } = c;
  // Mamba-2 has no x_proj: in_proj makes z, x, B, C and Δ at once.
  const perLayer = isMamba2Config(c)
    ? packedBytes(c.inProjSize, dm, dtype) + packedBytes(dm, di, dtype)
    : packedBytes(2 * di, dm, dtype) +
      packedBytes(c.timeStepRank + 2 * c.stateSize, di, dtype) +
      packedBytes(dm, di, dtype);
  const layerMatrices = L * perLayer;
  const head = packedBytes(c.vocabSize, dm, dtype);
  const g = stateGeometry(c);
  const state = 2 * 4 * (g.ssm + g.conv + g.dtSum);
  const params = isMamba2Config(c) ? mamba2ParamLayout(c).total : layerParamLayout(c).total;
  const paramsAndState = L * (params * 4 + state) + dm * 4;
  return { layerMatrices, head, paramsAndState, total: layerMatrices + head + paramsAndState };
}

/** The phases of one decode token in the engine's plan (model.ts: generate's submitDecodeStep). */
export const DECODE_PHASES = ['decodeBody', 'decodeHead', 'sample'] as const;

export function decodeDispatches(plan: Readonly<Record<string, readonly Dispatch[]>>): readonly Dispatch[] {
  return DECODE_PHASES.flatMap((p) => {
    const steps = plan[p];
    if (!steps) throw new Error(`The engine's plan has no "${p}" phase; update src/bench/cost.ts.`);
    return steps;
  });
}

/** Dispatches of one prefill chunk (all layers; no LM head when only the state is wanted). */
export function prefillDispatches(plan: Readonly<Record<string, readonly Dispatch[]>>): readonly Dispatch[] {
  const body = plan['body'];
  if (!body) throw new Error('The engine\'s plan has no "body" phase; update src/bench/cost.ts.');
  return body;
}
