/**
 * Where each Mamba-2 weight goes on the GPU. The big matrices (embedding, LM head, in_proj, out_proj) become
 * row-split WeightMatrix parts in the engine's dtype (f16 packed two per u32, as for Mamba-1), read by the
 * same GEMM/GEMV kernels; each layer's small tensors are packed into one f32 parameter buffer at the offsets
 * of `mamba2ParamLayout` (the m2_* kernels take them as override constants); norm_f has a buffer of its own.
 * A_log stays as stored: the Mamba-2 kernels take exp of one value per head.
 */
import { MAMBA2, type Mamba2Field } from '../../model/architectures/mamba2.ts';
import { lookupTensor } from '../../model/architectures/types.ts';
import type { Mamba2Config } from '../../model/mamba2Config.ts';
import type { WeightDtype } from '../api.ts';
import { generatedMatrix, uploadMatrix, type RowPart, type WeightMatrix } from '../gpu/weightMatrix.ts';
import {
  allocSmallTensorBuffers,
  matrixKeyOf,
  writeSmallTensor,
  type Alloc,
  type SmallTensorBuffers,
} from '../smallTensors.ts';
import { mamba2StateLayout } from '../stateIO.ts';

/** Offsets (f32 elements) of a layer's small tensors in its parameter buffer. */
export interface Mamba2ParamLayout {
  norm: number;
  inProjBias: number;
  convWeight: number;
  convBias: number;
  dtBias: number;
  aLog: number;
  d: number;
  gateNorm: number;
  outProjBias: number;
  total: number;
}

type ParamSlot = Exclude<keyof Mamba2ParamLayout, 'total'>;

export function mamba2ParamLayout(c: Mamba2Config): Mamba2ParamLayout {
  let at = 0;
  const take = (n: number) => {
    const o = at;
    at += n;
    return o;
  };
  const H = c.numHeads;
  return {
    norm: take(c.hiddenSize),
    inProjBias: take(c.useBias ? c.inProjSize : 0),
    convWeight: take(c.convDim * c.convKernel),
    convBias: take(c.useConvBias ? c.convDim : 0),
    dtBias: take(H),
    aLog: take(H),
    d: take(H),
    gateNorm: take(c.intermediateSize),
    outProjBias: take(c.useBias ? c.hiddenSize : 0),
    total: Math.max(at, 4),
  };
}

const MATRIX_KEYS: Partial<Record<Mamba2Field, string>> = { inProj: 'in_proj', outProj: 'out_proj' };
const PARAM_SLOTS: Partial<Record<Mamba2Field, ParamSlot>> = {
  norm: 'norm',
  inProjBias: 'inProjBias',
  convWeight: 'convWeight',
  convBias: 'convBias',
  dtBias: 'dtBias',
  aLog: 'aLog',
  d: 'd',
  gateNorm: 'gateNorm',
  outProjBias: 'outProjBias',
};

export class GpuMamba2Weights implements SmallTensorBuffers {
  readonly pl: Mamba2ParamLayout;
  /** Big matrices by engine key: 'embedding', 'lm_head', 'layer<l>.in_proj' / '.out_proj'. */
  readonly matrices = new Map<string, WeightMatrix>();
  readonly layerParams: GPUBuffer[];
  /** Each layer's working state (stateIO.mamba2StateLayout). */
  readonly work: GPUBuffer[];
  readonly normF: GPUBuffer;

  constructor(
    private readonly device: GPUDevice,
    config: Mamba2Config,
    private readonly dtype: WeightDtype,
    private readonly maxBinding: number,
    private readonly alloc: Alloc,
    private readonly track: (b: GPUBuffer) => void,
  ) {
    this.pl = mamba2ParamLayout(config);
    const buffers = allocSmallTensorBuffers(alloc, config, this.pl.total, mamba2StateLayout(config).total);
    this.layerParams = buffers.layerParams;
    this.work = buffers.work;
    this.normF = buffers.normF;
  }

  static matrixKey(name: string): string | undefined {
    return matrixKeyOf(lookupTensor(MAMBA2, name), MATRIX_KEYS);
  }

  place(name: string, data: Float32Array, shape: number[]): void {
    const key = GpuMamba2Weights.matrixKey(name);
    if (key) {
      const [rows, cols] = shape as [number, number];
      const m = uploadMatrix(this.device, key, data, rows, cols, this.dtype, this.maxBinding, this.track);
      this.matrices.set(key, m);
      return;
    }
    const t = lookupTensor(MAMBA2, name);
    if (t) writeSmallTensor(this.device.queue, this, t, data, PARAM_SLOTS, this.pl);
  }

  generate(
    name: string,
    rows: number,
    cols: number,
    fill: (part: RowPart, cols: number, dtype: WeightDtype, group: number) => void,
  ): void {
    const key = GpuMamba2Weights.matrixKey(name);
    if (!key) throw new RangeError(`"${name}" is not a weight matrix; use uploadTensor for it.`);
    this.matrices.set(key, generatedMatrix(this.alloc, key, rows, cols, this.dtype, this.maxBinding, fill));
  }
}
