/**
 * A reversible rewrite of a recipe's JSON text before it is deflated into a version 3 share link.
 *
 * Why: deflate alone makes a 20,000-character text of task lines (`abandon->abandoned`, `trace->TRACE`) only
 * about 2.5× shorter than the plain base64 of version 1. Such text repeats itself in ways deflate cannot see:
 * every line ends in the two characters `\n` of a JSON escape, the same word comes in three cases, and the
 * answer of a line mostly repeats its input. Spelling those out as single marker characters before deflate
 * makes the link 3.4–3.6× shorter than version 1 on the bundled model's tasks.
 *
 * The markers are the characters U+0000–U+001F, which `JSON.stringify` never writes (it escapes them), so the
 * rewrite needs no escaping for JSON text. Three layers, applied in this order:
 *
 * 1. Newlines. The JSON escape `\n` becomes a raw line feed. Escapes are read left to right, so in `\\n` the
 *    pair `\\` is kept and `n` is a letter. A raw control character in the input (never in JSON, but the
 *    rewrite takes any string) is written as U+0001 and then the character plus 0x20.
 * 2. Case. In each ASCII word (a maximal run of A–Z and a–z), ALL CAPS of two letters or more becomes U+0002
 *    and the word in lower case, a Capitalized word (one capital, then only small letters) U+0003 and the
 *    word in lower case; other words are kept.
 * 3. Answers. In a line holding `->` (a line ends at a line feed or a `"`, so each JSON string's lines stand
 *    alone), A is the text before the first arrow and B the rest of the line; a case marker at the start of
 *    either is not part of it. If B starts with k ≥ 2 characters of A and A has d ≤ 15 more, those k
 *    characters of B become the one character U+0010 + d (`abandon->abandoned` is `abandon->\x10ed`,
 *    `trace->TRACE` is `trace->\x02\x10`); k never ends inside a surrogate pair. Otherwise, if B starts with
 *    A spelled out (A of two characters or more, a space between each), that becomes U+0004
 *    (`aaron->a a r o n` is `aaron->\x04`).
 *
 * Guarantees: `unpackText(packText(s)) === s` for every string s (the property tests feed it arbitrary
 * ones). `unpackText` is strict: it accepts exactly the texts `packText` writes, checked in the end by
 * packing its result again, so a damaged text is a `TextPackError`, never a different text; and it stops
 * with a `TextPackError` (`tooLong`) as soon as any stage would exceed `maxLength` characters. A well-formed
 * string (no lone surrogate) packs into a well-formed one, so the packed text survives UTF-8.
 */

export class TextPackError extends Error {
  constructor(
    message: string,
    /** The text was refused for its unpacked size, not for its form. */
    readonly tooLong = false,
  ) {
    super(message);
    this.name = 'TextPackError';
  }
}

const ESCAPE = '\x01';
const ALL_CAPS = '\x02';
const CAPITALIZED = '\x03';
const SPELLED = '\x04';
const DELTA_BASE = 0x10;
const MAX_DELTA = 15;
const MIN_SHARED = 2;

