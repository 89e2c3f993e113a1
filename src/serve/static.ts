/**
 * The web chat's files (src/serve/web), served from a fixed list with fixed content types and a
 * strict Content-Security-Policy (no inline scripts, no external origins). The page gets its
 * configuration through a `data-config` attribute (HTML-escaped JSON), never an inline script.
 * Deliberately no directory listing and no path from the request reaches the file system.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ApiError } from './errors.js';

const here = dirname(fileURLToPath(import.meta.url));
// compiled: dist/src/serve -> ../../../src/serve/web; from source: ./web
const WEB = [join(here, 'web'), join(here, '../../../src/serve/web')].find((d) => existsSync(join(d, 'index.html'))) ?? join(here, 'web');

const FILES: Record<string, string> = {
  'index.html': 'text/html; charset=utf-8',
  'app.js': 'text/javascript; charset=utf-8',
  'markdown.js': 'text/javascript; charset=utf-8',
  'style.css': 'text/css; charset=utf-8',
};

const CSP = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

const escapeHtml = (s: string): string => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

/** One web file; `config` is injected into index.html. */
export function staticAsset(name: string, config?: unknown): Response {
  const type = FILES[name];
  if (!type) throw new ApiError(404, `no such file /web/${name}`, 'not_found_error', null, 'not_found');
  let body = readFileSync(join(WEB, name), 'utf8');
  if (name === 'index.html') body = body.replace('data-config="{}"', `data-config="${escapeHtml(JSON.stringify(config ?? {}))}"`);
  return new Response(body, { headers: { 'content-type': type, 'content-security-policy': CSP, 'x-content-type-options': 'nosniff', 'cache-control': 'no-cache' } });
}
