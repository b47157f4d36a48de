/**
 * Reads a preprocessed kernel's interface out of its WGSL: each `@group(g) @binding(b) var<…> name: T`
 * and the memory layout of each struct, by the WGSL rules (https://www.w3.org/TR/WGSL/#memory-layouts):
 * a scalar is 4 bytes aligned to 4; vecN<T> has size N·4 and alignment 8 (N = 2) or 16 (N = 3, 4); an
 * array<E, n> has stride roundUp(align(E), size(E)); a struct aligns to its largest member and its size is
 * rounded up to that alignment; each member sits at the next offset aligned to its own alignment.
 * Only what the kernels here use is understood; anything else (matrices, @align/@size, f16 fields) is an
 * error naming the declaration, rather than a layout that might be wrong.
 */
import type {
  BindingInfo,
  FieldLayout,
  ShaderInterface,
  StructLayout,
} from '../../src/engine/kernels/reflection.ts';

interface SizeAlign {
  size: number;
  align: number;
}

const SHORT_VECTORS: Record<string, string> = { f: 'f32', u: 'u32', i: 'i32' };

/** `vec4f` → `vec4<f32>`, `vec2<u32>` stays, whitespace removed. */
export function canonicalType(type: string): string {
  const t = type.replace(/\s+/g, '');
  const short = /^vec([234])([fui])$/.exec(t);
  return short ? `vec${short[1]}<${SHORT_VECTORS[short[2]!]}>` : t;
}

function roundUp(align: number, n: number): number {
  return Math.ceil(n / align) * align;
}

/** Removes // and /* *\/ comments (WGSL block comments nest). */
export function stripComments(src: string): string {
  let out = '';
  let depth = 0;
  for (let i = 0; i < src.length; i++) {
    const two = src.slice(i, i + 2);
    if (depth === 0 && two === '//') {
      while (i < src.length && src[i] !== '\n') i++;
      out += '\n';
    } else if (two === '/*') {
      depth++;
      i++;
    } else if (depth > 0 && two === '*/') {
      depth--;
      i++;
    } else if (depth === 0) out += src[i];
  }
  return out;
}

/** Size and alignment of `type`, given the layouts of the structs declared before it. */
export function sizeAlign(type: string, structs: Readonly<Record<string, StructLayout>>): SizeAlign {
  const t = canonicalType(type);
  if (t === 'u32' || t === 'i32' || t === 'f32') return { size: 4, align: 4 };
  const vec = /^vec([234])<(u32|i32|f32)>$/.exec(t);
  if (vec) {
    const n = Number(vec[1]);
    return { size: 4 * n, align: n === 2 ? 8 : 16 };
  }
  const arr = /^array<(.+),(\d+)u?>$/.exec(t);
  if (arr) {
    const e = sizeAlign(arr[1]!, structs);
    return { size: Number(arr[2]) * roundUp(e.align, e.size), align: e.align };
  }
  const s = structs[t];
  if (s) return { size: s.size, align: s.align };
  throw new Error(
    `cannot lay out type "${type}" (supported: u32, i32, f32, vecN of them, fixed arrays, structs)`,
  );
}

/** Splits a struct body at its top-level commas (not those inside `array<E, n>`). */
function splitMembers(body: string): string[] {
  const out: string[] = [];
  let depth = 0;
  let start = 0;
  for (let i = 0; i < body.length; i++) {
    if (body[i] === '<') depth++;
    else if (body[i] === '>') depth--;
    else if (body[i] === ',' && depth === 0) {
      out.push(body.slice(start, i));
      start = i + 1;
    }
  }
  out.push(body.slice(start));
  return out;
}

/** The layouts of every struct in `wgsl` (comments already stripped or not), in declaration order. */
export function structLayouts(wgsl: string): Record<string, StructLayout> {
  const src = stripComments(wgsl);
  const structs: Record<string, StructLayout> = {};
  for (const m of src.matchAll(/\bstruct\s+(\w+)\s*\{([^}]*)\}/g)) {
    const name = m[1]!;
    const fields: Record<string, FieldLayout> = {};
    let offset = 0;
    let align = 1;
    for (const member of splitMembers(m[2]!)) {
      const text = member.trim();
      if (text === '') continue;
      if (text.includes('@'))
        throw new Error(`struct ${name}: member attributes are not supported (${text})`);
      const f = /^(\w+)\s*:\s*(.+)$/.exec(text);
      if (!f) throw new Error(`struct ${name}: cannot read member "${text}"`);
      const type = canonicalType(f[2]!);
      let sa: SizeAlign;
      try {
        sa = sizeAlign(type, structs);
      } catch (e) {
        throw new Error(`struct ${name}, member ${f[1]}: ${(e as Error).message}`, { cause: e });
      }
      offset = roundUp(sa.align, offset);
      fields[f[1]!] = { offset, type, size: sa.size };
      offset += sa.size;
      align = Math.max(align, sa.align);
    }
    structs[name] = { size: roundUp(align, offset), align, fields };
  }
  return structs;
}

/** Every resource binding of `wgsl`, by variable name. */
export function bindings(wgsl: string): Record<string, BindingInfo> {
  const src = stripComments(wgsl);
  const out: Record<string, BindingInfo> = {};
  const seen = new Map<string, string>();
  const decl = /@group\((\d+)\)\s*@binding\((\d+)\)\s*var\s*(?:<([^>]*)>)?\s*(\w+)\s*:\s*([^;]+);/g;
  for (const m of src.matchAll(decl)) {
    const [, group, binding, space = '', name, type] = m as unknown as [
      string,
      string,
      string,
      string,
      string,
      string,
    ];
    const parts = space.split(',').map((s) => s.trim());
    let kind: BindingInfo['kind'];
    if (parts[0] === 'uniform') kind = 'uniform';
    else if (parts[0] === 'storage') kind = parts[1] === 'read_write' ? 'read_write' : 'read';
    else throw new Error(`binding ${name}: only uniform and storage buffers are supported (var<${space}>)`);
    const slot = `${group}/${binding}`;
    const other = seen.get(slot);
    if (other)
      throw new Error(`bindings ${other} and ${name} both use @group(${group}) @binding(${binding})`);
    seen.set(slot, name);
    out[name] = { group: Number(group), binding: Number(binding), kind, type: canonicalType(type) };
  }
  return out;
}

/** A kernel's bindings and the layouts of the structs it declares. */
export function reflect(wgsl: string): ShaderInterface {
  return { bindings: bindings(wgsl), structs: structLayouts(wgsl) };
}
