/**
 * The run loop of MambaEngine.continueMany on the batched plan (plan/batch.ts for Mamba-1, mamba2/batch.ts for
 * Mamba-2; the same BatchPlan): up to `slots` queries at a time, each continued greedily from its state in its
 * own slot.
 *
 * 1. Fill: each slot gets a copy of its query's state (through the working state, by the same copy that
 *    prefill uses, so the layouts agree).
 * 2. Prefill: the queries are packed into chunks of up to chunkSize tokens, one segment per query (a query
 *    that does not fit is cut and continues in the next chunk from its slot). After each chunk, norm_f runs
 *    on it and the last normed row of every query that ended there is copied to row `slot` of `gathered`.
 *    Then the head runs on the gathered rows as a GEMM of B rows and argmax_rows picks B first tokens.
 * 3. Decode: each step is one chunk of B one-token segments (token b in slot b): every layer's GEMMs run on
 *    B rows, so the weights are read once per step for all B sequences instead of once per sequence. The
 *    argmax writes the next inputs in place; only B ids are read back. As in generate(), the next step is
 *    submitted before this one's ids are read. Finished sequences keep running until the whole group stops
 *    (their extra tokens are dropped): compacting the batch would save little at these sizes.
 * Results equal per-query generate() up to floating-point order: decode here runs the GEMM kernels on B rows
 * where generate() runs GEMVs on one, and Mamba-2's prefill scans token by token where generate()'s runs the
 * chunked SSD (tests/engine.batch.test.ts, tests/engine.mamba2-batch.test.ts check greedy ids and logits).
 */
import type { DispatchPlan } from './plan/assemble.ts';
import { segWords, type BatchPlan } from './plan/batch.ts';
import type { ContinueManyOptions, GpuState } from './api.ts';
import { abortError, stagingBuffer } from './calls.ts';
import { encodeDispatches } from './kernels/pipelines.ts';
import { writeArray } from './placement.ts';

export interface BatchRunParts {
  device: GPUDevice;
  plan: DispatchPlan;
  batch: BatchPlan;
  /** The engine's per-layer working state, and the copy of a caller's state into it. */
  work: readonly GPUBuffer[];
  toWork: (enc: GPUCommandEncoder, state: GpuState) => void;
  act: { tokens: GPUBuffer; dims: GPUBuffer; normed: GPUBuffer; logits: GPUBuffer };
  vocabSize: number;
  hiddenSize: number;
  chunkSize: number;
}

export interface BatchRunOptions {
  maxNewTokens: number;
  stopTokens?: number[];
  signal?: AbortSignal;
  /**
   * For tests: each step's logits [queries, vocab] (step 0: after the query), read back as well (slow). The
   * engine's contract never reads logits in continueMany.
   */
  onLogits?: (step: number, logits: Float32Array) => void;
}

interface Segment {
  start: number;
  slot: number;
  len: number;
  /** Where in its query the segment begins. */
  from: number;
  /** The query's last token is in this segment. */
  last: boolean;
}

/** Cuts queries (as slots 0..n−1) into chunks of at most `chunk` tokens, in query order. */
export function packChunks(lengths: readonly number[], chunk: number): Segment[][] {
  const chunks: Segment[][] = [];
  let cur: Segment[] = [];
  let used = 0;
  lengths.forEach((n, slot) => {
    let done = 0;
    while (done < n) {
      if (used === chunk) {
        chunks.push(cur);
        cur = [];
        used = 0;
      }
      const len = Math.min(n - done, chunk - used);
      cur.push({ start: used, slot, len, from: done, last: done + len === n });
      used += len;
      done += len;
    }
  });
  if (cur.length > 0) chunks.push(cur);
  return chunks;
}

function segTable(segs: readonly Segment[], total: number): Uint32Array {
  const w = new Uint32Array(segWords(segs.length));
  w[0] = segs.length;
  segs.forEach((s, i) => {
    w[1 + 2 * i] = s.start;
    w[2 + 2 * i] = s.slot;
  });
  w[1 + 2 * segs.length] = total;
  return w;
}

/**
 * Continues `queries` (checked ids, at most `batch.slots` of them) greedily, query b from `states[b]` (or
 * all from one state); returns each query's new ids, cut after its first stop token.
 */
