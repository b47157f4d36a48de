/**
 * The run loop of GpuMambaModel's one-sequence calls (model.ts): prefill, score, generate and decodeStep on
 * the engine's working state, through the prebuilt dispatches of its plan. The engine serialises the calls,
 * checks the token ids and hands each one these parts; continueMany's batched loop is batchRun.ts.
 *
 * Prefill, score and generate's prompt run in chunks of `chunkSize` tokens (runChunks), one command buffer per
 * chunk, with progress and cancellation between chunks; each call copies the caller's state into the working
 * state first, and only prefill copies it back (after its last chunk). Decode runs one token per command
 * buffer, the GPU sampler writing the next input id in place.
 */
import type { SharedActivations } from './activations.ts';
import type { GenerateOptions, GpuState, RunOptions, TokenScore } from './api.ts';
import { abortError, stagingBuffer } from './calls.ts';
import { encodeDispatches } from './kernels/pipelines.ts';
import type { DispatchPlan } from './plan/assemble.ts';
import { writeArray } from './placement.ts';
import { readReport, reportBytes, samplerParams, seedWord } from './sampling.ts';

export interface SequenceRunParts {
  device: GPUDevice;
  /** The prebuilt dispatches; undefined before finalize(). */
  plan: DispatchPlan | undefined;
  act: SharedActivations;
  chunkSize: number;
  hiddenSize: number;
  vocabSize: number;
  /** Copies a caller's state into the engine's working state (`toWork`) or back. */
  stateCopy: (enc: GPUCommandEncoder, state: GpuState, toWork: boolean) => void;
}

/**
 * Runs `ids` through the model on the working state, chunk by chunk. `perChunk` adds work at the end of
 * each chunk's command buffer (LM head, NLL, copies); `afterSubmit` runs after each chunk is submitted.
 */
async function runChunks(
  p: SequenceRunParts,
  ids: Uint32Array,
  opts: RunOptions | undefined,
  perChunk: (enc: GPUCommandEncoder, start: number, len: number, last: boolean) => void,
  afterSubmit?: (start: number, len: number) => Promise<void>,
): Promise<void> {
  const plan = p.plan;
  if (!plan) throw new Error('finalize() was not called.');
  const q = p.device.queue;
  const total = ids.length;
  for (let start = 0; start < total; start += p.chunkSize) {
    if (opts?.signal?.aborted) throw abortError();
    const len = Math.min(p.chunkSize, total - start);
    writeArray(q, p.act.tokens, 0, ids.subarray(start, start + len));
    q.writeBuffer(p.act.dims, 0, new Uint32Array([len, start, 0, 0]));
    const enc = p.device.createCommandEncoder({ label: `chunk@${start}` });
    const pass = enc.beginComputePass({ label: 'layers' });
    encodeDispatches(pass, plan.body, len);
    pass.end();
    const last = start + len >= total;
    perChunk(enc, start, len, last);
    q.submit([enc.finish()]);
    if (afterSubmit) await afterSubmit(start, len);
    else if (opts?.onProgress || opts?.signal) await q.onSubmittedWorkDone();
    opts?.onProgress?.({ done: start + len, total });
  }
}

/** norm_f on the chunk, then row `len − 1` of the normed hidden → lastNormed → LM head GEMV → lastLogits. */
function encodeLastLogits(p: SequenceRunParts, enc: GPUCommandEncoder, len: number): void {
  const plan = p.plan!;
  const dm = p.hiddenSize;
  let pass = enc.beginComputePass({ label: 'norm_f' });
  encodeDispatches(pass, plan.normF, len);
  pass.end();
  enc.copyBufferToBuffer(p.act.normed, (len - 1) * dm * 4, p.act.lastNormed, 0, dm * 4);
  pass = enc.beginComputePass({ label: 'lm_head (last)' });
  encodeDispatches(pass, plan.headLast, 1);
  pass.end();
}

