/**
 * Everything the app keeps in the browser, behind one facade. Nothing outside src/storage opens IndexedDB,
 * Cache Storage or localStorage itself (ESLint keeps `idb` here).
 *
 * What it keeps (names in STORAGE_KEYS, ./keys.ts):
 *   IndexedDB "state-soup-states"   the state library: metadata and tensors of saved states, per model
 *                                   (./stateLibrary.ts; schema and migrations in ./records.ts, ./migrations.ts)
 *   Cache Storage "soup-models-v1"  downloaded model files, so a reload works offline (./modelFiles.ts over
 *                                   src/model/cache.ts, which the Node CLI's loader shares)
 *   localStorage "soup.*.v1"        the persisted stores: library entries (texts, names), mixer settings,
 *                                   session inputs (./local.ts)
 *
 * Full storage never throws away what was saved: a state library write is all or nothing and raises
 * StorageFullError; a cache write becomes a load warning (src/model/cache.ts); a localStorage write keeps the
 * last saved value and raises the localStorageFull() flag.
 */
export { STORAGE_KEYS, isQuotaError, type LocalKey } from './keys.ts';
export {
  StateLibrary,
  StateNotFoundError,
  StorageFullError,
  StorageUnavailableError,
  STATE_DB_NAME,
  STATE_DB_VERSION,
} from './stateLibrary.ts';
export { cachedModels, deleteCachedModel, type CachedFile, type CachedModel } from './modelFiles.ts';
export { LocalStorageFullError, localStorageFull, onLocalStorageFull, persistedAt } from './local.ts';
export { requestPersistentStorage, storageStatus, type StorageStatus } from './quota.ts';
