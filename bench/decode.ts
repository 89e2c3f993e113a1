/**
 * `npm run bench -- decode [--json] [--rows 1b-q8,1b-q4,1b-f16,16b,moss16b] [--threads 1,2]`: prefill and
 * decode tokens/s of this engine and node-llama-cpp (bench/peers) on the SAME random-weight GGUF
 * files, written by bench/decode-model.ts into a temp dir and deleted after each row:
 *   1b-q8 / 1b-q4  TinyLlama-1.1B shape (2048 wide, 22 layers, 32 heads / 4 kv, ffn 5632, vocab 32000)
 *   1b-f16         the same shape with f16 weights (kept half precision by our loader, see src/models/weights.ts)
 *   1b-q4_k_m / 16b-q4_k_m  the 1B / 16B shapes in llama.cpp's Q4_K_M mix (Q4_K, Q6_K for output,
 *                  and attn_v / ffn_down in the use_more_bits layers)
 *   1b-q2_k .. 1b-q6_k  the 1B shape with every matrix in one k-quant type (llama-quantize --pure):
 *                  one row per fused dot kernel
 *   16b            MOSS-16B-sized LLaMA stand-in, Q4_0 (6144 wide, 34 layers, 24 heads, ffn 16384, vocab 107008)
 *   moss16b        our MOSS architecture at the 16B shape, Q4_0 (ours only: llama.cpp has no such arch)
 *   16b-l12 / moss16b-l12  the same widths with 12 layers (3.8 GB files): the 16B matrix shapes in
 *                  a third of the time and disk
 * Each measurement runs in a child process (one engine, one thread count) that reports tokens/s and
 * peak RSS (VmHWM); the best thread count of each engine is shown. The bandwidth limit is weight
 * bytes read per token / read bandwidth measured in this run (native probe, all threads).
 * Deliberately does not: measure quality (weights are noise) or long contexts.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { writeLlamaGguf, writeMossGguf, type QType } from './decode-model.js';

const here = dirname(fileURLToPath(import.meta.url));
const repo = join(here, '..', '..');
const PEERS = join(repo, 'bench', 'peers');

interface Row { id: string; kind: 'llama' | 'moss'; q: QType; prompt: number; decode: number; peer: boolean }
const ROWS: Row[] = [
  { id: '1b-q8', kind: 'llama', q: 'q8_0', prompt: 64, decode: 32, peer: true },
  { id: '1b-q4', kind: 'llama', q: 'q4_0', prompt: 64, decode: 32, peer: true },
  { id: '1b-f16', kind: 'llama', q: 'f16', prompt: 64, decode: 16, peer: true },
  { id: '1b-q4_k_m', kind: 'llama', q: 'q4_k_m', prompt: 64, decode: 32, peer: true },
  { id: '16b-q4_k_m', kind: 'llama', q: 'q4_k_m', prompt: 16, decode: 12, peer: true },
  ...(['q2_k', 'q3_k', 'q4_k', 'q5_k', 'q6_k'] as const).map((q): Row => ({ id: `1b-${q}`, kind: 'llama', q, prompt: 64, decode: 32, peer: true })),
  { id: '16b', kind: 'llama', q: 'q4_0', prompt: 16, decode: 12, peer: true },
  { id: 'moss16b', kind: 'moss', q: 'q4_0', prompt: 16, decode: 12, peer: false },
  { id: '16b-l12', kind: 'llama', q: 'q4_0', prompt: 16, decode: 24, peer: true },
  { id: 'moss16b-l12', kind: 'moss', q: 'q4_0', prompt: 16, decode: 24, peer: false },
  { id: 'tiny-q4', kind: 'llama', q: 'q4_0', prompt: 16, decode: 16, peer: true }, // smoke test only
];
const SHAPE_1B = { C: 2048, L: 22, H: 32, Hkv: 4, F: 5632, V: 32000 };
const SHAPE_16B = { C: 6144, L: 34, H: 24, Hkv: 24, F: 16384, V: 107008 };

interface Job { engine: 'moss' | 'llama.cpp'; path: string; kind: 'llama' | 'moss'; threads: number; prompt: number; decode: number }
/** The slice of node-llama-cpp's API used here (it is not a dependency of the main package). */
type GetLlama = (o: object) => Promise<{
  loadModel(o: object): Promise<{ createContext(o: object): Promise<{ getSequence(): { evaluate(t: number[], o: object): AsyncIterable<number> } }> }>;
}>;
interface Result { prefillTps: number; decodeTps: number; rssBytes: number }

