/**
 * `npm run bench -- train [--json] [--steps N] [--profile] [--mode lm|dpo|pm]`: training throughput of the MOSS
 * architecture (6 layers, width 384, 8 heads, rotary_dim 16, vocab 8192, sequence 256, batch 8,
 * f32; forward + backward + AdamW), tokens/s, beside PyTorch on the same config in the same run
 * (dev/train_bench_torch.py, CPU, 1 and 2 threads) when /usr/bin/python3 (Debian's python3-torch) or
 * $MOSS_BENCH_PYTHON has torch. Ours runs at 1 and 2 native pool threads too (setNativeThreads);
 * the ratio column is against the best PyTorch row of the same mode. Modes (all by default): `lm`
 * next-token loss; `dpo` a DPO step (B/2 pairs: chosen + rejected rows through the policy with grad
 * and through a frozen reference copy without grad, completion log-probs past a 64-token prompt,
 * sigmoid loss; src/train pref-batch + losses); `pm` a reward-model step (score head at the last
 * token, Bradley–Terry loss). Tokens/s counts the policy's B x T tokens in every mode.
 * --profile times every backend call (a timing proxy around the backend) and prints where the step
 * goes, by kernel and, for matmul, by operand shape.
 */
import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Backend } from '../src/backends/backend.js';
import { defaultBackend } from '../src/backends/index.js';
import { nativeThreads, setNativeThreads } from '../src/backends/native/index.js';
import { AdamW } from '../src/nn/index.js';
import { ops, tensor, tidy } from '../src/tensor/index.js';
import { Linear } from '../src/nn/index.js';
import { dpoLoss, pmLoss } from '../src/train/losses.js';
import { newMoss } from '../src/models/moss/init.js';
import type { Seq } from '../src/train/pairs.js';
import { logpsOf, rewardsOf } from '../src/train/pref-batch.js';
import { noGrad, randn } from '../src/tensor/index.js';

const CFG = { vocabSize: 8192, nEmbd: 384, nLayer: 6, nHead: 8, rotaryDim: 16, nPositions: 256 };
const B = 8;
const T = 256;
const PROMPT = 64;
type Mode = 'lm' | 'dpo' | 'pm';
const MODES: Mode[] = ['lm', 'dpo', 'pm'];

/** Wraps a backend so every method call adds its wall time to `times[name]`. */
function timingProxy(be: Backend, times: Map<string, { ms: number; n: number }>): Backend {
  return new Proxy(be, {
    get(target, prop, recv) {
      const v = Reflect.get(target, prop, recv) as unknown;
      if (typeof v !== 'function' || prop === 'supports' || prop === 'alloc' || prop === 'free') return v;
      return (...args: unknown[]) => {
        let key = String(prop);
        if (key === 'matmul') {
          const [o, a] = args as { shape: number[]; strides: number[] }[];
          const K = a.shape[a.shape.length - 1];
          key = `matmul ${o.shape.slice(0, -2).join('x') || '-'} [${o.shape.slice(-2).join('x')}] K=${K}`;
        } else if (key === 'unary' || key === 'binary' || key === 'reduce') key = `${key}:${String(args[0])}`;
        const t0 = performance.now();
        const r = (v as (...a: unknown[]) => unknown).apply(target, args);
        const e = times.get(key) ?? { ms: 0, n: 0 };
        e.ms += performance.now() - t0;
        e.n++;
        times.set(key, e);
        return r;
      };
    },
  });
}

function runOurs(steps: number, profile: boolean, mode: Mode): { tps: number; params: number; times: Map<string, { ms: number; n: number }> } {
  const times = new Map<string, { ms: number; n: number }>();
  const base = defaultBackend();
  const backend = profile ? timingProxy(base, times) : base;
  const { model } = newMoss(CFG, 1, backend);
  const ref = mode === 'dpo' ? newMoss(CFG, 1, backend).model.requiresGrad_(false) : null; // a frozen copy, as TRL's default reference
  if (mode === 'pm') {
    model.lm_head.dispose();
    model.lm_head = new Linear(randn([1, CFG.nEmbd], { backend, std: 0.05, requiresGrad: true }).keep(), null);
  }
  const opt = new AdamW(model.parameters(), { lr: 1e-4 });
  const ids = tensor(Array.from({ length: B * T }, (_, i) => (i * 7919) % CFG.vocabSize), [B, T], { dtype: 'i32', backend }).keep();
  const tg = tensor(Array.from({ length: B * T }, (_, i) => (i * 7919 + 1) % CFG.vocabSize), [B * T], { dtype: 'i32', backend }).keep();
  const seqs: Seq[] = Array.from({ length: B }, (_, b) => {
    const row = Array.from({ length: T }, (_, i) => ((b * T + i) * 7919) % CFG.vocabSize);
    return { ids: row, labels: row.map((x, i) => (i < PROMPT ? -100 : x)), promptLen: PROMPT };
  });
  const P = B / 2;
  const step = () => {
    tidy(() => {
      if (mode === 'lm') {
        const logits = model.forward(ids);
        ops.crossEntropy(logits.reshape(B * T, CFG.vocabSize), tg).backward();
      } else if (mode === 'dpo') {
        const rf = noGrad(() => logpsOf(ref!, seqs, 0, 'sigmoid').logps.toFloat32Array());
        const { logps } = logpsOf(model, seqs, 0, 'sigmoid');
        dpoLoss({ chosen: logps.slice(0, 0, P), rejected: logps.slice(0, P, B), refChosen: rf.slice(0, P), refRejected: rf.slice(P) }, { loss: 'sigmoid', beta: 0.1 }).loss.backward();
      } else {
        const r = rewardsOf(model, seqs, 0);
        pmLoss(r.slice(0, 0, P), r.slice(0, P, B)).loss.backward();
      }
    });
    opt.step();
    opt.zeroGrad();
  };
  step(); // warm-up: allocator, thread pool, packing buffers
  times.clear();
  let best = Infinity;
  for (let s = 0; s < steps; s++) {
    const t0 = performance.now();
    step();
    best = Math.min(best, (performance.now() - t0) / 1000);
  }
  const params = model.numParameters();
  opt.dispose();
  model.dispose();
  ref?.dispose();
  return { tps: (B * T) / best, params, times };
}

