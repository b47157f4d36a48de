/**
 * The model's tokenizer, from its `tokenizer.json`, through `@huggingface/tokenizers` (the Hugging Face
 * implementation in JavaScript), never a hand-written BPE. Mamba checkpoints use the GPT-NeoX byte-level BPE.
 * encode adds no special tokens (Mamba has no BOS convention); decode skips special tokens, as the Rust
 * library's `decode` does by default, and returns '' for an empty list (the library throws on one).
 */
import { Tokenizer } from '@huggingface/tokenizers';
import { TokenizerError } from './errors.ts';

export class MambaTokenizer {
  private constructor(
    private readonly tok: Tokenizer,
    /** Number of ids the tokenizer knows (may be below the model's padded vocab_size: 50277 vs 50280). */
    readonly vocabSize: number,
    readonly eosTokenId: number | undefined,
  ) {}

  /** Builds a tokenizer from the parsed or raw text of `tokenizer.json`; `file` names it in errors. */
  static fromJSON(json: unknown, file = 'tokenizer.json'): MambaTokenizer {
    let raw = json;
    if (typeof raw === 'string') {
      try {
        raw = JSON.parse(raw);
      } catch {
        throw new TokenizerError(`${file} is not valid JSON; the file is corrupt. Download it again.`);
      }
    }
    if (typeof raw !== 'object' || raw === null || !('model' in raw)) {
      throw new TokenizerError(
        `${file} is not a Hugging Face tokenizer file (it has no "model"); use the tokenizer.json of the checkpoint.`,
      );
    }
    let tok: Tokenizer;
    try {
      tok = new Tokenizer(raw, {});
    } catch (e) {
      throw new TokenizerError(`${file} could not be loaded: ${(e as Error).message}`);
    }
    const vocab = tok.get_vocab(true);
    let maxId = -1;
    for (const id of vocab.values()) maxId = Math.max(maxId, id);
    return new MambaTokenizer(tok, maxId + 1, tok.token_to_id('<|endoftext|>'));
  }

  /** Text to token ids, without special tokens added. */
  encode(text: string): number[] {
    if (text === '') return [];
    return this.tok.encode(text, { add_special_tokens: false }).ids;
  }

  /** Token ids to text; special tokens (end of text) are left out. */
  decode(ids: ArrayLike<number>): string {
    if (ids.length === 0) return '';
    return this.tok.decode(Array.from(ids), { skip_special_tokens: true });
  }

  /** The token's string in the vocabulary (byte-level form, e.g. "Ġworld"), for per-token views. */
  idToToken(id: number): string | undefined {
    return this.tok.id_to_token(id);
  }

  /** A decoder for tokens that arrive one at a time during generation. */
  streamDecoder(): StreamingDecoder {
    return new StreamingDecoder((ids) => this.decode(ids));
  }
}

/**
 * Turns a growing list of generated ids into text deltas. A byte-level BPE token can hold part of a UTF-8
 * character (emoji, CJK), which decodes to U+FFFD until the rest arrives, so text is held back until it
 * decodes cleanly. Only a short window of ids is re-decoded each step (the ids since the last emitted text,
 * plus the ones before as context, because decoding can depend on the previous token), so the cost per token
 * stays constant.
 */
export class StreamingDecoder {
  private ids: number[] = [];
  private prefixOffset = 0;
  private readOffset = 0;
  private emitted = '';

  constructor(private readonly decodeFn: (ids: number[]) => string) {}

  /** Adds one id and returns the text it completes ('' while a character is still partial). */
  push(id: number): string {
    this.ids.push(id);
    const prefix = this.decodeFn(this.ids.slice(this.prefixOffset, this.readOffset));
    const full = this.decodeFn(this.ids.slice(this.prefixOffset));
    if (full.length > prefix.length && !full.endsWith('\uFFFD')) {
      const delta = full.slice(prefix.length);
      this.prefixOffset = this.readOffset;
      this.readOffset = this.ids.length;
      this.emitted += delta;
      return delta;
    }
    return '';
  }

  /** Text still held back at the end of generation (a partial character decodes to U+FFFD). */
  flush(): string {
    const prefix = this.decodeFn(this.ids.slice(this.prefixOffset, this.readOffset));
    const full = this.decodeFn(this.ids.slice(this.prefixOffset));
    this.prefixOffset = this.readOffset = this.ids.length;
    const delta = full.slice(prefix.length);
    this.emitted += delta;
    return delta;
  }

  /** Everything emitted so far. */
  get text(): string {
    return this.emitted;
  }
}