function vmHwm(): number {
  const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync('/proc/self/status', 'utf8'));
  return m ? Number(m[1]) * 1024 : 0;
}

// --- child: one engine, one thread count ---
async function child(job: Job): Promise<Result> {
  const ids = Array.from({ length: job.prompt }, (_, i) => 300 + ((i * 7919) % 200));
  if (job.engine === 'llama.cpp') {
    const req = createRequire(join(PEERS, 'package.json'));
    const { getLlama } = (await import(pathToFileURL(req.resolve('node-llama-cpp')).href)) as { getLlama: GetLlama };
    const llama = await getLlama({ gpu: false, build: 'never', logLevel: 'error' as never });
    const model = await llama.loadModel({ modelPath: job.path, gpuLayers: 0, useMmap: true });
    const ctx = await model.createContext({ contextSize: 256, threads: job.threads, batchSize: 512, sequences: 1 });
    const seq = ctx.getSequence();
    const t0 = performance.now();
    let t1 = 0, n = 0;
    for await (const tok of seq.evaluate(ids, { temperature: 0 })) {
      void tok;
      if (n === 0) t1 = performance.now();
      if (++n > job.decode) break;
    }
    const t2 = performance.now();
    return { prefillTps: job.prompt / ((t1 - t0) / 1e3), decodeTps: job.decode / ((t2 - t1) / 1e3), rssBytes: vmHwm() };
  }
  const { setNativeThreads } = await import('../src/backends/native/index.js');
  const { tensor, tidy } = await import('../src/tensor/index.js');
  setNativeThreads(job.threads);
  const model = (await import('../src/models/load.js')).loadModel(job.path).model; // llama or moss arch
  const cache = model.newCache(1, job.prompt + job.decode + 2);
  const step = (toks: number[]): number =>
    tidy(() => model.forward(tensor(toks, [1, toks.length], { dtype: 'i32', backend: model.backend }), { cache, logits: 'last' }).argmax(-1)).item();
  const t0 = performance.now();
  let id = step(ids);
  const t1 = performance.now();
  for (let i = 0; i < job.decode; i++) id = step([id]);
  const t2 = performance.now();
  return { prefillTps: job.prompt / ((t1 - t0) / 1e3), decodeTps: job.decode / ((t2 - t1) / 1e3), rssBytes: vmHwm() };
}

function runChild(job: Job): Result | { error: string } {
  try {
    const out = execFileSync(process.execPath, [fileURLToPath(import.meta.url), '--child', JSON.stringify(job)], {
      encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], maxBuffer: 1 << 24, timeout: 30 * 60e3,
    });
    const line = out.trim().split('\n').pop() ?? '';
    return JSON.parse(line) as Result;
  } catch (e) {
    const err = e as { stderr?: string; message: string };
    return { error: (err.stderr || err.message).trim().split('\n').slice(-3).join(' | ') };
  }
}

function readBandwidth(): number {
  const req = createRequire(import.meta.url);
  const addon = req(join(repo, 'build', 'Release', 'moss_native.node')) as { probe_read_gbps(t: number, b: number): number };
  return addon.probe_read_gbps(0, 1 << 30) * 1e9;
}

