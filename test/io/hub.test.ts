/**
 * The Hub client (src/io/hub) against a fake Hub on loopback (hub-server.ts): the cache layout
 * exactly as huggingface_hub writes it, no request for a complete snapshot or offline, resume
 * after a dropped connection and after an earlier run, a wrong hash rejected with nothing left
 * behind, gated / missing repos and revisions as one-line errors, globs, bounded concurrency,
 * a renamed repo, and a hostile file list refused.
 */
import { test, after, beforeEach } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync, readdirSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { filterFiles, parseRepoSpec, pull, selectGlobs, selectModelFiles, HubError, type HubOptions, type PullEvent } from '../../src/io/hub/index.js';
import { FakeHub, commitOf, gitSha1, sha256, type FakeRepo } from './hub-server.js';
import { tmp } from './helpers.js';

const big = (n: number, seed: number) => Buffer.from(Array.from({ length: n }, (_, i) => (i * 31 + seed * 7 + (i >> 8)) & 255));
const REPO: FakeRepo = {
  id: 'org/tiny',
  commit: commitOf('tiny-1'),
  refs: { main: commitOf('tiny-1'), v1: commitOf('tiny-1') },
  files: {
    'config.json': Buffer.from('{"model_type":"moss"}\n'),
    'tokenizer/vocab.json': Buffer.from('{"a":0}\n'),
    'model.safetensors': big(50_000, 1),
    'extra.bin': big(9_000, 2),
    'README.md': Buffer.from('# tiny\n'),
  },
};
const GATED: FakeRepo = { id: 'org/gated', commit: commitOf('gated'), files: { 'config.json': Buffer.from('{}\n') }, token: 'hf_right' };
const HOSTILE: FakeRepo = { id: 'org/evil', commit: commitOf('evil'), files: { '../../escape.txt': Buffer.from('x') } };
const all = selectGlobs({});

const hub = await FakeHub.start([REPO, GATED, HOSTILE]);
after(() => hub.close());
beforeEach(() => {
  hub.faults.corrupt = undefined; // a failed test leaves no fault behind for the next
  hub.faults.dropAfter = undefined;
});

function opts(cacheDir: string, extra: Partial<HubOptions> = {}): HubOptions {
  return { endpoint: hub.url, cacheDir, offline: false, retryDelayMs: 5, ...extra };
}

test('pull writes the huggingface_hub cache layout: blobs by hash, relative snapshot links, refs', async () => {
  const cache = tmp();
  hub.take();
  const r = await pull({ repo: 'org/tiny', revision: 'main' }, all, opts(cache, { token: 'hf_any' }));
  const root = join(cache, 'models--org--tiny');
  assert.equal(r.path, join(root, 'snapshots', REPO.commit));
  assert.equal(r.commit, REPO.commit);
  assert.equal(readFileSync(join(root, 'refs', 'main'), 'utf8'), REPO.commit);
  for (const [path, data] of Object.entries(REPO.files)) {
    const blob = data.length >= 4096 ? sha256(data) : gitSha1(data);
    const depth = path.split('/').length - 1;
    assert.equal(readlinkSync(join(r.path, path)), `${'../'.repeat(depth + 2)}blobs/${blob}`, path);
    assert.deepEqual(readFileSync(join(r.path, path)), data, path);
  }
  assert.deepEqual(readdirSync(join(root, 'blobs')).filter((f) => f.endsWith('.incomplete')), []);
  const log = hub.take();
  assert.ok(log.some((e) => e.url.startsWith('/api/models/org/tiny/revision/main')));
  assert.ok(log.filter((e) => e.server === 'hub').every((e) => e.auth), 'the token goes to the Hub');
  assert.ok(log.filter((e) => e.server === 'cdn').length === 2 && log.filter((e) => e.server === 'cdn').every((e) => !e.auth), 'never to the CDN');

  // complete: no request at all, online or offline; @commit and @tag resolve through the cache too
  for (const [rev, offline] of [['main', false], ['main', true], [REPO.commit, false], [REPO.commit, true]] as const) {
    const again = await pull({ repo: 'org/tiny', revision: rev }, all, opts(cache, { offline }));
    assert.equal(again.path, r.path);
    assert.equal(again.network, false);
  }
  assert.deepEqual(hub.take(), []);
});

