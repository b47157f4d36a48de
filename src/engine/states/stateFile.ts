/**
 * State files: one or many stored states in one safetensors file, readable by Python's `safetensors`
 * (docs/states.md shows how to load one into transformers' Mamba cache).
 *
 * Tensors, for the i-th state (layers stacked, the engine's layouts, little-endian F32):
 *   states.<i>.ssm        F32 [layers, d_inner, d_state]
 *   states.<i>.conv       F32 [layers, d_inner, d_conv-1]   oldest input first
 *   states.<i>.dt_sum     F32 [layers, d_inner]             Σ Δ since the zero state (for A-decay)
 *   states.<i>.token_ids  I32 [tokens]                      absent when the state read no text (a mix)
 * Metadata (string → string, as the format requires):
 *   format "state-soup.states", format_version "1", model_id, weights_hash, dtype "F32",
 *   shape  JSON {layers, d_inner, d_state, d_conv_minus_1},
 *   states JSON [{id, name, text, token_count, created_at, task_label?, origin?}] in tensor order.
 */
import { SafetensorsFile, writeSafetensors, type TensorToWrite } from '../../model/safetensors.ts';
import type { LayerState } from '../weights.ts';
import {
  StateFileError,
  describeShape,
  sameShape,
  type StateMeta,
  type StateShape,
  type StoredState,
} from './types.ts';
import { checkMixable } from './mix.ts';

export const STATE_FILE_FORMAT = 'state-soup.states';
export const STATE_FILE_VERSION = 1;

interface FileStateMeta {
  id: string;
  name: string;
  text: string;
  token_count: number;
  created_at: number;
  task_label?: string;
  origin?: string;
}

function stack(layers: LayerState[], pick: (l: LayerState) => Float32Array): Float32Array {
  const per = pick(layers[0]!).length;
  const out = new Float32Array(per * layers.length);
  layers.forEach((l, i) => out.set(pick(l), i * per));
  return out;
}

/** Serialises states of one model into safetensors bytes. */
export function exportStateFile(states: StoredState[]): Uint8Array {
  if (states.length === 0) throw new StateFileError('Choose at least one state to export.');
  // One file holds one model's states, so the file-level model id and hash describe every state in it.
  checkMixable(states.map((s) => s.meta));
  const first = states[0]!.meta;
  const { layers, dInner, dState, convWidth } = first.shape;
  const tensors: Record<string, TensorToWrite> = {};
  const metas: FileStateMeta[] = [];
  states.forEach(({ meta, state }, i) => {
    tensors[`states.${i}.ssm`] = {
      dtype: 'F32',
      shape: [layers, dInner, dState],
      data: stack(state.layers, (l) => l.ssm),
    };
    tensors[`states.${i}.conv`] = {
      dtype: 'F32',
      shape: [layers, dInner, convWidth],
      data: stack(state.layers, (l) => l.conv),
    };
    tensors[`states.${i}.dt_sum`] = {
      dtype: 'F32',
      shape: [layers, dInner],
      data: stack(state.layers, (l) => l.dtSum),
    };
    if (meta.tokenIds.length > 0) {
      tensors[`states.${i}.token_ids`] = {
        dtype: 'I32',
        shape: [meta.tokenIds.length],
        data: Int32Array.from(meta.tokenIds),
      };
    }
    const m: FileStateMeta = {
      id: meta.id,
      name: meta.name,
      text: meta.text,
      token_count: meta.tokenCount,
      created_at: meta.createdAt,
    };
    if (meta.taskLabel !== undefined) m.task_label = meta.taskLabel;
    if (meta.origin !== undefined) m.origin = meta.origin;
    metas.push(m);
  });
  return writeSafetensors(tensors, {
    format: STATE_FILE_FORMAT,
    format_version: String(STATE_FILE_VERSION),
    model_id: first.modelId,
    weights_hash: first.weightsHash,
    dtype: 'F32',
    shape: JSON.stringify({ layers, d_inner: dInner, d_state: dState, d_conv_minus_1: convWidth }),
    states: JSON.stringify(metas),
  });
}

/** What an import must match: the loaded model. Omit to read a file without a model (inspection, tests). */
export interface ImportExpectation {
  modelId: string;
  weightsHash: string;
  shape: StateShape;
}

function parseJson<T>(text: string | undefined, what: string, file: string): T {
  if (text === undefined)
    throw new StateFileError(`${file} is not a state file: its metadata has no "${what}".`);
  try {
    return JSON.parse(text) as T;
  } catch {
    throw new StateFileError(`${file} is damaged: its "${what}" metadata is not valid JSON.`);
  }
}

/**
 * Reads a state file. Refuses (StateFileError, with what to do) a corrupt file, a safetensors file that is not
 * a state file, a newer format version, and states of a model other than `expect`. Pure: nothing is stored.
 */
