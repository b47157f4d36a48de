/**
 * Property tests of the safetensors header parser (untrusted input: any file a user picks or a server sends).
 * Every input ends in a ModelFormatError or in a header whose every tensor lies inside the file with as many
 * bytes as its dtype and shape need; never a TypeError or RangeError, a hang, or an allocation the file's own
 * size does not justify.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ModelFormatError } from '../src/model/errors.ts';
import { SafetensorsFile, parseSafetensorsHeader, type SafetensorsHeader } from '../src/model/safetensors.ts';
import { streamSafetensors } from '../src/model/stream.ts';
import {
  DTYPES,
  fileFrom,
  headerObject,
  headerSpec,
  mutatedFile,
  mutation,
} from './helpers/safetensors-arbitraries.ts';

/** Runs `fn`; a ModelFormatError is a refusal (undefined), any other exception fails the property. */
function refusedOr<T>(fn: () => T): T | undefined {
  try {
    return fn();
  } catch (e) {
    if (e instanceof ModelFormatError) return undefined;
    throw e;
  }
}

/** What a parsed header promises its readers, checked from first principles. */
function checkHeader(h: SafetensorsHeader, bytes: Uint8Array) {
  const n = Number(new DataView(bytes.buffer, bytes.byteOffset, 8).getBigUint64(0, true));
  expect(h.dataStart).toBe(8 + n);
  expect(h.dataStart).toBeLessThanOrEqual(bytes.length);
  expect(
    Object.getPrototypeOf(h.metadata) === Object.prototype || Object.getPrototypeOf(h.metadata) === null,
  ).toBe(true);
  for (const v of Object.values(h.metadata)) expect(typeof v).toBe('string');
  for (const [name, t] of h.tensors) {
    expect(t.name).toBe(name);
    expect(Object.hasOwn(DTYPES, t.dtype)).toBe(true);
    for (const d of t.shape) expect(Number.isSafeInteger(d) && d >= 0).toBe(true);
    expect(Number.isSafeInteger(t.begin) && Number.isSafeInteger(t.end) && t.begin <= t.end).toBe(true);
    const count = t.shape.reduce((a, b) => a * b, 1);
    expect(t.end - t.begin).toBe(count * DTYPES[t.dtype]);
    expect(h.dataStart + t.end).toBeLessThanOrEqual(bytes.length);
  }
}

/** Reads every tensor of a file the parser accepted, as the loaders do. */
function readAll(bytes: Uint8Array) {
  const f = refusedOr(() => new SafetensorsFile(bytes, 'x.safetensors'));
  if (!f) return;
  checkHeader(f.header, bytes);
  for (const name of f.names) {
    const t = f.info(name);
    expect(f.raw(name).length).toBe(t.end - t.begin);
    const count = t.shape.reduce((a, b) => a * b, 1);
    const float = ['F32', 'F16', 'BF16', 'F64'].includes(t.dtype);
    const values = refusedOr(() => (float ? f.float32(name) : f.int32(name)));
    if (t.dtype !== 'BOOL') expect(values?.length).toBe(count);
  }
}

const RUNS = 2000;

