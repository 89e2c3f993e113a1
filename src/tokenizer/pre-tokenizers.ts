/**
 * The named pre-tokenizers of byte-level BPE models, chosen by GGUF `tokenizer.ggml.pre` (llama.cpp's
 * names) or by a HF tokenizer.json `pre_tokenizer` object. A pre-tokenizer is a sequence of split
 * steps (HF `Sequence[Split(..., Isolated), ...]`, llama.cpp `regex_exprs`): each step splits every
 * piece of the previous one into its matches and the gaps between them. The regexes are those of
 * llama.cpp's llama-vocab.cpp (`llm_tokenizer_bpe`), which copied them from the models' tokenizer.json
 * files (https://github.com/ggml-org/llama.cpp/blob/master/src/llama-vocab.cpp), translated from
 * Oniguruma to JS (`\s` is Unicode White_Space as in Oniguruma and Rust, `(?i:'s|…)` spelled out).
 * GPT-2's regex (alone or inside a sequence) runs on the hand-written scanner of pretokenize.ts.
 * Deliberately not here: pre-tokenizers without a test vector in ../shared (tekken, gpt-4o/llama4,
 * deepseek-v3, chameleon, bloom, …) — they are refused by name with the supported list;
 * HF Metaspace/Whitespace/BertPreTokenizer (not byte-level BPE).
 */
import { gpt2Split } from './pretokenize.js';

/** Calls emit(start, end) for each pre-token of s, in order, covering s. */
export type SplitFn = (s: string, emit: (start: number, end: number) => void) => void;

/** A pre-tokenizer: its llama.cpp name (what GGUF export writes) and its split. */
export interface PreTokenizer {
  /** llama.cpp `tokenizer.ggml.pre` name, or undefined when it matches none (HF-only). */
  readonly name: string | undefined;
  readonly split: SplitFn;
  /** Whether the split is exactly GPT-2's (the encoder's fast path). */
  readonly isGpt2: boolean;
}

/** One step: GPT-2's scanner or a regex (Isolated: matches and gaps both become pieces). */
export type Step = 'gpt2' | RegExp;

