/**
 * A bounds-checked little-endian reader over a byte range. Every read checks the remaining length
 * first and names the field in its error, so parsers never read past the end or trust a count
 * before it is checked against the bytes that are actually there.
 * It does not allocate for numeric reads; `bytes` returns a view, not a copy.
 */
import { fail } from './errors.js';

const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

export class Cursor {
  readonly file: string;
  readonly bytes: Uint8Array;
  private readonly dv: DataView;
  pos: number;

  /** `bytes` is the range to parse; positions are relative to it. */
  constructor(file: string, bytes: Uint8Array, pos = 0) {
    this.file = file;
    this.bytes = bytes;
    this.dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    this.pos = pos;
  }

  get length(): number {
    return this.bytes.byteLength;
  }

  get remaining(): number {
    return this.bytes.byteLength - this.pos;
  }

  /** Throws unless `n` more bytes are available. */
  need(n: number, field: string): void {
    if (!Number.isSafeInteger(n) || n < 0 || n > this.remaining) {
      fail(this.file, field, `needs ${n} bytes at offset ${this.pos} but the file has ${this.remaining} left (truncated or corrupt)`);
    }
  }

  u8(field: string): number {
    this.need(1, field);
    return this.dv.getUint8(this.pos++);
  }

  i8(field: string): number {
    this.need(1, field);
    return this.dv.getInt8(this.pos++);
  }

  u16(field: string): number {
    this.need(2, field);
    const v = this.dv.getUint16(this.pos, true);
    this.pos += 2;
    return v;
  }

  i16(field: string): number {
    this.need(2, field);
    const v = this.dv.getInt16(this.pos, true);
    this.pos += 2;
    return v;
  }

  u32(field: string): number {
    this.need(4, field);
    const v = this.dv.getUint32(this.pos, true);
    this.pos += 4;
    return v;
  }

  i32(field: string): number {
    this.need(4, field);
    const v = this.dv.getInt32(this.pos, true);
    this.pos += 4;
    return v;
  }

  f32(field: string): number {
    this.need(4, field);
    const v = this.dv.getFloat32(this.pos, true);
    this.pos += 4;
    return v;
  }

  f64(field: string): number {
    this.need(8, field);
    const v = this.dv.getFloat64(this.pos, true);
    this.pos += 8;
    return v;
  }

  u64big(field: string): bigint {
    this.need(8, field);
    const v = this.dv.getBigUint64(this.pos, true);
    this.pos += 8;
    return v;
  }

  i64big(field: string): bigint {
    this.need(8, field);
    const v = this.dv.getBigInt64(this.pos, true);
    this.pos += 8;
    return v;
  }

  /** A u64 that must fit in a JS number (counts, sizes, offsets). */
  u64(field: string): number {
    const v = this.u64big(field);
    if (v > BigInt(Number.MAX_SAFE_INTEGER)) fail(this.file, field, `value ${v} is too large`);
    return Number(v);
  }

  /** A view of the next `n` bytes (no copy). */
  take(n: number, field: string): Uint8Array {
    this.need(n, field);
    const out = this.bytes.subarray(this.pos, this.pos + n);
    this.pos += n;
    return out;
  }

  /** `n` bytes of UTF-8 (invalid UTF-8 is an error). */
  utf8(n: number, field: string): string {
    const b = this.take(n, field);
    try {
      return utf8.decode(b);
    } catch {
      return fail(this.file, field, 'is not valid UTF-8');
    }
  }

  seek(pos: number, field: string): void {
    if (!Number.isSafeInteger(pos) || pos < 0 || pos > this.length) {
      fail(this.file, field, `offset ${pos} is outside the file (${this.length} bytes)`);
    }
    this.pos = pos;
  }
}

/** Decodes UTF-8 strictly; throws a FormatError naming `field` on invalid bytes. */
export function decodeUtf8(file: string, field: string, b: Uint8Array): string {
  try {
    return utf8.decode(b);
  } catch {
    return fail(file, field, 'is not valid UTF-8');
  }
}