test('a connection dropped mid-file resumes from the byte it got (HTTP Range)', async () => {
  const cache = tmp();
  hub.faults.dropAfter = new Map([['model.safetensors', 12_345]]);
  const events: PullEvent[] = [];
  hub.take();
  const r = await pull({ repo: 'org/tiny', revision: 'main' }, selectGlobs({ include: ['*.safetensors'] }), opts(cache, { onEvent: (e) => events.push(e) }));
  const gets = hub.take().filter((e) => e.server === 'cdn');
  const retry = events.find((e) => e.kind === 'retry') as { at: number } | undefined;
  // the server sent 12345 bytes; the client resumes from what reached its file (all of it, unless
  // a loaded machine let the stream error first: fetch drops chunks not yet read)
  assert.ok(retry && retry.at > 0 && retry.at <= 12_345, JSON.stringify(retry));
  assert.deepEqual(gets.map((e) => e.range), [undefined, `bytes=${retry.at}-`]);
  assert.deepEqual(readFileSync(join(r.path, 'model.safetensors')), REPO.files['model.safetensors']);
  const bytes = events.filter((e) => e.kind === 'bytes').reduce((s, e) => s + (e as { n: number }).n, 0);
  assert.equal(bytes, 50_000, 'each byte crosses the network once');
});

test('a partial file from an earlier run is continued, not restarted', async () => {
  const cache = tmp();
  const data = REPO.files['model.safetensors'];
  const blobs = join(cache, 'models--org--tiny', 'blobs');
  mkdirSync(blobs, { recursive: true });
  writeFileSync(join(blobs, `${sha256(data)}.incomplete`), data.subarray(0, 30_000));
  hub.take();
  const r = await pull({ repo: 'org/tiny', revision: 'main' }, selectGlobs({ include: ['model.safetensors'] }), opts(cache));
  assert.deepEqual(hub.take().filter((e) => e.server === 'cdn').map((e) => e.range), ['bytes=30000-']);
  assert.deepEqual(readFileSync(join(r.path, 'model.safetensors')), data);
});

test('a wrong hash rejects the file and leaves nothing half-written; a later pull repairs it', async () => {
  const cache = tmp();
  hub.faults.corrupt = new Set(['model.safetensors']);
  // the first failure cancels the other downloads (they may be left .incomplete, resumable)
  await assert.rejects(pull({ repo: 'org/tiny', revision: 'main' }, all, opts(cache)), (e: Error) => {
    assert.match(e.message, /^org\/tiny: model\.safetensors: sha256 of the download is [0-9a-f]{64}, the Hub says [0-9a-f]{64}; the download was discarded/);
    return true;
  });
  const root = join(cache, 'models--org--tiny');
  const h = sha256(REPO.files['model.safetensors']);
  assert.ok(!existsSync(join(root, 'blobs', h)) && !existsSync(join(root, 'blobs', `${h}.incomplete`)));
  assert.ok(!existsSync(join(root, 'snapshots', REPO.commit, 'model.safetensors')));
  // offline now: the snapshot is known to be incomplete
  await assert.rejects(pull({ repo: 'org/tiny', revision: 'main' }, all, opts(cache, { offline: true })), /cached snapshot is incomplete \([1-4] of 5 files missing: model\.safetensors[^)]*\) and HF_HUB_OFFLINE is set/);
  hub.faults.corrupt = undefined;
  const r = await pull({ repo: 'org/tiny', revision: 'main' }, all, opts(cache));
  assert.ok(r.fetched >= 1);
  for (const [path, data] of Object.entries(REPO.files)) assert.deepEqual(readFileSync(join(r.path, path)), data, path);
});

test('a small file whose bytes differ from its git-sha1 ETag is rejected', async () => {
  const cache = tmp();
  const data = REPO.files['config.json'];
  const blobs = join(cache, 'models--org--tiny', 'blobs');
  mkdirSync(blobs, { recursive: true });
  writeFileSync(join(blobs, `${gitSha1(data)}.incomplete`), Buffer.from('{"MODEL_typ')); // a stale prefix that is wrong
  await assert.rejects(pull({ repo: 'org/tiny', revision: 'main' }, selectGlobs({ include: ['config.json'] }), opts(cache)), /config\.json: git sha1 of the download is [0-9a-f]{40}, the Hub says/);
  assert.deepEqual(readdirSync(blobs), []);
});

test('gated, missing repo, missing revision: one line each, naming HF_TOKEN where it helps', async () => {
  const cache = tmp();
  await assert.rejects(pull({ repo: 'org/gated', revision: 'main' }, all, opts(cache)), /^HubError: org\/gated: config\.json: the Hub refused access \(401 GatedRepo\): .*set HF_TOKEN/);
  await assert.rejects(pull({ repo: 'org/gated', revision: 'main' }, all, opts(cache, { token: 'hf_wrong' })), /\(403 GatedRepo\): the token in HF_TOKEN has no access/);
  const r = await pull({ repo: 'org/gated', revision: 'main' }, all, opts(cache, { token: 'hf_right' }));
  assert.equal(readFileSync(join(r.path, 'config.json'), 'utf8'), '{}\n');
  await assert.rejects(pull({ repo: 'org/nope', revision: 'main' }, all, opts(cache)), /^HubError: org\/nope@main: no such model repo on the Hub \(404\)$/);
  await assert.rejects(pull({ repo: 'org/tiny', revision: 'v9' }, all, opts(cache)), /org\/tiny@v9: no such revision/);
  await assert.rejects(pull({ repo: 'org/tiny', revision: 'main' }, selectGlobs({ include: ['*.gguf'] }), opts(cache)), /none of its 5 files matches/);
  await assert.rejects(pull({ repo: 'org/tiny', revision: 'main' }, all, opts(tmp(), { diskFree: () => 40_000 })), /^HubError: org\/tiny@main: needs 59\.0 kB more in .*, which has 40\.0 kB free \(set HF_HUB_CACHE to a bigger disk, or pick files with --include\)$/);
  await assert.rejects(pull({ repo: 'org/evil', revision: 'main' }, all, opts(cache)), /unsafe file name "\.\.\/\.\.\/escape\.txt"/);
  assert.ok(!existsSync(join(cache, 'escape.txt')) && !existsSync(join(cache, '..', 'escape.txt')));
});

