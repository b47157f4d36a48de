/**
 * The CPU reference of `Mamba2ForCausalLM` (transformers 5.17, its torch_forward path) in float64: the oracle
 * the Mamba-2 kernels are checked against. One layer over a chunk of T tokens is
 *
 *   zxbcdt = in_proj(rmsnorm(u))                       split as z [d_inner] | xBC [convDim] | dt [num_heads]
 *   xBC    = silu(depthwise causal conv(xBC))          continuing from the conv state; split as x | B | C
 *   Δ      = clamp(softplus(dt + dt_bias), limit)      per head;  A = −exp(A_log), a scalar per head
 *   h      = exp(Δ·A)·h + Δ·x ⊗ B[group of head]       h [head_dim, state_size] per head
 *   y      = h·C[group] + D·x
 *   out    = out_proj(rmsnorm(y · silu(z)) · norm.weight),  u += out
 *
 * then norm_f and the (tied or untied) head. Head h reads B and C of group ⌊h / (num_heads / n_groups)⌋, as
 * transformers' repeat_interleave does. The gated RMSNorm normalises over all of d_inner whatever n_groups is:
 * transformers' MambaRMSNormGated has no groups (mamba_ssm's own RMSNormGated normalises each group of
 * d_inner / n_groups separately); `gatedRmsNorm` takes the group size so the difference stays visible.
 *
 * `ssdChunked` is the same scan in the chunked matrix form of the SSD paper, the algorithm of the prefill
 * kernel, kept here so the two forms can be checked against each other on the CPU.
 */
import type { Mamba2Config } from '../../model/mamba2Config.ts';
import {
  cloneMamba2State,
  zeroMamba2State,
  type FloatArray,
  type Mamba2LayerState,
  type Mamba2LayerWeights,
  type Mamba2State,
  type Mamba2Weights,
} from '../mamba2Weights.ts';
import { matVec, rmsNorm } from './mamba.ts';

export const silu = (x: number) => x / (1 + Math.exp(-x));
/** torch's softplus (threshold 20). */
export const softplus = (x: number) => (x > 20 ? x : Math.log1p(Math.exp(x)));

/** Sizes of one scan: num_heads, head_dim, n_groups, state_size. */
export interface ScanDims {
  numHeads: number;
  headDim: number;
  nGroups: number;
  stateSize: number;
}

/** The per-head parameters of one scan (a layer's dt_bias, A_log, D) and Δ's clamp. */
export interface ScanParams {
  dtBias: ArrayLike<number>;
  aLog: ArrayLike<number>;
  d: ArrayLike<number>;
  timeStepLimit: readonly [number, number];
}

/**
 * Depthwise causal conv + SiLU over T tokens of `channels` channels, continuing from `state` ([channels, k−1],
 * oldest first), which is updated in place to the last k−1 inputs. `input` is [T, stride] with the channels at
 * column `col0`; the result is [T, channels].
 */
export function causalConv(
  input: ArrayLike<number>,
  T: number,
  stride: number,
  col0: number,
  channels: number,
  k: number,
  weight: ArrayLike<number>,
  bias: ArrayLike<number> | undefined,
  state: FloatArray,
): Float64Array {
  const out = new Float64Array(T * channels);
  const window = new Float64Array(k);
  for (let c = 0; c < channels; c++) {
    for (let j = 0; j < k - 1; j++) window[j] = state[c * (k - 1) + j]!;
    for (let t = 0; t < T; t++) {
      window[k - 1] = input[t * stride + col0 + c]!;
      let acc = bias ? bias[c]! : 0;
      for (let j = 0; j < k; j++) acc += weight[c * k + j]! * window[j]!;
      out[t * channels + c] = silu(acc);
      window.copyWithin(0, 1);
    }
    for (let j = 0; j < k - 1; j++) state[c * (k - 1) + j] = window[j]!;
  }
  return out;
}

/** Δ for head h from its raw value: softplus(raw + dt_bias) clamped to the limit. */
export function deltaOf(raw: number, h: number, p: ScanParams): number {
  const [lo, hi] = p.timeStepLimit;
  return Math.min(hi, Math.max(lo, softplus(raw + p.dtBias[h]!)));
}

/**
 * The SSD recurrence over T tokens, token by token, from `st` (updated in place: ssm and dtSum). `xbc` is
 * [T, d_inner + 2·G·N] (the conv's output: x | B | C), `dt` [T, dtStride] with raw Δ at `dtCol`. Returns y
 * [T, d_inner] including the D skip.
 */
