/**
 * What both families' weight placement (placement.ts, mamba2/placement.ts) does alike apart from the big
 * matrices: one f32 parameter buffer and one working-state buffer per layer and a buffer for norm_f, the
 * engine keys of the big matrices, and where a small tensor is written. The layouts stay each family's own.
 */
import type { TensorKind } from '../model/architectures/types.ts';

export type Alloc = (label: string, bytes: number, usage: number) => GPUBuffer;

/** queue.writeBuffer for any typed array (host arrays may view a SharedArrayBuffer in the typings). */
export function writeArray(q: GPUQueue, buffer: GPUBuffer, byteOffset: number, data: ArrayBufferView): void {
  q.writeBuffer(buffer, byteOffset, data.buffer as ArrayBuffer, data.byteOffset, data.byteLength);
}

/** The buffers of the small tensors and of the working state. */
export interface SmallTensorBuffers {
  /** Each layer's small tensors, at the offsets of the family's parameter layout. */
  readonly layerParams: GPUBuffer[];
  /** Each layer's working state, allocated beside its parameters. */
  readonly work: GPUBuffer[];
  readonly normF: GPUBuffer;
}

/** Allocates a model's SmallTensorBuffers: each layer's parameters and state (f32 elements), and norm_f. */
export function allocSmallTensorBuffers(
  alloc: Alloc,
  { numLayers, hiddenSize }: { numLayers: number; hiddenSize: number },
  paramFloats: number,
  stateFloats: number,
): SmallTensorBuffers {
  const S = GPUBufferUsage.STORAGE;
  const CD = GPUBufferUsage.COPY_DST;
  const CS = GPUBufferUsage.COPY_SRC;
  const layerParams: GPUBuffer[] = [];
  const work: GPUBuffer[] = [];
  for (let l = 0; l < numLayers; l++) {
    layerParams.push(alloc(`layer${l}.params`, paramFloats * 4, S | CD));
    work.push(alloc(`layer${l}.state`, stateFloats * 4, S | CD | CS));
  }
  return { layerParams, work, normF: alloc('norm_f', hiddenSize * 4, S | CD) };
}

/** What placement needs of a tensor looked up in a family's table (types.ts NamedTensorSpec). */
interface FoundTensor<F extends string> {
  layer?: number;
  spec: { kind: TensorKind; field: F };
}

/**
 * The engine key of a big matrix: 'embedding', 'lm_head', or 'layer<l>.<key>' with the key `layerKeys`
 * gives the layer matrix's field; undefined for every other tensor.
 */
export function matrixKeyOf<F extends string>(
  t: FoundTensor<F> | undefined,
  layerKeys: Partial<Record<NoInfer<F>, string>>,
): string | undefined {
  if (t?.spec.kind === 'embedding') return 'embedding';
  if (t?.spec.kind === 'lmHead') return 'lm_head';
  if (t?.spec.kind !== 'matrix') return undefined;
  return `layer${t.layer}.${layerKeys[t.spec.field]}`;
}

/**
 * Writes a tensor that is not a big matrix where the kernels read it: norm_f into its buffer, a layer's small
 * tensor into that layer's parameter buffer at `layout[slots[field]]` (f32 elements); one with no slot, and
 * any other global, goes nowhere.
 */
export function writeSmallTensor<F extends string, K extends string>(
  q: GPUQueue,
  buffers: SmallTensorBuffers,
  t: FoundTensor<F>,
  data: Float32Array,
  slots: Partial<Record<NoInfer<F>, K>>,
  layout: Record<K, number>,
): void {
  if (t.layer === undefined) {
    if (t.spec.field === 'normF') writeArray(q, buffers.normF, 0, data);
    return;
  }
  const slot = slots[t.spec.field];
  if (slot !== undefined) writeArray(q, buffers.layerParams[t.layer]!, layout[slot] * 4, data);
}
