/**
 * The share recipe as untrusted input: the recipe checker, the session-file parser and the link codec
 * (version 2 compressed, version 1 still read). The property tests feed each parser thousands of arbitrary
 * and damaged inputs; every case must end in a valid recipe or a RecipeError, quickly and without huge
 * allocations.
 */
import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decodeRecipeLink, encodeRecipeLink, MAX_RECIPE_BYTES } from '../src/features/share/link.ts';
import {
  checkRecipe,
  parseSessionFile,
  RecipeError,
  SESSION_TYPE,
  type Recipe,
} from '../src/features/share/recipe.ts';

const recipe: Recipe = {
  model: 'soup-mamba-4.6m',
  states: [
    { name: 'a', text: 'hot->cold\n' },
    { name: 'b ünïcødé 🙂', text: 'big->small\n', task: 'antonym' },
  ],
  mixed: [1, 0],
  weights: [1.3, -0.3],
  mode: 'weighted',
  normalize: false,
  parts: { ssm: true, conv: false },
  profile: 'late',
  sampling: { temperature: 0.7, topK: 20, topP: 0.9, seed: 42, maxNewTokens: 16 },
  query: 'fast->',
  evalText: 'up->down\n',
};

/** A link in the first format, built here from its definition (base64url of the JSON), not by the app. */
const v1Link = (r: unknown) => Buffer.from(JSON.stringify(r)).toString('base64url');

async function deflateRaw(bytes: Uint8Array): Promise<Uint8Array> {
  const s = new Blob([bytes as Uint8Array<ArrayBuffer>])
    .stream()
    .pipeThrough(new CompressionStream('deflate-raw'));
  return new Uint8Array(await new Response(s).arrayBuffer());
}

/** Runs `f`, which must return a recipe or throw a RecipeError; anything else fails the property. */
function validOrRecipeError(f: () => Recipe): void {
  let r: Recipe;
  try {
    r = f();
  } catch (e) {
    if (!(e instanceof RecipeError)) throw e;
    expect(e.message.length).toBeGreaterThan(10);
    return;
  }
  // What is accepted is canonical: checking it again gives it back unchanged.
  expect(checkRecipe(JSON.parse(JSON.stringify(r)))).toEqual(r);
}

async function validOrRecipeErrorAsync(f: () => Promise<Recipe>): Promise<void> {
  let r: Recipe;
  try {
    r = await f();
  } catch (e) {
    if (!(e instanceof RecipeError)) throw e;
    return;
  }
  validOrRecipeError(() => r);
}

const noNegZero = (x: number) => (Object.is(x, -0) ? 0 : x);
const validRecipe: fc.Arbitrary<Recipe> = fc
  .array(
    fc.record(
      {
        name: fc.string({ unit: 'binary', maxLength: 80 }),
        text: fc.string({ unit: 'binary', maxLength: 200 }),
        task: fc.string({ maxLength: 12 }),
      },
      { requiredKeys: ['name', 'text'] },
    ),
    { maxLength: 6 },
  )
  .chain((states) =>
    fc.record({
      model: fc.string({ maxLength: 30 }),
      states: fc.constant(states),
      mixed: fc.shuffledSubarray(
        states.map((_, i) => i),
        { minLength: 0 },
      ),
      mode: fc.constantFrom('weighted', 'mean', 'adecay' as const),
      normalize: fc.boolean(),
      parts: fc.constantFrom(
        { ssm: true, conv: true },
        { ssm: true, conv: false },
        { ssm: false, conv: true },
      ),
      profile: fc.constantFrom('uniform', 'early', 'late', 'ramp' as const),
      sampling: fc.record({
        temperature: fc.double({ min: 0, max: 100, noNaN: true }).map(noNegZero),
        topK: fc.integer({ min: 0, max: 1000 }),
        topP: fc.double({ min: 0, max: 1, noNaN: true }).map(noNegZero),
        seed: fc.integer(),
        maxNewTokens: fc.integer({ min: 1, max: 512 }),
      }),
      query: fc.string({ unit: 'binary', maxLength: 60 }),
      evalText: fc.string({ unit: 'binary', maxLength: 200 }),
    }),
  )
  .chain((r) =>
    fc
      .array(fc.double({ min: -1, max: 2, noNaN: true }).map(noNegZero), {
        minLength: r.mixed.length,
        maxLength: r.mixed.length,
      })
      .map((weights) => ({ ...r, weights }) as Recipe),
  );

