/**
 * Shared ownership of backend storage: every Tensor view holds a reference; the memory is given
 * back to its backend the moment the last view is disposed (deterministic, not GC-timed).
 * Storage that the tensor layer does not own (memory-mapped weights, caller buffers) is never freed.
 */
import type { Backend, Storage } from '../backends/backend.js';

export class StorageRef {
  private refs = 0;
  constructor(
    readonly storage: Storage,
    readonly backend: Backend,
    /** false for borrowed memory (mmap, user ArrayBuffers): dispose never frees it. */
    readonly owned: boolean,
  ) {}

  retain(): void {
    this.refs++;
  }

  release(): void {
    if (--this.refs === 0 && this.owned) this.backend.free(this.storage);
  }

  get alive(): boolean {
    return !this.storage.disposed;
  }
}
