/**
 * GPT-2's reversible byte <-> unicode table (`bytes_to_unicode` in OpenAI's encoder.py): printable
 * Latin-1 bytes map to themselves, the other 68 bytes to U+0100.. in byte order. Byte-level BPE
 * vocabularies (GPT-2, CodeGen, MOSS) spell every token with these 256 characters.
 * Deliberately not here: any BPE logic.
 */

/** The 256 bytes in GPT-2's order (printables first): GPT-2 vocab ids 0..255 are these bytes. */
export const GPT2_BYTE_ORDER: readonly number[] = (() => {
  const bs: number[] = [];
  for (let b = 0x21; b <= 0x7e; b++) bs.push(b);
  for (let b = 0xa1; b <= 0xac; b++) bs.push(b);
  for (let b = 0xae; b <= 0xff; b++) bs.push(b);
  const printable = new Set(bs);
  for (let b = 0; b < 256; b++) if (!printable.has(b)) bs.push(b);
  return bs;
})();

/** BYTE_TO_CHAR[b]: the one-character string GPT-2 uses for byte b. */
export const BYTE_TO_CHAR: readonly string[] = (() => {
  const out = new Array<string>(256);
  let n = 0;
  for (const b of GPT2_BYTE_ORDER) {
    const printable = (b >= 0x21 && b <= 0x7e) || (b >= 0xa1 && b <= 0xac) || (b >= 0xae && b <= 0xff);
    out[b] = String.fromCharCode(printable ? b : 256 + n++);
  }
  return out;
})();

/** Code unit of a byte-level character -> byte, or -1 where the character is not one of the 256. */
export const CHAR_TO_BYTE: Int16Array = (() => {
  const t = new Int16Array(324).fill(-1);
  for (let b = 0; b < 256; b++) t[BYTE_TO_CHAR[b].charCodeAt(0)] = b;
  return t;
})();

/** Bytes of a byte-level token string, or null when a character is outside the table. */
export function byteLevelToBytes(token: string): Uint8Array | null {
  const out = new Uint8Array(token.length);
  for (let i = 0; i < token.length; i++) {
    const c = token.charCodeAt(i);
    const b = c < CHAR_TO_BYTE.length ? CHAR_TO_BYTE[c] : -1;
    if (b < 0) return null;
    out[i] = b;
  }
  return out;
}

/** The byte-level spelling of some bytes. */
export function bytesToByteLevel(bytes: Uint8Array): string {
  let s = '';
  for (let i = 0; i < bytes.length; i++) s += BYTE_TO_CHAR[bytes[i]];
  return s;
}
