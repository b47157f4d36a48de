/**
 * Where each weight goes on the GPU. The big matrices (embedding, LM head, in/x/out_proj) become row-split
 * WeightMatrix parts in the engine's dtype; each layer's small tensors are packed into one f32 parameter
 * buffer at the offsets of kernels/layout.ts; norm_f has a buffer of its own.
 *
 * Precision: with dtype 'f16' the large matrices (embedding / LM head, in_proj, x_proj, out_proj) are packed
 * two per u32; the small per-channel tensors (norms, conv, dt_proj, A, D, biases) stay f32, as do
 * activations, the residual stream and states. With dtype 'int8' the matrices matrixDtype picks are quantised
 * here, on the host, with their scales in the same part buffer (src/engine/gpu/int8.ts); the others are f16.
 */
import { mamba1Tensor, type Mamba1LayerField } from '../model/architectures/mamba1.ts';
import type { MambaConfig } from '../model/config.ts';
import type { WeightDtype } from './api.ts';
import { DEFAULT_INT8, matrixDtype, type Int8Choice, type MatrixRole } from './decisions.ts';
import { generatedMatrix, uploadMatrix, type RowPart, type WeightMatrix } from './gpu/weightMatrix.ts';
import { layerParamLayout, layerStateLayout, type LayerParamLayout } from './kernels/layout.ts';
import {
  allocSmallTensorBuffers,
  matrixKeyOf,
  writeSmallTensor,
  type Alloc,
  type SmallTensorBuffers,
} from './smallTensors.ts';

export { writeArray } from './smallTensors.ts';

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

export class GpuWeights implements SmallTensorBuffers {
  readonly pl: LayerParamLayout;
  /** Big matrices by engine key: 'embedding', 'lm_head', 'layer<l>.in_proj' / '.x_proj' / '.out_proj'. */
  readonly matrices = new Map<string, WeightMatrix>();
  readonly layerParams: GPUBuffer[];
  /** Each layer's working state (kernels/layout.ts layerStateLayout), allocated beside its parameters. */
  readonly work: GPUBuffer[];
  readonly normF: GPUBuffer;

  constructor(
    private readonly device: GPUDevice,
    private readonly config: MambaConfig,
    private readonly dtype: WeightDtype,
    private readonly maxBinding: number,
    private readonly alloc: Alloc,
    private readonly track: (b: GPUBuffer) => void,
    private readonly int8: Int8Choice = DEFAULT_INT8,
  ) {
    this.pl = layerParamLayout(config);
    const buffers = allocSmallTensorBuffers(alloc, config, this.pl.total, layerStateLayout(config).total);
    this.layerParams = buffers.layerParams;
    this.work = buffers.work;
    this.normF = buffers.normF;
  }

  /** The engine key of a big matrix by its Hugging Face name, or undefined for every other tensor. */
  static matrixKey(name: string): string | undefined {
    return matrixKeyOf(mamba1Tensor(name), MATRIX_KEYS);
  }

  /** How matrix `key` is held, and its int8 group size (0 for other dtypes). */
  private formatOf(key: string): { dtype: WeightDtype; group: number } {
    const dtype = matrixDtype(key.split('.').pop() as MatrixRole, this.dtype, this.int8);
    return { dtype, group: dtype === 'int8' ? this.int8.group : 0 };
  }

  /** Writes tensor `name` (already checked against `shape`) where the kernels read it. */
  place(name: string, data: Float32Array, shape: number[]): void {
    const key = GpuWeights.matrixKey(name);
    if (key) {
      const { dtype, group } = this.formatOf(key);
      const m = uploadMatrix(
        this.device,
        key,
        data,
        shape[0]!,
        shape[1]!,
        dtype,
        this.maxBinding,
        this.track,
        group,
      );
      this.matrices.set(key, m);
      return;
    }
    const t = mamba1Tensor(name);
    if (!t) return;
    // The scan needs A = −exp(A_log); computing it once here saves an exp per state element per token.
    const values = t.spec.kind === 'A_log' ? data.map((v) => -Math.exp(v)) : data;
    writeSmallTensor(this.device.queue, this, t, values, PARAM_SLOTS, this.pl);
  }

  /**
   * Creates the row parts of big matrix `name` ([rows, cols]) by the same planning as place() and lets `fill`
   * write each part on the GPU, in the matrix's dtype and packing (int8: with `group`, int8.ts's layout).
   */
  generate(
    name: string,
    rows: number,
    cols: number,
    fill: (part: RowPart, cols: number, dtype: WeightDtype, group: number) => void,
  ): void {
    const key = GpuWeights.matrixKey(name);
    if (!key) throw new RangeError(`"${name}" is not a weight matrix; use uploadTensor for it.`);
    const { dtype, group } = this.formatOf(key);
    const m = generatedMatrix(this.alloc, key, rows, cols, dtype, this.maxBinding, fill, group);
    this.matrices.set(key, m);
  }
}
