/**
 * The state library in IndexedDB: the only module that imports `idb` (ESLint enforces it).
 *
 * What it keeps, in the database "state-soup-states":
 *   version 3 (current)
 *     meta     key id: a StateMeta (src/engine/states/types.ts) plus modelKey = "<modelId>#<weightsHash>",
 *              bytes and family ("mamba1" | "mamba2"); indexes byModel (modelKey), byCreated and byFamily.
 *              Listing reads only this store.
 *     tensors  key id: { id, ssm, conv, dtSum } as ArrayBuffers of little-endian f32 (Blobs for a state over
 *              64 MiB: Chromium refuses a record over 127 MiB), layers stacked in the engine's layouts:
 *              Mamba-1 ssm [layers, d_inner, d_state], conv [layers, d_inner, d_conv-1], dtSum [layers, d_inner];
 *              Mamba-2 ssm [layers, num_heads, head_dim, state_size], conv [layers, d_inner + 2·n_groups·state_size,
 *              d_conv-1], dtSum [layers, num_heads].
 *   version 2 (migrated on open by metaV2ToV3: every record becomes family "mamba1")
 *     meta and tensors as in version 3, without `family` and its index.
 *   version 1 (the first release; migrated on open)
 *     states   key id: one record per state with the metadata fields of StateMeta flattened (id, name,
 *              modelId, weightsHash, text, tokenIds, createdAt, taskLabel?, layers, dInner, dState, convWidth)
 *              and the three tensors (ssm, conv, dtSum ArrayBuffers, the same stacking) in the same record.
 *              Split in v2 so that listing a library does not read every tensor.
 *
 * A state is written whole or not at all: its meta and tensors go in one readwrite transaction. States of
 * different models are kept apart by modelKey: list() needs the model, and nothing mixes across keys.
 * A full disk (QuotaExceededError) aborts the transaction, so nothing saved before is touched, and surfaces
 * as StorageFullError with what to do.
 */
import type { ModelFamily } from '../model/family.ts';
import { formatBytes } from '../model/progress.ts';
import { openDB, type DBSchema, type IDBPDatabase, type IDBPTransaction } from 'idb';
import type { StateMeta, StoredState } from '../engine/states/types.ts';
import { exportStateFile, importStateFile, type ImportExpectation } from '../engine/states/stateFile.ts';
import { isQuotaError, STORAGE_KEYS } from './keys.ts';
import { metaV2ToV3, statesV1ToV2, type V1StateRecord, type V2MetaRecord } from './migrations.ts';
import {
  fromRecords,
  metaOf,
  modelKey,
  tensorBytes,
  toRecords,
  type MetaRecord,
  type TensorRecord,
} from './records.ts';

export { modelKey, type MetaRecord, type TensorRecord } from './records.ts';
export type { V1StateRecord, V2MetaRecord } from './migrations.ts';

export const STATE_DB_NAME = STORAGE_KEYS.stateDb;
export const STATE_DB_VERSION = 3;

/** One model's share of the library. */
export interface LibraryModel {
  modelId: string;
  weightsHash: string;
  family: ModelFamily;
  count: number;
  bytes: number;
}

export class StorageFullError extends Error {
  override name = 'StorageFullError';
  constructor(what: string) {
    super(
      `The browser's storage is full, so ${what} was not saved; everything saved before is kept. Delete states or cached models in the Storage panel (or free disk space), then try again.`,
    );
  }
}

export class StateNotFoundError extends Error {
  override name = 'StateNotFoundError';
}

export class StorageUnavailableError extends Error {
  override name = 'StorageUnavailableError';
}

interface StateDB extends DBSchema {
  meta: {
    key: string;
    value: MetaRecord;
    indexes: { byModel: string; byCreated: number; byFamily: string };
  };
  tensors: { key: string; value: TensorRecord };
}

type UpgradeTx = IDBPTransaction<StateDB, ('meta' | 'tensors')[], 'versionchange'>;

