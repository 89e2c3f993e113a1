/**
 * The pipeline's one doorway to the MOSS format module (src/chat): every MOSS-format operation the
 * data commands use (validate, render for SFT, parse fields back, make untrusted text harmless,
 * plugin result layout) is re-exported or wrapped here, so the pipeline follows src/chat as it
 * evolves and never keeps a copy of the format. Deliberately no logic of its own.
 */
export { checkRecord, CONTROL_TOKENS, FIELDS, parseTranscript, renderSft, renderText, ROLE, type SftRecord, type TurnFields, type FieldName } from '../../chat/format.js';
export { formatResults, parseCommands, type Command, type Outcome } from '../../chat/commands.js';
export { anyPlugin, metaInstruction, type PluginSwitches } from '../../chat/meta.js';
import { neutralize, parseFields, type FieldName } from '../../chat/format.js';

/** Untrusted text (model output, user text) with control tokens and role headers made harmless. */
export function defang(text: string): string {
  return neutralize(text);
}

export interface Field {
  readonly name: FieldName;
  /** The field's full text: header, body, end token and its newline, as written. */
  readonly text: string;
  /** Body without the header, the end token and the one conventional leading space. */
  readonly body: string;
  /** False when the field has no end token (a context that stops inside it, or a truncated generation). */
  readonly closed: boolean;
}

/** The fields of `text` from offset `from` on, and where parsing stopped (text that is not a field). */
export function fieldsFrom(text: string, from: number): { fields: Field[]; rest: number } {
  const { fields, rest } = parseFields(text, from);
  return { fields: fields.map((f) => ({ name: f.name, text: f.text, body: f.body, closed: f.closed })), rest };
}
