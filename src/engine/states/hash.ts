/**
 * A stable fingerprint of a model's weights and config, stored with every state so that states computed with
 * other weights (another checkpoint, a fine-tune, a different revision) are never mixed or loaded silently.
 *
 * One hash for every caller: the worker feeds tensors as they stream to the GPU (file order, no host copy of
 * the model), Node code hashes a MambaWeights in memory; both go through WeightsHasher, which hashes each
 * tensor on its own and combines the per-tensor digests sorted by Hugging Face tensor name, so the order the
 * tensors arrive in does not matter and the two give the same string for the same checkpoint.
 *
 * Not cryptographic: two 32-bit multiply-xorshift lanes (murmur3-style finalisers) over every f32 word. It
 * hashes the host f32 values, so the same checkpoint gives the same hash whether its file was F32 or F16 and
 * whether the GPU copy is f32 or f16. About as fast as reading the memory once.
 *
 * "w2-": "w1-" (a fixed-order in-memory hash) and the worker's old "s1-" streaming fingerprint are retired;
 * neither is comparable with this one.
 */
import type { MambaConfig } from '../../model/config.ts';
import { isMamba2Config, type AnyMambaConfig } from '../../model/family.ts';
import type { Mamba2Config } from '../../model/mamba2Config.ts';
import { mamba2NamedTensors, type Mamba2Weights } from '../mamba2Weights.ts';
import { namedTensors, type MambaWeights } from '../weights.ts';

export { namedTensors };

const FORMAT = 'w2';

class Hash64 {
  private a = 0x9e3779b9 | 0;
  private b = 0x85ebca6b | 0;
  private n = 0;

  words(w: Uint32Array): void {
    let a = this.a;
    let b = this.b;
    for (let i = 0; i < w.length; i++) {
      const x = w[i]!;
      a = Math.imul(a ^ x, 0xcc9e2d51);
      a = (a << 15) | (a >>> 17);
      b = Math.imul(b + x, 0x1b873593) ^ (b >>> 13);
    }
    this.a = a;
    this.b = b;
    this.n += w.length;
  }

  floats(f: Float32Array): void {
    // A view shares the bytes; an unaligned view (impossible for Float32Array) would need a copy.
    this.words(new Uint32Array(f.buffer, f.byteOffset, f.length));
    this.words(Uint32Array.of(f.length));
  }

  text(s: string): void {
    const bytes = new TextEncoder().encode(s);
    const padded = new Uint8Array(Math.ceil(bytes.length / 4) * 4);
    padded.set(bytes);
    this.words(new Uint32Array(padded.buffer));
    this.words(Uint32Array.of(bytes.length));
  }

  /** The two finalised lanes. */
  final(): [number, number] {
    const fmix = (h: number) => {
      h ^= h >>> 16;
      h = Math.imul(h, 0x85ebca6b);
      h ^= h >>> 13;
      h = Math.imul(h, 0xc2b2ae35);
      h ^= h >>> 16;
      return h >>> 0;
    };
    const a = fmix(this.a ^ this.n);
    const b = fmix(this.b ^ Math.imul(this.n, 0x27d4eb2f) ^ a);
    return [a, b];
  }
}

/**
 * The config fields that change the computation, in a fixed order (JSON key order would not be stable). Mamba-1's
 * list is the one every stored Mamba-1 state was tagged with, so it must not change; Mamba-2's starts with the
 * family's name, so no Mamba-2 config can hash like a Mamba-1 one.
 */
function canonicalConfig(c: AnyMambaConfig): string {
  return isMamba2Config(c) ? canonicalMamba2Config(c) : canonicalMamba1Config(c);
}

function canonicalMamba1Config(c: MambaConfig): string {
  return JSON.stringify([
    c.vocabSize,
    c.hiddenSize,
    c.numLayers,
    c.stateSize,
    c.convKernel,
    c.intermediateSize,
    c.timeStepRank,
    c.useConvBias,
    c.useBias,
    c.layerNormEpsilon,
    c.tieWordEmbeddings,
  ]);
}

/**
 * Every Mamba2Config field read from config.json that can change the computation or the state's shape, even
 * those transformers 5.17 ignores today (rms_norm) or that change only the summation order (chunk_size): a
 * checkpoint whose config differs in any of them is another model. Non-finite limits are spelled out, since
 * JSON.stringify writes every one of them as null.
 */
function canonicalMamba2Config(c: Mamba2Config): string {
  const limit = c.timeStepLimit.map((v) => (Number.isFinite(v) ? v : String(v)));
  return JSON.stringify([
    'mamba2',
    c.vocabSize,
    c.hiddenSize,
    c.numLayers,
    c.numHeads,
    c.headDim,
    c.nGroups,
    c.stateSize,
    c.expand,
    c.convKernel,
    c.chunkSize,
    c.useConvBias,
    c.useBias,
    c.rmsNorm,
    c.layerNormEpsilon,
    c.residualInFp32,
    limit,
    c.tieWordEmbeddings,
  ]);
}

/**
 * Streaming, order-independent weights hash: `add` each tensor once under its Hugging Face name, in any order,
 * then `digest`. Only the per-tensor digests are kept, so the tensors need not stay in memory.
 */
export class WeightsHasher {
  private readonly tensors = new Map<string, [number, number]>();

  constructor(private readonly config: AnyMambaConfig) {}

  add(name: string, data: Float32Array): void {
    if (this.tensors.has(name)) throw new Error(`Tensor "${name}" was hashed twice.`);
    const h = new Hash64();
    h.floats(data);
    this.tensors.set(name, h.final());
  }

  /** "w2-" + 16 hex digits; equal weights and config always give the same string. */
  digest(): string {
    const h = new Hash64();
    h.text(canonicalConfig(this.config));
    // The name goes in with its digest: moving values from one tensor to another changes the result.
    for (const name of [...this.tensors.keys()].sort()) {
      h.text(name);
      h.words(Uint32Array.from(this.tensors.get(name)!));
    }
    const [a, b] = h.final();
    return `${FORMAT}-${a.toString(16).padStart(8, '0')}${b.toString(16).padStart(8, '0')}`;
  }
}

/** The WeightsHasher digest of weights held in memory, of either family. */
export function hashModelWeights(weights: MambaWeights | Mamba2Weights): string {
  const h = new WeightsHasher(weights.config);
  const named = isMamba2Weights(weights) ? mamba2NamedTensors(weights) : namedTensors(weights);
  for (const [name, t] of named) h.add(name, t);
  return h.digest();
}

function isMamba2Weights(w: MambaWeights | Mamba2Weights): w is Mamba2Weights {
  return isMamba2Config(w.config);
}
