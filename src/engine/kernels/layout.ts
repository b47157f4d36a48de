/**
 * Where each small per-layer tensor lives inside the layer's one f32 parameter buffer, and where the SSM
 * state, Σ Δ and conv state live inside the engine's per-layer working state buffer. Packing the small
 * tensors together keeps every kernel within 8 storage bindings; the offsets reach WGSL as override
 * constants (element indices).
 */
import type { MambaConfig } from '../../model/config.ts';

export interface LayerParamLayout {
  norm: number;
  inProjBias: number;
  convWeight: number;
  convBias: number;
  dtProj: number;
  dtBias: number;
  /** A = −exp(A_log), precomputed on the host. */
  a: number;
  d: number;
  outProjBias: number;
  total: number;
}

export function layerParamLayout(c: MambaConfig): LayerParamLayout {
  const { hiddenSize: dm, intermediateSize: di, stateSize: ds, convKernel: dc, timeStepRank: r } = c;
  let at = 0;
  const take = (n: number) => {
    const o = at;
    at += n;
    return o;
  };
  const norm = take(dm);
  const inProjBias = take(c.useBias ? 2 * di : 0);
  const convWeight = take(di * dc);
  const convBias = take(c.useConvBias ? di : 0);
  const dtProj = take(di * r);
  const dtBias = take(di);
  const a = take(di * ds);
  const d = take(di);
  const outProjBias = take(c.useBias ? dm : 0);
  return {
    norm,
    inProjBias,
    convWeight,
    convBias,
    dtProj,
    dtBias,
    a,
    d,
    outProjBias,
    total: Math.max(at, 1),
  };
}

/** Working state of one layer: ssm [d_inner, d_state] at 0, Σ Δ [d_inner], then conv [d_inner, d_conv−1]. */
export function layerStateLayout(c: MambaConfig) {
  const { intermediateSize: di, stateSize: ds, convKernel: dc } = c;
  return { ssm: 0, dtSum: di * ds, conv: di * ds + di, total: di * ds + di + di * (dc - 1) };
}
