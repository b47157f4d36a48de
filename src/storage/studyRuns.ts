/**
 * Saved study runs in IndexedDB (this folder is the only one that imports `idb`), in their own database
 * "state-soup-studies" so the state library's schema is untouched:
 *   version 1
 *     runs  key id: { id, savedAt, title, outcome } where outcome is a StudyOutcome (src/studies/request.ts):
 *           rows, the run record and, for ICL with details, every answer. Index bySaved.
 * A full disk aborts the write (nothing saved before is touched) and surfaces as StorageFullError.
 */
import { openDB, type DBSchema, type IDBPDatabase } from 'idb';
import type { StudyOutcome } from '../studies/request.ts';
import { StorageFullError, StorageUnavailableError } from './stateLibrary.ts';

export const STUDY_DB_NAME = 'state-soup-studies';
export const STUDY_DB_VERSION = 1;

export interface SavedStudy {
  id: string;
  /** Milliseconds since the epoch. */
  savedAt: number;
  title: string;
  outcome: StudyOutcome;
}

/** What the list shows without reading every row. */
export interface SavedStudySummary {
  id: string;
  savedAt: number;
  title: string;
  study: StudyOutcome['study'];
  modelId: string;
  complete: boolean;
}

interface StudyDB extends DBSchema {
  runs: { key: string; value: SavedStudy & { summary: SavedStudySummary }; indexes: { bySaved: number } };
}

export class StudyRunStore {
  private constructor(private readonly db: IDBPDatabase<StudyDB>) {}

  static async open(name = STUDY_DB_NAME): Promise<StudyRunStore> {
    if (typeof indexedDB === 'undefined') throw new StorageUnavailableError('This browser has no IndexedDB.');
    const db = await openDB<StudyDB>(name, STUDY_DB_VERSION, {
      upgrade(d) {
        d.createObjectStore('runs', { keyPath: 'id' }).createIndex('bySaved', 'savedAt');
      },
    });
    return new StudyRunStore(db);
  }

  async save(run: SavedStudy): Promise<void> {
    const summary: SavedStudySummary = {
      id: run.id,
      savedAt: run.savedAt,
      title: run.title,
      study: run.outcome.study,
      modelId: run.outcome.run.model.id,
      complete: run.outcome.run.complete,
    };
    try {
      await this.db.put('runs', { ...run, summary });
    } catch (e) {
      if ((e as Error)?.name === 'QuotaExceededError') throw new StorageFullError(`the study “${run.title}”`);
      throw e;
    }
  }

  /** Newest first. */
  async list(): Promise<SavedStudySummary[]> {
    const all = await this.db.getAllFromIndex('runs', 'bySaved');
    return all.map((r) => r.summary).reverse();
  }

  async load(id: string): Promise<SavedStudy | undefined> {
    const r = await this.db.get('runs', id);
    if (!r) return undefined;
    return { id: r.id, savedAt: r.savedAt, title: r.title, outcome: r.outcome };
  }

  async delete(id: string): Promise<void> {
    await this.db.delete('runs', id);
  }
}
