/**
 * Where the worker's states live while a model is loaded: the stored states by library key, and a few states
 * of texts read from zero (concatenations, retrieval queries). The rest of the worker asks this module for a
 * state by key, for what it needs it for, and never keeps one:
 *
 * - `stored` / `storedMany` / `readyOf`: a host copy with its metadata (export, inspection, ranking, the
 *   checks before a mix);
 * - `startOf`: the state a run starts from; `onGpu`: GPU copies to mix from;
 * - `put` / `rename` / `drop` / `clear`: changes.
 *
 * Every stored state has a host copy (saved to the library as it is made, and taken back from it on the next
 * visit). While a model is loaded (`useGpu`), the states runs start or mix from also stay in GPU buffers, the
 * most recently used first, within a byte budget: the page's mix-and-rescore then never uploads a state it
 * used recently, and an evicted state is uploaded again from its host copy when next asked for.
 */
import type { GpuState } from '../engine/api.ts';
import type { StoredState } from '../engine/states/types.ts';
import type { MambaState } from '../engine/weights.ts';
import { ByteLru } from './byte-lru.ts';

/** States of texts read from zero kept at once; the oldest is dropped first. */
export const TEXT_STATES_KEPT = 8;

/**
 * Host memory for those text states: eight 130m states are small, eight 2.7b Mamba-2 states (~170 MB each)
 * would be 1.4 GB, so the count is also bounded by bytes (the newest state is always kept).
 */
export const TEXT_STATE_BYTES = 512 * 2 ** 20;

/**
 * GPU memory for resident states unless the service is told otherwise: about 10 Mamba-1 states of 2.8b, 90 of
 * 130m; 13 Mamba-2 states of 130m, 1 of 2.7b (a mix of more keeps all its sources while it runs).
 */
export const GPU_STATE_BYTES = 256 * 2 ** 20;

/** What the cache needs of the engine to keep states on its device (MambaEngine has it). */
export interface StateDevice {
  createState(): GpuState;
  writeState(state: GpuState, host: MambaState): void;
  copyState(dst: GpuState, src: GpuState): void;
}

/** Fills a run's scratch state on the GPU (the backend calls it inside its exclusive section). */
export type FillState = (dst: GpuState) => void | Promise<void>;

/** Bytes of a state's three f32 buffers. */
export function stateBytes(s: MambaState): number {
  return s.layers.reduce((n, l) => n + 4 * (l.ssm.length + l.conv.length + l.dtSum.length), 0);
}

export class StateCache {
  private readonly states = new Map<string, StoredState>();
  /** By text, oldest first. */
  private readonly texts = new Map<string, MambaState>();
  private gpu: { device: StateDevice; resident: ByteLru<GpuState> } | undefined;
  private textBytes = 0;

  constructor(private readonly textBudgetBytes = TEXT_STATE_BYTES) {}

  /**
   * Keeps states on `device` from now on, within `budgetBytes`; `undefined` lets go of the GPU copies (a new
   * model is loading, or the device was lost: its buffers are gone with it).
   */
  useGpu(device: StateDevice | undefined, budgetBytes = GPU_STATE_BYTES): void {
    this.gpu?.resident.clear();
    this.gpu = device && { device, resident: new ByteLru<GpuState>(budgetBytes, (g) => g.destroy()) };
  }

  /** Keys with a GPU copy, least recently used first. */
  residentKeys(): string[] {
    return this.gpu?.resident.keys() ?? [];
  }

  /** Bytes of GPU memory the resident copies take. */
  residentBytes(): number {
    return this.gpu?.resident.bytes ?? 0;
  }

  /**
   * GPU copies of the states `keys`, uploading those not resident; none of them is evicted by this call.
   * Synchronous, so that a caller that encodes its GPU work right after cannot see a copy destroyed in between.
   */
  onGpu(keys: string[]): GpuState[] {
    const gpu = this.gpu;
    if (!gpu) throw new Error('No model is loaded yet. Wait for "Model ready" or load a model.');
    const keep = new Set(keys);
    const got = keys.map((key) => {
      const hit = gpu.resident.get(key);
      if (hit) return hit;
      const host = this.entry(key).state;
      const g = gpu.device.createState();
      gpu.device.writeState(g, host);
      gpu.resident.set(key, g, stateBytes(host), keep);
      return g;
    });
    // A mix of more states than the budget holds overran it; the next call brings it back within.
    gpu.resident.trim(keep);
    return got;
  }

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

  /**
   * The state a run starting from `key` begins with: a copy of its GPU copy, or its host copy while no device
   * is in use. Rejects at once while `key` is not ready.
   */
  async startOf(key: string): Promise<FillState | MambaState> {
    const host = this.entry(key).state;
    if (!this.gpu) return host;
    const { device } = this.gpu;
    return (dst) => device.copyState(dst, this.onGpu([key])[0]!);
  }

  put(key: string, s: StoredState): void {
    this.states.set(key, s);
    // A new state under an old key (its text changed): the GPU copy is stale.
    this.gpu?.resident.delete(key);
  }

  rename(key: string, name: string): void {
    const s = this.states.get(key);
    if (s) s.meta = { ...s.meta, name };
  }

  drop(key: string): void {
    this.states.delete(key);
    this.gpu?.resident.delete(key);
  }

  /** The state of `text` read from zero: kept from an earlier call, or computed by `read` and kept. */
  async textState(text: string, read: () => Promise<MambaState>): Promise<MambaState> {
    const hit = this.texts.get(text);
    if (hit) return hit;
    const s = await read();
    this.texts.set(text, s);
    this.textBytes += stateBytes(s);
    while (
      this.texts.size > TEXT_STATES_KEPT ||
      (this.texts.size > 1 && this.textBytes > this.textBudgetBytes)
    ) {
      const [oldest, state] = this.texts.entries().next().value!;
      this.texts.delete(oldest);
      this.textBytes -= stateBytes(state);
    }
    return s;
  }

  /** Forgets everything (a new model is loading: the states belong to the old weights). */
  clear(): void {
    this.states.clear();
    this.texts.clear();
    this.textBytes = 0;
    this.useGpu(undefined);
  }

  private entry(key: string): StoredState {
    const s = this.states.get(key);
    if (!s)
      throw new Error(`That state is not ready yet: it is still being computed, or computing it failed.`);
    return s;
  }
}
