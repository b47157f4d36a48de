/**
 * A stored state: the recurrent state of a Mamba model of either family after it read a text (host arrays in
 * the engine's layout, `MambaState`), and what is known about it. Plain data, so the same record is captured by
 * the engine, kept by src/storage, written to a state file and mixed on the CPU or the GPU.
 */
import { isMamba2Config, type AnyMambaConfig, type ModelFamily } from '../../model/family.ts';
import type { MambaState } from '../weights.ts';

/**
 * The sizes a state must agree on to be mixed, stored beside a model or imported. Both families keep per layer
 * an SSM state, a conv window and Σ Δ; they differ in what a row of the SSM state is (see `ssmGrid`).
 * A Mamba-1 shape has no `family` field (its value is what it always was, so saved records and share links
 * compare equal); read the family with `shapeFamily`.
 */
export type StateShape = Mamba1StateShape | Mamba2StateShape;

interface CommonShape {
  layers: number;
  /** Mamba-1: d_inner; Mamba-2: num_heads · head_dim. */
  dInner: number;
  /** d_state (Mamba-2: state_size). */
  dState: number;
  /** d_conv − 1: the conv window the state keeps. */
  convWidth: number;
}

/** Mamba-1, per layer: ssm [d_inner, d_state], conv [d_inner, d_conv−1], Σ Δ [d_inner]. */
export interface Mamba1StateShape extends CommonShape {
  family?: 'mamba1';
}

/**
 * Mamba-2, per layer: ssm [num_heads, head_dim, state_size], conv [d_inner + 2·n_groups·state_size, d_conv−1],
 * Σ Δ [num_heads].
 */
export interface Mamba2StateShape extends CommonShape {
  family: 'mamba2';
  numHeads: number;
  headDim: number;
  nGroups: number;
}

export function shapeFamily(s: StateShape): ModelFamily {
  return s.family === 'mamba2' ? 'mamba2' : 'mamba1';
}

/**
 * The SSM state of one layer as rows × cols where every element of a row decays with the same Δ, so Σ Δ has one
 * entry per row: Mamba-1 d_inner × d_state, Mamba-2 num_heads × (head_dim · state_size). A-decay, heatmaps and
 * per-row statistics read this instead of d_inner × d_state.
 */
export function ssmGrid(s: StateShape): { rows: number; cols: number } {
  return s.family === 'mamba2'
    ? { rows: s.numHeads, cols: s.headDim * s.dState }
    : { rows: s.dInner, cols: s.dState };
}

/** Channels of the conv window: Mamba-1 d_inner; Mamba-2 the conv runs over x, B and C. */
export function convChannels(s: StateShape): number {
  return s.family === 'mamba2' ? s.dInner + 2 * s.nGroups * s.dState : s.dInner;
}

/** Element counts of one layer's state tensors. */
export function layerStateSizes(s: StateShape): { ssm: number; conv: number; dtSum: number } {
  const { rows, cols } = ssmGrid(s);
  return { ssm: rows * cols, conv: convChannels(s) * s.convWidth, dtSum: rows };
}

/** Bytes of one whole state in f32 (every layer, all three parts). */
export function stateBytes(s: StateShape): number {
  const n = layerStateSizes(s);
  return 4 * s.layers * (n.ssm + n.conv + n.dtSum);
}

export interface StateMeta {
  /** Unique id (newStateId), the storage key. */
  id: string;
  name: string;
  /** The model's name as the user knows it (e.g. "state-spaces/mamba-130m-hf"). */
  modelId: string;
  /** `hashModelWeights` of the weights the state was computed with: states of other weights do not mix. */
  weightsHash: string;
  shape: StateShape;
  /** The text read, and its token ids (what was actually processed, after tokenisation). */
  text: string;
  tokenIds: number[];
  tokenCount: number;
  /** Milliseconds since the epoch. */
  createdAt: number;
  taskLabel?: string;
  /** Where the state came from when not captured from zero: "mix", "import", "continued from <id>". */
  origin?: string;
}