export async function main(args: string[]): Promise<void> {
  const json = args.includes('--json');
  const opt = (name: string): string | undefined => {
    const i = args.indexOf(name);
    return i >= 0 ? args[i + 1] : undefined;
  };
  const rowIds = (opt('--rows') ?? '1b-q8,1b-q4,1b-f16,16b,moss16b').split(',');
  const threads = (opt('--threads') ?? '1,2').split(',').map(Number);
  const peerOk = existsSync(join(PEERS, 'node_modules', 'node-llama-cpp'));
  if (!peerOk) process.stdout.write('node-llama-cpp NOT installed: run `cd bench/peers && npm install` to compare\n');
  const bw = readBandwidth();
  process.stdout.write(`read bandwidth ${(bw / 1e9).toFixed(1)} GB/s (native probe, all threads); threads swept: ${threads.join(', ')}\n`);
  process.stdout.write('row       engine     file GiB  prefill tok/s  decode tok/s  limit tok/s  % of limit  peak RSS GiB  threads\n');
  const dir = mkdtempSync(join(process.env.MOSS_BENCH_TMP ?? tmpdir(), 'moss-decode-'));
  try {
    for (const id of rowIds) {
      const row = ROWS.find((r) => r.id === id);
      if (!row) throw new Error(`decode bench: unknown row '${id}' (rows: ${ROWS.map((r) => r.id).join(', ')})`);
      const path = join(dir, `${row.id}.gguf`);
      const base = row.id.startsWith('1b') ? SHAPE_1B : row.id.startsWith('tiny') ? { C: 256, L: 2, H: 4, Hkv: 4, F: 512, V: 512 } : SHAPE_16B;
      const shape = row.id.endsWith('-l12') ? { ...base, L: 12 } : base;
      const tw = performance.now();
      const wbytes = row.kind === 'llama' ? writeLlamaGguf(path, shape, row.q) : writeMossGguf(path, { C: shape.C, L: shape.L, H: shape.H, V: shape.V, rotaryDim: 64 }, row.q);
      const size = statSync(path).size;
      execFileSync('sync'); // let the file's dirty pages reach the disk before anything is timed
      process.stderr.write(`${row.id}: wrote ${(size / 2 ** 30).toFixed(2)} GiB in ${((performance.now() - tw) / 1e3).toFixed(1)} s\n`);
      const engines: Job['engine'][] = row.peer && peerOk ? ['moss', 'llama.cpp'] : ['moss'];
      for (const engine of engines) {
        const runs: (Result & { threads: number })[] = [];
        let lastErr = '';
        for (const t of threads) {
          const r = runChild({ engine, path, kind: row.kind, threads: t, prompt: row.prompt, decode: row.decode });
          if ('error' in r) lastErr = r.error;
          else runs.push({ ...r, threads: t });
        }
        // best decode (its thread count shown), best prefill, and the largest peak RSS of the runs
        const best = runs.length === 0 ? null : { ...runs.reduce((a, b) => (b.decodeTps > a.decodeTps ? b : a)),
          prefillTps: Math.max(...runs.map((r) => r.prefillTps)), rssBytes: Math.max(...runs.map((r) => r.rssBytes)) };
        const limit = bw / wbytes;
        if (!best) {
          process.stdout.write(`${row.id.padEnd(9)} ${engine.padEnd(10)} FAILED: ${lastErr}\n`);
          if (json) process.stdout.write(JSON.stringify({ bench: 'decode', row: row.id, engine, error: lastErr }) + '\n');
          continue;
        }
        process.stdout.write(`${row.id.padEnd(9)} ${engine.padEnd(10)} ${(size / 2 ** 30).toFixed(2).padStart(8)}  ${best.prefillTps.toFixed(2).padStart(13)}  ${best.decodeTps.toFixed(2).padStart(12)}  ${limit.toFixed(2).padStart(11)}  ${((best.decodeTps / limit) * 100).toFixed(0).padStart(9)}%  ${(best.rssBytes / 2 ** 30).toFixed(2).padStart(12)}  ${best.threads}\n`);
        if (json) {
          process.stdout.write(JSON.stringify({ bench: 'decode', row: row.id, engine, fileBytes: size, weightBytesPerToken: wbytes, readBandwidth: bw,
            prefillTps: best.prefillTps, decodeTps: best.decodeTps, limitTps: limit, peakRssBytes: best.rssBytes, threads: best.threads,
            prompt: row.prompt, decode: row.decode }) + '\n');
        }
      }
      rmSync(path, { force: true });
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

if (process.argv[2] === '--child') {
  const r = await child(JSON.parse(process.argv[3]) as Job);
  process.stdout.write(JSON.stringify(r) + '\n');
  process.exit(0);
}
