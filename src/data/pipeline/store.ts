/**
 * Resumable append-only JSONL output: data files plus a done-log (`<out>.done`, one
 * `{"id","status"}` line per finished item, written last). Every line is fsync'd before the next
 * step, so after `kill -9` the files hold whole lines (a torn last line is cut off on reopen) and
 * the done-log never names an item whose lines are missing. On reopen, an item written to a data
 * file but not yet logged is redone and its lines are not written twice (`has`). Follows Baize's /
 * Self-Instruct's done-set-by-re-reading-output (ALIGNMENT.md §3). Deliberately single-writer.
 */
import { closeSync, existsSync, fsyncSync, ftruncateSync, openSync, readFileSync, writeSync } from 'node:fs';

export interface DataFile {
  readonly path: string;
  /** Ids already in the file. */
  readonly ids: Set<string>;
  /** Records already in the file, in order (for rebuilding dedup indexes). */
  readonly records: unknown[];
  fd: number;
}

/** Reads a JSONL file written by this module: whole lines only, a torn tail cut off. */
function openData(path: string, idOf: (r: unknown) => string): DataFile {
  const ids = new Set<string>();
  const records: unknown[] = [];
  if (existsSync(path)) {
    const buf = readFileSync(path);
    const end = buf.lastIndexOf(0x0a) + 1; // bytes after the last newline are a torn write
    const text = buf.subarray(0, end).toString('utf8');
    text.split('\n').forEach((line, i) => {
      if (!line) return;
      let r: unknown;
      try {
        r = JSON.parse(line);
      } catch {
        throw new Error(`${path}:${i + 1}: not JSON; this file was not written by a moss data command (move it away or pick another --out)`);
      }
      ids.add(idOf(r));
      records.push(r);
    });
    if (end < buf.length) {
      const fd = openSync(path, 'r+');
      ftruncateSync(fd, end);
      fsyncSync(fd);
      closeSync(fd);
    }
  }
  return { path, ids, records, fd: openSync(path, 'a') };
}

export interface DoneEntry {
  readonly id: string;
  readonly status: string;
}

export class ResumableStore {
  readonly files: DataFile[];
  private readonly doneFd: number;
  /** id -> status of every item finished in an earlier run (or this one). */
  readonly done = new Map<string, string>();

  /** `paths[0]` is the main output; the done-log is `<paths[0]>.done`. `idOf` reads a record's id. */
  constructor(paths: readonly string[], idOf: (r: unknown) => string) {
    const donePath = `${paths[0]}.done`;
    // a done-log left beside a removed output would resume into an empty file: the earlier results lost, none redone
    if (!existsSync(paths[0]) && existsSync(donePath) && readFileSync(donePath).length > 0) {
      throw new Error(`${donePath} lists finished items but ${paths[0]} is missing: remove ${donePath} to start over, or put ${paths[0]} back to resume`);
    }
    this.files = paths.map((p) => openData(p, idOf));
    const log = openData(donePath, (r) => (r as DoneEntry).id);
    for (const r of log.records as DoneEntry[]) this.done.set(r.id, r.status);
    this.doneFd = log.fd;
  }

  /** True when file `i` already holds a record with this id. */
  has(i: number, id: string): boolean {
    return this.files[i].ids.has(id);
  }

  /** Appends one record to file `i` (skipped if it is already there) and syncs it to disk. */
  write(i: number, id: string, record: unknown): void {
    const f = this.files[i];
    if (f.ids.has(id)) return;
    writeSync(f.fd, `${JSON.stringify(record)}\n`);
    fsyncSync(f.fd);
    f.ids.add(id);
  }

  /** Marks an item finished (after its records are written). */
  finish(id: string, status: string): void {
    writeSync(this.doneFd, `${JSON.stringify({ id, status } satisfies DoneEntry)}\n`);
    fsyncSync(this.doneFd);
    this.done.set(id, status);
  }

  close(): void {
    for (const f of this.files) closeSync(f.fd);
    closeSync(this.doneFd);
  }
}