export function ssdScan(
  xbc: ArrayLike<number>,
  dt: ArrayLike<number>,
  dtStride: number,
  dtCol: number,
  T: number,
  dims: ScanDims,
  p: ScanParams,
  st: Pick<Mamba2LayerState, 'ssm' | 'dtSum'>,
): Float64Array {
  const { numHeads: H, headDim: P, nGroups: G, stateSize: N } = dims;
  const di = H * P;
  const width = di + 2 * G * N;
  const y = new Float64Array(T * di);
  for (let t = 0; t < T; t++) {
    const row = t * width;
    for (let h = 0; h < H; h++) {
      const g = Math.floor(h / (H / G));
      const delta = deltaOf(dt[t * dtStride + dtCol + h]!, h, p);
      st.dtSum[h] = st.dtSum[h]! + delta;
      const decay = Math.exp(-Math.exp(p.aLog[h]!) * delta);
      const bOff = row + di + g * N;
      const cOff = row + di + G * N + g * N;
      for (let q = 0; q < P; q++) {
        const x = xbc[row + h * P + q]!;
        const s0 = (h * P + q) * N;
        let acc = 0;
        for (let n = 0; n < N; n++) {
          const s = decay * st.ssm[s0 + n]! + delta * x * xbc[bOff + n]!;
          st.ssm[s0 + n] = s;
          acc += s * xbc[cOff + n]!;
        }
        y[t * di + h * P + q] = acc + p.d[h]! * x;
      }
    }
  }
  return y;
}

/**
 * The same scan in the chunked (SSD) form, chunks of Q tokens: within a chunk the output is a masked
 * "attention" y_t = Σ_{s≤t} exp(cum_t − cum_s)·(C_t·B_s)·Δ_s·x_s plus the state entering the chunk read through
 * exp(cum_t)·C_t, where cum is the running sum of Δ·A inside the chunk; the state leaving the chunk is
 * exp(cum_last)·h + Σ_s exp(cum_last − cum_s)·Δ_s·x_s ⊗ B_s. Same arguments and result as `ssdScan`.
 */
export function ssdChunked(
  xbc: ArrayLike<number>,
  dt: ArrayLike<number>,
  dtStride: number,
  dtCol: number,
  T: number,
  Q: number,
  dims: ScanDims,
  p: ScanParams,
  st: Pick<Mamba2LayerState, 'ssm' | 'dtSum'>,
): Float64Array {
  const { numHeads: H, headDim: P, nGroups: G, stateSize: N } = dims;
  const di = H * P;
  const width = di + 2 * G * N;
  const y = new Float64Array(T * di);
  const delta = new Float64Array(Q);
  const cum = new Float64Array(Q);
  for (let t0 = 0; t0 < T; t0 += Q) {
    const L = Math.min(Q, T - t0);
    for (let h = 0; h < H; h++) {
      const g = Math.floor(h / (H / G));
      const A = -Math.exp(p.aLog[h]!);
      let run = 0;
      for (let i = 0; i < L; i++) {
        delta[i] = deltaOf(dt[(t0 + i) * dtStride + dtCol + h]!, h, p);
        st.dtSum[h] = st.dtSum[h]! + delta[i]!;
        run += delta[i]! * A;
        cum[i] = run;
      }
      const B = (i: number, n: number) => xbc[(t0 + i) * width + di + g * N + n]!;
      const C = (i: number, n: number) => xbc[(t0 + i) * width + di + G * N + g * N + n]!;
      const X = (i: number, q: number) => xbc[(t0 + i) * width + h * P + q]!;
      for (let i = 0; i < L; i++) {
        for (let q = 0; q < P; q++) {
          let acc = 0;
          for (let s = 0; s <= i; s++) {
            let cb = 0;
            for (let n = 0; n < N; n++) cb += C(i, n) * B(s, n);
            acc += Math.exp(cum[i]! - cum[s]!) * cb * delta[s]! * X(s, q);
          }
          let fromState = 0;
          for (let n = 0; n < N; n++) fromState += C(i, n) * st.ssm[(h * P + q) * N + n]!;
          y[(t0 + i) * di + h * P + q] = acc + Math.exp(cum[i]!) * fromState + p.d[h]! * X(i, q);
        }
      }
      const last = cum[L - 1]!;
      for (let q = 0; q < P; q++) {
        for (let n = 0; n < N; n++) {
          let s = Math.exp(last) * st.ssm[(h * P + q) * N + n]!;
          for (let i = 0; i < L; i++) s += Math.exp(last - cum[i]!) * delta[i]! * X(i, q) * B(i, n);
          st.ssm[(h * P + q) * N + n] = s;
        }
      }
    }
  }
  return y;
}

/**
 * The gated RMSNorm of one token: v = y · silu(z), each group of `groupSize` consecutive channels scaled by
 * 1/sqrt(mean(v²) + eps), times `weight`. transformers normalises all of d_inner at once (groupSize = d_inner).
 */
