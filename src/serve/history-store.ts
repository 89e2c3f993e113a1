/**
 * Durable conversation history for the MOSS API: one JSON file per uid under a folder, written
 * atomically (temp file, fsync, rename, fsync of the folder) so a crash or restart never leaves a
 * half-written history. Updates of one uid are serialised; different uids run in parallel.
 * Deliberately no eviction or size quota beyond a cap on turns kept per uid.
 */
import { closeSync, fsyncSync, mkdirSync, openSync, readFileSync, renameSync, writeSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import type { TurnFields } from '../chat/format.js';

export interface StoredConversation {
  readonly version: 1;
  readonly uid: string;
  turns: TurnFields[];
}

const UID = /^[A-Za-z0-9_-]{1,64}$/;

export class HistoryStore {
  private locks = new Map<string, Promise<unknown>>();

  constructor(readonly dir: string, private readonly maxTurns = 200) {
    mkdirSync(dir, { recursive: true });
  }

  static validUid(uid: string): boolean {
    return UID.test(uid);
  }

  private file(uid: string): string {
    if (!UID.test(uid)) throw new Error(`invalid uid ${JSON.stringify(uid)}`);
    return join(this.dir, `${uid}.json`);
  }

  load(uid: string): StoredConversation {
    const f = this.file(uid);
    if (!existsSync(f)) return { version: 1, uid, turns: [] };
    const s = JSON.parse(readFileSync(f, 'utf8')) as StoredConversation;
    if (s?.version !== 1 || !Array.isArray(s.turns)) throw new Error(`${f}: not a history file`);
    return s;
  }

  save(c: StoredConversation): void {
    const f = this.file(c.uid);
    const tmp = `${f}.tmp-${process.pid}-${Math.random().toString(36).slice(2)}`;
    const fd = openSync(tmp, 'w');
    try {
      writeSync(fd, JSON.stringify({ ...c, turns: c.turns.slice(-this.maxTurns) }));
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, f);
    try {
      const d = openSync(this.dir, 'r');
      fsyncSync(d);
      closeSync(d);
    } catch {
      // some filesystems cannot fsync a folder; the rename is still atomic
    }
  }

  /** Runs `fn` with this uid's history, one at a time per uid. */
  async with<T>(uid: string, fn: (c: StoredConversation) => Promise<T>): Promise<T> {
    const prev = this.locks.get(uid) ?? Promise.resolve();
    const run = prev.catch(() => undefined).then(() => fn(this.load(uid)));
    this.locks.set(uid, run);
    try {
      return await run;
    } finally {
      if (this.locks.get(uid) === run) this.locks.delete(uid);
    }
  }
}
