/**
 * A fingerprint of a model's weights computed while they stream to the GPU, so states are tagged with the
 * weights they came from without keeping a host copy of the model. The states module's hashModelWeights
 * needs every tensor on the host in a fixed order; the loader delivers tensors in file order and the GPU keeps
 * them, so this one hashes each tensor as it arrives and combines the per-tensor digests sorted by name.
 * Prefixed "s1-" so it is never confused with a "w1-" hash (the two are not comparable).
 */
function mix32(h: number, x: number, k: number) {
  h = Math.imul(h ^ x, k);
  return (h << 13) | (h >>> 19);
}

export class StreamingFingerprint {
  private readonly digests = new Map<string, [number, number]>();

  constructor(private readonly configText: string) {}

  add(name: string, data: Float32Array) {
    const w = new Uint32Array(data.buffer, data.byteOffset, data.length);
    let a = 0x811c9dc5 | 0;
    let b = 0x01000193 | 0;
    for (let i = 0; i < w.length; i++) {
      a = mix32(a, w[i]!, 0xcc9e2d51);
      b = mix32(b, w[i]! + i, 0x1b873593);
    }
    this.digests.set(name, [a ^ w.length, b]);
  }

  hex(): string {
    let a = 0x9e3779b9 | 0;
    let b = 0x85ebca6b | 0;
    const feed = (s: string) => {
      for (let i = 0; i < s.length; i++) {
        a = mix32(a, s.charCodeAt(i), 0xcc9e2d51);
        b = mix32(b, s.charCodeAt(i), 0x1b873593);
      }
    };
    feed(this.configText);
    for (const name of [...this.digests.keys()].sort()) {
      feed(name);
      const [x, y] = this.digests.get(name)!;
      a = mix32(a, x, 0xcc9e2d51);
      b = mix32(b, y, 0x1b873593);
    }
    const h = (n: number) => (n >>> 0).toString(16).padStart(8, '0');
    return `s1-${h(a)}${h(b)}`;
  }
}
