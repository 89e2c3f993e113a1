/**
 * Writes PyTorch zip checkpoints (a state dict of tensors, as `torch.save(model.state_dict())`
 * lays it out: `archive/data.pkl` first, `archive/data/<i>` storages aligned to 64 bytes with the
 * same 'FB' padding extra field, `archive/version`), streaming: each tensor's bytes are asked for
 * in turn and appended, so a 10 GB shard is never in memory. ZIP64 records are written where an
 * offset or size passes 32 bits (as torch's miniz writer does), or everywhere with `zip64: true`.
 * Written to a temp name and renamed, so a crash leaves no half-written file behind.
 * A tensor's producer may return null for a chunk to leave a hole (a sparse file, for tests).
 * Deliberately does not: write nested objects, non-contiguous tensors or shared storages.
 */
import { closeSync, ftruncateSync, openSync, renameSync, rmSync, writeSync } from 'node:fs';
import { crc32 } from 'node:zlib';

export type TorchWriteDtype = 'f32' | 'f16' | 'bf16' | 'i64' | 'i32' | 'i16' | 'i8' | 'u8' | 'bool' | 'f64';

const STORAGE: Record<TorchWriteDtype, [string, number]> = {
  f32: ['FloatStorage', 4], f16: ['HalfStorage', 2], bf16: ['BFloat16Storage', 2], f64: ['DoubleStorage', 8],
  i64: ['LongStorage', 8], i32: ['IntStorage', 4], i16: ['ShortStorage', 2], i8: ['CharStorage', 1], u8: ['ByteStorage', 1], bool: ['BoolStorage', 1],
};

export interface TorchWriteTensor {
  readonly name: string;
  readonly dtype: TorchWriteDtype;
  readonly shape: readonly number[];
  /**
   * The tensor's bytes in row-major order: either all at once, or a producer called with
   * (offset, length) for successive chunks of at most `chunk` bytes; it returns the bytes, or null
   * to leave that chunk a hole of zeros (no CRC is then computed for the entry).
   */
  readonly data: Uint8Array | ((offset: number, length: number) => Uint8Array | null);
}

export interface TorchWriteOptions {
  /** Archive folder name inside the zip (torch uses the file's base name; default 'archive'). */
  readonly archive?: string;
  /** ZIP64 extra fields on every entry (for tests); otherwise only where needed. */
  readonly zip64?: boolean;
  /** Producer chunk size in bytes (default 64 MiB). */
  readonly chunk?: number;
  /** Called after each tensor with the bytes written so far (for progress bars). */
  readonly onTensor?: (name: string, bytesWritten: number) => void;
}

/** Pickle for `OrderedDict(name -> _rebuild_tensor_v2(('storage', T, key, 'cpu', numel), 0, shape, stride, False, OrderedDict()))`. */
export function stateDictPickle(tensors: readonly Pick<TorchWriteTensor, 'name' | 'dtype' | 'shape'>[]): Uint8Array {
  const out: number[] = [0x80, 2];
  const enc = new TextEncoder();
  const str = (s: string): void => {
    const b = enc.encode(s);
    out.push(0x58, b.length & 255, (b.length >>> 8) & 255, (b.length >>> 16) & 255, b.length >>> 24, ...b);
  };
  const int = (v: number): void => {
    if (v >= 0 && v < 256) out.push(0x4b, v);
    else if (v >= 0 && v < 65536) out.push(0x4d, v & 255, v >>> 8);
    else if (v >= 0 && v < 2 ** 31) out.push(0x4a, v & 255, (v >>> 8) & 255, (v >>> 16) & 255, v >>> 24);
    else {
      let x = BigInt(v);
      const bytes: number[] = [];
      while (x > 0n || bytes.length === 0 || (bytes[bytes.length - 1] & 0x80)) {
        bytes.push(Number(x & 255n));
        x >>= 8n;
      }
      out.push(0x8a, bytes.length, ...bytes);
    }
  };
  const global = (m: string, n: string): void => { out.push(0x63, ...enc.encode(`${m}\n${n}\n`)); };
  const tuple = (xs: readonly number[]): void => {
    out.push(0x28);
    for (const x of xs) int(x);
    out.push(0x74);
  };
  global('collections', 'OrderedDict');
  out.push(0x29, 0x52, 0x28); // OrderedDict() then MARK for SETITEMS
  tensors.forEach((t, i) => {
    const [cls] = STORAGE[t.dtype];
    const numel = t.shape.reduce((a, b) => a * b, 1);
    const strides = t.shape.map((_, d) => t.shape.slice(d + 1).reduce((a, b) => a * b, 1));
    str(t.name);
    global('torch._utils', '_rebuild_tensor_v2');
    out.push(0x28); // MARK (args)
    out.push(0x28); str('storage'); global('torch', cls); str(String(i)); str('cpu'); int(numel); out.push(0x74, 0x51); // BINPERSID
    int(0);
    tuple(t.shape);
    tuple(strides);
    out.push(0x89); // False
    global('collections', 'OrderedDict');
    out.push(0x29, 0x52, 0x74, 0x52); // OrderedDict(), TUPLE, REDUCE
  });
  out.push(0x75, 0x2e); // SETITEMS, STOP
  return new Uint8Array(out);
}

