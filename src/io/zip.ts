/**
 * A small, strict ZIP reader for PyTorch checkpoints (APPNOTE 6.3.x): finds the end-of-central-
 * directory record (ZIP64 when sizes or counts need it), reads the central directory, and returns
 * each entry's data as a zero-copy subarray (stored entries, as torch writes them) or inflated with
 * node:zlib (deflate), bounded by the declared size. Offsets, sizes and counts are checked against
 * the file before use. Not supported: encryption, multi-disk archives, methods other than 0/8;
 * CRCs are not verified (torch's own loader does not either for stored entries).
 */
import { inflateRawSync } from 'node:zlib';
import { fail } from './errors.js';
import { Cursor, decodeUtf8 } from './cursor.js';

export interface ZipEntry {
  readonly name: string;
  readonly method: number;
  readonly compressedSize: number;
  readonly size: number;
  /** Absolute offset of the (possibly compressed) data in the archive. */
  readonly dataOffset: number;
}

export interface ZipArchive {
  readonly file: string;
  readonly entries: Map<string, ZipEntry>;
  /** The entry's bytes: a view into the archive when stored, else freshly inflated. */
  read(name: string): Uint8Array;
}

const EOCD = 0x06054b50;
const ZIP64_LOCATOR = 0x07064b50;
const ZIP64_EOCD = 0x06064b50;
const CENTRAL = 0x02014b50;
const LOCAL = 0x04034b50;

/** Opens the archive held in `bytes`; `file` names it in errors. */
export function openZip(bytes: Uint8Array, file: string): ZipArchive {
  const c = new Cursor(file, bytes);
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let eocd = -1;
  for (let p = bytes.length - 22; p >= Math.max(0, bytes.length - 22 - 65535); p--) {
    if (dv.getUint32(p, true) === EOCD && p + 22 + dv.getUint16(p + 20, true) === bytes.length) {
      eocd = p;
      break;
    }
  }
  if (eocd < 0) fail(file, 'zip end of central directory', 'not found (not a zip file, or truncated)');
  c.seek(eocd + 4, 'zip end of central directory');
  const disk = c.u16('zip disk number');
  const cdDisk = c.u16('zip central directory disk');
  if (disk !== 0 || cdDisk !== 0) fail(file, 'zip disk number', 'multi-disk archives are not supported');
  c.u16('zip entries on disk');
  let count = c.u16('zip entry count');
  let cdSize = c.u32('zip central directory size');
  let cdOffset = c.u32('zip central directory offset');
  let cdEnd = eocd;
  if (count === 0xffff || cdSize === 0xffffffff || cdOffset === 0xffffffff) {
    if (eocd < 20) fail(file, 'zip64 locator', 'missing');
    c.seek(eocd - 20, 'zip64 locator');
    if (c.u32('zip64 locator') !== ZIP64_LOCATOR) fail(file, 'zip64 locator', 'missing');
    c.u32('zip64 locator disk');
    const rec = c.u64('zip64 end of central directory offset');
    if (rec > eocd - 20 - 56) fail(file, 'zip64 end of central directory offset', `${rec} is outside the file`);
    c.seek(rec, 'zip64 end of central directory');
    if (c.u32('zip64 end of central directory') !== ZIP64_EOCD) fail(file, 'zip64 end of central directory', 'bad signature');
    c.pos += 8 + 2 + 2 + 4 + 4; // record size, versions, disk numbers
    c.u64('zip64 entries on disk');
    count = c.u64('zip64 entry count');
    cdSize = c.u64('zip64 central directory size');
    cdOffset = c.u64('zip64 central directory offset');
    cdEnd = rec;
  }
  if (cdOffset + cdSize > cdEnd) fail(file, 'zip central directory offset', `[${cdOffset}, ${cdOffset + cdSize}) is outside the file`);
  if (count * 46 > cdSize) fail(file, 'zip entry count', `${count} entries cannot fit in a ${cdSize}-byte central directory`);

  const entries = new Map<string, ZipEntry>();
  c.seek(cdOffset, 'zip central directory');
  for (let i = 0; i < count; i++) {
    const field = `zip entry #${i}`;
    if (c.u32(field) !== CENTRAL) fail(file, field, 'bad central directory signature');
    c.pos += 4; // versions
    const flags = c.u16(`${field} flags`);
    const method = c.u16(`${field} method`);
    c.pos += 8; // time, date, crc
    let csize = c.u32(`${field} compressed size`);
    let usize = c.u32(`${field} size`);
    const nlen = c.u16(`${field} name length`);
    const xlen = c.u16(`${field} extra length`);
    const klen = c.u16(`${field} comment length`);
    c.pos += 8; // disk, attributes
    let local = c.u32(`${field} local header offset`);
    const name = decodeUtf8(file, `${field} name`, c.take(nlen, `${field} name`));
    const extra = new Cursor(file, c.take(xlen, `zip entry '${name}' extra`));
    c.take(klen, `zip entry '${name}' comment`);
    while (extra.remaining >= 4) {
      const id = extra.u16('zip extra id');
      const len = extra.u16('zip extra length');
      const body = new Cursor(file, extra.take(len, `zip entry '${name}' extra field`));
      if (id !== 0x0001) continue;
      if (usize === 0xffffffff) usize = body.u64(`zip entry '${name}' zip64 size`);
      if (csize === 0xffffffff) csize = body.u64(`zip entry '${name}' zip64 compressed size`);
      if (local === 0xffffffff) local = body.u64(`zip entry '${name}' zip64 local header offset`);
    }
    const ef = `zip entry '${name}'`;
    if (flags & 1) fail(file, ef, 'is encrypted');
    if (method !== 0 && method !== 8) fail(file, `${ef} method`, `compression method ${method} is not supported`);
    if (method === 0 && csize !== usize) fail(file, `${ef} size`, `stored entry has compressed size ${csize} != size ${usize}`);
    if (entries.has(name)) fail(file, ef, 'duplicate entry name');
    if (local + 30 > cdOffset) fail(file, `${ef} local header offset`, `${local} is outside the entries area`);
    const lc = new Cursor(file, bytes, local);
    if (lc.u32(`${ef} local header`) !== LOCAL) fail(file, `${ef} local header`, 'bad signature');
    lc.pos = local + 26;
    const dataOffset = local + 30 + lc.u16(`${ef} local name length`) + lc.u16(`${ef} local extra length`);
    if (dataOffset + csize > cdOffset) fail(file, `${ef} data`, `[${dataOffset}, ${dataOffset + csize}) runs past the entries area`);
    entries.set(name, { name, method, compressedSize: csize, size: usize, dataOffset });
  }

  return {
    file,
    entries,
    read(name: string): Uint8Array {
      const e = entries.get(name);
      if (!e) return fail(file, `zip entry '${name}'`, 'not found');
      const raw = bytes.subarray(e.dataOffset, e.dataOffset + e.compressedSize);
      if (e.method === 0) return raw;
      let out: Buffer;
      try {
        out = inflateRawSync(raw, { maxOutputLength: Math.max(1, e.size) });
      } catch (err) {
        return fail(file, `zip entry '${name}'`, `cannot inflate (${(err as Error).message})`);
      }
      if (out.byteLength !== e.size) fail(file, `zip entry '${name}' size`, `inflated to ${out.byteLength} bytes, expected ${e.size}`);
      return new Uint8Array(out.buffer, out.byteOffset, out.byteLength);
    },
  };
}
