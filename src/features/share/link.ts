/**
 * The recipe as the text after `#r=` in a share link. Version 3 (written now) is `3.` then the recipe's JSON,
 * rewritten by `packText` (textPack.ts: newlines, letter case and repeated answers as one-character markers),
 * compressed with deflate-raw (the browser's CompressionStream), in base64url: 20,000 characters of task
 * lines make a link 3.4–3.6× shorter than version 1's. Version 2 is the same without `packText`; version 1,
 * the first links, is the JSON in base64url with no prefix. Base64url has no `.`, so version 1 never looks
 * like a versioned link, and links of every version still open.
 *
 * Decoding is bounded: the link's length, the inflated text's size and (version 3) the unpacked JSON's length
 * are capped, so a small hostile link cannot make the page allocate gigabytes (a deflate stream can expand a
 * thousandfold).
 */
import { checkRecipe, RecipeError, type Recipe } from './recipe.ts';
import { packText, TextPackError, unpackText } from './textPack.ts';

export const LINK_VERSION = 3;
/** Longer than any browser keeps in an address bar; refused before decoding. */
export const MAX_LINK_CHARS = 2_000_000;
/**
 * The inflated text of a version 2 or 3 link may not exceed this many bytes, nor a version 3 link's unpacked
 * JSON this many characters.
 */
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
  const packed = new TextEncoder().encode(packText(JSON.stringify(r)));
  const deflated = await transform(new CompressionStream('deflate-raw'), packed, Infinity);
  return `${LINK_VERSION}.${toBase64Url(deflated)}`;
}

function utf8(bytes: Uint8Array): string {
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    throw new RecipeError(DAMAGED);
  }
}

async function inflate(base64: string): Promise<string> {
  const deflated = fromBase64Url(base64);
  let bytes: Uint8Array;
  try {
    bytes = await transform(new DecompressionStream('deflate-raw'), deflated, MAX_RECIPE_BYTES);
  } catch (e) {
    throw e instanceof RecipeError ? e : new RecipeError(DAMAGED);
  }
  return utf8(bytes);
}

function unpack(packed: string): string {
  try {
    return unpackText(packed, MAX_RECIPE_BYTES);
  } catch (e) {
    if (!(e instanceof TextPackError)) throw e;
    throw new RecipeError(
      e.tooLong
        ? `The link’s recipe is longer than ${MAX_RECIPE_BYTES} characters once unpacked; it is refused.`
        : DAMAGED,
    );
  }
}

/** The recipe's JSON text carried by a link of any version. */
async function linkJson(s: string): Promise<string> {
  const dot = s.indexOf('.');
  const version = dot < 0 ? 1 : Number(s.slice(0, dot));
  if (version === 1) return utf8(fromBase64Url(s));
  if (version === 2) return inflate(s.slice(dot + 1));
  if (version === 3) return unpack(await inflate(s.slice(dot + 1)));
  if (Number.isInteger(version) && version > LINK_VERSION) {
    throw new RecipeError(
      'The link was made by a newer version of the playground; reload the page to update.',
    );
  }
  throw new RecipeError(DAMAGED);
}

/** Reads the text after `#r=` of any link version; a bad link is a `RecipeError` saying what to do. */
export async function decodeRecipeLink(s: string): Promise<Recipe> {
  if (s.length > MAX_LINK_CHARS) throw new RecipeError('The link is too long to be a recipe; it is refused.');
  const json = await linkJson(s);
  let raw: unknown;
  try {
    raw = JSON.parse(json);
  } catch {
    throw new RecipeError(DAMAGED);
  }
  try {
    return checkRecipe(raw);
  } catch (e) {
    throw new RecipeError(`The link’s recipe cannot be used: ${(e as Error).message}`);
  }
}
