/**
 * Where the worker's states live while a model is loaded: the stored states by library key, and a few states
 * of texts read from zero (concatenations, retrieval queries). The rest of the worker asks this module for a
 * state by key, for what it needs it for, and never keeps one:
 *
 * - `stored` / `storedMany` / `readyOf`: a host copy with its metadata (export, CPU mixing, inspection,
 *   ranking);
 * - `startOf`: the state a run starts from;
 * - `put` / `rename` / `drop` / `clear`: changes.
 *
 * Today every state is a host `MambaState` in a Map, so the reads resolve at once. They are asynchronous so
 * that states can move to the GPU (issue 14: kept in GPU buffers, an LRU bounded by bytes, read back or
 * recomputed from their text on demand) by changing this file alone.
 */
import type { StoredState } from '../engine/states/types.ts';
import type { MambaState } from '../engine/weights.ts';

/** States of texts read from zero kept at once; the oldest is dropped first. */
export const TEXT_STATES_KEPT = 8;

export class StateCache {
  private readonly states = new Map<string, StoredState>();
  /** By text, oldest first. */
  private readonly texts = new Map<string, MambaState>();

  /** Whether the state `key` is ready (made, imported or taken from storage, and not dropped). */
  has(key: string): boolean {
    return this.states.has(key);
  }

  /** The keys among `keys` that are ready, in order. */
  readyKeys(keys: string[]): string[] {
    return keys.filter((k) => this.states.has(k));
  }

  /** The stored state `key` on the host; rejects with a clear error while it is not ready. */
  async stored(key: string): Promise<StoredState> {
    return this.entry(key);
  }

  /** Like `stored` for each of `keys`; rejects if any is not ready. */
  async storedMany(keys: string[]): Promise<StoredState[]> {
    return keys.map((k) => this.entry(k));
  }

  /** The ready states among `keys`, in order; the others are skipped. */
  async readyOf(keys: string[]): Promise<StoredState[]> {
    return this.readyKeys(keys).map((k) => this.entry(k));
  }

  /** The state a run starting from `key` begins with. */
  async startOf(key: string): Promise<MambaState> {
    return this.entry(key).state;
  }

  put(key: string, s: StoredState): void {
    this.states.set(key, s);
  }

  rename(key: string, name: string): void {
    const s = this.states.get(key);
    if (s) s.meta = { ...s.meta, name };
  }

  drop(key: string): void {
    this.states.delete(key);
  }

  /** The state of `text` read from zero: kept from an earlier call, or computed by `read` and kept. */
  async textState(text: string, read: () => Promise<MambaState>): Promise<MambaState> {
    const hit = this.texts.get(text);
    if (hit) return hit;
    const s = await read();
    this.texts.set(text, s);
    if (this.texts.size > TEXT_STATES_KEPT) this.texts.delete(this.texts.keys().next().value!);
    return s;
  }

  /** Forgets everything (a new model is loading: the states belong to the old weights). */
  clear(): void {
    this.states.clear();
    this.texts.clear();
  }

  private entry(key: string): StoredState {
    const s = this.states.get(key);
    if (!s)
      throw new Error(`That state is not ready yet: it is still being computed, or computing it failed.`);
    return s;
  }
}
