/**
 * For the Node check (tsconfig.node.json). The model layer, shared with the page and the Worker, feature-tests
 * for web storage APIs that Node lacks (Cache Storage, navigator.storage, directory handles): declared here as
 * Node sees them, possibly absent, so code that uses them unguarded is a type error in the Node programs.
 */
declare var caches: { open(name: string): Promise<import('../src/model/cache.ts').CacheLike> } | undefined;
declare var navigator:
  | {
      storage?: {
        estimate?(): Promise<StorageEstimate>;
        persisted?(): Promise<boolean>;
        persist?(): Promise<boolean>;
      };
    }
  | undefined;
interface StorageEstimate {
  usage?: number;
  quota?: number;
}
type ReadableStreamReadResult<T> = import('node:stream/web').ReadableStreamReadResult<T>;
interface FileSystemDirectoryHandle {
  readonly name: string;
  getFileHandle(name: string): Promise<{ getFile(): Promise<File> }>;
}
