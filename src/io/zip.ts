/**
 * A small, strict ZIP reader for PyTorch checkpoints (APPNOTE 6.3.x) of any size: finds the
 * end-of-central-directory record (ZIP64 when sizes, counts or offsets need it), reads the central
 * directory and local headers with small reads, and hands out each entry's data as a window of
 * the archive (mapped when the source is a file, so a 10 GB shard is never one buffer) or, for
 * deflated entries, inflated into one buffer of exactly the size the caller needs, never more
 * than `limit` (so a lying or honestly huge entry cannot blow memory up before it is refused).
 * Offsets, sizes and counts are checked against the file before use.
 * Not supported: encryption, multi-disk archives, methods other than 0/8, a single entry past one
 * buffer (4 GiB); CRCs are not verified (torch's own loader does not either for stored entries).
 */
import { inflateRawSync } from 'node:zlib';
import type { Storage } from '../backends/backend.js';
import { fail } from './errors.js';
import { Cursor, decodeUtf8 } from './cursor.js';
import { memorySource, storageBytes, type ByteSource } from './file-storage.js';

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
  /**
   * The first `length` bytes of the entry (all of it when omitted) as a Storage: a window of the
   * archive when stored, else inflated into a buffer of exactly that size (a deflated entry must
   * hold exactly `length`). Refuses entries shorter than `length` and lengths past `limit`
   * (default: one buffer) before touching the data; inflating stops at `length` bytes.
   */
  storage(name: string, length?: number, limit?: number): Storage;
  /** Like `storage`, as bytes. */
  read(name: string, length?: number, limit?: number): Uint8Array;
}

const EOCD = 0x06054b50;
const ZIP64_LOCATOR = 0x07064b50;
const ZIP64_EOCD = 0x06064b50;
const CENTRAL = 0x02014b50;
const LOCAL = 0x04034b50;

/** Largest entry handed out as one buffer (Node 20's ArrayBuffer limit). */
export const ONE_BUFFER = 2 ** 32 - 1;
/** Largest central directory read into memory (~4 million entries). */
const MAX_DIRECTORY = 256 * 2 ** 20;

/** Opens the archive in `src` (a ByteSource, or bytes in memory named `file`). */
export function openZip(src: ByteSource | Uint8Array, file?: string): ZipArchive {
  const s: ByteSource = src instanceof Uint8Array ? memorySource(src, file ?? 'zip') : src;
  file = s.file;
  const size = s.size;
  const at = (offset: number, length: number, field: string): Cursor => {
    const b = s.read(offset, length);
    if (b.length < length) fail(file, field, `needs ${length} bytes at offset ${offset} but the file has ${Math.max(0, size - offset)} left (truncated or corrupt)`);
    return new Cursor(file, b);
  };
  const tailStart = Math.max(0, size - 22 - 65535);
  const tail = s.read(tailStart, size - tailStart);
  const dv = new DataView(tail.buffer, tail.byteOffset, tail.byteLength);
  let eocdRel = -1;
  for (let p = tail.length - 22; p >= 0; p--) {
    if (dv.getUint32(p, true) === EOCD && p + 22 + dv.getUint16(p + 20, true) === tail.length) {
      eocdRel = p;
      break;
    }
  }
  if (eocdRel < 0) fail(file, 'zip end of central directory', 'not found (not a zip file, or truncated)');
  const eocd = tailStart + eocdRel;
  const c = new Cursor(file, tail, eocdRel + 4);
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
    const l = at(eocd - 20, 20, 'zip64 locator');
    if (l.u32('zip64 locator') !== ZIP64_LOCATOR) fail(file, 'zip64 locator', 'missing');
    l.u32('zip64 locator disk');
    const rec = l.u64('zip64 end of central directory offset');
    if (rec > eocd - 20 - 56) fail(file, 'zip64 end of central directory offset', `${rec} is outside the file`);
    const z = at(rec, 56, 'zip64 end of central directory');
    if (z.u32('zip64 end of central directory') !== ZIP64_EOCD) fail(file, 'zip64 end of central directory', 'bad signature');
    z.pos += 8 + 2 + 2 + 4 + 4; // record size, versions, disk numbers
    z.u64('zip64 entries on disk');
    count = z.u64('zip64 entry count');
    cdSize = z.u64('zip64 central directory size');
    cdOffset = z.u64('zip64 central directory offset');
    cdEnd = rec;
  }
  if (cdOffset + cdSize > cdEnd) fail(file, 'zip central directory offset', `[${cdOffset}, ${cdOffset + cdSize}) is outside the file`);
  if (count * 46 > cdSize) fail(file, 'zip entry count', `${count} entries cannot fit in a ${cdSize}-byte central directory`);
  if (cdSize > MAX_DIRECTORY) fail(file, 'zip central directory size', `${cdSize} bytes is more than the ${MAX_DIRECTORY}-byte limit`);

  const entries = new Map<string, ZipEntry>();
  const cd = at(cdOffset, cdSize, 'zip central directory');
  for (let i = 0; i < count; i++) {
    const field = `zip entry #${i}`;
    if (cd.u32(field) !== CENTRAL) fail(file, field, 'bad central directory signature');
    cd.pos += 4; // versions
    const flags = cd.u16(`${field} flags`);
    const method = cd.u16(`${field} method`);
    cd.pos += 8; // time, date, crc
    let csize = cd.u32(`${field} compressed size`);
    let usize = cd.u32(`${field} size`);
    const nlen = cd.u16(`${field} name length`);
    const xlen = cd.u16(`${field} extra length`);
    const klen = cd.u16(`${field} comment length`);
    cd.pos += 8; // disk, attributes
    let local = cd.u32(`${field} local header offset`);
    const name = decodeUtf8(file, `${field} name`, cd.take(nlen, `${field} name`));
    const extra = new Cursor(file, cd.take(xlen, `zip entry '${name}' extra`));
    cd.take(klen, `zip entry '${name}' comment`);
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
    const lc = at(local, 30, `${ef} local header`);
    if (lc.u32(`${ef} local header`) !== LOCAL) fail(file, `${ef} local header`, 'bad signature');
    lc.pos = 26;
    const dataOffset = local + 30 + lc.u16(`${ef} local name length`) + lc.u16(`${ef} local extra length`);
    if (dataOffset + csize > cdOffset) fail(file, `${ef} data`, `[${dataOffset}, ${dataOffset + csize}) runs past the entries area`);
    entries.set(name, { name, method, compressedSize: csize, size: usize, dataOffset });
  }

  const storage = (name: string, length?: number, limit = ONE_BUFFER): Storage => {
    const e = entries.get(name);
    const ef = `zip entry '${name}'`;
    if (!e) return fail(file, ef, 'not found');
    const n = length ?? e.size;
    if (n > e.size) fail(file, ef, `has ${e.size} bytes, ${n} are needed`);
    if (n > limit) fail(file, ef, `${n} bytes is more than the ${limit}-byte limit for this entry`);
    if (n === 0) return { buffer: new ArrayBuffer(0), byteOffset: 0, byteLength: 0 };
    if (e.method === 0) return s.window(e.dataOffset, n);
    // a deflated stream cannot be cut short cleanly: the bytes needed must be the whole entry
    if (n !== e.size) fail(file, ef, `is deflated to hold ${e.size} bytes, but exactly ${n} are needed`);
    const raw = s.window(e.dataOffset, e.compressedSize);
    let out: Buffer;
    try {
      // one output chunk of exactly n bytes: no concatenation, so the peak is n (plus the input window)
      out = inflateRawSync(storageBytes(raw), { maxOutputLength: n, chunkSize: Math.max(64, n)});
    } catch (err) {
      return fail(file, ef, `cannot inflate (${(err as Error).message})`);
    }
    if (out.byteLength < n) fail(file, `${ef} size`, `inflated to ${out.byteLength} bytes, ${n} are needed`);
    return { buffer: out.buffer as ArrayBuffer, byteOffset: out.byteOffset, byteLength: n };
  };
  return { file, entries, storage, read: (name, length, limit) => storageBytes(storage(name, length, limit)) };
}