function createV2Stores(db: IDBPDatabase<StateDB>): void {
  const meta = db.createObjectStore('meta', { keyPath: 'id' });
  meta.createIndex('byModel', 'modelKey');
  meta.createIndex('byCreated', 'createdAt');
  db.createObjectStore('tensors', { keyPath: 'id' });
}

/** The v1 → v2 step (see migrations.ts) applied to every record of the v1 `states` store, which is then dropped. */
async function migrateStatesV1ToV2(db: IDBPDatabase<StateDB>, tx: UpgradeTx): Promise<void> {
  // The v1 store is not in the v2 schema type: reach it untyped.
  const untyped = tx as unknown as {
    objectStore(n: string): {
      openCursor(): Promise<{ value: V1StateRecord; continue(): Promise<unknown> } | null>;
    };
  };
  let cursor = await untyped.objectStore('states').openCursor();
  while (cursor) {
    const { meta, tensors } = statesV1ToV2(cursor.value);
    // A v2 record; the v2 → v3 step that runs next gives it its family.
    await tx.objectStore('meta').put(meta as MetaRecord);
    await tx.objectStore('tensors').put(tensors);
    cursor = (await cursor.continue()) as typeof cursor;
  }
  (db as unknown as IDBDatabase).deleteObjectStore('states');
}

/** The v2 → v3 step (metaV2ToV3) over every meta record, and the byFamily index. Tensors are not read. */
async function migrateMetaV2ToV3(tx: UpgradeTx): Promise<void> {
  const store = tx.objectStore('meta');
  store.createIndex('byFamily', 'family');
  let cursor = await store.openCursor();
  while (cursor) {
    await cursor.update(metaV2ToV3(cursor.value as V2MetaRecord));
    cursor = await cursor.continue();
  }
}

export class StateLibrary {
  private constructor(private readonly db: IDBPDatabase<StateDB>) {}

  /** Opens (creating or upgrading) the library. An upgrade runs in one versionchange transaction. */
  static async open(name: string = STATE_DB_NAME): Promise<StateLibrary> {
    if (typeof indexedDB === 'undefined') {
      throw new StorageUnavailableError(
        'This browser offers no IndexedDB (private mode?), so states cannot be saved.',
      );
    }
    const db = await openDB<StateDB>(name, STATE_DB_VERSION, {
      async upgrade(db, oldVersion, _newVersion, tx) {
        // Every step in the one versionchange transaction, so a failure leaves the old database as it was.
        if (oldVersion < 2) {
          createV2Stores(db);
          if (oldVersion === 1) await migrateStatesV1ToV2(db, tx);
        }
        if (oldVersion < 3) await migrateMetaV2ToV3(tx);
      },
      blocking() {
        // Another tab wants to upgrade: step aside rather than block it.
        db.close();
      },
    });
    return new StateLibrary(db);
  }

  close(): void {
    this.db.close();
  }

  /** Saves states (new or overwriting the same ids) in one transaction: all are saved, or none. */
  async saveMany(states: StoredState[]): Promise<void> {
    const records = states.map(toRecords);
    const tx = this.db.transaction(['meta', 'tensors'], 'readwrite');
    try {
      await Promise.all([
        ...records.flatMap((r) => [
          tx.objectStore('meta').put(r.meta),
          tx.objectStore('tensors').put(r.tensors),
        ]),
        tx.done,
      ]);
    } catch (e) {
      if (isQuotaError(e) || isQuotaError(tx.error)) {
        // The size says why: a Mamba-2 state of 2.7b size alone is ~170 MB.
        const bytes = records.reduce((n, r) => n + r.meta.bytes, 0);
        const what = states.length === 1 ? `"${states[0]!.meta.name}"` : `these ${states.length} states`;
        throw new StorageFullError(`${what} (${formatBytes(bytes)})`);
      }
      throw e;
    }
  }

  save(state: StoredState): Promise<void> {
    return this.saveMany([state]);
  }

