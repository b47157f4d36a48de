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

/**
 * A state's tensors, layers stacked. Up to INLINE_TENSOR_BYTES they are ArrayBuffers in the record; a larger
 * state's are Blobs, which IndexedDB keeps outside the record: Chromium refuses any one record over
 * 133,169,152 bytes ("The serialized keys and/or value are too large"), and a 2.7b Mamba-2 state is 172 MB.
 */
export interface TensorRecord {
  id: string;
  ssm: ArrayBuffer | Blob;
  conv: ArrayBuffer | Blob;
  dtSum: ArrayBuffer | Blob;
}

/** The same tensors read into memory (what fromRecords takes). */
export interface TensorBytes {
  id: string;
  ssm: ArrayBuffer;
  conv: ArrayBuffer;
  dtSum: ArrayBuffer;
}

/** States larger than this are stored as Blobs (half Chromium's largest record, for headroom). */
export const INLINE_TENSOR_BYTES = 64 * 2 ** 20;

/** Reads a record's tensors, whether stored inline or as Blobs. */
export async function tensorBytes(t: TensorRecord): Promise<TensorBytes> {
  const read = (x: ArrayBuffer | Blob) => (x instanceof Blob ? x.arrayBuffer() : Promise.resolve(x));
  const [ssm, conv, dtSum] = await Promise.all([read(t.ssm), read(t.conv), read(t.dtSum)]);
  return { id: t.id, ssm, conv, dtSum };
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
  const parts = {
    ssm: stacked(s.state.layers, (l) => l.ssm),
    conv: stacked(s.state.layers, (l) => l.conv),
    dtSum: stacked(s.state.layers, (l) => l.dtSum),
  };
  const bytes = parts.ssm.byteLength + parts.conv.byteLength + parts.dtSum.byteLength;
  const tensors: TensorRecord =
    bytes > INLINE_TENSOR_BYTES
      ? {
          id: s.meta.id,
          ssm: new Blob([parts.ssm]),
          conv: new Blob([parts.conv]),
          dtSum: new Blob([parts.dtSum]),
        }
      : { id: s.meta.id, ...parts };
  const meta: MetaRecord = {
    ...s.meta,
    modelKey: modelKey(s.meta.modelId, s.meta.weightsHash),
    bytes,
    family: shapeFamily(s.meta.shape),
  };
  return { meta, tensors };
}

export function fromRecords(meta: MetaRecord, t: TensorBytes): StoredState {
  const plain = metaOf(meta);
  const n = meta.shape.layers;
  const ssm = unstack(t.ssm, n);
  const conv = unstack(t.conv, n);
  const dt = unstack(t.dtSum, n);
  return { meta: plain, state: { layers: ssm.map((s, l) => ({ ssm: s, conv: conv[l]!, dtSum: dt[l]! })) } };
}
