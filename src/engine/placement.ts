/**
 * Where each weight goes on the GPU. The big matrices (embedding, LM head, in/x/out_proj) become row-split
 * WeightMatrix parts in the engine's dtype; each layer's small tensors are packed into one f32 parameter
 * buffer at the offsets of kernels/layout.ts; norm_f has a buffer of its own.
 *
 * Precision: with dtype 'f16' the large matrices (embedding / LM head, in_proj, x_proj, out_proj) are packed
 * two per u32; the small per-channel tensors (norms, conv, dt_proj, A, D, biases) stay f32, as do
 * activations, the residual stream and states.
 */
import type { MambaConfig } from '../model/config.ts';
import type { WeightDtype } from './api.ts';
import { planRowParts, uploadMatrix, type RowPart, type WeightMatrix } from './gpu/weightMatrix.ts';
import { layerParamLayout, layerStateLayout, type LayerParamLayout } from './kernels/layout.ts';

type Alloc = (label: string, bytes: number, usage: number) => GPUBuffer;

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
    if (name === 'backbone.embeddings.weight') return 'embedding';
    if (name === 'lm_head.weight') return 'lm_head';
    const layer = /^backbone\.layers\.(\d+)\.mixer\.(in_proj|x_proj|out_proj)\.weight$/.exec(name);
    return layer ? `layer${layer[1]}.${layer[2]}` : undefined;
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
    if (name === 'backbone.norm_f.weight') return writeArray(q, this.normF, 0, data);
    const m = /^backbone\.layers\.(\d+)\.(.+)$/.exec(name);
    if (!m) return;
    const params = this.layerParams[Number(m[1])]!;
    const pl = this.pl;
    const at = (offset: number, values: Float32Array) => writeArray(q, params, offset * 4, values);
    switch (m[2]!) {
      case 'norm.weight':
        return at(pl.norm, data);
      case 'mixer.in_proj.bias':
        return at(pl.inProjBias, data);
      case 'mixer.conv1d.weight':
        return at(pl.convWeight, data);
      case 'mixer.conv1d.bias':
        return at(pl.convBias, data);
      case 'mixer.dt_proj.weight':
        return at(pl.dtProj, data);
      case 'mixer.dt_proj.bias':
        return at(pl.dtBias, data);
      case 'mixer.A_log':
        // The scan needs A = −exp(A_log); computing it once here saves an exp per state element per token.
        return at(
          pl.a,
          data.map((v) => -Math.exp(v)),
        );
      case 'mixer.D':
        return at(pl.d, data);
      case 'mixer.out_proj.bias':
        return at(pl.outProjBias, data);
      default:
        return;
    }
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
    const parts = planRowParts(rows, cols, this.dtype, this.maxBinding).map((p) => {
      const words = this.dtype === 'f16' ? Math.ceil((p.rows * cols) / 2) : p.rows * cols;
      const buffer = this.alloc(`${key}[${p.row0}..${p.row0 + p.rows})`, words * 4, GPUBufferUsage.STORAGE);
      return { ...p, buffer };
    });
    this.matrices.set(key, { rows, cols, parts });
    for (const part of parts) fill(part, cols, this.dtype);
  }
}
