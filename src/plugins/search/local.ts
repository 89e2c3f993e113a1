/**
 * The `local` search provider: BM25 over the user's own .txt/.md/.html files in one folder
 * (recursively), chunked into ~600-character passages. The index is kept on disk in
 * `<folder>/.moss-search-index.json` with each file's size and mtime, and rebuilt when any file
 * was added, removed or changed. Deliberately no PDF/Office parsing and no file watching.
 */
import { readdirSync, readFileSync, statSync, writeFileSync, renameSync } from 'node:fs';
import { join, relative, extname } from 'node:path';
import { buildIndex, searchIndex, type Bm25Index, type Doc } from './bm25.js';
import type { SearchHit } from '../types.js';

const EXTS = new Set(['.txt', '.md', '.markdown', '.html', '.htm']);
const INDEX_FILE = '.moss-search-index.json';
const CHUNK = 600;

interface Stored { version: 1; files: Record<string, string>; index: Bm25Index }

function listFiles(dir: string, root = dir, out: string[] = []): string[] {
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    if (e.name.startsWith('.')) continue;
    const p = join(dir, e.name);
    if (e.isDirectory()) listFiles(p, root, out);
    else if (e.isFile() && EXTS.has(extname(e.name).toLowerCase())) out.push(relative(root, p));
  }
  return out.sort();
}

/** Plain text of an HTML page (scripts/styles dropped, tags removed, common entities decoded). */
export function htmlToText(html: string): string {
  return html
    .replace(/<(script|style)[\s\S]*?<\/\1>/gi, ' ')
    .replace(/<[^>]+>/g, ' ')
    .replace(/&nbsp;/g, ' ').replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&quot;/g, '"').replace(/&#39;/g, "'").replace(/&amp;/g, '&')
    .replace(/\s+/g, ' ').trim();
}

function chunks(file: string, text: string): Doc[] {
  const out: Doc[] = [];
  const paras = text.split(/\n\s*\n/).map((p) => p.replace(/\s+/g, ' ').trim()).filter(Boolean);
  let cur = '';
  for (const p of paras) {
    if (cur && cur.length + p.length > CHUNK) { out.push({ id: `${file}#${out.length}`, text: cur }); cur = ''; }
    cur = cur ? `${cur} ${p}` : p;
    while (cur.length > CHUNK * 2) { out.push({ id: `${file}#${out.length}`, text: cur.slice(0, CHUNK) }); cur = cur.slice(CHUNK); }
  }
  if (cur) out.push({ id: `${file}#${out.length}`, text: cur });
  return out;
}

/** Loads the on-disk index of `dir`, rebuilding (and saving) it when the files changed. */
export function loadLocalIndex(dir: string): { index: Bm25Index; rebuilt: boolean } {
  const files = listFiles(dir);
  const stamp: Record<string, string> = {};
  for (const f of files) { const s = statSync(join(dir, f)); stamp[f] = `${s.size}:${s.mtimeMs}`; }
  const path = join(dir, INDEX_FILE);
  try {
    const stored = JSON.parse(readFileSync(path, 'utf8')) as Stored;
    if (stored.version === 1 && JSON.stringify(stored.files) === JSON.stringify(stamp)) return { index: stored.index, rebuilt: false };
  } catch { /* missing or corrupt: rebuild */ }
  const docs = files.flatMap((f) => {
    const raw = readFileSync(join(dir, f), 'utf8');
    return chunks(f, /\.html?$/i.test(f) ? htmlToText(raw) : raw);
  });
  const index = buildIndex(docs);
  const tmp = `${path}.tmp-${process.pid}`;
  writeFileSync(tmp, JSON.stringify({ version: 1, files: stamp, index } satisfies Stored));
  renameSync(tmp, path);
  return { index, rebuilt: true };
}

/** Top-k passages of the folder for a query. */
export function searchLocal(dir: string, query: string, k: number): SearchHit[] {
  const { index } = loadLocalIndex(dir);
  return searchIndex(index, query, k).map((h) => ({ title: h.doc.id.split('#')[0], snippet: h.doc.text }));
}
