/**
 * `moss pull` and `--model org/name` end to end through bin/moss.js against the fake Hub
 * (test/io/hub-server.ts) serving a copy of models/moss-tiny: the model is downloaded on first
 * use, then `moss generate --model org/name` runs from the cache with HF_HUB_OFFLINE=1 (no request)
 * and prints what the local folder prints; errors are one line; the README's `moss pull` section
 * runs as written.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { FakeHub, commitOf } from '../io/hub-server.js';
import { repoRoot, tmp } from '../io/helpers.js';

const TINY = join(repoRoot, 'models', 'moss-tiny');
const files: Record<string, Buffer> = {};
for (const f of ['config.json', 'generation_config.json', 'merges.txt', 'vocab.json', 'special_tokens_map.json', 'model.safetensors', 'MODEL_CARD.md']) files[f] = readFileSync(join(TINY, f));
const hub = await FakeHub.start([
  { id: 'org/moss-tiny', commit: commitOf('moss-tiny'), files },
  { id: 'fnlp/moss-moon-003-sft', commit: commitOf('readme'), files },
]);
after(() => hub.close());

async function moss(args: string[], env: Record<string, string>): Promise<{ code: number; out: string; err: string }> {
  const base = { ...process.env };
  for (const k of ['HF_TOKEN', 'HF_HUB_OFFLINE', 'HF_HUB_CACHE', 'HUGGINGFACE_HUB_CACHE', 'HF_TOKEN_PATH']) delete base[k];
  try {
    const r = await promisify(execFile)(process.execPath, [join(repoRoot, 'bin', 'moss.js'), ...args], { env: { ...base, HF_ENDPOINT: hub.url, ...env }, timeout: 120_000 });
    return { code: 0, out: r.stdout, err: r.stderr };
  } catch (e) {
    const x = e as { code: number; stdout: string; stderr: string };
    return { code: x.code, out: x.stdout, err: x.stderr };
  }
}

const GEN = ['generate', '--prompt', 'Hello', '--temperature', '0', '--max-new-tokens', '6', '--json'];

test('--model org/name downloads once, then runs offline from the cache like the local folder', async () => {
  const home = tmp();
  hub.take();
  const first = await moss([...GEN, '--model', 'org/moss-tiny'], { HF_HOME: home });
  assert.equal(first.code, 0, first.err);
  assert.match(first.err, /org\/moss-tiny @ [0-9a-f]{10}: 7 files, 7 to fetch/);
  assert.ok(hub.take().length > 0);
  const snap = join(home, 'hub', 'models--org--moss-tiny', 'snapshots', commitOf('moss-tiny'));
  assert.deepEqual(readdirSync(snap).sort(), Object.keys(files).sort());

  const local = await moss([...GEN, '--model', TINY], {});
  const offline = await moss([...GEN, '--model', 'org/moss-tiny'], { HF_HOME: home, HF_HUB_OFFLINE: '1' });
  const online = await moss([...GEN, '--model', 'org/moss-tiny@main'], { HF_HOME: home });
  assert.equal(offline.code, 0, offline.err);
  const ids = (r: { out: string }) => (JSON.parse(r.out) as { ids: number[] }).ids;
  assert.deepEqual(ids(offline), ids(local));
  assert.deepEqual(ids(online), ids(local));
  assert.deepEqual(ids(first), ids(local));
  assert.deepEqual(hub.take(), [], 'a complete snapshot is used without any request');
});

test('--model errors: a repo the Hub does not have, an empty cache offline', async () => {
  const home = tmp();
  const missing = await moss([...GEN, '--model', 'org/nothing'], { HF_HOME: home });
  assert.equal(missing.code, 1);
  assert.equal(missing.err, 'moss: --model org/nothing: not a local path, and as a Hub repo: org/nothing@main: no such model repo on the Hub (404)\n');
  const offline = await moss([...GEN, '--model', 'org/moss-tiny'], { HF_HOME: home, HF_HUB_OFFLINE: 'true' });
  assert.equal(offline.code, 1);
  assert.match(offline.err, /^moss: --model org\/moss-tiny: not a local path, and as a Hub repo: org\/moss-tiny@main: not in the Hub cache at .*\/hub and HF_HUB_OFFLINE is set/);
});

test('README: the `moss pull` section runs as written', async () => {
  const readme = readFileSync(join(repoRoot, 'README.md'), 'utf8');
  const section = /## Download from the Hub\n[\s\S]*?```sh\n([\s\S]*?)```/.exec(readme);
  assert.ok(section, 'README has a "## Download from the Hub" section with a sh block');
  const lines = section[1].split('\n').map((l) => l.replace(/\s+#.*$/, '').trim()).filter((l) => l.length > 0);
  assert.ok(lines.some((l) => l.includes('moss pull')));
  const home = tmp();
  for (const line of lines) {
    const words = [...line.matchAll(/"([^"]*)"|'([^']*)'|(\S+)/g)].map((m) => m[1] ?? m[2] ?? m[3]);
    const env: Record<string, string> = { HF_HOME: home };
    while (/^[A-Z_]+=/.test(words[0])) {
      const [k, v] = words.shift()!.split('=');
      env[k] = v;
    }
    assert.deepEqual(words.slice(0, 2), ['npx', 'moss'], line);
    const r = await moss(words.slice(2), env);
    assert.equal(r.code, 0, `${line}\n${r.err}`);
    if (words[2] === 'pull') assert.match(r.out, /models--fnlp--moss-moon-003-sft\/snapshots\/[0-9a-f]{40}\n$/);
  }
});
