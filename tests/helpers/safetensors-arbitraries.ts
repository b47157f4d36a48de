/**
 * fast-check generators of safetensors files for the parsers' property tests: random bytes, and valid files
 * (written here from a header object, not by the code under test) with one field, the length prefix or the
 * byte stream mutated.
 */
import fc from 'fast-check';

export const DTYPES = {
  F32: 4,
  F16: 2,
  BF16: 2,
  F64: 8,
  I32: 4,
  I64: 8,
  U8: 1,
  I8: 1,
  U32: 4,
  BOOL: 1,
} as const;
export type Dtype = keyof typeof DTYPES;

export interface HeaderSpec {
  tensors: { name: string; dtype: Dtype; shape: number[] }[];
  metadata: Record<string, string> | undefined;
}

/** Sets an own property, even one named __proto__ (which plain assignment would treat as the prototype). */
function setOwn(o: Record<string, unknown>, key: string, value: unknown) {
  Object.defineProperty(o, key, { value, enumerable: true, writable: true, configurable: true });
}

/** A header object with consecutive data offsets, and the number of data bytes it describes. */
export function headerObject(spec: HeaderSpec): { header: Record<string, unknown>; dataBytes: number } {
  const header: Record<string, unknown> = {};
  if (spec.metadata) header['__metadata__'] = spec.metadata;
  let at = 0;
  for (const t of spec.tensors) {
    const size = t.shape.reduce((a, b) => a * b, 1) * DTYPES[t.dtype];
    setOwn(header, t.name, { dtype: t.dtype, shape: t.shape, data_offsets: [at, at + size] });
    at += size;
  }
  return { header, dataBytes: at };
}

/** 8-byte little-endian length, the JSON text padded with spaces, then `data`. */
export function fileFrom(headerText: string, data: Uint8Array, declaredLength?: bigint): Uint8Array {
  let json = new TextEncoder().encode(headerText);
  const pad = (8 - (json.length % 8)) % 8;
  if (pad) json = new TextEncoder().encode(headerText + ' '.repeat(pad));
  const out = new Uint8Array(8 + json.length + data.length);
  new DataView(out.buffer).setBigUint64(0, declaredLength ?? BigInt(json.length), true);
  out.set(json, 8);
  out.set(data, 8 + json.length);
  return out;
}

const tensorName = fc.oneof(
  fc.constantFrom('a', 'b.weight', 'states.0.ssm', '__proto__', 'constructor', 'toString', ''),
  fc.string({ maxLength: 12 }),
);

export const headerSpec: fc.Arbitrary<HeaderSpec> = fc.record({
  tensors: fc.uniqueArray(
    fc.record({
      name: tensorName,
      dtype: fc.constantFrom(...(Object.keys(DTYPES) as Dtype[])),
      shape: fc.array(fc.integer({ min: 0, max: 6 }), { maxLength: 3 }),
    }),
    { maxLength: 5, selector: (t) => t.name },
  ),
  metadata: fc.option(fc.dictionary(fc.string({ maxLength: 8 }), fc.string({ maxLength: 8 })), {
    nil: undefined,
  }),
});

/** Values that are wrong in interesting ways where a number, an array or an object belongs. */
const oddValue = fc.oneof(
  fc.jsonValue({ maxDepth: 2 }),
  fc.constantFrom(
    null,
    -1,
    1.5,
    2 ** 53,
    2 ** 60,
    1e308,
    '4',
    [],
    [0],
    [0, -4],
    [8, 0],
    [0, 2 ** 62],
    [2 ** 53 - 1, 2 ** 53 + 3],
    { __proto__: null },
    'constructor',
    'toString',
    'F32 ',
    'F32',
    'I32',
    'U32',
    'F16',
    'I64',
  ),
);

/** Length prefixes that do not match the header: zero, tiny, too long, 2^40, 2^63, 2^64 - 1. */
const oddLength = fc.oneof(
  fc.bigInt(0n, 4096n),
  fc.constantFrom(2n ** 26n, 2n ** 27n + 1n, 2n ** 32n, 2n ** 40n, 2n ** 53n + 1n, 2n ** 63n, 2n ** 64n - 1n),
);

export type Mutation =
  | { kind: 'field'; tensor: number; field: 'dtype' | 'shape' | 'data_offsets'; value: unknown }
  | { kind: 'drop'; tensor: number; field: 'dtype' | 'shape' | 'data_offsets' }
  | { kind: 'entry'; tensor: number; value: unknown }
  | { kind: 'metadata'; value: unknown }
  | { kind: 'root'; value: unknown }
  | { kind: 'length'; value: bigint }
  | { kind: 'truncate'; at: number }
  | { kind: 'append'; bytes: Uint8Array }
  | { kind: 'flip'; at: number; xor: number }
  | { kind: 'none' };

const field = fc.constantFrom('dtype' as const, 'shape' as const, 'data_offsets' as const);
const index = fc.nat({ max: 7 });
export const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ kind: fc.constant('field' as const), tensor: index, field, value: oddValue }),
  fc.record({ kind: fc.constant('drop' as const), tensor: index, field }),
  fc.record({ kind: fc.constant('entry' as const), tensor: index, value: oddValue }),
  fc.record({ kind: fc.constant('metadata' as const), value: oddValue }),
  fc.record({ kind: fc.constant('root' as const), value: oddValue }),
  fc.record({ kind: fc.constant('length' as const), value: oddLength }),
  fc.record({ kind: fc.constant('truncate' as const), at: fc.nat() }),
  fc.record({ kind: fc.constant('append' as const), bytes: fc.uint8Array({ minLength: 1, maxLength: 16 }) }),
  fc.record({ kind: fc.constant('flip' as const), at: fc.nat(), xor: fc.integer({ min: 1, max: 255 }) }),
  fc.constant({ kind: 'none' as const }),
);

/** A file from `spec` with `m` applied: at the JSON level, the length prefix, or the bytes. */
export function mutatedFile(spec: HeaderSpec, m: Mutation, data?: (n: number) => Uint8Array): Uint8Array {
  const { header, dataBytes } = headerObject(spec);
  const names = spec.tensors.map((t) => t.name);
  const pick = (i: number) => (names.length ? names[i % names.length]! : undefined);
  let root: unknown = header;
  if (m.kind === 'field' || m.kind === 'drop') {
    const name = pick(m.tensor);
    if (name !== undefined) {
      const entry = { ...(header[name] as Record<string, unknown>) };
      if (m.kind === 'field') entry[m.field] = m.value;
      else delete entry[m.field];
      setOwn(header, name, entry);
    }
  } else if (m.kind === 'entry') {
    const name = pick(m.tensor);
    if (name !== undefined) setOwn(header, name, m.value);
  } else if (m.kind === 'metadata') {
    header['__metadata__'] = m.value;
  } else if (m.kind === 'root') {
    root = m.value;
  }
  const text = JSON.stringify(root) ?? 'undefined';
  const body = data ? data(dataBytes) : new Uint8Array(dataBytes);
  let file = fileFrom(text, body, m.kind === 'length' ? m.value : undefined);
  if (m.kind === 'truncate') file = file.subarray(0, m.at % (file.length + 1));
  if (m.kind === 'append') {
    const longer = new Uint8Array(file.length + m.bytes.length);
    longer.set(file);
    longer.set(m.bytes, file.length);
    file = longer;
  }
  if (m.kind === 'flip' && file.length > 0) file[m.at % file.length] = file[m.at % file.length]! ^ m.xor;
  return file;
}
