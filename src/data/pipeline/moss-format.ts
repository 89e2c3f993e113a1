/**
 * The pipeline's one doorway to the MOSS format module (src/chat): every MOSS-format operation the
 * data commands use (validate, render for SFT, parse fields back, make untrusted text harmless,
 * plugin result layout) is re-exported or wrapped here, so the pipeline follows src/chat as it
 * evolves and never keeps a copy of the format. Deliberately no logic of its own.
 */
export { checkRecord, CONTROL_TOKENS, defang, FIELDS, renderSft, renderText, ROLE, type SftRecord, type TurnFields, type FieldName } from '../../chat/format.js';
export { parseTranscript } from '../../chat/parse.js';
export { formatResults, parseCommands, type Command, type Outcome } from '../../chat/commands.js';
export { anyPlugin, metaInstruction, type PluginSwitches } from '../../chat/meta.js';
import { ROLE, type FieldName } from '../../chat/format.js';
import { parseFields } from '../../chat/parse.js';

export interface Field {
  readonly name: FieldName;
  /** The field's full text: header, body, end token and its newline (rebuilt in the data's layout). */
  readonly text: string;
  /** Body without the header, the end token and the one conventional leading space. */
  readonly body: string;
  /** False when the field has no end token of its own (a context that stops inside it, a truncated or repaired generation). */
  readonly closed: boolean;
}

/** The fields of `text` from offset `from` on (src/chat/parse.ts: text outside a field counts as the reply), and where parsing stopped. */
export function fieldsFrom(text: string, from: number): { fields: Field[]; rest: number } {
  const fields = parseFields(text.slice(from)).map((f) => {
    const { head, end } = ROLE[f.name];
    const sep = f.name === 'Tool Responses' && f.body.startsWith('\n') ? '' : ' ';
    return { name: f.name, body: f.body, closed: f.closed, text: `${head}${sep}${f.body}${f.closed ? `${end}\n` : ''}` };
  });
  return { fields, rest: text.length };
}
