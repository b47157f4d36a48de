/**
 * The host side of the GPU sampler (shaders/sample.wgsl): its parameter uniform, its seed, and the report it
 * writes (the id, then optionally its probability and the top alternatives).
 */
import type { SamplingOptions, TokenReport } from './api.ts';

/** The sampler's 16-byte parameter block and how many alternatives it reports (0 to 16). */
export function samplerParams(options: SamplingOptions & { reportTop?: number }): {
  params: ArrayBuffer;
  report: number;
} {
  const report = Math.max(0, Math.min(16, Math.floor(options.reportTop ?? 0)));
  const temperature = options.temperature ?? 0;
  const sp = new ArrayBuffer(16);
  new Float32Array(sp, 0, 1)[0] = temperature > 0 ? temperature : 0;
  new Uint32Array(sp, 4, 1)[0] = Math.max(0, Math.floor(options.topK ?? 0));
  new Float32Array(sp, 8, 1)[0] = options.topP ?? 1;
  new Uint32Array(sp, 12, 1)[0] = report;
  return { params: sp, report };
}

/** Bytes to read back per token: the id alone, or the id, its probability, a count and `report` pairs. */
export function reportBytes(report: number): number {
  return report > 0 ? (3 + 2 * report) * 4 : 4;
}

/** The sampled id and, when alternatives were asked for, the report. */
export function readReport(words: Uint32Array, report: number): { id: number; info?: TokenReport } {
  const id = words[0]!;
  if (report === 0) return { id };
  const f = new Float32Array(words.buffer, words.byteOffset, words.length);
  const alternatives = [];
  for (let j = 0; j < words[2]!; j++) alternatives.push({ id: words[3 + 2 * j]!, prob: f[4 + 2 * j]! });
  return { id, info: { prob: f[1]!, alternatives } };
}

/** The sampler's initial PCG state: from the seed when given (same seed, same tokens), else random. */
export function seedWord(seed: number | undefined): number {
  const s = seed === undefined ? Math.floor(Math.random() * 0x100000000) : Math.floor(seed);
  // SplitMix-style scramble so nearby seeds start far apart.
  let z = (s + 0x9e3779b9) >>> 0;
  z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
  z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
  return (z ^ (z >>> 16)) >>> 0;
}