  /** One model's states (same id and weights), oldest first. */
  async list(modelId: string, weightsHash: string): Promise<StateMeta[]> {
    const records = await this.db.getAllFromIndex('meta', 'byModel', modelKey(modelId, weightsHash));
    return records.sort((a, b) => a.createdAt - b.createdAt).map(metaOf);
  }

  /** Every model that has states here, with its family, how many and their total size: for the Storage panel. */
  async models(): Promise<LibraryModel[]> {
    const all = await this.db.getAll('meta');
    const byKey = new Map<string, LibraryModel>();
    for (const m of all) {
      const e = byKey.get(m.modelKey) ?? {
        modelId: m.modelId,
        weightsHash: m.weightsHash,
        family: m.family,
        count: 0,
        bytes: 0,
      };
      e.count++;
      e.bytes += m.bytes;
      byKey.set(m.modelKey, e);
    }
    return [...byKey.values()];
  }

  async load(id: string): Promise<StoredState> {
    const tx = this.db.transaction(['meta', 'tensors'], 'readonly');
    const [meta, tensors] = await Promise.all([
      tx.objectStore('meta').get(id),
      tx.objectStore('tensors').get(id),
      tx.done,
    ]);
    if (!meta || !tensors)
      throw new StateNotFoundError(`The state ${id} is no longer in the library (deleted in another tab?).`);
    // Blobs (large states) are read after the transaction: they stay readable once it has finished.
    return fromRecords(meta, await tensorBytes(tensors));
  }

  /** Every state of one model with its tensors (for retrieval and the inspector's similarity map). */
  async loadAll(modelId: string, weightsHash: string): Promise<StoredState[]> {
    return this.loadMany((await this.list(modelId, weightsHash)).map((m) => m.id));
  }

  /** Several states read in one transaction, so a delete in another tab cannot interleave. */
  async loadMany(ids: string[]): Promise<StoredState[]> {
    const tx = this.db.transaction(['meta', 'tensors'], 'readonly');
    const pairs = await Promise.all(
      ids.map((id) => Promise.all([tx.objectStore('meta').get(id), tx.objectStore('tensors').get(id)])),
    );
    await tx.done;
    return Promise.all(
      pairs.map(async ([meta, tensors], i) => {
        if (!meta || !tensors) {
          throw new StateNotFoundError(
            `The state ${ids[i]} is no longer in the library (deleted in another tab?).`,
          );
        }
        return fromRecords(meta, await tensorBytes(tensors));
      }),
    );
  }

  /** Changes the name or task label; the tensors are untouched. */
  async updateMeta(id: string, patch: { name?: string; taskLabel?: string }): Promise<void> {
    const tx = this.db.transaction('meta', 'readwrite');
    const m = await tx.store.get(id);
    if (!m) throw new StateNotFoundError(`The state ${id} is no longer in the library.`);
    await tx.store.put({ ...m, ...patch });
    await tx.done;
  }

  async delete(ids: string[]): Promise<void> {
    const tx = this.db.transaction(['meta', 'tensors'], 'readwrite');
    await Promise.all([
      ...ids.flatMap((id) => [tx.objectStore('meta').delete(id), tx.objectStore('tensors').delete(id)]),
      tx.done,
    ]);
  }

  /** A state file (safetensors) of the given states, all of one model. */
  async exportFile(ids: string[]): Promise<Uint8Array> {
    return exportStateFile(await this.loadMany(ids));
  }

  /**
   * Imports a state file for the loaded model. The file is read and checked completely before anything is
   * written (a refused file changes nothing), then saved in one transaction.
   */
  async importFile(bytes: Uint8Array, fileName: string, expect: ImportExpectation): Promise<StateMeta[]> {
    const states = importStateFile(bytes, fileName, expect);
    // Saved as exported (ids, names, origins): importing a file back restores exactly what was exported.
    await this.saveMany(states);
    return states.map((s) => s.meta);
  }
}
