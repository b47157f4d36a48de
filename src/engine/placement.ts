/**
 * Where each weight goes on the GPU. The big matrices (embedding, LM head, in/x/out_proj) become row-split
 * WeightMatrix parts in the engine's dtype; each layer's small tensors are packed into one f32 parameter
 * buffer at the offsets of kernels/layout.ts; norm_f has a buffer of its own.
 *
 * Precision: with dtype 'f16' the large matrices (embedding / LM head, in_proj, x_proj, out_proj) are packed
 * two per u32; the small per-channel tensors (norms, conv, dt_proj, A, D, biases) stay f32, as do
 * activations, the residual stream and states.
 */
import { mamba1Tensor, type Mamba1LayerField } from '../model/architectures/mamba1.ts';
import type { MambaConfig } from '../model/config.ts';
import type { WeightDtype } from './api.ts';
import { generatedMatrix, uploadMatrix, type RowPart, type WeightMatrix } from './gpu/weightMatrix.ts';
import { layerParamLayout, layerStateLayout, type LayerParamLayout } from './kernels/layout.ts';

type Alloc = (label: string, bytes: number, usage: number) => GPUBuffer;

/** The engine keys of a layer's big matrices (labels and plan lookups use them). */
const MATRIX_KEYS: Partial<Record<Mamba1LayerField, string>> = {
  inProj: 'in_proj',
  xProj: 'x_proj',
  outProj: 'out_proj',
};

/** Where each small per-layer tensor goes in the layer's parameter buffer (kernels/layout.ts). */
const PARAM_SLOTS: Partial<Record<Mamba1LayerField, Exclude<keyof LayerParamLayout, 'total'>>> = {
  norm: 'norm',
  inProjBias: 'inProjBias',
  convWeight: 'convWeight',
  convBias: 'convBias',
  dtProj: 'dtProj',
  dtBias: 'dtBias',
  aLog: 'a',
  d: 'd',
  outProjBias: 'outProjBias',
};

/** queue.writeBuffer for any typed array (host arrays may view a SharedArrayBuffer in the typings). */
export function writeArray(q: GPUQueue, buffer: GPUBuffer, byteOffset: number, data: ArrayBufferView): void {
  q.writeBuffer(buffer, byteOffset, data.buffer as ArrayBuffer, data.byteOffset, data.byteLength);
}

export class GpuWeights {
  readonly pl: LayerParamLayout;
  /** Big matrices by engine key: 'embedding', 'lm_head', 'layer<l>.in_proj' / '.x_proj' / '.out_proj'. */
  readonly matrices = new Map<string, WeightMatrix>();
  readonly layerParams: GPUBuffer[] = [];
  /** Each layer's working state (kernels/layout.ts layerStateLayout), allocated beside its parameters. */
  readonly work: GPUBuffer[] = [];
  readonly normF: GPUBuffer;

  constructor(
    private readonly device: GPUDevice,
    private readonly config: MambaConfig,
    private readonly dtype: WeightDtype,
    private readonly maxBinding: number,
    private readonly alloc: Alloc,
    private readonly track: (b: GPUBuffer) => void,
  ) {
    const S = GPUBufferUsage.STORAGE;
    const CD = GPUBufferUsage.COPY_DST;
    const CS = GPUBufferUsage.COPY_SRC;
    this.pl = layerParamLayout(config);
    for (let l = 0; l < config.numLayers; l++) {
      this.layerParams.push(alloc(`layer${l}.params`, this.pl.total * 4, S | CD));
      this.work.push(alloc(`layer${l}.state`, layerStateLayout(config).total * 4, S | CD | CS));
    }
    this.normF = alloc('norm_f', config.hiddenSize * 4, S | CD);
  }

  /** The engine key of a big matrix by its Hugging Face name, or undefined for every other tensor. */
  static matrixKey(name: string): string | undefined {
    const t = mamba1Tensor(name);
    if (t?.spec.kind === 'embedding') return 'embedding';
    if (t?.spec.kind === 'lmHead') return 'lm_head';
    if (t?.spec.kind !== 'matrix') return undefined;
    return `layer${t.layer}.${MATRIX_KEYS[t.spec.field as Mamba1LayerField]}`;
  }

  /** Writes tensor `name` (already checked against `shape`) where the kernels read it. */
  place(name: string, data: Float32Array, shape: number[]): void {
    const q = this.device.queue;
    const key = GpuWeights.matrixKey(name);
    if (key) {
      const m = uploadMatrix(
        this.device,
        key,
        data,
        shape[0]!,
        shape[1]!,
        this.dtype,
        this.maxBinding,
        this.track,
      );
      this.matrices.set(key, m);
      return;
    }
    const t = mamba1Tensor(name);
    if (!t) return;
    if (t.layer === undefined) {
      if (t.spec.field === 'normF') writeArray(q, this.normF, 0, data);
      return;
    }
    const slot = PARAM_SLOTS[t.spec.field as Mamba1LayerField];
    if (slot === undefined) return;
    // The scan needs A = −exp(A_log); computing it once here saves an exp per state element per token.
    const values = t.spec.kind === 'A_log' ? data.map((v) => -Math.exp(v)) : data;
    writeArray(q, this.layerParams[t.layer]!, this.pl[slot] * 4, values);
  }

  /**
   * Creates the row parts of big matrix `name` ([rows, cols]) by the same planning as place() and lets `fill`
   * write each part on the GPU, in this engine's dtype and packing.
   */
  generate(
    name: string,
    rows: number,
    cols: number,
    fill: (part: RowPart, cols: number, dtype: WeightDtype) => void,
  ): void {
    const key = GpuWeights.matrixKey(name);
    if (!key) throw new RangeError(`"${name}" is not a weight matrix; use uploadTensor for it.`);
    this.matrices.set(key, generatedMatrix(this.alloc, key, rows, cols, this.dtype, this.maxBinding, fill));
  }
}
