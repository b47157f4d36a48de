/**
 * The host APIs the engine uses, declared for the engine's own type check (tsconfig.engine.json), which has
 * no DOM, WebWorker or Node types: pages, Workers and Node 20 all provide these, so code that type-checks
 * against this list runs in all three. Reaching for anything else (document, window, process, fs) is a type
 * error there. Keep each declaration a subset of lib.dom's so the other projects see the same shapes.
 */
interface AbortSignal {
  readonly aborted: boolean;
  readonly reason: unknown;
}
declare var performance: { now(): number };
declare var crypto: {
  randomUUID(): `${string}-${string}-${string}-${string}-${string}`;
  getRandomValues<T extends Uint8Array<ArrayBuffer>>(array: T): T;
};
declare var DOMException: { new (message?: string, name?: string): Error };
declare var TextEncoder: { new (): { encode(input?: string): Uint8Array<ArrayBuffer> } };
declare var TextDecoder: {
  new (label?: string, options?: { fatal?: boolean }): { decode(input?: AllowSharedBufferSource): string };
};
type AllowSharedBufferSource = ArrayBufferLike | ArrayBufferView;
