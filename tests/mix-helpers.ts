/** Shared by the mixing and state tests: deterministic random states and a bitwise view of a state. */
import type { MambaState } from '../src/engine/weights.ts';
import { layerStateSizes, type StateShape } from '../src/engine/states/types.ts';

/** A state of random values (either family, sized by the shape) with some exact and negative zeros, so sign-of-zero bugs show. */
export function randomState(shape: StateShape, seed: number): MambaState {
  let x = seed >>> 0 || 1;
  const rnd = () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    const u = (x >>> 0) / 2 ** 32;
    return u < 0.05 ? -0 : u < 0.1 ? 0 : (u - 0.5) * 8;
  };
  const fill = (n: number) => Float32Array.from({ length: n }, rnd);
  const n = layerStateSizes(shape);
  return {
    layers: Array.from({ length: shape.layers }, () => ({
      ssm: fill(n.ssm),
      conv: fill(n.conv),
      dtSum: fill(n.dtSum).map(Math.abs),
    })),
  };
}

/** Every tensor of a state as raw bits, so toEqual compares bit for bit (−0 ≠ +0, NaN payloads). */
export function bits(s: MambaState): Uint32Array[] {
  return s.layers.flatMap((l) =>
    [l.ssm, l.conv, l.dtSum].map((a) => new Uint32Array(a.buffer, a.byteOffset, a.length)),
  );
}
