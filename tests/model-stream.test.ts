/**
 * The streaming safetensors reader on its own: any chunking of the bytes gives the same tensors as the
 * whole-file reader, skipped tensors are never handed on, a header check stops reading before tensor data,
 * and the fast F16/BF16 decoders agree with the reference conversions on every 16-bit pattern. Also the
 * progress meter's speed and time left.
 */
import { describe, expect, it } from 'vitest';
import { streamSafetensors, weightToFloat32 } from '../src/model/stream.ts';
import { SafetensorsFile, decodeToFloat32, f16ToF32, writeSafetensors } from '../src/model/safetensors.ts';
import { ModelFormatError } from '../src/model/errors.ts';
import { RateMeter, formatBytes } from '../src/model/progress.ts';
import { asDtype, fixtureFiles } from './helpers/model-variants.ts';

const bytes = fixtureFiles('tiny-b')['model.safetensors']!;
const whole = new SafetensorsFile(bytes);

function chunked(b: Uint8Array, sizes: number[]): ReadableStream<Uint8Array> {
  let at = 0;
  let i = 0;
  return new ReadableStream({
    pull(c) {
      if (at >= b.byteLength) return c.close();
      const n = sizes[i++ % sizes.length]!;
      c.enqueue(b.slice(at, at + n));
      at += n;
    },
  });
}

async function readAll(source: ReadableStream<Uint8Array> | AsyncIterable<Uint8Array>) {
  const got = new Map<string, Float32Array>();
  await streamSafetensors(source, {
    file: 'x.safetensors',
    onTensor: (t, raw) => void got.set(t.name, weightToFloat32(raw, t.dtype, 'x', t.name)),
  });
  return got;
}

describe('streamSafetensors', () => {
  for (const sizes of [[1], [7, 3], [4093], [bytes.byteLength]]) {
    it(`chunks of ${sizes.join('/')} bytes give the whole-file reader's tensors`, async () => {
      const got = await readAll(chunked(bytes, sizes));
      expect([...got.keys()].sort()).toEqual(whole.names.sort());
      for (const n of whole.names) expect(got.get(n)).toEqual(whole.float32(n));
    });
  }

  it('reads an async iterable (a Node file stream) the same way', async () => {
    async function* gen() {
      for (let i = 0; i < bytes.byteLength; i += 1000) yield bytes.subarray(i, i + 1000);
    }
    const got = await readAll(gen());
    for (const n of whole.names) expect(got.get(n)).toEqual(whole.float32(n));
  });

  it('skips unwanted tensors without handing them on, and still reads to the end', async () => {
    const seen: string[] = [];
    let pulled = 0;
    const source = chunked(bytes, [333]).pipeThrough(
      new TransformStream<Uint8Array, Uint8Array>({
        transform(c, ctl) {
          pulled += c.byteLength;
          ctl.enqueue(c);
        },
      }),
    );
    await streamSafetensors(source, {
      file: 'x',
      want: (t) => t.name.startsWith('backbone.layers.0.'),
      onTensor: (t) => void seen.push(t.name),
    });
    expect(seen.length).toBeGreaterThan(0);
    expect(seen.every((n) => n.startsWith('backbone.layers.0.'))).toBe(true);
    expect(pulled).toBe(bytes.byteLength);
  });

  it('a header check that throws stops before any tensor is read', async () => {
    let tensors = 0;
    const err = await streamSafetensors(chunked(bytes, [4096]), {
      file: 'x',
      onHeader: () => {
        throw new ModelFormatError('no');
      },
      onTensor: () => void tensors++,
    }).catch((e: unknown) => e);
    expect((err as Error).message).toBe('no');
    expect(tensors).toBe(0);
  });

  it('overlapping tensors are refused as corrupt', async () => {
    const b = writeSafetensors({
      a: { dtype: 'F32', shape: [4], data: new Float32Array(4) },
      b: { dtype: 'F32', shape: [4], data: new Float32Array(4) },
    });
    // Point "b" at a's bytes: rewrite its offsets in the JSON header, same length.
    const text = new TextDecoder().decode(b).replace('"data_offsets":[16,32]', '"data_offsets":[8 ,24]');
    const err = await readAll(chunked(new TextEncoder().encode(text), [64])).catch((e: unknown) => e);
    expect((err as Error).message).toBe(
      'x.safetensors: tensor "b" overlaps the tensor before it (data_offsets 8–24); the file is corrupt.',
    );
  });

  it('an empty file', async () => {
    const err = await readAll(chunked(new Uint8Array(0), [1])).catch((e: unknown) => e);
    expect((err as Error).message).toBe(
      'x.safetensors is too short to be a safetensors file (it is empty or cut off).',
    );
  });
});