export async function runBatch(
  p: BatchRunParts,
  states: GpuState | readonly GpuState[],
  queries: readonly Uint32Array[],
  opts: BatchRunOptions,
): Promise<number[][]> {
  const n = queries.length;
  const { device, plan, batch } = p;
  const q = device.queue;
  const out: number[][] = queries.map(() => []);
  if (n === 0 || opts.maxNewTokens <= 0) return out;
  if (n > batch.slots) throw new RangeError(`runBatch: ${n} queries for ${batch.slots} slots.`);
  const slotBytes = batch.stride * 4;
  const dmBytes = p.hiddenSize * 4;

  // 1. Fill the slots.
  const fill = device.createCommandEncoder({ label: 'batch fill' });
  const shared = !Array.isArray(states);
  for (let b = 0; b < n; b++) {
    if (b === 0 || !shared) p.toWork(fill, shared ? (states as GpuState) : states[b]!);
    p.work.forEach((w, l) => fill.copyBufferToBuffer(w, 0, batch.slotBuffers[l]!, b * slotBytes, slotBytes));
  }
  q.submit([fill.finish()]);

  // 2. Prefill, chunk by chunk.
  for (const segs of packChunks(
    queries.map((x) => x.length),
    p.chunkSize,
  )) {
    if (opts.signal?.aborted) throw abortError();
    const len = segs.reduce((s, x) => s + x.len, 0);
    const ids = new Uint32Array(len);
    for (const s of segs) {
      ids.set(queries[s.slot]!.subarray(s.from, s.from + s.len), s.start);
    }
    writeArray(q, p.act.tokens, 0, ids);
    q.writeBuffer(p.act.dims, 0, new Uint32Array([len, 0, 0, 0]));
    writeArray(q, batch.segs, 0, segTable(segs, len));
    const enc = device.createCommandEncoder({ label: 'batch prefill' });
    const pass = enc.beginComputePass({ label: 'layers' });
    encodeDispatches(pass, batch.body, len);
    if (segs.some((s) => s.last)) encodeDispatches(pass, plan.normF, len);
    pass.end();
    for (const s of segs) {
      if (!s.last) continue;
      enc.copyBufferToBuffer(
        p.act.normed,
        (s.start + s.len - 1) * dmBytes,
        batch.gathered,
        s.slot * dmBytes,
        dmBytes,
      );
    }
    q.submit([enc.finish()]);
  }

  // 3. The head on the gathered rows, then decode steps of n one-token segments.
  const reads = [stagingBuffer(device, n * 4), stagingBuffer(device, n * 4)];
  const identity = segTable(
    Array.from({ length: n }, (_, b) => ({ start: b, slot: b, len: 1, from: 0, last: true })),
    n,
  );
  const logitBytes = n * p.vocabSize * 4;
  const logitReads: GPUBuffer[] = [];
  const headAndArgmax = (enc: GPUCommandEncoder, read: GPUBuffer) => {
    const pass = enc.beginComputePass({ label: 'lm_head + argmax' });
    encodeDispatches(pass, plan.headAll, n);
    encodeDispatches(pass, batch.argmax, n);
    pass.end();
    enc.copyBufferToBuffer(batch.out, 0, read, 0, n * 4);
    if (opts.onLogits) {
      const l = stagingBuffer(device, logitBytes);
      enc.copyBufferToBuffer(p.act.logits, 0, l, 0, logitBytes);
      logitReads.push(l);
    }
  };
  const submitStep = (read: GPUBuffer) => {
    const enc = device.createCommandEncoder({ label: 'batch decode' });
    const pass = enc.beginComputePass({ label: 'layers + norm_f' });
    encodeDispatches(pass, batch.body, n);
    encodeDispatches(pass, plan.normF, n);
    pass.end();
    headAndArgmax(enc, read);
    q.submit([enc.finish()]);
  };
  try {
    q.writeBuffer(p.act.dims, 0, new Uint32Array([n, 0, 0, 0]));
    const first = device.createCommandEncoder({ label: 'batch head' });
    first.copyBufferToBuffer(batch.gathered, 0, p.act.normed, 0, n * dmBytes);
    headAndArgmax(first, reads[0]!);
    q.submit([first.finish()]);
    writeArray(q, batch.segs, 0, identity);
    const stops = new Set(opts.stopTokens ?? []);
    const live = new Set(queries.map((_, b) => b));
    for (let i = 0; i < opts.maxNewTokens && live.size > 0; i++) {
      const read = reads[i % 2]!;
      if (i + 1 < opts.maxNewTokens) submitStep(reads[(i + 1) % 2]!);
      await read.mapAsync(GPUMapMode.READ, 0, n * 4);
      const ids = new Uint32Array(read.getMappedRange(0, n * 4).slice(0));
      read.unmap();
      if (opts.onLogits) {
        const l = logitReads[i]!;
        await l.mapAsync(GPUMapMode.READ, 0, logitBytes);
        opts.onLogits(i, new Float32Array(l.getMappedRange(0, logitBytes).slice(0)));
        l.unmap();
      }
      for (const b of [...live]) {
        const id = ids[b]!;
        out[b]!.push(id);
        if (stops.has(id)) live.delete(b);
      }
      if (opts.signal?.aborted) throw abortError();
    }
    await q.onSubmittedWorkDone();
    return out;
  } finally {
    for (const r of [...reads, ...logitReads]) r.destroy();
  }
}

