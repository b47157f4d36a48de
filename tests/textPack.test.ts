/**
 * textPack: the rewrite under version 3 share links. The examples are written out by hand from the format's
 * definition in the module's header; the properties check that unpacking gives back every string exactly
 * and that a damaged packed text is refused rather than read as another one.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { packText, TextPackError, unpackText } from '../src/features/share/textPack.ts';

/** A JSON string literal, as it sits inside a recipe's JSON. */
const lit = (s: string) => JSON.stringify(s);

const wellFormed = (s: string) => new TextDecoder().decode(new TextEncoder().encode(s)) === s;

/** Pieces that exercise every rule and every boundary between them. */
const piece = fc.oneof(
  { weight: 6, arbitrary: fc.constantFrom('a', 'b', 'ab', 'ba', 'abc', 'abandon', 'trace', 'x', 'y') },
  { weight: 4, arbitrary: fc.constantFrom('A', 'B', 'AB', 'ABC', 'Ab', 'Abc', 'aB', 'McDonald', 'TRACE') },
  { weight: 5, arbitrary: fc.constantFrom('->', '-', '>', '-->', '->->') },
  { weight: 4, arbitrary: fc.constantFrom('\n', '\\n', '\\', '\\\\', '"', '\\"', ' ', 'a b', 'a b c') },
  { weight: 2, arbitrary: fc.constantFrom('é', 'ß', 'Ä', 'ü', '🙂', '\ud83d', '\ude42', '_', '1', '09') },
  { weight: 2, arbitrary: fc.constantFrom('\x00', '\x01', '\x02', '\x03', '\x04', '\x10', '\x1f', '\x7f') },
  { weight: 2, arbitrary: fc.string({ unit: 'binary', maxLength: 3 }) },
);
const biased = fc.string({ unit: piece, maxLength: 40 });
/** Any UTF-16 code units, lone surrogates and control characters included. */
const codeUnits = fc.string({ unit: fc.integer({ min: 0, max: 0xffff }).map((u) => String.fromCharCode(u)) });
/** Task lines as the playground's states hold them: a word, an arrow, an answer that may repeat it. */
const taskLine = fc
  .tuple(
    fc.array(fc.constantFrom(...'abcdefghijklmnopqrstuvwxyzAZéü', '🙂', '🙃'), { maxLength: 12 }),
    fc.constantFrom('', 's', 'ed', 'ies', 'ing', 'X', '🙃'),
    fc.nat(14),
    fc.constantFrom('plain', 'upper', 'capital', 'spell', 'other'),
  )
  .map(([letters, suffix, cut, how]) => {
    const w = letters.join('');
    const stem = letters.slice(0, Math.max(0, letters.length - cut)).join('') + suffix;
    const answer =
      how === 'upper'
        ? stem.toUpperCase()
        : how === 'capital'
          ? stem.charAt(0).toUpperCase() + stem.slice(1)
          : how === 'spell'
            ? w.split('').join(' ')
            : how === 'other'
              ? 'cold'
              : stem;
    return `${w}->${answer}\n`;
  });
const taskText = fc.array(taskLine, { maxLength: 12 }).map((ls) => ls.join(''));

function roundTrips(s: string): void {
  const p = packText(s);
  expect(unpackText(p)).toBe(s);
  if (wellFormed(s)) expect(wellFormed(p)).toBe(true);
}

describe('packText by example', () => {
  it('turns the JSON escape \\n into a line feed, only where it is an escape', () => {
    expect(packText(lit('up\ndown\n'))).toBe('"up\ndown\n"');
    // `\\n` in JSON is a backslash, then the letter n: kept as it is.
    expect(packText(lit('a\\nb'))).toBe('"a\\\\nb"');
    expect(packText(lit('a\\\nb'))).toBe('"a\\\\\nb"');
  });
  it('folds ALL CAPS and Capitalized ASCII words, and nothing else', () => {
    expect(packText('HELLO World I am McDonald aB x')).toBe('\x02hello \x03world \x03i am McDonald aB x');
    expect(packText('NASA2Go_ON')).toBe('\x02nasa2\x03go_\x02on');
    expect(packText('ÄPFEL Über')).toBe('Ä\x02pfel Über');
  });
  it('writes an answer that repeats its word as the count of letters it drops', () => {
    expect(packText(lit('abandon->abandoned\n'))).toBe('"abandon->\x10ed\n"');
    expect(packText(lit('ability->abilities\n'))).toBe('"ability->\x11ies\n"');
    expect(packText(lit('aaron->AARON\n'))).toBe('"aaron->\x02\x10\n"');
    expect(packText(lit('aaron->Aaron\n'))).toBe('"aaron->\x03\x10\n"');
    expect(packText(lit('AARON->aaron\n'))).toBe('"\x02aaron->\x10\n"');
    expect(packText(lit('aaron->a a r o n\n'))).toBe('"aaron->\x04\n"');
    // Too little in common (k < 2), or too much dropped (d > 15): kept as it is.
    expect(packText(lit('hot->cold\nable->ax\n'))).toBe('"hot->cold\nable->ax\n"');
    expect(packText(lit('abcdefghijklmnopqr->ab\n'))).toBe('"abcdefghijklmnopqr->ab\n"');
    expect(packText(lit('abcdefghijklmnopq->ab\n'))).toBe('"abcdefghijklmnopq->\x1f\n"');
    // Only the first arrow of a line counts, and a quote ends a line (each JSON string stands alone).
    expect(packText('{"q":"trace->trace->traces"}')).toBe('{"q":"trace->\x10->traces"}');
    expect(packText('"up->","e":"abandon->abandoned"')).toBe('"up->","e":"abandon->\x10ed"');
    expect(packText('ab"->ab')).toBe('ab"->ab');
  });
  it('never splits a surrogate pair, so the packed text stays valid UTF-16', () => {
    expect(packText('x🙂->x🙃')).toBe('x🙂->x🙃');
    expect(packText('xy🙂->xy🙃')).toBe('xy🙂->\x12🙃');
    expect(wellFormed(packText('xy🙂->xy🙃'))).toBe(true);
  });
  it('escapes raw control characters, which JSON never holds', () => {
    expect(packText('a\x00b\x1f\\\x0a')).toBe('a\x01 b\x01?\\\x01*');
  });
});

