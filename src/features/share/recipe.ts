/**
 * The recipe: everything that defines what the page shows (model, state texts, weights, operator, sampling,
 * seed, query, evaluation text), small enough for a URL. States are not in it (megabytes); whoever opens the
 * link recomputes them from the texts. The same object, with a `{type, version}` header, is the exported
 * session file.
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

function toBase64Url(bytes: Uint8Array): string {
  let s = '';
  for (const b of bytes) s += String.fromCharCode(b);
  return btoa(s).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

function fromBase64Url(s: string): Uint8Array {
  const b = atob(s.replace(/-/g, '+').replace(/_/g, '/'));
  return Uint8Array.from(b, (c) => c.charCodeAt(0));
}

export function encodeRecipe(r: Recipe): string {
  return toBase64Url(new TextEncoder().encode(JSON.stringify(r)));
}

const MODES: MixMode[] = ['weighted', 'mean', 'adecay'];
const PROFILES: RecipeProfile[] = ['uniform', 'early', 'late', 'ramp'];

/** Parses and checks a recipe from untrusted JSON (a URL or a file); throws a message saying what is wrong. */
export function checkRecipe(raw: unknown): Recipe {
  if (typeof raw !== 'object' || raw === null) throw new Error('The recipe is not a JSON object.');
  const o = raw as Record<string, unknown>;
  const states = Array.isArray(o['states']) ? o['states'] : [];
  const cleanStates = states
    .filter((s): s is Record<string, unknown> => typeof s === 'object' && s !== null)
    .map((s) => ({
      name: String(s['name'] ?? 'state').slice(0, 80),
      text: String(s['text'] ?? ''),
      ...(typeof s['task'] === 'string' ? { task: s['task'] } : {}),
    }));
  const nums = (v: unknown) => (Array.isArray(v) ? v.map(Number).filter(Number.isFinite) : []);
  const mixed = nums(o['mixed']).filter((i) => Number.isInteger(i) && i >= 0 && i < cleanStates.length);
  const weights = nums(o['weights']);
  const s = (o['sampling'] ?? {}) as Record<string, unknown>;
  const num = (v: unknown, d: number) => (typeof v === 'number' && Number.isFinite(v) ? v : d);
  const parts = (o['parts'] ?? {}) as Record<string, unknown>;
  return {
    model: typeof o['model'] === 'string' ? o['model'] : undefined,
    states: cleanStates,
    mixed,
    weights: mixed.map((_, i) => weights[i] ?? 0),
    mode: MODES.includes(o['mode'] as MixMode) ? (o['mode'] as MixMode) : 'weighted',
    normalize: o['normalize'] === true,
    parts: { ssm: parts['ssm'] !== false, conv: parts['conv'] !== false },
    profile: PROFILES.includes(o['profile'] as RecipeProfile) ? (o['profile'] as RecipeProfile) : 'uniform',
    sampling: {
      temperature: num(s['temperature'], 0),
      topK: num(s['topK'], 40),
      topP: num(s['topP'], 0.95),
      seed: num(s['seed'], 1),
      maxNewTokens: num(s['maxNewTokens'], 32),
    },
    query: typeof o['query'] === 'string' ? o['query'] : '',
    evalText: typeof o['evalText'] === 'string' ? o['evalText'] : '',
  };
}

export function decodeRecipe(s: string): Recipe {
  let raw: unknown;
  try {
    raw = JSON.parse(new TextDecoder().decode(fromBase64Url(s)));
  } catch {
    throw new Error('The link’s recipe is damaged (it could not be decoded). Ask for the link again.');
  }
  return checkRecipe(raw);
}

/** Library entries from a recipe's states, reusing an existing entry with the same name and text. */
export function matchEntries(recipe: Recipe, existing: LibraryEntry[]): (LibraryEntry | undefined)[] {
  return recipe.states.map((s) => existing.find((e) => e.name === s.name && e.text === s.text));
}
