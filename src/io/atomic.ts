/**
 * Atomic file writes: write to a temp file next to the target, fsync, then rename over it, so a
 * reader (or a crash) never sees a half-written checkpoint. Follows DESIGN.md §6 (checkpoints).
 * It does not fsync the directory (rename is atomic on POSIX; durability of the rename is not
 * needed here).
 */
import { closeSync, fsyncSync, openSync, renameSync, rmSync, writeSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';

/** Writes the chunks, in order, to `path` atomically. */
export function writeFileAtomic(path: string, chunks: Iterable<Uint8Array>): void {
  const tmp = join(dirname(path), `.${basename(path)}.${process.pid}.${Date.now()}.tmp`);
  const fd = openSync(tmp, 'w');
  let ok = false;
  try {
    for (const c of chunks) {
      let off = 0;
      while (off < c.byteLength) off += writeSync(fd, c, off, c.byteLength - off);
    }
    fsyncSync(fd);
    ok = true;
  } finally {
    closeSync(fd);
    if (!ok) rmSync(tmp, { force: true });
  }
  renameSync(tmp, path);
}