describe('unpackText', () => {
  it('refuses what packText cannot have written, saying the text is damaged', () => {
    const damaged = [
      '\x02a', // ALL CAPS of one letter
      '\x03', // a case marker with no word
      '\x02Ab', // a case marker before capitals
      'a\x03bc', // a case marker inside a word
      'ABC', // capitals left unfolded
      'ab->\x12', // d beyond the word: nothing would be repeated
      'a->\x10', // a word too short to repeat
      'x\x10y', // an answer marker with no arrow
      'ab->c\x10', // an answer marker not where B starts
      'abandon->abandoned', // a repeat not written as one
      'a->\x04', // spelling a word too short to spell
      '->\x04',
      '\x05',
      '\x00',
      '\x01a', // an escape of a character that is no control
      '\x01', // an escape cut short
      '\\\n', // a line feed that packText would have read as the escape \\ then n
    ];
    for (const p of damaged) {
      expect(() => unpackText(p), JSON.stringify(p)).toThrow(TextPackError);
      expect(() => unpackText(p), JSON.stringify(p)).toThrow(/damaged/);
    }
  });
  it('stops at maxLength, whichever stage grows past it', () => {
    const s = lit('abandon->abandoned\n'.repeat(100));
    const p = packText(s);
    expect(unpackText(p, s.length)).toBe(s);
    for (const max of [s.length - 1, p.length]) {
      let error: unknown;
      try {
        unpackText(p, max);
      } catch (e) {
        error = e;
      }
      expect(error).toBeInstanceOf(TextPackError);
      expect((error as TextPackError).tooLong).toBe(true);
    }
  });
  it('property: unpack(pack(s)) is s for any string, and a well-formed s packs well-formed', () => {
    fc.assert(fc.property(fc.oneof(biased, codeUnits, fc.string({ unit: 'binary' }), taskText), roundTrips), {
      numRuns: 5000,
    });
  });
  it('property: the same for any JSON text of such strings, the form links carry', () => {
    fc.assert(
      fc.property(
        fc.array(fc.oneof(biased, taskText, fc.string({ unit: 'binary' })), { maxLength: 4 }),
        (ss) => roundTrips(JSON.stringify({ states: ss.map((text) => ({ text })), query: ss[0] ?? '' })),
      ),
      { numRuns: 3000 },
    );
  });
  it('property: a damaged packed text is refused, or is exactly what some text packs to', () => {
    const marker = fc.constantFrom(...'\x00\x01\x02\x03\x04\x05\x0a\x10\x11\x15\x1f"-> aAZ\\'.split(''));
    const edit = fc.tuple(fc.nat(), fc.constantFrom('insert', 'delete', 'replace'), marker);
    fc.assert(
      fc.property(
        fc.oneof(biased, taskText).map(lit),
        fc.array(edit, { minLength: 1, maxLength: 3 }),
        (s, edits) => {
          let p = packText(s);
          for (const [n, how, c] of edits) {
            const at = p.length === 0 ? 0 : n % p.length;
            p =
              how === 'insert'
                ? p.slice(0, at) + c + p.slice(at)
                : p.slice(0, at) + (how === 'replace' ? c : '') + p.slice(at + 1);
          }
          let out: string;
          try {
            out = unpackText(p);
          } catch (e) {
            expect(e).toBeInstanceOf(TextPackError);
            return;
          }
          expect(packText(out)).toBe(p);
        },
      ),
      { numRuns: 5000 },
    );
  });
});