describe('weight decoders', () => {
  it('F16 by table equals f16ToF32 on all 65536 patterns', () => {
    const halves = new Uint16Array(65536).map((_, i) => i);
    const got = weightToFloat32(new Uint8Array(halves.buffer), 'F16', 'x', 't');
    for (let h = 0; h < 65536; h++) {
      const want = f16ToF32(h);
      if (Number.isNaN(want)) expect(Number.isNaN(got[h]!)).toBe(true);
      else expect(got[h]).toBe(Math.fround(want));
    }
  });

  it('BF16 equals the whole-file decoder on all 65536 patterns', () => {
    const halves = new Uint16Array(65536).map((_, i) => i);
    const raw = new Uint8Array(halves.buffer);
    const got = weightToFloat32(raw, 'BF16', 'x', 't');
    const want = decodeToFloat32(raw, 'BF16');
    for (let h = 0; h < 65536; h++) {
      if (Number.isNaN(want[h]!)) expect(Number.isNaN(got[h]!)).toBe(true);
      else expect(got[h]).toBe(want[h]);
    }
  });

  it('unaligned F32 and F16 bytes decode the same as aligned ones', () => {
    const f16 = asDtype(fixtureFiles('tiny-a'), 'F16')['model.safetensors']!;
    const st = new SafetensorsFile(f16);
    const name = 'backbone.layers.0.mixer.D';
    const raw = st.raw(name);
    const shifted = new Uint8Array(raw.byteLength + 1);
    shifted.set(raw, 1);
    expect(weightToFloat32(shifted.subarray(1), 'F16', 'x', name)).toEqual(st.float32(name));
    const f32 = new Float32Array([1.5, -2.25, 3e-8]);
    const u = new Uint8Array(13);
    u.set(new Uint8Array(f32.buffer), 1);
    expect(weightToFloat32(u.subarray(1), 'F32', 'x', 't')).toEqual(f32);
  });
});

describe('progress figures', () => {
  it('speed over the recent window and time left', () => {
    let now = 0;
    const m = new RateMeter(3000, () => now);
    m.update(0, 10_000_000);
    now = 1000;
    const r1 = m.update(1_000_000, 10_000_000);
    expect(r1.bytesPerSecond).toBeCloseTo(1_000_000, 6);
    expect(r1.secondsLeft).toBeCloseTo(9, 6);
    // After a stall longer than the window, the speed reflects only the recent samples.
    now = 10_000;
    m.update(1_000_000, 10_000_000);
    now = 11_000;
    const r2 = m.update(3_000_000, 10_000_000);
    expect(r2.bytesPerSecond).toBeCloseTo(2_000_000, 6);
    expect(r2.secondsLeft).toBeCloseTo(3.5, 6);
    expect(m.update(3_000_000, undefined).secondsLeft).toBeUndefined();
  });

  it('sizes read as the hub shows them', () => {
    expect(formatBytes(517_000_000)).toBe('517 MB');
    expect(formatBytes(11_100_000_000)).toBe('11 GB');
    expect(formatBytes(1_480_000_000)).toBe('1.5 GB');
    expect(formatBytes(900)).toBe('900 B');
  });
});
