/**
 * The recipe: everything that defines what the page shows (model, state texts, weights, operator, sampling,
 * seed, query, evaluation text), small enough for a URL. States are not in it (megabytes); whoever opens the
 * link recomputes them from the texts. The same object, with a `{type, version}` header, is the exported
 * session file.
 *
 * Links and session files are untrusted input. They are checked completely before the page changes, and a
 * bad one is refused with a `RecipeError` naming the field that is wrong: accepting half a recipe is how a
 * damaged link used to wipe the user's mix.
 */
import type { LibraryEntry } from '../../stores/library.ts';
import type { MixMode, RecipeProfile } from '../../engine/states/mixSpec.ts';
import type { SamplingSettings } from '../../worker/protocol.ts';

export interface Recipe {
  model?: string;
  states: { name: string; text: string; task?: string }[];
  /** Indexes into `states` of the mixed ones, in mixing order. */
  mixed: number[];
  weights: number[];
  mode: MixMode;
  normalize: boolean;
  parts: { ssm: boolean; conv: boolean };
  profile: RecipeProfile;
  sampling: SamplingSettings;
  query: string;
  evalText: string;
}

export const SESSION_TYPE = 'state-soup-session';
export const SESSION_VERSION = 1;

export interface SessionFile extends Recipe {
  type: typeof SESSION_TYPE;
  version: number;
}

/** A recipe, link or session file that cannot be used; the message says what is wrong. */
export class RecipeError extends Error {
  override name = 'RecipeError';
}

// Bounds keep a hostile file from making the page allocate without limit; real sessions are far inside them.
export const MAX_STATES = 1000;
export const MAX_TEXT_CHARS = 4_000_000;
export const MAX_NAME_CHARS = 80;
/** Session files larger than this are refused before they are read. */
export const MAX_SESSION_BYTES = 64 * 1024 * 1024;

const MODES: readonly MixMode[] = ['weighted', 'mean', 'adecay'];
const PROFILES: readonly RecipeProfile[] = ['uniform', 'early', 'late', 'ramp'];
// The mixer's slider range (stores/mixer.ts WEIGHT_MIN/MAX); repeated so this module stays free of stores.
const WEIGHT_RANGE = [-1, 2] as const;

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
const fail = (msg: string): never => {
  throw new RecipeError(msg);
};
const describe = (v: unknown) =>
  v === null ? 'null' : Array.isArray(v) ? 'a list' : typeof v === 'string' ? 'text' : `a ${typeof v}`;

function text(o: Obj, key: string, where: string, fallback?: string): string {
  const v = o[key];
  if (v === undefined && fallback !== undefined) return fallback;
  if (typeof v !== 'string') return fail(`${where}${key} should be text but is ${describe(v)}.`);
  if (v.length > MAX_TEXT_CHARS)
    fail(`${where}${key} is ${v.length} characters long; at most ${MAX_TEXT_CHARS} are accepted.`);
  return v;
}

function num(o: Obj, key: string, fallback: number, lo: number, hi: number, integer = false): number {
  const v = o[key];
  if (v === undefined) return fallback;
  if (typeof v !== 'number' || !Number.isFinite(v)) return fail(`sampling.${key} should be a number.`);
  if (integer && !Number.isInteger(v)) fail(`sampling.${key} should be a whole number but is ${v}.`);
  if (v < lo || v > hi) fail(`sampling.${key} is ${v}; it should be between ${lo} and ${hi}.`);
  return v + 0; // -0 → 0: what is accepted is canonical, and JSON would turn it into 0 anyway
}

function oneOf<T extends string>(o: Obj, key: string, allowed: readonly T[], fallback: T): T {
  const v = o[key];
  if (v === undefined) return fallback;
  if (typeof v !== 'string' || !allowed.includes(v as T))
    fail(`${key} should be one of ${allowed.join(', ')}; it is ${JSON.stringify(v)?.slice(0, 40)}.`);
  return v as T;
}

function bool(o: Obj, key: string, where: string, fallback: boolean): boolean {
  const v = o[key];
  if (v === undefined) return fallback;
  if (typeof v !== 'boolean') fail(`${where}${key} should be true or false.`);
  return v as boolean;
}

function states(v: unknown): Recipe['states'] {
  if (v === undefined) fail('It has no list of states (the “states” field is missing).');
  if (!Array.isArray(v)) return fail(`“states” should be a list but is ${describe(v)}.`);
  if (v.length > MAX_STATES) fail(`It has ${v.length} states; at most ${MAX_STATES} are accepted.`);
  return v.map((s: unknown, i) => {
    if (!isObj(s)) return fail(`states[${i}] should be an object with a name and a text.`);
    const where = `states[${i}].`;
    const name = text(s, 'name', where, 'state').slice(0, MAX_NAME_CHARS);
    const task = s['task'] === undefined ? undefined : text(s, 'task', where);
    return { name, text: text(s, 'text', where), ...(task !== undefined ? { task } : {}) };
  });
}

