/**
 * For the Worker's type check (tsconfig.worker.json). Modules shared by the page and the Worker (the model
 * cache, the state library) probe `navigator.storage.persist`, which only windows have: optional here, so
 * calling it unguarded is still an error.
 */
interface StorageManager {
  persist?(): Promise<boolean>;
}
