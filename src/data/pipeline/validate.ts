/**
 * The strict check a `moss synth` record passes before it is written: the shape `checkRecord`
 * (src/chat/format.ts, what `moss train sft` reads) accepts, exactly the MOSS SFT keys in MOSS's
 * order, `num_turns` equal to the turns present, every turn with the five fields in order, each
 * field `<|Role|>: …<end>\n` with no other control token inside, and the transcript parsed back by
 * src/chat (`parseTranscript(renderText(r))`) giving the same turns. With a tokenizer, the SFT
 * renderer (`renderSft`) must keep every turn within `maxLen`. Deliberately throws the first
 * problem as one line (the caller counts it), never repairs.
 */
import { checkRecord, CONTROL_TOKENS, FIELDS, parseTranscript, renderSft, renderText, ROLE, type SftRecord } from './moss-format.js';
import type { Tokenizer } from '../../tokenizer/types.js';

const KEYS = ['conversation_id', 'meta_instruction', 'num_turns', 'chat', 'category'];

export function validateSft(x: unknown, tok?: { tokenizer: Tokenizer; maxLen: number }): SftRecord {
  const r = checkRecord(x);
  const keys = Object.keys(r);
  if (keys.join() !== KEYS.join()) throw new Error(`keys are ${keys.join(', ')}, expected ${KEYS.join(', ')}`);
  const turnKeys = Object.keys(r.chat);
  if (turnKeys.length !== r.num_turns || r.num_turns < 1) throw new Error(`num_turns is ${r.num_turns} but chat has ${turnKeys.length} turns`);
  turnKeys.forEach((k, i) => {
    if (k !== `turn_${i + 1}`) throw new Error(`chat key ${k} where turn_${i + 1} was expected`);
    const t = r.chat[k];
    if (Object.keys(t).join() !== FIELDS.join()) throw new Error(`${k} has fields ${Object.keys(t).join(', ')}`);
    for (const f of FIELDS) {
      const v = t[f]!;
      const { head, end } = ROLE[f];
      if (!v.startsWith(head) || !v.endsWith(`${end}\n`)) throw new Error(`${k}.${f} is not "${head} …${end}\\n"`);
      const inner = v.slice(head.length, -end.length - 1);
      const bad = CONTROL_TOKENS.find((c) => inner.includes(c)) ?? (/<\|(Human|Inner Thoughts|Commands|Results|MOSS)\|>/.exec(inner)?.[0]);
      if (bad) throw new Error(`${k}.${f} contains ${bad}`);
    }
  });
  const back = parseTranscript(renderText(r));
  if (JSON.stringify(back.chat) !== JSON.stringify(r.chat)) throw new Error('the rendered transcript does not parse back to the same turns');
  if (tok) {
    const out = renderSft(r, tok.tokenizer, { maxLen: tok.maxLen });
    if (!out || out.turns !== r.num_turns) throw new Error(`longer than ${tok.maxLen} tokens: the SFT renderer keeps ${out?.turns ?? 0} of ${r.num_turns} turns`);
  }
  return r;
}