describe('safetensors header: any bytes end in a ModelFormatError or a sound header', () => {
  it('random bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), (bytes) => {
        const h = refusedOr(() => parseSafetensorsHeader(bytes, 'x', bytes.length));
        if (h) checkHeader(h, bytes);
        readAll(bytes);
      }),
      { numRuns: RUNS },
    );
  });

  it('a random JSON value as the header', () => {
    fc.assert(
      fc.property(fc.jsonValue({ maxDepth: 3 }), fc.uint8Array({ maxLength: 64 }), (value, data) => {
        readAll(fileFrom(JSON.stringify(value) ?? '', data));
      }),
      { numRuns: RUNS },
    );
  });

  it('valid files are read back exactly', () => {
    fc.assert(
      fc.property(headerSpec, (spec) => {
        const bytes = mutatedFile(spec, { kind: 'none' }, (n) => Uint8Array.from({ length: n }, (_, i) => i));
        const f = new SafetensorsFile(bytes);
        checkHeader(f.header, bytes);
        expect(f.names.sort()).toEqual(spec.tensors.map((t) => t.name).sort());
        for (const t of spec.tensors) expect(f.info(t.name).shape).toEqual(t.shape);
        expect(f.metadata).toEqual(spec.metadata ?? {});
      }),
      { numRuns: RUNS },
    );
  });

  it('valid files with one field, the length prefix or the bytes mutated', () => {
    fc.assert(
      fc.property(headerSpec, mutation, (spec, m) => {
        const bytes = mutatedFile(spec, m);
        const h = refusedOr(() => parseSafetensorsHeader(bytes, 'x', bytes.length));
        if (h) checkHeader(h, bytes);
        readAll(bytes);
      }),
      { numRuns: RUNS },
    );
  });

  it('the streaming reader agrees with the whole-file reader in any chunking', async () => {
    await fc.assert(
      fc.asyncProperty(headerSpec, mutation, fc.integer({ min: 1, max: 64 }), async (spec, m, chunk) => {
        const bytes = mutatedFile(spec, m, (n) => Uint8Array.from({ length: n }, (_, i) => (i * 7) & 255));
        const whole = refusedOr(() => new SafetensorsFile(bytes));
        async function* chunks() {
          for (let i = 0; i < bytes.length; i += chunk) yield bytes.slice(i, i + chunk);
        }
        const seen = new Map<string, Uint8Array>();
        let streamed: SafetensorsHeader | undefined;
        try {
          streamed = await streamSafetensors(chunks(), {
            file: 'x',
            fileSize: bytes.length,
            onTensor: (t, b) => void seen.set(t.name, b),
          });
        } catch (e) {
          if (!(e instanceof ModelFormatError)) throw e;
        }
        if (!streamed) return;
        // The stream also refuses overlapping tensors, which a whole-file read tolerates: it accepts less.
        expect(whole).toBeDefined();
        checkHeader(streamed, bytes);
        for (const [name, b] of seen) expect(b).toEqual(whole!.raw(name));
      }),
      { numRuns: 1000 },
    );
  });
});

describe('safetensors header: a claimed size is checked before anything is allocated for it', () => {
  // 2^26 is under the parser's 100 MiB ceiling on headers: only the file's size shows it is a lie, and the
  // stream must say so from the 8-byte prefix, before it allocates the header's buffer.
  for (const claim of [2n ** 26n, 2n ** 40n, 2n ** 63n, 2n ** 64n - 1n]) {
    it(`a header length of ${claim} in a 64-byte file is refused`, async () => {
      const bytes = fileFrom('{}', new Uint8Array(48), claim);
      expect(() => parseSafetensorsHeader(bytes, 'x', bytes.length)).toThrow(ModelFormatError);
      const message = claim === 2n ** 26n ? /truncated inside its header/ : /implausible/;
      // A server that sent content-length 64 and then keeps sending: reading on to fill the claimed header
      // would pull a thousand chunks; the refusal must come from the prefix and the size alone.
      let pulled = 0;
      async function* source() {
        pulled++;
        yield bytes;
        for (let i = 0; i < 4096; i++, pulled++) yield new Uint8Array(1 << 16);
      }
      await expect(
        streamSafetensors(source(), { file: 'x', fileSize: 64, onTensor: () => {} }),
      ).rejects.toThrow(message);
      expect(pulled).toBe(1);
    });
  }

  it('a tensor claiming 2^50 bytes in a small file is refused, whole or streamed', async () => {
    const { header } = headerObject({ tensors: [], metadata: undefined });
    header['huge'] = { dtype: 'U8', shape: [2 ** 50], data_offsets: [0, 2 ** 50] };
    const bytes = fileFrom(JSON.stringify(header), new Uint8Array(16));
    expect(() => new SafetensorsFile(bytes)).toThrow(/truncated/);
    async function* source() {
      yield bytes;
    }
    await expect(
      streamSafetensors(source(), { file: 'x', fileSize: bytes.length, onTensor: () => {} }),
    ).rejects.toThrow(/truncated/);
  });
});
