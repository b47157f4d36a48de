/**
 * Capture: the state of the model after it reads a text, from the zero state or continued from another
 * state, with the metadata a stored state carries. Long texts report progress and can be cancelled: both are
 * the engine's chunked prefill (RunOptions); a cancelled capture leaves no state behind.
 */
import type { GpuState, MambaEngine, RunOptions } from '../api.ts';
import { checkBelongsTo } from './mix.ts';
import { newStateId, shapeOfConfig, StateMismatchError, type StateMeta, type StoredState } from './types.ts';

export interface CaptureRequest extends RunOptions {
  name: string;
  text: string;
  /** The text's token ids (the caller's tokenizer; a BOS is the caller's choice). */
  tokenIds: number[];
  /** The loaded model's id and hashModelWeights(weights). */
  modelId: string;
  weightsHash: string;
  taskLabel?: string;
  /** Continue from this state instead of zero. */
  from?: StoredState;
}

export async function captureState(engine: MambaEngine, req: CaptureRequest): Promise<StoredState> {
  if (req.tokenIds.length === 0)
    throw new StateMismatchError('The text has no tokens; type some text to capture a state.');
  const shape = shapeOfConfig(engine.config);
  if (req.from) checkBelongsTo(req.from.meta, req.modelId, req.weightsHash);
  const gpu: GpuState = engine.createState();
  try {
    if (req.from) engine.writeState(gpu, req.from.state);
    const opts: RunOptions & { logits: 'none' } = { logits: 'none' };
    if (req.onProgress) opts.onProgress = req.onProgress;
    if (req.signal) opts.signal = req.signal;
    await engine.prefill(gpu, req.tokenIds, opts);
    const state = await engine.readState(gpu);
    const meta: StateMeta = {
      id: newStateId(),
      name: req.name,
      modelId: req.modelId,
      weightsHash: req.weightsHash,
      shape,
      text: req.text,
      tokenIds: req.tokenIds.slice(),
      tokenCount: req.tokenIds.length,
      createdAt: Date.now(),
    };
    if (req.taskLabel) meta.taskLabel = req.taskLabel;
    if (req.from) meta.origin = `continued from ${req.from.meta.id} (${req.from.meta.name})`;
    return { meta, state };
  } finally {
    gpu.destroy();
  }
}
