/**
 * A small RFC 4180 CSV reader for the benchmark files in ../shared/bench: quoted fields with
 * doubled quotes and embedded newlines, CRLF or LF, a UTF-8 BOM. Each row remembers the line it
 * started on so a malformed file is reported as `file:line`.
 * Not here: type inference (every field stays a string, as the harness's datasets hold them).
 */

export interface CsvRow {
  /** 1-based line of the file where the row starts. */
  line: number;
  fields: string[];
}

/** Parses CSV text; throws `<file>:<line>: …` on an unterminated quote. */
export function parseCsv(text: string, file: string): CsvRow[] {
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
  const rows: CsvRow[] = [];
  let fields: string[] = [];
  let field = '';
  let line = 1;
  let rowLine = 1;
  let quoted = false;
  let quoteLine = 0;
  let i = 0;
  const endRow = (): void => {
    fields.push(field);
    if (!(fields.length === 1 && fields[0] === '')) rows.push({ line: rowLine, fields });
    fields = [];
    field = '';
  };
  while (i < text.length) {
    const c = text[i];
    if (quoted) {
      if (c === '"') {
        if (text[i + 1] === '"') {
          field += '"';
          i += 2;
          continue;
        }
        quoted = false;
      } else {
        if (c === '\n') line++;
        field += c;
      }
      i++;
      continue;
    }
    if (c === '"' && field === '') {
      quoted = true;
      quoteLine = line;
    } else if (c === ',') {
      fields.push(field);
      field = '';
    } else if (c === '\n' || c === '\r') {
      if (c === '\r' && text[i + 1] === '\n') i++;
      endRow();
      line++;
      rowLine = line;
    } else field += c;
    i++;
  }
  if (quoted) throw new Error(`${file}:${quoteLine}: unterminated quoted field`);
  if (field !== '' || fields.length) endRow();
  return rows;
}
