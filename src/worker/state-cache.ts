/**
 * Where the worker's states live while a model is loaded: the stored states by library key, and a few states
 * of texts read from zero (concatenations, retrieval queries). Everything else in the worker asks this module
 * for a state by key and never holds one, so moving states elsewhere (GPU buffers, an LRU bounded by bytes)
 * changes this file alone.
 */
import type { StoredState } from '../engine/states/types.ts';
import type { MambaState } from '../engine/weights.ts';

/** States of texts read from zero kept at once; the oldest is dropped first. */
export const TEXT_STATES_KEPT = 8;

export class StateCache {
  private readonly states = new Map<string, StoredState>();
  /** By text, oldest first. */
  private readonly texts = new Map<string, MambaState>();

  has(key: string): boolean {
    return this.states.has(key);
  }

  /** The stored state `key`; a clear error while it is still being computed or computing it failed. */
  get(key: string): StoredState {
    const s = this.states.get(key);
    if (!s)
      throw new Error(`That state is not ready yet: it is still being computed, or computing it failed.`);
    return s;
  }

  /** The states of `keys` that are ready, in order; the others are skipped. */
  ready(keys: string[]): StoredState[] {
    return keys.filter((k) => this.states.has(k)).map((k) => this.get(k));
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
}
