/**
 * `moss chat` set-up from its flags: the model (default: the bundled models/moss-tiny), a MOSS
 * tokenizer (control tokens checked up front), sampling options (flags > generation_config.json >
 * MOSS defaults), the plugins and their switches (`--plugins`, `/plugins`), and the adapter that
 * runs the chat loop on the model. Deliberately no terminal I/O here (./repl.ts, ../chat.ts).
 */
import { existsSync } from 'node:fs';
import { configureEngine } from '../../backends/index.js';
import { createPrefixCache } from '../../generate/prefix-blocks.js';
import { ModelGenerator } from '../../generate/prefix-cache.js';
import { ALL_OFF, anyPlugin, resolveQuality, type PluginSwitches, type QualityTag } from '../../chat/meta.js';
import { generationDefaults } from '../../generate/index.js';
import { loadModel, type LoadedModel } from '../../models/load.js';
import { createPlugins, type Plugin, type PluginsConfig } from '../../plugins/index.js';
import type { Tokenizer } from '../../tokenizer/index.js';
import { number, withSamplingFlags, type SamplingFlags } from '../flags.js';
import { findTokenizer, modelPath } from '../model-files.js';
import { engineFromFlags } from '../options.js';
import type { ChatTemplate } from '../../chat/template.js';
import { modelChatTemplate } from '../../chat/template-source.js';


export interface ChatFlags extends SamplingFlags {
  model?: string;
  tokenizer?: string;
  message: string[];
  plugins?: string;
  innerThoughts?: boolean;
  searchDir?: string;
  imageEndpoint?: string;
  imageDir?: string;
  maxNewTokens?: string;
  maxContext?: string;
  prefixCacheMb?: string;
  seed?: string;
  threads?: string;
  load?: string;
  save?: string;
  json?: boolean;
  quality?: string;
}


/** Plugin names users type → switch. */
const NAMES: Record<string, keyof PluginSwitches> = {
  calculator: 'calculator', calculate: 'calculator', calc: 'calculator',
  solver: 'solver', solve: 'solver', 'equation-solver': 'solver',
  search: 'search', 'web-search': 'search',
  text2image: 'text2image', image: 'text2image', 'text-to-image': 'text2image',
  thoughts: 'innerThoughts', 'inner-thoughts': 'innerThoughts',
};
export const PLUGIN_NAMES = ['calculator', 'solver', 'search', 'text2image'] as const;

/**
 * Applies a plugin list to `cur`: `calculator,solver` sets exactly those; `+search` / `-solver`
 * toggle one; `all` / `none`. Inner thoughts follow "any plugin on" unless named (`thoughts`).
 */
export function applyPluginList(cur: PluginSwitches, spec: string): PluginSwitches {
  const items = spec.split(/[\s,]+/).filter((x) => x.length > 0);
  if (items.length === 0) throw new Error('plugins: give a list such as calculator,solver (or all, none, +search, -solver)');
  const absolute = items.some((x) => !/^[+-]/.test(x));
  const s: { -readonly [K in keyof PluginSwitches]: boolean } = absolute ? { ...ALL_OFF } : { ...cur };
  let thoughtsNamed = false;
  for (const raw of items) {
    const sign = raw[0] === '-' ? false : true;
    const name = raw.replace(/^[+-]/, '').toLowerCase();
    if (name === 'all') for (const p of PLUGIN_NAMES) s[p] = sign;
    else if (name !== 'none') {
      const k = NAMES[name];
      if (!k) throw new Error(`plugins: unknown plugin "${name}" (known: ${PLUGIN_NAMES.join(', ')}, thoughts, all, none)`);
      s[k] = sign;
      if (k === 'innerThoughts') thoughtsNamed = true;
    }
  }
  if (!thoughtsNamed) s.innerThoughts = anyPlugin(s);
  return s;
}