/** A valid recipe with one field replaced by an arbitrary JSON value (or deleted). */
const damagedRecipe = fc
  .tuple(
    validRecipe,
    fc.constantFrom<keyof Recipe>(
      'states',
      'mixed',
      'weights',
      'mode',
      'normalize',
      'parts',
      'profile',
      'sampling',
      'query',
      'evalText',
      'model',
    ),
    fc.option(fc.jsonValue({ maxDepth: 3 })),
  )
  .map(([r, key, v]) => {
    const o: Record<string, unknown> = { ...r };
    if (v === null) delete o[key];
    else o[key] = v;
    return o;
  });

describe('recipe checker', () => {
  it('keeps a valid recipe exactly', () => {
    expect(checkRecipe(JSON.parse(JSON.stringify(recipe)))).toEqual(recipe);
  });
  it('refuses what is not a recipe, saying what is wrong', () => {
    expect(() => checkRecipe({ foo: 1 })).toThrow(/no list of states/);
    expect(() => checkRecipe({ states: 'abc' })).toThrow(/“states” should be a list but is text/);
    expect(() => checkRecipe({ states: [{ name: 'x' }] })).toThrow(/states\[0\]\.text should be text/);
    expect(() =>
      checkRecipe({ states: [{ text: 't' }, { text: 'u' }], mixed: [0, 5], weights: [1, 1] }),
    ).toThrow(/mixed\[1\]/);
    expect(() => checkRecipe({ states: [{ name: 'x', text: 't' }], mixed: [0], weights: [] })).toThrow(
      /should match/,
    );
    expect(() => checkRecipe({ ...recipe, mode: 'evil' })).toThrow(/mode should be one of/);
    expect(() => checkRecipe({ ...recipe, weights: [1, 9] })).toThrow(/weights\[1\]/);
    expect(() => checkRecipe([])).toThrow(RecipeError);
  });
  it('fills absent optional settings with the page defaults', () => {
    const r = checkRecipe({ states: [{ text: 't' }] });
    expect(r.states).toEqual([{ name: 'state', text: 't' }]);
    expect([r.mode, r.profile, r.parts, r.query]).toEqual([
      'weighted',
      'uniform',
      { ssm: true, conv: true },
      '',
    ]);
  });
  it('property: any JSON value, and any valid recipe with one field damaged, is a recipe or a RecipeError', () => {
    const t0 = performance.now();
    fc.assert(
      fc.property(fc.oneof(fc.anything(), fc.jsonValue(), damagedRecipe), (raw) =>
        validOrRecipeError(() => checkRecipe(raw)),
      ),
      { numRuns: 4000 },
    );
    expect(performance.now() - t0).toBeLessThan(20_000);
  });
  it('property: every valid recipe is accepted unchanged', () => {
    fc.assert(
      fc.property(validRecipe, (r) => {
        expect(checkRecipe(JSON.parse(JSON.stringify(r)))).toEqual(r);
      }),
      { numRuns: 2000 },
    );
  });
});

describe('session file parser', () => {
  const file = (r: unknown) => JSON.stringify({ type: SESSION_TYPE, version: 1, ...(r as object) });
  it('reads an exported file and refuses others with the file name and the reason', () => {
    expect(parseSessionFile(file(recipe), 's.json')).toEqual(recipe);
    expect(() => parseSessionFile('{', 's.json')).toThrow(/s\.json is not valid JSON/);
    expect(() => parseSessionFile('{"foo":1}', 's.json')).toThrow(/not a State Soup session file/);
    expect(() => parseSessionFile(file({ ...recipe, states: 'x' }), 's.json')).toThrow(
      /s\.json is damaged: “states” should be a list/,
    );
    expect(() => parseSessionFile(file({ ...recipe, version: 2 }), 's.json')).toThrow(/newer version/);
  });
  it('property: any text, and any file with a damaged recipe or header, is a recipe or a RecipeError', async () => {
    const header = fc.record(
      {
        type: fc.oneof(fc.constant(SESSION_TYPE), fc.jsonValue()),
        version: fc.oneof(fc.constant(1), fc.jsonValue()),
      },
      { requiredKeys: [] },
    );
    const t0 = performance.now();
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(
          fc.string({ unit: 'binary' }),
          fc.jsonValue().map((v) => JSON.stringify(v)),
          fc.tuple(header, damagedRecipe).map(([h, r]) => JSON.stringify({ ...r, ...h })),
          // Truncated files: a download cut short.
          fc.tuple(validRecipe, fc.nat()).map(([r, n]) => file(r).slice(0, n)),
        ),
        async (text) => {
          validOrRecipeError(() => parseSessionFile(text, 'f.json'));
        },
      ),
      { numRuns: 4000 },
    );
    expect(performance.now() - t0).toBeLessThan(20_000);
  });
});

