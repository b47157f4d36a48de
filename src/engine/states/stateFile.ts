/**
 * State files: one or many stored states of one model in one safetensors file, readable by Python's
 * `safetensors` (docs/states.md shows how to load one into transformers' Mamba and Mamba-2 caches).
 *
 * Version 1, Mamba-1 (what every earlier release wrote; still what a Mamba-1 export writes, byte for byte).
 * Tensors, for the i-th state (layers stacked, the engine's layouts, little-endian F32):
 *   states.<i>.ssm        F32 [layers, d_inner, d_state]
 *   states.<i>.conv       F32 [layers, d_inner, d_conv-1]   oldest input first
 *   states.<i>.dt_sum     F32 [layers, d_inner]             Σ Δ since the zero state (for A-decay)
 *   states.<i>.token_ids  I32 [tokens]                      absent when the state read no text (a mix)
 * Metadata (string → string, as the format requires):
 *   format "state-soup.states", format_version "1", model_id, weights_hash, dtype "F32",
 *   shape  JSON {layers, d_inner, d_state, d_conv_minus_1},
 *   states JSON [{id, name, text, token_count, created_at, task_label?, origin?}] in tensor order.
 *
 * Version 2 adds `architecture` ("mamba2"; a version-2 file saying "mamba" is read as Mamba-1) and, for Mamba-2:
 *   states.<i>.ssm        F32 [layers, num_heads, head_dim, state_size]
 *   states.<i>.conv       F32 [layers, d_inner + 2·n_groups·state_size, d_conv-1]   x, B, C; oldest first
 *   states.<i>.dt_sum     F32 [layers, num_heads]
 *   shape  JSON {family: "mamba2", layers, d_inner, num_heads, head_dim, state_size, n_groups, d_conv_minus_1}.
 * A file of one family is refused by a model of the other with one line naming both.
 */
import { SafetensorsFile } from '../../model/safetensors.ts';
import type { LayerState } from '../weights.ts';
import { familyLabel, type ModelFamily } from '../../model/family.ts';
import {
  StateFileError,
  convChannels,
  describeShape,
  layerStateSizes,
  sameShape,
  shapeFamily,
  shapeMismatch,
  shapeProblem,
  type StateMeta,
  type StateShape,
  type StoredState,
} from './types.ts';
import { checkMixable } from './mix.ts';

export const STATE_FILE_FORMAT = 'state-soup.states';
/** The newest version this app reads (and writes, for Mamba-2). */
export const STATE_FILE_VERSION = 2;
/** What a Mamba-1 export writes: version 1, so that older releases still read it. */
export const MAMBA1_FILE_VERSION = 1;

interface FileStateMeta {
  id: string;
  name: string;
  text: string;
  token_count: number;
  created_at: number;
  task_label?: string;
  origin?: string;
}

/** A tensor of the file as the parts it is concatenated from (a state's layers), so nothing is stacked twice. */
interface PartsToWrite {
  dtype: 'F32' | 'I32';
  shape: number[];
  parts: (Float32Array | Int32Array)[];
}

/**
 * safetensors bytes (the layout writeSafetensors writes: the JSON header padded with spaces to 8 bytes, then the
 * data in header order), copying each layer straight into the one output buffer: an export holds the file
 * once, not a stacked copy of every tensor besides (a 2.7b Mamba-2 state is ~170 MB).
 */
function writeParts(tensors: Record<string, PartsToWrite>, metadata: Record<string, string>): Uint8Array {
  const header: Record<string, unknown> = { __metadata__: metadata };
  let offset = 0;
  for (const [name, t] of Object.entries(tensors)) {
    const size = t.parts.reduce((n, p) => n + p.byteLength, 0);
    header[name] = { dtype: t.dtype, shape: t.shape, data_offsets: [offset, offset + size] };
    offset += size;
  }
  const text = JSON.stringify(header);
  const json = new TextEncoder().encode(
    text + ' '.repeat((8 - (new TextEncoder().encode(text).byteLength % 8)) % 8),
  );
  const out = new Uint8Array(8 + json.byteLength + offset);
  new DataView(out.buffer).setBigUint64(0, BigInt(json.byteLength), true);
  out.set(json, 8);
  let at = 8 + json.byteLength;
  for (const t of Object.values(tensors)) {
    for (const p of t.parts) {
      out.set(new Uint8Array(p.buffer, p.byteOffset, p.byteLength), at);
      at += p.byteLength;
    }
  }
  return out;
}

