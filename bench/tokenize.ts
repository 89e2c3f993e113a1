/**
 * `npm run bench -- tokenize [--json] [--mb N]`: GPT-2 encode throughput (MB/s of UTF-8 input) of this
 * project's byte-level BPE against npm GPT-2 tokenizers installed in bench/peers (gpt-tokenizer,
 * js-tiktoken, @dqbd/tiktoken (WASM), gpt3-tokenizer, @huggingface/tokenizers), on a mixed
 * English/Chinese/code text built at run time from the MOSS SFT conversations in ../shared.
 * Each peer's ids are checked against ours on a sample before it is timed.
 */
import { existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { ByteLevelBpe, byteLevelFromVocabFiles, parseMerges } from '../src/tokenizer/index.js';

const here = dirname(fileURLToPath(import.meta.url));
const repo = resolve(here, '../..');
const SHARED = process.env.MOSS_SHARED ?? join(repo, '..', 'shared');
const PEERS = join(repo, 'bench', 'peers');

type Encode = (text: string) => ArrayLike<number>;

/** English, Chinese and code from the MOSS SFT turns, until `bytes` UTF-8 bytes. */
function buildText(bytes: number): string {
  const dir = join(SHARED, 'data/moss-sft');
  const parts: string[] = [];
  let n = 0;
  const enc = new TextEncoder();
  for (let pass = 0; n < bytes && pass < 10; pass++) {
    for (const f of readdirSync(dir).sort()) {
      for (const line of readFileSync(join(dir, f), 'utf8').split('\n')) {
        if (!line.trim()) continue;
        const chat = (JSON.parse(line) as { chat?: Record<string, Record<string, string>> }).chat ?? {};
        for (const turn of Object.values(chat)) {
          for (const v of Object.values(turn)) {
            if (typeof v !== 'string' || v.length === 0) continue;
            parts.push(v);
            n += enc.encode(v).length + 1;
            if (n >= bytes) return parts.join('\n');
          }
        }
      }
    }
  }
  return parts.join('\n');
}

/** Peer encoders that load; a missing peer is reported, not fatal. */
async function loadPeers(): Promise<{ name: string; encode?: Encode; error?: string }[]> {
  const req = createRequire(join(PEERS, 'package.json'));
  const load = async (spec: string): Promise<Record<string, unknown>> => (await import(pathToFileURL(req.resolve(spec)).href)) as Record<string, unknown>;
  const peers: { name: string; make: () => Promise<Encode> }[] = [
    { name: 'gpt-tokenizer', make: async () => { const m = await load('gpt-tokenizer/encoding/r50k_base'); const e = m.encode as (t: string) => number[]; return (t) => e(t); } },
    { name: 'js-tiktoken', make: async () => { const m = await load('js-tiktoken'); const enc = (m.getEncoding as (n: string) => { encode(t: string): number[] })('gpt2'); return (t) => enc.encode(t); } },
    { name: '@dqbd/tiktoken (wasm)', make: async () => { const m = await load('@dqbd/tiktoken'); const enc = (m.get_encoding as (n: string) => { encode(t: string): Uint32Array })('gpt2'); return (t) => enc.encode(t); } },
    { name: 'gpt3-tokenizer', make: async () => { const m = await load('gpt3-tokenizer'); const C = ((m.default as { default?: unknown }).default ?? m.default) as new (o: { type: string }) => { encode(t: string): { bpe: number[] } }; const tk = new C({ type: 'gpt3' }); return (t) => tk.encode(t).bpe; } },
    { name: '@huggingface/tokenizers', make: async () => {
      const m = await load('@huggingface/tokenizers');
      const T = (m.Tokenizer ?? (m.default as Record<string, unknown>).Tokenizer) as new (j: unknown, c: unknown) => { encode(t: string, o?: unknown): { ids: number[] } };
      const tk = new T(JSON.parse(readFileSync(join(SHARED, 'tokenizers/gpt2/tokenizer.json'), 'utf8')), {});
      return (t) => tk.encode(t, { add_special_tokens: false }).ids;
    } },
  ];
  const out: { name: string; encode?: Encode; error?: string }[] = [];
  for (const p of peers) {
    try {
      out.push({ name: p.name, encode: await p.make() });
    } catch (e) {
      out.push({ name: p.name, error: (e as Error).message.split('\n')[0] });
    }
  }
  return out;
}

function firstDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return i;
  return a.length === b.length ? -1 : n;
}

