/**
 * The recipe as the text after `#r=` in a share link. Version 2 (written now) is `2.` then the recipe's JSON
 * compressed with deflate-raw (the browser's CompressionStream) in base64url: a long state text makes a link
 * about a third the length of version 1's. Version 1, the first links, is the JSON in base64url with no
 * prefix; base64url has no `.`, so the two never collide, and version 1 links still open.
 *
 * Decoding is bounded: the link's length and the inflated JSON's size are capped, so a small hostile link
 * cannot make the page allocate gigabytes (a deflate stream can expand a thousandfold).
 */
import { checkRecipe, RecipeError, type Recipe } from './recipe.ts';

export const LINK_VERSION = 2;
/** Longer than any browser keeps in an address bar; refused before decoding. */
export const MAX_LINK_CHARS = 2_000_000;
/** The inflated JSON of a version 2 link may not exceed this many bytes. */
export const MAX_RECIPE_BYTES = 8 * 1024 * 1024;

const DAMAGED = 'The link’s recipe is damaged (it could not be decoded). Ask for the link again.';

function toBase64Url(bytes: Uint8Array): string {
  let s = '';
  // Chunks keep String.fromCharCode's argument list short.
  for (let i = 0; i < bytes.length; i += 0x8000) s += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(s).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

function fromBase64Url(s: string): Uint8Array {
  if (!/^[A-Za-z0-9_-]*$/.test(s) || s.length % 4 === 1) throw new RecipeError(DAMAGED);
  let b: string;
  try {
    b = atob(s.replace(/-/g, '+').replace(/_/g, '/'));
  } catch {
    throw new RecipeError(DAMAGED);
  }
  return Uint8Array.from(b, (c) => c.charCodeAt(0));
}

async function collect(stream: ReadableStream<Uint8Array>, limit: number): Promise<Uint8Array> {
  const reader = stream.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.length;
    if (size > limit) {
      await reader.cancel().catch(() => {});
      throw new RecipeError(`The link’s recipe is larger than ${limit} bytes once unpacked; it is refused.`);
    }
    chunks.push(value);
  }
  const out = new Uint8Array(size);
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.length;
  }
  return out;
}

/** Pushes `bytes` through a (de)compression stream, reading at most `limit` bytes out. */
async function transform(
  stream: CompressionStream | DecompressionStream,
  bytes: Uint8Array,
  limit: number,
): Promise<Uint8Array> {
  const writer = stream.writable.getWriter();
  // The writer's promises reject too when the data is bad; the reader reports it, so they are only observed.
  const written = writer
    .write(bytes as Uint8Array<ArrayBuffer>)
    .then(() => writer.close())
    .catch(() => {});
  try {
    return await collect(stream.readable as ReadableStream<Uint8Array>, limit);
  } finally {
    await written;
  }
}

export async function encodeRecipeLink(r: Recipe): Promise<string> {
  const json = new TextEncoder().encode(JSON.stringify(r));
  const packed = await transform(new CompressionStream('deflate-raw'), json, Infinity);
  return `${LINK_VERSION}.${toBase64Url(packed)}`;
}

/** Reads the text after `#r=` of any link version; a bad link is a `RecipeError` saying what to do. */
export async function decodeRecipeLink(s: string): Promise<Recipe> {
  if (s.length > MAX_LINK_CHARS) throw new RecipeError('The link is too long to be a recipe; it is refused.');
  const dot = s.indexOf('.');
  const version = dot < 0 ? 1 : Number(s.slice(0, dot));
  let json: Uint8Array;
  if (version === 1) {
    json = fromBase64Url(s);
  } else if (version === LINK_VERSION) {
    const packed = fromBase64Url(s.slice(dot + 1));
    try {
      json = await transform(new DecompressionStream('deflate-raw'), packed, MAX_RECIPE_BYTES);
    } catch (e) {
      throw e instanceof RecipeError ? e : new RecipeError(DAMAGED);
    }
  } else if (Number.isInteger(version) && version > LINK_VERSION) {
    throw new RecipeError(
      'The link was made by a newer version of the playground; reload the page to update.',
    );
  } else {
    throw new RecipeError(DAMAGED);
  }
  let raw: unknown;
  try {
    raw = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(json));
  } catch {
    throw new RecipeError(DAMAGED);
  }
  try {
    return checkRecipe(raw);
  } catch (e) {
    throw new RecipeError(`The link’s recipe cannot be used: ${(e as Error).message}`);
  }
}
