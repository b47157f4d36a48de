/**
 * Mamba-2's chunked SSD scan for prefill, as the engine plans it (see mamba2/decisions.ts m2SsdChoice, m2SsdPlan):
 * three dispatches (m2_ssd_chunk_state → m2_ssd_state_pass → m2_ssd_chunk_scan, or their _tiled twins on GPUs,
 * or the two chunk passes on subgroup matrices, _sgmm, around the tiled state pass) that write every chunk's
 * entering state to `cs`, or two (m2_ssd_cb → m2_ssd_fused) that keep the state in
 * registers and use `cs` only for the chunks' C·Bᵀ. Shared by the engine's plan, the kernel tests and
 * bench/m2-ssd-bench.ts, so all three run the same kernels on the same grids.
 */
import { M2_FUSED_MAX_N, type M2SsdChoice } from './decisions.ts';
import type { Constants, Dispatch, PipelineCache } from '../kernels/pipelines.ts';

const ceil = (a: number, b: number) => Math.ceil(a / b);

/** One scan's sizes: heads, head_dim, groups, state_size. */
export interface SsdShape {
  H: number;
  P: number;
  G: number;
  N: number;
}

/** Where the scan's inputs sit: in_proj's row stride and Δ column, Δ's clamp, and the offsets of its parameters. */
export interface SsdLayout {
  LDP: number;
  DT_COL: number;
  DT_MIN: number;
  DT_MAX: number;
  /** dt_bias [H], A_log [H] and D [H] in `params`. */
  DTB_OFF: number;
  A_OFF: number;
  D_OFF: number;
  /** The SSM state [H, P, N] and Σ Δ [H] in `state`. */
  SSM_OFF: number;
  DTS_OFF: number;
}

export interface SsdBuffers {
  dims: GPUBuffer;
  xbc: GPUBuffer;
  proj: GPUBuffer;
  params: GPUBuffer;
  cum: GPUBuffer;
  dl: GPUBuffer;
  cs: GPUBuffer;
  state: GPUBuffer;
  y: GPUBuffer;
}

/**
 * The gated norm's first half folded into the fused kernel (its _gate variant): z's column in `proj`, the norm's
 * weight in `params`, and `gss`, where each workgroup leaves its Σ g² per token (ssdGateParts of them).
 */
export interface SsdGate {
  gss: GPUBuffer;
  Z_COL: number;
  GW_OFF: number;
}

/** State rows a workgroup of the fused form carries (16, or 8 for fused8). */
const fusedRows = (choice: M2SsdChoice) => (choice.rows4 ? 16 : (choice.rows ?? 16));

/** How many partial sums of g² per token the fused form's _gate variant writes: one per workgroup. */
export function ssdGateParts(s: SsdShape, choice: M2SsdChoice): number {
  return s.H * ceil(s.P, fusedRows(choice));
}

/** Floats of `cs` a chunk of T tokens needs: the entering states (three passes) or C·Bᵀ per chunk and group (fused). */
export function ssdScratchFloats(T: number, s: SsdShape, choice: M2SsdChoice): number {
  return choice.fused ? ceil(T, 16) * s.G * 256 : ceil(T, choice.q) * s.H * s.P * s.N;
}

/**
 * The scan's dispatches: the three passes, labelled `${prefix}chunk_state`, `…state_pass`, `…chunk_scan`, or
 * the fused pair `…chunk_cb`, `…ssd_fused` (with `gate`, the fused kernel's _gate variant: fused forms only).
 */
export function ssdSteps(
  pipes: PipelineCache,
  prefix: string,
  s: SsdShape,
  l: SsdLayout,
  b: SsdBuffers,
  choice: M2SsdChoice,
  gate?: SsdGate,
): Dispatch[] {
  const { H, P, G, N } = s;
  if (gate && !choice.fused) throw new Error('The gated norm folds into the fused SSD kernels alone.');
  const Q = choice.q;
  const dt = { DTB_OFF: l.DTB_OFF, DT_MIN: l.DT_MIN, DT_MAX: l.DT_MAX, LDP: l.LDP, DT_COL: l.DT_COL };
  const { dims, xbc, proj, params, cum, dl, cs, state, y } = b;
  if (choice.fused) {
    if (N > M2_FUSED_MAX_N)
      throw new RangeError(`The fused SSD kernel takes N ≤ ${M2_FUSED_MAX_N} (got ${N}).`);
    const fused = {
      ...dt,
      H,
      P,
      G,
      N,
      Q,
      A_OFF: l.A_OFF,
      D_OFF: l.D_OFF,
      SSM_OFF: l.SSM_OFF,
      DTS_OFF: l.DTS_OFF,
      PREFETCH: choice.prefetch !== false,
    };
    const rows = fusedRows(choice);
    const base = choice.rows4 ? 'm2_ssd_fused4r' : rows === 8 ? 'm2_ssd_fused8' : 'm2_ssd_fused';
    const kernel = gate ? (`${base}_gate` as const) : base;
    const gateConsts: Constants = gate ? { Z_COL: gate.Z_COL, GW_OFF: gate.GW_OFF } : {};
    const constants = choice.rows4
      ? { ...fused, ...gateConsts, SGS: choice.sgs ?? 1 }
      : { ...fused, ...gateConsts, ...(choice.ablate ? { ABLATE: choice.ablate } : {}) };
    const buffers = { dims, xbc, proj, params, cb: cs, state, y, ...(gate ? { gss: gate.gss } : {}) };
    return [
      pipes
        .kernel('m2_ssd_cb', { H, P, G, N, Q })
        .dispatch(`${prefix}chunk_cb`, { dims, xbc, cb: cs }, (t) => [ceil(t, Q), G, 1]),
      pipes.kernel(kernel, constants).dispatch(`${prefix}ssd_fused`, buffers, () => [ceil(P, rows), H, 1]),
    ];
  }
  // The tiled kernels (and those on subgroup matrices) make 64 × 64 blocks: chunk_state of local[P, N],
  // chunk_scan of the outputs' P columns.
  const zState = choice.tiled ? ceil(P, 64) * ceil(N, 64) : 1;
  const zScan = choice.tiled ? ceil(P, 64) : 1;
  const suffix = choice.tiled ? '_tiled' : '';
  // The two chunk passes on subgroup matrices; the state pass between them is the tiled one.
  const outer = choice.sgmm === true ? '_sgmm' : suffix;
  // m2_ssd_state_pass's workgroup width (64 invocations, or 256 tiled).
  const stateWg = choice.tiled ? 256 : 64;
  return [
    pipes
      .kernel(`m2_ssd_chunk_state${outer}`, { ...dt, H, P, G, N, Q, A_OFF: l.A_OFF })
      .dispatch(`${prefix}chunk_state`, { dims, xbc, proj, params, cum, dl, cs }, (t) => [
        ceil(t, Q),
        H,
        zState,
      ]),
    pipes
      .kernel(`m2_ssd_state_pass${suffix}`, { H, P, N, Q, SSM_OFF: l.SSM_OFF, DTS_OFF: l.DTS_OFF })
      .dispatch(`${prefix}state_pass`, { dims, cum, dl, state, cs }, () => [ceil(P * N, stateWg), H, 1]),
    pipes
      .kernel(`m2_ssd_chunk_scan${outer}`, {
        H,
        P,
        G,
        N,
        Q,
        D_OFF: l.D_OFF,
        ...(choice.tiled && choice.sgmm !== true ? { NK: choice.nk } : {}),
      })
      .dispatch(`${prefix}chunk_scan`, { dims, xbc, params, cum, dl, cs, y }, (t) => [ceil(t, Q), H, zScan]),
  ];
}
