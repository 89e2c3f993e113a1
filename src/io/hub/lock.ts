/**
 * A lock per blob across processes, so that `moss serve --model x` and `moss chat --model x`
 * started together do not write one `.incomplete` file at once: `open(…, 'wx')` of
 * `.locks/models--org--name/<etag>.moss.lock` holding the owner's pid; a lock whose pid is gone is
 * stale and taken over. huggingface_hub's own `<etag>.lock` files (flock, never deleted) are
 * not ours to interpret, hence the separate name. Not here: locks across machines sharing a cache.
 */
import { closeSync, mkdirSync, openSync, readFileSync, rmSync, statSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM'; // exists, owned by someone else
  }
}

/** True when the lock at `path` is held by a live process (or is being written right now). */
function held(path: string): boolean {
  try {
    const text = readFileSync(path, 'utf8').trim();
    if (text === '') return Date.now() - statSync(path).mtimeMs < 5000; // its owner is writing the pid
    const pid = Number(text);
    return Number.isInteger(pid) && pid > 0 && alive(pid);
  } catch {
    return false; // gone meanwhile
  }
}

/** Runs `fn` holding the lock at `path`, waiting (polling every `pollMs`) while another live process holds it. */
export async function withLock<T>(path: string, fn: () => Promise<T>, signal?: AbortSignal, pollMs = 200): Promise<T> {
  mkdirSync(dirname(path), { recursive: true });
  for (;;) {
    signal?.throwIfAborted();
    try {
      const fd = openSync(path, 'wx');
      writeSync(fd, String(process.pid));
      closeSync(fd);
      break;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      if (!held(path)) {
        rmSync(path, { force: true }); // stale: its process is gone
        continue;
      }
      await new Promise((r) => setTimeout(r, pollMs));
    }
  }
  try {
    return await fn();
  } finally {
    rmSync(path, { force: true });
  }
}
