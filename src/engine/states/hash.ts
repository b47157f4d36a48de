/**
 * A stable fingerprint of a model's weights and config, stored with every state so that states computed with
 * other weights (another checkpoint, a fine-tune, a different revision) are never mixed or loaded silently.
 *
 * Not cryptographic: two 32-bit multiply-xorshift lanes (murmur3-style finalisers) over every f32 word of every
 * tensor in a fixed order, plus the config. It hashes the host f32 values, so the same checkpoint gives the same
 * hash whether its file was F32 or F16 and whether the GPU copy is f32 or f16. Synchronous and about as fast as
 * reading the memory once (≈0.5 s for mamba-130m).
 */
import type { MambaConfig } from '../../model/config.ts';
import type { MambaWeights } from '../weights.ts';

const FORMAT = 'w1';

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
    // Length marks the boundary between tensors, so moving a value from one tensor to the next changes it.
    this.words(Uint32Array.of(f.length));
  }

  text(s: string): void {
    const bytes = new TextEncoder().encode(s);
    const padded = new Uint8Array(Math.ceil(bytes.length / 4) * 4);
    padded.set(bytes);
    this.words(new Uint32Array(padded.buffer));
    this.words(Uint32Array.of(bytes.length));
  }

  hex(): string {
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
    return a.toString(16).padStart(8, '0') + b.toString(16).padStart(8, '0');
  }
}

/** The config fields that change the computation, in a fixed order (JSON key order would not be stable). */
function canonicalConfig(c: MambaConfig): string {
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

/** "w1-" + 16 hex digits; equal weights and config always give the same string. */
export function hashModelWeights(weights: MambaWeights): string {
  const h = new Hash64();
  h.text(canonicalConfig(weights.config));
  h.floats(weights.embedding);
  for (const l of weights.layers) {
    for (const t of [
      l.norm,
      l.inProj,
      l.inProjBias,
      l.convWeight,
      l.convBias,
      l.xProj,
      l.dtProj,
      l.dtBias,
      l.aLog,
      l.d,
      l.outProj,
      l.outProjBias,
    ]) {
      if (t) h.floats(t);
      else h.words(Uint32Array.of(0xffffffff));
    }
  }
  h.floats(weights.normF);
  if (weights.lmHead) h.floats(weights.lmHead);
  return `${FORMAT}-${h.hex()}`;
}