/** MambaEngine.prefill on checked `ids`. */
export async function prefill(
  p: SequenceRunParts,
  state: GpuState,
  ids: Uint32Array,
  options?: RunOptions & { logits?: 'none' | 'last' | 'all' },
): Promise<Float32Array | undefined> {
  const mode = options?.logits ?? 'none';
  const V = p.vocabSize;
  if (ids.length === 0) return mode === 'none' ? undefined : new Float32Array(0);
  const q = p.device.queue;
  const enc0 = p.device.createCommandEncoder({ label: 'state→work' });
  p.stateCopy(enc0, state, true);
  q.submit([enc0.finish()]);

  const all = mode === 'all' ? new Float32Array(ids.length * V) : undefined;
  const chunkRead = mode === 'all' ? stagingBuffer(p.device, p.chunkSize * V * 4) : undefined;
  const lastRead = mode === 'last' ? stagingBuffer(p.device, V * 4) : undefined;
  try {
    await runChunks(
      p,
      ids,
      options,
      (enc, _start, len, last) => {
        if (mode === 'all') {
          const pass = enc.beginComputePass({ label: 'norm_f + lm_head' });
          encodeDispatches(pass, p.plan!.normF, len);
          encodeDispatches(pass, p.plan!.headAll, len);
          pass.end();
          enc.copyBufferToBuffer(p.act.logits, 0, chunkRead!, 0, len * V * 4);
        } else if (mode === 'last' && last) {
          encodeLastLogits(p, enc, len);
          enc.copyBufferToBuffer(p.act.lastLogits, 0, lastRead!, 0, V * 4);
        }
        if (last) p.stateCopy(enc, state, false);
      },
      mode === 'all'
        ? async (start, len) => {
            await chunkRead!.mapAsync(GPUMapMode.READ, 0, len * V * 4);
            all!.set(new Float32Array(chunkRead!.getMappedRange(0, len * V * 4)), start * V);
            chunkRead!.unmap();
          }
        : undefined,
    );
    if (lastRead) {
      await lastRead.mapAsync(GPUMapMode.READ);
      return new Float32Array(lastRead.getMappedRange(0, V * 4).slice(0));
    }
    if (mode === 'none') await q.onSubmittedWorkDone();
    return all;
  } finally {
    chunkRead?.destroy();
    lastRead?.destroy();
  }
}

/** MambaEngine.score on checked `ids`. */
export async function score(
  p: SequenceRunParts,
  state: GpuState,
  ids: Uint32Array,
  options?: RunOptions,
): Promise<TokenScore> {
  const n = Math.max(0, ids.length - 1);
  if (n === 0) return { nll: new Float32Array(0), meanNll: NaN, perplexity: NaN };
  const q = p.device.queue;
  const enc0 = p.device.createCommandEncoder({ label: 'state→work' });
  p.stateCopy(enc0, state, true);
  q.submit([enc0.finish()]);
  // The last token has no successor: score only needs tokens[0 .. L−2] through the model.
  const inputs = ids.subarray(0, n);
  const read = stagingBuffer(p.device, n * 4);
  try {
    await runChunks(p, inputs, options, (enc, start, len) => {
      const targets = ids.slice(start + 1, start + 1 + len);
      q.writeBuffer(p.act.targets, 0, targets);
      const pass = enc.beginComputePass({ label: 'norm_f + lm_head + nll' });
      encodeDispatches(pass, p.plan!.normF, len);
      encodeDispatches(pass, p.plan!.headAll, len);
      encodeDispatches(pass, p.plan!.nll, len);
      pass.end();
      enc.copyBufferToBuffer(p.act.nll, 0, read, start * 4, len * 4);
    });
    await read.mapAsync(GPUMapMode.READ);
    const nll = new Float32Array(read.getMappedRange(0, n * 4).slice(0));
    let sum = 0;
    for (const v of nll) sum += v;
    const meanNll = sum / n;
    return { nll, meanNll, perplexity: Math.exp(meanNll) };
  } finally {
    read.destroy();
  }
}

