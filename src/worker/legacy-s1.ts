/**
 * RETIRED: the worker's first weights fingerprint ("s1-"), kept only so states saved with it are recognised and
 * re-tagged with the one weights hash (src/engine/states/hash.ts, "w2-") instead of being dropped. It is
 * recomputed while the model streams in; a stored state tagged with this model's "s1-" value was made with
 * these exact weights, so moving it to the "w2-" tag is safe. Never use it to tag new states.
 */
function mix32(h: number, x: number, k: number) {
  h = Math.imul(h ^ x, k);
  return (h << 13) | (h >>> 19);
}

export class LegacyS1Fingerprint {
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