test('offline: a missing repo or revision is an error and makes no request', async () => {
  const cache = tmp();
  hub.take();
  await assert.rejects(pull({ repo: 'org/tiny', revision: 'main' }, all, opts(cache, { offline: true })), /org\/tiny@main: not in the Hub cache at .* and HF_HUB_OFFLINE is set/);
  await pull({ repo: 'org/tiny', revision: 'main' }, selectGlobs({ include: ['*.json'] }), opts(cache));
  hub.take();
  const partial = await pull({ repo: 'org/tiny', revision: 'main' }, selectGlobs({ include: ['*.json'] }), opts(cache, { offline: true }));
  assert.deepEqual(partial.files, ['config.json', 'tokenizer/vocab.json']);
  await assert.rejects(pull({ repo: 'org/tiny', revision: 'main' }, all, opts(cache, { offline: true })), /incomplete \(3 of 5 files missing: model\.safetensors, extra\.bin, README\.md\)/);
  await assert.rejects(pull({ repo: 'org/tiny', revision: 'v1' }, all, opts(cache, { offline: true })), /org\/tiny@v1: not in the Hub cache/);
  // a snapshot written by another tool (no file list of ours) is used as it is
  rmSync(join(cache, 'models--org--tiny', '.moss'), { recursive: true });
  const foreign = await pull({ repo: 'org/tiny', revision: 'main' }, all, opts(cache, { offline: true }));
  assert.equal(foreign.files, null);
  assert.deepEqual(hub.take(), []);
  // online, the same partial cache fetches only what is missing
  const r = await pull({ repo: 'org/tiny', revision: 'main' }, all, opts(cache));
  assert.equal(r.fetched, 3);
});

test('downloads run in parallel, never more than --concurrency at once', async () => {
  const files: Record<string, Buffer> = {};
  for (let i = 0; i < 6; i++) files[`shard-${i}.safetensors`] = big(5000 + i, 10 + i);
  const many = await FakeHub.start([{ id: 'org/many', commit: commitOf('many'), files }], { cdnDelayMs: 150 });
  try {
    const r = await pull({ repo: 'org/many', revision: 'main' }, all, { endpoint: many.url, cacheDir: tmp(), offline: false, concurrency: 2 });
    assert.equal(r.fetched, 6);
    assert.equal(many.maxInFlight, 2);
  } finally {
    await many.close();
  }
});

test('a renamed repo: the relative redirect is followed', async () => {
  hub.renamed.set('old/tiny', 'org/tiny');
  const r = await pull({ repo: 'old/tiny', revision: 'main' }, selectGlobs({ include: ['config.json'] }), opts(tmp()));
  assert.equal(readFileSync(join(r.path, 'config.json'), 'utf8'), '{"model_type":"moss"}\n');
});

