/**
 * Migrations of what earlier releases saved, one named function per step, listed in the order they run.
 *
 * IndexedDB "state-soup-states":
 *   v1 → v2  statesV1ToV2: the one `states` store (metadata and tensors in one record) is split into `meta`
 *            (listing reads only this) and `tensors`. Runs inside the versionchange transaction, so a failure
 *            leaves the v1 database as it was (src/storage/stateLibrary.ts).
 *   v2 → v3  metaV2ToV3: each `meta` record gains `family` ("mamba1": every state saved before Mamba-2
 *            support is a Mamba-1 state) and the store an index byFamily. Tensors are not touched. Same
 *            versionchange transaction, so a failure leaves the v2 database as it was.
 * Saved states' weights tag: states saved under the retired "s1-" fingerprint are re-tagged when the worker
 *   finds them for the same weights (src/worker/migrations.ts: it needs the loaded weights' fingerprints).
 * localStorage: every persisted store is still at its first version ("….v1" keys, zustand version 0); none
 *   has needed a migration yet. A change of a store's persisted shape adds one here and bumps its version.
 */
import type { StateShape } from '../engine/states/types.ts';
import { modelKey, type MetaRecord, type TensorRecord } from './records.ts';

/** The version-2 meta record: the v3 one without `family`. */
export type V2MetaRecord = Omit<MetaRecord, 'family'>;

/** The version-1 record, kept as a type for the migration (and the upgrade test that writes one by hand). */
export interface V1StateRecord {
  id: string;
  name: string;
  modelId: string;
  weightsHash: string;
  text: string;
  tokenIds: number[];
  createdAt: number;
  taskLabel?: string;
  layers: number;
  dInner: number;
  dState: number;
  convWidth: number;
  ssm: ArrayBuffer;
  conv: ArrayBuffer;
  dtSum: ArrayBuffer;
}

/** One v1 record as the v2 pair of records; the tensors' bytes are moved, not copied or re-stacked. */
export function statesV1ToV2(r: V1StateRecord): { meta: V2MetaRecord; tensors: TensorRecord } {
  const shape: StateShape = { layers: r.layers, dInner: r.dInner, dState: r.dState, convWidth: r.convWidth };
  const meta: V2MetaRecord = {
    id: r.id,
    name: r.name,
    modelId: r.modelId,
    weightsHash: r.weightsHash,
    shape,
    text: r.text,
    tokenIds: r.tokenIds,
    tokenCount: r.tokenIds.length,
    createdAt: r.createdAt,
    modelKey: modelKey(r.modelId, r.weightsHash),
    bytes: r.ssm.byteLength + r.conv.byteLength + r.dtSum.byteLength,
  };
  if (r.taskLabel !== undefined) meta.taskLabel = r.taskLabel;
  return { meta, tensors: { id: r.id, ssm: r.ssm, conv: r.conv, dtSum: r.dtSum } };
}

/**
 * One v2 meta record as v3: a Mamba-1 state, said so. A record that somehow already names a family keeps it
 * (an interrupted upgrade that a later open resumes does no harm).
 */
export function metaV2ToV3(r: V2MetaRecord & { family?: MetaRecord['family'] }): MetaRecord {
  return { ...r, family: r.family ?? 'mamba1' };
}
