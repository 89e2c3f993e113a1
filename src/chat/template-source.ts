/**
 * Where a non-MOSS model's chat template and stop tokens come from: an HF folder's
 * `chat_template.jinja` or tokenizer_config.json `chat_template` (a string, or a list of named
 * templates: `default`, `tool_use`), its `bos_token`/`eos_token`/`add_bos_token`, and
 * generation_config.json `eos_token_id` (one id or a list); a GGUF's `tokenizer.chat_template`
 * (`tokenizer.chat_template.tool_use`), bos/eos/eot/eom ids and `tokenizer.ggml.add_bos_token`.
 * As llama.cpp does, the vocabulary's end-of-turn tokens (`<|eot_id|>`, `<|eom_id|>`, `<|end_of_text|>`, `<|im_end|>`,
 * `<|end|>`, `<end_of_turn>`, `<|endoftext|>`, `<EOT>`) also stop generation when they are control tokens.
 * A model with none of these files (llama2.c) has no template: ChatTemplate uses its plain fallback.
 * Deliberately not here: rendering (./template.ts), the MOSS format.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { readGguf } from '../io/index.js';
import { readJsonIf } from '../io/json.js';
import { SentencePieceBpe, type Tokenizer } from '../tokenizer/index.js';
import { ChatTemplate, type ChatTemplateInfo } from './template.js';

/** End-of-turn token texts llama.cpp recognises by name (llama-vocab.cpp, special_eog_ids). */
const EOT_TEXTS = ['<|eot_id|>', '<|eom_id|>', '<|end_of_text|>', '<|im_end|>', '<|end|>', '<end_of_turn>', '<|endoftext|>', '<EOT>', '<｜end▁of▁sentence｜>'];

function contentOf(v: unknown): string | undefined {
  if (typeof v === 'string') return v;
  if (v && typeof v === 'object' && typeof (v as { content?: unknown }).content === 'string') return (v as { content: string }).content;
  return undefined;
}

function ids(v: unknown): number[] {
  if (typeof v === 'number') return [v];
  if (typeof v === 'bigint') return [Number(v)];
  if (Array.isArray(v)) return v.filter((x): x is number => typeof x === 'number');
  return [];
}

/** Control tokens named like an end of turn. */
function eotIds(tok: Tokenizer): number[] {
  const out: number[] = [];
  for (const t of EOT_TEXTS) {
    const id = tok.tokenToId(t);
    if (id !== undefined && tok.isSpecial(id)) out.push(id);
  }
  return out;
}

/** The `default` and `tool_use` templates of a tokenizer_config `chat_template` (string or named list). */
function namedTemplates(v: unknown, where: string): { template?: string; toolTemplate?: string } {
  if (v === undefined || v === null) return {};
  if (typeof v === 'string') return { template: v };
  if (Array.isArray(v)) {
    const by = new Map<string, string>();
    for (const e of v as { name?: unknown; template?: unknown }[]) if (typeof e?.name === 'string' && typeof e.template === 'string') by.set(e.name, e.template);
    return { template: by.get('default'), toolTemplate: by.get('tool_use') };
  }
  throw new Error(`${where}: chat_template is neither a string nor a list of {name, template}`);
}

/** From parsed tokenizer_config.json / generation_config.json (either may be absent). */
export function chatTemplateFromHf(
  tok: Tokenizer,
  tokenizerConfig: Record<string, unknown> | undefined,
  generationConfig: Record<string, unknown> | undefined,
  jinja: string | undefined,
  where: string,
): ChatTemplateInfo {
  const cfg = tokenizerConfig ?? {};
  const named = namedTemplates(cfg.chat_template, `${where}/tokenizer_config.json`);
  const template = jinja ?? named.template;
  const source = jinja !== undefined ? `${where}/chat_template.jinja` : `${where}/tokenizer_config.json chat_template`;
  const stop = new Set([...ids(generationConfig?.eos_token_id), ...eotIds(tok)]);
  const eos = contentOf(cfg.eos_token);
  const eosId = eos === undefined ? undefined : tok.tokenToId(eos);
  if (eosId !== undefined) stop.add(eosId);
  const addBos = typeof cfg.add_bos_token === 'boolean' ? cfg.add_bos_token : tok instanceof SentencePieceBpe;
  return { template, toolTemplate: named.toolTemplate, bosToken: contentOf(cfg.bos_token), eosToken: eos, addBos, stopIds: [...stop], source };
}

/** From GGUF metadata. */
export function chatTemplateFromGguf(tok: Tokenizer, md: Record<string, unknown>, where: string): ChatTemplateInfo {
  const tokens = md['tokenizer.ggml.tokens'] as readonly string[] | undefined;
  const text = (k: string): string | undefined => {
    const id = ids(md[k])[0];
    return id === undefined ? undefined : tokens?.[id];
  };
  const str = (k: string): string | undefined => (typeof md[k] === 'string' ? (md[k] as string) : undefined);
  const stop = new Set([...['eos', 'eot', 'eom'].flatMap((k) => ids(md[`tokenizer.ggml.${k}_token_id`])), ...eotIds(tok)]);
  const ab = md['tokenizer.ggml.add_bos_token'];
  return {
    template: str('tokenizer.chat_template'),
    toolTemplate: str('tokenizer.chat_template.tool_use'),
    bosToken: text('tokenizer.ggml.bos_token_id'),
    eosToken: text('tokenizer.ggml.eos_token_id'),
    addBos: typeof ab === 'boolean' ? ab : md['tokenizer.ggml.model'] === 'llama',
    stopIds: [...stop],
    source: `${where} tokenizer.chat_template`,
  };
}

/**
 * The chat-template info of the model at `path` (a folder, a .gguf, or a file inside a folder such
 * as a llama2.c .bin) for its tokenizer `tok`.
 */
export function loadChatTemplateInfo(path: string, tok: Tokenizer): ChatTemplateInfo {
  if (path.toLowerCase().endsWith('.gguf')) return chatTemplateFromGguf(tok, readGguf(path).metadata, path);
  const dir = existsSync(path) && statSync(path).isDirectory() ? path : dirname(path);
  const jinjaPath = join(dir, 'chat_template.jinja');
  const jinja = existsSync(jinjaPath) ? readFileSync(jinjaPath, 'utf8') : undefined;
  return chatTemplateFromHf(tok, readJsonIf(join(dir, 'tokenizer_config.json')), readJsonIf(join(dir, 'generation_config.json')), jinja, dir);
}

/** MOSS's control tokens: a tokenizer with all of them chats in the MOSS format. */
const MOSS_TOKENS = ['<eoh>', '<eom>', '<eot>', '<eoc>', '<eor>'];

/**
 * The model family's way from messages to a prompt: undefined for a MOSS tokenizer (the MOSS
 * format, ./messages.ts), else the model's chat template (or the plain fallback).
 */
export function modelChatTemplate(path: string, tok: Tokenizer): ChatTemplate | undefined {
  if (MOSS_TOKENS.every((t) => tok.tokenToId(t) !== undefined)) return undefined;
  return new ChatTemplate(loadChatTemplateInfo(path, tok));
}
