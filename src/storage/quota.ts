/** The browser's own account of the origin's storage: space used and offered, and whether it is kept. */

export interface StorageStatus {
  usage?: number;
  quota?: number;
  persisted?: boolean;
}

/** navigator.storage.estimate() and persisted(), where the browser offers them. */
export async function storageStatus(): Promise<StorageStatus> {
  const s = typeof navigator !== 'undefined' ? navigator.storage : undefined;
  if (!s) return {};
  const [est, persisted] = await Promise.all([
    s.estimate ? s.estimate() : Promise.resolve<StorageEstimate>({}),
    s.persisted ? s.persisted() : Promise.resolve(undefined),
  ]);
  return { usage: est.usage, quota: est.quota, persisted };
}

/** Asks the browser not to evict cached models and states under storage pressure; resolves to whether it agreed. */
export async function requestPersistentStorage(): Promise<boolean> {
  const s = typeof navigator !== 'undefined' ? navigator.storage : undefined;
  if (!s?.persist) return false;
  return s.persist();
}