export async function main(args: string[]): Promise<void> {
  const json = args.includes('--json');
  const mbArg = args.indexOf('--mb');
  const mb = mbArg >= 0 ? Number(args[mbArg + 1]) : 3;
  const gpt2Dir = join(SHARED, 'tokenizers/gpt2');
  if (!existsSync(join(gpt2Dir, 'vocab.bpe')) || !existsSync(join(SHARED, 'data/moss-sft'))) {
    process.stderr.write(`bench tokenize: shared data missing under ${SHARED} (set MOSS_SHARED)\n`);
    process.exitCode = 1;
    return;
  }
  const text = buildText(mb * 2 ** 20);
  const bytes = new TextEncoder().encode(text).length;
  const sample = text.slice(0, 200_000);
  const ours = new ByteLevelBpe(byteLevelFromVocabFiles(JSON.parse(readFileSync(join(gpt2Dir, 'encoder.json'), 'utf8')) as Record<string, number>, parseMerges(readFileSync(join(gpt2Dir, 'vocab.bpe'), 'utf8'))));
  const ref = ours.encode(sample);
  if (!existsSync(join(PEERS, 'node_modules'))) process.stdout.write(`peers NOT installed: run \`cd bench/peers && npm install\` to compare with npm GPT-2 tokenizers\n`);
  const peers = existsSync(join(PEERS, 'node_modules')) ? await loadPeers() : [];
  const rows: { name: string; mbPerSec?: number; firstMbPerSec?: number; tokens?: number; idsMatch?: string; note?: string }[] = [];
  const time = (name: string, encode: Encode, idsMatch: string): void => {
    process.stderr.write(`timing ${name}\n`);
    let t0 = process.hrtime.bigint();
    encode(sample); // warm-up (JIT, caches)
    const warm = Number(process.hrtime.bigint() - t0) / 1e9;
    // a slow peer (est. > 20 s per full run) is timed once on the 200k-char sample instead
    const slow = (warm * text.length) / sample.length > 20;
    const input = slow ? sample : text;
    const inBytes = slow ? new TextEncoder().encode(sample).length : bytes;
    const runs: number[] = [];
    let tokens = 0;
    for (let r = 0; r < (slow ? 1 : 3); r++) {
      t0 = process.hrtime.bigint();
      tokens = encode(input).length;
      runs.push(Number(process.hrtime.bigint() - t0) / 1e9);
    }
    const first = runs[0];
    runs.sort((a, b) => a - b);
    const mid = runs[runs.length >> 1];
    rows.push({ name, mbPerSec: inBytes / 2 ** 20 / mid, firstMbPerSec: inBytes / 2 ** 20 / first, tokens, idsMatch: slow ? `${idsMatch} (timed on the sample only: slow)` : idsMatch });
  };
  time('moss-ts ByteLevelBpe', (t) => ours.encode(t), 'reference');
  for (const p of peers) {
    if (!p.encode) {
      rows.push({ name: p.name, note: `not loaded: ${p.error}` });
      continue;
    }
    let ids: ArrayLike<number>;
    try {
      ids = p.encode(sample);
    } catch (e) {
      rows.push({ name: p.name, note: `failed on the sample: ${(e as Error).message.split('\n')[0]}` });
      continue;
    }
    const d = firstDiff(ids, ref);
    time(p.name, p.encode, d < 0 ? 'yes' : `NO (first difference at token ${d})`);
  }
  const ourRate = rows[0].mbPerSec!;
  if (json) for (const r of rows) process.stdout.write(`${JSON.stringify({ bench: 'tokenize', textBytes: bytes, ...r, vsOurs: r.mbPerSec ? r.mbPerSec / ourRate : undefined })}\n`);
  else {
    process.stdout.write(`GPT-2 encode, ${(bytes / 2 ** 20).toFixed(2)} MiB of MOSS SFT text (English/Chinese/code), median of 3 runs after a warm-up\n`);
    process.stdout.write(`${'tokenizer'.padEnd(26)} ${'MB/s'.padStart(8)} ${'1st run'.padStart(8)} ${'ours/them'.padStart(9)} ${'tokens'.padStart(9)}  ids match on 200k-char sample\n`);
    for (const r of rows) {
      if (r.mbPerSec === undefined) process.stdout.write(`${r.name.padEnd(26)} ${r.note}\n`);
      else process.stdout.write(`${r.name.padEnd(26)} ${r.mbPerSec.toPrecision(3).padStart(8)} ${r.firstMbPerSec!.toPrecision(3).padStart(8)} ${(ourRate / r.mbPerSec).toPrecision(3).padStart(9)} ${String(r.tokens).padStart(9)}  ${r.idsMatch}\n`);
    }
  }
  mkdirSync(join(repo, 'bench/results'), { recursive: true });
  writeFileSync(join(repo, 'bench/results/tokenize.json'), JSON.stringify({ textBytes: bytes, rows }, null, 2));
}
