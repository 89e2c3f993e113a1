/**
 * `kill -9` and `--resume` through the real CLI (bin/moss.js) for `moss train pm`, `steer` and
 * `dpo` on a tiny MOSS: the run is SIGKILLed once it has logged a step past a complete checkpoint
 * (wherever it is then: mid step, mid metrics line or mid checkpoint write), resumed with `--resume`, and its
 * metrics.jsonl (every record, minus the wall-clock tok_per_s) and final weights must equal an
 * uninterrupted run's bit for bit. The reference is the uninterrupted run of the same command, not
 * the code under test's own bookkeeping. No timing assertion: if the child outruns the kill and
 * finishes, the case is redone with more steps.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { listCheckpoints } from '../../src/train/checkpoint.js';
import { readMetrics, type MetricRecord } from '../../src/train/metrics.js';
import { tinyMossDir } from '../train/pref-helpers.js';
import { MOSS_BIN } from './chat-helpers.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function pairs(n: number): string {
  return Array.from({ length: n }, (_, i) => {
    const a = 10 + i;
    return JSON.stringify({ context: `<|Human|>: what is ${a}+1?<eoh>\n<|MOSS|>:`, chosen: ` it is ${a + 1}.<eom>`, rejected: ` it is ${a + 2 + (i % 3)}.<eom>` });
  }).join('\n') + '\n';
}

function scored(n: number): string {
  return Array.from({ length: n }, (_, i) => JSON.stringify({ context: `Be brief.\n<|Human|>: n ${i}<eoh>\n<|MOSS|>:`, response: ` ok ${i}<eom>`, reward: (i * 7) % 10 / 10 })).join('\n') + '\n';
}

/** `moss train <recipe> …` to its end; fails the test with its stderr on a non-zero exit. */
function trainSync(args: string[]): void {
  const r = spawnSync(process.execPath, [MOSS_BIN, 'train', ...args], { encoding: 'utf8', timeout: 300_000 });
  assert.equal(r.status, 0, `moss train ${args.join(' ')}: ${r.stderr}`);
}

/** Starts `moss train <recipe> …`, SIGKILLs it once it has logged a step past a complete checkpoint in `out`; true if the kill landed before the run ended. */
async function trainKilled(args: string[], out: string): Promise<boolean> {
  const p = spawn(process.execPath, [MOSS_BIN, 'train', ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  p.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  const done = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((res) => p.on('close', (code, signal) => res({ code, signal })));
  let exited = false;
  void done.then(() => (exited = true));
  // past a checkpoint by at least one logged step, so the resume must also drop metrics lines past its checkpoint
  const ready = () => {
    const ck = listCheckpoints(out).at(-1);
    return ck !== undefined && existsSync(join(out, 'metrics.jsonl')) && readMetrics(join(out, 'metrics.jsonl')).some((r) => 'loss' in r && (r.step as number) > ck.step);
  };
  while (!exited && !ready()) await sleep(2);
  if (!exited) p.kill('SIGKILL');
  const r = await done;
  if (r.signal === 'SIGKILL') return true;
  assert.equal(r.code, 0, `moss train ${args.join(' ')}: ${err}`);
  return false; // it finished before the kill
}

/** The metrics without the wall-clock throughput field. */
const curve = (out: string): MetricRecord[] => readMetrics(join(out, 'metrics.jsonl')).map(({ tok_per_s: _t, ...r }) => r);

async function killResume(recipe: string, data: string, extra: string[], note: (m: string) => void): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), `moss-kill-${recipe}-`));
  const model = tinyMossDir(join(dir, 'model'), 7);
  const file = join(dir, 'data.jsonl');
  writeFileSync(file, data);
  for (let steps = 20; ; steps *= 4) {
    const args = (out: string) => [recipe, '--init', model, '--data', file, '--out', out, '--steps', String(steps), '--batch-size', '2',
      '--ckpt-every', '2', '--eval-every', '5', '--log-every', '1', '--eval-fraction', '0.25', '--context', '64', '--lr', '1e-3', '--warmup-steps', '2', ...extra];
    const a = join(dir, `a${steps}`);
    const b = join(dir, `b${steps}`);
    if (!(await trainKilled(args(b), b))) {
      assert.ok(steps < 2000, 'the child always finished before the kill landed');
      note(`the ${steps}-step run finished before the kill; again with more steps`);
      continue;
    }
    const at = listCheckpoints(b).at(-1)!.step;
    assert.ok(at < steps, `killed after checkpoint ${at} of ${steps}`);
    note(`killed after checkpoint ${at} of ${steps} steps (${curve(b).filter((r) => 'loss' in r).length} loss lines on disk)`);
    trainSync([...args(b), '--resume']);
    trainSync(args(a));
    const [ca, cb] = [curve(a), curve(b)];
    assert.ok(ca.filter((r) => 'loss' in r).length === steps && ca.some((r) => 'eval_loss' in r), `uninterrupted curve: ${ca.length} records`);
    assert.deepEqual(cb, ca, `resumed from step ${at}: the metrics differ from the uninterrupted run's`);
    assert.ok(readFileSync(join(b, 'final', 'model.safetensors')).equals(readFileSync(join(a, 'final', 'model.safetensors'))), 'final weights differ');
    return;
  }
}

test('moss train pm: kill -9 after a checkpoint, --resume: metrics and final weights equal the uninterrupted run', async (t) => {
  await killResume('pm', pairs(12), ['--center', '0.01', '--lm-coef', '0.1'], (m) => t.diagnostic(m));
});

test('moss train steer: kill -9 after a checkpoint, --resume: metrics and final weights equal the uninterrupted run', async (t) => {
  await killResume('steer', scored(12), ['--tags', '3'], (m) => t.diagnostic(m));
});

test('moss train dpo (sigmoid, cached reference): kill -9 after a checkpoint, --resume: metrics and final weights equal the uninterrupted run', async (t) => {
  await killResume('dpo', pairs(12), ['--beta', '0.1'], (m) => t.diagnostic(m));
});

test('moss train dpo (LoRA, ipo): kill -9 after a checkpoint, --resume: metrics and final weights equal the uninterrupted run', async (t) => {
  await killResume('dpo', pairs(12), ['--loss', 'ipo', '--lora-rank', '2', '--lr', '1e-2'], (m) => t.diagnostic(m));
});
