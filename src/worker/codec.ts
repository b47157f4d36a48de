/**
 * Text ↔ token ids inside the worker. With a tokenizer.json the model's BPE tokenizer is used; the tiny test
 * models have none, so their ids are the UTF-8 bytes of the text (the UI says so).
 */
import type { MambaTokenizer } from '../model/tokenizer.ts';

export interface TextCodec {
  readonly kind: 'bpe' | 'bytes';
  encode(text: string): number[];
  decode(ids: number[]): string;
  /** One token's text, for display. */
  tokenText(id: number): string;
  stopTokens: number[];
}

export function bytesCodec(vocab: number): TextCodec {
  const enc = new TextEncoder();
  const dec = new TextDecoder();
  return {
    kind: 'bytes',
    encode: (text) => Array.from(enc.encode(text)).filter((b) => b < vocab),
    decode: (ids) => dec.decode(new Uint8Array(ids.filter((i) => i < 256))),
    tokenText: (id) => (id < 128 ? String.fromCharCode(id) : `⟨${id}⟩`),
    stopTokens: [],
  };
}

export function bpeCodec(tok: MambaTokenizer): TextCodec {
  return {
    kind: 'bpe',
    encode: (text) => tok.encode(text),
    decode: (ids) => tok.decode(ids),
    tokenText: (id) => tok.decode([id]),
    stopTokens: tok.eosTokenId !== undefined ? [tok.eosTokenId] : [],
  };
}