describe('share link', () => {
  it('round-trips through a version 2 link, non-ASCII included', async () => {
    const enc = await encodeRecipeLink(recipe);
    expect(enc).toMatch(/^2\.[A-Za-z0-9_-]+$/);
    expect(await decodeRecipeLink(enc)).toEqual(recipe);
  });
  it('still opens a version 1 link (uncompressed base64url JSON)', async () => {
    expect(await decodeRecipeLink(v1Link(recipe))).toEqual(recipe);
  });
  it('refuses damaged, hostile and future links with a message', async () => {
    await expect(decodeRecipeLink('%%%not-base64')).rejects.toThrow(/damaged/);
    await expect(decodeRecipeLink(v1Link({ foo: 1 }))).rejects.toThrow(
      /cannot be used: It has no list of states/,
    );
    await expect(decodeRecipeLink('2.AAAA')).rejects.toThrow(/damaged/);
    await expect(decodeRecipeLink('3.AAAA')).rejects.toThrow(/newer version/);
    // A deflate bomb: 64 MiB of spaces packs into a few kilobytes; unpacking stops at the cap.
    const bomb = await deflateRaw(new Uint8Array(64 * 1024 * 1024).fill(32));
    expect(bomb.length).toBeLessThan(100_000);
    await expect(decodeRecipeLink(`2.${Buffer.from(bomb).toString('base64url')}`)).rejects.toThrow(
      new RegExp(`larger than ${MAX_RECIPE_BYTES}`),
    );
  });
  it('a 20,000-character text makes a link 2.5× shorter than version 1 (measured for the report)', async () => {
    // Task lines from the bundled model's suite: the kind of text the playground's states are made of.
    const suite = JSON.parse(readFileSync('public/models/soup-mamba-4.6m/tasks.json', 'utf8')) as {
      tasks: { train: [string, string][] }[];
    };
    const lines = suite.tasks.flatMap((t) => t.train.map(([a, b]) => `${a}->${b}\n`)).join('');
    const text = lines.slice(0, 20_000);
    const r: Recipe = { ...recipe, states: [{ name: 'long', text }], mixed: [0], weights: [1] };
    const v1 = v1Link(r).length;
    const v2 = (await encodeRecipeLink(r)).length;
    console.log(
      `20,000-character task text: link payload v1 ${v1} chars, v2 ${v2} chars (${(v1 / v2).toFixed(2)}×)`,
    );
    expect(await decodeRecipeLink(await encodeRecipeLink(r))).toEqual(r);
    expect(v1 / v2).toBeGreaterThan(2.5);
  });
  it('property: any link text, and any damaged version 2 link, is a recipe or a RecipeError', async () => {
    const b64 = fc.string({
      unit: fc.constantFrom(...'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.'),
    });
    const flipped = fc
      .tuple(validRecipe, fc.nat(), fc.integer({ min: 1, max: 255 }))
      .map(async ([r, at, x]) => {
        const bytes = Buffer.from((await encodeRecipeLink(r)).slice(2), 'base64url');
        bytes[at % bytes.length]! ^= x;
        return `2.${bytes.toString('base64url')}`;
      });
    const packedJunk = fc
      .uint8Array({ maxLength: 400 })
      .map(async (b) => `2.${Buffer.from(await deflateRaw(b)).toString('base64url')}`);
    const packedJson = fc
      .jsonValue()
      .map(
        async (v) =>
          `2.${Buffer.from(await deflateRaw(Buffer.from(JSON.stringify(v)))).toString('base64url')}`,
      );
    const t0 = performance.now();
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(
          fc.string({ unit: 'binary' }).map(async (s) => s),
          b64.map(async (s) => s),
          b64.map(async (s) => `2.${s}`),
          fc.jsonValue().map(async (v) => v1Link(v)),
          packedJunk,
          packedJson,
          flipped,
        ),
        async (link) => validOrRecipeErrorAsync(async () => decodeRecipeLink(await link)),
      ),
      { numRuns: 3000 },
    );
    expect(performance.now() - t0).toBeLessThan(30_000);
  });
});
