/**
 * The CPU reference of the Mamba-1 forward pass in float64: the oracle every GPU kernel test compares with.
 * It follows Hugging Face `MambaForCausalLM`'s slow path step by step (../shared/design/PAPER.md gives the
 * recurrence), one token at a time, with no attempt at speed.
 */
import type { LayerState, LayerWeights, MambaState, MambaWeights } from '../weights.ts';
import { cloneState, zeroState } from '../weights.ts';

export interface ReferenceResult {
  /** [tokens, vocab] row-major, float64. */
  logits: Float64Array;
  state: MambaState;
}

const silu = (x: number) => x / (1 + Math.exp(-x));
const softplus = (x: number) => (x > 20 ? x : Math.log1p(Math.exp(x)));

/** y[o] = Σ_i W[o, i] · x[i] (+ b[o]) with W row-major [out, in]. */
export function matVec(
  w: ArrayLike<number>,
  x: ArrayLike<number>,
  out: number,
  inn: number,
  b?: ArrayLike<number>,
) {
  const y = new Float64Array(out);
  for (let o = 0; o < out; o++) {
    let acc = b ? b[o]! : 0;
    const row = o * inn;
    for (let i = 0; i < inn; i++) acc += w[row + i]! * x[i]!;
    y[o] = acc;
  }
  return y;
}

export function rmsNorm(x: ArrayLike<number>, weight: ArrayLike<number>, eps: number): Float64Array {
  const n = x.length;
  let ss = 0;
  for (let i = 0; i < n; i++) ss += x[i]! * x[i]!;
  const scale = 1 / Math.sqrt(ss / n + eps);
  const y = new Float64Array(n);
  for (let i = 0; i < n; i++) y[i] = x[i]! * scale * weight[i]!;
  return y;
}

/**
 * The product the prefill GEMMs compute (in_proj, x_proj, out_proj, the LM head), matVec's signature. The
 * default is exact; accuracy studies pass one that models other arithmetic (bench/gemm-accuracy.ts: f16
 * inputs, W8A8). dt_proj always uses matVec, as the engine never runs it on those GEMMs.
 */
export type GemmFn = typeof matVec;

/** One mixer step for one token; updates `st` in place and returns the mixer output [d_model]. */
export function mixerStep(
  w: LayerWeights,
  st: LayerState,
  hNorm: Float64Array,
  cfg: MambaWeights['config'],
  gemm: GemmFn = matVec,
) {
  const { intermediateSize: di, stateSize: ds, convKernel: dc, timeStepRank: r, hiddenSize: dm } = cfg;
  const xz = gemm(w.inProj, hNorm, 2 * di, dm, w.inProjBias);
  const xc = new Float64Array(di);
  for (let c = 0; c < di; c++) {
    const x = xz[c]!;
    let acc = w.convBias ? w.convBias[c]! : 0;
    for (let k = 0; k < dc - 1; k++) acc += w.convWeight[c * dc + k]! * st.conv[c * (dc - 1) + k]!;
    acc += w.convWeight[c * dc + dc - 1]! * x;
    // Shift the conv window: drop the oldest input, append this token's x.
    for (let k = 0; k < dc - 2; k++) st.conv[c * (dc - 1) + k] = st.conv[c * (dc - 1) + k + 1]!;
    if (dc > 1) st.conv[c * (dc - 1) + dc - 2] = x;
    xc[c] = silu(acc);
  }
  const dbc = gemm(w.xProj, xc, r + 2 * ds, di);
  const delta = dbc.subarray(0, r);
  const B = dbc.subarray(r, r + ds);
  const C = dbc.subarray(r + ds, r + 2 * ds);
  const dtRaw = matVec(w.dtProj, delta, di, r, w.dtBias);
  const y = new Float64Array(di);
  for (let c = 0; c < di; c++) {
    const dt = softplus(dtRaw[c]!);
    st.dtSum[c] = st.dtSum[c]! + dt;
    let acc = 0;
    for (let n = 0; n < ds; n++) {
      const a = -Math.exp(w.aLog[c * ds + n]!);
      const h = Math.exp(dt * a) * st.ssm[c * ds + n]! + dt * B[n]! * xc[c]!;
      st.ssm[c * ds + n] = h;
      acc += h * C[n]!;
    }
    y[c] = (acc + w.d[c]! * xc[c]!) * silu(xz[di + c]!);
  }
  return gemm(w.outProj, y, dm, di, w.outProjBias);
}

/**
 * Processes `tokens` from `initial` (zero when omitted). The returned state is a copy; `initial` is untouched.
 * State tensors are kept in float32 between tokens, as the engine keeps them.
 */
export function referenceForward(
  weights: MambaWeights,
  tokens: ArrayLike<number>,
  initial?: MambaState,
  gemm: GemmFn = matVec,
): ReferenceResult {
  const cfg = weights.config;
  const { hiddenSize: dm, vocabSize: V, layerNormEpsilon: eps } = cfg;
  const state = initial ? cloneState(initial) : zeroState(cfg);
  const head = weights.lmHead ?? weights.embedding;
  const logits = new Float64Array(tokens.length * V);
  for (let t = 0; t < tokens.length; t++) {
    const tok = tokens[t]!;
    let u: Float64Array = Float64Array.from(weights.embedding.subarray(tok * dm, (tok + 1) * dm));
    weights.layers.forEach((lw, l) => {
      const out = mixerStep(lw, state.layers[l]!, rmsNorm(u, lw.norm, eps), cfg, gemm);
      for (let i = 0; i < dm; i++) u[i] = u[i]! + out[i]!;
    });
    u = rmsNorm(u, weights.normF, eps);
    logits.set(gemm(head, u, V, dm), t * V);
  }
  return { logits, state };
}
