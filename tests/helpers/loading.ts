/**
 * Test doubles for the loader's two seams that are not the network: a WeightSink that records what it was
 * given (and can fail on demand, as an out-of-memory upload would), and an in-memory Cache with the browser
 * Cache's semantics that matter here (put consumes the body and stores nothing if the body errors; a quota
 * can be imposed).
 */
import type { CacheLike } from '../../src/model/cache.ts';
import type { WeightSink } from '../../src/model/loader.ts';
import type { MambaConfig } from '../../src/model/config.ts';
import { isMamba2Config, type AnyMambaConfig } from '../../src/model/family.ts';
import type { MambaWeights } from '../../src/engine/weights.ts';
import { weightsFromSource } from '../../src/engine/weights.ts';

export class RecordingSink implements WeightSink {
  tensors = new Map<string, Float32Array>();
  order: string[] = [];
  finalized = false;
  destroyed = false;
  constructor(
    readonly config: AnyMambaConfig,
    readonly precision: string,
    private readonly failAt?: { upload: number; error: Error },
  ) {}
  uploadTensor(name: string, data: Float32Array): void {
    if (this.destroyed) throw new Error('upload after destroy');
    if (this.failAt && this.order.length === this.failAt.upload) throw this.failAt.error;
    this.tensors.set(name, data);
    this.order.push(name);
  }
  finalize(): void {
    this.finalized = true;
  }
  destroy(): void {
    this.destroyed = true;
    this.tensors.clear();
  }
  /** The recorded tensors as MambaWeights for the CPU reference. */
  weights(): MambaWeights {
    const config = this.config;
    if (isMamba2Config(config)) throw new Error('weights() rebuilds Mamba-1 weights only.');
    return weightsFromSource(config, {
      has: (n) => this.tensors.has(n),
      shape: (n) => {
        const len = this.tensors.get(n)!.length;
        // Shapes were checked by the loader; reconstruct them from the config's expectations.
        return shapeFor(config, n, len);
      },
      float32: (n) => this.tensors.get(n)!,
    });
  }
}

function shapeFor(config: MambaConfig, name: string, len: number): number[] {
  const dm = config.hiddenSize;
  const di = config.intermediateSize;
  if (name === 'backbone.embeddings.weight' || name === 'lm_head.weight') return [config.vocabSize, dm];
  if (name.endsWith('in_proj.weight')) return [2 * di, dm];
  if (name.endsWith('conv1d.weight')) return [di, 1, config.convKernel];
  if (name.endsWith('x_proj.weight')) return [config.timeStepRank + 2 * config.stateSize, di];
  if (name.endsWith('dt_proj.weight')) return [di, config.timeStepRank];
  if (name.endsWith('A_log')) return [di, config.stateSize];
  if (name.endsWith('out_proj.weight')) return [dm, di];
  return [len];
}

export class MemoryCache implements CacheLike {
  entries = new Map<string, { body: Uint8Array; headers: Headers }>();
  puts = 0;
  constructor(public quotaBytes = Infinity) {}
  async match(url: string): Promise<Response | undefined> {
    const e = this.entries.get(url);
    return e ? new Response(e.body.slice(), { headers: e.headers }) : undefined;
  }
  async put(url: string, response: Response): Promise<void> {
    this.puts++;
    const body = new Uint8Array(await response.arrayBuffer());
    const used = [...this.entries.values()].reduce((a, e) => a + e.body.byteLength, 0);
    if (used + body.byteLength > this.quotaBytes) {
      throw new DOMException('The quota has been exceeded.', 'QuotaExceededError');
    }
    this.entries.set(url, { body, headers: new Headers(response.headers) });
  }
  async delete(url: string): Promise<boolean> {
    return this.entries.delete(url);
  }
  async keys(): Promise<readonly Request[]> {
    return [...this.entries.keys()].map((u) => new Request(u));
  }
}