/** Bytes per element of a dtype the writer accepts. */
export function torchElemBytes(d: TorchWriteDtype): number {
  return STORAGE[d][1];
}

/**
 * Writes `tensors` as a PyTorch zip checkpoint at `path` (temp name + rename).
 * @example writeTorch('pytorch_model.bin', [{ name: 'w', dtype: 'f32', shape: [2], data: new Uint8Array(8) }])
 */
export function writeTorch(path: string, tensors: readonly TorchWriteTensor[], o: TorchWriteOptions = {}): void {
  const archive = o.archive ?? 'archive';
  const chunk = o.chunk ?? 64 * 2 ** 20;
  const tmp = `${path}.tmp-${process.pid}`;
  const fd = openSync(tmp, 'w');
  const central: Buffer[] = [];
  let pos = 0;
  let count = 0;
  const put = (b: Uint8Array): void => {
    for (let done = 0; done < b.length; ) done += writeSync(fd, b, done, b.length - done, pos + done);
    pos += b.length;
  };
  const entry = (name: string, size: number, body: (write: (b: Uint8Array | null, n: number) => void) => void): void => {
    const nb = Buffer.from(name, 'utf8');
    const local = pos;
    const big = o.zip64 || size >= 0xffffffff || local >= 0xffffffff;
    const z64 = big ? 4 + 16 : 0; // local zip64 extra: sizes only
    // pad so the data starts at a multiple of 64 (torch's 'FB' extra field)
    const base = local + 30 + nb.length + z64 + 4;
    const pad = (64 - (base % 64)) % 64;
    const head = Buffer.alloc(30 + nb.length + z64 + 4 + pad);
    head.writeUInt32LE(0x04034b50, 0);
    head.writeUInt16LE(big ? 45 : 20, 4);
    head.writeUInt16LE(0, 6); // flags: sizes and CRC are written back below
    head.writeUInt16LE(0, 8); // stored
    head.writeUInt32LE(big ? 0xffffffff : size, 18);
    head.writeUInt32LE(big ? 0xffffffff : size, 22);
    head.writeUInt16LE(nb.length, 26);
    head.writeUInt16LE(z64 + 4 + pad, 28);
    nb.copy(head, 30);
    let x = 30 + nb.length;
    if (big) {
      head.writeUInt16LE(1, x); head.writeUInt16LE(16, x + 2);
      head.writeBigUInt64LE(BigInt(size), x + 4); head.writeBigUInt64LE(BigInt(size), x + 12);
      x += 20;
    }
    head.writeUInt16LE(0x4246, x); head.writeUInt16LE(pad, x + 2);
    put(head);
    let crc = 0;
    let sparse = false;
    let written = 0;
    body((b, n) => {
      if (b === null) {
        sparse = true;
        pos += n; // a hole: nothing written, zeros on read
      } else {
        if (b.length !== n) throw new Error(`${path}: ${name}: producer gave ${b.length} bytes, ${n} expected`);
        crc = crc32(b, crc);
        put(b);
      }
      written += n;
    });
    if (written !== size) throw new Error(`${path}: ${name}: wrote ${written} bytes, ${size} expected`);
    if (sparse) crc = 0;
    const crcb = Buffer.alloc(4);
    crcb.writeUInt32LE(crc >>> 0);
    writeSync(fd, crcb, 0, 4, local + 14);
    const cbig = o.zip64 || size >= 0xffffffff || local >= 0xffffffff;
    const cz = cbig ? 4 + 24 : 0;
    const c = Buffer.alloc(46 + nb.length + cz);
    c.writeUInt32LE(0x02014b50, 0);
    c.writeUInt16LE(cbig ? 45 : 20, 4); c.writeUInt16LE(cbig ? 45 : 20, 6);
    c.writeUInt32LE(crc >>> 0, 16);
    c.writeUInt32LE(cbig ? 0xffffffff : size, 20); c.writeUInt32LE(cbig ? 0xffffffff : size, 24);
    c.writeUInt16LE(nb.length, 28); c.writeUInt16LE(cz, 30);
    c.writeUInt32LE(cbig ? 0xffffffff : local, 42);
    nb.copy(c, 46);
    if (cbig) {
      const e = 46 + nb.length;
      c.writeUInt16LE(1, e); c.writeUInt16LE(24, e + 2);
      c.writeBigUInt64LE(BigInt(size), e + 4); c.writeBigUInt64LE(BigInt(size), e + 12); c.writeBigUInt64LE(BigInt(local), e + 20);
    }
    central.push(c);
    count++;
  };
  try {
    const pkl = stateDictPickle(tensors);
    entry(`${archive}/data.pkl`, pkl.length, (w) => w(pkl, pkl.length));
    let done = 0;
    tensors.forEach((t, i) => {
      const size = t.shape.reduce((a, b) => a * b, 1) * torchElemBytes(t.dtype);
      entry(`${archive}/data/${i}`, size, (w) => {
        const d = t.data;
        if (d instanceof Uint8Array) {
          if (d.length !== size) throw new Error(`${path}: tensor '${t.name}': ${d.length} bytes given, ${t.dtype} [${t.shape.join(', ')}] is ${size}`);
          w(d, size);
          return;
        }
        for (let off = 0; off < size; off += chunk) {
          const n = Math.min(chunk, size - off);
          w(d(off, n), n);
        }
      });
      done += size;
      o.onTensor?.(t.name, done);
    });
    const ver = new TextEncoder().encode('3\n');
    entry(`${archive}/version`, ver.length, (w) => w(ver, ver.length));
    const cdOffset = pos;
    for (const c of central) put(c);
    const cdSize = pos - cdOffset;
    const big = o.zip64 || cdOffset >= 0xffffffff || count >= 0xffff;
    if (big) {
      const z = Buffer.alloc(56 + 20);
      z.writeUInt32LE(0x06064b50, 0); z.writeBigUInt64LE(44n, 4); z.writeUInt16LE(45, 12); z.writeUInt16LE(45, 14);
      z.writeBigUInt64LE(BigInt(count), 24); z.writeBigUInt64LE(BigInt(count), 32);
      z.writeBigUInt64LE(BigInt(cdSize), 40); z.writeBigUInt64LE(BigInt(cdOffset), 48);
      z.writeUInt32LE(0x07064b50, 56); z.writeBigUInt64LE(BigInt(pos), 64); z.writeUInt32LE(1, 72);
      put(z);
    }
    const e = Buffer.alloc(22);
    e.writeUInt32LE(0x06054b50, 0);
    e.writeUInt16LE(big ? 0xffff : count, 8); e.writeUInt16LE(big ? 0xffff : count, 10);
    e.writeUInt32LE(big ? 0xffffffff : cdSize, 12); e.writeUInt32LE(big ? 0xffffffff : cdOffset, 16);
    put(e);
    ftruncateSync(fd, pos);
    closeSync(fd);
    renameSync(tmp, path);
  } catch (err) {
    try { closeSync(fd); } catch { /* already closed */ }
    rmSync(tmp, { force: true });
    throw err;
  }
}
