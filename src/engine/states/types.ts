/**
 * A stored state: the recurrent state of a Mamba-1 model after it read a text (host arrays in the engine's
 * layout, `MambaState`), and what is known about it. Plain data, so the same record is captured by the engine,
 * kept by src/storage, written to a state file and mixed on the CPU or the GPU.
 */
import type { MambaConfig } from '../../model/config.ts';
import type { MambaState } from '../weights.ts';

/** The sizes a state must agree on to be mixed, stored beside a model or imported. */
export interface StateShape {
  layers: number;
  dInner: number;
  dState: number;
  /** d_conv − 1: the conv window the state keeps. */
  convWidth: number;
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

export function shapeOfConfig(config: MambaConfig): StateShape {
  return {
    layers: config.numLayers,
    dInner: config.intermediateSize,
    dState: config.stateSize,
    convWidth: config.convKernel - 1,
  };
}

export function sameShape(a: StateShape, b: StateShape): boolean {
  return (
    a.layers === b.layers && a.dInner === b.dInner && a.dState === b.dState && a.convWidth === b.convWidth
  );
}

export function describeShape(s: StateShape): string {
  return `${s.layers} layers × d_inner ${s.dInner} × d_state ${s.dState} (conv window ${s.convWidth})`;
}

/** Checks that host arrays have the sizes `shape` implies; returns a message naming the first mismatch. */
export function shapeMismatch(state: MambaState, shape: StateShape): string | undefined {
  if (state.layers.length !== shape.layers) {
    return `it has ${state.layers.length} layers where ${shape.layers} are expected`;
  }
  for (let l = 0; l < shape.layers; l++) {
    const layer = state.layers[l]!;
    if (layer.ssm.length !== shape.dInner * shape.dState) return `layer ${l}'s SSM state has the wrong size`;
    if (layer.conv.length !== shape.dInner * shape.convWidth)
      return `layer ${l}'s conv state has the wrong size`;
    if (layer.dtSum.length !== shape.dInner) return `layer ${l}'s Σ Δ has the wrong size`;
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
