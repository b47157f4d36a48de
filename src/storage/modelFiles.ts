/**
 * The app's view of the model-file cache (Cache Storage). The cache itself, and the tee that fills it while
 * a model downloads, live in src/model/cache.ts because the loader (shared with the Node CLI, which has no
 * Cache Storage) uses them; the app lists and deletes through here so that every browser store is reached
 * from src/storage.
 */
import {
  deleteCachedModel as deleteFrom,
  listCachedModels,
  openModelCache,
  type CachedModel,
} from '../model/cache.ts';

export type { CachedFile, CachedModel } from '../model/cache.ts';

/** What the cache holds, grouped by checkpoint, largest first; undefined where Cache Storage is missing. */
export async function cachedModels(): Promise<CachedModel[] | undefined> {
  const cache = await openModelCache();
  return cache ? listCachedModels(cache) : undefined;
}

/** Deletes every cached file of one checkpoint (downloaded again when next loaded); returns how many. */
export async function deleteCachedModel(model: string): Promise<number> {
  const cache = await openModelCache();
  return cache ? deleteFrom(cache, model) : 0;
}