test('repo specs, globs (fnmatch: * spans folders) and the --model file choice', () => {
  assert.deepEqual(parseRepoSpec('fnlp/moss-moon-003-sft'), { repo: 'fnlp/moss-moon-003-sft', revision: 'main' });
  assert.deepEqual(parseRepoSpec('fnlp/moss@refs/pr/1'), { repo: 'fnlp/moss', revision: 'refs/pr/1' });
  assert.equal(parseRepoSpec('gpt2'), null);
  assert.deepEqual(parseRepoSpec('gpt2', false), { repo: 'gpt2', revision: 'main' });
  for (const bad of ['a/b/c', '../x', 'a/..', 'a/b@../x', './x', 'a/b@', '/abs/path']) assert.equal(parseRepoSpec(bad), null, bad);
  const files = ['config.json', 'sub/a.json', 'pytorch_model-00001-of-00002.bin', 'model.safetensors', 'tf_model.h5', 'onnx/model.onnx', 'x[1].txt'];
  assert.deepEqual(filterFiles(files, { include: ['*.json'] }), ['config.json', 'sub/a.json']);
  assert.deepEqual(filterFiles(files, { include: ['sub/'] }), ['sub/a.json']);
  assert.deepEqual(filterFiles(files, { exclude: ['*.bin', '*.h5', 'onnx/*'] }), ['config.json', 'sub/a.json', 'model.safetensors', 'x[1].txt']);
  assert.deepEqual(filterFiles(files, { include: ['pytorch_model-0000?-of-*.bin', 'x[[]1].txt'] }), ['pytorch_model-00001-of-00002.bin', 'x[1].txt']);
  assert.deepEqual(selectModelFiles(files), ['config.json', 'sub/a.json', 'x[1].txt', 'model.safetensors']);
  assert.deepEqual(selectModelFiles(files.filter((f) => f !== 'model.safetensors')), ['config.json', 'sub/a.json', 'x[1].txt', 'pytorch_model-00001-of-00002.bin']);
  assert.throws(() => selectModelFiles(['config.json', 'm-Q4_0.gguf']), (e: Error) => e instanceof HubError && /GGUF files only \(m-Q4_0\.gguf\)/.test(e.message));
});

test('refresh: a branch that moved gets the new commit, and unchanged files are not fetched again', async () => {
  const cache = tmp();
  const v1: FakeRepo = { id: 'org/moving', commit: commitOf('moving-1'), files: { 'config.json': Buffer.from('{"v":1}'), 'model.safetensors': big(20_000, 3) } };
  const moving = await FakeHub.start([v1]);
  try {
    const o = { endpoint: moving.url, cacheDir: cache, offline: false, refresh: true };
    const a = await pull({ repo: 'org/moving', revision: 'main' }, all, o);
    moving.take();
    const same = await pull({ repo: 'org/moving', revision: 'main' }, all, o);
    assert.deepEqual(moving.take().map((e) => `${e.method} ${e.url}`), ['GET /api/models/org/moving/revision/main'], 'one question, no download');
    assert.equal(same.path, a.path);
    v1.commit = commitOf('moving-2');
    v1.files['config.json'] = Buffer.from('{"v":2}');
    const b = await pull({ repo: 'org/moving', revision: 'main' }, all, o);
    assert.notEqual(b.path, a.path);
    assert.equal(b.fetched, 1, 'only the changed file');
    assert.equal(readFileSync(join(cache, 'models--org--moving', 'refs', 'main'), 'utf8'), commitOf('moving-2'));
    assert.equal(readFileSync(join(a.path, 'config.json'), 'utf8'), '{"v":1}', 'the old snapshot stays intact');
    assert.equal(readFileSync(join(b.path, 'config.json'), 'utf8'), '{"v":2}');
    assert.equal(readlinkSync(join(b.path, 'model.safetensors')), readlinkSync(join(a.path, 'model.safetensors')));
  } finally {
    await moving.close();
  }
});

test('a blob another process is fetching is waited for, not fetched twice; a stale lock is taken over', async () => {
  const data = REPO.files['extra.bin'];
  const h = sha256(data);
  const lockOf = (cache: string) => join(cache, '.locks', 'models--org--tiny', `${h}.moss.lock`);
  const cache = tmp();
  mkdirSync(join(cache, '.locks', 'models--org--tiny'), { recursive: true });
  writeFileSync(lockOf(cache), String(process.pid)); // a live holder: this process stands in for another moss
  hub.take();
  let planned!: () => void;
  const plan = new Promise<void>((r) => (planned = r));
  const p = pull({ repo: 'org/tiny', revision: 'main' }, selectGlobs({ include: ['extra.bin'] }), opts(cache, { onEvent: (e) => e.kind === 'plan' && planned() }));
  await plan;
  await new Promise((r) => setTimeout(r, 250));
  mkdirSync(join(cache, 'models--org--tiny', 'blobs'), { recursive: true });
  writeFileSync(join(cache, 'models--org--tiny', 'blobs', h), data); // the other process finishes
  rmSync(lockOf(cache));
  const r = await p;
  assert.deepEqual(readFileSync(join(r.path, 'extra.bin')), data);
  assert.deepEqual(hub.take().filter((e) => e.server === 'cdn'), [], 'not fetched a second time');
  assert.ok(!existsSync(lockOf(cache)));

  const cache2 = tmp();
  mkdirSync(join(cache2, '.locks', 'models--org--tiny'), { recursive: true });
  const dead = spawnSync(process.execPath, ['-e', '0']).pid!; // a process that has exited
  writeFileSync(lockOf(cache2), String(dead));
  const r2 = await pull({ repo: 'org/tiny', revision: 'main' }, selectGlobs({ include: ['extra.bin'] }), opts(cache2));
  assert.deepEqual(readFileSync(join(r2.path, 'extra.bin')), data);
  assert.ok(!existsSync(lockOf(cache2)));
});