function mixing(o: Obj, count: number): { mixed: number[]; weights: number[] } {
  const mixed = o['mixed'] ?? [];
  const weights = o['weights'] ?? [];
  if (!Array.isArray(mixed)) return fail(`“mixed” should be a list of state indexes.`);
  if (!Array.isArray(weights)) return fail(`“weights” should be a list of numbers.`);
  if (weights.length !== mixed.length)
    fail(`It mixes ${mixed.length} state(s) but gives ${weights.length} weight(s); they should match.`);
  if (mixed.length > count) fail(`It mixes ${mixed.length} states but has only ${count}.`);
  mixed.forEach((i: unknown, k) => {
    if (typeof i !== 'number' || !Number.isInteger(i) || i < 0 || i >= count)
      fail(`mixed[${k}] should be the index of one of the ${count} state(s) but is ${JSON.stringify(i)}.`);
    if (mixed.indexOf(i) !== k) fail(`State ${String(i)} is mixed twice.`);
  });
  weights.forEach((w: unknown, k) => {
    if (typeof w !== 'number' || !Number.isFinite(w) || w < WEIGHT_RANGE[0] || w > WEIGHT_RANGE[1])
      fail(`weights[${k}] should be a number from ${WEIGHT_RANGE[0]} to ${WEIGHT_RANGE[1]}.`);
  });
  return { mixed: mixed as number[], weights: (weights as number[]).map((w) => w + 0) };
}

/**
 * Checks a recipe from untrusted JSON (a link or a file) and returns it in canonical form. Optional settings
 * that are absent take the page's defaults; anything present with the wrong type or out of range, and a
 * missing list of states, is a `RecipeError`. Unknown fields are ignored (a session file's header, say).
 */
export function checkRecipe(raw: unknown): Recipe {
  if (!isObj(raw)) return fail('It is not a recipe: expected a JSON object.');
  const st = states(raw['states']);
  const { mixed, weights } = mixing(raw, st.length);
  const parts = raw['parts'] ?? {};
  if (!isObj(parts)) return fail('“parts” should be an object {ssm, conv}.');
  const p = { ssm: bool(parts, 'ssm', 'parts.', true), conv: bool(parts, 'conv', 'parts.', true) };
  if (!p.ssm && !p.conv) fail('parts mixes neither the SSM nor the conv state; at least one is needed.');
  const s = raw['sampling'] ?? {};
  if (!isObj(s)) return fail('“sampling” should be an object.');
  const model = raw['model'] === undefined ? undefined : text(raw, 'model', '');
  return {
    ...(model !== undefined ? { model } : {}),
    states: st,
    mixed,
    weights,
    mode: oneOf(raw, 'mode', MODES, 'weighted'),
    normalize: bool(raw, 'normalize', '', false),
    parts: p,
    profile: oneOf(raw, 'profile', PROFILES, 'uniform'),
    sampling: {
      temperature: num(s, 'temperature', 0, 0, 100),
      topK: num(s, 'topK', 40, 0, 1_000_000, true),
      topP: num(s, 'topP', 0.95, 0, 1),
      seed: num(s, 'seed', 1, -Number.MAX_SAFE_INTEGER, Number.MAX_SAFE_INTEGER, true),
      maxNewTokens: num(s, 'maxNewTokens', 32, 1, 100_000, true),
    },
    query: text(raw, 'query', '', ''),
    evalText: text(raw, 'evalText', '', ''),
  };
}

/** Reads an exported session file's text: the header, then the recipe. Every failure is a `RecipeError`. */
export function parseSessionFile(source: string, fileName: string): Recipe {
  let raw: unknown;
  try {
    raw = JSON.parse(source);
  } catch {
    throw new RecipeError(`${fileName} is not valid JSON, so it is not a session file.`);
  }
  if (!isObj(raw) || raw['type'] !== SESSION_TYPE)
    throw new RecipeError(
      `${fileName} is not a State Soup session file (use a file made by “Export session”).`,
    );
  const v = raw['version'];
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 1)
    throw new RecipeError(`${fileName} has no valid version number.`);
  if (v > SESSION_VERSION)
    throw new RecipeError(`${fileName} was written by a newer version of the playground; update this page.`);
  try {
    return checkRecipe(raw);
  } catch (e) {
    throw new RecipeError(`${fileName} is damaged: ${(e as Error).message}`);
  }
}

/** Library entries from a recipe's states, reusing an existing entry with the same name and text. */
export function matchEntries(recipe: Recipe, existing: LibraryEntry[]): (LibraryEntry | undefined)[] {
  return recipe.states.map((s) => existing.find((e) => e.name === s.name && e.text === s.text));
}
