/**
 * A small strict argument parser for the command line: `--name value`, `--flag`, and `--name=value`.
 * Unknown options are errors (a typo must not silently fall back to a default).
 */
export class UsageError extends Error {
  override name = 'UsageError';
}

export interface OptionSpec {
  /** Options that take a value. */
  values: readonly string[];
  /** Options that are switches. */
  flags: readonly string[];
  /** Value options that may be given more than once (`--state A --state B`), in `lists`. */
  repeatable?: readonly string[];
}

export interface ParsedArgs {
  values: Map<string, string>;
  flags: Set<string>;
  positional: string[];
  /** Every value of each repeatable option, in the order given. */
  lists: Map<string, string[]>;
}

export function parseArgs(argv: readonly string[], spec: OptionSpec): ParsedArgs {
  const values = new Map<string, string>();
  const flags = new Set<string>();
  const positional: string[] = [];
  const lists = new Map<string, string[]>();
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (!arg.startsWith('--')) {
      positional.push(arg);
      continue;
    }
    const eq = arg.indexOf('=');
    const name = eq > 0 ? arg.slice(2, eq) : arg.slice(2);
    if (spec.flags.includes(name)) {
      if (eq > 0) throw new UsageError(`--${name} takes no value.`);
      flags.add(name);
    } else if (spec.values.includes(name) || spec.repeatable?.includes(name)) {
      const value = eq > 0 ? arg.slice(eq + 1) : argv[++i];
      if (value === undefined) throw new UsageError(`--${name} needs a value.`);
      if (spec.repeatable?.includes(name)) lists.set(name, [...(lists.get(name) ?? []), value]);
      else values.set(name, value);
    } else {
      throw new UsageError(`Unknown option --${name}.`);
    }
  }
  return { values, flags, positional, lists };
}

export function required(args: ParsedArgs, name: string): string {
  const v = args.values.get(name);
  if (v === undefined) throw new UsageError(`--${name} is required.`);
  return v;
}

export function numberOption(args: ParsedArgs, name: string, fallback?: number): number | undefined {
  const v = args.values.get(name);
  if (v === undefined) return fallback;
  const n = Number(v);
  if (!Number.isFinite(n)) throw new UsageError(`--${name} must be a number (got "${v}").`);
  return n;
}

export function intOption(args: ParsedArgs, name: string, fallback?: number): number | undefined {
  const n = numberOption(args, name, fallback);
  if (n !== undefined && !Number.isInteger(n)) throw new UsageError(`--${name} must be a whole number.`);
  return n;
}

/** Parses "1,2,3" into token ids. */
export function tokenList(text: string, what: string): number[] {
  const parts = text.split(',').map((s) => s.trim());
  const ids = parts.map(Number);
  if (parts.length === 0 || ids.some((n) => !Number.isInteger(n) || n < 0)) {
    throw new UsageError(`${what} must be comma-separated non-negative token ids (got "${text}").`);
  }
  return ids;
}

/** Parses "1,2,4" into whole numbers ≥ `min`, naming the option in the message. */
export function intList(args: ParsedArgs, name: string, fallback: number[], min = 1): number[] {
  const v = args.values.get(name);
  if (v === undefined) return fallback;
  const parts = v.split(',').map((s) => s.trim());
  const ns = parts.map(Number);
  if (parts.some((p) => p === '') || ns.some((n) => !Number.isInteger(n) || n < min)) {
    throw new UsageError(`--${name} must be comma-separated whole numbers ≥ ${min} (got "${v}").`);
  }
  return ns;
}

/** Parses "0.3,0.7" into numbers, naming the option in the message. */
export function numberList(args: ParsedArgs, name: string): number[] | undefined {
  const v = args.values.get(name);
  if (v === undefined) return undefined;
  const parts = v.split(',').map((s) => s.trim());
  const ns = parts.map(Number);
  if (parts.some((p) => p === '') || !ns.every(Number.isFinite)) {
    throw new UsageError(`--${name} must be comma-separated numbers (got "${v}").`);
  }
  return ns;
}
