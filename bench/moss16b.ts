/**
 * `npm run bench -- moss16b [--layouts fp16,int4] [--dir D] [--q8] [--tokens N] [--reps R]`: writes a
 * MOSS-16B-shaped checkpoint per layout (bench/moss16b-write.ts; ~33 GB fp16, ~10 GB int4), runs the
 * real CLI on it in child processes under /usr/bin/time (peak RSS): fp16 -> `moss quantize` q4_0 (and
 * q8_0 with --q8; time, GB/s of input, peak RSS) -> `moss generate` on the GGUF (load time,
 * first-token latency, prefill and decode tok/s, peak RSS); GPTQ layouts -> `moss generate` directly,
 * beside their peer: the q4_0 (int4) / q8_0 (int8) GGUF that `moss quantize` makes from the SAME
 * checkpoint (`--no-peer` skips it). The rows of one layout are interleaved: R repetitions (default 2),
 * each running every model once, the order reversed every other repetition (A B, B A, ...), so a load
 * change on a shared machine hits both rows alike; a last line gives the median decode ratio.
 * Smaller shapes for a loaded machine: `--layers N` (16B widths, fewer layers), `--embd C --heads H
 * --vocab V` (toy widths), `--groupsize G` (GPTQ layouts; 128 as the releases, 32 / 64 as AutoGPTQ's
 * common settings). At toy widths the GPTQ/GGUF decode ratio mostly measures the fp16 lm_head
 * (vocab x n_embd) that GPTQ releases keep and the GGUF quantizes, not the Linear kernels.
 * Deletes what it wrote after each layout. Prints a table with the load average.
 * Peer row: llama.cpp (node-llama-cpp in bench/peers) has no MOSS/CodeGen architecture, so it
 * cannot run this GGUF; the table says so instead of comparing a different model.
 * Not part of `npm test`. Needs ~40 GB free disk for fp16 (+9 / +18 GB for the GGUFs).
 */