function runTorch(steps: number, mode: Mode): { threads: number; tps: number; params: number }[] {
  const script = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'dev', 'train_bench_torch.py');
  const out: { threads: number; tps: number; params: number }[] = [];
  for (const threads of [1, 2]) {
    const r = spawnSync(process.env.MOSS_BENCH_PYTHON ?? '/usr/bin/python3', [script, '--threads', String(threads), '--steps', String(steps), '--mode', mode], {
      encoding: 'utf8',
      // torch.set_num_threads does not reach an OpenBLAS-pthread libblas; pin every pool
      env: { ...process.env, OMP_NUM_THREADS: String(threads), OPENBLAS_NUM_THREADS: String(threads) },
    });
    if (r.status !== 0) {
      process.stderr.write(`PyTorch peer skipped: ${(r.stderr || r.error?.message || '').trim().split('\n').pop()}\n`);
      return [];
    }
    const j = JSON.parse(r.stdout.trim().split('\n').pop()!) as { tokens_per_s: number; params: number };
    out.push({ threads, tps: j.tokens_per_s, params: j.params });
  }
  return out;
}

export async function main(args: string[]): Promise<void> {
  const json = args.includes('--json');
  const profile = args.includes('--profile');
  const si = args.indexOf('--steps');
  const steps = si >= 0 ? Number(args[si + 1]) : 2;
  const mi = args.indexOf('--mode');
  const modes: Mode[] = profile ? ['lm'] : mi >= 0 ? [args[mi + 1] as Mode] : MODES;
  if (!modes.every((m) => MODES.includes(m))) throw new Error(`--mode: one of ${MODES.join(', ')}`);
  const be = defaultBackend();
  const native = be.name === 'native';
  const rows: { mode: Mode; engine: string; params: number; threads: number; tokens_per_s: number; ratio: number | null }[] = [];
  let ours: { threads: number; tps: number; params: number; times: Map<string, { ms: number; n: number }> }[] = [];
  for (const mode of modes) {
    ours = [];
    for (const t of native ? [1, 2] : [1]) {
      if (native) setNativeThreads(t);
      const threads = native ? nativeThreads() : 1;
      if (ours.some((o) => o.threads === threads)) continue;
      ours.push({ threads, ...runOurs(steps, profile, mode) });
    }
    if (native) setNativeThreads(0);
    const torch = runTorch(steps, mode);
    const bestTorch = torch.reduce((a, b) => (b.tps > a ? b.tps : a), 0);
    const ratio = (tps: number) => (bestTorch ? +(tps / bestTorch).toFixed(3) : null);
    rows.push(...ours.map((o) => ({ mode, engine: `moss-ts (${be.name})`, params: o.params, threads: o.threads, tokens_per_s: Math.round(o.tps), ratio: ratio(o.tps) })));
    rows.push(...torch.map((t) => ({ mode, engine: 'pytorch', params: t.params, threads: t.threads, tokens_per_s: Math.round(t.tps), ratio: ratio(t.tps) })));
  }
  if (json) for (const { ratio, ...r } of rows) process.stdout.write(`${JSON.stringify({ bench: 'train', ...r, vs_pytorch: ratio })}\n`);
  else {
    process.stdout.write(`train step: MOSS 6x384, 8 heads, rotary 16, vocab 8192, B=${B} T=${T}, f32, fwd+bwd+AdamW (best of ${steps}); dpo: ${B / 2} pairs + frozen reference forward; pm: score head\n`);
    process.stdout.write(`${'mode'.padEnd(6)}${'engine'.padEnd(22)}${'params'.padStart(12)}${'threads'.padStart(9)}${'tokens/s'.padStart(10)}${'ratio'.padStart(8)}\n`);
    for (const r of rows) process.stdout.write(`${r.mode.padEnd(6)}${r.engine.padEnd(22)}${String(r.params).padStart(12)}${String(r.threads).padStart(9)}${String(r.tokens_per_s).padStart(10)}${(r.ratio !== null ? r.ratio.toFixed(2) + 'x' : '-').padStart(8)}\n`);
  }
  if (profile) {
    const best = ours.reduce((a, b) => (b.tps > a.tps ? b : a));
    process.stdout.write(`\nprofile of the ${best.threads}-thread run\n`);
    const total = [...best.times.values()].reduce((s, e) => s + e.ms, 0);
    const sorted = [...best.times].sort((a, b) => b[1].ms - a[1].ms);
    process.stdout.write(`\nper-kernel time over ${steps} step(s) (backend calls: ${(total / 1000).toFixed(2)} s)\n`);
    for (const [k, e] of sorted.slice(0, 30)) {
      if (json) process.stdout.write(`${JSON.stringify({ bench: 'train-profile', kernel: k, ms_per_step: +(e.ms / steps).toFixed(1), calls_per_step: e.n / steps, share: +(e.ms / total).toFixed(4) })}\n`);
      else process.stdout.write(`${(100 * e.ms / total).toFixed(1).padStart(6)}%  ${(e.ms / steps).toFixed(0).padStart(7)} ms/step  ${String(e.n / steps).padStart(5)} calls  ${k}\n`);
    }
  }
}