/** Metadata plus tensors. The per-layer Σ Δ lives in `state.layers[l].dtSum`. */
export interface StoredState {
  meta: StateMeta;
  state: MambaState;
}

export function shapeOfConfig(config: AnyMambaConfig): StateShape {
  const common = {
    layers: config.numLayers,
    dInner: config.intermediateSize,
    dState: config.stateSize,
    convWidth: config.convKernel - 1,
  };
  if (!isMamba2Config(config)) return common;
  return {
    family: 'mamba2',
    ...common,
    numHeads: config.numHeads,
    headDim: config.headDim,
    nGroups: config.nGroups,
  };
}

export function sameShape(a: StateShape, b: StateShape): boolean {
  if (shapeFamily(a) !== shapeFamily(b)) return false;
  const same =
    a.layers === b.layers && a.dInner === b.dInner && a.dState === b.dState && a.convWidth === b.convWidth;
  if (a.family !== 'mamba2' || b.family !== 'mamba2') return same;
  return same && a.numHeads === b.numHeads && a.headDim === b.headDim && a.nGroups === b.nGroups;
}

export function describeShape(s: StateShape): string {
  if (s.family !== 'mamba2') {
    return `${s.layers} layers × d_inner ${s.dInner} × d_state ${s.dState} (conv window ${s.convWidth})`;
  }
  return `Mamba-2, ${s.layers} layers × ${s.numHeads} heads × head_dim ${s.headDim} × state ${s.dState} (${s.nGroups} group${s.nGroups === 1 ? '' : 's'}, conv window ${s.convWidth})`;
}

/**
 * Checks that a parsed shape is self-consistent (positive integers; Mamba-2: heads × head_dim = d_inner);
 * returns what is wrong, for file and record readers.
 */
export function shapeProblem(s: StateShape): string | undefined {
  const dims: number[] = [s.layers, s.dInner, s.dState, s.convWidth];
  if (s.family === 'mamba2') dims.push(s.numHeads, s.headDim, s.nGroups);
  if (!dims.every((v) => Number.isInteger(v) && v > 0)) return 'a size is not a positive whole number';
  if (s.family === 'mamba2') {
    if (s.numHeads * s.headDim !== s.dInner) return `num_heads × head_dim is not d_inner (${s.dInner})`;
    if (s.numHeads % s.nGroups !== 0) return `num_heads is not a multiple of n_groups`;
  }
  return undefined;
}

/** Checks that host arrays have the sizes `shape` implies; returns a message naming the first mismatch. */
export function shapeMismatch(state: MambaState, shape: StateShape): string | undefined {
  if (state.layers.length !== shape.layers) {
    return `it has ${state.layers.length} layers where ${shape.layers} are expected`;
  }
  const n = layerStateSizes(shape);
  for (let l = 0; l < shape.layers; l++) {
    const layer = state.layers[l]!;
    if (layer.ssm.length !== n.ssm) return `layer ${l}'s SSM state has the wrong size`;
    if (layer.conv.length !== n.conv) return `layer ${l}'s conv state has the wrong size`;
    if (layer.dtSum.length !== n.dtSum) return `layer ${l}'s Σ Δ has the wrong size`;
  }
  return undefined;
}

/** Raised when states cannot be combined or used with a model; the message says which and what to do. */
export class StateMismatchError extends Error {
  override name = 'StateMismatchError';
}

/** Raised for a state file that is corrupt, not a state file, or of another model; nothing is changed. */
export class StateFileError extends Error {
  override name = 'StateFileError';
}

/**
 * The one format of state ids, wherever a state is made (the engine, the page's library, an imported file):
 * "s-" and a random UUID (version 4). Built from getRandomValues, which (unlike randomUUID) pages served over
 * plain http also have. Older ids (bare UUIDs, "s-<time>-<random>") stay valid: ids are opaque keys.
 */
export function newStateId(): string {
  const b = globalThis.crypto.getRandomValues(new Uint8Array(16));
  b[6] = (b[6]! & 0x0f) | 0x40;
  b[8] = (b[8]! & 0x3f) | 0x80;
  const h = Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');
  return `s-${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}
