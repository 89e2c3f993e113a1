/**
 * The `Search` plugin: one query in, top-k snippets out, from a configured provider
 * (`local` BM25 over a folder, `searxng`, or a generic JSON HTTP endpoint). Deliberately holds no
 * state besides the local provider's on-disk index.
 */
import { PluginError, MAX_ARG_CHARS, type Plugin, type PluginResult, type RunOptions } from '../types.js';
import { searchJson, searchSearxng, type JsonConfig, type SearxngConfig } from './http.js';
import { searchLocal } from './local.js';

export interface LocalConfig { readonly provider: 'local'; readonly dir: string }
export type SearchConfig = (LocalConfig | SearxngConfig | JsonConfig) & { readonly topK?: number };

const MAX_SNIPPET = 500;

/** Builds the `Search` plugin; without a config every call fails with 'not-configured'. */
export function searchPlugin(cfg?: SearchConfig): Plugin {
  return {
    name: 'Search',
    async run(query: string, opts: RunOptions = {}): Promise<PluginResult> {
      if (!cfg) throw new PluginError('not-configured', 'no search provider configured (moss chat: --search-dir <folder>; serve/config: a local folder, a SearXNG URL or a JSON provider)');
      const q = query.trim();
      if (!q || q.length > MAX_ARG_CHARS) throw new PluginError('invalid', 'empty or overlong query');
      const k = cfg.topK ?? 3;
      const hits = cfg.provider === 'local' ? searchLocal(cfg.dir, q, k)
        : cfg.provider === 'searxng' ? await searchSearxng(cfg, q, k, opts) : await searchJson(cfg, q, k, opts);
      if (hits.length === 0) throw new PluginError('no-result', 'no search results');
      return { kind: 'hits', hits: hits.map((h) => ({ ...h, snippet: h.snippet.length > MAX_SNIPPET ? `${h.snippet.slice(0, MAX_SNIPPET)} ...` : h.snippet })) };
    },
  };
}
