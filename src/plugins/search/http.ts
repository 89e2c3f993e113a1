/**
 * HTTP search providers: SearXNG (`<instance>/search?q=…&format=json`, results[].content) and a
 * generic JSON endpoint (a URL template with `{query}` and a dotted path to the result array,
 * with field names for the snippet/title/url). Uses global fetch with a timeout; never follows
 * anything but the configured URL. Deliberately no HTML scraping of search engines.
 */
import { PluginError, timeoutSignal, type RunOptions, type SearchHit } from '../types.js';

export interface SearxngConfig { readonly provider: 'searxng'; readonly url: string; readonly apiKey?: string }
export interface JsonConfig {
  readonly provider: 'json';
  /** e.g. `https://example.org/api?q={query}&n=5` */
  readonly urlTemplate: string;
  /** Dotted path to the hits array, e.g. `data.items` ('' = the body itself). */
  readonly resultsPath: string;
  readonly snippetField?: string;
  readonly titleField?: string;
  readonly urlField?: string;
  readonly headers?: Record<string, string>;
}

async function getJson(url: string, headers: Record<string, string>, opts: RunOptions): Promise<unknown> {
  let res: Response;
  try {
    res = await fetch(url, { headers: { accept: 'application/json', ...headers }, signal: timeoutSignal(opts) });
  } catch (err) {
    const name = (err as Error).name;
    throw new PluginError(name === 'TimeoutError' || name === 'AbortError' ? 'timeout' : 'network', `search request failed: ${(err as Error).message}`);
  }
  if (!res.ok) throw new PluginError('network', `search endpoint answered HTTP ${res.status}`);
  try {
    return await res.json();
  } catch {
    throw new PluginError('network', 'search endpoint did not return JSON');
  }
}

/** Follows a dotted path through plain objects/arrays (own properties only). */
export function getPath(obj: unknown, path: string): unknown {
  let cur = obj;
  for (const key of path.split('.').filter(Boolean)) {
    if (cur === null || typeof cur !== 'object' || !Object.hasOwn(cur, key)) return undefined;
    cur = (cur as Record<string, unknown>)[key];
  }
  return cur;
}

function toHits(items: unknown, snippet: string, title: string, url: string, k: number): SearchHit[] {
  if (!Array.isArray(items)) throw new PluginError('network', 'search response has no result list');
  const hits: SearchHit[] = [];
  for (const it of items) {
    const s = getPath(it, snippet);
    if (typeof s !== 'string' || !s.trim()) continue;
    const t = getPath(it, title); const u = getPath(it, url);
    hits.push({ snippet: s.trim(), title: typeof t === 'string' ? t : undefined, url: typeof u === 'string' ? u : undefined });
    if (hits.length >= k) break;
  }
  return hits;
}

export async function searchSearxng(cfg: SearxngConfig, query: string, k: number, opts: RunOptions): Promise<SearchHit[]> {
  const u = new URL('search', cfg.url.endsWith('/') ? cfg.url : `${cfg.url}/`);
  u.searchParams.set('q', query);
  u.searchParams.set('format', 'json');
  const body = await getJson(u.toString(), cfg.apiKey ? { authorization: `Bearer ${cfg.apiKey}` } : {}, opts);
  return toHits(getPath(body, 'results'), 'content', 'title', 'url', k);
}

export async function searchJson(cfg: JsonConfig, query: string, k: number, opts: RunOptions): Promise<SearchHit[]> {
  const url = cfg.urlTemplate.replaceAll('{query}', encodeURIComponent(query));
  const body = await getJson(url, cfg.headers ?? {}, opts);
  return toHits(cfg.resultsPath ? getPath(body, cfg.resultsPath) : body, cfg.snippetField ?? 'snippet', cfg.titleField ?? 'title', cfg.urlField ?? 'url', k);
}
