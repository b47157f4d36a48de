/**
 * The WGSL preprocessor of the shader build step (scripts/gen-shaders.mjs). WGSL has no includes or
 * conditional compilation, so a kernel family's source is a template with line directives:
 *
 *   #include "name.wgsl"          the text of shaders/include/name.wgsl (shared structs), once per kernel
 *   #variant NAME [DEF[=VALUE]…]  one output kernel NAME built with those defines (a file without any
 *                                 #variant is one kernel named after the file, with no defines)
 *   #ifdef DEF / #ifndef DEF      keep the lines up to #else / #endif when DEF is (not) defined
 *   #if DEF                       keep them when DEF is defined to anything but 0 (a bare define counts as 1)
 *   #else / #endif
 *
 * Directives start a line (after optional indentation); every other line is WGSL and passes through as is.
 * Errors name the file and line, so a broken template fails the build instead of producing a kernel that
 * only fails when a device compiles it.
 */

export type Defines = Readonly<Record<string, string>>;

export interface Variant {
  name: string;
  defines: Defines;
}

export class ShaderPreprocessError extends Error {
  constructor(file: string, line: number, message: string, options?: ErrorOptions) {
    super(`${file}:${line}: ${message}`, options);
    this.name = 'ShaderPreprocessError';
  }
}

const DIRECTIVE = /^\s*#(\w+)\b\s*(.*?)\s*$/;
const NAME = /^[A-Za-z_]\w*$/;

/** The kernels one source expands into: its #variant lines, or one kernel named `fallbackName`. */
export function parseVariants(source: string, file: string, fallbackName: string): Variant[] {
  const variants: Variant[] = [];
  source.split('\n').forEach((text, i) => {
    const m = DIRECTIVE.exec(text);
    if (!m || m[1] !== 'variant') return;
    const [name, ...defs] = m[2]!.split(/\s+/).filter((w) => w.length > 0);
    if (name === undefined || !NAME.test(name))
      throw new ShaderPreprocessError(
        file,
        i + 1,
        '#variant needs a kernel name: #variant NAME [DEFINE[=VALUE]…]',
      );
    const defines: Record<string, string> = {};
    for (const d of defs) {
      const [key, value = '1'] = d.split('=', 2) as [string, string?];
      if (!NAME.test(key))
        throw new ShaderPreprocessError(file, i + 1, `"${d}" is not a define (NAME or NAME=VALUE)`);
      defines[key] = value;
    }
    if (variants.some((v) => v.name === name))
      throw new ShaderPreprocessError(file, i + 1, `variant "${name}" is declared twice`);
    variants.push({ name, defines });
  });
  return variants.length > 0 ? variants : [{ name: fallbackName, defines: {} }];
}

interface Branch {
  /** Whether lines in the current arm are kept (false also when an enclosing branch drops them). */
  active: boolean;
  /** Whether the enclosing context keeps lines at all. */
  parentActive: boolean;
  /** Whether the condition held (to decide the #else arm). */
  taken: boolean;
  seenElse: boolean;
  line: number;
}

/**
 * Expands one variant of `source`: includes resolved through `readInclude` (given the quoted name), each
 * include taken once per kernel (so two includes that both need `Dims` do not declare it twice), conditional
 * lines kept or dropped by `defines`, directive lines removed.
 */
export function preprocess(
  source: string,
  file: string,
  defines: Defines,
  readInclude: (name: string) => string,
): string {
  const included = new Set<string>();
  const out: string[] = [];
  const expand = (text: string, where: string, stack: string[]) => {
    const branches: Branch[] = [];
    const active = () => branches.length === 0 || branches[branches.length - 1]!.active;
    text.split('\n').forEach((line, i) => {
      const m = DIRECTIVE.exec(line);
      if (!m) {
        if (active()) out.push(line);
        return;
      }
      const [, directive, arg] = m as unknown as [string, string, string];
      const fail = (message: string, cause?: unknown) =>
        new ShaderPreprocessError(where, i + 1, message, cause === undefined ? undefined : { cause });
      const cond = (holds: boolean) => {
        if (!NAME.test(arg)) throw fail(`#${directive} needs one define name, not "${arg}"`);
        const parentActive = active();
        branches.push({
          active: parentActive && holds,
          parentActive,
          taken: holds,
          seenElse: false,
          line: i + 1,
        });
      };
      switch (directive) {
        case 'variant':
          if (stack.length > 0) throw fail('#variant belongs in a kernel source, not in an include');
          return;
        case 'ifdef':
          return cond(Object.hasOwn(defines, arg));
        case 'ifndef':
          return cond(!Object.hasOwn(defines, arg));
        case 'if':
          return cond(Object.hasOwn(defines, arg) && defines[arg] !== '0');
        case 'else': {
          const b = branches[branches.length - 1];
          if (!b) throw fail('#else without #if');
          if (b.seenElse) throw fail(`second #else for the #if on line ${b.line}`);
          b.seenElse = true;
          b.active = b.parentActive && !b.taken;
          return;
        }
        case 'endif':
          if (!branches.pop()) throw fail('#endif without #if');
          return;
        case 'include': {
          const name = /^"([\w./-]+\.wgsl)"$/.exec(arg)?.[1];
          if (!name) throw fail(`#include needs a quoted file name, as in #include "dims.wgsl" (got ${arg})`);
          if (!active()) return;
          if (stack.includes(name)) throw fail(`#include cycle: ${[...stack, name].join(' → ')}`);
          if (included.has(name)) return;
          included.add(name);
          let body: string;
          try {
            body = readInclude(name);
          } catch (e) {
            throw fail(`cannot read include "${name}": ${(e as Error).message}`, e);
          }
          expand(body.replace(/\n$/, ''), name, [...stack, name]);
          return;
        }
        default:
          throw fail(`unknown directive #${directive}`);
      }
    });
    const open = branches[branches.length - 1];
    if (open) throw new ShaderPreprocessError(where, open.line, '#if without #endif');
  };
  expand(source, file, []);
  return out.join('\n');
}
