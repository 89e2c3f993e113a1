/**
 * The tokenizer contract every layer above uses (chat format, generation, training, serving).
 * Implementations: byte-level BPE (GPT-2 / CodeGen / MOSS) and SentencePiece-style BPE.
 */

/** Whether special/added control tokens written in the text become their ids. */
export type SpecialMode = 'allow' | 'none';

export interface EncodeOptions {
  /** 'allow': `<eoh>` in the text becomes the control token; 'none' (default): plain text. */
  readonly special?: SpecialMode;
  /** Prepend BOS where the tokenizer has one and the model expects it (SentencePiece). Default false. */
  readonly addBos?: boolean;
}

export interface DecodeOptions {
  /** Leave out control tokens (BOS/EOS, `<eom>`, …) instead of printing their text. Default false. */
  readonly skipSpecial?: boolean;
}

export interface Tokenizer {
  readonly vocabSize: number;
  readonly bosId: number | null;
  readonly eosId: number | null;
  encode(text: string, opts?: EncodeOptions): number[];
  /** Decodes ids; invalid UTF-8 becomes U+FFFD. Special tokens are printed as their text. */
  decode(ids: readonly number[], opts?: DecodeOptions): string;
  /** The token string for an id (byte-level form for BPE), or undefined. */
  idToToken(id: number): string | undefined;
  tokenToId(token: string): number | undefined;
  /** A decoder that buffers incomplete UTF-8 across tokens (for streaming output). */
  streamDecoder(opts?: DecodeOptions): StreamDecoder;
  /** Whether an id is a control (special) token. */
  isSpecial(id: number): boolean;
}

export interface StreamDecoder {
  /** Text completed by this token (may be empty while a character is incomplete). */
  push(id: number): string;
  /** Whatever is still buffered, with invalid bytes as U+FFFD. */
  flush(): string;
}
