/**
 * The worker's side of the state library: states are saved as they are made and taken back on the next visit
 * when they match the loaded weights (migrations.ts). Storage failing never fails the work: a full disk or a
 * browser without IndexedDB turns into a warning, and the state still works for the visit.
 */
import type { StoredState } from '../engine/states/types.ts';
import { adoptSaved, type LoadedWeights } from './migrations.ts';

/** What the worker needs of a library (StateLibrary in the browser). */
export interface StateStore {
  save(s: StoredState): Promise<void>;
  load(id: string): Promise<StoredState>;
  updateMeta(id: string, patch: { name?: string }): Promise<void>;
  delete(ids: string[]): Promise<void>;
}

export const NO_STORAGE_WARNING =
  'This browser’s storage is unavailable, so the state lasts only for this visit (its text is kept).';

export class StatePersistence {
  private store: Promise<StateStore | undefined> | undefined;

  /**
   * `open` rejecting (no IndexedDB) means states last for the visit. The Worker passes the IndexedDB library;
   * it is not imported here, so programs without IndexedDB (the CLI's benchmark) can run the service.
   */
  constructor(private readonly open: () => Promise<StateStore>) {}

  private library(): Promise<StateStore | undefined> {
    this.store ??= this.open().catch(() => undefined);
    return this.store;
  }

  /** Saves `s`; returns a warning (full disk, no storage) instead of failing. */
  async save(s: StoredState): Promise<string | undefined> {
    const lib = await this.library();
    if (!lib) return NO_STORAGE_WARNING;
    try {
      await lib.save(s);
      return undefined;
    } catch (e) {
      return (e as Error).message;
    }
  }

  /** The saved state `key` when it is the state of `text` under `weights` (migrated and saved back if need be). */
  async find(key: string, text: string, weights: LoadedWeights): Promise<StoredState | undefined> {
    const lib = await this.library();
    if (!lib) return undefined;
    try {
      const adopted = adoptSaved(await lib.load(key), text, weights);
      if (adopted?.saveBack) await lib.save(adopted.use).catch(() => undefined);
      return adopted?.use;
    } catch {
      return undefined;
    }
  }

  async rename(key: string, name: string): Promise<void> {
    await (await this.library())?.updateMeta(key, { name }).catch(() => undefined);
  }

  async drop(key: string): Promise<void> {
    await (await this.library())?.delete([key]).catch(() => undefined);
  }
}