export function importStateFile(
  bytes: Uint8Array,
  file = 'the file',
  expect?: ImportExpectation,
): StoredState[] {
  let st: SafetensorsFile;
  try {
    st = new SafetensorsFile(bytes, file);
  } catch (e) {
    throw new StateFileError(`${file} is not a readable state file: ${(e as Error).message}`);
  }
  const md = st.metadata;
  if (md['format'] !== STATE_FILE_FORMAT) {
    throw new StateFileError(
      `${file} is a safetensors file but not a saved state (it has no "format": "${STATE_FILE_FORMAT}" metadata); a model checkpoint cannot be imported as a state.`,
    );
  }
  const version = Number(md['format_version']);
  if (!Number.isInteger(version) || version < 1)
    throw new StateFileError(`${file} has an invalid format_version.`);
  if (version > STATE_FILE_VERSION) {
    throw new StateFileError(
      `${file} is state file version ${version}; this app reads up to ${STATE_FILE_VERSION}. Update the app.`,
    );
  }
  if (md['dtype'] !== 'F32')
    throw new StateFileError(`${file} holds ${md['dtype']} states; only F32 is supported.`);
  const modelId = md['model_id'];
  const weightsHash = md['weights_hash'];
  if (!modelId || !weightsHash)
    throw new StateFileError(`${file} does not say which model its states belong to.`);
  const raw = parseJson<Record<string, unknown> | null>(md['shape'], 'shape', file);
  if (typeof raw !== 'object' || raw === null)
    throw new StateFileError(`${file} has an invalid state shape.`);
  const shape: StateShape = {
    layers: Number(raw['layers']),
    dInner: Number(raw['d_inner']),
    dState: Number(raw['d_state']),
    convWidth: Number(raw['d_conv_minus_1']),
  };
  if (!Object.values(shape).every((v) => Number.isInteger(v) && v > 0))
    throw new StateFileError(`${file} has an invalid state shape.`);
  if (expect) {
    if (weightsHash !== expect.weightsHash) {
      throw new StateFileError(
        `${file} holds states of ${modelId} (weights ${weightsHash}), but the loaded model is ${expect.modelId} (weights ${expect.weightsHash}). Load ${modelId} to import it.`,
      );
    }
    if (!sameShape(shape, expect.shape)) {
      throw new StateFileError(
        `${file} has states of shape ${describeShape(shape)}; the loaded model's is ${describeShape(expect.shape)}.`,
      );
    }
  }
  const metas = parseJson<FileStateMeta[]>(md['states'], 'states', file);
  if (!Array.isArray(metas) || metas.length === 0) throw new StateFileError(`${file} lists no states.`);
  const { layers, dInner, dState, convWidth } = shape;
  const f32 = (name: string, dims: number[]): Float32Array => {
    if (!st.has(name))
      throw new StateFileError(`${file} is missing tensor "${name}"; the file is incomplete.`);
    const info = st.info(name);
    if (info.dtype !== 'F32' || info.shape.join() !== dims.join()) {
      throw new StateFileError(
        `${file}: tensor "${name}" is ${info.dtype} [${info.shape.join(', ')}], expected F32 [${dims.join(', ')}].`,
      );
    }
    // A copy (the raw bytes may be unaligned and belong to the caller): the exact bits, no conversion.
    const raw = st.raw(name);
    return new Float32Array(raw.slice().buffer);
  };
  const tokenIdsOf = (name: string): number[] => {
    const { dtype, shape: dims } = st.info(name);
    if (!['I32', 'I64', 'U32', 'U8', 'I8'].includes(dtype)) {
      throw new StateFileError(
        `${file}: tensor "${name}" is ${dtype} [${dims.join(', ')}], expected I32 [tokens].`,
      );
    }
    return Array.from(st.int32(name));
  };
  const split = (all: Float32Array, per: number) =>
    Array.from({ length: layers }, (_, l) => all.slice(l * per, (l + 1) * per));
  return metas.map((m, i) => {
    if (typeof m?.id !== 'string' || typeof m.name !== 'string')
      throw new StateFileError(`${file}: the metadata of state ${i} is damaged.`);
    const ssm = split(f32(`states.${i}.ssm`, [layers, dInner, dState]), dInner * dState);
    const conv = split(f32(`states.${i}.conv`, [layers, dInner, convWidth]), dInner * convWidth);
    const dt = split(f32(`states.${i}.dt_sum`, [layers, dInner]), dInner);
    const tokName = `states.${i}.token_ids`;
    const tokenIds = st.has(tokName) ? tokenIdsOf(tokName) : [];
    const meta: StateMeta = {
      id: m.id,
      name: m.name,
      modelId,
      weightsHash,
      shape: { ...shape },
      text: typeof m.text === 'string' ? m.text : '',
      tokenIds,
      tokenCount: Number.isInteger(m.token_count) ? m.token_count : tokenIds.length,
      createdAt: Number.isFinite(m.created_at) ? m.created_at : 0,
    };
    if (typeof m.task_label === 'string') meta.taskLabel = m.task_label;
    if (typeof m.origin === 'string') meta.origin = m.origin;
    return { meta, state: { layers: ssm.map((s, l) => ({ ssm: s, conv: conv[l]!, dtSum: dt[l]! })) } };
  });
}

/** A file name for an export: the state's name (or "N states"), made safe for file systems. */
export function stateFileName(states: StoredState[]): string {
  const base = states.length === 1 ? states[0]!.meta.name : `${states.length} states`;
  return `${base.replace(/[^\w.-]+/g, '_').slice(0, 80) || 'state'}.state.safetensors`;
}