/**
 * continueMany where the engine has no batch capacity (batchSlots in decisions.ts: fewer than two states fit
 * the slots' memory budget, as with Mamba-2 at 2.7b size) or was told not to batch (EngineOptions.batched):
 * each query through generate(), one after another.
 */
export async function continueOneByOne(
  generate: (state: GpuState, prompt: Uint32Array, o: BatchRunOptions) => Promise<number[]>,
  states: GpuState | readonly GpuState[],
  queries: readonly Uint32Array[],
  opts: BatchRunOptions & { onProgress?: (p: { done: number; total: number }) => void },
): Promise<number[][]> {
  const out: number[][] = [];
  for (const [b, query] of queries.entries()) {
    const state = Array.isArray(states) ? (states[b] as GpuState) : (states as GpuState);
    out.push(opts.maxNewTokens > 0 ? await generate(state, query, opts) : []);
    opts.onProgress?.({ done: b + 1, total: queries.length });
  }
  return out;
}

/** What continueInGroups needs of the engine. */
export interface BatchHost {
  check: (query: ArrayLike<number>) => Uint32Array;
  /** Queries per batched pass; 0 where no batch fits or the engine does not batch (the queries then run one by one). */
  capacity: number;
  generate: (state: GpuState, prompt: Uint32Array, o: BatchRunOptions) => Promise<number[]>;
  /** Runs one group through runBatch, exclusively. */
  runGroup: (
    states: GpuState | readonly GpuState[],
    group: Uint32Array[],
    o: BatchRunOptions,
  ) => Promise<number[][]>;
}

/**
 * MambaEngine.continueMany: checks the input, then runs the queries in groups of `batchSize` (at most the
 * engine's capacity), each group one batched pass, or one by one where the capacity is 0.
 */
export async function continueInGroups(
  state: GpuState | readonly GpuState[],
  queries: readonly ArrayLike<number>[],
  options: ContinueManyOptions & Pick<BatchRunOptions, 'onLogits'>,
  host: BatchHost,
): Promise<number[][]> {
  if (Array.isArray(state) && state.length !== queries.length) {
    throw new RangeError(`continueMany: ${state.length} states for ${queries.length} queries.`);
  }
  const ids = queries.map((q, i) => {
    const x = host.check(q);
    if (x.length === 0)
      throw new RangeError(`continueMany: query ${i} is empty; give it at least one token.`);
    return x;
  });
  const { signal, onProgress, onLogits } = options;
  const run: BatchRunOptions = {
    maxNewTokens: options.maxNewTokens,
    stopTokens: options.stopTokens ?? [],
    ...(signal ? { signal } : {}),
  };
  if (host.capacity === 0) {
    return continueOneByOne(host.generate, state, ids, { ...run, ...(onProgress ? { onProgress } : {}) });
  }
  const size = Math.max(1, Math.min(options.batchSize ?? host.capacity, host.capacity));
  const out: number[][] = [];
  for (let g = 0; g < ids.length; g += size) {
    const group = ids.slice(g, g + size);
    const states = Array.isArray(state) ? state.slice(g, g + size) : (state as GpuState);
    out.push(...(await host.runGroup(states, group, { ...run, ...(onLogits ? { onLogits } : {}) })));
    onProgress?.({ done: out.length, total: ids.length });
  }
  return out;
}
