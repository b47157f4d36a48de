/**
 * The dispatch plan: every phase of a forward pass as prebuilt dispatches, made once after the weights are
 * placed. The run loop (src/engine/model.ts) only encodes these.
 */
import { decodeMiddle, fusedDecode, reductionWidth, splitKFloats } from '../decisions.ts';
import type { Dispatch } from '../kernels/pipelines.ts';
import type { PlanContext, SharedPlanContext } from './context.ts';
import { fusedDecodeBody, fusedGemvSteps } from './fusedGemv.ts';
import { gemmSteps, prefillParts } from './gemm.ts';
import { embedSteps, layerSteps, rmsnormStep, scanStep } from './layer.ts';
import { ssmDecodeStep } from './ssmDecode.ts';

export type DispatchPlan = {
  /** Prefill: every layer on a chunk. */
  body: Dispatch[];
  /** Decode: every layer on one token. */
  decodeBody: Dispatch[];
  normF: Dispatch[];
  /** LM head on every token of a chunk, writing logits. */
  headAll: Dispatch[];
  nll: Dispatch[];
  /** LM head on lastNormed, writing lastLogits. */
  headLast: Dispatch[];
  /** Decode's norm_f + LM head on the one token, writing lastLogits. */
  decodeHead: Dispatch[];
  sample: Dispatch[];
};

/**
 * The split-K partials buffer the hardware variant's prefill GEMMs share, sized for the largest need of the
 * parts (or column blocks) they run (gemm.ts prefillParts).
 */
export function allocateSplitK(ctx: Omit<SharedPlanContext, 'splitK'>): GPUBuffer | undefined {
  if (ctx.opts.variant !== 'hardware') return undefined;
  const parts = [...ctx.weights.matrices].flatMap(([key, m]) =>
    prefillParts(ctx, key, m).map((p) => ({ rows: p.rows, cols: m.cols })),
  );
  const floats = splitKFloats(parts, ctx.opts.chunkSize, ctx.opts, ctx.opts.sgmat);
  return ctx.buffer('splitK.partials', floats * 4, GPUBufferUsage.STORAGE);
}

/**
 * The phases after the layers that both families share: norm_f, the LM head on a chunk or on one row, the
 * per-token NLL and the sampler; `decodeHead` is decode's unfused norm_f + LM head GEMV (row 0 of `normed`).
 */
export function outputSteps(
  ctx: SharedPlanContext,
  normFBuf: GPUBuffer,
): Pick<DispatchPlan, 'normF' | 'headAll' | 'headLast' | 'decodeHead' | 'nll' | 'sample'> {
  const c = ctx.config;
  const a = ctx.act;
  const V = c.vocabSize;
  const headKey = c.tieWordEmbeddings ? 'embedding' : 'lm_head';
  const normF = rmsnormStep(ctx, 'norm_f', true, normFBuf, 0);
  const nll = ctx.pipes.kernel('nll', { V, WG: reductionWidth(ctx.opts.variant, 64) });
  const sample = ctx.pipes.kernel('sample', { V, WG: reductionWidth(ctx.opts.variant, 256) });
  return {
    normF: [normF],
    headAll: gemmSteps(ctx, headKey, a.normed, a.logits, V, normFBuf, undefined, 'gemm'),
    headLast: gemmSteps(ctx, headKey, a.lastNormed, a.lastLogits, V, normFBuf, undefined, 'gemv'),
    decodeHead: [normF, ...gemmSteps(ctx, headKey, a.normed, a.lastLogits, V, normFBuf, undefined, 'gemv')],
    nll: [
      nll.dispatch('nll', { dims: a.dims, logits: a.logits, targets: a.targets, nll: a.nll }, (t) => [
        t,
        1,
        1,
      ]),
    ],
    sample: [
      sample.dispatch(
        'sample',
        { params: a.sampleParams, logits: a.lastLogits, rng: a.rng, tokens: a.tokens, out: a.sampleOut },
        () => [1, 1, 1],
      ),
    ],
  };
}

export function buildPlan(ctx: PlanContext): DispatchPlan {
  const c = ctx.config;
  const a = ctx.act;
  const normFBuf = ctx.weights.normF;
  const embed = embedSteps(ctx);
  const headKey = c.tieWordEmbeddings ? 'embedding' : 'lm_head';
  const fused = fusedDecode(c, ctx.opts.variant, ctx.opts.dtype);
  const out = outputSteps(ctx, normFBuf);
  const xParts = ctx.weights.matrices.get('layer0.x_proj')!.parts.length;
  const middle = decodeMiddle(c, ctx.opts.dtype, xParts, ctx.opts.decodeMiddle);
  const middleSteps = (l: number) => {
    if (middle === 'fused') return [ssmDecodeStep(ctx, l, true)];
    const params = ctx.weights.layerParams[l]!;
    const xProj = fusedGemvSteps(ctx, `layer${l}.x_proj`, a.xc, a.dbc, params, undefined, {});
    return [...xProj, middle === 'split' ? ssmDecodeStep(ctx, l, false) : scanStep(ctx, l)];
  };
  return {
    ...out,
    body: layerSteps(ctx, embed, 'gemm'),
    decodeBody: fused ? fusedDecodeBody(ctx, embed, middleSteps) : layerSteps(ctx, embed, 'gemv'),
    // Decode: out_proj+residual already left the final residual in row 0 (fused plan), so norm_f folds into
    // the head GEMV; the 6-dispatch plan still adds the last delta in norm_f and reads row 0 of `normed`.
    decodeHead: fused
      ? fusedGemvSteps(ctx, headKey, a.resid, a.lastLogits, normFBuf, undefined, {
          NORM: true,
          EPS: c.layerNormEpsilon,
        })
      : out.decodeHead,
  };
}
