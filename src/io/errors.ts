/**
 * Errors for the checkpoint readers: every message names the file and the field that is wrong, so
 * a truncated or hostile file reads as "model.gguf: tensor 'x' offset: past the end of the file".
 * Deliberately no error classes per format: callers only need a clear one-line message.
 */

/** Error from a checkpoint reader; `file` and `field` are also kept as properties. */
export class FormatError extends Error {
  readonly file: string;
  readonly field: string;
  constructor(file: string, field: string, message: string) {
    super(`${file}: ${field}: ${message}`);
    this.name = 'FormatError';
    this.file = file;
    this.field = field;
  }
}

/** Throws a FormatError. */
export function fail(file: string, field: string, message: string): never {
  throw new FormatError(file, field, message);
}
