/**
 * A least-recently-used map bounded by bytes rather than by entries: the worker keeps stored states in GPU
 * buffers with it, and a 2.8b state is ten times a 130m one, so a count would say nothing about memory.
 * Entries that a caller is about to use can be protected from eviction for one insertion, so a mix of more
 * states than the budget holds still gets all of its sources (the map is over budget until the next insertion).
 */
export class ByteLru<V> {
  /** Oldest first: a Map iterates in insertion order, and a use re-inserts. */
  private readonly entries = new Map<string, { value: V; bytes: number }>();
  private used = 0;

  /** `release` is called once for every value that leaves the map (evicted, replaced, deleted, cleared). */
  constructor(
    readonly budgetBytes: number,
    private readonly release: (value: V, key: string) => void,
  ) {
    if (!(budgetBytes >= 0)) throw new RangeError(`A byte budget must be ≥ 0 (got ${budgetBytes}).`);
  }

  get bytes(): number {
    return this.used;
  }

  /** Keys from least to most recently used. */
  keys(): string[] {
    return [...this.entries.keys()];
  }

  has(key: string): boolean {
    return this.entries.has(key);
  }

  /** The value of `key`, marked as just used. */
  get(key: string): V | undefined {
    const e = this.entries.get(key);
    if (!e) return undefined;
    this.entries.delete(key);
    this.entries.set(key, e);
    return e.value;
  }

  /**
   * Adds (or replaces) `key`, then evicts the least recently used entries until the map fits its budget. The
   * new entry and the keys in `keep` are never evicted here.
   */
  set(key: string, value: V, bytes: number, keep: ReadonlySet<string> = new Set()): void {
    this.delete(key);
    this.entries.set(key, { value, bytes });
    this.used += bytes;
    this.trim(new Set([...keep, key]));
  }

  /** Evicts the least recently used entries outside `keep` until the map fits its budget (or only `keep` is left). */
  trim(keep: ReadonlySet<string> = new Set()): void {
    for (const [k, e] of this.entries) {
      if (this.used <= this.budgetBytes) break;
      if (keep.has(k)) continue;
      this.entries.delete(k);
      this.used -= e.bytes;
      this.release(e.value, k);
    }
  }

  delete(key: string): void {
    const e = this.entries.get(key);
    if (!e) return;
    this.entries.delete(key);
    this.used -= e.bytes;
    this.release(e.value, key);
  }

  clear(): void {
    for (const key of this.keys()) this.delete(key);
  }
}
