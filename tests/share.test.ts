/**
 * The share recipe as untrusted input: the recipe checker, the session-file parser and the link codec
 * (version 3 packed and compressed; versions 2 and 1 still read). The property tests feed each parser
 * thousands of arbitrary and damaged inputs; every case must end in a valid recipe or a RecipeError, quickly
 * and without huge allocations.
 */
import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decodeRecipeLink, encodeRecipeLink, MAX_RECIPE_BYTES } from '../src/features/share/link.ts';
import { packText } from '../src/features/share/textPack.ts';
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

/** The recipe of V2_LINK, written out. */
const v2Recipe: Recipe = {
  model: 'soup-mamba-4.6m',
  states: [
    { name: 'uppercase ünïcødé 🙂', text: 'trace->TRACE\nabandon->ABANDON\n', task: 'uppercase' },
    { name: 'plural', text: 'ability->abilities\nMcDonald->McDonalds\n\\n "q" ->\n', task: 'plural' },
  ],
  mixed: [0, 1],
  weights: [0.57, 0.43],
  mode: 'weighted',
  normalize: false,
  parts: { ssm: true, conv: true },
  profile: 'uniform',
  sampling: { temperature: 0, topK: 0, topP: 1, seed: 1, maxNewTokens: 16 },
  query: 'trace->',
  evalText: 'delay->DELAY\ncat->cats\n',
};
/** `v2Recipe` as the version 2 encoder (before version 3) wrote it: links already shared must keep opening. */
const V2_LINK =
  '2.TVC7ThtBFP0V69Qzli0ekaZYyWCqgIkiNxFDcb17TUbMi5lZsGNtk7-goqaipaDzD_EJaHEIdEe653XPBi40bKGQQxulI7cguT88dBDIhQ' +
  'pnqIsNPDmGQhsjp5oyD7YvfvtUb5-b7ePg9eH-LwQKrwoUSqKaZTX_OTk-0Z4W5JvgZTU5msym5zPteybl669u6MT_iGjbRPbTjhbGmrKW1Q4' +
  'Yztqf1dPgyTay-kBZe639QONGYyCrryn_DLtLAWdW3EBdjMT4UuCOzdXv0v83Gh58E6Ph_l7PCU1fY3fkBgI-JEfW_GGoJdnMApFSr9sgZwdVU' +
  'ssCdfC3O9wJxBSWxr4v5s0ypPc1yUVr_FWvK-wiJyptYqiRQAnx-wf4ATUWyNw3HQs4Ws34bh6u2Weo8WEncNNyWn8uDQG-JTvf7dWwpbWspie' +
  'nk1_a11RkVVPJ2qN7Aw';

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
/** A state or evaluation text: any text, or one made of what version 3 packs (task lines, case, escapes). */
const recipeText = fc.oneof(
  fc.string({ unit: 'binary', maxLength: 200 }),
  fc.string({
    unit: fc.constantFrom(
      ...[
        'trace',
        'TRACE',
        'Trace',
        'traces',
        't r a c e',
        'McDonald',
        'é',
        '🙂',
        '->',
        '\n',
        '\\',
        '"',
        ' ',
        '1',
      ],
    ),
    maxLength: 40,
  }),
);
const validRecipe: fc.Arbitrary<Recipe> = fc
  .array(
    fc.record(
      {
        name: fc.string({ unit: 'binary', maxLength: 80 }),
        text: recipeText,
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
      evalText: recipeText,
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

/** Task lines from the bundled model's suite: the kind of text the playground's states are made of. */
function suiteTexts(): { first: string; roundRobin: string } {
  const suite = JSON.parse(readFileSync('public/models/soup-mamba-4.6m/tasks.json', 'utf8')) as {
    tasks: { train: [string, string][] }[];
  };
  const lines = suite.tasks.map((t) => t.train.map(([a, b]) => `${a}->${b}\n`));
  let roundRobin = '';
  for (let i = 0; roundRobin.length < 20_000; i++)
    for (const l of lines) roundRobin += l[(i * 37) % l.length];
  return { first: lines.flat().join('').slice(0, 20_000), roundRobin: roundRobin.slice(0, 20_000) };
}

/** A packed text deflated into a version 3 link, built here from the format's definition. */
const v3Link = async (packed: string) =>
  `3.${Buffer.from(await deflateRaw(Buffer.from(packed))).toString('base64url')}`;

describe('share link', () => {
  it('round-trips through a version 3 link, non-ASCII included', async () => {
    const enc = await encodeRecipeLink(recipe);
    expect(enc).toMatch(/^3\.[A-Za-z0-9_-]+$/);
    expect(await decodeRecipeLink(enc)).toEqual(recipe);
    // Version 3 is the version 2 form with the recipe's JSON packed first.
    expect(await decodeRecipeLink(await v3Link(packText(JSON.stringify(recipe))))).toEqual(recipe);
  });
  it('still opens a version 2 link made by the version 2 encoder', async () => {
    expect(await decodeRecipeLink(V2_LINK)).toEqual(v2Recipe);
    expect(await decodeRecipeLink(await encodeRecipeLink(v2Recipe))).toEqual(v2Recipe);
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
    await expect(decodeRecipeLink('3.AAAA')).rejects.toThrow(/damaged/);
    await expect(decodeRecipeLink('4.AAAA')).rejects.toThrow(/newer version/);
    // A deflate bomb: 64 MiB of spaces packs into a few kilobytes; unpacking stops at the cap.
    const bomb = await deflateRaw(new Uint8Array(64 * 1024 * 1024).fill(32));
    expect(bomb.length).toBeLessThan(100_000);
    for (const version of [2, 3]) {
      await expect(decodeRecipeLink(`${version}.${Buffer.from(bomb).toString('base64url')}`)).rejects.toThrow(
        new RegExp(`larger than ${MAX_RECIPE_BYTES}`),
      );
    }
  });
  it('refuses a version 3 link whose packed text would unpack past the cap', async () => {
    // Under the inflated cap, but each line's U+0004 spells out a 1,000-letter word: about 12 M characters.
    const spelled = `"${'x'.repeat(1000)}->\x04\n`.repeat(4000);
    expect(spelled.length).toBeLessThan(MAX_RECIPE_BYTES);
    await expect(decodeRecipeLink(await v3Link(spelled))).rejects.toThrow(
      new RegExp(`longer than ${MAX_RECIPE_BYTES} characters once unpacked`),
    );
    // Line feeds grow back into the two characters of `\n`.
    await expect(decodeRecipeLink(await v3Link('\n'.repeat(MAX_RECIPE_BYTES - 10)))).rejects.toThrow(
      /once unpacked/,
    );
  });
  it('refuses a version 3 link whose packed text is damaged, saying so', async () => {
    const packed = packText(JSON.stringify({ ...recipe, evalText: 'abandon->abandoned\nTRACE\n' }));
    expect(packed).toContain('abandon->\x10ed\n\x02trace');
    const damaged = [
      packed.replace('\x10ed', '\x1fed'), // d beyond the word
      packed.replace('\x02trace', '\x02Trace'), // a bad case run
      packed.replace('\x02trace', 't\x02race'), // a marker inside a word
      packed.replace('\x02trace', '\x05trace'), // a control character that is no marker
      packed.replace('abandon->\x10ed', 'abandon->ab\x10ed'), // a marker where none can be
      packed.replace('\x10ed', 'abandoned'), // not the form the encoder writes
    ];
    for (const p of damaged) {
      expect(p).not.toBe(packed);
      await expect(decodeRecipeLink(await v3Link(p)), JSON.stringify(p)).rejects.toThrow(/recipe is damaged/);
    }
  });
  it('property: any valid recipe round-trips through a version 3 link', async () => {
    await fc.assert(
      fc.asyncProperty(validRecipe, async (r) => {
        const link = await encodeRecipeLink(r);
        expect(link.startsWith('3.')).toBe(true);
        expect(await decodeRecipeLink(link)).toEqual(r);
      }),
      { numRuns: 1000 },
    );
  });
  it('20,000 characters of task lines make a link at least 3× shorter than version 1 (measured for the report)', async () => {
    const { first, roundRobin } = suiteTexts();
    const prose = (readFileSync('README.md', 'utf8') + readFileSync('ARCHITECTURE.md', 'utf8')).slice(
      0,
      20_000,
    );
    const withText = (text: string): Recipe => ({
      ...recipe,
      states: [{ name: 'long', text }],
      mixed: [0],
      weights: [1],
    });
    const lengths = async (text: string) => {
      const r = withText(text);
      const link = await encodeRecipeLink(r);
      expect(await decodeRecipeLink(link)).toEqual(r);
      const v2 = `2.${Buffer.from(await deflateRaw(Buffer.from(JSON.stringify(r)))).toString('base64url')}`;
      expect(await decodeRecipeLink(v2)).toEqual(r);
      return { v1: v1Link(r).length, v2: v2.length, v3: link.length };
    };
    const measured: Record<string, { v1: number; v2: number; v3: number }> = {
      'suite, first 20,000 characters': await lengths(first),
      'suite, ten tasks round-robin': await lengths(roundRobin),
      'prose (README + ARCHITECTURE), 20,000': await lengths(prose),
      'suite, first 500 characters': await lengths(first.slice(0, 500)),
      'ten tasks round-robin, 500': await lengths(roundRobin.slice(0, 500)),
    };
    for (const [name, { v1, v2, v3 }] of Object.entries(measured)) {
      console.log(
        `${name}: link payload v1 ${v1}, v2 ${v2} (${(v1 / v2).toFixed(2)}×), v3 ${v3} (${(v1 / v3).toFixed(2)}×)`,
      );
      // Packing never costs more than a few characters where it finds nothing to pack.
      expect(v3).toBeLessThanOrEqual(v2 + 4);
    }
    for (const name of ['suite, first 20,000 characters', 'suite, ten tasks round-robin']) {
      const { v1, v3 } = measured[name]!;
      expect(v1 / v3, name).toBeGreaterThanOrEqual(3);
    }
  });
  it('property: any link text, and any damaged version 2 or 3 link, is a recipe or a RecipeError', async () => {
    const b64 = fc.string({
      unit: fc.constantFrom(...'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.'),
    });
    const version = fc.constantFrom(2, 3);
    const flipped = fc
      .tuple(validRecipe, fc.nat(), fc.integer({ min: 1, max: 255 }), version)
      .map(async ([r, at, x, v]) => {
        const json = JSON.stringify(r);
        const bytes = await deflateRaw(Buffer.from(v === 3 ? packText(json) : json));
        bytes[at % bytes.length]! ^= x;
        return `${v}.${Buffer.from(bytes).toString('base64url')}`;
      });
    const packedJunk = fc
      .tuple(fc.uint8Array({ maxLength: 400 }), version)
      .map(async ([b, v]) => `${v}.${Buffer.from(await deflateRaw(b)).toString('base64url')}`);
    const packedJson = fc
      .tuple(fc.jsonValue(), version)
      .map(
        async ([j, v]) =>
          `${v}.${Buffer.from(await deflateRaw(Buffer.from(JSON.stringify(j)))).toString('base64url')}`,
      );
    // A valid packed recipe with a character inserted, deleted or replaced before it is deflated.
    const editedPacked = fc
      .tuple(
        validRecipe,
        fc.nat(),
        fc.constantFrom(...'\x00\x01\x02\x03\x04\x0a\x10\x13\x1f"->aA\\'.split(''), ''),
      )
      .map(([r, at, c]) => {
        const p = packText(JSON.stringify(r));
        const i = at % p.length;
        return v3Link(p.slice(0, i) + c + p.slice(i + (at % 2)));
      });
    const t0 = performance.now();
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(
          fc.string({ unit: 'binary' }).map(async (s) => s),
          b64.map(async (s) => s),
          fc.tuple(b64, version).map(async ([s, v]) => `${v}.${s}`),
          fc.jsonValue().map(async (v) => v1Link(v)),
          packedJunk,
          packedJson,
          flipped,
          editedPacked,
        ),
        async (link) => validOrRecipeErrorAsync(async () => decodeRecipeLink(await link)),
      ),
      { numRuns: 3000 },
    );
    expect(performance.now() - t0).toBeLessThan(30_000);
  });
});