/* eslint-disable no-control-regex -- control characters are this module's markers */
const ESCAPE_OR_CONTROL = /\\[\s\S]|[\x00-\x1f]/g;
const PACKED_NEWLINE_OR_CONTROL = /\n|\x01[\s\S]?|[\x00-\x1f]/g;
const MARKED_WORD = /[\x02\x03][A-Za-z]*/g;
/** A line of layer 3: JSON strings end at `"`, so a line never runs from one into the next. */
const LINE = /[^\n"]+/g;
const ANSWER_MARKER = /[\x04\x10-\x1f]/;
const NOT_A_PACKED_CONTROL = /[\x00\x05-\x09\x0b-\x0f]/;
/* eslint-enable no-control-regex */

const isHighSurrogate = (u: number) => u >= 0xd800 && u <= 0xdbff;
const isCaseMarker = (c: string | undefined) => c === ALL_CAPS || c === CAPITALIZED;
const escapeControl = (c: string) => ESCAPE + String.fromCharCode(c.charCodeAt(0) + 0x20);

function packNewlines(s: string): string {
  return s.replace(ESCAPE_OR_CONTROL, (m) => {
    if (m === '\\n') return '\n';
    if (m.length === 1) return escapeControl(m);
    return m.charCodeAt(1) < 0x20 ? `\\${escapeControl(m.charAt(1))}` : m;
  });
}

function unpackNewlines(p: string, maxLength: number): string {
  // Each line feed grows back into two characters: the size is known before anything is built.
  let grown = p.length;
  for (let at = p.indexOf('\n'); at >= 0; at = p.indexOf('\n', at + 1)) grown++;
  if (grown > maxLength) throw tooLong(maxLength);
  return p.replace(PACKED_NEWLINE_OR_CONTROL, (m) => {
    if (m === '\n') return '\\n';
    const c = m.length === 2 ? m.charCodeAt(1) - 0x20 : -1;
    if (m.charAt(0) !== ESCAPE || c < 0 || c >= 0x20) throw damaged('a control character out of place');
    return String.fromCharCode(c);
  });
}

function packCase(s: string): string {
  return s.replace(/[A-Za-z]+/g, (w) => {
    if (/^[A-Z][a-z]*$/.test(w)) return CAPITALIZED + w.toLowerCase();
    if (w.length >= 2 && /^[A-Z]+$/.test(w)) return ALL_CAPS + w.toLowerCase();
    return w;
  });
}

function unpackCase(p: string): string {
  return p.replace(MARKED_WORD, (m) => {
    const marker = m.charAt(0);
    const word = m.slice(1);
    if (!/^[a-z]+$/.test(word) || (marker === ALL_CAPS && word.length < 2)) {
      throw damaged('a case marker without its word');
    }
    return marker === ALL_CAPS ? word.toUpperCase() : word.charAt(0).toUpperCase() + word.slice(1);
  });
}

/** A line's answer: where B's body starts (after the arrow and B's case marker), and A's body. */
interface Answer {
  at: number;
  a: string;
}

function answerOf(line: string): Answer | undefined {
  const arrow = line.indexOf('->');
  if (arrow < 0) return undefined;
  const at = isCaseMarker(line.charAt(arrow + 2)) ? arrow + 3 : arrow + 2;
  const a = isCaseMarker(line.charAt(0)) ? line.slice(1, arrow) : line.slice(0, arrow);
  return { at, a };
}

/** Whether `line` holds A spelled out (its characters with a space between each) at `at`. */
function spelledAt(line: string, at: number, a: string): boolean {
  if (a.length < MIN_SHARED || line.length - at < 2 * a.length - 1) return false;
  for (let i = 0; i < a.length; i++) {
    if (line.charAt(at + 2 * i) !== a.charAt(i)) return false;
    if (i > 0 && line.charAt(at + 2 * i - 1) !== ' ') return false;
  }
  return true;
}

function packAnswer(line: string): string {
  const answer = answerOf(line);
  if (!answer) return line;
  const { at, a } = answer;
  let k = 0;
  while (k < a.length && line.charAt(at + k) === a.charAt(k)) k++;
  // Never keep half of a surrogate pair: the packed text must stay valid UTF-16 to travel as UTF-8.
  if (k > 0 && isHighSurrogate(a.charCodeAt(k - 1))) k--;
  const d = a.length - k;
  if (k >= MIN_SHARED && d <= MAX_DELTA) {
    return line.slice(0, at) + String.fromCharCode(DELTA_BASE + d) + line.slice(at + k);
  }
  if (spelledAt(line, at, a)) return line.slice(0, at) + SPELLED + line.slice(at + 2 * a.length - 1);
  return line;
}

/** The line with its answer marker expanded, or `undefined` when that would pass `budget` characters. */
function unpackAnswer(line: string, budget: number): string | undefined {
  const answer = answerOf(line);
  if (!answer) return line;
  const { at, a } = answer;
  const marker = line.charAt(at);
  const d = line.charCodeAt(at) - DELTA_BASE;
  if (marker !== SPELLED && !(d >= 0 && d <= MAX_DELTA)) return line;
  if (a.length < MIN_SHARED) throw damaged('an answer marker after a word too short to repeat');
  const spelled = marker === SPELLED;
  if (!spelled && a.length - d < MIN_SHARED) throw damaged('an answer that repeats more than its line holds');
  if (line.length - 1 + (spelled ? 2 * a.length - 1 : a.length - d) > budget) return undefined;
  const repeated = spelled ? a.split('').join(' ') : a.slice(0, a.length - d);
  return line.slice(0, at) + repeated + line.slice(at + 1);
}

function packAnswers(s: string): string {
  return s.replace(LINE, packAnswer);
}

function unpackAnswers(p: string, maxLength: number): string {
  let size = p.length;
  if (size > maxLength) throw tooLong(maxLength);
  return p.replace(LINE, (packed) => {
    const line = unpackAnswer(packed, maxLength - size + packed.length);
    if (line === undefined) throw tooLong(maxLength);
    if (ANSWER_MARKER.test(line)) throw damaged('an answer marker out of place');
    size += line.length - packed.length;
    return line;
  });
}

function damaged(what: string): TextPackError {
  return new TextPackError(`The packed text is damaged: ${what}.`);
}

function tooLong(maxLength: number): TextPackError {
  return new TextPackError(`The packed text unpacks to more than ${maxLength} characters.`, true);
}

/** Rewrites any string into the packed form described above. */
export function packText(s: string): string {
  return packAnswers(packCase(packNewlines(s)));
}

/** The inverse of `packText`; anything `packText` cannot have written is a `TextPackError`. */
export function unpackText(p: string, maxLength = Infinity): string {
  if (NOT_A_PACKED_CONTROL.test(p)) throw damaged('a control character that is no marker');
  const s = unpackNewlines(unpackCase(unpackAnswers(p, maxLength)), maxLength);
  // The layers above refuse what is impossible; this refuses what is merely not canonical (a word left in
  // capitals, a repeat not written as one), so every accepted text stands for exactly one original.
  if (packText(s) !== p) throw damaged('it is not in the form the playground writes');
  return s;
}