/** Serialises states of one model into safetensors bytes. */
export function exportStateFile(states: StoredState[]): Uint8Array {
  if (states.length === 0) throw new StateFileError('Choose at least one state to export.');
  // One file holds one model's states, so the file-level model id and hash describe every state in it.
  checkMixable(states.map((s) => s.meta));
  const first = states[0]!.meta;
  const shape = first.shape;
  const dims = tensorDims(shape);
  const tensors: Record<string, PartsToWrite> = {};
  const metas: FileStateMeta[] = [];
  states.forEach(({ meta, state }, i) => {
    const bad = shapeMismatch(state, shape);
    if (bad) throw new StateFileError(`"${meta.name}" cannot be exported: ${bad}.`);
    const parts = (pick: (l: LayerState) => Float32Array) => state.layers.map(pick);
    tensors[`states.${i}.ssm`] = { dtype: 'F32', shape: dims.ssm, parts: parts((l) => l.ssm) };
    tensors[`states.${i}.conv`] = { dtype: 'F32', shape: dims.conv, parts: parts((l) => l.conv) };
    tensors[`states.${i}.dt_sum`] = { dtype: 'F32', shape: dims.dtSum, parts: parts((l) => l.dtSum) };
    if (meta.tokenIds.length > 0) {
      tensors[`states.${i}.token_ids`] = {
        dtype: 'I32',
        shape: [meta.tokenIds.length],
        parts: [Int32Array.from(meta.tokenIds)],
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
  const mamba2 = shape.family === 'mamba2';
  return writeParts(tensors, {
    format: STATE_FILE_FORMAT,
    format_version: String(mamba2 ? STATE_FILE_VERSION : MAMBA1_FILE_VERSION),
    ...(mamba2 ? { architecture: 'mamba2' } : {}),
    model_id: first.modelId,
    weights_hash: first.weightsHash,
    dtype: 'F32',
    shape: JSON.stringify(shapeJson(shape)),
    states: JSON.stringify(metas),
  });
}

/** The stacked tensors' dimensions: the engine's layouts with the layer axis in front. */
function tensorDims(s: StateShape): { ssm: number[]; conv: number[]; dtSum: number[] } {
  if (s.family === 'mamba2') {
    return {
      ssm: [s.layers, s.numHeads, s.headDim, s.dState],
      conv: [s.layers, convChannels(s), s.convWidth],
      dtSum: [s.layers, s.numHeads],
    };
  }
  return {
    ssm: [s.layers, s.dInner, s.dState],
    conv: [s.layers, s.dInner, s.convWidth],
    dtSum: [s.layers, s.dInner],
  };
}

function shapeJson(s: StateShape): Record<string, unknown> {
  const common = { layers: s.layers, d_inner: s.dInner };
  if (s.family !== 'mamba2') return { ...common, d_state: s.dState, d_conv_minus_1: s.convWidth };
  return {
    family: 'mamba2',
    ...common,
    num_heads: s.numHeads,
    head_dim: s.headDim,
    state_size: s.dState,
    n_groups: s.nGroups,
    d_conv_minus_1: s.convWidth,
  };
}

/** The shape a file's `shape` metadata describes, for the family its version and architecture name. */
function shapeFromJson(raw: Record<string, unknown>, family: ModelFamily): StateShape {
  const common = {
    layers: Number(raw['layers']),
    dInner: Number(raw['d_inner']),
    convWidth: Number(raw['d_conv_minus_1']),
  };
  if (family === 'mamba1') return { ...common, dState: Number(raw['d_state']) };
  return {
    family: 'mamba2',
    ...common,
    dState: Number(raw['state_size']),
    numHeads: Number(raw['num_heads']),
    headDim: Number(raw['head_dim']),
    nGroups: Number(raw['n_groups']),
  };
}

/** The family a file is for: version 1 is Mamba-1; from version 2 the `architecture` metadata says. */
function fileFamily(version: number, architecture: string | undefined, file: string): ModelFamily {
  if (version === 1) return 'mamba1';
  if (architecture === 'mamba2') return 'mamba2';
  if (architecture === 'mamba') return 'mamba1';
  throw new StateFileError(
    `${file} is state file version ${version} but does not say which architecture it is for ("architecture": "mamba" or "mamba2").`,
  );
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
  const family = fileFamily(version, md['architecture'], file);
  if (expect && family !== shapeFamily(expect.shape)) {
    // Before the weights and the shape: the family is what the user has to change.
    throw new StateFileError(
      `${file} holds ${familyLabel(family)} states (of ${modelId}); the loaded model is ${familyLabel(shapeFamily(expect.shape))} (${expect.modelId}). Load ${modelId}, a ${familyLabel(family)} model, to import them.`,
    );
  }
  const raw = parseJson<Record<string, unknown> | null>(md['shape'], 'shape', file);
  if (typeof raw !== 'object' || raw === null)
    throw new StateFileError(`${file} has an invalid state shape.`);
  const shape = shapeFromJson(raw, family);
  const problem = shapeProblem(shape);
  if (problem) throw new StateFileError(`${file} has an invalid state shape: ${problem}.`);
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
  const { layers } = shape;
  const dims = tensorDims(shape);
  const sizes = layerStateSizes(shape);
  const f32 = (name: string, dims: number[]): Float32Array => {
    if (!st.has(name))
      throw new StateFileError(`${file} is missing tensor "${name}"; the file is incomplete.`);
    const info = st.info(name);
    if (info.dtype !== 'F32' || info.shape.join() !== dims.join()) {
      throw new StateFileError(
        `${file}: tensor "${name}" is ${info.dtype} [${info.shape.join(', ')}], expected F32 [${dims.join(', ')}].`,
      );
    }
    // One copy (the raw bytes may be unaligned and belong to the caller): the exact bits, no conversion.
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
  // Views of the one copy, not copies per layer: a 2.7b Mamba-2 state is ~170 MB.
  const split = (all: Float32Array, per: number) =>
    Array.from({ length: layers }, (_, l) => all.subarray(l * per, (l + 1) * per));
  return metas.map((m, i) => {
    if (typeof m?.id !== 'string' || typeof m.name !== 'string')
      throw new StateFileError(`${file}: the metadata of state ${i} is damaged.`);
    const ssm = split(f32(`states.${i}.ssm`, dims.ssm), sizes.ssm);
    const conv = split(f32(`states.${i}.conv`, dims.conv), sizes.conv);
    const dt = split(f32(`states.${i}.dt_sum`, dims.dtSum), sizes.dtSum);
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