/** HF/Oniguruma regex source -> a JS regex with the `u` flag (`g` for scanning). */
export function jsRegex(src: string): RegExp {
  let out = '';
  for (let i = 0; i < src.length; i++) {
    const c = src[i];
    if (c === '\\' && i + 1 < src.length) {
      const d = src[++i];
      if (d === 's') out += '\\p{White_Space}';
      else if (d === 'S') out += '\\P{White_Space}';
      else if (d === 'd') out += '\\p{Nd}';
      else out += `\\${d}`;
    } else if (c === '(' && src.startsWith('(?i:', i)) {
      // case-insensitive group of plain ASCII alternatives: spell each letter as [xX]
      const end = src.indexOf(')', i);
      const body = src.slice(i + 4, end);
      if (end < 0 || /[\\[(]/.test(body)) throw new Error(`pre-tokenizer regex: unsupported (?i:…) group in ${JSON.stringify(src)}`);
      out += `(?:${body.replace(/[a-zA-Z]/g, (x) => `[${x.toLowerCase()}${x.toUpperCase()}]`)})`;
      i = end;
    } else if ((c === '+' || c === '?' || c === '*') && src[i + 1] === '+' && src[i - 1] !== '\\') {
      throw new Error(`pre-tokenizer regex: possessive quantifier "${c}+" is not supported in ${JSON.stringify(src)}`);
    } else out += c;
  }
  try {
    return new RegExp(out, 'gu');
  } catch (e) {
    throw new Error(`pre-tokenizer regex ${JSON.stringify(src)} is not supported: ${(e as Error).message}`, { cause: e });
  }
}

/** A regex step: every non-empty match and every gap between matches is a piece. */
function regexSplit(re: RegExp): SplitFn {
  return (s, emit) => {
    re.lastIndex = 0;
    let last = 0;
    for (let m = re.exec(s); m !== null; m = re.exec(s)) {
      const i = m.index;
      const j = i + m[0].length;
      if (j === i) {
        // empty match: step one code point on
        const c = s.charCodeAt(i);
        re.lastIndex = i + (c >= 0xd800 && c <= 0xdbff ? 2 : 1);
        if (re.lastIndex > s.length) break;
        continue;
      }
      if (i > last) emit(last, i);
      emit(i, j);
      last = j;
    }
    if (last < s.length) emit(last, s.length);
  };
}

/** The split of a step sequence: step k+1 splits each piece of step k. */
export function sequenceSplit(steps: readonly Step[]): SplitFn {
  const fns = steps.map((s) => (s === 'gpt2' ? gpt2Split : regexSplit(s)));
  if (fns.length === 1) return fns[0];
  const run = (k: number, s: string, base: number, emit: (a: number, b: number) => void): void => {
    if (k === fns.length) {
      emit(base, base + s.length);
      return;
    }
    fns[k](s, (a, b) => run(k + 1, a === 0 && b === s.length ? s : s.slice(a, b), base + a, emit));
  };
  return (s, emit) => {
    if (s.length > 0) run(0, s, 0, emit);
  };
}

/** GPT-2's regex (OpenAI's encoder.py) without the final `|\s+`, as llama.cpp lists it. */
const GPT2_RE = "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)";
const LLAMA3_RE = "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";
const QWEN2_RE = "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";
const CJK_RE = '[一-龥ࠀ-一가-퟿]+';

/** Regex sets by family (llama.cpp's regex_exprs; 'gpt2' = GPT2_RE on the scanner). */
const FAMILIES: Record<string, readonly (string | 'gpt2')[]> = {
  gpt2: ['gpt2'],
  llama3: [LLAMA3_RE],
  qwen2: [QWEN2_RE],
  'deepseek-llm': [
    '[\\r\\n]',
    '\\s?[A-Za-z\\u00b5\\u00c0-\\u00d6\\u00d8-\\u00f6\\u00f8-\\u01ba\\u01bc-\\u01bf\\u01c4-\\u0293\\u0295-\\u02af\\u0370-\\u0373\\u0376\\u0377\\u037b-\\u037d\\u037f\\u0386\\u0388-\\u038a\\u038c\\u038e-\\u03a1\\u03a3-\\u03f5\\u03f7-\\u0481\\u048a-\\u052f\\u0531-\\u0556\\u10a0-\\u10c5\\u13a0-\\u13f5\\u13f8-\\u13fd\\u1c90-\\u1cba\\u1cbd-\\u1cbf\\u1d00-\\u1d2b\\u1d6b-\\u1d77\\u1d79-\\u1d9a\\u1e00-\\u1f15\\u1f18-\\u1f1d\\u1f20-\\u1f45\\u1f48-\\u1f4d\\u1f50-\\u1f57\\u1f59\\u1f5b\\u1f5d\\u1f5f-\\u1f7d\\u1f80-\\u1fb4\\u1fb6-\\u1fbc\\u1fbe\\u1fc2-\\u1fc4\\u1fc6-\\u1fcc\\u1fd0-\\u1fd3\\u1fd6-\\u1fdb\\u1fe0-\\u1fec\\u1ff2-\\u1ff4\\u1ff6-\\u1ffc\\u2102\\u2107\\u210a-\\u2113\\u2115\\u2119-\\u211d\\u2124\\u2126\\u2128\\u212a-\\u212d\\u212f-\\u2134\\u2139\\u213c-\\u213f\\u2145-\\u2149\\u214e\\u2183\\u2184\\u2c00-\\u2c7b\\u2c7e-\\u2ce4\\u2ceb-\\u2cee\\u2cf2\\u2cf3\\ua640-\\ua66d\\ua680-\\ua69b\\ua722-\\ua76f\\ua771-\\ua787\\ua78b-\\ua78e\\uab70-\\uabbf\\ufb00-\\ufb06\\ufb13-\\ufb17\\uff21-\\uff3a\\uff41-\\uff5a\\u{10400}-\\u{1044f}\\u{104b0}-\\u{104d3}\\u{104d8}-\\u{104fb}\\u{10c80}-\\u{10cb2}\\u{10cc0}-\\u{10cf2}\\u{118a0}-\\u{118df}\\u{1e900}-\\u{1e943}]+',
    '\\s?[!-/:-~！-／：-～‘-‟　-。]+',
    '\\s+$',
    CJK_RE,
    '\\p{N}+',
  ],
  'deepseek-coder': ['[\\r\\n]', '\\s?\\p{L}+', '\\s?\\p{P}+', CJK_RE, '\\p{N}'],
  falcon: ['[\\p{P}\\$\\+<=>\\^~\\|`]+', 'gpt2', '[0-9][0-9][0-9]'],
  starcoder: ['\\p{N}', 'gpt2'],
  default: ['[\\p{P}\\$\\+<=>\\^~\\|]+', 'gpt2', '\\p{N}+', '[0-9][0-9][0-9]'],
};

/** llama.cpp `tokenizer.ggml.pre` names -> family and BPE flags (only families with goldens here). */
const NAMES: Record<string, { family: string; ignoreMerges?: boolean }> = {
  default: { family: 'default' },
  'gpt-2': { family: 'gpt2' },
  'phi-2': { family: 'gpt2' },
  mpt: { family: 'gpt2' },
  olmo: { family: 'gpt2' },
  jais: { family: 'gpt2' },
  gigachat: { family: 'gpt2' },
  llama3: { family: 'llama3', ignoreMerges: true },
  'llama-v3': { family: 'llama3', ignoreMerges: true },
  'llama-bpe': { family: 'llama3', ignoreMerges: true },
  falcon3: { family: 'llama3', ignoreMerges: true },
  'falcon-h1': { family: 'llama3', ignoreMerges: true },
  pixtral: { family: 'llama3', ignoreMerges: true },
  dbrx: { family: 'llama3' },
  'smaug-bpe': { family: 'llama3' },
  qwen2: { family: 'qwen2' },
  'deepseek-r1-qwen': { family: 'qwen2' },
  megrez: { family: 'qwen2' },
  stablelm2: { family: 'qwen2' },
  'deepseek-llm': { family: 'deepseek-llm' },
  'deepseek-coder': { family: 'deepseek-coder' },
  falcon: { family: 'falcon' },
  starcoder: { family: 'starcoder' },
  refact: { family: 'starcoder' },
  'command-r': { family: 'starcoder' },
  smollm: { family: 'starcoder' },
  codeshell: { family: 'starcoder' },
  exaone: { family: 'starcoder' },
  'minerva-7b': { family: 'starcoder' },
};

/** The name GGUF export writes for each family. */
const CANONICAL: Record<string, string> = {
  llama3: 'llama-bpe', qwen2: 'qwen2', 'deepseek-llm': 'deepseek-llm', 'deepseek-coder': 'deepseek-coder', falcon: 'falcon', starcoder: 'starcoder', default: 'default',
};

/** The `tokenizer.ggml.pre` names this build supports. */
export const SUPPORTED_PRE_TOKENIZERS: readonly string[] = Object.keys(NAMES);

const byFamily = new Map<string, PreTokenizer>();

function familyPre(family: string, name: string): PreTokenizer {
  let p = byFamily.get(family);
  if (p === undefined) {
    const steps = FAMILIES[family].map((s) => (s === 'gpt2' ? 'gpt2' : jsRegex(s)));
    p = { name, split: sequenceSplit(steps), isGpt2: family === 'gpt2' };
    byFamily.set(family, p);
  }
  return p.name === name ? p : { ...p, name };
}

/** GPT-2's pre-tokenizer. */
export const GPT2_PRE: PreTokenizer = { name: 'gpt-2', split: gpt2Split, isGpt2: true };

/**
 * The pre-tokenizer for a GGUF `tokenizer.ggml.pre` value and whether BPE ignores merges for whole
 * vocabulary words (llama.cpp's `ignore_merges`, HF `BPE.ignore_merges`). A missing value (files
 * converted before llama.cpp wrote it, e.g. gpt-neox) means GPT-2's regex, which those tokenizers use.
 */
export function preTokenizerByName(pre: string | undefined, where = 'gguf'): { pre: PreTokenizer; ignoreMerges: boolean } {
  if (pre === undefined) return { pre: GPT2_PRE, ignoreMerges: false };
  const e = Object.hasOwn(NAMES, pre) ? NAMES[pre] : undefined;
  if (e === undefined) throw new Error(`${where}: pre-tokenizer "${pre}" is not supported (supported: ${SUPPORTED_PRE_TOKENIZERS.join(', ')})`);
  return { pre: e.family === 'gpt2' ? (pre === 'gpt-2' ? GPT2_PRE : { ...GPT2_PRE, name: pre }) : familyPre(e.family, pre), ignoreMerges: e.ignoreMerges === true };
}

interface HfPre {
  type?: string;
  pretokenizers?: HfPre[];
  pattern?: { Regex?: string; String?: string };
  behavior?: string;
  invert?: boolean;
  use_regex?: boolean;
  add_prefix_space?: boolean;
  individual_digits?: boolean;
}

function escapeRegex(s: string): string {
  return s.replace(/[\\^$.*+?()[\]{}|/-]/g, '\\$&');
}

/** One HF pre-tokenizer object -> steps (ByteLevel without regex adds none). */
function hfSteps(p: HfPre, where: string): Step[] {
  switch (p.type) {
    case 'Sequence':
      return (p.pretokenizers ?? []).flatMap((q) => hfSteps(q, where));
    case 'ByteLevel':
      if (p.add_prefix_space) throw new Error(`${where}: ByteLevel add_prefix_space=true is not supported`);
      return p.use_regex === false ? [] : ['gpt2'];
    case 'Split': {
      if (p.behavior !== 'Isolated' || p.invert) throw new Error(`${where}: Split with behavior ${String(p.behavior)}${p.invert ? ' (inverted)' : ''} is not supported (only Isolated)`);
      const src = p.pattern?.Regex ?? (p.pattern?.String !== undefined ? escapeRegex(p.pattern.String) : undefined);
      if (src === undefined) throw new Error(`${where}: Split has no pattern`);
      return [src === GPT2_RE || src === `${GPT2_RE}|\\s+` ? 'gpt2' : jsRegex(src)];
    }
    case 'Digits':
      return [jsRegex(p.individual_digits ? '\\p{N}' : '\\p{N}+')];
    case 'Punctuation':
      if (p.behavior !== undefined && p.behavior !== 'Isolated' && p.behavior !== 'Contiguous') throw new Error(`${where}: Punctuation behavior ${p.behavior} is not supported`);
      // HF: char.is_ascii_punctuation() || Unicode P
      return [jsRegex(`[\\p{P}!-/:-@\\[-\`{-~]${p.behavior === 'Contiguous' ? '+' : ''}`)];
    default:
      throw new Error(`${where}: pre-tokenizer ${String(p.type)} is not supported for byte-level BPE (supported: ByteLevel, Split(Isolated), Digits, Punctuation, Sequence; GGUF names: ${SUPPORTED_PRE_TOKENIZERS.join(', ')})`);
  }
}

/** The pre-tokenizer of a HF tokenizer.json `pre_tokenizer` (which must include ByteLevel). */
export function preTokenizerFromHf(json: unknown, where = 'tokenizer.json'): PreTokenizer {
  const p = json as HfPre | null | undefined;
  const kinds = p?.type === 'Sequence' ? (p.pretokenizers ?? []).map((q) => q.type) : [p?.type];
  if (!kinds.includes('ByteLevel')) throw new Error(`${where}: pre-tokenizer ${kinds.join('+') || 'none'} is not byte-level (only byte-level BPE is supported)`);
  const steps = hfSteps(p!, where);
  if (steps.length === 1 && steps[0] === 'gpt2') return GPT2_PRE;
  const src = steps.map((s) => (s === 'gpt2' ? 'gpt2' : s.source));
  // named by the llama.cpp family whose translated regexes are the same
  let name: string | undefined;
  for (const [family, canonical] of Object.entries(CANONICAL)) {
    const fam = FAMILIES[family].map((s) => (s === 'gpt2' ? 'gpt2' : jsRegex(s).source));
    if (fam.length === src.length && fam.every((s, i) => s === src[i])) name = canonical;
  }
  return { name, split: sequenceSplit(steps), isGpt2: false };
}