export function gatedRmsNorm(
  y: ArrayLike<number>,
  z: ArrayLike<number>,
  weight: ArrayLike<number>,
  eps: number,
  groupSize = y.length,
): Float64Array {
  const n = y.length;
  const v = new Float64Array(n);
  for (let i = 0; i < n; i++) v[i] = y[i]! * silu(z[i]!);
  for (let g0 = 0; g0 < n; g0 += groupSize) {
    let ss = 0;
    for (let i = g0; i < g0 + groupSize; i++) ss += v[i]! * v[i]!;
    const scale = 1 / Math.sqrt(ss / groupSize + eps);
    for (let i = g0; i < g0 + groupSize; i++) v[i] = v[i]! * scale * weight[i]!;
  }
  return v;
}

/** One mixer over T tokens: `hNorm` [T, hidden] → the mixer output [T, hidden]; `st` is updated in place. */
export function mamba2Mixer(
  w: Mamba2LayerWeights,
  st: Mamba2LayerState,
  hNorm: Float64Array,
  T: number,
  cfg: Mamba2Config,
  gateNormGroupSize = cfg.intermediateSize,
): Float64Array {
  const { hiddenSize: dm, intermediateSize: di, convDim, inProjSize, convKernel } = cfg;
  const proj = new Float64Array(T * inProjSize);
  for (let t = 0; t < T; t++)
    proj.set(
      matVec(w.inProj, hNorm.subarray(t * dm, (t + 1) * dm), inProjSize, dm, w.inProjBias),
      t * inProjSize,
    );
  const xbc = causalConv(proj, T, inProjSize, di, convDim, convKernel, w.convWeight, w.convBias, st.conv);
  const params = { dtBias: w.dtBias, aLog: w.aLog, d: w.d, timeStepLimit: cfg.timeStepLimit };
  const y = ssdScan(xbc, proj, inProjSize, di + convDim, T, cfg, params, st);
  const out = new Float64Array(T * dm);
  for (let t = 0; t < T; t++) {
    const z = proj.subarray(t * inProjSize, t * inProjSize + di);
    const yt = y.subarray(t * di, (t + 1) * di);
    const gated = gatedRmsNorm(yt, z, w.gateNorm, cfg.layerNormEpsilon, gateNormGroupSize);
    out.set(matVec(w.outProj, gated, dm, di, w.outProjBias), t * dm);
  }
  return out;
}

export interface Mamba2ReferenceResult {
  /** [tokens, vocab] row-major. */
  logits: Float64Array;
  state: Mamba2State<Float64Array>;
}

/**
 * Processes `tokens` from `initial` (zero when omitted; left untouched) in float64. `gateNormGroupSize` is
 * d_inner (transformers); d_inner / n_groups gives mamba_ssm's grouped gated norm, for comparison only.
 */
export function mamba2Forward(
  weights: Mamba2Weights,
  tokens: ArrayLike<number>,
  initial?: Mamba2State,
  gateNormGroupSize = weights.config.intermediateSize,
): Mamba2ReferenceResult {
  const cfg = weights.config;
  const { hiddenSize: dm, vocabSize: V, layerNormEpsilon: eps } = cfg;
  const T = tokens.length;
  const state = initial ? cloneMamba2State(initial) : zeroMamba2State(cfg);
  const u = new Float64Array(T * dm);
  for (let t = 0; t < T; t++)
    u.set(weights.embedding.subarray(tokens[t]! * dm, (tokens[t]! + 1) * dm), t * dm);
  weights.layers.forEach((lw, l) => {
    const normed = new Float64Array(T * dm);
    for (let t = 0; t < T; t++) normed.set(rmsNorm(u.subarray(t * dm, (t + 1) * dm), lw.norm, eps), t * dm);
    const out = mamba2Mixer(lw, state.layers[l]!, normed, T, cfg, gateNormGroupSize);
    for (let i = 0; i < u.length; i++) u[i] = u[i]! + out[i]!;
  });
  const head = weights.lmHead ?? weights.embedding;
  const logits = new Float64Array(T * V);
  for (let t = 0; t < T; t++) {
    const final = rmsNorm(u.subarray(t * dm, (t + 1) * dm), weights.normF, eps);
    logits.set(matVec(head, final, V, dm), t * V);
  }
  return { logits, state };
}

/** Greedy continuation: `steps` tokens appended to `prompt`, each the argmax of the last logits. */
export function mamba2Greedy(weights: Mamba2Weights, prompt: ArrayLike<number>, steps: number): number[] {
  const V = weights.config.vocabSize;
  let { logits, state } = mamba2Forward(weights, prompt);
  let last = logits.subarray(logits.length - V);
  const out: number[] = [];
  for (let i = 0; i < steps; i++) {
    let best = 0;
    for (let v = 1; v < V; v++) if (last[v]! > last[best]!) best = v;
    out.push(best);
    ({ logits, state } = mamba2Forward(weights, [best], state));
    last = logits;
  }
  return out;
}