import { spawnSync } from 'node:child_process';
import { loadavg } from 'node:os';
import { rmSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { MOSS16B, writeMoss16b, type Layout } from './moss16b-write.js';

const ROOT = resolve(import.meta.dirname, '..', '..');
const BIN = join(ROOT, 'bin', 'moss.js');

interface Run { wall: number; rssGiB: number; out: string; err: string; code: number | null }

function timed(args: string[], timeoutS: number): Run {
  const t = performance.now();
  const r = spawnSync('/usr/bin/time', ['-v', process.execPath, BIN, ...args], { encoding: 'utf8', timeout: timeoutS * 1000, maxBuffer: 1 << 26 });
  const rss = /Maximum resident set size \(kbytes\): (\d+)/.exec(r.stderr ?? '');
  return { wall: (performance.now() - t) / 1000, rssGiB: rss ? Number(rss[1]) / 2 ** 20 : NaN, out: r.stdout ?? '', err: r.stderr ?? '', code: r.status };
}

const load = () => loadavg().map((x) => x.toFixed(1)).join(' ');
const rows: string[][] = [];
const row = (...c: (string | number)[]) => { rows.push(c.map(String)); process.stdout.write(`${c.join(' | ')}\n`); };

/** One `moss generate` run: a table row, and its decode tok/s (NaN when it failed). */
function generate(model: string, tokenizer: string, label: string, tokens: number): number {
  const prompt = '<|Human|>: 你好，请介绍一下你自己<eoh>\n<|MOSS|>:';
  const r = timed(['generate', '--model', model, '--tokenizer', tokenizer, '--prompt', prompt, '--max-new-tokens', String(tokens), '--temperature', '0', '--json'], 1800);
  if (r.code !== 0) { row(label, 'generate FAILED', r.err.split('\n').filter((l) => l.startsWith('moss:'))[0] ?? r.err.slice(-300), load()); return NaN; }
  const j = JSON.parse(r.out) as { usage: { prompt_tokens: number; completion_tokens: number }; timings: { prefill_tokens_per_s: number; decode_tokens_per_s: number } };
  const prefillS = j.usage.prompt_tokens / j.timings.prefill_tokens_per_s;
  const decodeS = (j.usage.completion_tokens - 1) / j.timings.decode_tokens_per_s;
  const loadS = r.wall - prefillS - decodeS;
  row(label, `load ${loadS.toFixed(1)} s`, `first token ${(loadS + prefillS).toFixed(1)} s (prefill ${prefillS.toFixed(1)} s)`, `prefill ${j.timings.prefill_tokens_per_s.toFixed(2)} tok/s`, `decode ${j.timings.decode_tokens_per_s.toFixed(2)} tok/s`, `peak RSS ${r.rssGiB.toFixed(2)} GiB`, `load avg ${load()}`);
  return j.timings.decode_tokens_per_s;
}

const median = (a: number[]): number => {
  const s = a.filter((x) => !Number.isNaN(x)).sort((x, y) => x - y);
  return s.length ? (s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2) : NaN;
};

/**
 * The interleaved order of `reps` repetitions over `n` models: every repetition runs each model once,
 * every other repetition in reverse (0 1, 1 0, 0 1, ... for two), so neither row always runs first.
 */
export function interleave(n: number, reps: number): number[] {
  const out: number[] = [];
  for (let r = 0; r < reps; r++) for (let i = 0; i < n; i++) out.push(r % 2 ? n - 1 - i : i);
  return out;
}

export async function main(args: string[]): Promise<void> {
  const opt = (k: string, d: string) => { const i = args.indexOf(k); return i >= 0 ? args[i + 1] : d; };
  const layouts = opt('--layouts', 'fp16').split(',') as Layout[];
  const base = resolve(opt('--dir', join(ROOT, '..', 'moss16b-bench')));
  const tokens = Number(opt('--tokens', '8'));
  const reps = Number(opt('--reps', '2'));
  // --layers N: the 16B widths (n_embd 6144, vocab 107008, 10 GB shards) with fewer layers, for a loaded machine
  const shape = {
    ...MOSS16B, n_layer: Number(opt('--layers', String(MOSS16B.n_layer))), n_embd: Number(opt('--embd', String(MOSS16B.n_embd))),
    n_head: Number(opt('--heads', String(MOSS16B.n_head))), vocab_size: Number(opt('--vocab', String(MOSS16B.vocab_size))),
    groupsize: Number(opt('--groupsize', String(MOSS16B.groupsize))),
  };
  for (const layout of layouts) {
    const dir = join(base, layout);
    try {
      let t = performance.now();
      let last = 0;
      const w = writeMoss16b(dir, layout, (done, total) => {
        if (done - last > 2e9 || done === total) { process.stderr.write(`write ${layout}: ${(done / 1e9).toFixed(1)}/${(total / 1e9).toFixed(1)} GB\n`); last = done; }
      }, shape);
      const gs = layout === 'fp16' ? '' : `, groupsize ${shape.groupsize}`;
      row(layout, `wrote ${(w.bytes / 1e9).toFixed(2)} GB in ${w.files.length} file(s)`, `${((performance.now() - t) / 1000).toFixed(0)} s`, `${shape.n_layer} layers, n_embd ${shape.n_embd}${gs}`, `load avg ${load()}`);
      // the models to run: the GPTQ folder itself, and the GGUFs quantized from this checkpoint
      const models: { label: string; path: string }[] = layout === 'fp16' ? [] : [{ label: `GPTQ ${layout}`, path: dir }];
      const types = layout === 'fp16' ? (args.includes('--q8') ? ['q4_0', 'q8_0'] : ['q4_0']) : args.includes('--no-peer') ? [] : [layout === 'int4' ? 'q4_0' : 'q8_0'];
      for (const q of types) {
        const out = join(dir, `moss-${q}.gguf`);
        t = performance.now();
        const r = timed(['quantize', '--model', dir, '--type', q, '--out', out, '--quiet'], 3600);
        if (r.code !== 0) { row(`${layout} -> ${q}`, 'quantize FAILED', r.err.slice(-400), load()); continue; }
        row(`${layout} -> ${q}`, `quantize ${r.wall.toFixed(0)} s`, `${(w.bytes / 1e9 / r.wall).toFixed(2)} GB/s of input`, `out ${(statSync(out).size / 1e9).toFixed(2)} GB`, `peak RSS ${r.rssGiB.toFixed(2)} GiB`, `load avg ${load()}`);
        models.push({ label: `${q} GGUF`, path: out });
      }
      const decode = models.map((): number[] => []);
      for (const [k, i] of interleave(models.length, reps).entries()) {
        decode[i].push(generate(models[i].path, dir, `${models[i].label} (rep ${Math.floor(k / models.length) + 1})`, tokens));
      }
      if (models.length === 2) {
        const [a, b] = decode.map(median);
        row(`${models[0].label} / ${models[1].label}`, `median decode ${a.toFixed(2)} / ${b.toFixed(2)} tok/s = ${(a / b).toFixed(2)}x`, `${reps} interleaved reps`, `load avg ${load()}`);
      }
      row('llama.cpp peer', 'n/a: llama.cpp has no MOSS/CodeGen architecture (the q4_0 GGUF is arch "moss")');
    } finally {
      if (!args.includes('--keep')) rmSync(dir, { recursive: true, force: true });
    }
  }
  if (!args.includes('--keep')) rmSync(base, { recursive: true, force: true });
}
