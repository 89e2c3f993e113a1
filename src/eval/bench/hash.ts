/**
 * Content hashes for reports, so a score names exactly the model and data it came from: sha256 of
 * the files read (names and bytes, sorted); files over 64 MiB are hashed by size plus their first
 * and last MiB (real checkpoints are tens of GB; the report says so).
 * Not here: integrity checks of downloads.
 */
import { createHash } from 'node:crypto';
import { closeSync, openSync, readSync, readdirSync, statSync } from 'node:fs';
import { basename, join, relative } from 'node:path';

const BIG = 64 * 2 ** 20;
const MIB = 2 ** 20;

function feedFile(h: ReturnType<typeof createHash>, file: string): void {
  const size = statSync(file).size;
  const fd = openSync(file, 'r');
  try {
    const parts: [number, number][] = size <= BIG ? [[0, size]] : [[0, MIB], [size - MIB, MIB]];
    if (size > BIG) h.update(`size:${size}`);
    const buf = Buffer.alloc(Math.min(size, 4 * MIB));
    for (const [start, len] of parts) {
      for (let off = 0; off < len;) {
        const n = readSync(fd, buf, 0, Math.min(buf.length, len - off), start + off);
        if (n <= 0) break;
        h.update(buf.subarray(0, n));
        off += n;
      }
    }
  } finally {
    closeSync(fd);
  }
}

/** sha256 (hex, first 16) over the given files, keyed by their path relative to `root`. */
export function hashFiles(files: readonly string[], root: string): string {
  const h = createHash('sha256');
  for (const f of [...files].sort()) {
    h.update(`${relative(root, f)}\0`);
    feedFile(h, f);
  }
  return h.digest('hex').slice(0, 16);
}

/** Hash of a model folder (every regular file, not recursing) or of a single model file. */
export function hashModel(path: string): string {
  if (!statSync(path).isDirectory()) return hashFiles([path], join(path, '..'));
  const files = readdirSync(path).filter((f) => !f.endsWith('.png') && statSync(join(path, f)).isFile()).map((f) => join(path, f));
  return hashFiles(files, path) + (files.length ? '' : `:${basename(path)}`);
}