/** The plugins' configuration from --search-dir / --image-endpoint. */
export function pluginsConfig(f: ChatFlags): PluginsConfig {
  const cfg: { search?: PluginsConfig['search']; text2image?: PluginsConfig['text2image'] } = {};
  if (f.searchDir !== undefined) {
    if (!existsSync(f.searchDir)) throw new Error(`--search-dir: ${f.searchDir}: no such folder`);
    cfg.search = { provider: 'local', dir: f.searchDir };
  }
  if (f.imageEndpoint !== undefined) {
    const m = /^(openai|sdwebui):(.*)$/.exec(f.imageEndpoint);
    const url = m ? m[2] : f.imageEndpoint;
    if (!/^https?:\/\//.test(url)) throw new Error(`--image-endpoint: "${f.imageEndpoint}" is not [openai:|sdwebui:]http(s)://host[:port]`);
    cfg.text2image = { provider: m?.[1] === 'sdwebui' ? 'sdwebui' : 'openai', url, outDir: f.imageDir ?? 'moss-images' };
  }
  return cfg;
}

/** Default switches: every plugin that can work (search and text2image only when configured). */
export function defaultSwitches(f: ChatFlags): PluginSwitches {
  if (f.plugins !== undefined) {
    const s = applyPluginList(ALL_OFF, f.plugins);
    return f.innerThoughts === false ? { ...s, innerThoughts: false } : s;
  }
  const s = { ...ALL_OFF, calculator: true, solver: true, search: f.searchDir !== undefined, text2image: f.imageEndpoint !== undefined };
  return { ...s, innerThoughts: f.innerThoughts !== false };
}

/** One line per switch, for `/plugins` and the banner. */
export function describeSwitches(s: PluginSwitches, cfg: PluginsConfig): string {
  const need: Record<string, string> = { search: cfg.search ? '' : ' (not configured: --search-dir)', text2image: cfg.text2image ? '' : ' (not configured: --image-endpoint)' };
  const on = PLUGIN_NAMES.filter((p) => s[p]).map((p) => `${p}${need[p] ?? ''}`);
  return `plugins: ${on.length ? on.join(', ') : 'none'}; inner thoughts: ${s.innerThoughts ? 'on' : 'off'}`;
}

export interface ChatSetup {
  readonly loaded: LoadedModel;
  readonly tokenizer: Tokenizer;
  readonly generator: ModelGenerator;
  readonly plugins: Map<string, Plugin>;
  readonly pluginsConfig: PluginsConfig;
  readonly maxContext: number;
  readonly maxNewTokens: number;
  /** A non-MOSS model's chat template (MOSS's plugins are off); absent: the MOSS format. */
  readonly template?: ChatTemplate;
  /** Decoding quality tag of a steer-trained model (`--quality`). */
  readonly quality?: QualityTag;
}

/** Loads the model and tokenizer and builds the adapter. */
export function setUp(f: ChatFlags): ChatSetup {
  const path = modelPath('chat', f.model);
  configureEngine(engineFromFlags({ threads: f.threads }));
  const pcfg = pluginsConfig(f);
  const loaded = loadModel(path);
  let tokenizer: Tokenizer | null;
  const tpath = f.tokenizer ?? path;
  try {
    tokenizer = findTokenizer(path, f.tokenizer);
  } catch (e) {
    throw new Error(`chat: no tokenizer for ${path}: ${(e as Error).message}; pass --tokenizer <path>`, { cause: e });
  }
  if (!tokenizer) throw new Error(`chat: no tokenizer for ${path}: none beside it; pass --tokenizer <path> (a MOSS tokenizer with <eoh> <eom> <eot> <eoc> <eor>)`);
  // a MOSS tokenizer chats in the MOSS format; any other model through its own chat template
  let template: ChatTemplate | undefined;
  try {
    template = modelChatTemplate(path, tokenizer);
  } catch (e) {
    throw new Error(`chat: ${tpath}: ${(e as Error).message}`, { cause: e });
  }
  const info = loaded.model.info;
  if (tokenizer.vocabSize > info.vocabSize) throw new Error(`chat: the tokenizer has ${tokenizer.vocabSize} tokens but the model only ${info.vocabSize}`);
  const defaults = generationDefaults(info, loaded.generationConfig);
  const o = withSamplingFlags(defaults, f);
  const seed = number('seed', f.seed, { int: true, min: 0 });
  const maxContext = Math.min(number('max-context', f.maxContext, { int: true, min: 16 }) ?? 2048, info.maxPositions);
  const maxNewTokens = number('max-new-tokens', f.maxNewTokens, { int: true, min: 1 }) ?? defaults.maxNewTokens ?? 512;
  const eot = tokenizer.tokenToId('<|endoftext|>');
  const stopIds = [...(o.stopIds ?? []), ...(eot !== undefined ? [eot] : [])];
  const prefixCache = createPrefixCache(loaded.model, number('prefix-cache-mb', f.prefixCacheMb, { min: 0 }), maxContext);
  const generator = new ModelGenerator(loaded.model, { ...o, stopIds, seed, maxContext, prefixCache, vocabSize: tokenizer.vocabSize }); // padding rows past the vocab are never sampled
  const quality = resolveQuality(f.quality, loaded.generationConfig, path);
  return { loaded, tokenizer, generator, plugins: createPlugins(pcfg), pluginsConfig: pcfg, maxContext, maxNewTokens, template, quality };
}