/**
 * For a zip whose end was cut off (no central directory): walks the local headers from the start
 * and returns the complete entries and the first one whose data runs past the end of the file.
 * Used only to name what was lost in an error message; returns null when the walk finds nothing.
 */
export function scanTruncated(s: ByteSource): { archive: ZipArchive; cut: ZipEntry } | null {
  const entries = new Map<string, ZipEntry>();
  let pos = 0;
  for (let i = 0; i < 1_000_000 && pos + 30 <= s.size; i++) {
    const h = s.read(pos, 30);
    const dv = new DataView(h.buffer, h.byteOffset, 30);
    if (dv.getUint32(0, true) !== LOCAL) return null;
    const flags = dv.getUint16(6, true);
    const method = dv.getUint16(8, true);
    let csize = dv.getUint32(18, true);
    let usize = dv.getUint32(22, true);
    const nlen = dv.getUint16(26, true);
    const xlen = dv.getUint16(28, true);
    if (flags & 8) return null; // sizes only in a data descriptor after the data: cannot walk
    const nx = s.read(pos + 30, nlen + xlen);
    if (nx.length < nlen + xlen) return null;
    let name: string;
    try {
      name = new TextDecoder('utf-8', { fatal: true }).decode(nx.subarray(0, nlen));
    } catch {
      return null;
    }
    const ex = new DataView(nx.buffer, nx.byteOffset + nlen, xlen);
    for (let p = 0; p + 4 <= xlen; ) {
      const id = ex.getUint16(p, true);
      const len = ex.getUint16(p + 2, true);
      if (id === 1 && p + 4 + len <= xlen) {
        let q = p + 4;
        if (usize === 0xffffffff && q + 8 <= p + 4 + len) { usize = Number(ex.getBigUint64(q, true)); q += 8; }
        if (csize === 0xffffffff && q + 8 <= p + 4 + len) csize = Number(ex.getBigUint64(q, true));
      }
      p += 4 + len;
    }
    const e: ZipEntry = { name, method, compressedSize: csize, size: usize, dataOffset: pos + 30 + nlen + xlen };
    if (e.dataOffset + csize > s.size) return { archive: archiveOf(s, entries), cut: e };
    entries.set(name, e);
    pos = e.dataOffset + csize;
  }
  return null;
}

function archiveOf(s: ByteSource, entries: Map<string, ZipEntry>): ZipArchive {
  const storage = (name: string, length?: number, limit = ONE_BUFFER): Storage => {
    const e = entries.get(name);
    if (!e || e.method !== 0) return fail(s.file, `zip entry '${name}'`, 'not readable');
    const n = length ?? e.size;
    if (n > limit || n > e.size) fail(s.file, `zip entry '${name}'`, `${n} bytes is past its size or limit`);
    return s.window(e.dataOffset, n);
  };
  return { file: s.file, entries, storage, read: (n, l, m) => storageBytes(storage(n, l, m)) };
}