/** MambaEngine.generate on checked `ids` (the prompt). */
export async function generate(
  p: SequenceRunParts,
  state: GpuState,
  ids: Uint32Array,
  options: GenerateOptions,
): Promise<number[]> {
  if (ids.length === 0) {
    throw new RangeError('generate needs at least one prompt token (for example the BOS id).');
  }
  const plan = p.plan!;
  const q = p.device.queue;
  const { params, report } = samplerParams(options);
  q.writeBuffer(p.act.sampleParams, 0, params);
  q.writeBuffer(p.act.rng, 0, new Uint32Array([seedWord(options.seed)]));

  const enc0 = p.device.createCommandEncoder({ label: 'state→work' });
  p.stateCopy(enc0, state, true);
  q.submit([enc0.finish()]);

  const outBytes = reportBytes(report);
  const reads = [stagingBuffer(p.device, outBytes), stagingBuffer(p.device, outBytes)];
  const emitted: number[] = [];
  const stops = new Set(options.stopTokens ?? []);
  const encodeSample = (enc: GPUCommandEncoder, read: GPUBuffer) => {
    const pass = enc.beginComputePass({ label: 'sample' });
    encodeDispatches(pass, plan.sample, 1);
    pass.end();
    enc.copyBufferToBuffer(p.act.sampleOut, 0, read, 0, outBytes);
  };
  const submitDecodeStep = (read: GPUBuffer) => {
    const enc = p.device.createCommandEncoder({ label: 'decode' });
    const pass = enc.beginComputePass({ label: 'decode layers' });
    encodeDispatches(pass, plan.decodeBody, 1);
    encodeDispatches(pass, plan.decodeHead, 1);
    pass.end();
    encodeSample(enc, read);
    q.submit([enc.finish()]);
  };
  try {
    if (options.maxNewTokens <= 0) return emitted;
    await runChunks(p, ids, options, (enc, _s, len, last) => {
      if (!last) return;
      encodeLastLogits(p, enc, len);
      encodeSample(enc, reads[0]!);
    });
    q.writeBuffer(p.act.dims, 0, new Uint32Array([1, 0, 0, 0]));
    // One step stays in flight: token i+1 is encoded and submitted before token i is read back (the
    // sampled id never leaves the GPU between steps); a surplus step after a stop is harmless, since
    // only the working state sees it.
    for (let i = 0; i < options.maxNewTokens; i++) {
      const read = reads[i % 2]!;
      if (i + 1 < options.maxNewTokens) submitDecodeStep(reads[(i + 1) % 2]!);
      await read.mapAsync(GPUMapMode.READ, 0, outBytes);
      const words = new Uint32Array(read.getMappedRange(0, outBytes).slice(0));
      read.unmap();
      const { id, info } = readReport(words, report);
      emitted.push(id);
      if (info) options.onToken?.(id, i, info);
      else options.onToken?.(id, i);
      if (stops.has(id)) break;
      if (options.signal?.aborted) throw abortError();
    }
    await q.onSubmittedWorkDone();
    return emitted;
  } finally {
    for (const r of reads) r.destroy();
  }
}

/** GpuMambaModel.decodeStep on checked `ids` (one token): the next-token logits, `state` updated in place. */
export async function decodeStep(
  p: SequenceRunParts,
  state: GpuState,
  ids: Uint32Array,
): Promise<Float32Array> {
  const plan = p.plan!;
  const q = p.device.queue;
  const V = p.vocabSize;
  const read = stagingBuffer(p.device, V * 4);
  try {
    writeArray(q, p.act.tokens, 0, ids);
    q.writeBuffer(p.act.dims, 0, new Uint32Array([1, 0, 0, 0]));
    const enc = p.device.createCommandEncoder({ label: 'decodeStep' });
    p.stateCopy(enc, state, true);
    const pass = enc.beginComputePass({ label: 'decode layers' });
    encodeDispatches(pass, plan.decodeBody, 1);
    encodeDispatches(pass, plan.decodeHead, 1);
    pass.end();
    p.stateCopy(enc, state, false);
    enc.copyBufferToBuffer(p.act.lastLogits, 0, read, 0, V * 4);
    q.submit([enc.finish()]);
    await read.mapAsync(GPUMapMode.READ);
    return new Float32Array(read.getMappedRange(0, V * 4).slice(0));
  } finally {
    read.destroy();
  }
}
