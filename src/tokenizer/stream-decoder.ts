/**
 * Streaming detokenization: token bytes go through a streaming UTF-8 decoder, so a character whose
 * bytes span tokens (Chinese in byte-level BPE, <0xNN> pieces in SentencePiece) is printed once
 * complete; invalid bytes become U+FFFD exactly as a one-shot decode would.
 * Deliberately not here: tokenizer-specific text rules (the caller's `bytesOf` applies them).
 */
import type { StreamDecoder } from './types.js';

/** A StreamDecoder over a function giving each id's bytes (it may keep state, e.g. "first token"). */
export class Utf8StreamDecoder implements StreamDecoder {
  private readonly dec = new TextDecoder('utf-8', { fatal: false, ignoreBOM: true });

  constructor(private readonly bytesOf: (id: number) => Uint8Array) {}

  push(id: number): string {
    return this.dec.decode(this.bytesOf(id), { stream: true });
  }

  flush(): string {
    return this.dec.decode();
  }
}

/** Concatenates byte arrays. */
export function concatBytes(parts: readonly Uint8Array[]): Uint8Array {
  let n = 0;
  for (const p of parts) n += p.length;
  const out = new Uint8Array(n);
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}
