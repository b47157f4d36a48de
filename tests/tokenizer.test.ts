import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { MambaTokenizer } from '../src/model/tokenizer.ts';
import { TokenizerError } from '../src/model/errors.ts';
import { FIXTURES_DIR } from './helpers/fixtures.ts';

const dir = join(FIXTURES_DIR, 'gpt-neox-tokenizer');
const expected = JSON.parse(readFileSync(join(dir, 'expected.json'), 'utf8')) as {
  cases: { text: string; ids: number[]; decoded: string }[];
};
const tok = MambaTokenizer.fromJSON(readFileSync(join(dir, 'tokenizer.json'), 'utf8'));

describe('GPT-NeoX tokenizer through @huggingface/tokenizers', () => {
  it('has 17 reference cases to check', () => {
    expect(expected.cases.length).toBe(17);
  });
  for (const c of expected.cases) {
    it(`encodes ${JSON.stringify(c.text).slice(0, 40)} to the Rust library's ids and decodes it back`, () => {
      expect(tok.encode(c.text)).toEqual(c.ids);
      expect(tok.decode(c.ids)).toBe(c.decoded);
    });
  }

  it('decodes an empty id list to an empty string instead of throwing', () => {
    expect(tok.decode([])).toBe('');
  });

  it('knows 50277 ids (the model pads its embedding to 50280) and <|endoftext|> = 0', () => {
    expect(tok.vocabSize).toBe(50277);
    expect(tok.eosTokenId).toBe(0);
  });

  it('streams generated ids into the same text, holding back partial UTF-8 characters', () => {
    for (const c of expected.cases) {
      const dec = tok.streamDecoder();
      let text = '';
      const deltas: string[] = [];
      for (const id of c.ids) {
        const d = dec.push(id);
        deltas.push(d);
        text += d;
        expect(d.includes('\uFFFD')).toBe(false);
      }
      text += dec.flush();
      expect(text).toBe(c.decoded);
      expect(dec.text).toBe(c.decoded);
    }
  });

  it('emits nothing for a token that ends in half a character', () => {
    const ids = tok.encode('🙂');
    expect(ids.length).toBeGreaterThan(1); // the emoji spans several byte-level tokens
    const dec = tok.streamDecoder();
    const first = ids.slice(0, -1).map((id) => dec.push(id));
    expect(first.join('')).toBe('');
    expect(dec.push(ids[ids.length - 1]!)).toBe('🙂');
  });

  it('refuses a file that is not a tokenizer with a message naming it', () => {
    expect(() => MambaTokenizer.fromJSON('{"foo": 1}', 'my/tokenizer.json')).toThrow(TokenizerError);
    expect(() => MambaTokenizer.fromJSON('{"foo": 1}', 'my/tokenizer.json')).toThrow(
      /my\/tokenizer.json is not a Hugging Face tokenizer file/,
    );
    expect(() => MambaTokenizer.fromJSON('{not json', 'x/tokenizer.json')).toThrow(
      /x\/tokenizer.json is not valid JSON/,
    );
  });
});
