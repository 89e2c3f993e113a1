/**
 * `npm run bench -- train [--json] [--steps N] [--profile] [--mode lm|dpo|pm] [--toy]`: training throughput of the MOSS
 * architecture (6 layers, width 384, 8 heads, rotary_dim 16, vocab 8192, sequence 256, batch 8,
 * f32; forward + backward + AdamW), tokens/s, beside PyTorch on the same config in the same run
 * (dev/train_bench_torch.py, CPU, 1 and 2 threads) when /usr/bin/python3 (Debian's python3-torch) or
 * $MOSS_BENCH_PYTHON has torch. Ours runs at 1 and 2 native pool threads too (setNativeThreads);
 * the ratio column is against the best PyTorch row of the same mode. Modes (all by default): `lm`
 * next-token loss; `dpo` a DPO step (B/2 pairs: chosen + rejected rows through the policy with grad
 * and through a frozen reference copy without grad, completion log-probs past a 64-token prompt,
 * sigmoid loss; src/train pref-batch + losses); `pm` a reward-model step (score head at the last
 * token, Bradley–Terry loss). Tokens/s counts the policy's B x T tokens in every mode.
 * Per mode the PyTorch rows run first, then ours, and every row prints as soon as it is measured
 * (a full-size run takes minutes); without a usable python/torch the peer is one explicit
 * `pytorch … unavailable: <reason>` row. `--toy` runs both engines on tiny shapes (vocab 256,
 * width 32, 2 layers, B=4, T=32): a smoke check of the rows (test/train/train-bench.test.ts), never a figure.
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

/** The bench shapes; `--toy` (vocab 256, width 32, 2 layers, B=4, T=32) is a smoke check of the rows, never a figure. */
interface Shape { cfg: { vocabSize: number; nEmbd: number; nLayer: number; nHead: number; rotaryDim: number; nPositions: number }; B: number; T: number; prompt: number }
const FULL: Shape = { cfg: { vocabSize: 8192, nEmbd: 384, nLayer: 6, nHead: 8, rotaryDim: 16, nPositions: 256 }, B: 8, T: 256, prompt: 64 };
const TOY: Shape = { cfg: { vocabSize: 256, nEmbd: 32, nLayer: 2, nHead: 4, rotaryDim: 4, nPositions: 32 }, B: 4, T: 32, prompt: 8 };
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

function runOurs(steps: number, profile: boolean, mode: Mode, { cfg: CFG, B, T, prompt: PROMPT }: Shape): { tps: number; params: number; times: Map<string, { ms: number; n: number }> } {
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

/** PyTorch at 1 and 2 threads, or the reason it could not run. */
function runTorch(steps: number, mode: Mode, toy: boolean): { threads: number; tps: number; params: number }[] | string {
  const script = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'dev', 'train_bench_torch.py');
  const out: { threads: number; tps: number; params: number }[] = [];
  for (const threads of [1, 2]) {
    const r = spawnSync(process.env.MOSS_BENCH_PYTHON ?? '/usr/bin/python3', [script, '--threads', String(threads), '--steps', String(steps), '--mode', mode, ...(toy ? ['--toy'] : [])], {
      encoding: 'utf8',
      // torch.set_num_threads does not reach an OpenBLAS-pthread libblas; pin every pool
      env: { ...process.env, OMP_NUM_THREADS: String(threads), OPENBLAS_NUM_THREADS: String(threads) },
    });
    if (r.status !== 0) return (r.stderr || r.error?.message || `exit ${r.status}`).trim().split('\n').pop()!;
    const j = JSON.parse(r.stdout.trim().split('\n').pop()!) as { tokens_per_s: number; params: number };
    out.push({ threads, tps: j.tokens_per_s, params: j.params });
  }
  return out;
}

interface Row { mode: Mode; engine: string; params: number | null; threads: number | null; tokens_per_s: number | null; ratio: number | null; note?: string }

export async function main(args: string[]): Promise<void> {
  const json = args.includes('--json');
  const profile = args.includes('--profile');
  const toy = args.includes('--toy');
  const shape = toy ? TOY : FULL;
  const { B, T } = shape;
  const si = args.indexOf('--steps');
  const steps = si >= 0 ? Number(args[si + 1]) : 2;
  const mi = args.indexOf('--mode');
  const modes: Mode[] = profile ? ['lm'] : mi >= 0 ? [args[mi + 1] as Mode] : MODES;
  if (!modes.every((m) => MODES.includes(m))) throw new Error(`--mode: one of ${MODES.join(', ')}`);
  const be = defaultBackend();
  const native = be.name === 'native';
  // every row is printed as soon as it is measured (a full-size dpo step takes tens of seconds per engine)
  const emit = (r: Row) => {
    if (json) {
      const { ratio, ...rest } = r;
      process.stdout.write(`${JSON.stringify({ bench: 'train', ...rest, vs_pytorch: ratio })}\n`);
    } else {
      const ratio = (r.ratio !== null ? r.ratio.toFixed(2) + 'x' : '-').padStart(8);
      process.stdout.write(`${r.mode.padEnd(6)}${r.engine.padEnd(22)}${String(r.params ?? '-').padStart(12)}${String(r.threads ?? '-').padStart(9)}${String(r.tokens_per_s ?? 'n/a').padStart(10)}${ratio}${r.note ? `  ${r.note}` : ''}\n`);
    }
  };
  if (!json) {
    process.stdout.write(`train step: MOSS ${shape.cfg.nLayer}x${shape.cfg.nEmbd}, ${shape.cfg.nHead} heads, rotary ${shape.cfg.rotaryDim}, vocab ${shape.cfg.vocabSize}, B=${B} T=${T}, f32, fwd+bwd+AdamW (best of ${steps}); dpo: ${B / 2} pairs + frozen reference forward; pm: score head${toy ? ' (--toy: a smoke check, not a figure)' : ''}\n`);
    process.stdout.write(`${'mode'.padEnd(6)}${'engine'.padEnd(22)}${'params'.padStart(12)}${'threads'.padStart(9)}${'tokens/s'.padStart(10)}${'ratio'.padStart(8)}\n`);
  }
  let ours: { threads: number; tps: number; params: number; times: Map<string, { ms: number; n: number }> }[] = [];
  for (const mode of modes) {
    // the peer first, so that our rows print with their ratio as soon as they are measured
    const torch = runTorch(steps, mode, toy);
    if (typeof torch === 'string') emit({ mode, engine: 'pytorch', params: null, threads: null, tokens_per_s: null, ratio: null, note: `unavailable: ${torch}` });
    const peer = typeof torch === 'string' ? [] : torch;
    const bestTorch = peer.reduce((a, b) => (b.tps > a ? b.tps : a), 0);
    const ratio = (tps: number) => (bestTorch ? +(tps / bestTorch).toFixed(3) : null);
    for (const t of peer) emit({ mode, engine: 'pytorch', params: t.params, threads: t.threads, tokens_per_s: Math.round(t.tps), ratio: ratio(t.tps) });
    ours = [];
    for (const t of native ? [1, 2] : [1]) {
      if (native) setNativeThreads(t);
      const threads = native ? nativeThreads() : 1;
      if (ours.some((o) => o.threads === threads)) continue;
      const o = { threads, ...runOurs(steps, profile, mode, shape) };
      ours.push(o);
      emit({ mode, engine: `moss-ts (${be.name})`, params: o.params, threads: o.threads, tokens_per_s: Math.round(o.tps), ratio: ratio(o.tps) });
    }
    if (native) setNativeThreads(0);
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
