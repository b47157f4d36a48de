/**
 * Every name under which the app keeps something in the browser, in one place: the IndexedDB database of
 * states, the Cache Storage cache of model files, and the localStorage keys of the persisted stores. Renaming
 * one of these orphans what users saved under the old name, so a change here needs a migration
 * (src/storage/migrations.ts) rather than an edit.
 */
import { MODEL_CACHE_NAME } from '../model/cache.ts';

/** The one test for "storage full" (kept in src/model/cache.ts, which the Node CLI shares). */
export { isQuotaError } from '../model/cache.ts';

export const STORAGE_KEYS = {
  /** IndexedDB: the state library (src/storage/stateLibrary.ts). */
  stateDb: 'state-soup-states',
  /** Cache Storage: downloaded model files (src/model/cache.ts, which the Node CLI shares, owns the name). */
  modelCache: MODEL_CACHE_NAME,
  /** localStorage: the persisted zustand stores (src/stores), each a JSON `{state, version}`. */
  local: {
    library: 'soup.library.v1',
    mixer: 'soup.mixer.v1',
    session: 'soup.session.v1',
  },
} as const;

export type LocalKey = (typeof STORAGE_KEYS.local)[keyof typeof STORAGE_KEYS.local];
