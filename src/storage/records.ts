/**
 * The shapes the state library writes to IndexedDB (schema version 3) and how a state becomes them and back.
 * Pure: no IndexedDB here, so the conversions and the migrations built on them are unit-tested in Node.
 */
import type { ModelFamily } from '../model/family.ts';
import type { StateMeta, StoredState } from '../engine/states/types.ts';
import { shapeFamily, shapeMismatch, StateMismatchError } from '../engine/states/types.ts';
import type { LayerState } from '../engine/weights.ts';

export interface MetaRecord extends StateMeta {
  modelKey: string;
  bytes: number;
  /** The architecture family (schema v3; what shapeFamily(shape) says), so listings need not read shapes. */
  family: ModelFamily;
}

/** The metadata a listing returns: the record without the library's own fields. */
export function metaOf(r: MetaRecord): StateMeta {
  const { modelKey: _k, bytes: _b, family: _f, ...plain } = r;
  return plain;
}

export interface TensorRecord {
  id: string;
  ssm: ArrayBuffer;
  conv: ArrayBuffer;
  dtSum: ArrayBuffer;
}

/** The key that keeps states of different models (or of other weights under the same id) apart. */
export function modelKey(modelId: string, weightsHash: string): string {
  return `${modelId}#${weightsHash}`;
}

function stacked(layers: LayerState[], pick: (l: LayerState) => Float32Array): ArrayBuffer {
  const per = pick(layers[0]!).length;
  const out = new Float32Array(per * layers.length);
  layers.forEach((l, i) => out.set(pick(l), i * per));
  return out.buffer;
}

function unstack(buf: ArrayBuffer, layers: number): Float32Array[] {
  const all = new Float32Array(buf);
  const per = all.length / layers;
  return Array.from({ length: layers }, (_, l) => all.slice(l * per, (l + 1) * per));
}

export function toRecords(s: StoredState): { meta: MetaRecord; tensors: TensorRecord } {
  const bad = shapeMismatch(s.state, s.meta.shape);
  if (bad) throw new StateMismatchError(`"${s.meta.name}" cannot be saved: ${bad}.`);
  const tensors: TensorRecord = {
    id: s.meta.id,
    ssm: stacked(s.state.layers, (l) => l.ssm),
    conv: stacked(s.state.layers, (l) => l.conv),
    dtSum: stacked(s.state.layers, (l) => l.dtSum),
  };
  const bytes = tensors.ssm.byteLength + tensors.conv.byteLength + tensors.dtSum.byteLength;
  const meta: MetaRecord = {
    ...s.meta,
    modelKey: modelKey(s.meta.modelId, s.meta.weightsHash),
    bytes,
    family: shapeFamily(s.meta.shape),
  };
  return { meta, tensors };
}

export function fromRecords(meta: MetaRecord, t: TensorRecord): StoredState {
  const plain = metaOf(meta);
  const n = meta.shape.layers;
  const ssm = unstack(t.ssm, n);
  const conv = unstack(t.conv, n);
  const dt = unstack(t.dtSum, n);
  return { meta: plain, state: { layers: ssm.map((s, l) => ({ ssm: s, conv: conv[l]!, dtSum: dt[l]! })) } };
}
